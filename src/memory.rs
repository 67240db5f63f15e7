//! Giving memory back after a large, short-lived allocation.
//!
//! The binary uses mimalloc (`main.rs`). mimalloc keeps pages a thread freed
//! until that thread allocates again, and the thread that loaded the zones may
//! then sleep for hours: loading a 1,000,000-record zone leaves ~80 MB of parser
//! and builder scratch resident that way (measured, `bench/zone-load.sh`).
//! [`release_freed`] hands it back at once. Without mimalloc as the global
//! allocator (the tests) it finds nothing to do.

/// Returns the memory the calling thread has freed to the operating system.
pub fn release_freed() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at
    // any time; it only purges free pages of this thread's heap and the caches.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

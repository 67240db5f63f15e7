//! Fuzz target `upstream`: bytes in as upstream servers' replies to a running
//! resolution. See `fuzz/harness/upstream.rs` for how an input becomes replies and
//! what is checked.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness/upstream.rs"]
mod harness;

#[path = "../harness/no_sockets.rs"]
mod no_sockets;

/// One temporary folder per process (the hints file), removed at exit.
static FIXTURE: LazyLock<harness::Fixture> = LazyLock::new(|| {
    extern "C" fn cleanup() {
        FIXTURE.cleanup();
    }
    // SAFETY: registers a plain function; libFuzzer leaves through exit().
    unsafe {
        libc::atexit(cleanup);
    }
    harness::Fixture::new()
});

fuzz_target!(|data: &[u8]| {
    FIXTURE.run(data);
});

//! Fuzz target `zone`: arbitrary text as a zone file through loading and `check`.
//! See `fuzz/harness/zone.rs` for how an input is written and what is checked.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness/zone.rs"]
mod harness;

#[path = "../harness/no_sockets.rs"]
mod no_sockets;

/// One temporary folder per process, removed at exit.
static FIXTURE: LazyLock<harness::Fixture> = LazyLock::new(|| {
    extern "C" fn cleanup() {
        FIXTURE.cleanup();
    }
    // SAFETY: registers a plain function; libFuzzer leaves through exit().
    unsafe { libc::atexit(cleanup) };
    let mut fx = harness::Fixture::new();
    fx.skip_known = true; // open bugs already found: see Fixture::skip_known
    fx
});

fuzz_target!(|data: &[u8]| {
    FIXTURE.run(data);
});

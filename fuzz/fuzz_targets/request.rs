//! Fuzz target `request`: a raw packet through the whole request path short of the
//! socket. See `fuzz/harness/request.rs` for the fixture and what is checked.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness/request.rs"]
mod harness;

#[path = "../harness/no_sockets.rs"]
mod no_sockets;

static FIXTURE: LazyLock<harness::Fixture> = LazyLock::new(harness::Fixture::new);

fuzz_target!(|data: &[u8]| {
    FIXTURE.run(data);
});

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
    sweep_stale_folders();
    harness::Fixture::new()
});

fuzz_target!(|data: &[u8]| {
    FIXTURE.run(data);
});

/// Removes the folders of earlier fuzz processes that ended without exit() (a
/// crash, a timeout, `cargo fuzz tmin`'s runs).
fn sweep_stale_folders() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("altroot-fuzz-zone-") else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

//! Fuzzing's findings, kept (README "Fuzzing"). The fuzz targets' harnesses are
//! compiled in here as they are (`fuzz/harness/`), so every input below goes
//! through the very calls and checks that found it: `request` through
//! `Frontend::receive`/`resolve` over the fixture zones, `zone` through
//! `ZoneSet::load` and `check`. Nothing here opens a socket.
//!
//! Each regression test is a minimised input (`cargo fuzz tmin`); the seeds of
//! both targets are replayed too, so the harnesses cannot rot unnoticed.

use std::path::Path;

#[allow(dead_code)]
#[path = "../../fuzz/harness/request.rs"]
mod request;

#[allow(dead_code)]
#[path = "../../fuzz/harness/zone.rs"]
mod zone;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

// Every seed of the `request` target passes its checks (one fixture for all).
#[test]
fn request_seeds_pass() {
    let fx = request::Fixture::new();
    for (name, input) in seeds("request") {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fx.run(&input)));
        assert!(r.is_ok(), "seed {name}");
    }
}

// Every seed of the `zone` target passes its checks.
#[test]
fn zone_seeds_pass() {
    let fx = zone::Fixture::new();
    for (name, input) in seeds("zone") {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fx.run(&input)));
        assert!(r.is_ok(), "seed {name}");
    }
}

//! The `upstream` fuzz target's harness (fuzz/harness/upstream.rs) in the test
//! suite: its seeds replay through the very calls and checks the fuzzer runs, and
//! the harness itself is shown to resolve (so its checks are not vacuous).

#[path = "../../fuzz/harness/upstream.rs"]
mod harness;

use hickory_proto::op::ResponseCode;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = crate::harness::manifest_dir().join("fuzz/seeds/upstream");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

// Every seed replays with every reply sound (the checks panic otherwise).
#[test]
fn upstream_seeds_replay() {
    let f = harness::Fixture::new();
    let seeds = seeds();
    assert!(seeds.len() >= 10, "{} seeds", seeds.len());
    for (name, data) in &seeds {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.run(data)))
            .unwrap_or_else(|_| panic!("seed {name}"));
    }
    f.cleanup();
}

// The harness resolves: the plain hierarchy answers www.example.com. A with the
// leaf's address, and the planted record of the poison seed never reaches the
// client; with no input every question fails (silence), within the checks.
#[test]
fn upstream_harness_resolves_and_filters() {
    let f = harness::Fixture::new();
    let all = seeds();
    let get = |n: &str| &all.iter().find(|(k, _)| k == n).unwrap().1;
    let plain = f.replies(get("plain"));
    assert_eq!(plain[0].metadata.response_code, ResponseCode::NoError);
    assert_eq!(plain[0].answers.len(), 1, "{:?}", plain[0].answers);
    assert_eq!(plain[0].answers[0].data.to_string(), "198.51.100.1");
    let poison = f.replies(get("poison"));
    assert_eq!(poison[0].answers.len(), 1, "{:?}", poison[0].answers);
    assert!(!format!("{:?}", poison).contains("6.6.6.6"));
    let silent = f.replies(&[]);
    assert!(
        silent
            .iter()
            .all(|m| m.metadata.response_code == ResponseCode::ServFail)
    );
    f.cleanup();
}

// The validating half of the harness validates: the plain hierarchy is unsigned
// under an anchor that covers it, so its answer is bogus (SERVFAIL, EDE 10 RRSIGs
// Missing or another DNSSEC code), never the unsigned data.
#[test]
fn upstream_harness_validates_in_its_second_half() {
    let f = harness::Fixture::new();
    let all = seeds();
    let plain = &all.iter().find(|(k, _)| k == "plain").unwrap().1;
    let m = &f.replies_validating(plain)[0];
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{m:?}");
    assert!(m.answers.is_empty());
    let ede = crate::harness::ede(m).expect("an EDE");
    assert!(ede.1.starts_with("dnssec:"), "{ede:?}");
    f.cleanup();
}

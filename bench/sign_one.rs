//! What signing one RRset costs, for the online-signing estimate of
//! bench/sign.sh: the signature over a typical to-be-signed block (an A RRset
//! of one record under a 20-octet owner: about 60 octets of RRSIG fields and 35
//! of record), N times, with a fresh key of each algorithm altroot makes.
//!
//!   cargo run --release --example sign-one [N]

use std::time::Instant;

use altroot::zones::keys::{self, KeyAlgorithm};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let tbs = vec![0x5au8; 95];
    for (name, alg) in [
        ("ECDSAP256SHA256", KeyAlgorithm::EcdsaP256),
        ("ED25519", KeyAlgorithm::Ed25519),
    ] {
        let dir = tempfile::tempdir().expect("a temporary folder");
        keys::generate(dir.path(), alg, false).expect("keys");
        let k = keys::read(dir.path())
            .expect("keys read")
            .expect("keys there");
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(k.zsk.sign(std::hint::black_box(&tbs)).expect("signs"));
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("{name}: {per:.1} µs per RRSIG (one core, {n} signatures)");
    }
}

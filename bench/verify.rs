//! The validator's signature checks per CPU-second beside `ring`'s raw figure
//! (issue 19 part 4, bench/verify.sh). For each algorithm altroot validates, a key
//! is made in-process, an A RRset of 1 and of 8 records under
//! `www.example.alt.` is signed with it, and three checks of that same signature
//! each run on this thread, timed by its CPU time:
//!
//! - (a) altroot: `dnssec::verify_rrset`, the function the validator calls per
//!   RRset — the RRSIG's fields, the key tag match, the validity window, the
//!   canonical RRset and the signature, and whatever it allocates per call;
//! - (h) hickory: `Verifier::verify_rrsig` on the DNSKEY, the part of (a) that
//!   builds the signed data (`TBS::from_input`) and decodes the public key;
//! - (b) ring: `UnparsedPublicKey::verify` (`RsaPublicKeyComponents::verify` for
//!   RSA) over the already-built signed data: the crypto ceiling.
//!
//! Prints one Markdown table row per algorithm and RRset size: checks per
//! CPU-second (`CLOCK_THREAD_CPUTIME_ID`) of each, and (a)/(b), (h)/(b).
//!
//!   cargo run --release --example verify -- [--seconds S] [--rounds R] [--rsa-key FILE] [--only NAME]
//!
//! Each figure is the median of R rounds (3) of S CPU-seconds (1), the three
//! columns interleaved round by round.
//!
//! `--only ED25519` (a prefix of the first column) runs one algorithm, for
//! `perf record`. `--count a|h|b N [--records 1|8]` instead runs that column's
//! check exactly N times and prints nothing, for `perf stat -e instructions`:
//! the difference between two counts is the instructions per check, which a
//! busy machine does not move as it moves CPU time.
//!
//! FILE is a 2048-bit RSA private key, PKCS#8 DER (bench/verify.sh makes one
//! with openssl): `ring` verifies RSA but cannot make RSA keys. Without it the
//! RSA rows are left out.

use std::hint::black_box;
use std::net::Ipv4Addr;

use hickory_proto::dnssec::crypto::{EcdsaSigningKey, Ed25519SigningKey, RsaSigningKey};
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG, SigInput};
use hickory_proto::dnssec::{Algorithm, PublicKey, SigningKey, TBS, Verifier};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{DNSClass, Name, RData, Record, SerialNumber};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use rustls_pki_types::PrivatePkcs8KeyDer;

use altroot::dnssec::{RrsetOutcome, Settings, ZoneKeys, verify_rrset};

/// CPU time of this thread, in seconds.
fn cpu_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Runs `check` in batches until `seconds` of this thread's CPU time have passed;
/// checks per CPU-second. `check` must return true (a check that fails would be
/// timing the wrong thing).
fn rate(seconds: f64, check: impl Fn() -> bool) -> f64 {
    const BATCH: u64 = 32;
    assert!(check(), "the signature verifies before timing");
    let start = cpu_now();
    let mut done = 0u64;
    loop {
        for _ in 0..BATCH {
            assert!(check());
        }
        done += BATCH;
        let spent = cpu_now() - start;
        if spent >= seconds {
            return done as f64 / spent;
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A key of `alg`: made here, or for RSA read from `rsa_key`.
fn signing_key(alg: Algorithm, rsa_key: Option<&[u8]>) -> Option<Box<dyn SigningKey>> {
    Some(match alg {
        Algorithm::ECDSAP256SHA256 | Algorithm::ECDSAP384SHA384 => {
            let der = EcdsaSigningKey::generate_pkcs8(alg).expect("an ECDSA key");
            Box::new(EcdsaSigningKey::from_pkcs8(&der, alg).expect("the ECDSA key loads"))
        }
        Algorithm::ED25519 => {
            let der = Ed25519SigningKey::generate_pkcs8().expect("an Ed25519 key");
            Box::new(Ed25519SigningKey::from_pkcs8(&der).expect("the Ed25519 key loads"))
        }
        Algorithm::RSASHA256 => {
            let der = PrivatePkcs8KeyDer::from(rsa_key?.to_vec());
            Box::new(RsaSigningKey::from_pkcs8(&der, alg).expect("the RSA key (PKCS#8 DER) loads"))
        }
        _ => return None,
    })
}

/// `ring`'s verify of `sig` over `tbs` under the DNSKEY public key `public`.
fn ring_verify(alg: Algorithm, public: &[u8], tbs: &[u8], sig: &[u8]) -> bool {
    match alg {
        Algorithm::ECDSAP256SHA256 | Algorithm::ECDSAP384SHA384 => {
            // DNSSEC leaves out the uncompressed-point prefix ring wants (RFC 6605 §4).
            let mut point = [0u8; 97];
            point[0] = 4;
            point[1..=public.len()].copy_from_slice(public);
            let scheme = if alg == Algorithm::ECDSAP256SHA256 {
                &signature::ECDSA_P256_SHA256_FIXED
            } else {
                &signature::ECDSA_P384_SHA384_FIXED
            };
            UnparsedPublicKey::new(scheme, &point[..=public.len()])
                .verify(tbs, sig)
                .is_ok()
        }
        Algorithm::ED25519 => UnparsedPublicKey::new(&signature::ED25519, public)
            .verify(tbs, sig)
            .is_ok(),
        Algorithm::RSASHA256 => {
            // RFC 3110 §2: exponent length (one octet here), exponent, modulus.
            let e_len = usize::from(public[0]);
            let (e, n) = public[1..].split_at(e_len);
            RsaPublicKeyComponents { n, e }
                .verify(
                    &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                    tbs,
                    sig,
                )
                .is_ok()
        }
        _ => false,
    }
}

fn main() {
    let mut seconds = 1.0f64;
    let mut rounds = 3usize;
    let mut rsa_file = None;
    let mut only: Option<String> = None;
    let mut count: Option<(String, u64)> = None;
    let mut records: Option<u8> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds takes a number")
            }
            "--count" => {
                let column = args
                    .next()
                    .filter(|c| ["a", "h", "b"].contains(&c.as_str()));
                let n = args.next().and_then(|s| s.parse::<u64>().ok());
                count = Some(column.zip(n).expect("--count takes a, h or b and a number"));
            }
            "--records" => {
                records = Some(
                    args.next()
                        .and_then(|s| s.parse().ok())
                        .expect("--records takes 1 or 8"),
                )
            }
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&r| r > 0)
                    .expect("--rounds takes a number above 0")
            }
            "--rsa-key" => rsa_file = Some(args.next().expect("--rsa-key takes a file")),
            "--only" => only = Some(args.next().expect("--only takes an algorithm name")),
            other => {
                panic!("unknown argument {other}: see the comment at the top of bench/verify.rs")
            }
        }
    }
    let rsa_key = rsa_file.map(|f| std::fs::read(&f).unwrap_or_else(|e| panic!("{f}: {e}")));

    let zone = Name::from_ascii("example.alt.").expect("a name");
    let owner = Name::from_ascii("www.example.alt.").expect("a name");
    let now = altroot::clock::unix_now();
    let settings = Settings::at(now);

    let header = count.is_none();
    if header {
        println!(
            "| algorithm | records | (a) altroot verify_rrset /CPU-s | (h) hickory verify_rrsig /CPU-s | (b) ring verify /CPU-s | (a)/(b) | (h)/(b) |"
        );
        println!("|---|---|---|---|---|---|---|");
    }
    for (label, alg) in [
        ("ECDSAP256SHA256 (13)", Algorithm::ECDSAP256SHA256),
        ("ECDSAP384SHA384 (14)", Algorithm::ECDSAP384SHA384),
        ("ED25519 (15)", Algorithm::ED25519),
        ("RSASHA256 (8), 2048 bits", Algorithm::RSASHA256),
    ] {
        if only.as_deref().is_some_and(|o| !label.starts_with(o)) {
            continue;
        }
        if !alg.is_supported() {
            eprintln!("{label}: not supported by this build's hickory, left out");
            continue;
        }
        let Some(key) = signing_key(alg, rsa_key.as_deref()) else {
            eprintln!("{label}: no key (give --rsa-key FILE), left out");
            continue;
        };
        let public = key.to_public_key().expect("a public key");
        let dnskey = DNSKEY::with_flags(256, public);
        let key_tag = dnskey.calculate_key_tag().expect("a key tag");
        let keys = ZoneKeys {
            zone: zone.clone(),
            keys: vec![dnskey.clone()],
            ttl: 3600,
        };
        for n in [1u8, 8] {
            let rrset: Vec<Record> = (1..=n)
                .map(|i| {
                    Record::from_rdata(owner.clone(), 300, RData::A(A(Ipv4Addr::new(192, 0, 2, i))))
                })
                .collect();
            let input = SigInput {
                type_covered: hickory_proto::rr::RecordType::A,
                algorithm: alg,
                num_labels: owner.num_labels(),
                original_ttl: 300,
                sig_expiration: SerialNumber::new((now + 30 * 86_400) as u32),
                sig_inception: SerialNumber::new((now - 86_400) as u32),
                key_tag,
                signer_name: zone.clone(),
            };
            let tbs = TBS::from_input(&owner, DNSClass::IN, &input, rrset.iter())
                .expect("the signed data");
            let sig = key.sign(&tbs).expect("a signature");
            let rrsig = RRSIG::from_sig(input, sig.clone());
            let sigs = vec![Record::from_rdata(
                owner.clone(),
                300,
                RData::DNSSEC(DNSSECRData::RRSIG(rrsig.clone())),
            )];

            let public_bytes = dnskey.public_key().public_bytes();
            let check_a = || {
                matches!(
                    black_box(verify_rrset(
                        black_box(&rrset),
                        black_box(&sigs),
                        &keys,
                        &settings
                    )),
                    RrsetOutcome::Secure { .. }
                )
            };
            let check_h = || {
                dnskey
                    .verify_rrsig(
                        black_box(&owner),
                        DNSClass::IN,
                        black_box(&rrsig),
                        rrset.iter(),
                    )
                    .is_ok()
            };
            let check_b = || {
                ring_verify(
                    alg,
                    black_box(public_bytes),
                    black_box(tbs.as_ref()),
                    black_box(&sig),
                )
            };
            if let Some((column, count)) = &count {
                if records.is_none_or(|r| r == n) {
                    let check: &dyn Fn() -> bool = match column.as_str() {
                        "a" => &check_a,
                        "h" => &check_h,
                        _ => &check_b,
                    };
                    for _ in 0..*count {
                        assert!(check());
                    }
                }
                continue;
            }
            // Interleaved rounds, medians: a load from elsewhere on the machine
            // weighs on all three columns alike.
            let (mut a, mut h, mut b) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                a.push(rate(seconds, check_a));
                h.push(rate(seconds, check_h));
                b.push(rate(seconds, check_b));
            }
            let (a, h, b) = (median(a), median(h), median(b));
            println!(
                "| {label} | {n} | {a:.0} | {h:.0} | {b:.0} | {:.3} | {:.3} |",
                a / b,
                h / b
            );
        }
    }
}

//! What a root copy (RFC 8806) costs to load and verify: reading the file, the
//! ZONEMD digest (SIMPLE, SHA-384), the DNSSEC check under IANA's root anchors
//! (KSK-2017 signed the 2020 zone), building the served zone, and the process's
//! resident memory before and after.
//!
//!   cargo run --release --example rootcopy FILE [UNIX-TIME]
//!
//! UNIX-TIME is "now" for the signatures (a 2020 zone's expired long ago).

use std::path::Path;
use std::time::Instant;

use hickory_proto::rr::{Name, RData, Record};

use altroot::dnssec::TrustAnchors;
use altroot::rootcopy::{verify_dnssec, zonemd};
use altroot::zones::{Zone, read};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("usage: rootcopy FILE [UNIX-TIME]");
    let now: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(altroot::clock::unix_now);
    let root = Name::root();
    let before = rss_kib();

    let t = Instant::now();
    let parsed = read(Path::new(&file), &root).expect("the file reads");
    let records: Vec<Record> = parsed.records.iter().map(|l| l.record.clone()).collect();
    let read_ms = t.elapsed().as_millis();
    let serial = records
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        })
        .expect("a SOA");
    println!("{file}: serial {serial}, {} records", records.len());
    println!("read: {read_ms} ms");

    let t = Instant::now();
    let d = zonemd::digest(&root, &records).expect("digest");
    let zonemd_ms = t.elapsed().as_millis();
    let check = zonemd::verify(&root, serial, &records);
    println!(
        "ZONEMD digest: {zonemd_ms} ms ({}…): {}",
        data_encoding::HEXLOWER.encode(&d[..8]),
        match check {
            Ok(()) => "matches".to_string(),
            Err(e) => e,
        }
    );

    let t = Instant::now();
    let dnssec = verify_dnssec(&records, &TrustAnchors::icann(), now);
    let dnssec_ms = t.elapsed().as_millis();
    match dnssec {
        Ok(n) => println!("DNSSEC: {dnssec_ms} ms, {n} RRsets verified"),
        Err(e) => println!("DNSSEC: {dnssec_ms} ms, {e}"),
    }

    let during = rss_kib();
    let t = Instant::now();
    let zone = Zone::build(&root, parsed).map(|(z, _)| z);
    let build_ms = t.elapsed().as_millis();
    drop(records);
    altroot::memory::release_freed();
    let after = rss_kib();
    match zone {
        Ok(z) => println!(
            "zone built: {build_ms} ms, {} records, store {} KiB",
            z.len(),
            z.store_bytes() / 1024
        ),
        Err(p) => println!("zone does not build: {:?}", p.first()),
    }
    println!(
        "RSS: {before} KiB before, {during} KiB with the parsed records, {after} KiB with the zone kept"
    );
}

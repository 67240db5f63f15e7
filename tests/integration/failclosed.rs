//! Routing fails closed (issue 7 §6): when an earlier root cannot say whether it has
//! a TLD, nobody answers for that TLD — a later root's answer could be the other
//! tree's. Collision checks run once per TLD, and a failed one is retried, never
//! remembered as "no collision".

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RecordType};

use crate::harness::*;
use crate::world::{Behaviour, World};

// An earlier root that cannot be asked: SERVFAIL "root-unknown" for TLDs it might
// have, within query-timeout; the later root (ICANN) is never asked for the name.
// A TLD the first root (alt, zone files) has is still answered.
#[tokio::test]
async fn an_unreachable_earlier_root_blocks_its_candidates_not_everyone() {
    let (w, a) = {
        let w = World::start(standard_world).await;
        let mut files = alt_zones(&w);
        files.push(("hints.txt", hints(&w)));
        let silent = World::ip(w.block, host::SILENT);
        files.push((
            "opennic.txt",
            format!(". 3600 NS a.root.opennic.\na.root.opennic. 3600 A {silent}\n"),
        ));
        let cfg = edit(
            &config(&w, ""),
            "[[root]]\nname = \"icann\"",
            &format!(
                "[[root]]\nname = \"opennic\"\nhints = \"opennic.txt\"\nport = {}\nallow-loopback-upstream = true\n\n[[root]]\nname = \"icann\"",
                w.port
            ),
        );
        (w, Altroot::start(&cfg, &files).await)
    };
    let t = Instant::now();
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_ede(&m, &["root-unknown"]);
    let (_, text) = ede(&m).unwrap();
    assert!(text.contains("opennic") && text.contains("com."), "{text}");
    assert!(
        w.server("example.com").seen().is_empty(),
        "the later root answered for a TLD the earlier one may have"
    );
    // The alt root's own TLDs do not depend on the roots after it.
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 3600 A 192.0.2.1"]);
    // compare shows the earlier root as an error, not as "has nothing".
    let rows = altroot::commands::compare::compare(
        a.router(),
        &[1, 2],
        vec![name("www.example.com.")],
        &[RecordType::A],
        Duration::from_secs(3),
        1,
        false,
        &|| {},
    )
    .await;
    assert_eq!(rows[0].verdict, altroot::commands::compare::Verdict::Error);
    assert!(rows[0].cells[0].error.is_some());
}

// interrupt: the collision check must finish before answering; while the later
// root cannot be asked the TLD gets SERVFAIL (never the earlier root's data, never
// "no collision" remembered); once it answers, the interruption follows.
#[tokio::test]
async fn interrupt_with_an_unreachable_later_root_retries_instead_of_remembering() {
    let (w, a) = standard("[collisions]\npolicy = \"interrupt\"\n").await;
    w.set_behaviour("root", Behaviour::Silent);
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["root-unknown"]);
    assert!(
        !a.router()
            .collisions_seen()
            .contains_key(&LowerName::new(&name("biz."))),
        "a failed check is not remembered"
    );
    w.set_behaviour("root", Behaviour::Normal);
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(addrs(&m), vec!["127.0.53.53".parse::<IpAddr>().unwrap()]);
}

// first: the background check runs once per TLD even when many queries arrive
// before it ends; a failed check is retried later (not remembered as "no
// collision"), and then records the collision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_policy_checks_once_and_retries_a_failed_check() {
    let (w, a) = standard("").await;
    let addr = a.addr;
    let asks: Vec<_> = (0..20)
        .map(|i| {
            tokio::spawn(async move { query(addr, &format!("n{i}.geek."), RecordType::A).await })
        })
        .collect();
    for t in asks {
        t.await.unwrap();
    }
    let geek = LowerName::new(&name("geek."));
    wait_for(|| a.router().collisions_seen().contains_key(&geek)).await;
    let checks = asked(&w, "root")
        .iter()
        .filter(|q| *q == "geek. NS")
        .count();
    assert_eq!(checks, 1, "{:?}", asked(&w, "root"));

    // biz, with the ICANN root silent: the check fails and is not remembered…
    w.set_behaviour("root", Behaviour::Silent);
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.biz. 3600 A 192.0.2.10"]);
    let biz = LowerName::new(&name("biz."));
    // The check's claim on biz is in flight: joined here, it ends when the check's
    // tries have timed out, and fails.
    let icann = a.router().root_index("icann").unwrap();
    let joined = a.router().claim(icann, &name("biz.")).await;
    assert!(joined.has.is_err(), "{:?}", joined.has);
    assert!(!a.router().collisions_seen().contains_key(&biz));
    // The check did ask the silent root (it failed, it was not skipped).
    let biz_checks = || asked(&w, "root").iter().filter(|q| *q == "biz. NS").count();
    let n1 = biz_checks();
    assert!(n1 >= 1, "{:?}", asked(&w, "root"));
    // …and is retried after a while (30 s of wall clock; the query that retries it
    // must be routed, not served from a ready answer, which lives 60 s), then
    // records it.
    w.set_behaviour("root", Behaviour::Normal);
    a.query("www.biz.", RecordType::A).await;
    assert!(
        !a.router().collisions_seen().contains_key(&biz),
        "not before the retry time"
    );
    a.service.clock().advance(Duration::from_secs(61));
    a.query("www.biz.", RecordType::A).await;
    wait_for(|| a.router().collisions_seen().contains_key(&biz)).await;
    assert_eq!(
        a.router().collisions_seen().get(&biz),
        Some(&vec!["alt".to_string(), "icann".to_string()])
    );
    // Recorded by a retry that asked the root again.
    assert!(biz_checks() > n1, "{n1}: {:?}", asked(&w, "root"));
}

async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cond(), "condition not met within 5 s");
}

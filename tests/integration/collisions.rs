//! A TLD that two roots have: policy "first", "interrupt", and pin (DESIGN §4.8).
//! biz is in both the alt zones and the fake ICANN root; geek only in the alt root.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RecordType};

use crate::harness::*;

// "first": the earlier root (alt) answers; the collision is noticed and recorded.
#[tokio::test]
async fn first_policy_earlier_root_wins_and_collision_is_recorded() {
    let (_w, a) = standard("[collisions]\npolicy = \"first\"\n").await;
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.biz. 3600 A 192.0.2.10"]);
    // The background check asks the ICANN root about biz and records the collision.
    let biz = LowerName::new(&name("biz."));
    let mut seen = None;
    for _ in 0..50 {
        seen = a.router().collisions_seen().get(&biz).cloned();
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(vec!["alt".to_string(), "icann".to_string()]));
    // geek is not a collision.
    a.query("www.geek.", RecordType::A).await;
    let geek = LowerName::new(&name("geek."));
    for _ in 0..50 {
        if a.router().collisions_seen().contains_key(&geek) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        a.router().collisions_seen().get(&geek),
        Some(&vec!["alt".to_string()])
    );
}

// "interrupt": every name in a colliding TLD gets 127.0.53.53 / ::ffff:127.0.53.53.
#[tokio::test]
async fn interrupt_policy_gives_controlled_interruption() {
    let (_w, a) = standard("[collisions]\npolicy = \"interrupt\"\n").await;
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert_eq!(addrs(&m), vec!["127.0.53.53".parse::<IpAddr>().unwrap()]);
    let m = a.query("anything.biz.", RecordType::AAAA).await;
    assert_eq!(
        addrs(&m),
        vec!["::ffff:127.0.53.53".parse::<IpAddr>().unwrap()]
    );
    let m = a.query("www.biz.", RecordType::TXT).await;
    assert_eq!(m.answers.len(), 1);
    // Non-colliding TLDs of either root are unaffected.
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 3600 A 192.0.2.1"]);
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
}

// pin overrides the policy for one TLD: biz goes to ICANN, web stays "first".
#[tokio::test]
async fn pin_sends_a_tld_to_the_named_root() {
    let (w, a) =
        standard("[collisions]\npolicy = \"interrupt\"\npin = { biz = \"icann\" }\n").await;
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.biz. 300 A 203.0.113.60"]);
    assert!(
        w.server("icann-biz-web")
            .seen()
            .iter()
            .any(|s| s.name == name("www.biz."))
    );
    // Pinning to the alt root under "interrupt" also wins over interruption.
    let (_w, a) = standard("[collisions]\npolicy = \"interrupt\"\npin = { biz = \"alt\" }\n").await;
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.biz. 3600 A 192.0.2.10"]);
}

// Root order decides under "first": with icann listed first, ICANN's biz wins.
#[tokio::test]
async fn root_order_decides() {
    let (_w, a) = standard_cfg(|w, _| {
        format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"3s\"\n{icann}\
             [[root]]\nname = \"alt\"\nzones = \"zones\"\nport = {p}\nallow-loopback-upstream = true\n",
            p = w.port,
            icann = icann_root(w)
        )
    })
    .await;
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.biz. 300 A 203.0.113.60"]);
    // geek is not in the ICANN root (NXDOMAIN there), so it falls through to alt.
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 3600 A 192.0.2.1"]);
}

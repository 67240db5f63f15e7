use super::*;
use crate::resolver::collisions::{COLLISION_TLDS, Collisions};

// Collision findings are bounded (a random-TLD flood under `interrupt` must not
// grow them without end), and a check in progress is not started twice.
#[test]
fn collision_findings_are_bounded_and_checked_once() {
    let c = Collisions::default();
    for i in 0..COLLISION_TLDS + 100 {
        let t = LowerName::new(&Name::from_ascii(format!("t{i}.")).unwrap());
        c.record(t, Seen::Known(vec![0]));
    }
    assert_eq!(c.lock().len(), COLLISION_TLDS);
    let geek = LowerName::new(&Name::from_ascii("geek.").unwrap());
    assert!(c.begin(&geek, 0));
    assert!(!c.begin(&geek, 0), "already checking");
    c.end(geek.clone(), Seen::RetryAfter(30));
    assert!(!c.begin(&geek, 10), "not before the retry time");
    assert!(c.begin(&geek, 31));
}

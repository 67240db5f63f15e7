//! NOTIFY received (RFC 1996) for the zones a root takes by transfer: the front
//! end files each one here and answers at once; the root's refresher wakes and
//! asks its primaries for the zone's SOA. A NOTIFY only makes the refresh come
//! sooner: what is fetched is checked as any transfer is (TSIG when keyed), so a
//! forged one costs an SOA query, no more, and many for one zone count once.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_proto::rr::{LowerName, Name};
use tokio::sync::Notify;

use crate::config::Config;

/// What the front end answers to a NOTIFY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// From a primary of a root that takes this zone: NOERROR, refresh soon.
    Accepted,
    /// A zone some root takes, but not from one of its primaries: REFUSED.
    NotPrimary,
    /// No root takes this zone by transfer: NOTAUTH.
    NotOurs,
}

/// Every secondary root's inbox.
#[derive(Default)]
pub struct Notices {
    roots: Vec<Inbox>,
}

struct Inbox {
    /// The root's index in the config.
    index: usize,
    primaries: Vec<IpAddr>,
    /// The zones the refresher takes now (published by it; the root zone at first).
    zones: Mutex<HashSet<LowerName>>,
    pending: Mutex<BTreeSet<Name>>,
    wake: Notify,
    counts: Counts,
}

/// What a root's refresher did, for metrics, the status page and tests.
#[derive(Default)]
pub struct Counts {
    /// Zones fetched whole (AXFR, or IXFR answered in AXFR form).
    pub full: AtomicU64,
    /// Zones brought up to date by IXFR changes.
    pub incremental: AtomicU64,
    /// Checks that found the serial current.
    pub current: AtomicU64,
    /// Checks no primary could answer, and transfers not used.
    pub failed: AtomicU64,
    /// NOTIFYs taken.
    pub notifies: AtomicU64,
    /// Zones moved aside past their SOA expire.
    pub expired: AtomicU64,
}

impl Counts {
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

impl Notices {
    pub fn from_config(config: &Config) -> Notices {
        let roots = config
            .roots
            .iter()
            .enumerate()
            .filter_map(|(index, rc)| {
                let t = rc.transfer_in.as_ref()?;
                let mut zones: HashSet<LowerName> = t.zones.iter().map(LowerName::new).collect();
                zones.insert(LowerName::new(&Name::root()));
                Some(Inbox {
                    index,
                    primaries: t.primaries.iter().map(|a| a.ip()).collect(),
                    zones: Mutex::new(zones),
                    pending: Mutex::default(),
                    wake: Notify::new(),
                    counts: Counts::default(),
                })
            })
            .collect();
        Notices { roots }
    }

    /// No root takes a zone by transfer.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Files a NOTIFY for `zone` from `from` with every root that takes the zone.
    pub fn file(&self, zone: &Name, from: IpAddr) -> Verdict {
        let lz = LowerName::new(zone);
        let mut verdict = Verdict::NotOurs;
        for r in &self.roots {
            if !lock(&r.zones).contains(&lz) {
                continue;
            }
            if !r.primaries.contains(&from) {
                verdict = verdict.max_with(Verdict::NotPrimary);
                continue;
            }
            lock(&r.pending).insert(zone.clone());
            Counts::bump(&r.counts.notifies);
            r.wake.notify_one();
            verdict = Verdict::Accepted;
        }
        verdict
    }

    /// The refresher of root `index` publishes the zones it takes.
    pub fn set_zones(&self, index: usize, zones: impl IntoIterator<Item = LowerName>) {
        if let Some(r) = self.inbox(index) {
            *lock(&r.zones) = zones.into_iter().collect();
        }
    }

    /// The zones notified for root `index` since the last call.
    pub fn take(&self, index: usize) -> BTreeSet<Name> {
        self.inbox(index)
            .map(|r| std::mem::take(&mut *lock(&r.pending)))
            .unwrap_or_default()
    }

    /// Waits for a NOTIFY for root `index` (one filed before the wait counts).
    pub async fn wait(&self, index: usize) {
        match self.inbox(index) {
            Some(r) => r.wake.notified().await,
            None => std::future::pending().await,
        }
    }

    /// The counts of root `index` (none: it takes no zone by transfer).
    pub fn counts(&self, index: usize) -> Option<&Counts> {
        self.inbox(index).map(|r| &r.counts)
    }

    /// (root index, counts) of every root that takes zones by transfer.
    pub fn all_counts(&self) -> impl Iterator<Item = (usize, &Counts)> {
        self.roots.iter().map(|r| (r.index, &r.counts))
    }

    fn inbox(&self, index: usize) -> Option<&Inbox> {
        self.roots.iter().find(|r| r.index == index)
    }
}

impl Verdict {
    fn max_with(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Accepted, _) | (_, Verdict::Accepted) => Verdict::Accepted,
            (Verdict::NotPrimary, _) | (_, Verdict::NotPrimary) => Verdict::NotPrimary,
            _ => Verdict::NotOurs,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notices() -> Notices {
        let text = "[[root]]\nname = \"alt\"\nzones = \"/tmp\"\ntransfer-from = [\"127.0.0.9:5300\"]\ntransfer-zones = [\".\", \"geek\"]\n";
        let cfg = Config::from_toml(text, std::path::Path::new("/tmp/altroot.toml"))
            .unwrap_or_else(|e| panic!("{}", e.first()));
        Notices::from_config(&cfg)
    }

    // A NOTIFY counts for the zones a root takes, from its primaries only.
    #[test]
    fn notify_is_filed_from_a_primary_for_a_zone_taken() {
        let n = notices();
        let geek = Name::from_ascii("geek.").unwrap();
        let other = Name::from_ascii("other.").unwrap();
        let primary: IpAddr = "127.0.0.9".parse().unwrap();
        let stranger: IpAddr = "127.0.0.10".parse().unwrap();
        assert_eq!(n.file(&geek, stranger), Verdict::NotPrimary);
        assert!(n.take(0).is_empty());
        assert_eq!(n.file(&other, primary), Verdict::NotOurs);
        assert_eq!(n.file(&geek, primary), Verdict::Accepted);
        assert_eq!(n.file(&geek, primary), Verdict::Accepted);
        let taken = n.take(0);
        assert_eq!(taken.into_iter().collect::<Vec<_>>(), vec![geek]);
        assert!(n.take(0).is_empty());
        n.set_zones(0, [LowerName::new(&other)]);
        assert_eq!(n.file(&other, primary), Verdict::Accepted);
    }
}

//! A root's refresher: keeps the zones it takes by transfer current, as a
//! secondary does (RFC 1035 §4.3.5, RFC 1996, RFC 1995).
//!
//! Each zone is checked when its SOA refresh comes due, when a primary sends a
//! NOTIFY for it, and once at start: an SOA query to the primaries in order;
//! when one has a newer serial, an IXFR (an AXFR without a copy). What comes is
//! written as a zone file beside the others, but only once it reads back and
//! loads (a zones root's zone) or passes its checks (a hints root's copy: ZONEMD,
//! DNSSEC): written to a dot file, checked, renamed over the zone. The zones
//! watcher then serves it like any edit. A check that finds the serial current
//! touches the file: its modification time is when the copy was last known good,
//! which is what SOA expire counts from, also across restarts. When no primary
//! answers, the check is retried after the SOA's retry; past its expire a zones
//! root's zone is moved aside (`.NAME.zone.expired`) and no longer served, loudly.
//!
//! A zones root without `transfer-zones` takes the root zone and every TLD the
//! root zone delegates that a primary gives out (a TLD they refuse is asked again
//! only when the root zone changes); a TLD the primary's root zone no longer
//! delegates is removed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType, TSigner};

use super::Notices;
use super::client::{self, Fetched, Limits, Primary, XfrError};
use super::notices::Counts;
use super::store::{Store, aside_path, file_soa, first, modified, touch};
use crate::clock::unix_now;
use crate::config::{RootConfig, RootSource};
use crate::zones::serial_lt;

/// SOA timers are taken within these bounds (seconds), as Knot DNS bounds them
/// (`refresh-min-interval` 2 s, `refresh-max-interval` 1 day, `retry-*` alike;
/// `expire-min-interval` 3 s): a primary's odd SOA can neither make us hammer
/// it nor keep a zone unchecked for weeks.
const REFRESH: (u64, u64) = (2, 86_400);
const RETRY: (u64, u64) = (1, 86_400);
const EXPIRE_MIN: u64 = 3;

/// Retry when there is no SOA yet to take a retry from (no zone ever fetched).
const FIRST_RETRY: u64 = 10;

/// What the refresher knows of one zone.
#[derive(Default)]
struct ZoneState {
    /// The SOA of the copy on disk (none: no copy, the next fetch is an AXFR).
    soa: Option<Record>,
    /// When the copy was last known current (Unix seconds; the file's mtime).
    last_ok: Option<u64>,
    /// When to check next (Unix seconds).
    next: u64,
    /// Listed in `transfer-zones` or the root zone: never removed by discovery.
    listed: bool,
    /// A delegated TLD the primaries do not give out (discovery only).
    not_served: bool,
}

/// The refresher of one root.
pub struct Refresher {
    index: usize,
    root: String,
    store: Store,
    primaries: Vec<Primary>,
    /// No `transfer-zones`: the TLDs come from the root zone.
    discover: bool,
    zones: BTreeMap<Name, ZoneState>,
    notices: Arc<Notices>,
    limits: Limits,
}

/// A running refresher; dropping it stops it.
pub struct RefreshHandle(tokio::task::JoinHandle<()>);

impl Drop for RefreshHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts a refresher for every root with `transfer-from`.
pub fn spawn_all(roots: &[RootConfig], notices: &Arc<Notices>) -> Vec<RefreshHandle> {
    roots
        .iter()
        .enumerate()
        .filter_map(|(i, rc)| Refresher::new(i, rc, notices.clone()))
        .map(|r| RefreshHandle(tokio::spawn(r.run())))
        .collect()
}

/// Moves aside the zones of every secondary zones root whose copy is past its
/// SOA expire, before they are loaded (a restart after a long stop must not
/// serve them, even for an instant).
pub fn expire_on_disk(roots: &[RootConfig]) {
    let now = unix_now();
    for (i, rc) in roots.iter().enumerate() {
        if let (Some(mut r), RootSource::Zones(_)) =
            (Refresher::new(i, rc, Arc::default()), &rc.source)
        {
            r.read_disk();
            r.expire(now);
        }
    }
}

impl Refresher {
    fn new(index: usize, rc: &RootConfig, notices: Arc<Notices>) -> Option<Refresher> {
        let t = rc.transfer_in.as_ref()?;
        let store = match (&rc.source, &rc.copy) {
            (RootSource::Zones(dir), _) => Store::Zones(dir.clone()),
            (RootSource::Hints(_), Some(c)) => Store::Copy {
                file: c.file.clone(),
                verify: c.verify,
                anchors: rc.trust_anchors.clone(),
            },
            _ => return None,
        };
        let key = t.key.as_ref().and_then(|k| {
            TSigner::new(
                k.secret.clone(),
                k.algorithm.clone(),
                k.name.clone(),
                crate::server::tsig::FUDGE,
            )
            .inspect_err(|e| tracing::warn!("root {}: transfer-key {}: {e}", rc.name, k.name))
            .ok()
        });
        let primaries = t
            .primaries
            .iter()
            .map(|a| Primary {
                addr: *a,
                key: key.clone(),
            })
            .collect();
        let mut zones = BTreeMap::new();
        let listed = if t.zones.is_empty() {
            vec![Name::root()]
        } else {
            t.zones.clone()
        };
        for z in listed {
            zones.insert(
                z,
                ZoneState {
                    listed: true,
                    ..ZoneState::default()
                },
            );
        }
        Some(Refresher {
            index,
            root: rc.name.clone(),
            discover: t.zones.is_empty() && matches!(store, Store::Zones(_)),
            store,
            primaries,
            zones,
            notices,
            limits: Limits::default(),
        })
    }

    /// Runs until dropped.
    async fn run(mut self) {
        self.read_disk();
        loop {
            let now = unix_now();
            self.expire(now);
            let due: Vec<Name> = self
                .zones
                .iter()
                .filter(|(_, s)| !s.not_served && s.next <= now)
                .map(|(z, _)| z.clone())
                .collect();
            for z in due {
                self.refresh(&z).await;
            }
            self.notices.set_zones(
                self.index,
                self.zones.keys().map(LowerName::new).collect::<Vec<_>>(),
            );
            let now = unix_now();
            let next = self
                .zones
                .values()
                .filter(|s| !s.not_served)
                .map(|s| s.next)
                .chain(self.expiries())
                .min()
                .unwrap_or(now + REFRESH.1);
            let wait = Duration::from_secs(next.saturating_sub(now).min(REFRESH.1));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.notices.wait(self.index) => {}
            }
            let now = unix_now();
            for z in self.notices.take(self.index) {
                if let Some(s) = self.zones.get_mut(&z) {
                    tracing::info!(root = %self.root, zone = %z, "NOTIFY received: checking the zone's serial");
                    s.next = now;
                    s.not_served = false;
                }
            }
        }
    }

    fn count(&self, pick: fn(&Counts) -> &std::sync::atomic::AtomicU64) {
        if let Some(c) = self.notices.counts(self.index) {
            Counts::bump(pick(c));
        }
    }

    /// What is on disk: each zone's SOA and when it was last known current; in a
    /// zones root that discovers, also the zones of earlier transfers.
    fn read_disk(&mut self) {
        if self.discover
            && let Store::Zones(dir) = &self.store
        {
            for origin in crate::zones::zone_files(dir) {
                self.zones.entry(origin).or_default();
            }
        }
        let names: Vec<Name> = self.zones.keys().cloned().collect();
        for z in names {
            let Some(path) = self.store.path(&z) else {
                continue;
            };
            let soa = file_soa(&path, &z);
            let s = self.zones.entry(z).or_default();
            s.last_ok = soa.as_ref().and_then(|_| modified(&path));
            s.soa = soa;
        }
    }

    /// Unix times at which a copy on disk expires.
    fn expiries(&self) -> impl Iterator<Item = u64> + '_ {
        self.zones.values().filter_map(|s| {
            let (soa, ok) = (s.soa.as_ref()?, s.last_ok?);
            Some(ok.saturating_add(timers(soa).2))
        })
    }

    /// A zones root's zones past their SOA expire are moved aside (no longer
    /// served); a hints root's copy is dropped by the service itself.
    fn expire(&mut self, now: u64) {
        let Store::Zones(_) = &self.store else { return };
        let expired: Vec<Name> = self
            .zones
            .iter()
            .filter(|(_, s)| {
                s.soa
                    .as_ref()
                    .zip(s.last_ok)
                    .is_some_and(|(soa, ok)| now >= ok.saturating_add(timers(soa).2))
            })
            .map(|(z, _)| z.clone())
            .collect();
        for z in expired {
            let Some(path) = self.store.path(&z) else {
                continue;
            };
            let aside = aside_path(&path, "expired");
            let moved = std::fs::rename(&path, &aside);
            self.count(|c| &c.expired);
            if let Some(s) = self.zones.get_mut(&z) {
                let (ok, expire) = (
                    s.last_ok.unwrap_or(0),
                    s.soa.as_ref().map_or(0, |soa| timers(soa).2),
                );
                s.soa = None;
                s.last_ok = None;
                match moved {
                    Ok(()) => tracing::error!(
                        "root {}: zone {z} is past its SOA expire ({expire} s since the primaries last confirmed it, {} s ago): no longer served; moved to {}",
                        self.root,
                        now.saturating_sub(ok),
                        aside.display()
                    ),
                    Err(e) => tracing::error!(
                        "root {}: zone {z} is past its SOA expire but {} cannot be moved aside: {e}",
                        self.root,
                        path.display()
                    ),
                }
            }
        }
    }

    /// Checks one zone with the primaries in order; the first that answers decides.
    async fn refresh(&mut self, zone: &Name) {
        let mut why = Vec::new();
        for i in 0..self.primaries.len() {
            match self.refresh_from(i, zone).await {
                Ok(()) => return,
                Err(Refusal::NotServed(e)) | Err(Refusal::Failed(e))
                    if i + 1 < self.primaries.len() =>
                {
                    why.push(e)
                }
                Err(Refusal::NotServed(e)) => {
                    why.push(e);
                    let all_refuse = why.len() == self.primaries.len();
                    if self.discover
                        && all_refuse
                        && self.zones.get(zone).is_some_and(|s| !s.listed)
                    {
                        tracing::info!(
                            "root {}: zone {zone}: no primary gives it out ({}); it is resolved through its delegation",
                            self.root,
                            why.join("; ")
                        );
                        if let Some(s) = self.zones.get_mut(zone) {
                            s.not_served = true;
                        }
                        return;
                    }
                }
                Err(Refusal::Failed(e)) => why.push(e),
            }
        }
        self.count(|c| &c.failed);
        let now = unix_now();
        if let Some(s) = self.zones.get_mut(zone) {
            let retry = s.soa.as_ref().map_or(FIRST_RETRY, |soa| timers(soa).1);
            s.next = now + retry;
            let left = s
                .soa
                .as_ref()
                .zip(s.last_ok)
                .map(|(soa, ok)| ok.saturating_add(timers(soa).2).saturating_sub(now));
            let serving = match left {
                Some(l) => format!("serving the copy on disk for {l} s more (SOA expire)"),
                None => "no copy to serve".into(),
            };
            tracing::warn!(
                "root {}: zone {zone}: no primary could be used ({}); {serving}; next try in {retry} s",
                self.root,
                why.join("; ")
            );
        }
    }

    async fn refresh_from(&mut self, i: usize, zone: &Name) -> Result<(), Refusal> {
        let p = &self.primaries[i];
        let have = self.zones.get(zone).and_then(|s| s.soa.clone());
        let started = Instant::now();
        if let Some(soa) = &have {
            let theirs = client::soa_serial(p, zone, &self.limits)
                .await
                .map_err(refusal)?;
            if !serial_lt(soa_serial(soa), theirs) {
                self.current(zone);
                return Ok(());
            }
        }
        let fetched = client::fetch(p, zone, have.as_ref(), &self.limits)
            .await
            .map_err(refusal)?;
        let addr = p.addr;
        let (records, form) = match fetched {
            Fetched::Current { .. } => {
                self.current(zone);
                return Ok(());
            }
            Fetched::Full { records, .. } => (records, "AXFR"),
            Fetched::Changes { changes, .. } => {
                let path = self
                    .store
                    .path(zone)
                    .ok_or_else(|| Refusal::Failed("no file name".into()))?;
                let old = crate::zones::read(&path, zone).map_err(|e| {
                    Refusal::Failed(format!(
                        "{}: cannot read it back: {}",
                        path.display(),
                        first(&e)
                    ))
                })?;
                let old: Vec<Record> = old.records.into_iter().map(|l| l.record).collect();
                let new =
                    super::apply(old, &changes).map_err(|e| Refusal::Failed(e.to_string()))?;
                (new, "IXFR")
            }
        };
        let n = records.len();
        let soa = self
            .store
            .install(zone, &records, addr)
            .map_err(Refusal::Failed)?;
        if form == "IXFR" {
            self.count(|c| &c.incremental);
        } else {
            self.count(|c| &c.full);
        }
        let serial = soa_serial(&soa);
        tracing::info!(
            "root {}: zone {zone} serial {serial} transferred from {addr} ({form}, {n} records, {} ms)",
            self.root,
            started.elapsed().as_millis()
        );
        let now = unix_now();
        if let Some(s) = self.zones.get_mut(zone) {
            s.next = now + timers(&soa).0;
            s.last_ok = Some(now);
            s.soa = Some(soa);
        }
        if zone.is_root() && self.discover {
            self.discovered(&records, now);
        }
        Ok(())
    }

    /// The primary's serial is ours: the copy is current until the next refresh.
    fn current(&mut self, zone: &Name) {
        self.count(|c| &c.current);
        let now = unix_now();
        let path = self.store.path(zone);
        if let Some(s) = self.zones.get_mut(zone) {
            s.last_ok = Some(now);
            s.next = now + s.soa.as_ref().map_or(FIRST_RETRY, |soa| timers(soa).0);
        }
        if let Some(p) = path
            && let Err(e) = touch(&p)
        {
            tracing::warn!(
                "root {}: cannot mark {} as current: {e}",
                self.root,
                p.display()
            );
        }
    }

    /// After a new root zone: TLDs it delegates are taken (tried at once), TLDs
    /// it no longer delegates are removed, and refused ones asked again.
    fn discovered(&mut self, root: &[Record], now: u64) {
        let delegated: BTreeSet<Name> = root
            .iter()
            .filter(|r| r.record_type() == RecordType::NS && r.name.num_labels() == 1)
            .map(|r| r.name.to_lowercase())
            .collect();
        for tld in &delegated {
            let s = self.zones.entry(tld.clone()).or_default();
            if s.not_served || s.soa.is_none() {
                s.not_served = false;
                s.next = now;
            }
        }
        let gone: Vec<Name> = self
            .zones
            .iter()
            .filter(|(z, s)| !z.is_root() && !s.listed && !delegated.contains(&z.to_lowercase()))
            .map(|(z, _)| z.clone())
            .collect();
        for z in gone {
            if let Some(path) = self.store.path(&z)
                && path.exists()
            {
                let aside = aside_path(&path, "removed");
                match std::fs::rename(&path, &aside) {
                    Ok(()) => tracing::info!(
                        "root {}: zone {z} is no longer delegated by the primary's root zone: no longer served; moved to {}",
                        self.root,
                        aside.display()
                    ),
                    Err(e) => tracing::warn!(
                        "root {}: cannot move {} aside: {e}",
                        self.root,
                        path.display()
                    ),
                }
            }
            self.zones.remove(&z);
        }
    }
}

/// Why one primary could not be used for a zone.
enum Refusal {
    /// It does not give the zone out (REFUSED, NOTAUTH, not authoritative).
    NotServed(String),
    Failed(String),
}

/// The primary does not give this zone out: it refuses, is not authoritative
/// for it, or has no such zone.
fn not_served(e: &XfrError) -> bool {
    use hickory_proto::op::ResponseCode as R;
    match e {
        XfrError::Rcode { rcode, .. } => {
            matches!(rcode, R::Refused | R::NotAuth | R::NXDomain)
        }
        XfrError::NotAuthoritative { .. } => true,
        _ => false,
    }
}

fn refusal(e: XfrError) -> Refusal {
    if not_served(&e) {
        Refusal::NotServed(e.to_string())
    } else {
        Refusal::Failed(e.to_string())
    }
}

/// (refresh, retry, expire) of an SOA, in seconds, within bounds.
fn timers(soa: &Record) -> (u64, u64, u64) {
    let RData::SOA(s) = &soa.data else {
        return (REFRESH.0, RETRY.0, EXPIRE_MIN);
    };
    let secs = |v: i32| u64::from(v.max(0) as u32);
    let refresh = secs(s.refresh).clamp(REFRESH.0, REFRESH.1);
    let retry = secs(s.retry).clamp(RETRY.0, RETRY.1);
    let expire = secs(s.expire).max(EXPIRE_MIN);
    (refresh, retry, expire)
}

pub(super) fn soa_serial(soa: &Record) -> u32 {
    match &soa.data {
        RData::SOA(s) => s.serial,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soa_timers_are_bounded() {
        use hickory_proto::rr::rdata::SOA;
        let soa = |refresh, retry, expire| {
            let n = Name::root();
            Record::from_rdata(
                n.clone(),
                60,
                RData::SOA(SOA::new(n.clone(), n, 1, refresh, retry, expire, 60)),
            )
        };
        assert_eq!(timers(&soa(1800, 900, 604_800)), (1800, 900, 604_800));
        assert_eq!(timers(&soa(0, 0, 0)), (2, 1, 3));
        assert_eq!(timers(&soa(-5, 10_000_000, -1)), (2, 86_400, 3));
    }
}

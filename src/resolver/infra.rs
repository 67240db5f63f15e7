//! What altroot knows about each upstream server address: a smoothed round-trip
//! time and recent timeouts (RFC 6298's estimator, as Unbound's infra cache and
//! Knot's server selection use it). It orders the servers of a zone — fast ones
//! first, unknown ones next, ones that keep timing out last — and sets how long one
//! try may wait. Bounded: an LRU of [`HOSTS`] addresses, each forgotten after
//! [`HOST_TTL`] seconds without news.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use lru::LruCache;

/// Addresses remembered.
pub const HOSTS: usize = 10_000;
/// Seconds an address's record is kept (Unbound `infra-host-ttl` 900).
pub const HOST_TTL: u64 = 900;
/// Round-trip time assumed for a server never asked (Unbound 376 ms, Knot 400 ms).
const UNKNOWN_RTT_MS: f64 = 376.0;
/// A try never waits less than this: loopback worlds answer in microseconds, and a
/// busy machine must not turn a scheduling hiccup into a "timeout".
pub const TRY_FLOOR: Duration = Duration::from_millis(250);
/// After this many timeouts in a row an address is tried after all others.
const DOWN_AFTER: u32 = 3;

#[derive(Clone, Copy, Debug)]
struct Host {
    srtt_ms: f64,
    rttvar_ms: f64,
    /// Timeouts in a row (reset by any reply).
    timeouts: u32,
    /// Wall-clock second of the last news.
    seen: u64,
}

pub struct Infra {
    hosts: Mutex<LruCache<IpAddr, Host>>,
    /// The longest one try may wait (a quarter of `query-timeout`, 200 ms to 1.5 s).
    try_max: Duration,
}

/// Where an address stands, for ordering: lower sorts first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    down: bool,
    rtt_ms: u32,
}

impl Infra {
    pub fn new(try_max: Duration) -> Infra {
        Infra {
            hosts: Mutex::new(LruCache::new(
                NonZeroUsize::new(HOSTS).unwrap_or(NonZeroUsize::MIN),
            )),
            try_max: try_max.max(TRY_FLOOR),
        }
    }

    fn get(&self, ip: IpAddr, now: u64) -> Option<Host> {
        let mut map = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let h = *map.peek(&ip)?;
        if h.seen + HOST_TTL <= now {
            map.pop(&ip);
            return None;
        }
        Some(h)
    }

    /// How this address sorts among the servers of a zone.
    pub fn rank(&self, ip: IpAddr, now: u64) -> Rank {
        match self.get(ip, now) {
            None => Rank {
                down: false,
                rtt_ms: UNKNOWN_RTT_MS as u32,
            },
            Some(h) => Rank {
                down: h.timeouts >= DOWN_AFTER,
                rtt_ms: h.srtt_ms as u32,
            },
        }
    }

    /// How long one try to this address may wait: RTO = SRTT + 4·RTTVAR, doubled per
    /// recent timeout, between [`TRY_FLOOR`] and the maximum; an unknown server gets
    /// the maximum.
    pub fn try_timeout(&self, ip: IpAddr, now: u64) -> Duration {
        let Some(h) = self.get(ip, now) else {
            return self.try_max;
        };
        let rto = Duration::from_secs_f64((h.srtt_ms + 4.0 * h.rttvar_ms) / 1000.0);
        let backoff = 1u32 << h.timeouts.min(4);
        (rto * backoff).clamp(TRY_FLOOR, self.try_max)
    }

    /// A reply came after `rtt`.
    pub fn record_rtt(&self, ip: IpAddr, rtt: Duration, now: u64) {
        let sample = rtt.as_secs_f64() * 1000.0;
        let mut map = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let h = match map.get(&ip).copied() {
            Some(h) if h.seen + HOST_TTL > now => Host {
                rttvar_ms: 0.75 * h.rttvar_ms + 0.25 * (h.srtt_ms - sample).abs(),
                srtt_ms: 0.875 * h.srtt_ms + 0.125 * sample,
                timeouts: 0,
                seen: now,
            },
            _ => Host {
                srtt_ms: sample,
                rttvar_ms: sample / 2.0,
                timeouts: 0,
                seen: now,
            },
        };
        map.put(ip, h);
    }

    /// A try timed out (or the server could not be reached).
    pub fn record_timeout(&self, ip: IpAddr, now: u64) {
        let mut map = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let h = match map.get(&ip).copied() {
            Some(h) if h.seen + HOST_TTL > now => Host {
                timeouts: h.timeouts.saturating_add(1),
                seen: now,
                ..h
            },
            _ => Host {
                srtt_ms: self.try_max.as_secs_f64() * 1000.0,
                rttvar_ms: 0.0,
                timeouts: 1,
                seen: now,
            },
        };
        map.put(ip, h);
    }

    /// Addresses remembered now (for tests).
    pub fn len(&self) -> usize {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn fast_servers_first_then_unknown_then_down() {
        let inf = Infra::new(Duration::from_millis(1500));
        let (fast, slow, dead, new) = (
            ip("192.0.2.1"),
            ip("192.0.2.2"),
            ip("192.0.2.3"),
            ip("192.0.2.4"),
        );
        inf.record_rtt(fast, Duration::from_millis(5), 100);
        inf.record_rtt(slow, Duration::from_millis(900), 100);
        for _ in 0..3 {
            inf.record_timeout(dead, 100);
        }
        let mut v = vec![dead, new, slow, fast];
        v.sort_by_key(|a| inf.rank(*a, 100));
        assert_eq!(v, vec![fast, new, slow, dead]);
        // A reply brings a server back.
        inf.record_rtt(dead, Duration::from_millis(5), 101);
        assert!(!inf.rank(dead, 101).down);
    }

    #[test]
    fn try_timeouts_follow_rtt_back_off_and_are_bounded() {
        let inf = Infra::new(Duration::from_millis(1500));
        let a = ip("192.0.2.1");
        assert_eq!(
            inf.try_timeout(a, 0),
            Duration::from_millis(1500),
            "unknown: the maximum"
        );
        inf.record_rtt(a, Duration::from_millis(1), 0);
        assert_eq!(inf.try_timeout(a, 0), TRY_FLOOR);
        let b = ip("192.0.2.2");
        inf.record_rtt(b, Duration::from_millis(200), 0);
        assert_eq!(
            inf.try_timeout(b, 0),
            Duration::from_millis(600),
            "SRTT + 4 RTTVAR"
        );
        inf.record_timeout(b, 0);
        assert_eq!(
            inf.try_timeout(b, 0),
            Duration::from_millis(1200),
            "doubled"
        );
        inf.record_timeout(b, 0);
        assert_eq!(inf.try_timeout(b, 0), Duration::from_millis(1500), "capped");
        // Forgotten after HOST_TTL.
        assert_eq!(
            inf.try_timeout(a, HOST_TTL + 1),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn bounded() {
        let inf = Infra::new(Duration::from_millis(1500));
        for i in 0..(HOSTS as u32 + 50) {
            inf.record_timeout(IpAddr::from(i.to_be_bytes()), 0);
        }
        assert_eq!(inf.len(), HOSTS);
    }
}

//! Per-client bounds: how many questions one client address may have waiting on
//! the network, and (optional) response rate limiting by client prefix.

use foldhash::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

//------------ In flight per client ------------------------------------------------

/// Questions waiting on the network, per client address. Entries leave the map
/// when their count falls to zero, so it is never larger than what is in flight.
#[derive(Clone)]
pub struct Clients {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max: usize,
}

/// One question in flight; leaving frees its place.
pub struct Slot {
    clients: Clients,
    ip: IpAddr,
}

impl Clients {
    pub fn new(max: usize) -> Clients {
        Clients {
            map: Arc::new(Mutex::new(HashMap::default())),
            max,
        }
    }

    /// A place for one more question from `ip`, or `None` when it has `max`.
    pub fn enter(&self, ip: IpAddr) -> Option<Slot> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.clients.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

//------------ Rate limit --------------------------------------------------------

/// What to do with a response over the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// An empty reply with TC set: a real client retries over TCP, where the limit
    /// does not apply; a spoofed victim gets a tiny packet.
    Slip,
    Drop,
}

/// Response rate limiting per client prefix (BIND RRL's defaults: /24 and /56,
/// slip 2), as a token bucket per prefix (governor's GCRA).
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<IpNet>,
    slip: u32,
    v4: u8,
    v6: u8,
    limited: AtomicU64,
}

/// Prefixes remembered before the idle ones are forgotten.
const MAX_PREFIXES: usize = 100_000;

impl RateLimit {
    /// `None` when `per_second` is 0 (off).
    pub fn new(per_second: u32, slip: u32, v4: u8, v6: u8) -> Option<RateLimit> {
        let rate = NonZeroU32::new(per_second)?;
        Some(RateLimit {
            limiter: RateLimiter::keyed(Quota::per_second(rate)),
            slip,
            v4,
            v6,
            limited: AtomicU64::new(0),
        })
    }

    pub fn check(&self, ip: IpAddr) -> Verdict {
        let prefix = match ip {
            IpAddr::V4(_) => self.v4,
            IpAddr::V6(_) => self.v6,
        };
        let key = IpNet::new(ip, prefix)
            .map(|n| n.trunc())
            .unwrap_or_else(|_| IpNet::from(ip));
        if self.limiter.check_key(&key).is_ok() {
            return Verdict::Send;
        }
        let n = self.limited.fetch_add(1, Ordering::Relaxed) + 1;
        if self.slip > 0 && n.is_multiple_of(u64::from(self.slip)) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }

    /// Forgets prefixes that are idle again (call now and then).
    pub fn tidy(&self) {
        self.limiter.retain_recent();
        if self.limiter.len() > MAX_PREFIXES {
            self.limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_client_slots_are_bounded_and_freed() {
        let c = Clients::new(2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = c.enter(ip).unwrap();
        let _b = c.enter(ip).unwrap();
        assert!(c.enter(ip).is_none());
        assert!(
            c.enter("192.0.2.2".parse().unwrap()).is_some(),
            "another client"
        );
        drop(a);
        assert!(c.enter(ip).is_some());
    }

    #[test]
    fn rate_limit_slips_every_nth_and_counts_prefixes_together() {
        let rl = RateLimit::new(5, 2, 24, 56).unwrap();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.200".parse().unwrap();
        let mut sent = 0;
        let mut slipped: i32 = 0;
        let mut dropped: i32 = 0;
        for i in 0..40 {
            match rl.check(if i % 2 == 0 { a } else { b }) {
                Verdict::Send => sent += 1,
                Verdict::Slip => slipped += 1,
                Verdict::Drop => dropped += 1,
            }
        }
        assert!(sent <= 6, "one /24: {sent}");
        assert!(slipped > 0 && dropped > 0 && (slipped - dropped).abs() <= 1);
        assert_eq!(
            rl.check("198.51.100.1".parse().unwrap()),
            Verdict::Send,
            "another prefix"
        );
        assert!(RateLimit::new(0, 2, 24, 56).is_none(), "0 = off");
    }
}

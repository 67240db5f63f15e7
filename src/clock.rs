//! Wall-clock time for TTLs.
//!
//! Cache expiry follows the wall clock (Unix seconds), as Unbound's and Knot's do:
//! a TTL is a promise about calendar time, and a machine that sleeps must not wake
//! up with answers that look fresher than they are. The clock carries an offset
//! that only [`Clock::advance`] moves, so tests can let TTLs run out without
//! waiting. A [`Clock::fixed`] clock does not follow the system time at all: it
//! starts at a given second and moves with tokio's clock (which a test can pause
//! and advance), so the scenario harness replays runs to the second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system time in whole seconds since the Unix epoch (0 before it), without a
/// [`Clock`]'s offset: for what is not a TTL (reload times, the status page).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time (or to `fixed`).
    offset: AtomicU64,
    /// A start that replaces the system time, and tokio's instant at that start.
    fixed: Option<(u64, tokio::time::Instant)>,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// A clock that starts at `start` (Unix seconds) and follows tokio's clock
    /// from now on (paused in tests, it moves only when they advance it).
    pub fn fixed(start: u64) -> Clock {
        Clock {
            offset: AtomicU64::new(0),
            fixed: Some((start, tokio::time::Instant::now())),
        }
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        let base = match self.fixed {
            Some((start, at)) => start.saturating_add(at.elapsed().as_secs()),
            None => unix_now(),
        };
        base.saturating_add(self.offset.load(Ordering::Relaxed))
    }

    /// Moves this clock forward (tests: let TTLs run out without waiting).
    pub fn advance(&self, by: Duration) {
        self.offset.fetch_add(by.as_secs(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances() {
        let c = Clock::new();
        let before = c.now();
        c.advance(Duration::from_secs(3600));
        assert!(c.now() >= before + 3600);
        let f = Clock::fixed(1_000);
        assert!(f.now() >= 1_000 && f.now() < 1_010);
        let before = f.now();
        f.advance(Duration::from_secs(5));
        assert!(f.now() >= before + 5);
    }
}

//! Wall-clock time for TTLs.
//!
//! Cache expiry follows the wall clock (Unix seconds), as Unbound's and Knot's do:
//! a TTL is a promise about calendar time, and a machine that sleeps must not wake
//! up with answers that look fresher than they are. The clock carries an offset
//! that only [`Clock::advance`] moves, so tests can let TTLs run out without
//! waiting.

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
    /// Seconds added to the system time.
    offset: AtomicU64,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        unix_now().saturating_add(self.offset.load(Ordering::Relaxed))
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
    }
}

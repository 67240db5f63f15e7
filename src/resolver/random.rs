//! The engine's randomness: query IDs and the order of large NS sets.
//!
//! In service it is the thread-local generator, seeded from the operating system
//! (unpredictable IDs are part of RFC 5452's defence). The scenario harness and
//! the fuzzer pass a seeded one instead, so that a run can be replayed exactly.

use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Clone)]
pub struct Random(Source);

#[derive(Clone)]
enum Source {
    Os,
    Seeded(Arc<Mutex<StdRng>>),
}

impl Random {
    /// The operating system's randomness (service).
    pub fn os() -> Random {
        Random(Source::Os)
    }

    /// A replayable sequence (tests, fuzzing).
    pub fn seeded(seed: u64) -> Random {
        Random(Source::Seeded(Arc::new(Mutex::new(StdRng::seed_from_u64(
            seed,
        )))))
    }

    pub fn u64(&self) -> u64 {
        match &self.0 {
            Source::Os => rand::random(),
            Source::Seeded(r) => r.lock().unwrap_or_else(|p| p.into_inner()).next_u64(),
        }
    }

    pub fn u16(&self) -> u16 {
        (self.u64() >> 48) as u16
    }
}

impl Default for Random {
    fn default() -> Random {
        Random::os()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays() {
        let a = Random::seeded(7);
        let b = Random::seeded(7);
        let xs: Vec<u64> = (0..4).map(|_| a.u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
    }
}

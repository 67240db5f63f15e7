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

/// The next number of a SplitMix64 sequence: the machine's own small, seeded
/// sequence (`Iteration`, and the order of sampled NS sets), cheap to carry by
/// value.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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

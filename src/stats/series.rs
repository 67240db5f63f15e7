//! Queries per route over the last minutes, for the status page's chart: every
//! [`STEP`] seconds a tick stores how many queries each route answered since the
//! last tick (read from the same counters as the metrics), keeping [`POINTS`].

use std::collections::VecDeque;
use std::sync::Mutex;

/// Seconds per point.
pub const STEP: u64 = 10;
/// Points kept: ten minutes.
pub const POINTS: usize = 60;

struct Inner {
    /// Totals per route at the last tick.
    last: Vec<u64>,
    /// Unix second of the last tick (0: none yet).
    last_at: u64,
    /// (unix second the interval ended, queries per route in it), oldest first.
    points: VecDeque<(u64, Vec<u64>)>,
}

pub struct Series {
    inner: Mutex<Inner>,
}

/// The chart's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// (end of interval, per route), oldest first.
    pub points: Vec<(u64, Vec<u64>)>,
    /// Queries per route since the last tick (the interval in progress).
    pub current: Vec<u64>,
    /// When the interval in progress began (0: no tick yet).
    pub since: u64,
}

impl Series {
    pub fn new(routes: usize) -> Series {
        Series {
            inner: Mutex::new(Inner {
                last: vec![0; routes],
                last_at: 0,
                points: VecDeque::with_capacity(POINTS),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the interval ending at `now` with the counters' `totals` per route.
    pub fn tick(&self, now: u64, totals: &[u64]) {
        let mut s = self.lock();
        let delta = since(totals, &s.last);
        if s.points.len() == POINTS {
            s.points.pop_front();
        }
        s.points.push_back((now, delta));
        s.last = totals.to_vec();
        s.last_at = now;
    }

    /// The points so far and the interval in progress, given the totals now.
    pub fn view(&self, totals: &[u64]) -> View {
        let s = self.lock();
        View {
            points: s.points.iter().cloned().collect(),
            current: since(totals, &s.last),
            since: s.last_at,
        }
    }
}

/// Each route's count since `last` (a route new since then counts from 0).
fn since(totals: &[u64], last: &[u64]) -> Vec<u64> {
    totals
        .iter()
        .zip(last.iter().chain(std::iter::repeat(&0)))
        .map(|(t, l)| t.saturating_sub(*l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_store_differences_and_keep_ten_minutes() {
        let s = Series::new(2);
        s.tick(10, &[5, 0]);
        s.tick(20, &[7, 3]);
        let v = s.view(&[8, 3]);
        assert_eq!(v.points, vec![(10, vec![5, 0]), (20, vec![2, 3])]);
        assert_eq!(v.current, vec![1, 0]);
        assert_eq!(v.since, 20);
        for i in 0..100 {
            s.tick(30 + i * 10, &[8, 3]);
        }
        let v = s.view(&[8, 3]);
        assert_eq!(v.points.len(), POINTS);
        assert_eq!(v.points.last().unwrap().0, 30 + 99 * 10);
    }
}

//! What the loads and reloads did, for the metrics and the status page: a bounded
//! list of the last events (when, why, which zones were read with their serials,
//! the problems reported), the problems standing now, and counters.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::zones::Problem;

/// Events kept.
pub const EVENTS: usize = 20;

/// What started a load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Start,
    /// SIGHUP: every file re-read.
    Sighup,
    /// The file watcher: files that changed.
    Watch,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Sighup => "sighup",
            Trigger::Watch => "watch",
        }
    }
}

/// How a reload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// New zones swapped in, no file in error.
    Ok,
    /// Nothing changed, no file in error.
    Unchanged,
    /// A file has an error: its root keeps every zone it served before (other
    /// roots may have loaded).
    Failed,
}

pub const OUTCOMES: [&str; 3] = ["ok", "unchanged", "failed"];

impl Outcome {
    pub fn as_str(self) -> &'static str {
        OUTCOMES[self as usize]
    }
}

/// A zone read into a new version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub root: String,
    pub zone: String,
    pub serial: u32,
}

/// One load or reload.
#[derive(Clone, Debug)]
pub struct Event {
    /// Unix seconds.
    pub at: u64,
    pub trigger: Trigger,
    pub outcome: Outcome,
    pub loaded: Vec<Loaded>,
    /// Problems reported by this reload (`FILE:LINE: error: …`).
    pub problems: Vec<Problem>,
}

#[derive(Default)]
pub struct History {
    events: Mutex<VecDeque<Event>>,
    /// Every problem of the last load, reported or not.
    standing: Mutex<Vec<Problem>>,
    /// Reloads by trigger (sighup, watch) and outcome.
    reloads: [[AtomicU64; 3]; 2],
    /// Zone versions read, start-up included.
    zone_loads: AtomicU64,
}

impl History {
    /// Records a load. Reloads that changed nothing and reported nothing new are
    /// counted but not listed.
    pub fn record(&self, event: Event, standing: Vec<Problem>) {
        self.zone_loads
            .fetch_add(event.loaded.len() as u64, Ordering::Relaxed);
        let t = match event.trigger {
            Trigger::Start => None,
            Trigger::Sighup => Some(0),
            Trigger::Watch => Some(1),
        };
        if let Some(t) = t {
            self.reloads[t][event.outcome as usize].fetch_add(1, Ordering::Relaxed);
        }
        *self.standing.lock().unwrap_or_else(|p| p.into_inner()) = standing;
        let quiet = event.outcome == Outcome::Unchanged && event.problems.is_empty();
        if event.trigger == Trigger::Start || !quiet {
            let mut ev = self.events.lock().unwrap_or_else(|p| p.into_inner());
            if ev.len() == EVENTS {
                ev.pop_front();
            }
            ev.push_back(event);
        }
    }

    /// The last events, newest first.
    pub fn events(&self) -> Vec<Event> {
        let ev = self.events.lock().unwrap_or_else(|p| p.into_inner());
        ev.iter().rev().cloned().collect()
    }

    /// The problems standing since the last load.
    pub fn standing(&self) -> Vec<Problem> {
        self.standing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reloads so far: (trigger, outcome, count).
    pub fn reloads(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::new();
        for (t, name) in [(0, "sighup"), (1, "watch")] {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                out.push((name, *outcome, self.reloads[t][o].load(Ordering::Relaxed)));
            }
        }
        out
    }

    pub fn zone_loads(&self) -> u64 {
        self.zone_loads.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(trigger: Trigger, outcome: Outcome, problems: usize) -> Event {
        Event {
            at: 1,
            trigger,
            outcome,
            loaded: vec![Loaded {
                root: "alt".into(),
                zone: "geek.".into(),
                serial: 1,
            }],
            problems: (0..problems)
                .map(|i| Problem::error("zones/geek.zone", i + 1, "bad"))
                .collect(),
        }
    }

    #[test]
    fn bounded_newest_first_quiet_reloads_only_counted() {
        let h = History::default();
        h.record(ev(Trigger::Start, Outcome::Ok, 0), vec![]);
        h.record(ev(Trigger::Watch, Outcome::Unchanged, 0), vec![]);
        assert_eq!(
            h.events().len(),
            1,
            "a reload that did nothing is not listed"
        );
        h.record(
            ev(Trigger::Sighup, Outcome::Failed, 1),
            vec![Problem::error("zones/geek.zone", 1, "bad")],
        );
        assert_eq!(h.events()[0].trigger, Trigger::Sighup);
        assert_eq!(h.standing().len(), 1);
        for _ in 0..30 {
            h.record(ev(Trigger::Watch, Outcome::Ok, 0), vec![]);
        }
        assert_eq!(h.events().len(), EVENTS);
        assert!(h.standing().is_empty());
        assert_eq!(h.zone_loads(), 33);
        let r = h.reloads();
        assert!(r.contains(&("watch", "ok", 30)));
        assert!(r.contains(&("watch", "unchanged", 1)));
        assert!(r.contains(&("sighup", "failed", 1)));
    }
}

//! Resolutions in flight, shared: many clients asking the same question at once
//! cause one resolution, not many. A flight lives only as long as someone waits
//! for it: the map keeps a weak handle, so when the last waiter gives up (its
//! client's time ran out) the resolution is dropped — cancelled — and its slot
//! freed. A waiter that joins meanwhile keeps it alive.

use foldhash::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};

type Flight<V> = Shared<BoxFuture<'static, V>>;
type Map<K, V> = Arc<Mutex<HashMap<K, (u64, WeakShared<BoxFuture<'static, V>>)>>>;

pub struct Flights<K, V: Clone> {
    map: Map<K, V>,
    next: AtomicU64,
}

impl<K, V: Clone> Default for Flights<K, V> {
    fn default() -> Self {
        Flights {
            map: Arc::new(Mutex::new(HashMap::default())),
            next: AtomicU64::new(0),
        }
    }
}

/// Removes a flight from the map when its resolution ends or is dropped (unless a
/// newer flight took the key meanwhile).
struct Leave<K: Hash + Eq, V: Clone> {
    map: Map<K, V>,
    key: K,
    id: u64,
}

impl<K: Hash + Eq, V: Clone> Drop for Leave<K, V> {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            map.remove(&self.key);
        }
    }
}

impl<K, V> Flights<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The flight for `key`: joined if one is on its way, else started from
    /// `start()` — which may decline (returns `None`: no capacity), and then so does
    /// this.
    pub fn join_or_start(
        &self,
        key: K,
        start: impl FnOnce() -> Option<BoxFuture<'static, V>>,
    ) -> Option<Flight<V>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = map.get(&key).and_then(|(_, weak)| weak.upgrade()) {
            return Some(f);
        }
        let work = start()?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let leave = Leave {
            map: self.map.clone(),
            key: key.clone(),
            id,
        };
        let flight = async move {
            let _leave = leave;
            work.await
        }
        .boxed()
        .shared();
        if let Some(weak) = flight.downgrade() {
            map.insert(key, (id, weak));
        }
        Some(flight)
    }

    /// Flights in the air (for tests and metrics).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test]
    async fn joins_share_one_resolution() {
        let f: Flights<u8, u32> = Flights::default();
        let started = Arc::new(AtomicUsize::new(0));
        let mk = |s: Arc<AtomicUsize>| {
            move || {
                s.fetch_add(1, Ordering::SeqCst);
                Some(
                    async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        7
                    }
                    .boxed(),
                )
            }
        };
        let a = f.join_or_start(1, mk(started.clone())).unwrap();
        let b = f.join_or_start(1, mk(started.clone())).unwrap();
        assert_eq!((a.await, b.await), (7, 7));
        assert_eq!(started.load(Ordering::SeqCst), 1);
        assert_eq!(f.len(), 0, "a finished flight leaves the map");
    }

    #[tokio::test]
    async fn dropped_by_every_waiter_is_cancelled() {
        let f: Flights<u8, u32> = Flights::default();
        let ran_to_end = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (r, d) = (ran_to_end.clone(), dropped.clone());
        // Counts when the resolution's future is dropped, run to its end or not.
        struct OnDrop(Arc<AtomicUsize>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let a = f
            .join_or_start(1, move || {
                Some(
                    async move {
                        let _guard = OnDrop(d);
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        r.fetch_add(1, Ordering::SeqCst);
                        1
                    }
                    .boxed(),
                )
            })
            .unwrap();
        // Poll once so it starts, then give up.
        assert!(
            tokio::time::timeout(Duration::from_millis(10), a)
                .await
                .is_err()
        );
        assert_eq!(f.len(), 0, "no waiter left: the flight is gone");
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "its future was dropped");
        assert_eq!(ran_to_end.load(Ordering::SeqCst), 0);
        // A declined start gives nothing.
        assert!(f.join_or_start(2, || None).is_none());
    }
}

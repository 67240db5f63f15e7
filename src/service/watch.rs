//! Live reload: watch the zones folders (and every `$INCLUDE`d file) and reload
//! what changed, off the query path (DESIGN §6).
//!
//! Editors save in different ways, and each leaves a different trail of events:
//! writing in place ends with the file being closed after writing; "write a temp
//! file and rename" ends with a rename onto the zone file; "delete and re-create"
//! with a create and a close. So a close-after-write, a create, a rename or a
//! removal of a zone file schedules a reload after a short quiet time (a burst of
//! events is one reload). A modification that is never followed by a close (a
//! writer that keeps the file open) schedules a reload only after a longer quiet
//! time, so a half-written file is not read while it is being written. Files whose
//! names start with a dot or end in `~` (swap, backup and temp files) are ignored.
//!
//! The watcher must never go deaf without saying so. inotify watches a folder, not
//! a path: when a zones folder is moved away (and back), replaced by another one
//! renamed over it (deploy tools, `git` checkouts) or deleted and created again,
//! the watch on it is gone or follows the old folder. So the parent of each zones
//! folder is watched too, and every watched folder is re-armed — watched anew,
//! with a log line — as soon as an event, the periodic check or SIGHUP
//! ([`WatchHandle::rearm`]) shows that it was moved, replaced or recreated. The
//! periodic check ([`POLL`]) is also the safety net for anything the notifier
//! misses (a full event queue, a file system it cannot see into, no inotify at
//! all): it compares the size, mtime and inode of every file and folder the zones
//! were read from (a `stat` each, nothing read) with what they were before the last
//! reload, and reloads (saying so) when they differ and no event announced it.
//!
//! Whatever triggers it, the reload itself re-reads only zones whose files changed,
//! checks them, and swaps each root's zone set at once ([`Service::reload`]); a
//! reload with an error changes nothing of that root.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::service::Service;

#[path = "watch_disk.rs"]
mod disk;
use disk::{DirId, Disk};

/// Quiet time after an event that means "the file is complete".
const SETTLE: Duration = Duration::from_millis(50);
/// Quiet time after a bare modification (the writer has not closed the file yet).
const SETTLE_OPEN_WRITE: Duration = Duration::from_millis(1500);
/// How often the watched folders and files are checked by `stat` (re-arming and
/// the safety net for missed events).
pub const POLL: Duration = Duration::from_secs(2);
/// How often a due re-signing is asked for again when the reload that should
/// have signed failed (a broken edit keeps the old zones and their signatures).
const RESIGN_RETRY: Duration = Duration::from_secs(600);

/// What an event says about the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    /// Closed after writing, created, renamed or removed: safe to read soon.
    Complete,
    /// Written to, still open: wait longer.
    InProgress,
}

/// How the watcher works; [`Options::default`] is what `serve` uses.
#[derive(Clone, Debug)]
pub struct Options {
    /// Use the file notifier (inotify). Off only in tests of the periodic check.
    pub notify: bool,
    /// How often the periodic check runs.
    pub poll: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            notify: true,
            poll: POLL,
        }
    }
}

/// What the watcher did, for tests and logs: each counter proves a step ran.
#[derive(Debug, Default)]
pub struct WatchStats {
    /// Notifier events about a file or folder the zones depend on.
    pub events: AtomicU64,
    /// Times the short quiet time ran out while a file was still open for
    /// writing, and the reload waited on.
    pub held: AtomicU64,
    /// Reloads the watcher ran (counted when done, watches updated).
    pub reloads: AtomicU64,
    /// Changes the periodic check found that no event had announced.
    pub polled: AtomicU64,
    /// Periodic checks done.
    pub polls: AtomicU64,
    /// Folders watched anew after they were moved, replaced or recreated (or on
    /// SIGHUP).
    pub rearmed: AtomicU64,
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct WatchHandle {
    inner: Arc<Inner>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl WatchHandle {
    /// Watches every folder anew, whatever the watcher believes (SIGHUP): a watch
    /// lost in a way nothing showed is back after this.
    pub fn rearm(&self) {
        let n = self.inner.arm(true);
        tracing::info!(folders = n, "watching the zones folders anew");
    }

    /// What the watcher did so far.
    pub fn stats(&self) -> &WatchStats {
        &self.inner.stats
    }
}

/// How a folder stands with the notifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Armed {
    /// Watched; the folder's identity when it was watched.
    Yes(DirId),
    /// An event showed that the notifier dropped or misplaced the watch (the
    /// folder was moved or deleted): watch it anew.
    Lost,
    /// The folder does not exist (its parent is watched for it to come back).
    Missing,
}

/// What is watched, shared by the event callback and the tasks. Every path is
/// absolute, as the notifier reports them.
#[derive(Default)]
struct Watched {
    /// Files zones include (any name, dot files too), and the files symlinked zone
    /// files point at.
    includes: HashSet<PathBuf>,
    /// The zones folders themselves (an event on one means it was moved,
    /// replaced or recreated).
    zone_dirs: HashSet<PathBuf>,
    /// Folders whose files matter: zones folders and folders of included files (the
    /// parents of zones folders are watched too, but only for the folders).
    file_dirs: HashSet<PathBuf>,
    /// Folders to watch and how each stands.
    dirs: HashMap<PathBuf, Armed>,
}

enum Msg {
    Signal(Signal),
}

struct Inner {
    service: Arc<Service>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    state: Arc<RwLock<Watched>>,
    stats: Arc<WatchStats>,
    tx: mpsc::UnboundedSender<Msg>,
    /// What the zones' files and folders looked like just before the last reload
    /// started, for the periodic check.
    baseline: Mutex<Disk>,
    /// The periodic check's last look, when it differed from the baseline: a
    /// change is acted on once it has held still for one period.
    pending: Mutex<Option<Disk>>,
    /// Signals sent since the baseline was taken (by the notifier, or the periodic
    /// check itself): a reload is coming, the check need not ask for one.
    signals: Arc<AtomicU64>,
    /// One [`Inner::arm`] at a time (the periodic check, a reload and SIGHUP may
    /// ask together).
    arming: Mutex<()>,
    /// When the periodic check last asked for a reload to renew signatures.
    resign_asked: Mutex<Option<Instant>>,
}

/// Is this path one that can change a zone? Anything in a zones folder but swap,
/// backup and dot files (reloading only re-reads files that changed, so a stray
/// file costs little), the files zones include, and the zones folders themselves.
fn relevant(path: &Path, w: &Watched) -> bool {
    if w.includes.contains(path) || w.zone_dirs.contains(path) {
        return true;
    }
    let in_file_dir = path.parent().is_some_and(|d| w.file_dirs.contains(d));
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if !in_file_dir {
        return false;
    }
    !(name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp"))
}

fn classify(ev: &notify::Event) -> Option<Signal> {
    match &ev.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(Signal::Complete),
        EventKind::Create(_) | EventKind::Remove(_) => Some(Signal::Complete),
        EventKind::Modify(ModifyKind::Name(_)) => Some(Signal::Complete),
        EventKind::Modify(_) => Some(Signal::InProgress),
        // The kernel's event queue overflowed: anything may have changed.
        _ if ev.need_rescan() => Some(Signal::Complete),
        _ => None,
    }
}

/// Does this event take a watched folder away from the notifier (moved or
/// deleted, seen from its parent or from itself)?
fn moves_a_folder(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
    )
}

/// Starts watching the service's zones folders, as `serve` does.
pub fn spawn(service: Arc<Service>) -> WatchHandle {
    spawn_with(service, Options::default())
}

/// Starts watching; reloads run on a blocking thread. Without a working notifier
/// (inotify unavailable or out of watches) the periodic check alone finds changes,
/// and the log says so.
pub fn spawn_with(service: Arc<Service>, opts: Options) -> WatchHandle {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let state: Arc<RwLock<Watched>> = Default::default();
    let stats: Arc<WatchStats> = Arc::default();
    let signals: Arc<AtomicU64> = Arc::default();
    let watcher = if opts.notify {
        let counts = (stats.clone(), signals.clone());
        match notifier(state.clone(), tx.clone(), counts) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(
                    "cannot watch the zones folders ({e}); checking them every {:?} instead",
                    opts.poll
                );
                None
            }
        }
    } else {
        None
    };
    let inner = Arc::new(Inner {
        service,
        watcher: Mutex::new(watcher),
        state,
        stats,
        tx,
        baseline: Mutex::new(Disk::default()),
        pending: Mutex::new(None),
        signals,
        arming: Mutex::new(()),
        resign_asked: Mutex::new(None),
    });
    inner.arm(false);
    // Look once now: the zones may have changed since they were loaded.
    inner.signals.fetch_add(1, Ordering::SeqCst);
    let _ = inner.tx.send(Msg::Signal(Signal::Complete));

    let me = inner.clone();
    let task = tokio::spawn(async move {
        // Bounded by the service's life: the task is aborted when the handle drops.
        while let Some(Msg::Signal(first)) = rx.recv().await {
            me.settle(first, &mut rx).await;
            me.reload().await;
        }
    });
    let me = inner.clone();
    let poll = opts.poll;
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let m = me.clone();
            let _ = tokio::task::spawn_blocking(move || m.poll()).await;
        }
    });
    WatchHandle {
        inner,
        tasks: vec![task, ticker],
    }
}

/// The notifier, sending what matters to the watcher's task.
fn notifier(
    state: Arc<RwLock<Watched>>,
    tx: mpsc::UnboundedSender<Msg>,
    (stats, signals): (Arc<WatchStats>, Arc<AtomicU64>),
) -> notify::Result<notify::RecommendedWatcher> {
    let mut warned = false;
    notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let ev = match res {
            Ok(ev) => ev,
            Err(e) => {
                // Out of watches, a read error: look at everything to be safe.
                if !warned {
                    tracing::warn!("file notifier: {e}; the periodic check goes on");
                    warned = true;
                }
                signals.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(Msg::Signal(Signal::Complete));
                return;
            }
        };
        let Some(sig) = classify(&ev) else {
            return;
        };
        let relevant = {
            let w = state.read().unwrap_or_else(|p| p.into_inner());
            ev.need_rescan() || ev.paths.iter().any(|p| relevant(p, &w))
        };
        if !relevant {
            return;
        }
        if moves_a_folder(&ev.kind) {
            let mut w = state.write().unwrap_or_else(|p| p.into_inner());
            for p in &ev.paths {
                if let Some(a) = w.dirs.get_mut(p)
                    && matches!(a, Armed::Yes(_))
                {
                    *a = Armed::Lost;
                }
            }
        }
        stats.events.fetch_add(1, Ordering::SeqCst);
        signals.fetch_add(1, Ordering::SeqCst);
        let _ = tx.send(Msg::Signal(sig));
    })
}

impl Inner {
    /// Waits until the files have been quiet for long enough after `first`.
    async fn settle(&self, first: Signal, rx: &mut mpsc::UnboundedReceiver<Msg>) {
        let mut open_until =
            (first == Signal::InProgress).then(|| Instant::now() + SETTLE_OPEN_WRITE);
        let mut deadline = Instant::now() + SETTLE;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Msg::Signal(sig))) => {
                    deadline = Instant::now() + SETTLE;
                    open_until = match sig {
                        Signal::InProgress => Some(Instant::now() + SETTLE_OPEN_WRITE),
                        // Closed: the file is complete.
                        Signal::Complete => None,
                    };
                }
                Ok(None) => return,
                Err(_) => match open_until {
                    // Quiet, but a file is still open for writing: wait on.
                    Some(until) if Instant::now() < until => {
                        self.stats.held.fetch_add(1, Ordering::SeqCst);
                        tracing::debug!("a zone file is still open for writing; waiting");
                        deadline = until;
                    }
                    _ => return,
                },
            }
        }
    }

    /// Reloads what changed, then brings the watches up to date (a reload may
    /// have brought includes in new folders).
    async fn reload(self: &Arc<Self>) {
        let me = self.clone();
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(move || {
            // Signals first: a change after this either has its signal counted or
            // is in the baseline.
            me.signals.store(0, Ordering::SeqCst);
            *me.baseline.lock().unwrap_or_else(|p| p.into_inner()) = me.look();
            *me.pending.lock().unwrap_or_else(|p| p.into_inner()) = None;
            let (_, changed) = me.service.reload(false);
            // Paths the reload brought in: what they are now.
            let now = me.look();
            let mut base = me.baseline.lock().unwrap_or_else(|p| p.into_inner());
            let mut kept = Disk::default();
            for (p, m) in now.0 {
                let m = base.0.remove(&p).unwrap_or(m);
                kept.0.insert(p, m);
            }
            *base = kept;
            drop(base);
            me.arm(false);
            changed
        })
        .await;
        match done {
            Ok(true) => {
                tracing::info!(ms = started.elapsed().as_millis() as u64, "zones reloaded");
            }
            Ok(false) => {}
            Err(e) => tracing::error!("zone reload failed: {e}"),
        }
        self.stats.reloads.fetch_add(1, Ordering::SeqCst);
    }

    /// The periodic check: folders moved, replaced or recreated are watched anew;
    /// changes no event announced are reloaded once they have held still for one
    /// period (a file may be half written).
    fn poll(&self) {
        self.stats.polls.fetch_add(1, Ordering::SeqCst);
        self.arm(false);
        self.service.expire_copies();
        // Signatures altroot made get old: a reload signs those zones again.
        if self.signals.load(Ordering::SeqCst) == 0 && self.service.resign_due() {
            let mut asked = self.resign_asked.lock().unwrap_or_else(|p| p.into_inner());
            if asked.is_none_or(|t| t.elapsed() >= RESIGN_RETRY) {
                *asked = Some(Instant::now());
                tracing::info!("signatures of a signed zone are due for renewal; reloading");
                self.signals.fetch_add(1, Ordering::SeqCst);
                let _ = self.tx.send(Msg::Signal(Signal::Complete));
                return;
            }
        }
        let now = self.look();
        let base = self.baseline.lock().unwrap_or_else(|p| p.into_inner());
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if now == *base || self.signals.load(Ordering::SeqCst) > 0 {
            *pending = None;
            return;
        }
        if pending.as_ref() != Some(&now) {
            *pending = Some(now); // look again next time
            return;
        }
        let gone = base.0.keys().filter(|p| !now.0.contains_key(*p));
        let changed: Vec<String> = now
            .0
            .iter()
            .filter(|(p, m)| base.0.get(*p) != Some(*m))
            .map(|(p, _)| p)
            .chain(gone)
            .map(|p| p.display().to_string())
            .collect();
        *pending = None;
        self.signals.fetch_add(1, Ordering::SeqCst);
        self.stats.polled.fetch_add(1, Ordering::SeqCst);
        tracing::warn!(
            "the periodic check found changes no file event announced ({}); reloading",
            changed.join(", ")
        );
        let _ = self.tx.send(Msg::Signal(Signal::Complete));
    }

    /// What the zones' files and folders look like now.
    fn look(&self) -> Disk {
        let (dirs, files) = self.service.watched_paths();
        Disk::look(&dirs, &files)
    }

    /// Brings the watch list up to date with the service's files: folders not
    /// watched yet, or moved, replaced, recreated or gone since, are (re)watched
    /// (every folder, with `force`), each with a log line for a zones folder.
    /// Returns how many folders it watched.
    fn arm(&self, force: bool) -> usize {
        let _one_at_a_time = self.arming.lock().unwrap_or_else(|p| p.into_inner());
        let (zone_dirs, files) = self.service.watched_paths();
        let mut includes = HashSet::new();
        let mut zdirs = HashSet::new();
        let mut file_dirs = HashSet::new();
        let mut dirs = HashSet::new();
        for d in &zone_dirs {
            let d = absolute(d);
            // The folder, and its parent: a folder moved or replaced shows there.
            if let Some(parent) = d.parent() {
                dirs.insert(parent.to_path_buf());
            }
            dirs.insert(d.clone());
            file_dirs.insert(d.clone());
            zdirs.insert(d);
        }
        for p in &files {
            let p = absolute(p);
            if p.extension().and_then(|e| e.to_str()) != Some("zone") {
                includes.insert(p.clone());
            }
            if let Some(parent) = p.parent() {
                dirs.insert(parent.to_path_buf());
                file_dirs.insert(parent.to_path_buf());
            }
            // A symlinked zone file: watch what it points at too.
            if let Ok(real) = std::fs::canonicalize(&p)
                && real != p
            {
                if let Some(parent) = real.parent() {
                    dirs.insert(parent.to_path_buf());
                    file_dirs.insert(parent.to_path_buf());
                }
                includes.insert(real);
            }
        }
        // Never hold the state lock while calling into notify: its event thread may
        // be inside our callback, waiting for that lock, while `watch` waits for it.
        let todo: Vec<(PathBuf, Option<DirId>, Option<Armed>, bool)> = {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            st.includes = includes;
            st.file_dirs = file_dirs;
            st.dirs.retain(|d, _| dirs.contains(d));
            st.zone_dirs = zdirs;
            dirs.into_iter()
                .filter_map(|d| {
                    let id = DirId::of(&d);
                    let was = st.dirs.get(&d).copied();
                    let fine = match (was, id) {
                        (Some(Armed::Yes(old)), Some(id)) => old == id && !force,
                        (Some(Armed::Missing), None) => true,
                        _ => false,
                    };
                    let zones_dir = st.zone_dirs.contains(&d);
                    (!fine).then_some((d, id, was, zones_dir))
                })
                .collect()
        };
        if todo.is_empty() {
            return 0;
        }
        let mut done = Vec::new();
        let mut watched = 0;
        {
            let mut guard = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
            for (d, id, was, zones_dir) in todo {
                let Some(id) = id else {
                    if zones_dir {
                        tracing::warn!(
                            "zones folder {} is gone (moved or deleted): serving the zones loaded before, and watching for it to come back",
                            d.display()
                        );
                    }
                    done.push((d, Armed::Missing));
                    continue;
                };
                if let Some(w) = guard.as_mut() {
                    if was.is_some() {
                        let _ = w.unwatch(&d);
                    }
                    if let Err(e) = w.watch(&d, RecursiveMode::NonRecursive) {
                        tracing::warn!(
                            "cannot watch {} ({e}); the periodic check goes on",
                            d.display()
                        );
                        continue;
                    }
                }
                watched += 1;
                match was {
                    None => tracing::debug!("watching {}", d.display()),
                    Some(_) if force => {
                        self.stats.rearmed.fetch_add(1, Ordering::SeqCst);
                        tracing::debug!("watching {} anew", d.display());
                    }
                    Some(why) => {
                        self.stats.rearmed.fetch_add(1, Ordering::SeqCst);
                        let how = match why {
                            Armed::Missing => "is back",
                            _ => "was moved, replaced or recreated",
                        };
                        if zones_dir {
                            tracing::info!("zones folder {} {how}: watching it again", d.display());
                        } else {
                            tracing::debug!("{} {how}: watching it again", d.display());
                        }
                    }
                }
                done.push((d, Armed::Yes(id)));
            }
        }
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        st.dirs.extend(done);
        watched
    }
}

/// `p` made absolute (without resolving symlinks), as the notifier reports paths
/// under an absolute watch.
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;

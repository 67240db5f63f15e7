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
//! Whatever triggers it, the reload itself re-reads only zones whose files changed,
//! checks them, and swaps the whole zone set at once ([`Service::reload`]); a broken
//! file keeps its last good version.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::service::Service;

/// Quiet time after an event that means "the file is complete".
const SETTLE: Duration = Duration::from_millis(50);
/// Quiet time after a bare modification (the writer has not closed the file yet).
const SETTLE_OPEN_WRITE: Duration = Duration::from_millis(1500);

/// What an event says about the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    /// Closed after writing, created, renamed or removed: safe to read soon.
    Complete,
    /// Written to, still open: wait longer.
    InProgress,
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct WatchHandle {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What is watched, shared by the event callback and the tasks.
#[derive(Default)]
struct Watched {
    /// Files zones include (any name, dot files too), and the files symlinked zone
    /// files point at.
    includes: HashSet<PathBuf>,
    /// The zones folders themselves (an event on one means it was replaced).
    zone_dirs: HashSet<PathBuf>,
    /// Folders whose files matter: zones folders and folders of included files (the
    /// parents of zones folders are watched too, but only for the folders).
    file_dirs: HashSet<PathBuf>,
    /// Folders watched, with the identity of the folder when it was watched: a
    /// folder renamed away and replaced is watched anew.
    dirs: HashMap<PathBuf, Option<u64>>,
}

/// Is this path one that can change a zone? Anything in a zones folder but swap,
/// backup and dot files (reloading only re-reads files that changed, so a stray
/// file costs little), the files zones include, and the zones folders themselves.
fn relevant(path: &Path, w: &Watched) -> bool {
    if w.includes.contains(path) || w.zone_dirs.contains(path) {
        return true;
    }
    let in_file_dir = path.parent().is_some_and(|d| {
        w.file_dirs.contains(d)
            || (d.as_os_str().is_empty() && w.file_dirs.contains(Path::new(".")))
    });
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if !in_file_dir {
        return false;
    }
    !(name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp"))
}

fn classify(kind: &EventKind) -> Option<Signal> {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(Signal::Complete),
        EventKind::Create(_) | EventKind::Remove(_) => Some(Signal::Complete),
        EventKind::Modify(ModifyKind::Name(_)) => Some(Signal::Complete),
        EventKind::Modify(_) => Some(Signal::InProgress),
        _ => None,
    }
}

/// Starts watching the service's zones folders; reloads run on a blocking thread.
pub fn spawn(service: Arc<Service>) -> notify::Result<WatchHandle> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Signal>();
    let state: Arc<RwLock<Watched>> = Default::default();
    let st = state.clone();
    let events = tx.clone();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        let Some(sig) = classify(&ev.kind) else {
            return;
        };
        let w = st.read().unwrap_or_else(|p| p.into_inner());
        if ev.paths.iter().any(|p| relevant(p, &w)) {
            let _ = events.send(sig);
        }
    })?;
    let watcher = Arc::new(Mutex::new(watcher));
    if watch_all(&service, &watcher, &state) {
        let _ = tx.send(Signal::Complete);
    }

    let (svc, w, st, again) = (service.clone(), watcher.clone(), state.clone(), tx.clone());
    let task = tokio::spawn(async move {
        // Bounded by the service's life: the task is aborted when the handle drops.
        while let Some(first) = rx.recv().await {
            let mut deadline = Instant::now() + settle(first);
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(sig)) => deadline = Instant::now() + settle(sig),
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            let s = svc.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || s.reload(false)).await;
            match result {
                Ok((problems, changed)) => {
                    crate::zones::log_problems(&problems);
                    if changed {
                        tracing::info!(ms = started.elapsed().as_millis() as u64, "zones reloaded");
                    }
                }
                Err(e) => tracing::error!("zone reload failed: {e}"),
            }
            // A reload may have brought new includes in new folders: watch them now,
            // and look again once they are watched, in case they changed meanwhile.
            if watch_all(&svc, &w, &st) {
                let _ = again.send(Signal::Complete);
            }
        }
    });
    // A zones folder renamed away and replaced is noticed here at the latest.
    let refresh = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            if watch_all(&service, &watcher, &state) {
                let _ = tx.send(Signal::Complete);
            }
        }
    });
    Ok(WatchHandle {
        tasks: vec![task, refresh],
    })
}

fn settle(sig: Signal) -> Duration {
    match sig {
        Signal::Complete => SETTLE,
        Signal::InProgress => SETTLE_OPEN_WRITE,
    }
}

/// The identity of a folder (its inode), to notice one replaced by another.
fn dir_id(p: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).ok().map(|m| m.ino())
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(p).ok().map(|_| 0)
    }
}

/// Brings the watch list up to date with the service's files. Returns true when it
/// started watching something new (the caller should look for changes then).
fn watch_all(
    service: &Service,
    watcher: &Mutex<notify::RecommendedWatcher>,
    state: &RwLock<Watched>,
) -> bool {
    let mut includes = HashSet::new();
    let mut zone_dirs = HashSet::new();
    let mut file_dirs = HashSet::new();
    let mut dirs = HashSet::new();
    let parent = |p: &Path| match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    for p in service.watched_paths() {
        if p.is_dir() {
            // The folder, and its parent: a folder renamed or replaced shows there.
            dirs.insert(parent(&p));
            dirs.insert(p.clone());
            file_dirs.insert(p.clone());
            zone_dirs.insert(p);
            continue;
        }
        if p.extension().and_then(|e| e.to_str()) != Some("zone") {
            includes.insert(p.clone());
        }
        dirs.insert(parent(&p));
        file_dirs.insert(parent(&p));
        // A symlinked zone file: watch what it points at too.
        if let Ok(real) = std::fs::canonicalize(&p)
            && real != p
        {
            dirs.insert(parent(&real));
            file_dirs.insert(parent(&real));
            includes.insert(real);
        }
    }
    // Never hold the state lock while calling into notify: its event thread may be
    // inside our callback, waiting for that lock, while `watch` waits for it.
    let todo: Vec<(PathBuf, Option<u64>, bool)> = {
        let mut st = state.write().unwrap_or_else(|p| p.into_inner());
        st.includes = includes;
        st.zone_dirs = zone_dirs;
        st.file_dirs = file_dirs;
        dirs.into_iter()
            .filter_map(|d| {
                let id = dir_id(&d);
                match st.dirs.get(&d) {
                    Some(old) if *old == id => None,
                    Some(_) => Some((d, id, true)),
                    None => Some((d, id, false)),
                }
            })
            .collect()
    };
    let mut added = false;
    let mut done = Vec::new();
    {
        let mut w = watcher.lock().unwrap_or_else(|p| p.into_inner());
        for (d, id, replaced) in todo {
            if replaced {
                let _ = w.unwatch(&d);
            }
            match w.watch(&d, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    tracing::debug!("watching {}", d.display());
                    done.push((d, id));
                    added = true;
                }
                Err(e) => tracing::debug!("cannot watch {}: {e}", d.display()),
            }
        }
    }
    let mut st = state.write().unwrap_or_else(|p| p.into_inner());
    st.dirs.extend(done);
    added
}

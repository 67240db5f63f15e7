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

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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

/// Is this path one that can change a zone? Zone files, and files zones include.
fn relevant(path: &Path, includes: &HashSet<PathBuf>) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    name.ends_with(".zone") || includes.contains(path)
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
    let includes: Arc<std::sync::RwLock<HashSet<PathBuf>>> = Default::default();
    let inc = includes.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        let Some(sig) = classify(&ev.kind) else {
            return;
        };
        let inc = inc.read().unwrap_or_else(|p| p.into_inner());
        if ev.paths.iter().any(|p| relevant(p, &inc)) {
            let _ = tx.send(sig);
        }
    })?;

    let mut watched: HashSet<PathBuf> = HashSet::new();
    watch_all(&service, &mut watcher, &mut watched, &includes);

    let svc = service.clone();
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
                    crate::cli::log_problems(&problems);
                    if changed {
                        tracing::info!(ms = started.elapsed().as_millis() as u64, "zones reloaded");
                    }
                }
                Err(e) => tracing::error!("zone reload failed: {e}"),
            }
        }
    });
    // New `$INCLUDE`s show up only after a reload, so the list of watched folders
    // is refreshed now and then. This task owns the watcher: aborting it stops
    // the watching.
    let refresh = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            watch_all(&service, &mut watcher, &mut watched, &includes);
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

fn watch_all(
    service: &Service,
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut HashSet<PathBuf>,
    includes: &std::sync::RwLock<HashSet<PathBuf>>,
) {
    let paths = service.watched_paths();
    let mut inc = HashSet::new();
    let mut dirs = HashSet::new();
    for p in paths {
        if p.is_dir() {
            dirs.insert(p);
        } else {
            if p.extension().and_then(|e| e.to_str()) != Some("zone") {
                inc.insert(p.clone());
            }
            if let Some(parent) = p.parent() {
                dirs.insert(if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                });
            }
        }
    }
    *includes.write().unwrap_or_else(|p| p.into_inner()) = inc;
    for d in dirs {
        if watched.contains(&d) {
            continue;
        }
        match watcher.watch(&d, RecursiveMode::NonRecursive) {
            Ok(()) => {
                tracing::debug!("watching {}", d.display());
                watched.insert(d);
            }
            Err(e) => tracing::warn!("cannot watch {}: {e}", d.display()),
        }
    }
}

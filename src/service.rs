//! Building the resolver from a [`Config`]: load every root's zones or hints, make one
//! engine and one cache per root, and hand them to a [`Router`]. Also zone reload.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use hickory_proto::rr::{LowerName, Name};

use crate::cache::Cache;
use crate::config::{Config, RootSource};
use crate::resolve::{Engine, Kind};
use crate::router::Router;
use crate::zones::{LoadOptions, Problem, SharedZones, ZoneError, ZoneSet, hints};

/// A running resolver's state: the router, and the zone sets that reload swaps.
pub struct Service {
    pub config: Config,
    pub router: Arc<Router>,
    zone_roots: Vec<ZoneRoot>,
    /// Problems already logged, so a broken save is reported once, not per reload.
    logged: Mutex<HashSet<String>>,
    /// How many reloads swapped in new zones (for tests and logs).
    pub swaps: AtomicUsize,
}

/// A zones root: where its files are and what it may define.
struct ZoneRoot {
    index: usize,
    dir: PathBuf,
    opts: LoadOptions,
    zones: SharedZones,
}

/// Start-up failed: every problem found, each `FILE:LINE: error: …`.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct LoadErrors(pub Vec<ZoneError>);

impl Service {
    /// Loads everything. Any error in any zone or hints file fails the start: a
    /// resolver that silently serves half its zones is worse than one that refuses.
    pub fn new(config: Config) -> Result<Service, LoadErrors> {
        let mut errors = Vec::new();
        let mut engines = Vec::new();
        let mut zone_roots = Vec::new();
        for (i, rc) in config.roots.iter().enumerate() {
            let cache = Cache::new(&config.cache);
            let kind = match &rc.source {
                RootSource::Zones(dir) => {
                    let opts = LoadOptions {
                        special_use: rc.special_use.clone(),
                        last_serials: Default::default(),
                    };
                    let (set, problems) = ZoneSet::load(dir, None, &opts, true);
                    for p in problems {
                        if p.is_error() {
                            errors.push(p);
                        } else {
                            // `check` is where warnings are read; at start-up they are
                            // information (the runtime collision warning is separate).
                            tracing::info!("{p}");
                        }
                    }
                    for z in set.zones() {
                        tracing::info!(root = %rc.name, zone = %z.origin(), serial = z.serial(), records = z.len(), "zone loaded");
                    }
                    let lock = Arc::new(RwLock::new(Arc::new(set)));
                    zone_roots.push(ZoneRoot {
                        index: i,
                        dir: dir.clone(),
                        opts,
                        zones: lock.clone(),
                    });
                    Kind::Zones(lock)
                }
                RootSource::Hints(h) => match hints::load(h) {
                    Ok(servers) => Kind::Hints(servers),
                    Err(mut e) => {
                        errors.append(&mut e);
                        Kind::Hints(Vec::new())
                    }
                },
                RootSource::Forward { upstreams, tlds } => Kind::Forward {
                    upstreams: upstreams.clone(),
                    tlds: tlds
                        .iter()
                        .filter_map(|t| Name::from_ascii(format!("{t}.")).ok())
                        .map(|n| LowerName::new(&n))
                        .collect(),
                },
            };
            engines.push(Engine::new(i, rc, kind, cache, config.server.query_timeout));
        }
        if !errors.is_empty() {
            errors.sort();
            return Err(LoadErrors(errors));
        }
        let pin: HashMap<LowerName, usize> = config
            .collisions
            .pin
            .iter()
            .filter_map(|(tld, root)| {
                let idx = config.root_index(root)?;
                let n = Name::from_ascii(format!("{tld}.")).ok()?;
                Some((LowerName::new(&n), idx))
            })
            .collect();
        let router = Arc::new(Router::new(engines, config.collisions.policy, pin));
        Ok(Service {
            config,
            router,
            zone_roots,
            logged: Mutex::new(HashSet::new()),
            swaps: AtomicUsize::new(0),
        })
    }

    /// Records the loaded serials in each zones folder, for `check` to compare with
    /// (only `serve` does this; `check` and `compare` leave the folders alone).
    pub fn record_serials(&self) {
        for zr in &self.zone_roots {
            zr.zones
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .write_serials();
        }
    }

    /// Re-reads every zones folder (unless `force`, only files that changed). Each
    /// zone is loaded and checked off the query path, then the whole set is swapped
    /// in at once: a query sees the old zones or the new ones, never a mix. A file
    /// with an error keeps its last good version. The caches of a root whose zones
    /// changed are emptied, and collision findings forgotten, so nothing derived from
    /// the old data is served after the swap.
    ///
    /// Returns the problems not reported by an earlier reload (each broken save is
    /// reported once) and whether anything was swapped.
    pub fn reload(&self, force: bool) -> (Vec<Problem>, bool) {
        // (save key, problem): the key reads the problem's file, so compute it once.
        let mut fresh: Vec<(String, Problem)> = Vec::new();
        let mut changed = false;
        for zr in &self.zone_roots {
            let old = zr.zones.read().unwrap_or_else(|p| p.into_inner()).clone();
            let (new, problems) = ZoneSet::load(&zr.dir, Some(&old), &zr.opts, force);
            fresh.extend(problems.into_iter().map(|p| (save_key(&p), p)));
            if !new.same_zones(&old) {
                changed = true;
                new.write_serials();
                *zr.zones.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
                self.router.roots[zr.index].cache.clear();
                self.router.forget_collisions();
            }
        }
        if changed {
            self.swaps.fetch_add(1, Ordering::SeqCst);
        }
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        let all: HashSet<String> = fresh.iter().map(|(k, _)| k.clone()).collect();
        let news = fresh
            .into_iter()
            .filter(|(k, _)| !logged.contains(k))
            .map(|(_, p)| p)
            .collect();
        *logged = all;
        (news, changed)
    }

    /// Every file the zones roots read (zone files and their includes), and the
    /// zones folders, for the watcher.
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for zr in &self.zone_roots {
            out.push(zr.dir.clone());
            let set = zr.zones.read().unwrap_or_else(|p| p.into_inner()).clone();
            for z in set.zones() {
                out.extend(z.files.iter().cloned());
            }
        }
        out
    }
}

/// A problem as it stands in one save of its file: the same message after another
/// save of the file is news again.
fn save_key(p: &Problem) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(&p.file).unwrap_or_default().hash(&mut h);
    format!("{p}#{:x}", h.finish())
}

//! Building the resolver from a [`Config`]: load every root's zones or hints, make one
//! engine and one cache per root, and hand them to a [`Router`]. Also zone reload.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use hickory_proto::rr::{LowerName, Name};

use crate::cache::Cache;
use crate::config::{Config, RootSource};
use crate::hints;
use crate::resolve::{Engine, Kind};
use crate::router::Router;
use crate::zone::{SharedZones, ZoneSet};
use crate::zonefile::ZoneError;

/// A running resolver's state: the router, and the zone sets that reload swaps.
pub struct Service {
    pub config: Config,
    pub router: Arc<Router>,
    zone_sets: Vec<(usize, PathBuf, SharedZones)>,
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
        let mut zone_sets = Vec::new();
        for (i, rc) in config.roots.iter().enumerate() {
            let cache = Cache::new(&config.cache);
            let kind = match &rc.source {
                RootSource::Zones(dir) => {
                    let (set, mut e) = ZoneSet::load(dir, None);
                    errors.append(&mut e);
                    for z in set.zones() {
                        tracing::info!(root = %rc.name, zone = %z.origin(), serial = z.serial(), records = z.len(), "zone loaded");
                    }
                    let lock = Arc::new(RwLock::new(Arc::new(set)));
                    zone_sets.push((i, dir.clone(), lock.clone()));
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
            engines.push(Engine::new(rc, kind, cache, config.server.query_timeout));
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
            zone_sets,
        })
    }

    /// Re-reads every zones folder. A file that fails keeps serving its last good
    /// version; the errors are returned (and logged by the caller). The caches of
    /// roots whose zones changed are emptied, so nothing derived from the old data
    /// outlives the swap.
    pub fn reload(&self) -> Vec<ZoneError> {
        let mut all = Vec::new();
        for (idx, dir, lock) in &self.zone_sets {
            let old = lock.read().unwrap_or_else(|p| p.into_inner()).clone();
            let (new, mut errors) = ZoneSet::load(dir, Some(&old));
            all.append(&mut errors);
            *lock.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
            self.router.roots[*idx].cache.clear();
        }
        all
    }
}

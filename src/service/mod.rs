//! Building the resolver from a [`Config`]: load every root's zones or hints, make
//! one engine root (with its own cache) per root, and hand them to the
//! [`Resolver`]. Also zone reload, one at a time.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hickory_proto::rr::{LowerName, Name};

mod copies;
pub mod history;
pub mod notify;
pub mod problems;
pub mod watch;

use crate::clock::{Clock, unix_now};
use crate::config::{Config, RootConfig, RootSource};
use crate::resolver::encrypted::forwarders;
use crate::resolver::policy::AddressPolicy;
use crate::resolver::{Env, Kind, Params, Resolver, RootSetup};
use crate::zones::hints;
use crate::zones::{LoadOptions, Problem, ZoneError, ZoneSet, read_serials};
use copies::{CopyState, digest, modified, root_copy};
use history::{Event, History, Loaded, Outcome, Trigger};

/// A running resolver's state: the resolver, and what reload needs.
pub struct Service {
    pub config: Config,
    pub resolver: Arc<Resolver>,
    zone_roots: Vec<ZoneRoot>,
    /// Problems already logged, so a broken save is reported once, not per reload.
    logged: Mutex<HashSet<String>>,
    /// One reload at a time (SIGHUP and the watcher may ask together): an older
    /// zone set must never replace a newer one.
    reloading: Mutex<()>,
    /// How many reloads swapped in new zones (for tests and logs).
    pub swaps: AtomicUsize,
    /// The last loads and reloads, and the problems standing (status page, metrics).
    pub history: History,
    /// Hints roots with a local copy of their root zone (in use or not).
    copies: Mutex<Vec<CopyState>>,
    /// Where NOTIFY messages are sent from (the runtime the service was made in;
    /// none for the one-shot commands, which send none).
    runtime: Option<tokio::runtime::Handle>,
}

/// A zones root: where its files are and what it may define.
struct ZoneRoot {
    index: usize,
    dir: PathBuf,
    opts: LoadOptions,
}

/// Start-up failed: every problem found, each `FILE:LINE: error: …`.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct LoadErrors(pub Vec<ZoneError>);

impl Service {
    /// Loads everything. Any error in any zone or hints file fails the start: a
    /// resolver that silently serves half its zones is worse than one that refuses.
    pub fn new(config: Config) -> Result<Service, LoadErrors> {
        Service::with_env(config, Env::default())
    }

    /// As [`Service::new`], with the clock, randomness and network given (the
    /// scenario harness and the fuzzer replay runs without sockets).
    pub fn with_env(config: Config, env: Env) -> Result<Service, LoadErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut serial_warnings = Vec::new();
        let mut loaded = Vec::new();
        let mut setups = Vec::new();
        let mut zone_roots = Vec::new();
        let mut copies = Vec::new();
        let policy = AddressPolicy::new(
            config.server.upstream_deny.clone(),
            config.server.listen.clone(),
        );
        for (i, rc) in config.roots.iter().enumerate() {
            let (kind, zones) = match &rc.source {
                RootSource::Zones(dir) => {
                    let opts = LoadOptions {
                        special_use: rc.special_use.clone(),
                        last_serials: Default::default(),
                        secondary: rc.transfer_in.is_some(),
                    };
                    // Serials against those `serve` served last, as `check` does.
                    let first = LoadOptions {
                        last_serials: read_serials(dir),
                        ..opts.clone()
                    };
                    let now = env.clock.now();
                    let set = load_zones(rc, dir, &first, now, &mut errors, &mut warnings);
                    serial_warnings.extend(set.serial_warnings().iter().cloned());
                    loaded.extend(set.zones().map(|z| loaded_zone(rc, z)));
                    zone_roots.push(ZoneRoot {
                        index: i,
                        dir: dir.clone(),
                        opts,
                    });
                    (Kind::Zones, Some(Arc::new(set)))
                }
                RootSource::Hints(h) => {
                    let kind = hints_kind(rc, h, &policy, &mut errors);
                    let copy = rc.copy.as_ref().and_then(|c| {
                        let seen = modified(&c.file);
                        let copy = root_copy(rc, c, env.clock.now(), None);
                        copies.push(CopyState {
                            index: i,
                            file: c.file.clone(),
                            seen,
                            expires: copy.as_ref().map(|c| c.expires),
                            digest: digest(&c.file),
                            expire_secs: copy.as_ref().map_or(0, |c| c.expires - c.fetched),
                        });
                        copy.map(|c| c.set)
                    });
                    (kind, copy)
                }
                RootSource::Forward {
                    upstreams, tls_ca, ..
                } => {
                    let file = config.source.clone().unwrap_or_default();
                    let kind = forward_kind(rc, upstreams, tls_ca.as_ref(), file, &policy);
                    (
                        kind.unwrap_or_else(|mut e| {
                            errors.append(&mut e);
                            Kind::Forward(Vec::new())
                        }),
                        None,
                    )
                }
            };
            setups.push(RootSetup {
                name: rc.name.clone(),
                kind,
                params: Params {
                    port: rc.port,
                    root_port: rc.root_port,
                    qmin: rc.qname_minimisation,
                    ipv6: rc.ipv6,
                    allow_loopback: rc.allow_loopback_upstream,
                },
                tlds: forward_tlds(rc),
                zones,
                anchors: Some(rc.trust_anchors.clone()),
            });
        }
        if !errors.is_empty() {
            errors.sort();
            return Err(LoadErrors(errors));
        }
        let resolver = Resolver::new(&config, setups, env);
        let (history, logged) = started(loaded, warnings, &serial_warnings);
        crate::memory::release_freed();
        Ok(Service {
            config,
            resolver,
            zone_roots,
            logged: Mutex::new(logged),
            reloading: Mutex::new(()),
            swaps: AtomicUsize::new(0),
            history,
            copies: Mutex::new(copies),
            runtime: tokio::runtime::Handle::try_current().ok(),
        })
    }

    /// The wall clock cache TTLs follow; tests move it with [`Clock::advance`].
    pub fn clock(&self) -> &Arc<Clock> {
        self.resolver.clock()
    }

    /// Records the loaded serials in each zones folder, for `check` to compare with
    /// (only `serve` does this; `check` and `compare` leave the folders alone).
    pub fn record_serials(&self) {
        for zr in &self.zone_roots {
            if let Some(z) = self.resolver.zones(zr.index) {
                z.write_serials();
            }
        }
    }

    /// Re-reads every zones folder (unless `force`, only files that changed). Each
    /// root's zones are loaded and checked off the query path, then swapped in at
    /// once: a query sees the old zones or the new ones, never a mix.
    ///
    /// All or nothing, per root: when a root's reload reports any error, nothing of
    /// that root changes: every zone it served before stays served as it was (good
    /// edits of other files in that root included: a set of files is often edited
    /// together), its cache and the serials file are left alone, and the reload is
    /// refused with a log line. Only a reload with no error is swapped in, which
    /// empties that root's cache and forgets collision findings, so nothing derived
    /// from the old data is served after the swap. Other roots reload on their own.
    ///
    /// Logs the problems not reported by an earlier reload (each broken save is
    /// reported once, as `FILE:LINE: error: …`), and returns them and whether
    /// anything was swapped.
    pub fn reload(&self, force: bool) -> (Vec<Problem>, bool) {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        // (save key, problem): the key reads the problem's file, so compute it once.
        let mut fresh: Vec<(String, Problem)> = Vec::new();
        let mut changed = false;
        let mut refused = Vec::new();
        // Warnings about the change from the zones served before: once the new
        // zones are served they no longer stand (`check` compares with them).
        let mut passed: Vec<Problem> = Vec::new();
        let mut loaded = Vec::new();
        let mut notify_soas = Vec::new();
        for zr in &self.zone_roots {
            let old = self.resolver.zones(zr.index).unwrap_or_default();
            // Signature times follow the TTL clock (tests move it).
            let now = self.clock().now();
            let (mut new, problems) = ZoneSet::load_at(&zr.dir, Some(&old), &zr.opts, force, now);
            let errors: Vec<&Problem> = problems.iter().filter(|p| p.is_error()).collect();
            if let Some(first) = errors.first() {
                refused.push((
                    zr.index,
                    errors.len(),
                    format!("{}:{}", first.file.display(), first.line),
                ));
            }
            let swap = errors.is_empty() && !new.same_zones(&old);
            fresh.extend(problems.into_iter().map(|p| (save_key(&p), p)));
            if !swap {
                continue;
            }
            changed = true;
            passed.extend(new.serial_warnings().iter().cloned());
            if let Some(rc) = self.config.roots.get(zr.index) {
                loaded.extend(
                    new.zones()
                        .filter(|z| {
                            old.get(&LowerName::new(z.origin()))
                                .is_none_or(|o| !Arc::ptr_eq(o, z))
                        })
                        .map(|z| loaded_zone(rc, z)),
                );
            }
            new.write_serials();
            // The IXFR journals, with what this reload changed (off the query path;
            // only when someone may transfer: comparing costs about a load).
            if !self.config.transfer.allow.is_empty() {
                new.carry_journals(&old);
            }
            // NOTIFY for the zones whose serial changed (new zones included).
            notify_soas.extend(
                new.zones()
                    .filter(|z| {
                        old.get(&LowerName::new(z.origin()))
                            .is_none_or(|o| o.serial() != z.serial())
                    })
                    .map(|z| z.soa()),
            );
            self.resolver.swap_zones(zr.index, Arc::new(new));
        }
        changed |= self.reload_copies(force);
        let secondaries = &self.config.transfer.secondaries;
        if let Some(rt) = &self.runtime
            && !secondaries.is_empty()
            && !notify_soas.is_empty()
        {
            notify::send_all(rt, secondaries, notify_soas);
        }
        if changed {
            self.swaps.fetch_add(1, Ordering::SeqCst);
            crate::memory::release_freed();
        }
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        let all: HashSet<String> = fresh.iter().map(|(k, _)| k.clone()).collect();
        let outcome = if !refused.is_empty() {
            Outcome::Failed
        } else if changed {
            Outcome::Ok
        } else {
            Outcome::Unchanged
        };
        let standing = fresh
            .iter()
            .map(|(_, p)| p.clone())
            .filter(|p| !passed.contains(p))
            .collect();
        let news: Vec<Problem> = fresh
            .into_iter()
            .filter(|(k, _)| !logged.contains(k))
            .map(|(_, p)| p)
            .collect();
        *logged = all;
        drop(logged);
        crate::zones::log_problems(&news);
        // After the errors, on every refused reload (not only the first of a broken
        // save): an edit that is not served must never look as if it were.
        for (index, n, first) in refused {
            let root = self
                .config
                .roots
                .get(index)
                .map_or("?", |r| r.name.as_str());
            let s = if n == 1 { "" } else { "s" };
            tracing::warn!(
                "zones of root {root:?} not reloaded: {n} error{s} (first at {first}); every zone of that root is served as before"
            );
        }
        let event = Event {
            at: unix_now(),
            trigger: if force {
                Trigger::Sighup
            } else {
                Trigger::Watch
            },
            outcome,
            loaded,
            problems: news.clone(),
        };
        self.history.record(event, standing);
        (news, changed)
    }

    /// The problems of the config and zones being served, as `altroot check`
    /// reports them now (the status page): the zones' as their last load or
    /// reload found them, the rest ([`problems::config_problems`]) looked at now.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = self.history.standing();
        out.extend(problems::config_problems(&self.config));
        out.sort();
        out.dedup();
        out
    }

    /// The warnings the start-up load found (`serve` logs them; the one-shot
    /// commands leave them to `check`).
    pub fn start_warnings(&self) -> Vec<Problem> {
        self.history
            .events()
            .into_iter()
            .rev()
            .find(|e| e.trigger == Trigger::Start)
            .map(|e| e.problems)
            .unwrap_or_default()
    }

    /// The zones folders, and every file their zones were read from (zone files
    /// and their includes), for the watcher.
    pub fn watched_paths(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for zr in &self.zone_roots {
            dirs.push(zr.dir.clone());
            let set = self.resolver.zones(zr.index).unwrap_or_default();
            for z in set.zones() {
                files.extend(z.files.iter().cloned());
            }
            files.extend(set.key_files());
        }
        let copies = self.copies.lock().unwrap_or_else(|p| p.into_inner());
        files.extend(copies.iter().map(|c| c.file.clone()));
        (dirs, files)
    }

    /// Is a zone altroot signed due for new signatures ([`ZoneSet::resign_due`])?
    /// The watcher then reloads.
    pub fn resign_due(&self) -> bool {
        let now = self.clock().now();
        self.zone_roots.iter().any(|zr| {
            self.resolver
                .zones(zr.index)
                .is_some_and(|s| s.resign_due(now))
        })
    }
}

/// A hints root's servers; problems (unreadable hints, denied addresses) go to
/// `errors`.
fn hints_kind(
    rc: &RootConfig,
    h: &crate::config::Hints,
    policy: &AddressPolicy,
    errors: &mut Vec<ZoneError>,
) -> Kind {
    match hints::load(h) {
        Ok(servers) => {
            let addrs: Vec<SocketAddr> = servers
                .iter()
                .flat_map(|s| s.addrs.iter().map(|a| SocketAddr::new(*a, rc.root_port)))
                .collect();
            let file = match h {
                crate::config::Hints::File(p) => p.clone(),
                crate::config::Hints::Builtin => PathBuf::from("<builtin named.root>"),
            };
            errors.extend(denied(rc, &addrs, policy, file));
            Kind::Hints(servers)
        }
        Err(mut e) => {
            errors.append(&mut e);
            Kind::Hints(Vec::new())
        }
    }
}

/// A forward root's upstreams, or why they cannot be used (a denied address,
/// a CA file that does not load), at the config's line.
fn forward_kind(
    rc: &RootConfig,
    upstreams: &[crate::config::Upstream],
    tls_ca: Option<&crate::config::CaFile>,
    file: PathBuf,
    policy: &AddressPolicy,
) -> Result<Kind, Vec<ZoneError>> {
    let addrs: Vec<SocketAddr> = upstreams.iter().map(|u| u.addr).collect();
    let mut errors: Vec<ZoneError> = denied(rc, &addrs, policy, file.clone());
    match forwarders(upstreams, tls_ca) {
        Ok(f) if errors.is_empty() => Ok(Kind::Forward(f)),
        Ok(_) => Err(errors),
        Err(e) => {
            let line = tls_ca.map_or(1, |c| c.line);
            errors.push(Problem::error(
                file,
                line,
                format!("root {:?}: {e}", rc.name),
            ));
            Err(errors)
        }
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

fn load_zones(
    rc: &RootConfig,
    dir: &std::path::Path,
    opts: &LoadOptions,
    now: u64,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> ZoneSet {
    let (set, problems) = ZoneSet::load_at(dir, None, opts, true, now);
    for p in problems {
        if p.is_error() {
            errors.push(p);
        } else {
            warnings.push(p);
        }
    }
    for z in set.zones() {
        tracing::info!(
            root = %rc.name,
            zone = %z.origin(),
            serial = z.serial(),
            records = z.len(),
            store_bytes = z.store_bytes(),
            "zone loaded"
        );
    }
    set
}

/// The history of a fresh start, and the problems it reported (the first reload
/// must not report them again). `passed` (serials lower than those served last)
/// is reported but does not stand: `serve` records the serials it serves.
fn started(
    loaded: Vec<Loaded>,
    warnings: Vec<Problem>,
    passed: &[Problem],
) -> (History, HashSet<String>) {
    let history = History::default();
    let logged = warnings.iter().map(save_key).collect();
    let start = Event {
        at: unix_now(),
        trigger: Trigger::Start,
        outcome: Outcome::Ok,
        loaded,
        problems: warnings.clone(),
    };
    let standing = warnings
        .into_iter()
        .filter(|p| !passed.contains(p))
        .collect();
    history.record(start, standing);
    (history, logged)
}

fn loaded_zone(rc: &RootConfig, z: &crate::zones::Zone) -> Loaded {
    Loaded {
        root: rc.name.clone(),
        zone: z.origin().to_string(),
        serial: z.serial(),
    }
}

/// A forward root's `tlds` as names.
fn forward_tlds(rc: &RootConfig) -> HashSet<LowerName> {
    match &rc.source {
        RootSource::Forward { tlds, .. } => tlds
            .iter()
            .filter_map(|t| Name::from_ascii(format!("{t}.")).ok())
            .map(|n| LowerName::new(&n))
            .collect(),
        _ => HashSet::new(),
    }
}

/// Configured servers the address policy refuses: an error at start-up, so the
/// operator learns at once rather than from SERVFAILs.
fn denied(
    rc: &RootConfig,
    addrs: &[SocketAddr],
    policy: &AddressPolicy,
    file: PathBuf,
) -> Vec<Problem> {
    addrs
        .iter()
        .filter_map(|a| policy.check(*a, rc.allow_loopback_upstream).err())
        .map(|why| {
            Problem::error(
                file.clone(),
                1,
                format!(
                    "root {:?}: {why}; for a server you run yourself on loopback set allow-loopback-upstream = true",
                    rc.name
                ),
            )
        })
        .collect()
}

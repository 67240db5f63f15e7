//! The [`ZoneSet`] of a `zones` root: every `<origin>.zone` file of one folder,
//! loaded with the rules between them (a TLD defined twice, special-use TLDs,
//! collisions, serials that go down), and reloaded keeping what did not change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};

use super::journal::{Diff, Journal};
use super::keys::{self, SigningKeys};
use super::problem::Problem;
use super::rules::{special_problem, tld_label, tld_warnings};
use super::sign::{children_of, sign_zone};
use super::zone::Zone;

/// All zones of one `zones` root, by origin.
#[derive(Debug, Default)]
pub struct ZoneSet {
    pub dir: PathBuf,
    zones: BTreeMap<LowerName, Arc<Zone>>,
    /// The TLDs the root zone in `zones` has itself ([`Zone::own_tlds`]), made
    /// with `zones` by [`ZoneSet::load`]: routing asks [`ZoneSet::has_tld`] per
    /// query.
    root_tlds: HashSet<LowerName, foldhash::fast::RandomState>,
    /// Each zone's own warnings, from the load that read it: a reload that keeps
    /// the zone without reading it reports them again, as `check` would.
    warnings: HashMap<LowerName, Vec<Problem>>,
    /// The "serial went down" warnings of this load: about the change from the
    /// zones before, not about the files (once these zones are served, the
    /// lower serial is the one to compare with).
    serial_warnings: Vec<Problem>,
    /// The root's signing keys (`keys/` in the folder): every zone is signed
    /// with them ([`super::sign`]).
    keys: Option<Arc<SigningKeys>>,
    /// Each zone's IXFR journal: the changes of the reloads that changed its
    /// serial while served ([`ZoneSet::carry_journals`]).
    journals: HashMap<LowerName, Arc<Journal>>,
}

/// The origin a zone file's name implies: `root.zone` → `.`, `geek.zone` → `geek.`.
pub fn origin_for_file(path: &Path) -> Option<Name> {
    let file = path.file_name()?.to_str()?;
    if file.starts_with('.') {
        return None; // editor swap and temp files
    }
    let stem = file.strip_suffix(".zone")?;
    if stem == "root" {
        return Some(Name::root());
    }
    let mut n = Name::from_ascii(stem).ok()?;
    n.set_fqdn(true);
    Some(n)
}

/// The origins of the zone files in a folder (unreadable folder: none).
pub fn zone_files(dir: &Path) -> Vec<Name> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter_map(|e| origin_for_file(&e.path()))
        .collect()
}

/// What a zones root may define, beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Special-use TLDs (RFC 6761) this root serves on purpose (config `special-use`).
    pub special_use: Vec<String>,
    /// Serials last served, by origin, when there is no previous set to compare
    /// with (`check` reads them from the state file that `serve` writes).
    pub last_serials: HashMap<LowerName, u32>,
    /// The folder holds zones transferred from primaries (`transfer-from`): a TLD
    /// the root zone delegates may have its own file too, as the parent and the
    /// child of a cut do on any secondary. Names under it are answered from the
    /// child; DS from the parent.
    pub secondary: bool,
}

/// The file in a zones folder where `serve` records the serials it loaded, so that
/// `check` can tell when an edit lowers one. A dot file: never read as a zone.
pub const SERIALS_FILE: &str = ".altroot-serials";

/// Reads the serials file of a zones folder (missing or unreadable: empty).
pub fn read_serials(dir: &Path) -> HashMap<LowerName, u32> {
    let Ok(text) = std::fs::read_to_string(dir.join(SERIALS_FILE)) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = Name::from_ascii(w.next()?).ok()?;
            let serial = w.next()?.parse().ok()?;
            Some((LowerName::new(&name), serial))
        })
        .collect()
}

/// RFC 1982 serial number arithmetic: is `a` before `b`?
pub fn serial_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

impl ZoneSet {
    /// Loads every `*.zone` file of `dir` and checks the rules between them.
    /// Returns the set and every problem, warnings included. A set loaded with
    /// errors is not meant to be served: it lacks what failed (`serve` keeps the
    /// whole previous set then, [`crate::service::Service::reload`]).
    /// Unless `force`, zones whose files did not change since `previous` read them
    /// are kept as they are, without reading.
    pub fn load(
        dir: &Path,
        previous: Option<&ZoneSet>,
        opts: &LoadOptions,
        force: bool,
    ) -> (ZoneSet, Vec<Problem>) {
        Self::load_at(dir, previous, opts, force, crate::clock::unix_now())
    }

    /// [`ZoneSet::load`] at Unix time `now` (signature times, re-signing):
    /// `serve` passes its clock's time, which tests can move.
    pub fn load_at(
        dir: &Path,
        previous: Option<&ZoneSet>,
        opts: &LoadOptions,
        force: bool,
        now: u64,
    ) -> (ZoneSet, Vec<Problem>) {
        let mut l = Loader {
            set: ZoneSet {
                dir: dir.to_path_buf(),
                ..ZoneSet::default()
            },
            previous,
            opts,
            force,
            problems: Vec::new(),
            children: HashMap::new(),
            now,
        };
        match keys::read(dir) {
            Ok(k) => l.set.keys = k.map(Arc::new),
            Err(mut e) => l.problems.append(&mut e),
        }
        // New keys: every zone is signed again.
        let old_keys = previous.and_then(|p| p.keys.as_ref().map(|k| k.fingerprint()));
        if l.set.keys.is_some() && old_keys != l.set.keys.as_ref().map(|k| k.fingerprint()) {
            l.force = true;
        }
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                let mut paths: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                paths.sort();
                let origins: Vec<Name> = paths
                    .iter()
                    .filter(|p| p.is_file())
                    .filter_map(|p| origin_for_file(p))
                    .collect();
                l.children = children_of(&origins)
                    .into_iter()
                    .map(|(p, c)| (LowerName::new(&p), c))
                    .collect();
                for path in paths {
                    l.file(&path);
                }
                l.root_zone_tlds();
            }
            Err(e) => {
                let msg = format!("cannot read zones folder: {e}");
                l.problems.push(Problem::error(dir, 1, msg));
            }
        }
        // Whichever root zone the set ended with (new or kept).
        let root = l.set.zones.get(&LowerName::new(&Name::root()));
        l.set.root_tlds = root.map(|z| z.own_tlds().collect()).unwrap_or_default();
        l.problems.sort();
        l.problems.dedup();
        (l.set, l.problems)
    }

    /// A set of one root zone: a hints root's verified copy of its root (RFC 8806,
    /// [`crate::rootcopy`]), answered like a zones root's `root.zone`.
    pub fn of_root_copy(file: &Path, zone: Zone) -> ZoneSet {
        let root_tlds = zone.own_tlds().collect();
        let mut zones = BTreeMap::new();
        zones.insert(LowerName::new(&Name::root()), Arc::new(zone));
        ZoneSet {
            dir: file.to_path_buf(),
            zones,
            root_tlds,
            ..ZoneSet::default()
        }
    }

    /// Records the serials of this set in its folder's serials file (best effort:
    /// a read-only folder is fine).
    pub fn write_serials(&self) {
        let mut text =
            String::from("# serials altroot serve last loaded; read by `altroot check`\n");
        for z in self.zones.values() {
            text.push_str(&format!("{} {}\n", z.origin(), z.serial()));
        }
        if let Err(e) = std::fs::write(self.dir.join(SERIALS_FILE), text) {
            tracing::debug!(
                "cannot write {}: {e}",
                self.dir.join(SERIALS_FILE).display()
            );
        }
    }

    /// Takes over `old`'s IXFR journals: a zone kept as it was keeps its journal;
    /// a zone whose serial went up gets the difference appended; any other
    /// (new, serial not up, difference over the bound) starts without one.
    /// Returns how many zones got a new diff.
    pub fn carry_journals(&mut self, old: &ZoneSet) -> usize {
        let mut added = 0;
        for (origin, z) in &self.zones {
            let Some(o) = old.zones.get(origin) else {
                continue;
            };
            let j = old.journals.get(origin);
            if Arc::ptr_eq(o, z) || o.serial() == z.serial() {
                if let Some(j) = j {
                    self.journals.insert(origin.clone(), j.clone());
                }
                continue;
            }
            if !serial_lt(o.serial(), z.serial()) {
                continue;
            }
            if let Some(d) = Diff::between(o, z) {
                let next = j.map_or_else(Journal::default, |j| (**j).clone()).with(d);
                self.journals.insert(origin.clone(), Arc::new(next));
                added += 1;
            }
        }
        added
    }

    /// The IXFR journal of a zone, if a reload changed it while served.
    pub fn journal(&self, origin: &LowerName) -> Option<&Arc<Journal>> {
        self.journals.get(origin)
    }

    /// True when both sets hold the very same zones (nothing was re-read).
    pub fn same_zones(&self, other: &ZoneSet) -> bool {
        self.zones.len() == other.zones.len()
            && self
                .zones
                .iter()
                .zip(other.zones.iter())
                .all(|((a, za), (b, zb))| a == b && Arc::ptr_eq(za, zb))
    }

    /// The "serial went down" warnings of the load that made this set (also in
    /// the problems it returned): they compare with the zones served before, so
    /// they stand only until this set is served.
    pub fn serial_warnings(&self) -> &[Problem] {
        &self.serial_warnings
    }

    /// The root's signing keys, when its folder has them.
    pub fn signing_keys(&self) -> Option<&SigningKeys> {
        self.keys.as_deref()
    }

    /// The key files read (watched for changes like zone files).
    pub fn key_files(&self) -> Vec<PathBuf> {
        self.keys
            .as_ref()
            .map(|k| k.files.clone())
            .unwrap_or_default()
    }

    /// Is any zone due to be signed again (its signatures getting old)? A reload
    /// then signs it again, even if its files did not change.
    pub fn resign_due(&self, now: u64) -> bool {
        self.zones
            .values()
            .any(|z| z.resign_at.is_some_and(|t| now >= t))
    }

    /// The zone with exactly this origin.
    pub fn get(&self, origin: &LowerName) -> Option<&Arc<Zone>> {
        self.zones.get(origin)
    }

    /// The zone a DS question for `name` is answered from: the closest zone
    /// above it that delegates it (the parent side, RFC 4035 §3.1.4.1), else the
    /// zone at `name` itself (a TLD file that the root zone does not delegate:
    /// its answer stays NODATA).
    pub fn for_ds(&self, name: &LowerName) -> Option<&Arc<Zone>> {
        let own = self.zones.get(name);
        let mut n = Name::from(name.clone());
        while !n.is_root() {
            n = n.base_name();
            if let Some(z) = self.zones.get(&LowerName::new(&n)) {
                // A DS altroot made for a zone of the folder is in its parent
                // zone too, without a delegation.
                return if z.is_cut(name) || z.has_ds(name) {
                    Some(z)
                } else {
                    own.or(Some(z))
                };
            }
        }
        own
    }

    /// Does this root have the TLD: a zone file for it, or in root.zone a delegation
    /// of it or data owned by the TLD name itself? Names merely below it (glue for
    /// a name server under an ICANN TLD, say `ns.example.org.`) do not claim it.
    pub fn has_tld(&self, tld: &LowerName) -> bool {
        if self.zones.contains_key(tld) {
            return true;
        }
        if tld.num_labels() == 1 {
            return self.root_tlds.contains(tld);
        }
        // Not a TLD (`collisions` asks for whatever a forward root lists): the
        // same rule, asked of the root zone itself.
        self.zones
            .get(&LowerName::new(&Name::root()))
            .is_some_and(|root| root.is_cut(tld) || root.has_data(tld))
    }

    pub fn zones(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values()
    }

    /// [`ZoneSet::tlds`] as labels: lower case, no trailing dot.
    pub fn tld_labels(&self) -> impl Iterator<Item = String> {
        self.tlds()
            .into_iter()
            .map(|t| super::tld_label(&LowerName::new(&t)))
    }

    /// TLDs this root has (for `collisions` and logs).
    pub fn tlds(&self) -> Vec<Name> {
        let files = self.zones.keys().filter(|k| k.num_labels() == 1);
        let root_only = self
            .root_tlds
            .iter()
            .filter(|t| !self.zones.contains_key(t));
        let mut out: Vec<Name> = files.chain(root_only).map(Name::from).collect();
        out.sort();
        out
    }
}

//------------ Loader -----------------------------------------------------------

/// One [`ZoneSet::load`] under way.
struct Loader<'a> {
    set: ZoneSet,
    previous: Option<&'a ZoneSet>,
    opts: &'a LoadOptions,
    force: bool,
    problems: Vec<Problem>,
    /// With keys: each zone's children in the folder (they get a DS in it).
    children: HashMap<LowerName, Vec<Name>>,
    now: u64,
}

impl Loader<'_> {
    fn previous_zone(&self, origin: &LowerName) -> Option<&Arc<Zone>> {
        self.previous.and_then(|p| p.zones.get(origin))
    }

    /// One entry of the zones folder.
    fn file(&mut self, path: &Path) {
        let Some(origin) = origin_for_file(path) else {
            // Not a zone file by its name; but one meant as such must not vanish
            // silently.
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".zone") && !name.starts_with('.') {
                let msg =
                    format!("{name:?} does not name a zone: want <domain>.zone, e.g. geek.zone");
                self.problems.push(Problem::error(path, 1, msg));
            }
            return;
        };
        let lorigin = LowerName::new(&origin);
        if !path.is_file() {
            let msg = "a zone file must be a regular file";
            self.problems.push(Problem::error(path, 1, msg));
            return;
        }
        if let Some(first) = self.set.zones.get(&lorigin) {
            let first = first.files.first().map(|p| p.display().to_string());
            let msg = format!(
                "{origin} is defined twice: by this file and by {}",
                first.unwrap_or_default()
            );
            self.problems.push(Problem::error(path, 1, msg));
            return;
        }
        if let Some(old) = self.previous_zone(&lorigin).cloned()
            && !self.force
            && old.files.first().is_some_and(|f| f == path)
            && old.unchanged()
            && self.signing_current(&old, &lorigin)
        {
            let warnings = self
                .previous
                .and_then(|p| p.warnings.get(&lorigin))
                .cloned()
                .unwrap_or_default();
            self.problems.extend(warnings.iter().cloned());
            self.set.warnings.insert(lorigin.clone(), warnings);
            self.set.zones.insert(lorigin, old);
            return;
        }
        if lorigin.num_labels() == 1
            && let Some(p) = special_problem(&tld_label(&lorigin), path, 1, &self.opts.special_use)
        {
            self.problems.push(p);
            return;
        }
        self.load_zone(path, &origin, lorigin);
    }

    /// Is a kept zone signed as this load would sign it: not signed when the
    /// root has no keys; else signed (the keys are the same, or `force` is set),
    /// for the same child zones, and not due for new signatures.
    fn signing_current(&self, old: &Zone, lorigin: &LowerName) -> bool {
        if self.set.keys.is_none() {
            return old.resign_at.is_none();
        }
        let children = self.children.get(lorigin).map(Vec::as_slice).unwrap_or(&[]);
        old.resign_at.is_some_and(|t| self.now < t) && old.signed_children == children
    }

    /// Reads one zone file (and signs it, when the root has keys).
    fn load_zone(&mut self, path: &Path, origin: &Name, lorigin: LowerName) {
        let loaded = Zone::load(path, origin).and_then(|(z, warnings)| {
            let Some(keys) = &self.set.keys else {
                return Ok((z, warnings));
            };
            let children = self
                .children
                .get(&lorigin)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            // The signed zone is checked again, whole: its warnings are the
            // unsigned zone's and any about what signing added.
            sign_zone(&z, keys, children, self.now)
        });
        match loaded {
            Ok((z, mut warnings)) => {
                let (f, l) = z.soa_line();
                if lorigin.num_labels() == 1 {
                    warnings.extend(tld_warnings(&tld_label(&lorigin), &f, l));
                }
                self.problems.extend(warnings.iter().cloned());
                self.set.warnings.insert(lorigin.clone(), warnings);
                let old_serial = match self.previous {
                    Some(_) => self.previous_zone(&lorigin).map(|o| o.serial()),
                    None => self.opts.last_serials.get(&lorigin).copied(),
                };
                if let Some(old) = old_serial.filter(|old| serial_lt(z.serial(), *old)) {
                    let p = Problem::warning(
                        &f,
                        l,
                        format!(
                            "serial went down from {old} to {} (RFC 1982): secondaries would keep the old zone",
                            z.serial()
                        ),
                    );
                    self.set.serial_warnings.push(p.clone());
                    self.problems.push(p);
                }
                self.set.zones.insert(lorigin, Arc::new(z));
            }
            Err(mut e) => self.problems.append(&mut e),
        }
    }

    /// The root zone's own TLD names: special use, collisions, and TLDs that a zone
    /// file of this folder also defines (the file would win; say so).
    fn root_zone_tlds(&mut self) {
        let root = LowerName::new(&Name::root());
        let Some(rz) = self.set.zones.get(&root).cloned() else {
            return;
        };
        for (tld, (f, l)) in &rz.tld_lines() {
            let label = tld_label(tld);
            if let Some(p) = special_problem(&label, f, *l, &self.opts.special_use) {
                self.problems.push(p);
                continue;
            }
            let Some(z) = self.set.zones.get(tld) else {
                if rz.is_cut(tld) {
                    self.problems.extend(tld_warnings(&label, f, *l));
                }
                continue;
            };
            let zf = z.files.first().map(|p| p.display().to_string());
            let zf = zf.unwrap_or_default();
            // Only the DS altroot made for the zone file.
            if rz.signed_children.contains(&Name::from(tld.clone())) && rz.only_dnssec_at(tld) {
                continue;
            }
            if rz.is_cut(tld) && self.opts.secondary {
                continue;
            }
            if rz.is_cut(tld) {
                self.problems.push(Problem::error(
                    f,
                    *l,
                    format!("{tld} is defined twice: delegated here in the root zone and served from {zf}"),
                ));
            } else {
                self.problems.push(Problem::warning(
                    f,
                    *l,
                    format!("names under {tld} here are hidden by {zf}, which serves all of {tld}"),
                ));
            }
        }
    }
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;

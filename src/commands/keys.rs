//! `altroot keygen` and `altroot ds`: a zones root's signing keys (issue 15 §3b).
//!
//! `keygen --root NAME` makes a KSK and a ZSK in the root's `keys/` folder
//! ([`crate::zones::keys`]); from then on every load of that root signs its
//! zones. `ds --root NAME` prints what a validator needs to trust the root: the
//! DS (SHA-256) and DNSKEY of its KSK for each of its top zones (the root zone
//! `.`, or each zone of the folder that no other zone there encloses), in master
//! file form (a `trust-anchors` file for altroot itself, or for BIND's and
//! ldns's tools), as Unbound `trust-anchor:` lines and as a BIND
//! `trust-anchors { };` clause.

use std::path::{Path, PathBuf};

use hickory_proto::rr::Name;

use crate::config::{Config, RootSource};
use crate::zones::keys::{self, KeyAlgorithm, SigningKeys, dnskey_line, ds_line};
use crate::zones::origin_for_file;

/// `--algorithm` of `keygen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AlgorithmArg {
    /// ECDSA P-256 with SHA-256 (algorithm 13), the default.
    Ecdsap256,
    /// Ed25519 (algorithm 15).
    Ed25519,
}

/// `--format` of `ds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DsFormat {
    /// Every form below, each under a comment.
    All,
    /// DS and DNSKEY records in master-file form (a trust-anchors file).
    Zone,
    /// Unbound's `trust-anchor:` lines (server: clause).
    Unbound,
    /// BIND's `trust-anchors { };` clause (named.conf).
    Bind,
}

/// The zones folder of the root called `name`, or why there is none.
fn zones_dir(config: &Config, name: &str) -> Result<PathBuf, String> {
    let Some(rc) = config.roots.iter().find(|r| r.name == name) else {
        let names: Vec<&str> = config.roots.iter().map(|r| r.name.as_str()).collect();
        return Err(format!(
            "no root called {name:?} in the config (its roots: {})",
            names.join(", ")
        ));
    };
    match &rc.source {
        RootSource::Zones(dir) => Ok(dir.clone()),
        _ => Err(format!(
            "root {name:?} is not a zones root: altroot signs only the zones it serves itself"
        )),
    }
}

/// `altroot keygen`.
pub fn keygen(config: Option<PathBuf>, root: &str, algorithm: AlgorithmArg, force: bool) -> u8 {
    let config = match super::load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dir = match zones_dir(&config, root) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let alg = match algorithm {
        AlgorithmArg::Ecdsap256 => KeyAlgorithm::EcdsaP256,
        AlgorithmArg::Ed25519 => KeyAlgorithm::Ed25519,
    };
    match keys::generate(&dir, alg, force) {
        Ok(g) => {
            for f in &g.files {
                println!("wrote {}", f.display());
            }
            println!(
                "KSK key tag {}, ZSK key tag {} ({}). altroot signs root {root:?} from its next \
                 load (restart, SIGHUP or any reload); `altroot ds --root {root}` prints the DS for validators.",
                g.ksk_tag,
                g.zsk_tag,
                alg.dnssec()
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// The zones of a folder that no other zone of it encloses: each needs its own
/// trust anchor (just `.` when the folder has a root zone).
pub fn top_zones(dir: &Path) -> Vec<Name> {
    let origins: Vec<Name> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter_map(|p| origin_for_file(&p))
                .collect()
        })
        .unwrap_or_default();
    let mut tops: Vec<Name> = origins
        .iter()
        .filter(|o| !origins.iter().any(|p| p != *o && p.zone_of(o)))
        .cloned()
        .collect();
    tops.sort();
    tops
}

/// What `ds` prints for `keys` and the zones `tops`.
pub fn ds_text(keys: &SigningKeys, tops: &[Name], format: DsFormat) -> Result<String, String> {
    let ksk = &keys.ksk;
    let mut out = String::new();
    let all = format == DsFormat::All;
    if all || format == DsFormat::Zone {
        if all {
            out.push_str(&format!(
                "; DS and DNSKEY of the KSK (key tag {}, algorithm {}): a trust-anchors file\n",
                ksk.tag,
                u8::from(ksk.algorithm)
            ));
        }
        for t in tops {
            out.push_str(&ds_line(t, ksk)?);
            out.push('\n');
            out.push_str(&dnskey_line(t, ksk));
            out.push('\n');
        }
    }
    if all || format == DsFormat::Unbound {
        if all {
            out.push_str("\n# Unbound (unbound.conf, in server:)\n");
        }
        for t in tops {
            out.push_str(&format!("trust-anchor: \"{}\"\n", ds_line(t, ksk)?));
        }
    }
    if all || format == DsFormat::Bind {
        if all {
            out.push_str("\n// BIND (named.conf)\n");
        }
        out.push_str("trust-anchors {\n");
        for t in tops {
            let ds = ksk.ds(t)?;
            out.push_str(&format!(
                "    \"{t}\" static-ds {} {} 2 \"{}\";\n",
                ds.key_tag(),
                u8::from(ds.algorithm()),
                data_encoding::HEXUPPER.encode(ds.digest())
            ));
        }
        out.push_str("};\n");
    }
    Ok(out)
}

/// `altroot ds`.
pub fn ds(config: Option<PathBuf>, root: &str, format: DsFormat) -> u8 {
    let config = match super::load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dir = match zones_dir(&config, root) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let keys = match keys::read(&dir) {
        Ok(Some(k)) => k,
        Ok(None) => {
            eprintln!(
                "error: {}: no keys: root {root:?} is not signed (altroot keygen --root {root} makes its keys)",
                dir.join(keys::KEYS_DIR).display()
            );
            return 1;
        }
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            return 1;
        }
    };
    let tops = top_zones(&dir);
    if tops.is_empty() {
        eprintln!(
            "error: {}: no zone files, so no zone to print a DS for",
            dir.display()
        );
        return 1;
    }
    match ds_text(&keys, &tops, format) {
        Ok(t) => {
            print!("{t}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        d
    }

    // Each zone no other zone of the folder encloses needs its own anchor: only
    // `.` when there is a root zone.
    #[test]
    fn top_zones_are_those_without_a_parent_in_the_folder() {
        let d = folder(&["geek.zone", "a.geek.zone", "web.zone", "notes.txt"]);
        let tops: Vec<String> = top_zones(d.path()).iter().map(|n| n.to_string()).collect();
        assert_eq!(tops, ["geek.", "web."]);
        std::fs::write(d.path().join("root.zone"), "").unwrap();
        let tops: Vec<String> = top_zones(d.path()).iter().map(|n| n.to_string()).collect();
        assert_eq!(tops, ["."]);
    }

    // The three forms carry the same DS: master file (DS and DNSKEY), Unbound's
    // trust-anchor line, BIND's static-ds.
    #[test]
    fn ds_forms() {
        let d = tempfile::tempdir().unwrap();
        keys::generate(d.path(), KeyAlgorithm::EcdsaP256, false).unwrap();
        let k = keys::read(d.path()).unwrap().unwrap();
        let tops = [Name::root()];
        let ds = ds_line(&Name::root(), &k.ksk).unwrap();
        let digest = ds.rsplit(' ').next().unwrap().to_string();
        let zone = ds_text(&k, &tops, DsFormat::Zone).unwrap();
        assert_eq!(
            zone,
            format!("{ds}\n{}\n", dnskey_line(&Name::root(), &k.ksk))
        );
        let unbound = ds_text(&k, &tops, DsFormat::Unbound).unwrap();
        assert_eq!(unbound, format!("trust-anchor: \"{ds}\"\n"));
        let bind = ds_text(&k, &tops, DsFormat::Bind).unwrap();
        assert_eq!(
            bind,
            format!(
                "trust-anchors {{\n    \".\" static-ds {} 13 2 \"{digest}\";\n}};\n",
                k.ksk.tag
            )
        );
        let all = ds_text(&k, &tops, DsFormat::All).unwrap();
        for part in [&zone, &unbound, &bind] {
            assert!(all.contains(part.as_str()), "{all}");
        }
    }
}

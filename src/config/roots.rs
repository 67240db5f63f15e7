//! `[[root]]` tables: one source each (a zones folder, root hints or forward
//! upstreams), unique names, the catch-all forward root last. Each error is
//! recorded at its line and validation goes on with the next root.

use std::collections::HashSet;

use toml::Spanned;

use super::file::FileRoot;
use super::validate::{Validator, readable_file};
use super::{Config, Hints, RootConfig, RootCopy, RootSource, join_clean};
use crate::rootcopy::Verify;

impl Validator<'_> {
    /// The usable roots, and every name written (also of roots with errors).
    pub(super) fn roots(&self, list: &[Spanned<FileRoot>]) -> (Vec<RootConfig>, Vec<String>) {
        if list.is_empty() {
            let roots = Config::builtin().roots;
            let names = roots.iter().map(|r| r.name.clone()).collect();
            return (roots, names);
        }
        let mut seen = HashSet::new();
        let mut roots = Vec::new();
        let mut declared = Vec::new();
        for (i, r) in list.iter().enumerate() {
            let r = r.get_ref();
            let name = r.name.get_ref();
            declared.push(name.clone());
            if !seen.insert(name.clone()) {
                self.report(&r.name, format!("root name {name:?} is used twice"));
                continue;
            }
            let Some(root) = self.root(r) else { continue };
            let catch_all =
                matches!(&root.source, RootSource::Forward { tlds, .. } if tlds.is_empty());
            if catch_all && i + 1 < list.len() {
                self.report(
                    &r.name,
                    format!(
                        "root {name:?}: a forward root without tlds takes every TLD, so it must be the last root (or list its tlds)"
                    ),
                );
                continue;
            }
            roots.push(root);
        }
        (roots, declared)
    }

    /// One root, or `None` when its source cannot be used (the errors recorded).
    fn root(&self, r: &FileRoot) -> Option<RootConfig> {
        let name = r.name.get_ref().clone();
        if name.is_empty() {
            self.report(&r.name, "root: name must not be empty".into());
        }
        let count = [r.zones.is_some(), r.hints.is_some(), r.forward.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if count != 1 {
            self.report(
                &r.name,
                format!(
                    "root {name:?}: needs exactly one of zones, hints or forward (has {count})"
                ),
            );
            return None;
        }
        let source = self.source(&name, r);
        if let Some(c) = &r.tls_ca
            && r.forward.is_none()
        {
            self.report(
                c,
                format!("root {name:?}: tls-ca is only for forward roots"),
            );
        }
        if let Some(t) = &r.tlds
            && r.forward.is_none()
        {
            self.report(t, format!("root {name:?}: tlds is only for forward roots"));
        }
        let mut special_use = Vec::new();
        for t in r.special_use.iter().flatten() {
            let label = t.get_ref().trim_matches('.').to_ascii_lowercase();
            if r.zones.is_none() {
                self.report(
                    t,
                    format!("root {name:?}: special-use is only for zones roots"),
                );
            } else if !crate::names::OPT_IN_TLDS.contains(&label.as_str()) {
                self.report(
                    t,
                    format!(
                        "root {name:?}: special-use {label:?} is not one of {} (localhost is always answered locally)",
                        crate::names::OPT_IN_TLDS.join(", ")
                    ),
                );
            } else {
                special_use.push(label);
            }
        }
        let (trust_anchors, trust_anchor_files) = self.trust_anchors(&name, r, source.as_ref());
        let copy = self.copy(&name, r);
        if name.is_empty() {
            return None;
        }
        Some(RootConfig {
            name,
            trust_anchors,
            trust_anchor_files,
            source: source?,
            special_use,
            port: r.port.unwrap_or(53),
            qname_minimisation: r.qname_minimisation.unwrap_or(true),
            ipv6: r.ipv6.unwrap_or(false),
            allow_loopback_upstream: r.allow_loopback_upstream.unwrap_or(false),
            copy,
        })
    }

    /// A hints root's `copy` of its root zone and its `verify` (errors recorded).
    fn copy(&self, name: &str, r: &FileRoot) -> Option<RootCopy> {
        let verify = match &r.verify {
            None => Verify::Default,
            Some(v) => match Verify::parse(v.get_ref()) {
                Some(v) => v,
                None => {
                    self.report(
                        v,
                        format!(
                            "root {name:?}: verify {:?} is not one of zonemd+dnssec, zonemd, dnssec, none",
                            v.get_ref()
                        ),
                    );
                    return None;
                }
            },
        };
        let Some(c) = &r.copy else {
            if let Some(v) = &r.verify {
                self.report(
                    v,
                    format!("root {name:?}: verify is only for a root with a copy"),
                );
            }
            return None;
        };
        if r.hints.is_none() {
            self.report(
                c,
                format!("root {name:?}: copy is only for hints roots (a copy of their root zone)"),
            );
            return None;
        }
        let file = join_clean(self.base, c.get_ref());
        if let Err(e) = readable_file(&file) {
            self.report(
                c,
                format!("root {name:?}: cannot read copy {}: {e}", file.display()),
            );
            return None;
        }
        Some(RootCopy { file, verify })
    }

    /// The root's one source, or `None` (the error recorded).
    fn source(&self, name: &str, r: &FileRoot) -> Option<RootSource> {
        if let Some(z) = &r.zones {
            let dir = join_clean(self.base, z.get_ref());
            if !dir.is_dir() {
                self.report(
                    z,
                    format!(
                        "root {name:?}: zones folder {} does not exist",
                        dir.display()
                    ),
                );
                return None;
            }
            return Some(RootSource::Zones(dir));
        }
        if let Some(h) = &r.hints {
            if h.get_ref() == "builtin" {
                return Some(RootSource::Hints(Hints::Builtin));
            }
            let p = join_clean(self.base, h.get_ref());
            return match readable_file(&p) {
                Ok(()) => Some(RootSource::Hints(Hints::File(p))),
                Err(e) => {
                    self.report(
                        h,
                        format!("root {name:?}: cannot read hints file {}: {e}", p.display()),
                    );
                    None
                }
            };
        }
        let (upstreams, tls_ca) = self.forward_upstreams(name, r)?;
        if upstreams.is_empty() {
            self.report(
                &r.name,
                format!("root {name:?}: forward needs at least one upstream"),
            );
            return None;
        }
        let tlds = r
            .tlds
            .as_ref()
            .map(|t| {
                t.get_ref()
                    .iter()
                    .map(|t| t.trim_matches('.').to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        Some(RootSource::Forward {
            upstreams,
            tlds,
            tls_ca,
        })
    }
}

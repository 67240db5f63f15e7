//! A root's DNSSEC trust anchors (issue 15): `trust-anchors = ["file", …]` (master
//! files of DS or DNSKEY records for the root or any name below it; several owners
//! per file allowed) and `negative-trust-anchors = ["name", …]` (RFC 7646). The root
//! with the built-in hints (the ICANN root) defaults to IANA's root KSKs; other roots
//! default to none; `trust-anchors = []` turns validation off. Problems in an anchor
//! file are reported at that file's line.

use std::path::PathBuf;
use std::sync::Arc;

use hickory_proto::rr::Name;

use super::file::FileRoot;
use super::validate::{Validator, readable_file};
use super::{ConfigError, Hints, RootSource, join_clean};
use crate::dnssec::TrustAnchors;

impl Validator<'_> {
    /// The root's anchors and the files they were read from.
    pub(super) fn trust_anchors(
        &self,
        name: &str,
        r: &FileRoot,
        source: Option<&RootSource>,
    ) -> (Arc<TrustAnchors>, Vec<PathBuf>) {
        // Forward roots with tlds answer for those TLDs only; every other root for all.
        let namespace: Vec<Name> = match (&r.forward, &r.tlds) {
            (Some(_), Some(t)) if !t.get_ref().is_empty() => t
                .get_ref()
                .iter()
                .filter_map(|t| Name::from_ascii(format!("{}.", t.trim_matches('.'))).ok())
                .collect(),
            _ => vec![Name::root()],
        };
        let within = |n: &Name| namespace.iter().any(|ns| ns.zone_of(n));
        let namespace_text = || {
            namespace
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut anchors = match (&r.trust_anchors, source) {
            (None, Some(RootSource::Hints(Hints::Builtin))) => TrustAnchors::icann(),
            _ => TrustAnchors::new(Name::root()),
        };
        let mut files = Vec::new();
        for f in r.trust_anchors.iter().flat_map(|l| l.get_ref()) {
            let path = join_clean(self.base, f.get_ref());
            if let Err(e) = readable_file(&path) {
                self.report(
                    f,
                    format!(
                        "root {name:?}: cannot read trust-anchors file {}: {e}",
                        path.display()
                    ),
                );
                continue;
            }
            let located = match crate::zones::read_trust_anchors(&path) {
                Ok(l) => l,
                Err(problems) => {
                    self.errors
                        .borrow_mut()
                        .extend(problems.into_iter().map(|p| ConfigError {
                            file: p.file,
                            line: Some(p.line),
                            message: format!("root {name:?}: {}", p.message),
                        }));
                    continue;
                }
            };
            for l in located {
                let owner = &l.record.name;
                let outside = !within(owner);
                let added = if outside {
                    Err(format!(
                        "{owner} is outside root {name:?}'s namespace ({})",
                        namespace_text()
                    ))
                } else {
                    anchors.add(&l.record).map_err(|e| e.to_string())
                };
                if let Err(message) = added {
                    self.errors.borrow_mut().push(ConfigError {
                        file: l.file.as_ref().clone(),
                        line: Some(l.line),
                        message: format!("root {name:?}: trust anchor {message}"),
                    });
                }
            }
            files.push(path);
        }
        for t in r.negative_trust_anchors.iter().flatten() {
            let text = t.get_ref().trim();
            let parsed = Name::from_ascii(if text.ends_with('.') {
                text.to_string()
            } else {
                format!("{text}.")
            });
            match parsed {
                Ok(n) if within(&n) => {
                    // Within the namespace checked above; `.` holds every name.
                    let _ = anchors.add_negative(n);
                }
                Ok(n) => self.report(
                    t,
                    format!(
                        "root {name:?}: negative trust anchor {n} is outside its namespace ({})",
                        namespace_text()
                    ),
                ),
                Err(_) => self.report(
                    t,
                    format!("root {name:?}: negative trust anchor {text:?} is not a domain name"),
                ),
            }
        }
        (Arc::new(anchors), files)
    }
}

//! `[[root]]` tables: one source each (a zones folder, root hints or forward
//! upstreams), unique names, the catch-all forward root last. Each error is
//! recorded at its line and validation goes on with the next root.

use std::collections::HashSet;

use toml::Spanned;

use super::file::FileRoot;
use super::validate::{Validator, readable_file};
use std::collections::BTreeMap;
use std::net::SocketAddr;

use hickory_proto::rr::Name;

use super::{
    Config, Hints, RootConfig, RootCopy, RootSource, TldList, TransferIn, TsigKey, join_clean,
    parse_socket_addr,
};
use crate::resolver::since::Date;
use crate::rootcopy::Verify;

impl Validator<'_> {
    /// The usable roots, and every name written (also of roots with errors).
    pub(super) fn roots(
        &self,
        list: &[Spanned<FileRoot>],
        keys: &[TsigKey],
    ) -> (Vec<RootConfig>, Vec<String>) {
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
            let Some(root) = self.root(r, keys) else {
                continue;
            };
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
    fn root(&self, r: &FileRoot, keys: &[TsigKey]) -> Option<RootConfig> {
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
        let tld_list = self.tld_list(&name, r);
        let (trust_anchors, trust_anchor_files) = self.trust_anchors(&name, r, source.as_ref());
        let copy = self.copy(&name, r);
        let transfer_in = self.transfer_in(&name, r, keys);
        let since = self.since(&name, r);
        let root_port = self.root_port(&name, r);
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
            root_port,
            qname_minimisation: r.qname_minimisation.unwrap_or(true),
            ipv6: r.ipv6.unwrap_or(false),
            allow_loopback_upstream: r.allow_loopback_upstream.unwrap_or(false),
            copy,
            transfer_in,
            since,
            tld_list,
        })
    }

    /// `since = { biz = "1995", … }`: each date `YYYY[-MM[-DD]]` (errors recorded).
    fn since(&self, name: &str, r: &FileRoot) -> BTreeMap<String, Date> {
        let mut out = BTreeMap::new();
        for (tld, text) in r.since.iter().flatten() {
            let label = tld.trim_matches('.').to_ascii_lowercase();
            if label.is_empty() || label.contains('.') {
                self.report(text, format!("root {name:?}: since: {tld:?} is not a TLD"));
                continue;
            }
            match Date::parse(text.get_ref()) {
                Some(d) => {
                    out.insert(label, d);
                }
                None => self.report(
                    text,
                    format!(
                        "root {name:?}: since: {tld} = {:?} is not a date (want \"YYYY\", \"YYYY-MM\" or \"YYYY-MM-DD\")",
                        text.get_ref()
                    ),
                ),
            }
        }
        out
    }

    /// `tld-list`: hints and forward roots only, "icann" or "opennic"; a root with
    /// the builtin hints stands for ICANN's list unless it says otherwise.
    fn tld_list(&self, name: &str, r: &FileRoot) -> Option<TldList> {
        let Some(t) = &r.tld_list else {
            let builtin = r.hints.as_ref().is_some_and(|h| h.get_ref() == "builtin");
            return builtin.then_some(TldList::Icann);
        };
        if r.zones.is_some() {
            self.report(
                t,
                format!(
                    "root {name:?}: tld-list is only for hints and forward roots (a zones root's TLDs are its files)"
                ),
            );
            return None;
        }
        match t.get_ref().as_str() {
            "icann" => Some(TldList::Icann),
            "opennic" => Some(TldList::Opennic),
            other => {
                self.report(
                    t,
                    format!(
                        "root {name:?}: tld-list {other:?} is not a bundled list (\"icann\" or \"opennic\")"
                    ),
                );
                None
            }
        }
    }

    /// `transfer-from`, `transfer-zones`, `transfer-key`: zones roots and hints
    /// roots with a `copy` (where the transferred root zone is kept); errors recorded.
    fn transfer_in(&self, name: &str, r: &FileRoot, keys: &[TsigKey]) -> Option<TransferIn> {
        let Some(from) = &r.transfer_from else {
            if let Some(z) = r.transfer_zones.as_ref().and_then(|z| z.first()) {
                self.report(
                    z,
                    format!("root {name:?}: transfer-zones needs transfer-from"),
                );
            }
            if let Some(k) = &r.transfer_key {
                self.report(
                    k,
                    format!("root {name:?}: transfer-key needs transfer-from"),
                );
            }
            return None;
        };
        if r.forward.is_some() {
            self.report(
                from,
                format!(
                    "root {name:?}: transfer-from is for zones roots and hints roots with a copy"
                ),
            );
            return None;
        }
        if r.hints.is_some() && r.copy.is_none() {
            self.report(
                from,
                format!(
                    "root {name:?}: transfer-from on a hints root needs copy (the file the transferred root zone is kept in)"
                ),
            );
            return None;
        }
        if from.get_ref().is_empty() {
            self.report(
                from,
                format!("root {name:?}: transfer-from lists no primary"),
            );
            return None;
        }
        let primaries: Vec<SocketAddr> = from
            .get_ref()
            .iter()
            .filter_map(|s| {
                let a = parse_socket_addr(s.get_ref(), 53);
                if a.is_none() {
                    self.report(
                        s,
                        format!(
                            "root {name:?}: transfer-from: {:?} is not an address (want \"192.0.2.1\" or \"192.0.2.1:5353\")",
                            s.get_ref()
                        ),
                    );
                }
                a
            })
            .collect();
        let mut zones = Vec::new();
        for z in r.transfer_zones.iter().flatten() {
            let text = z.get_ref().trim();
            let parsed = if text == "." {
                Ok(Name::root())
            } else {
                Name::from_ascii(text.trim_end_matches('.')).map(|mut n| {
                    n.set_fqdn(true);
                    n.to_lowercase()
                })
            };
            match parsed {
                Ok(n) if r.hints.is_some() && !n.is_root() => self.report(
                    z,
                    format!(
                        "root {name:?}: a hints root transfers its root zone only (\".\"), not {n}"
                    ),
                ),
                Ok(n) if zones.contains(&n) => {
                    self.report(z, format!("root {name:?}: transfer-zones lists {n} twice"))
                }
                Ok(n) => zones.push(n),
                Err(e) => self.report(
                    z,
                    format!("root {name:?}: transfer-zones: {text:?} is not a zone name ({e})"),
                ),
            }
        }
        let key = r.transfer_key.as_ref().and_then(|k| {
            let want = Name::from_ascii(k.get_ref().trim_end_matches('.'))
                .ok()
                .map(|mut n| {
                    n.set_fqdn(true);
                    n
                });
            let found = keys
                .iter()
                .find(|t| want.as_ref().is_some_and(|w| t.name == *w));
            if found.is_none() {
                self.report(
                    k,
                    format!(
                        "root {name:?}: transfer-key {:?} is not a key of [transfer] keys",
                        k.get_ref()
                    ),
                );
            }
            found.cloned()
        });
        if primaries.len() != from.get_ref().len() || (r.transfer_key.is_some() && key.is_none()) {
            return None;
        }
        Some(TransferIn {
            primaries,
            zones,
            key,
        })
    }

    /// `root-port`: the port of a hints root's root servers (default `port`); only
    /// hints roots have root servers of their own to ask.
    fn root_port(&self, name: &str, r: &FileRoot) -> u16 {
        let port = r.port.unwrap_or(53);
        let Some(rp) = &r.root_port else {
            return port;
        };
        if r.hints.is_none() {
            self.report(
                rp,
                format!(
                    "root {name:?}: root-port is only for hints roots (the port of their root servers; port applies to every server of the others)"
                ),
            );
            return port;
        }
        if *rp.get_ref() == 0 {
            self.report(rp, format!("root {name:?}: root-port 0 is not a port"));
            return port;
        }
        *rp.get_ref()
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
        // A transferred copy may not be there yet: the first transfer writes it.
        let pending = r.transfer_from.is_some() && !file.exists();
        if pending {
            if let Some(parent) = file.parent()
                && let Err(e) = std::fs::create_dir_all(parent)
            {
                self.report(
                    c,
                    format!(
                        "root {name:?}: cannot create the folder of copy {}: {e}",
                        file.display()
                    ),
                );
                return None;
            }
        } else if let Err(e) = readable_file(&file) {
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
            // A secondary's folder is made for it: its zones come by transfer.
            if r.transfer_from.is_some()
                && !dir.exists()
                && let Err(e) = std::fs::create_dir_all(&dir)
            {
                self.report(
                    z,
                    format!(
                        "root {name:?}: cannot create zones folder {}: {e}",
                        dir.display()
                    ),
                );
                return None;
            }
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

//! Hints roots' copies of their root zones (RFC 8806) as the service holds them:
//! read at start, read again when the file changes (only checked again when its
//! content changed: a file only touched moves the expire on), dropped past their
//! SOA expire.

use std::path::PathBuf;
use std::time::SystemTime;

use hickory_proto::rr::LowerName;

use super::Service;
use crate::config::RootConfig;

/// A hints root's copy: root index, file, the modification time of the file last
/// read (a reload reads it again only when that changed), and when the copy in
/// use expires (`None`: none in use, the root asks its servers).
pub(super) struct CopyState {
    pub(super) index: usize,
    pub(super) file: PathBuf,
    pub(super) seen: Option<SystemTime>,
    pub(super) expires: Option<u64>,
    /// The file's content when last read, and the SOA expire of the copy in use:
    /// a file only touched (a transfer found the serial current) moves the
    /// expire on without reading and checking the copy again.
    pub(super) digest: Option<u64>,
    pub(super) expire_secs: u64,
}

/// A digest of a file's bytes (none when unreadable).
pub(super) fn digest(path: &std::path::Path) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

fn unix_secs(t: Option<SystemTime>) -> u64 {
    t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

pub(super) fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Service {
    /// Reads again each root copy whose file changed since it was last read (every
    /// one when `force`, SIGHUP): a copy that passes its checks replaces the one in
    /// use; one that does not is logged and the copy in use (if any) is kept until
    /// its own expire. Returns whether a copy was swapped in.
    pub(super) fn reload_copies(&self, force: bool) -> bool {
        let mut changed = false;
        let now = self.clock().now();
        let mut copies = self.copies.lock().unwrap_or_else(|p| p.into_inner());
        for c in copies.iter_mut() {
            let seen = modified(&c.file);
            if !force && seen == c.seen {
                continue;
            }
            c.seen = seen;
            let d = digest(&c.file);
            if !force && c.expires.is_some() && d.is_some() && d == c.digest {
                // Touched, not changed: known current as of its new time.
                c.expires = Some(unix_secs(seen).saturating_add(c.expire_secs));
                continue;
            }
            c.digest = d;
            let Some(rc) = self.config.roots.get(c.index) else {
                continue;
            };
            let Some(cc) = &rc.copy else { continue };
            let in_use = c
                .expires
                .and_then(|_| self.resolver.zones(c.index))
                .and_then(|z| {
                    z.get(&LowerName::new(&hickory_proto::rr::Name::root()))
                        .map(|r| r.serial())
                });
            if let Some(copy) = root_copy(rc, cc, now, in_use) {
                c.expires = Some(copy.expires);
                c.expire_secs = copy.expires - copy.fetched;
                self.resolver.swap_zones(c.index, copy.set);
                changed = true;
            }
        }
        changed
    }

    /// Drops the root copies past their SOA expire (the roots ask their servers
    /// again), with a WARN line each. The watcher calls this on every poll.
    pub fn expire_copies(&self) {
        let now = self.clock().now();
        let mut copies = self.copies.lock().unwrap_or_else(|p| p.into_inner());
        for c in copies.iter_mut() {
            if c.expires.is_some_and(|e| now >= e) {
                c.expires = None;
                self.resolver.drop_zones(c.index);
                tracing::warn!(
                    "root {}: the copy {} of its root zone is past its SOA expire; asking its root servers",
                    self.resolver.roots[c.index].name,
                    c.file.display()
                );
            }
        }
    }
}

/// A hints root's copy of its root zone if it passes its checks, logged either
/// way: used (with what was checked, or as unverified with its age), or not used
/// and why (then the root asks its servers).
pub(super) fn root_copy(
    rc: &RootConfig,
    c: &crate::config::RootCopy,
    now: u64,
    in_use: Option<u32>,
) -> Option<crate::rootcopy::Copy> {
    let name = &rc.name;
    let file = c.file.display();
    match crate::rootcopy::load(&c.file, c.verify, &rc.trust_anchors, now) {
        Ok(copy) => {
            let age = crate::rootcopy::age(now.saturating_sub(copy.fetched));
            if copy.verified == "nothing" {
                tracing::warn!(
                    "root {name}: serving the UNVERIFIED copy {file} of its root zone (verify = \"none\"): serial {}, {} records, {age} old",
                    copy.serial,
                    copy.records
                );
            } else {
                tracing::info!(
                    "root {name}: serving the copy {file} of its root zone: serial {}, {} records, {age} old, {} verified in {} ms",
                    copy.serial,
                    copy.records,
                    copy.verified,
                    copy.verify_time.as_millis()
                );
            }
            Some(copy)
        }
        Err(why) => {
            match in_use {
                Some(serial) => tracing::warn!(
                    "root {name}: not using the copy {file} of its root zone: {why}; keeping the copy in use (serial {serial}) until its expire"
                ),
                None => tracing::warn!(
                    "root {name}: not using the copy {file} of its root zone: {why}; asking its root servers"
                ),
            }
            None
        }
    }
}

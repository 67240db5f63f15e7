//! Where a root keeps the zones it takes by transfer, and how a fetched zone
//! gets there: written to a dot file (the zones watcher ignores dot files),
//! read back and loaded (a root copy: verified), then renamed over the zone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::rr::{Name, Record, RecordType};

use super::refresh::soa_serial;
use crate::clock::unix_now;
use crate::dnssec::TrustAnchors;
use crate::rootcopy::Verify;
use crate::zones::Zone;

/// Where a root keeps what it takes.
pub(super) enum Store {
    /// A zones root's folder: one `NAME.zone` per zone (`root.zone` for the root).
    Zones(PathBuf),
    /// A hints root's copy of its root zone, with what it must pass.
    Copy {
        file: PathBuf,
        verify: Verify,
        anchors: Arc<TrustAnchors>,
    },
}

impl Store {
    /// The file a zone is kept in.
    pub(super) fn path(&self, zone: &Name) -> Option<PathBuf> {
        match self {
            Store::Copy { file, .. } => Some(file.clone()),
            Store::Zones(dir) => file_name(zone).map(|f| dir.join(f)),
        }
    }

    /// Writes a fetched zone where the loader reads it, once it reads back and
    /// loads (or, a copy, passes its checks). Returns its SOA.
    pub(super) fn install(
        &self,
        zone: &Name,
        records: &[Record],
        from: std::net::SocketAddr,
    ) -> Result<Record, String> {
        let path = self
            .path(zone)
            .ok_or_else(|| format!("zone {zone} has no file name altroot can write"))?;
        let soa = records
            .iter()
            .find(|r| r.record_type() == RecordType::SOA && &r.name == zone)
            .cloned()
            .ok_or_else(|| format!("the transfer of {zone} has no SOA"))?;
        let comment = format!(
            "zone {zone} serial {}, transferred from {from} by altroot at Unix time {}.\n\
             Do not edit: the next transfer replaces this file.",
            soa_serial(&soa),
            unix_now()
        );
        let text = crate::zones::zone_text(zone, records, &comment);
        let temp = aside_path(&path, "new");
        let bad = |why: String| {
            let _ = std::fs::remove_file(&temp);
            format!("the transfer of {zone} from {from} is not used: {why}")
        };
        std::fs::write(&temp, text)
            .map_err(|e| bad(format!("cannot write {}: {e}", temp.display())))?;
        match self {
            Store::Copy {
                verify, anchors, ..
            } => {
                crate::rootcopy::load(&temp, *verify, anchors, unix_now()).map_err(bad)?;
            }
            Store::Zones(_) => {
                let parsed = crate::zones::read(&temp, zone).map_err(|e| bad(first(&e)))?;
                Zone::build(zone, parsed).map_err(|p| bad(first(&p)))?;
            }
        }
        sync_file(&temp).map_err(|e| bad(e.to_string()))?;
        std::fs::rename(&temp, &path)
            .map_err(|e| bad(format!("cannot rename it into place: {e}")))?;
        Ok(soa)
    }
}

/// The SOA of a zone file on disk, if it reads.
pub(super) fn file_soa(path: &Path, origin: &Name) -> Option<Record> {
    if !path.exists() {
        return None;
    }
    let parsed = crate::zones::read(path, origin).ok()?;
    parsed
        .records
        .into_iter()
        .map(|l| l.record)
        .find(|r| r.record_type() == RecordType::SOA && &r.name == origin)
}

/// `root.zone`, or `NAME.zone` for a name of plain labels (letters, digits,
/// `-`, `_`); others cannot be a file name in the folder.
pub(super) fn file_name(zone: &Name) -> Option<String> {
    if zone.is_root() {
        return Some("root.zone".into());
    }
    let text = zone.to_lowercase().to_ascii();
    let stem = text.trim_end_matches('.');
    let plain = stem.split('.').all(|l| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    plain.then(|| format!("{stem}.zone"))
}

/// `.FILE.what` beside `path`: a dot file, which the zones watcher ignores.
pub(super) fn aside_path(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}"))
}

pub(super) fn modified(path: &Path) -> Option<u64> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

pub(super) fn touch(path: &Path) -> std::io::Result<()> {
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(SystemTime::now())
}

pub(super) fn sync_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

pub(super) fn first<T: ToString>(problems: &[T]) -> String {
    problems
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| "unreadable".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_or_refused() {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        assert_eq!(file_name(&Name::root()).as_deref(), Some("root.zone"));
        assert_eq!(file_name(&n("GEEK.")).as_deref(), Some("geek.zone"));
        assert_eq!(file_name(&n("xn--p1ai.")).as_deref(), Some("xn--p1ai.zone"));
        assert_eq!(file_name(&n("a.b.")).as_deref(), Some("a.b.zone"));
        let raw = |l: &[u8]| Name::from_labels(vec![l.to_vec()]).unwrap();
        assert_eq!(file_name(&raw(b"a/b")), None);
        assert_eq!(file_name(&raw(b"a b")), None);
        assert_eq!(file_name(&raw(b"..")), None);
    }
}

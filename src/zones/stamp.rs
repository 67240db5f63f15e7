//! What a zone file held when it was read, so that a reload can skip zones whose
//! files did not change.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a file held when it was read: its metadata and a hash of the bytes parsed.
///
/// Metadata alone is not enough: timestamps are coarse (a clock tick), so two saves
/// within one tick, of the same length, look the same. As git does for its index,
/// the metadata is trusted only when the file had been quiet for a while when it was
/// read; otherwise the bytes are hashed again and compared. Hashing is far cheaper
/// than parsing, and for a file that has been quiet a while even that is skipped.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub path: PathBuf,
    meta: Option<Meta>,
    hash: u64,
    /// When the metadata was taken (just before reading).
    taken: SystemTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Meta {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    ino: u64,
    #[cfg(unix)]
    ctime: (i64, i64),
}

/// A file modified less than this before it was read is compared by content.
const RACY: Duration = Duration::from_secs(2);

fn meta(path: &Path) -> Option<Meta> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    Some(Meta {
        len: m.len(),
        modified: m.modified().ok(),
        #[cfg(unix)]
        ino: m.ino(),
        #[cfg(unix)]
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Reads a file, and stamps it from the very bytes read: a save racing with this
/// read shows up as a changed file at the next reload, never as a stale
/// "unchanged".
pub(super) fn read_stamped(path: &Path) -> std::io::Result<(Vec<u8>, Stamp)> {
    let taken = SystemTime::now();
    let before = meta(path);
    let bytes = std::fs::read(path)?;
    let stamp = Stamp {
        path: path.to_path_buf(),
        meta: before,
        hash: hash_bytes(&bytes),
        taken,
    };
    Ok((bytes, stamp))
}

impl Stamp {
    /// Does the file still hold what was parsed?
    pub fn still_valid(&self) -> bool {
        let now = meta(&self.path);
        if now.is_none() || now != self.meta {
            return false;
        }
        let quiet = self
            .meta
            .as_ref()
            .and_then(|m| m.modified)
            .and_then(|m| self.taken.duration_since(m).ok())
            .is_some_and(|d| d > RACY);
        quiet || std::fs::read(&self.path).is_ok_and(|b| hash_bytes(&b) == self.hash)
    }
}

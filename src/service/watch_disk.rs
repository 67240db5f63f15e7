//! What the disk holds, for the watcher's periodic check: identities of folders
//! (to notice one replaced) and the size and time of every file a reload reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::absolute;

/// The identity of a file or folder (device and inode), to notice one replaced by
/// another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DirId(pub(super) u64, pub(super) u64);

impl DirId {
    pub(super) fn of(p: &Path) -> Option<DirId> {
        std::fs::metadata(p).ok().map(|m| DirId::from(&m))
    }

    pub(super) fn from(m: &std::fs::Metadata) -> DirId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            DirId(m.dev(), m.ino())
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            DirId(0, 0)
        }
    }
}

/// What a `stat` says about a file: enough to see that it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FileMeta {
    len: u64,
    modified: Option<SystemTime>,
    id: DirId,
    #[cfg(unix)]
    ctime: (i64, i64),
}

impl FileMeta {
    pub(super) fn of(p: &Path) -> Option<FileMeta> {
        let m = std::fs::metadata(p).ok()?;
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Some(FileMeta {
            len: m.len(),
            modified: m.modified().ok(),
            id: DirId::from(&m),
            #[cfg(unix)]
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// A zones folder (which folder it is: not its mtime, which every editor's swap
/// file changes) or a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    Dir(DirId),
    File(FileMeta),
}

/// The zones folders, every `*.zone` file in them and every file the zones were
/// read from, and what `stat` said of each (`None`: not there).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Disk(pub(super) BTreeMap<PathBuf, Option<Seen>>);

impl Disk {
    pub(super) fn look(dirs: &[PathBuf], files: &[PathBuf]) -> Disk {
        let mut out = BTreeMap::new();
        for d in dirs {
            out.insert(absolute(d), DirId::of(d).map(Seen::Dir));
            let Ok(entries) = std::fs::read_dir(d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if crate::zones::origin_for_file(&p).is_some() {
                    out.insert(absolute(&p), FileMeta::of(&p).map(Seen::File));
                }
            }
        }
        for f in files {
            out.insert(absolute(f), FileMeta::of(f).map(Seen::File));
        }
        Disk(out)
    }
}

//! Change detection against the previous backup of the same (partition, node) (§11,
//! restic's parent snapshot): a file whose size, mtime, ctime and inode equal the previous
//! manifest's is not read; its chunk list is reused.
//!
//! The "racy" rule (git's racy-clean problem, restic's same-second edits): file timestamps
//! have a granularity (ext4's coarse clock ticks, 1 s on HFS+, 2 s on FAT). A file written
//! twice within one tick keeps its mtime; if the previous save read it between the two
//! writes, the second write is invisible to a comparison. Both writes then lie within one
//! tick *and* the read came after the previous save started, so `mtime + granularity >
//! previous save's start` — such files are always re-read. The start is taken from the
//! clock of the host that reads the files ([`super::manifest::Manifest::source_started_ns`]),
//! the same clock the file system stamps with.
//!
//! An unchanged file's chunk ids must still be in the index (a damaged store, or a prune
//! that raced): the caller re-reads the file when one is not.

use super::manifest::ManifestFile;

/// The default timestamp granularity assumed: 2 s (FAT's; coarser than any Unix file
/// system), in nanoseconds.
pub const DEFAULT_GRANULARITY_NS: i64 = 2_000_000_000;

/// What the source knows of a file now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    /// Size in bytes.
    pub size: u64,
    /// Unix permission bits.
    pub mode: Option<u32>,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: Option<i64>,
    /// Status change time, ns since the Unix epoch.
    pub ctime_ns: Option<i64>,
    /// Inode number.
    pub inode: Option<u64>,
}

impl FileStat {
    /// The attributes of a local file (mtime on every platform; mode, ctime and inode on
    /// Unix).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_metadata(meta: &std::fs::Metadata) -> Self {
        let mtime_ns = meta.modified().ok().and_then(|t| {
            let ns = match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(after) => i128::try_from(after.as_nanos()).ok()?,
                Err(before) => -i128::try_from(before.duration().as_nanos()).ok()?,
            };
            i64::try_from(ns).ok()
        });
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Self {
                size: meta.len(),
                mode: Some(meta.mode() & 0o7777),
                mtime_ns,
                ctime_ns: meta
                    .ctime()
                    .checked_mul(1_000_000_000)
                    .and_then(|s| s.checked_add(meta.ctime_nsec())),
                inode: Some(meta.ino()),
            }
        }
        #[cfg(not(unix))]
        {
            Self {
                size: meta.len(),
                mtime_ns,
                ..Self::default()
            }
        }
    }
}

/// Why a file must be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Not in the previous backup.
    New,
    /// The source or the previous manifest has no mtime: nothing to compare.
    NoTimestamps,
    /// Its size differs.
    Size,
    /// Its mtime differs.
    Mtime,
    /// Its ctime differs (metadata changed, or the file was rewritten and its mtime reset).
    Ctime,
    /// Its inode differs (the file was replaced).
    Inode,
    /// Modified within the timestamp granularity before the previous save started.
    Racy,
}

/// The verdict on one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Reuse the previous entry's chunks (after checking they are in the index).
    Unchanged(&'a ManifestFile),
    /// Read the file.
    Changed(Changed),
}

/// The comparison, with the previous save's start and the granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeRule {
    /// When the previous save started, by the source host's clock (ns since the epoch);
    /// `None` (unknown) disables reuse.
    pub previous_started_ns: Option<i64>,
    /// Timestamp granularity in ns ([`DEFAULT_GRANULARITY_NS`]).
    pub granularity_ns: i64,
}

impl ChangeRule {
    /// The rule against a previous save started at `previous_started_ns`.
    pub fn new(previous_started_ns: Option<i64>) -> Self {
        Self {
            previous_started_ns,
            granularity_ns: DEFAULT_GRANULARITY_NS,
        }
    }

    /// Compares a file now with its previous entry. Attributes missing on one side are not
    /// compared, except mtime, without which nothing is reused.
    pub fn compare<'a>(&self, previous: Option<&'a ManifestFile>, now: &FileStat) -> Verdict<'a> {
        let Some(prev) = previous else {
            return Verdict::Changed(Changed::New);
        };
        let (Some(prev_mtime), Some(mtime), Some(started)) = (prev.mtime_ns, now.mtime_ns, self.previous_started_ns)
        else {
            return Verdict::Changed(Changed::NoTimestamps);
        };
        let verdict = if prev.size != now.size {
            Changed::Size
        } else if prev_mtime != mtime {
            Changed::Mtime
        } else if differs(prev.ctime_ns, now.ctime_ns) {
            Changed::Ctime
        } else if differs(prev.inode, now.inode) {
            Changed::Inode
        } else if prev_mtime.saturating_add(self.granularity_ns) > started {
            Changed::Racy
        } else {
            return Verdict::Unchanged(prev);
        };
        Verdict::Changed(verdict)
    }
}

/// Whether both sides know the attribute and it differs.
fn differs<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;
    const STARTED: i64 = 1_000_000 * SEC;

    fn prev(mtime: i64) -> ManifestFile {
        ManifestFile {
            name: "a".into(),
            size: 10,
            crc32c: "AAAAAA==".into(),
            mode: Some(0o644),
            mtime_ns: Some(mtime),
            ctime_ns: Some(mtime),
            inode: Some(7),
            etag: None,
            chunks: vec![],
        }
    }

    fn now(mtime: i64) -> FileStat {
        FileStat {
            size: 10,
            mode: Some(0o644),
            mtime_ns: Some(mtime),
            ctime_ns: Some(mtime),
            inode: Some(7),
        }
    }

    #[test]
    fn equal_attributes_reuse_the_previous_entry() {
        let rule = ChangeRule::new(Some(STARTED));
        let p = prev(STARTED - 60 * SEC);
        assert_eq!(rule.compare(Some(&p), &now(STARTED - 60 * SEC)), Verdict::Unchanged(&p));
        // Mode alone is not compared (a chmod changes ctime, which is).
        let mut n = now(STARTED - 60 * SEC);
        n.mode = Some(0o600);
        assert_eq!(rule.compare(Some(&p), &n), Verdict::Unchanged(&p));
    }

    #[test]
    fn each_attribute_that_differs_is_a_change() {
        let rule = ChangeRule::new(Some(STARTED));
        let old = STARTED - 60 * SEC;
        let p = prev(old);
        assert_eq!(rule.compare(None, &now(old)), Verdict::Changed(Changed::New));
        type Edit = fn(&mut FileStat);
        let cases: [(Edit, Changed); 4] = [
            (|n| n.size = 11, Changed::Size),
            (|n| n.mtime_ns = Some(n.mtime_ns.unwrap() + 1), Changed::Mtime),
            (|n| n.ctime_ns = Some(n.ctime_ns.unwrap() + 1), Changed::Ctime),
            (|n| n.inode = Some(8), Changed::Inode),
        ];
        for (change, expected) in cases {
            let mut n = now(old);
            change(&mut n);
            assert_eq!(rule.compare(Some(&p), &n), Verdict::Changed(expected));
        }
    }

    #[test]
    fn files_modified_within_the_granularity_before_the_previous_start_are_reread() {
        let rule = ChangeRule::new(Some(STARTED));
        for mtime in [STARTED - SEC, STARTED - 1, STARTED, STARTED + 5 * SEC] {
            let p = prev(mtime);
            assert_eq!(
                rule.compare(Some(&p), &now(mtime)),
                Verdict::Changed(Changed::Racy),
                "{mtime}"
            );
        }
        let p = prev(STARTED - 2 * SEC);
        assert!(matches!(
            rule.compare(Some(&p), &now(STARTED - 2 * SEC)),
            Verdict::Unchanged(_)
        ));
    }

    #[test]
    fn without_timestamps_nothing_is_reused() {
        let p = prev(1);
        let mut n = now(1);
        n.mtime_ns = None;
        let rule = ChangeRule::new(Some(STARTED));
        assert_eq!(rule.compare(Some(&p), &n), Verdict::Changed(Changed::NoTimestamps));
        let unknown_start = ChangeRule::new(None);
        assert_eq!(
            unknown_start.compare(Some(&p), &now(1)),
            Verdict::Changed(Changed::NoTimestamps)
        );
        // Missing ctime/inode on one side are not compared.
        let mut bare = prev(1);
        (bare.ctime_ns, bare.inode) = (None, None);
        assert!(matches!(rule.compare(Some(&bare), &now(1)), Verdict::Unchanged(_)));
    }

    #[cfg(unix)]
    #[test]
    fn local_files_give_mtime_ctime_inode_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        let stat = FileStat::from_metadata(&std::fs::metadata(&path).unwrap());
        assert_eq!(stat.size, 5);
        assert!(stat.mtime_ns.unwrap() > 1_600_000_000 * SEC);
        assert!(stat.ctime_ns.unwrap() > 1_600_000_000 * SEC);
        assert!(stat.inode.unwrap() > 0);
        assert!(stat.mode.unwrap() & 0o600 == 0o600);
    }
}

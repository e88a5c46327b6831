//! verify: §4 verify. Shallow: one paged ListObjectsV2 over the backup's folder,
//! compared with `metadata.json` (every file present, with its recorded size). Deep: every
//! file downloaded again and its CRC32C compared.

use std::collections::HashMap;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::layout::{key_inside, Layout};
use super::manifest::{Metadata, ZEEBE_SNAPSHOT_SET};
use super::restore::{FileCheck, Mismatch, ZEEBE_SNAPSHOT_SET_ALT};
use super::{BackupId, BackupStore, VerifyProblem, VerifyProblemKind, VerifyReport};
use crate::error::{Error, Result};
use crate::s3::ListOptions;

impl From<Mismatch> for VerifyProblemKind {
    fn from(m: Mismatch) -> Self {
        match m {
            Mismatch::Size { expected, actual } => VerifyProblemKind::SizeMismatch { expected, actual },
            Mismatch::Checksum { expected, actual } => VerifyProblemKind::ChecksumMismatch { expected, actual },
        }
    }
}

impl BackupStore {
    /// verify(id, deep): checks that every file of `metadata.json` exists with its recorded
    /// size, from one paged ListObjectsV2 over the backup's folder (not one request per file).
    /// With `deep`, every file found is also downloaded again (`concurrency` at a time,
    /// streamed) and its CRC32C compared with `metadata.json`.
    ///
    /// Zeebe-written backups record neither sizes nor checksums: their files are checked for
    /// presence (under `snapshot/` or `snapshots/`), and with `deep` for a download as long
    /// as the listed size.
    ///
    /// A damaged backup is a report with problems, not an error.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the backup does not exist; [`Error::BackupNotCompleted`]
    /// when it is not COMPLETED (`code` is its status); [`Error::Integrity`] when its
    /// `metadata.json` is missing or unreadable; transfer errors of ListObjectsV2/GetObject.
    pub async fn verify(&self, id: BackupId, deep: bool) -> Result<VerifyReport> {
        self.bucket_ready().await?;
        let metadata = self.completed_metadata(id).await?;
        if metadata.is_format2() {
            return self.format2_verify(id, deep).await;
        }
        let listed = self.list_sizes(&id).await?;
        let shallow = check_listing(expected_objects(&self.layout, &id, &metadata), &listed);
        let mut problems = shallow.problems;
        if deep {
            let found: Vec<Option<VerifyProblem>> = stream::iter(shallow.found)
                .map(|found| self.download_and_check(found))
                .buffer_unordered(self.config.concurrency)
                .try_collect()
                .await?;
            problems.extend(found.into_iter().flatten());
        }
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(VerifyReport {
            id,
            deep,
            files_checked: shallow.files_checked,
            bytes_checked: shallow.bytes_checked,
            problems,
            notes: Vec::new(),
        })
    }

    /// Key → size of every object in the backup's folder, all pages (keys the listing names
    /// outside the folder are ignored).
    async fn list_sizes(&self, id: &BackupId) -> Result<HashMap<String, u64>> {
        let folder = self.layout.backup_prefix(id);
        let options = ListOptions {
            prefix: folder.clone(),
            ..ListOptions::default()
        };
        let mut pages = std::pin::pin!(self.client.list_objects_v2(options));
        let mut sizes = HashMap::new();
        while let Some(page) = pages.try_next().await? {
            let inside = page.objects.into_iter().filter(|o| key_inside(&folder, &o.key));
            sizes.extend(inside.map(|o| (o.key, o.size)));
        }
        Ok(sizes)
    }

    async fn download_and_check(&self, found: Found) -> Result<Option<VerifyProblem>> {
        let problem = |kind| {
            Some(VerifyProblem {
                key: found.key.clone(),
                kind,
            })
        };
        let mut body = match self.client.get_object(&found.key, None).await {
            Ok(output) => output.body,
            // Deleted between the listing and now.
            Err(Error::NotFound(_)) => return Ok(problem(VerifyProblemKind::Missing)),
            Err(e) => return Err(e),
        };
        let mut check = FileCheck::new(Some(found.size), found.crc32c.clone());
        while let Some(chunk) = body.try_next().await? {
            if let Err(mismatch) = check.update(&chunk) {
                return Ok(problem(mismatch.into()));
            }
        }
        Ok(check.finish().err().and_then(|m| problem(m.into())))
    }
}

/// An object `metadata.json` promises.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expected {
    key: String,
    /// Where else it may be (Zeebe's `snapshots/`).
    alt_key: Option<String>,
    size: Option<u64>,
    crc32c: Option<String>,
}

/// An object found in the listing with an acceptable size: what deep verify downloads.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    key: String,
    size: u64,
    crc32c: Option<String>,
}

#[derive(Debug, Default)]
struct Shallow {
    files_checked: u64,
    bytes_checked: u64,
    problems: Vec<VerifyProblem>,
    found: Vec<Found>,
}

fn expected_objects(layout: &Layout, id: &BackupId, metadata: &Metadata) -> Vec<Expected> {
    let mut expected = Vec::new();
    for (set, entries) in &metadata.file_sets {
        for entry in entries {
            expected.push(Expected {
                key: layout.file_key(id, set, &entry.name),
                alt_key: (set == ZEEBE_SNAPSHOT_SET).then(|| layout.file_key(id, ZEEBE_SNAPSHOT_SET_ALT, &entry.name)),
                size: entry.size,
                crc32c: entry.crc32c.clone(),
            });
        }
    }
    expected
}

/// Compares what `metadata.json` promises with what the listing holds (pure).
fn check_listing(expected: Vec<Expected>, listed: &HashMap<String, u64>) -> Shallow {
    let mut shallow = Shallow::default();
    for object in expected {
        shallow.files_checked += 1;
        let hit = match listed.get(&object.key) {
            Some(size) => Some((object.key.clone(), *size)),
            None => object
                .alt_key
                .as_ref()
                .and_then(|alt| listed.get(alt).map(|size| (alt.clone(), *size))),
        };
        let Some((key, actual)) = hit else {
            shallow.problems.push(VerifyProblem {
                key: object.key,
                kind: VerifyProblemKind::Missing,
            });
            continue;
        };
        shallow.bytes_checked += actual;
        match object.size {
            Some(expected) if expected != actual => shallow.problems.push(VerifyProblem {
                key,
                kind: VerifyProblemKind::SizeMismatch { expected, actual },
            }),
            _ => shallow.found.push(Found {
                key,
                size: actual,
                crc32c: object.crc32c,
            }),
        }
    }
    shallow
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::backup::FileEntry;

    /// File name and size (`None` as in Zeebe-written metadata).
    type Files<'a> = &'a [(&'a str, Option<u64>)];

    fn metadata(sets: &[(&str, Files)]) -> Metadata {
        let file_sets: BTreeMap<String, Vec<FileEntry>> = sets
            .iter()
            .map(|(set, files)| {
                let entries = files
                    .iter()
                    .map(|(name, size)| FileEntry {
                        name: name.to_string(),
                        size: *size,
                        crc32c: size.map(|_| "AAAAAA==".to_string()),
                        etag: None,
                    })
                    .collect();
                (set.to_string(), entries)
            })
            .collect();
        Metadata::new(
            &BackupId::new(1, 2, 3),
            file_sets,
            BTreeMap::new(),
            Default::default(),
            time::OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn listing(objects: &[(&str, u64)]) -> HashMap<String, u64> {
        objects.iter().map(|(k, s)| (k.to_string(), *s)).collect()
    }

    #[test]
    fn listing_reports_missing_and_wrong_sizes() {
        let layout = Layout::new("p/");
        let id = BackupId::new(1, 2, 3);
        let m = metadata(&[(
            "files",
            &[("a", Some(3)), ("b/c", Some(0)), ("gone", Some(1)), ("big", Some(10))],
        )]);
        let listed = listing(&[
            ("p/1/2/3/files/a", 3),
            ("p/1/2/3/files/b/c", 0),
            ("p/1/2/3/files/big", 9),
        ]);
        let shallow = check_listing(expected_objects(&layout, &id, &m), &listed);
        assert_eq!(shallow.files_checked, 4);
        assert_eq!(shallow.bytes_checked, 12);
        let mut problems = shallow.problems.clone();
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(
            problems,
            vec![
                VerifyProblem {
                    key: "p/1/2/3/files/big".into(),
                    kind: VerifyProblemKind::SizeMismatch {
                        expected: 10,
                        actual: 9
                    },
                },
                VerifyProblem {
                    key: "p/1/2/3/files/gone".into(),
                    kind: VerifyProblemKind::Missing,
                },
            ]
        );
        let found: Vec<&str> = shallow.found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(found, ["p/1/2/3/files/a", "p/1/2/3/files/b/c"]);
    }

    #[test]
    fn zeebe_snapshot_files_are_found_under_snapshots_too() {
        let layout = Layout::new("");
        let id = BackupId::new(1, 2, 3);
        let m = metadata(&[
            ("snapshot", &[("CURRENT", None), ("x.sst", None)]),
            ("segments", &[("1.log", None)]),
        ]);
        let listed = listing(&[("1/2/3/snapshots/CURRENT", 16), ("1/2/3/snapshot/x.sst", 5)]);
        let shallow = check_listing(expected_objects(&layout, &id, &m), &listed);
        assert_eq!(shallow.files_checked, 3);
        assert_eq!(shallow.bytes_checked, 21);
        assert_eq!(
            shallow.problems,
            vec![VerifyProblem {
                key: "1/2/3/segments/1.log".into(),
                kind: VerifyProblemKind::Missing,
            }]
        );
        assert!(shallow
            .found
            .iter()
            .any(|f| f.key == "1/2/3/snapshots/CURRENT" && f.size == 16));
    }

    #[test]
    fn problems_display_key_and_what_is_wrong() {
        let p = VerifyProblem {
            key: "k".into(),
            kind: VerifyProblemKind::ChecksumMismatch {
                expected: "AAAAAA==".into(),
                actual: "yZRlqg==".into(),
            },
        };
        assert_eq!(
            p.to_string(),
            "k: checksum mismatch: CRC32C yZRlqg==, expected AAAAAA=="
        );
        let report = VerifyReport {
            id: BackupId::new(0, 0, 0),
            deep: true,
            files_checked: 1,
            bytes_checked: 0,
            problems: vec![p],
            notes: Vec::new(),
        };
        assert!(!report.is_ok());
    }
}

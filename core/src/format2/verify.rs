//! verify, format 2 (§11; docs/FORMAT.md, "Verify").
//!
//! - Shallow: every chunk of the manifest is indexed, and every pack holding them exists
//!   with the length the index records (one HeadObject per pack, not per chunk).
//! - Deep: also each pack's header (read from its tail) agrees with the index, and every
//!   chunk of the backup is read (neighbours in one ranged GET), decompressed and hashed;
//!   each file's size and CRC32C are recomputed from its chunks.
//! - Both note the packs under `data/` that no COMPLETED backup references (a save running
//!   or killed, or garbage that prune collects): a note, not a problem.
//!
//! Problems name the pack (`data/xx/<id>`) or, for a file, `{backup}/{set}/{name}`.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::id::{ChunkId, PackId};
use super::pack_reader::{parse_tail, tail_range, Tail, TAIL_HINT};
use super::restore::{decode_range, RangePlan, RestoreSession};
use crate::backup::{BackupId, BackupStore, ListFilter, StatusCode, VerifyProblem, VerifyProblemKind, VerifyReport};
use crate::error::{Error, Result};
use crate::s3::checksum::Crc32c;

/// Packs read at once by a deep verify (each range is at most 8 MiB).
const DEEP_PACKS_AT_ONCE: usize = 4;
/// Unreferenced packs named in the note; the rest are counted.
const NOTE_NAMES: usize = 5;

impl BackupStore {
    /// verify(id, deep) of a format 2 backup: see the module documentation.
    pub(crate) async fn format2_verify(&self, id: BackupId, deep: bool) -> Result<VerifyReport> {
        let session = self.format2_session(id, true).await?;
        let layout = &self.f2().layout;
        let file_key = |set: &str, name: &str| self.layout.file_key(&id, set, name);
        let mut problems = Vec::new();

        // Which packs, and files whose chunks are not all indexed.
        let lengths: HashMap<PackId, u64> = session.index.packs().collect();
        let mut referenced: HashMap<PackId, u64> = HashMap::new();
        for (set, file) in session.manifest.iter() {
            for chunk in &file.chunks {
                match session.index.get(chunk) {
                    Some(located) => {
                        referenced.insert(located.pack, lengths[&located.pack]);
                    }
                    None => {
                        problems.push(VerifyProblem {
                            key: file_key(set, &file.name),
                            kind: VerifyProblemKind::Corrupt {
                                reason: format!("its chunk {chunk} is in no index object"),
                            },
                        });
                        break;
                    }
                }
            }
        }

        // Shallow: each pack once.
        let found = self.pack_sizes(referenced.keys().copied()).await?;
        let mut sound = Vec::new();
        for (pack, size) in found {
            let expected = referenced[&pack];
            let key = layout.pack_key(&pack);
            match size {
                None => problems.push(VerifyProblem {
                    key,
                    kind: VerifyProblemKind::Missing,
                }),
                Some(actual) if actual != expected => problems.push(VerifyProblem {
                    key,
                    kind: VerifyProblemKind::SizeMismatch { expected, actual },
                }),
                Some(_) => sound.push(pack),
            }
        }
        let bad_packs: HashSet<PackId> = referenced.keys().filter(|p| !sound.contains(p)).copied().collect();

        if deep {
            let crcs = self.deep_check_packs(&session, &sound, &mut problems).await?;
            for (set, file) in session.manifest.iter() {
                let Some((crc, size)) = file_crc(&file.chunks, &crcs) else {
                    continue; // a chunk unread: its pack's problem is reported
                };
                let key = file_key(set, &file.name);
                if size != file.size {
                    problems.push(VerifyProblem {
                        key,
                        kind: VerifyProblemKind::SizeMismatch {
                            expected: file.size,
                            actual: size,
                        },
                    });
                } else if crc != file.crc32c {
                    problems.push(VerifyProblem {
                        key,
                        kind: VerifyProblemKind::ChecksumMismatch {
                            expected: file.crc32c.clone(),
                            actual: crc,
                        },
                    });
                }
            }
        }

        let whole = |chunks: &[ChunkId]| {
            chunks
                .iter()
                .all(|c| session.index.get(c).is_some_and(|l| !bad_packs.contains(&l.pack)))
        };
        let bytes_checked = session
            .manifest
            .iter()
            .filter(|(_, f)| whole(&f.chunks))
            .map(|(_, f)| f.size)
            .sum();
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        problems.dedup();
        let notes = self.unreferenced_packs_note(&session).await?;
        Ok(VerifyReport {
            id,
            deep,
            files_checked: session.manifest.file_count(),
            bytes_checked,
            problems,
            notes,
        })
    }

    /// Deep check of `packs`: header against the index, then every blob of the backup in
    /// them read and hashed. Returns each chunk's CRC32C and length; problems name packs.
    async fn deep_check_packs(
        &self,
        session: &RestoreSession,
        packs: &[PackId],
        problems: &mut Vec<VerifyProblem>,
    ) -> Result<HashMap<ChunkId, (u32, u64)>> {
        let mut wanted: HashMap<PackId, Vec<(ChunkId, super::pack::BlobLocation)>> = HashMap::new();
        let mut seen = HashSet::new();
        for chunk in session.manifest.chunk_ids() {
            if let Some(located) = session.index.get(chunk) {
                if seen.insert(*chunk) {
                    wanted.entry(located.pack).or_default().push((*chunk, located.location));
                }
            }
        }
        let results: Vec<(PackId, Result<Vec<(ChunkId, u32, u64)>>)> = stream::iter(packs.iter().copied())
            .map(|pack| {
                let blobs = wanted.remove(&pack).unwrap_or_default();
                async move { (pack, self.deep_check_pack(session, pack, blobs).await) }
            })
            .buffer_unordered(DEEP_PACKS_AT_ONCE)
            .collect()
            .await;
        let mut crcs = HashMap::new();
        for (pack, result) in results {
            match result {
                Ok(chunks) => crcs.extend(chunks.into_iter().map(|(id, crc, len)| (id, (crc, len)))),
                Err(Error::Integrity(d)) => problems.push(VerifyProblem {
                    key: self.f2().layout.pack_key(&pack),
                    kind: VerifyProblemKind::Corrupt { reason: d.message },
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(crcs)
    }

    async fn deep_check_pack(
        &self,
        session: &RestoreSession,
        pack: PackId,
        mut blobs: Vec<(ChunkId, super::pack::BlobLocation)>,
    ) -> Result<Vec<(ChunkId, u32, u64)>> {
        let key = self.f2().layout.pack_key(&pack);
        let length = session.index.packs().find(|(p, _)| *p == pack).map_or(0, |(_, l)| l);
        // The header, from the tail, must list every blob where the index puts it. An
        // encrypted pack is fetched and decrypted whole (which authenticates all of it).
        let mut whole: Option<Bytes> = None;
        let header = if let Some(keys) = &session.keys {
            let too_large = || Error::integrity(&key, format!("pack {key} is larger than 2 GiB"));
            let sealed = match self
                .client
                .get_object_bytes(&key, super::pack::MAX_PACK_SIZE as usize, too_large)
                .await
            {
                Ok((_, bytes)) => bytes,
                Err(Error::NotFound(_)) => return Err(Error::integrity(&key, format!("pack {key} is missing"))),
                Err(e) => return Err(e),
            };
            let plain = Bytes::from(keys.open(&key, &sealed, super::pack::MAX_PACK_SIZE)?);
            let header = super::pack_reader::parse_pack(&key, &plain)?;
            whole = Some(plain);
            header
        } else {
            let mut want = TAIL_HINT.min(length);
            loop {
                let range = tail_range(length, want);
                let tail = self
                    .client
                    .get_object_range_bytes(&key, range.start, range.end - 1)
                    .await?;
                match parse_tail(&key, length, &tail)? {
                    Tail::Header(header) => break header,
                    Tail::NeedLast(n) if n > want => want = n,
                    Tail::NeedLast(_) => {
                        return Err(Error::integrity(&key, format!("pack {key} has no readable header")))
                    }
                }
            }
        };
        let listed: HashMap<ChunkId, super::pack::BlobLocation> =
            header.entries.iter().map(|e| (e.id, e.location)).collect();
        for (id, location) in &blobs {
            if listed.get(id) != Some(location) {
                return Err(Error::integrity(
                    &key,
                    format!("pack {key}: its header does not list chunk {id} where the index says"),
                ));
            }
        }
        // Every blob, neighbours in one range.
        blobs.sort_by_key(|(_, l)| l.offset);
        let mut ranges: Vec<RangePlan> = Vec::new();
        for (id, location) in blobs {
            if !ranges.last_mut().is_some_and(|r| r.try_extend(pack, id, location)) {
                ranges.push(RangePlan {
                    pack,
                    start: location.offset,
                    end: location.range().end,
                    blobs: vec![(id, location)],
                });
            }
        }
        let mut out = Vec::new();
        for range in ranges {
            let bytes = match &whole {
                Some(plain) => plain.slice(range.start as usize..range.end as usize),
                None => super::restore::fetch_range(&self.client, &key, &range, session).await?,
            };
            let plain = decode_range(&key, &range, &bytes, &session.scheme)?;
            for ((id, _), chunk) in range.blobs.iter().zip(plain) {
                let mut crc = Crc32c::new();
                crc.update(&chunk);
                out.push((*id, crc.value(), chunk.len() as u64));
            }
        }
        Ok(out)
    }

    /// The note on packs under `data/` that no COMPLETED backup's manifest references.
    async fn unreferenced_packs_note(&self, session: &RestoreSession) -> Result<Vec<String>> {
        let layout = &self.f2().layout;
        let packs: BTreeMap<PackId, u64> = self
            .list_below(&layout.packs_prefix())
            .await?
            .into_iter()
            .filter_map(|(key, size)| layout.parse_pack_key(&key).map(|id| (id, size)))
            .collect();
        let completed: Vec<BackupId> = self
            .list(ListFilter::default())
            .await?
            .into_iter()
            .filter(|b| b.status == StatusCode::Completed)
            .map(|b| b.id)
            .collect();
        let used: Vec<HashSet<PackId>> = stream::iter(completed)
            .map(|id| async move {
                let manifest = if id == session.id {
                    None
                } else {
                    self.read_manifest(&id).await?
                };
                let chunks = match &manifest {
                    Some(m) => m.chunk_ids().collect::<Vec<_>>(),
                    None if id == session.id => session.manifest.chunk_ids().collect(),
                    None => Vec::new(),
                };
                Ok::<_, Error>(session.index.referenced_packs(chunks).0)
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        let used: HashSet<PackId> = used.into_iter().flatten().collect();
        let unused: Vec<(&PackId, &u64)> = packs.iter().filter(|(p, _)| !used.contains(*p)).collect();
        if unused.is_empty() {
            return Ok(Vec::new());
        }
        let bytes: u64 = unused.iter().map(|(_, s)| **s).sum();
        let names: Vec<String> = unused
            .iter()
            .take(NOTE_NAMES)
            .map(|(p, _)| layout.pack_key(p))
            .collect();
        let more = match unused.len() {
            n if n > NOTE_NAMES => format!(" and {} more", n - NOTE_NAMES),
            _ => String::new(),
        };
        Ok(vec![format!(
            "{} packs ({bytes} bytes) under {} are referenced by no COMPLETED backup (a save running or killed, or space a prune can reclaim): {}{more}",
            unused.len(),
            layout.packs_prefix(),
            names.join(", ")
        )])
    }
}

/// A file's CRC32C (base64) and size from its chunks' CRC32Cs; `None` when one is unknown.
fn file_crc(chunks: &[ChunkId], crcs: &HashMap<ChunkId, (u32, u64)>) -> Option<(String, u64)> {
    let mut crc = 0u32;
    let mut size = 0u64;
    for chunk in chunks {
        let (part, len) = crcs.get(chunk)?;
        crc = crc32c::crc32c_combine(crc, *part, *len as usize);
        size += len;
    }
    Some((Crc32c::from_value(crc).to_base64(), size))
}

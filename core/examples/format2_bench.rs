//! Format 2's CPU cost per byte on one core, without S3: read every file of a tree, chunk
//! (FastCDC), hash (SHA-256), deduplicate, compress (zstd) and pack, dropping the parts;
//! then the manifest and index objects of that tree (size, encode and load time).
//!
//! ```text
//! cargo run --release -p s3keep --example format2_bench -- DIR [LEVEL...]
//! ```
//! e.g. `DIR=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')`.
//! Prints figures; asserts nothing about time. The tree is read once first, so that the
//! runs measure CPU, not the disk; times are the thread's CPU time (Linux), so the figures
//! hold on a machine busy with other work.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use s3keep::format2::chunker::Chunker;
use s3keep::format2::{
    BlobKind, ChunkIdScheme, ChunkerParams, Compressor, FileStat, Index, IndexFile, Manifest, ManifestFile, PackConfig,
    PackId, PackWriter,
};
use s3keep::s3::checksum::Crc32c;
use s3keep::BackupId;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            walk(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn mbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1_048_576.0 / elapsed.as_secs_f64()
}

/// CPU time of this thread (Linux: the first field of `/proc/thread-self/schedstat`, in
/// ns), so that figures hold on a loaded machine; wall time elsewhere.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// Measures `f` in CPU time where the platform says, else in wall time.
fn measure<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let (cpu, wall) = (cpu_time(), Instant::now());
    let out = f();
    let elapsed = match (cpu, cpu_time()) {
        (Some(a), Some(b)) => b - a,
        _ => wall.elapsed(),
    };
    (out, elapsed)
}

struct Run {
    bytes: u64,
    chunks: u64,
    unique: u64,
    stored: u64,
    packs: u64,
    elapsed: Duration,
    files: Vec<ManifestFile>,
    index: IndexFile,
}

/// `hash = false`: read and chunk only; `level = None`: no compression or packing.
fn run(root: &Path, files: &[PathBuf], hash: bool, level: Option<i32>) -> Run {
    let scheme = ChunkIdScheme::Sha256;
    let mut chunker = Chunker::new(ChunkerParams::DEFAULT).unwrap();
    let mut compressor = Compressor::new(level.unwrap_or(3)).unwrap();
    let mut seen = HashSet::new();
    let mut pack = PackWriter::new(PackId::random(), PackConfig::default()).unwrap();
    let mut index = IndexFile::new();
    let mut r = Run {
        bytes: 0,
        chunks: 0,
        unique: 0,
        stored: 0,
        packs: 0,
        elapsed: Duration::ZERO,
        files: Vec::new(),
        index: IndexFile::new(),
    };
    let ((), elapsed) = measure(|| {
        for path in files {
            let mut file = std::fs::File::open(path).unwrap();
            let stat = FileStat::from_metadata(&file.metadata().unwrap());
            let mut crc = Crc32c::new();
            let mut ids = Vec::new();
            chunker.reset();
            while !chunker.is_done() {
                while let Some(chunk) = chunker.next_chunk() {
                    r.chunks += 1;
                    r.bytes += chunk.data.len() as u64;
                    if !hash {
                        continue;
                    }
                    crc.update(chunk.data);
                    let id = scheme.id(chunk.data);
                    ids.push(id);
                    if !seen.insert(id) {
                        continue;
                    }
                    r.unique += 1;
                    if level.is_none() {
                        continue;
                    }
                    let (compression, stored) = compressor.compress(chunk.data);
                    r.stored += stored.len() as u64;
                    pack.add(id, BlobKind::Data, compression, chunk.data.len(), stored)
                        .unwrap();
                    while pack.take_part().is_some() {}
                    if pack.is_full() {
                        let full = std::mem::replace(
                            &mut pack,
                            PackWriter::new(PackId::random(), PackConfig::default()).unwrap(),
                        );
                        let done = full.finish().unwrap();
                        index.push_pack(done.id, done.length, &done.entries);
                        r.packs += 1;
                    }
                }
                chunker.read_from(&mut file as &mut dyn Read).unwrap();
            }
            r.files.push(ManifestFile {
                name: path.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                size: stat.size,
                crc32c: crc.to_base64(),
                mode: stat.mode,
                mtime_ns: stat.mtime_ns,
                ctime_ns: stat.ctime_ns,
                inode: stat.inode,
                etag: None,
                chunks: ids,
            });
        }
    });
    if !pack.is_empty() {
        let done = pack.finish().unwrap();
        index.push_pack(done.id, done.length, &done.entries);
        r.packs += 1;
    }
    r.elapsed = elapsed;
    r.index = index;
    r
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().expect("usage: format2_bench DIR [LEVEL...]"));
    let mut levels: Vec<i32> = args.map(|a| a.parse().expect("a zstd level")).collect();
    if levels.is_empty() {
        levels = vec![1, 3];
    }
    let mut files = Vec::new();
    walk(&root, &mut files);
    // Warm the page cache.
    let mut buf = Vec::new();
    for path in &files {
        buf.clear();
        std::fs::File::open(path).unwrap().read_to_end(&mut buf).unwrap();
    }

    let chunked = run(&root, &files, false, None);
    println!(
        "read+chunk: {:.2} s, {:.0} MiB/s per core",
        chunked.elapsed.as_secs_f64(),
        mbps(chunked.bytes, chunked.elapsed)
    );
    let hashed = run(&root, &files, true, None);
    println!(
        "{} files, {:.1} MiB, {} chunks ({} unique)",
        files.len(),
        hashed.bytes as f64 / 1_048_576.0,
        hashed.chunks,
        hashed.unique
    );
    println!(
        "read+chunk+crc32c+sha256: {:.2} s, {:.0} MiB/s per core",
        hashed.elapsed.as_secs_f64(),
        mbps(hashed.bytes, hashed.elapsed)
    );
    let mut last = None;
    for level in levels {
        let r = run(&root, &files, true, Some(level));
        println!(
            "read+chunk+crc32c+sha256+zstd-{level}+pack: {:.2} s, {:.0} MiB/s per core; stored {:.1} MiB ({:.1}% of all), {} packs",
            r.elapsed.as_secs_f64(),
            mbps(r.bytes, r.elapsed),
            r.stored as f64 / 1_048_576.0,
            100.0 * r.stored as f64 / r.bytes as f64,
            r.packs
        );
        last = Some(r);
    }
    let r = last.unwrap();

    // The manifest and the index of this tree.
    let mut sets = BTreeMap::new();
    sets.insert("files".to_string(), r.files);
    let mut manifest = Manifest::new(
        &BackupId::new(0, 1, 0),
        sets,
        BTreeMap::new(),
        Default::default(),
        time::OffsetDateTime::UNIX_EPOCH,
        Some(0),
    );
    let (stored, encode) = measure(|| manifest.to_stored(3).unwrap());
    let (back, load) = measure(|| Manifest::from_stored("manifest", &stored).unwrap());
    assert_eq!(back.file_count(), files.len() as u64);
    let json_len = serde_json::to_vec(&back).unwrap().len();
    println!(
        "manifest: {} files, JSON {:.2} MiB, stored (zstd-3) {:.2} MiB ({:.0} B/file); encode {:.0} ms, load {:.0} ms",
        files.len(),
        json_len as f64 / 1_048_576.0,
        stored.len() as f64 / 1_048_576.0,
        stored.len() as f64 / files.len() as f64,
        encode.as_secs_f64() * 1000.0,
        load.as_secs_f64() * 1000.0
    );
    let ((id, stored), encode) = measure(|| r.index.to_stored(3));
    let (index, load) = measure(|| {
        let file = IndexFile::from_stored("index", &id, &stored).unwrap();
        let mut index = Index::new();
        index.merge(&file).unwrap();
        index
    });
    println!(
        "index: {} blobs, stored {:.2} MiB ({:.0} B/blob); encode {:.0} ms, load+merge {:.0} ms, {:.1} MiB in memory ({:.0} B/blob)",
        index.len(),
        stored.len() as f64 / 1_048_576.0,
        stored.len() as f64 / index.len() as f64,
        encode.as_secs_f64() * 1000.0,
        load.as_secs_f64() * 1000.0,
        index.memory_bytes() as f64 / 1_048_576.0,
        index.memory_bytes() as f64 / index.len() as f64
    );
}

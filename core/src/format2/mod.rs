//! Format 2 (§11): content-defined chunks, deduplicated by id, compressed, packed into
//! pack objects, with an index and per-backup manifests. docs/FORMAT.md is the reference of
//! the bytes; this module holds the pure building blocks (no S3 request):
//!
//! - [`chunker`]: FastCDC 2020, streaming with bounded memory;
//! - [`id`]: chunk ids (SHA-256, or HMAC-SHA256 once encrypted), pack/index/lock ids;
//! - [`crypto`] / [`keys`]: age encryption of packs, manifests and index objects, and the
//!   store's key objects (§12);
//! - [`compress`]: zstd per chunk (C zstd natively, ruzstd in wasm32), raw when it does not
//!   shrink;
//! - [`pack`] / [`pack_reader`]: the pack layout, a writer that streams multipart parts, a
//!   reader that checks everything;
//! - [`index`]: chunk id → pack location, index objects, GC's referenced-pack sets;
//! - [`manifest`] / [`change`]: a backup's file list and change detection;
//! - `gc`: garbage collection of packs and index objects (prune, under the exclusive lock);
//! - [`descriptor`], the store descriptor `{prefix}s3keep.json`;
//! - [`layout`], the keys.
//!
//! The save path per file: [`chunker::Chunker`] → [`id::ChunkIdScheme::id`] → if the
//! [`index::Index`] (and this save's own new chunks) lack the id:
//! [`compress::Compressor::compress`] → [`pack::PackWriter::add`] →
//! [`pack::PackWriter::take_part`] to UploadPart → [`pack::PackWriter::finish`] →
//! [`index::IndexFile::push_pack`].

// The crate's one `Error` is 144 bytes by design (ErrorDetails); the rest of the crate
// carries the same clippy warning. Boxing it is a crate-wide decision, not this module's.
#![allow(clippy::result_large_err)]

mod catalog;
pub mod change;
pub mod chunker;
mod chunking;
pub mod compress;
pub mod crypto;
pub mod descriptor;
pub(crate) mod gc;
pub mod id;
pub mod index;
pub mod keys;
pub mod layout;
pub(crate) mod lock;
pub mod manifest;
pub mod pack;
pub mod pack_reader;
mod packer;
pub(crate) mod pinned;
pub(crate) mod restore;
#[cfg(not(target_arch = "wasm32"))]
mod restore_dir;
pub(crate) mod retain;
mod save;
mod sealed;
pub(crate) mod store;
mod task;
pub(crate) mod verify;

pub use crate::report::GcReport;
pub use change::{ChangeRule, Changed, FileStat, Verdict};
pub use chunker::{Chunk, Chunker, ChunkerParams};
pub use compress::{Compression, Compressor, Decompressor};
pub use descriptor::StoreDescriptor;
pub use id::{ChunkId, ChunkIdScheme, IndexId, KeyedSha256, LockId, MacKey, PackId, StoreId};
pub use index::{Index, IndexFile, Located, PackUsage};
pub use layout::Format2Layout;
pub use manifest::{Manifest, ManifestFile};
pub use pack::{BlobKind, BlobLocation, FinishedPack, PackConfig, PackEntry, PackWriter};
pub use pack_reader::{PackHeader, Tail};

//! s3keep: a crash-safe backup store for S3-compatible object storage.
//!
//! Layers, top to bottom: [`BackupStore`] (layout and protocols of §3–§5) →
//! [`s3::S3Client`] (requests, signing, XML, retries) → reqwest (tokio natively, fetch in
//! wasm32). [`retention`] is the pure planner behind `prune`; it and the store share the
//! leaf types [`BackupId`] and [`StatusCode`], so neither depends on the other. [`report`]
//! holds what the operations return and their one JSON schema.
#![deny(missing_docs)]

pub mod backup;
pub mod config;
pub mod error;
pub mod escape;
pub mod format2;
mod id;
pub mod object_lock;
pub mod options;
pub mod redact;
pub mod report;
pub mod retention;
pub mod runtime;
pub mod s3;
mod status;

pub use backup::BackupStore;
pub use config::{
    Addressing, ChecksumMode, ClientConfig, Credentials, EncryptionOptions, RetryConfig, Secret, StoreConfig,
};
pub use error::{Error, ErrorDetails, Result};
pub use id::BackupId;
pub use options::{ConfigBuilder, ConfigKey, ConfigReport};
pub use report::BackupInfo;
pub use status::StatusCode;

/// The `writer` recorded in `status.json` and `metadata.json`: `s3keep/<version>`.
pub const WRITER: &str = concat!("s3keep/", env!("CARGO_PKG_VERSION"));

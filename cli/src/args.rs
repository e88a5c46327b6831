//! The command line of §8, as clap derive types.
//!
//! Global options are `global = true`: accepted before or after the command.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use s3keep::retention::RetentionPolicy;
use s3keep::BackupId;

use crate::options::OptionArgs;
use crate::parse;

/// s3keep: crash-safe backups in S3-compatible object storage (AWS S3, MinIO, Ceph, R2, ...).
///
/// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
/// else from the shared profile (AWS_PROFILE, ~/.aws/credentials). Every store option can
/// also be set by its S3KEEP_* variable; flags win. AWS_CA_BUNDLE names a PEM file of
/// certificate authorities trusted for HTTPS instead of the system's. Exit codes: 0 ok,
/// 1 failure, 2 usage error, 3 not found, 4 already exists / conflict, 5 saved without the
/// files skipped by --on-file-error skip, 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "s3keep", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Where the backups are and how to print.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the command.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Print one JSON document on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars and no confirmation messages; `save` prints only the backup id
    /// (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Diagnostics on stderr: -v one line per S3 request (action, key, HTTP status, ms) and
    /// retries, -vv more. RUST_LOG (e.g. s3keep=debug) overrides. Never a secret or a URL.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The store: `--url`, `--bucket`, `--part-size`... one flag per option of the core's
    /// table, and `-o KEY=VALUE`.
    #[command(flatten)]
    pub options: OptionArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Save a directory (and named file sets) as a new backup.
    Save(SaveArgs),
    /// List backups, optionally filtered by partition, checkpoint or node.
    List(ListArgs),
    /// Show the status of one backup (DOES_NOT_EXIST when there is none).
    Status(IdArg),
    /// Restore a COMPLETED backup into a directory.
    Restore(RestoreArgs),
    /// Delete a backup and every object in it.
    Delete(DeleteArgs),
    /// Mark an IN_PROGRESS backup FAILED (its writer died).
    MarkFailed(MarkFailedArgs),
    /// Apply a retention policy: show the plan, then delete with --yes; in a format 2 store
    /// also delete the packs no backup uses (without --keep-* rules: only that).
    Prune(PruneArgs),
    /// Check that every file of a backup is in the store with its size (--deep: download it and check its CRC32C).
    Verify(VerifyArgs),
    /// Abort multipart uploads left behind by crashed saves.
    CleanupUploads(CleanupArgs),
    /// Check endpoint, credentials, bucket, permissions and clock, with what to do.
    Doctor(DoctorArgs),
    /// Show the effective store options and where each came from (no request is sent).
    Config,
}

/// `save [ID] [DIR] [--set NAME=PATH]... [--meta KEY=VALUE]...` (and the store options
/// `--follow-symlinks`, `--on-file-error fail|skip` of the core's table)
#[derive(Debug, Args)]
#[command(after_long_help = SAVE_RULES)]
pub struct SaveArgs {
    /// PARTITION/CHECKPOINT/NODE (default 0/<now in ms>/0). With one argument that is not an
    /// id, it is taken as DIR.
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Directory saved as the file set `files`.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Also save PATH (a directory, or a single file) as the file set NAME; or every object
    /// under an S3 prefix, s3://BUCKET/PREFIX?endpoint=...&region=...&profile=... (credentials:
    /// S3KEEP_SOURCE_* variables or the URL's profile; the store's only on its endpoint).
    #[arg(long = "set", value_name = "NAME=PATH", value_parser = parse::set_arg)]
    pub sets: Vec<(String, PathBuf)>,
    /// User metadata stored with the backup.
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse::meta_arg)]
    pub meta: Vec<(String, String)>,
}

/// What `save --help` says about the files of a tree.
const SAVE_RULES: &str = "What is saved:
  A path given as DIR or --set NAME=PATH is read through links. A directory is walked; any
  other path is one file named by its file name. A FIFO named this way is opened before
  the first request (the save waits for its writer; nothing is in the store until then),
  read to its end and streamed (multipart as it fills), e.g. `mkfifo /run/db.fifo; pg_dump > /run/db.fifo &
  s3keep save --set db=/run/db.fifo`.
  Inside a directory, only regular files are saved: symbolic links are skipped with a note
  (the backup format stores regular files only) unless --follow-symlinks; FIFOs, sockets and
  devices are skipped with a note. A file that cannot be read fails the save before any
  request (--on-file-error fail), or is left out with a note (--on-file-error skip; the
  exit code is then 5). Notes go to stderr (`note: skipped ...`) and to the
  `skipped` list of --json. Names are printed with control characters escaped (\\n, \\u{1b}).";

/// `list [--partition P] [--checkpoint C] [--node N]`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this partition.
    #[arg(long, value_name = "P")]
    pub partition: Option<u32>,
    /// Only this checkpoint.
    #[arg(long, value_name = "C")]
    pub checkpoint: Option<u64>,
    /// Only this node.
    #[arg(long, value_name = "N")]
    pub node: Option<u32>,
}

/// A command taking only a backup id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// PARTITION/CHECKPOINT/NODE.
    #[arg(value_name = "ID", value_parser = parse::backup_id)]
    pub id: BackupId,
}

/// `restore ID DIR [--set NAME]`
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// PARTITION/CHECKPOINT/NODE of a COMPLETED backup.
    #[arg(value_name = "ID", value_parser = parse::backup_id)]
    pub id: BackupId,
    /// Target directory: the set `files` goes into DIR itself, every other set NAME into
    /// DIR/NAME/. Files already there with the right size and CRC32C are skipped. Or a
    /// bucket and prefix, s3://BUCKET/PREFIX?endpoint=...&region=...&profile=... (credentials:
    /// S3KEEP_SOURCE_* variables or the URL's profile; the store's only on its endpoint).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Restore only this set, straight into DIR.
    #[arg(long, value_name = "NAME")]
    pub set: Option<String>,
}

/// `delete ID [--force]`
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// PARTITION/CHECKPOINT/NODE.
    #[arg(value_name = "ID", value_parser = parse::backup_id)]
    pub id: BackupId,
    /// Also delete an IN_PROGRESS backup that is not yet stale (its writer may be running).
    #[arg(long)]
    pub force: bool,
}

/// `mark-failed ID [--reason R]`
#[derive(Debug, Args)]
pub struct MarkFailedArgs {
    /// PARTITION/CHECKPOINT/NODE of an IN_PROGRESS backup.
    #[arg(value_name = "ID", value_parser = parse::backup_id)]
    pub id: BackupId,
    /// The failure reason recorded in status.json.
    #[arg(long, value_name = "R", default_value = "marked failed with the s3keep command")]
    pub reason: String,
}

/// `prune [--keep-* N]... [--keep-within DURATION] [--prune-failed] [--prune-stale] (--dry-run | --yes)`
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep the N newest COMPLETED backups of each (partition, node).
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N hours that have one.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the last N days that have one.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N weeks that have one.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months that have one.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years that have one.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// Keep every backup created within DURATION of the newest one (90s, 30m, 24h, 7d, 1h30m).
    #[arg(long, value_name = "DURATION", value_parser = parse::duration)]
    pub keep_within: Option<Duration>,
    /// Delete FAILED backups.
    #[arg(long)]
    pub prune_failed: bool,
    /// Delete IN_PROGRESS backups older than --stale-after (orphans of crashed saves).
    #[arg(long)]
    pub prune_stale: bool,
    /// Only show the plan; delete nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Delete what the plan says, without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl PruneArgs {
    /// The retention policy of the flags; stale after the store's `stale_after` option.
    pub fn policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            keep_last: self.keep_last,
            keep_hourly: self.keep_hourly,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            keep_within: self.keep_within,
            prune_failed: self.prune_failed,
            prune_stale: self.prune_stale,
            stale_after: None,
        }
    }
}

/// `verify ID [--deep]`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// PARTITION/CHECKPOINT/NODE of a COMPLETED backup.
    #[arg(value_name = "ID", value_parser = parse::backup_id)]
    pub id: BackupId,
    /// Download every file again and check its CRC32C (content). Without it, verify checks
    /// presence and sizes only (from a listing of the backup): a same-size replacement goes
    /// unseen.
    #[arg(long)]
    pub deep: bool,
}

/// `doctor [--probe]`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also test, with throwaway keys under the prefix (deleted after), what the backup
    /// protocols rely on: If-None-Match / If-Match refused when they must be, CRC32C checked,
    /// multipart, DeleteObjects, list paging, Object Lock. About 20 requests.
    #[arg(long)]
    pub probe: bool,
}

/// `cleanup-uploads [--older-than DURATION]`
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Abort uploads started more than DURATION ago (90s, 30m, 24h, 7d; default: the
    /// --stale-after option, 1d); keep it above the longest save.
    #[arg(long, value_name = "DURATION", value_parser = parse::duration)]
    pub older_than: Option<Duration>,
}

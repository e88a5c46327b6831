//! Exit codes of §8, stable for scripts.

use s3keep::Error;

/// Success.
pub const OK: i32 = 0;
/// The operation failed (network, permissions, integrity, a verify with problems, ...).
pub const FAILURE: i32 = 1;
/// Bad command line or input, rejected before anything was changed.
pub const USAGE: i32 = 2;
/// The backup (or bucket) does not exist.
pub const NOT_FOUND: i32 = 3;
/// The backup already exists, or a concurrent change conflicted.
pub const CONFLICT: i32 = 4;
/// The backup was saved (COMPLETED) without files that could not be read
/// (`--on-file-error skip`; restic's "incomplete snapshot"). The notes name them.
pub const INCOMPLETE: i32 = 5;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

/// The exit code for an error of the core.
pub fn code_for(error: &Error) -> i32 {
    match error {
        Error::NotFound(_) | Error::NoSuchBucket(_) => NOT_FOUND,
        Error::BackupAlreadyExists(_) | Error::Conflict(_) => CONFLICT,
        Error::InvalidInput(_) => USAGE,
        Error::Cancelled(_) => INTERRUPTED,
        _ => FAILURE,
    }
}

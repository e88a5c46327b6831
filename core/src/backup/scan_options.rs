//! The options of a scan of a local tree (scan.rs), kept apart so that the option table
//! and [`crate::StoreConfig`] know them on every target (wasm32 walks no directories).

use crate::error::{Error, Result};

/// What to do with a file of a tree that cannot be saved (option key `on_file_error`,
/// values `fail` and `skip`; the CLI's `--on-file-error`, Python's `on_file_error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFileError {
    /// Stop: the scan fails with an error naming the file, before any request is sent.
    #[default]
    Fail,
    /// Skip the file with a note ([`SkipReason::Error`]) and save the rest.
    Skip,
}

impl OnFileError {
    /// `fail` or `skip`, as the option takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Skip => "skip",
        }
    }
}

impl std::str::FromStr for OnFileError {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "fail" => Ok(Self::Fail),
            "skip" => Ok(Self::Skip),
            _ => Err(Error::invalid_input(format!(
                "on_file_error must be \"fail\" or \"skip\", not {:?}",
                crate::escape::escape_controls(text)
            ))),
        }
    }
}

/// How a local path becomes a file set (option keys `follow_symlinks`, `on_file_error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// Follow symbolic links met inside a tree (to files and directories); default `false`:
    /// links are skipped with a note.
    pub follow_symlinks: bool,
    /// What a file that cannot be saved does to the scan; default [`OnFileError::Fail`].
    pub on_file_error: OnFileError,
}

//! Store errors: every variant names the file it is about.

use std::io;
use std::path::PathBuf;

use crate::time::{Timeframe, Timestamp};

/// Why a store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An operating-system error on a store file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The directory has no `MANIFEST.json`: it is not a store (yet).
    #[error("{0}: no bar store here (MANIFEST.json is missing); import or generate data first")]
    NotAStore(PathBuf),
    /// The manifest exists but cannot be parsed or describes an impossible store.
    #[error("{path}: corrupt manifest: {reason}")]
    Manifest {
        /// Path of the manifest.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A segment file is shorter or longer than the manifest recorded.
    #[error("{path}: truncated or altered store file: the manifest records {expected} bytes, found {found}")]
    SizeMismatch {
        /// The segment file.
        path: PathBuf,
        /// Size recorded in the manifest.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// A segment file's Arrow structure or tradebot index is invalid.
    #[error("{path}: corrupt store file: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A segment's content hash differs from the manifest's (found by `verify`).
    #[error(
        "{path}: checksum mismatch: the manifest records {expected:016x}, the file hashes to {found:016x}"
    )]
    Checksum {
        /// The segment file.
        path: PathBuf,
        /// Hash recorded in the manifest.
        expected: u64,
        /// Hash of the bytes on disk.
        found: u64,
    },
    /// Another process holds the store's write lock.
    #[error("{0}: the store is locked by another writer (an import, generate or refresh is running)")]
    Locked(PathBuf),
    /// Appended bars overlap stored ones with different values.
    #[error(
        "{symbol} {timeframe}: new bar at {ts} conflicts with the stored bar at the same time; \
         re-import with --replace to overwrite the symbol's history"
    )]
    Conflict {
        /// The symbol.
        symbol: String,
        /// The timeframe.
        timeframe: Timeframe,
        /// First conflicting timestamp.
        ts: Timestamp,
    },
    /// Appended bars start before the stored history ends, without matching it.
    #[error(
        "{symbol} {timeframe}: new bars start at {first}, inside the stored history \
         (which ends at {stored_last}) but do not match it; re-import with --replace"
    )]
    Overlap {
        /// The symbol.
        symbol: String,
        /// The timeframe.
        timeframe: Timeframe,
        /// First new bar.
        first: Timestamp,
        /// Last stored bar.
        stored_last: Timestamp,
    },
    /// The same symbol and timeframe appear twice in one write.
    #[error("{symbol} {timeframe}: given twice in one write")]
    Duplicate {
        /// The symbol.
        symbol: String,
        /// The timeframe.
        timeframe: Timeframe,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt { path: path.into(), reason: reason.to_string() }
    }
}

impl From<crate::fsio::FsError> for StoreError {
    fn from(e: crate::fsio::FsError) -> Self {
        StoreError::Io { path: e.path, source: e.source }
    }
}

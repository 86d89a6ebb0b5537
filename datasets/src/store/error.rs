//! Store errors: every variant names the file it is about.

use std::io;
use std::path::{Path, PathBuf};

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
    /// The device holding a store file is full (ENOSPC or a quota): nothing is corrupt.
    #[error("no space left on {} while writing {}", device.display(), path.display())]
    NoSpace {
        /// Mount point of the full file system.
        device: PathBuf,
        /// The file being written.
        path: PathBuf,
    },
    /// A symbol that is not a valid name (see [`crate::symbol`]).
    #[error("symbol {shown}: {error}", shown = crate::symbol::quoted_for_error(symbol))]
    InvalidSymbol {
        /// The rejected symbol.
        symbol: String,
        /// Why.
        error: crate::symbol::SymbolError,
    },
    /// `remove` named a series the store does not hold.
    #[error("{symbol}{}: not in the store", timeframe.map(|t| format!(" {t}")).unwrap_or_default())]
    NotStored {
        /// The symbol.
        symbol: String,
        /// The timeframe, when one was given.
        timeframe: Option<Timeframe>,
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
        move |source| StoreError::from_io(path, source)
    }

    /// Wraps an OS error on `path`; a full device becomes [`StoreError::NoSpace`].
    pub(crate) fn from_io(path: PathBuf, source: io::Error) -> StoreError {
        if matches!(source.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded) {
            StoreError::NoSpace { device: mount_point(&path), path }
        } else {
            StoreError::Io { path, source }
        }
    }

    /// An Arrow error while writing `path`: I/O failures keep their OS meaning (a full disk
    /// is not a corrupt file); anything else is a format problem.
    pub(crate) fn arrow(path: &Path) -> impl FnOnce(arrow_schema::ArrowError) -> StoreError + '_ {
        move |e| match e {
            arrow_schema::ArrowError::IoError(_, source) => StoreError::from_io(path.to_path_buf(), source),
            other => StoreError::corrupt(path, other),
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt { path: path.into(), reason: reason.to_string() }
    }
}

impl From<crate::fsio::FsError> for StoreError {
    fn from(e: crate::fsio::FsError) -> Self {
        StoreError::from_io(e.path, e.source)
    }
}

/// The mount point holding `path` (the highest existing ancestor on the same device), so a
/// full-disk message names the device to free; `path`'s nearest existing ancestor otherwise.
fn mount_point(path: &Path) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.ancestors().filter_map(|p| Some((p, std::fs::metadata(p).ok()?.dev())));
    let Some((mut mount, dev)) = existing.next() else { return absolute };
    for (p, d) in existing {
        if d != dev {
            break;
        }
        mount = p;
    }
    mount.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_device_is_reported_as_such_not_as_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("segments/000002-1Day.arrow.tmp");
        let err = StoreError::from_io(file.clone(), io::Error::from_raw_os_error(28));
        let msg = err.to_string();
        assert!(msg.starts_with("no space left on /"), "{msg}");
        assert!(msg.ends_with(&format!("while writing {}", file.display())), "{msg}");
        assert!(!msg.contains("corrupt"), "{msg}");
        let arrow = arrow_schema::ArrowError::IoError("write".into(), io::Error::from_raw_os_error(28));
        assert!(matches!(StoreError::arrow(&file)(arrow), StoreError::NoSpace { .. }));
    }
}

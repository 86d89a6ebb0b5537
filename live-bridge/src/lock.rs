//! The live service's exclusive lock on its data directory: one service per `live.db`.
//!
//! `live.service.lock` in the data directory is `flock`ed exclusively for as long as a service
//! runs (released by the OS on any exit, SIGKILL included). A second service on the same
//! directory refuses to start, and `tradebot live halt` uses it to tell whether a running
//! service will see the kill switch. (The shared `live.db.lock` of `ops::lock` is a different
//! convention: it keeps `tradebot db restore` away from a database in use.)

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory.
pub const SERVICE_LOCK_FILE: &str = "live.service.lock";

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ServiceLockError {
    /// Another service runs on this data directory.
    #[error("another live service runs on {dir}{}: {lock} is locked (stop it first; two services would trade the same books twice)", pids_text(.pids))]
    Busy {
        /// The data directory.
        dir: String,
        /// The lock file.
        lock: String,
        /// Its holders, when the system says.
        pids: Vec<u32>,
    },
    /// The lock file could not be created or locked.
    #[error("{lock}: {source}")]
    Io {
        /// The lock file.
        lock: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn pids_text(pids: &[u32]) -> String {
    match pids {
        [] => String::new(),
        _ => format!(" (pid {})", pids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// The held lock; released on drop.
#[derive(Debug)]
pub struct ServiceLock {
    _file: File,
}

/// The lock file of `data_dir`.
pub fn lock_file(data_dir: &Path) -> PathBuf {
    data_dir.join(SERVICE_LOCK_FILE)
}

/// The processes holding the lock, from `/proc/locks` (empty when unknown).
fn holders(data_dir: &Path) -> Vec<u32> {
    // `ops::lock::holders` reads the lock of "FILE" at "FILE.lock".
    ops::lock::holders(&data_dir.join("live.service"))
}

impl ServiceLock {
    /// Takes the lock of `data_dir` (which must exist); fails at once if a service holds it.
    pub fn take(data_dir: &Path) -> Result<ServiceLock, ServiceLockError> {
        let path = lock_file(data_dir);
        let io = |source| ServiceLockError::Io { lock: path.display().to_string(), source };
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(ServiceLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(ServiceLockError::Busy {
                dir: data_dir.display().to_string(),
                lock: path.display().to_string(),
                pids: holders(data_dir),
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// Whether a service runs on `data_dir` now: `Some(pids)` (pids possibly unknown) when the
    /// lock is held. Creates nothing.
    pub fn running(data_dir: &Path) -> Option<Vec<u32>> {
        let file = File::open(lock_file(data_dir)).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(TryLockError::WouldBlock) => Some(holders(data_dir)),
            Err(TryLockError::Error(_)) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_service_per_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ServiceLock::running(dir.path()), None);
        assert!(!lock_file(dir.path()).exists(), "asking creates nothing");
        let held = ServiceLock::take(dir.path()).unwrap();
        assert!(ServiceLock::running(dir.path()).is_some());
        let err = ServiceLock::take(dir.path()).unwrap_err().to_string();
        assert!(err.contains("another live service runs on"), "{err}");
        drop(held);
        assert_eq!(ServiceLock::running(dir.path()), None);
        ServiceLock::take(dir.path()).unwrap();
    }
}

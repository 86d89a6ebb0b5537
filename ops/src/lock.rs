//! The database lock convention shared by every service.
//!
//! A process that uses database `FILE` (e.g. `data/live.db`) holds an advisory lock on
//! `FILE.lock` (`data/live.db.lock`) for as long as it has the database open: **shared** for
//! normal use, so the research run, the live service and the dashboard may all hold it at once;
//! **exclusive** only to replace the file (`tradebot db restore`), which therefore refuses while
//! any service runs, and no service can start while a restore is under way. The lock is an OS
//! file lock (`flock`), so it is released when the process exits, even on a crash or SIGKILL:
//! no stale pid files. Backups need no lock: SQLite's online backup reads a consistent snapshot
//! while services write.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// The lock is held the other way by someone else.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A service has the database open (restore refused), or a restore is running (service
    /// start refused).
    #[error("{db} is in use: {lock} is locked by {holder}")]
    Busy {
        /// The database.
        db: String,
        /// The lock file.
        lock: String,
        /// Who holds it, as far as can be said.
        holder: &'static str,
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

/// A held database lock; released on drop (or when the process ends).
#[derive(Debug)]
pub struct DbLock {
    _file: File,
    path: PathBuf,
}

/// The lock file of database `db`: `db` with `.lock` appended.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl DbLock {
    /// Takes the shared lock a service holds while it uses `db`; fails at once (no waiting)
    /// if a restore holds it exclusively.
    pub fn shared(db: &Path) -> Result<DbLock, LockError> {
        Self::take(db, true)
    }

    /// Takes the exclusive lock needed to replace `db`; fails at once if any service holds it.
    pub fn exclusive(db: &Path) -> Result<DbLock, LockError> {
        Self::take(db, false)
    }

    /// The lock file held.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn take(db: &Path, shared: bool) -> Result<DbLock, LockError> {
        let path = lock_path(db);
        let io = |source| LockError::Io { lock: path.display().to_string(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        let taken = if shared { file.try_lock_shared() } else { file.try_lock() };
        match taken {
            Ok(()) => Ok(DbLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(LockError::Busy {
                db: db.display().to_string(),
                lock: path.display().to_string(),
                holder: if shared { "a restore in progress" } else { "a running service" },
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_share_and_a_restore_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        assert_eq!(lock_path(&db), dir.path().join("live.db.lock"));
        let a = DbLock::shared(&db).unwrap();
        let b = DbLock::shared(&db).unwrap();
        let err = DbLock::exclusive(&db).unwrap_err();
        assert!(err.to_string().ends_with("live.db.lock is locked by a running service"), "{err}");
        drop((a, b));
        let restore = DbLock::exclusive(&db).unwrap();
        assert!(matches!(DbLock::shared(&db), Err(LockError::Busy { holder: "a restore in progress", .. })));
        drop(restore);
        DbLock::shared(&db).unwrap();
    }
}

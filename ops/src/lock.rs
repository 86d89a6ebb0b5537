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
    #[error("{db} is in use: {lock} is locked by {holder}{}", pids_text(.pids))]
    Busy {
        /// The database.
        db: String,
        /// The lock file.
        lock: String,
        /// Who holds it, as far as can be said.
        holder: &'static str,
        /// The processes holding it (from `/proc/locks`; empty when unknown).
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
                pids: holders(db),
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

fn pids_text(pids: &[u32]) -> String {
    match pids {
        [] => String::new(),
        _ => format!(" (pid {})", pids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// The processes holding `db`'s lock (shared or exclusive), from `/proc/locks`; empty when
/// nobody holds it, the lock file does not exist, or the system does not say. Reading it takes
/// no lock, so `tradebot status` can tell whether a service runs without disturbing it.
pub fn holders(db: &Path) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(lock_path(db)) else { return Vec::new() };
    let Ok(table) = std::fs::read_to_string("/proc/locks") else { return Vec::new() };
    let dev = meta.dev();
    let id = format!("{:02x}:{:02x}:{}", rustix::fs::major(dev), rustix::fs::minor(dev), meta.ino());
    parse_proc_locks(&table, &id)
}

/// The pids of the `FLOCK` lines of a `/proc/locks` text on file `id` (`MAJ:MIN:INODE`, hex
/// device numbers as the kernel prints them).
fn parse_proc_locks(table: &str, id: &str) -> Vec<u32> {
    let mut pids: Vec<u32> = table
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // "1: FLOCK  ADVISORY  READ 1307 fe:00:10133507 0 EOF"; blocked waiters have "->".
            (f.len() >= 6 && f[1] == "FLOCK" && f[5].eq_ignore_ascii_case(id)).then(|| f[4].parse().ok())?
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_share_and_a_restore_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        assert_eq!(lock_path(&db), dir.path().join("live.db.lock"));
        assert!(holders(&db).is_empty());
        let a = DbLock::shared(&db).unwrap();
        let b = DbLock::shared(&db).unwrap();
        let me = std::process::id();
        assert_eq!(holders(&db), [me]);
        let err = DbLock::exclusive(&db).unwrap_err();
        assert!(
            err.to_string().ends_with(&format!("live.db.lock is locked by a running service (pid {me})")),
            "{err}"
        );
        drop((a, b));
        assert!(holders(&db).is_empty());
        let restore = DbLock::exclusive(&db).unwrap();
        assert!(matches!(DbLock::shared(&db), Err(LockError::Busy { holder: "a restore in progress", .. })));
        assert_eq!(holders(&db), [std::process::id()]);
        drop(restore);
        DbLock::shared(&db).unwrap();
    }

    #[test]
    fn reads_the_holders_of_one_file_from_proc_locks() {
        let table = "1: FLOCK  ADVISORY  WRITE 1307 fe:00:5447841 0 EOF\n\
                     2: FLOCK  ADVISORY  READ 1400 fe:00:10133507 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 1500 fe:00:10133507 0 EOF\n\
                     3: POSIX  ADVISORY  READ 31935 fe:00:10133507 128 128\n\
                     4: FLOCK  ADVISORY  READ 1300 fe:00:10133507 0 EOF\n";
        assert_eq!(parse_proc_locks(table, "fe:00:10133507"), [1300, 1400]);
        assert!(parse_proc_locks(table, "fe:01:10133507").is_empty());
    }
}

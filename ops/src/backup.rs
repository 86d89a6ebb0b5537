//! Verified database backups with SQLite's online backup API, and restore.
//!
//! `backup` copies each database into `TO/YYYY-MM-DD/` while services keep writing: each copy is
//! one backup step over all pages, i.e. one read transaction, so it is a consistent snapshot
//! that holds every transaction committed before it began (WAL readers do not block writers).
//! Each copy is switched to a self-contained rollback-journal file, fsynced and checked with
//! `PRAGMA integrity_check`; only when every copy is `ok` does the day's directory replace any
//! earlier one of the same day (rename), and only then are days beyond the last `keep` deleted.
//! A failed check is an error naming the database and SQLite's findings, and deletes nothing.
//!
//! `restore` checks the copy, takes the database's exclusive lock ([`crate::lock`]), so it
//! refuses while a service has the database open, keeps the current file as
//! `FILE.before-restore`, and writes the copy back through the backup API.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use rusqlite::{Connection, MAIN_DB, OpenFlags};
use serde::{Deserialize, Serialize};

use datasets::fsio::{FsError, sync_dir, write_atomic};

use crate::lock::{DbLock, LockError};
use crate::now_ns;

/// Default backup directory, relative to the working directory.
pub const DEFAULT_DIR: &str = "backups";

/// Daily copies kept by default.
pub const DEFAULT_KEEP: usize = 7;

/// The file in each backup directory that lists its copies.
pub const MANIFEST: &str = "backup.json";

/// How long the backup waits for a writer holding SQLite's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// SQLite failed on a file.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database or copy.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A copy is damaged.
    #[error("{path}: integrity check failed: {findings}")]
    Integrity {
        /// The file checked.
        path: String,
        /// SQLite's findings, `; `-separated.
        findings: String,
    },
    /// Nothing to back up.
    #[error("no database to back up (looked for *.db in {0})")]
    Nothing(String),
    /// The database is held by a service (the lock error is in the message, not a source, so
    /// an error chain does not print it twice).
    #[error("refusing to restore: {0}; stop the service first")]
    Locked(LockError),
    /// Writing the backup into its destination failed (a full disk, a damaged copy, …); the
    /// partial copy was removed and the sources are untouched.
    #[error("backup to {} failed, partial copy removed (the databases backed up are unchanged): {source}", dest.display())]
    Destination {
        /// The backup directory given (`--to`).
        dest: PathBuf,
        /// What failed.
        source: Box<BackupError>,
    },
    /// Two databases would be copied to the same file name.
    #[error("two databases are named {0}; back them up to different directories")]
    SameName(String),
}

impl From<LockError> for BackupError {
    fn from(e: LockError) -> Self {
        BackupError::Locked(e)
    }
}

/// One database copied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copy {
    /// The database that was copied.
    pub source: PathBuf,
    /// The copy's file name inside the backup directory.
    pub file: String,
    /// Size of the copy.
    pub bytes: u64,
}

/// What a backup did (also written as `backup.json` in the day's directory).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupReport {
    /// The day's directory.
    pub dir: PathBuf,
    /// When the backup finished (UTC epoch ns).
    pub time_ns: i64,
    /// The copies, each verified `ok`.
    pub copies: Vec<Copy>,
    /// Older day directories deleted to keep the last N.
    #[serde(skip)]
    pub pruned: Vec<PathBuf>,
}

/// Every `*.db` file directly in `data_dir`, sorted: the research, operations and live
/// databases by their default paths, and any database a later service adds there.
pub fn discover(data_dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut out: Vec<PathBuf> = fs::read_dir(data_dir)
        .map_err(FsError::at(data_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "db"))
        .collect();
    out.sort();
    Ok(out)
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite { path: path.display().to_string(), source }
}

/// Runs `PRAGMA integrity_check` on `path`; an error unless SQLite answers exactly `ok`.
/// Opened read-write (never created): on a read-only connection SQLite skips the CHECK
/// constraints.
pub fn integrity_check(path: &Path) -> Result<(), BackupError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite(path))?;
    let findings: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite(path))?;
    if findings == ["ok"] {
        Ok(())
    } else {
        Err(BackupError::Integrity { path: path.display().to_string(), findings: findings.join("; ") })
    }
}

/// Copies `source` to `target` (a new file) with the online backup API, as one step: a
/// consistent snapshot. The copy is made self-contained (rollback journal) and fsynced.
fn copy_database(source: &Path, target: &Path) -> Result<u64, BackupError> {
    let src =
        Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite(source))?;
    src.busy_timeout(BUSY_TIMEOUT).map_err(sqlite(source))?;
    let mut dst = Connection::open(target).map_err(sqlite(target))?;
    {
        use rusqlite::backup::{Backup, StepResult};
        let backup = Backup::new(&src, &mut dst).map_err(sqlite(target))?;
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        // All pages in one step (-1): one read transaction, hence one snapshot. (rusqlite's
        // `run_to_completion` only takes positive page counts.)
        loop {
            // A step fails on the copy's side (a full destination: SQLITE_FULL), so the error
            // names the copy, not the healthy source.
            match backup.step(-1).map_err(sqlite(target))? {
                StepResult::Done => break,
                _ if std::time::Instant::now() >= deadline => {
                    return Err(sqlite(source)(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("still locked after 30 s".into()),
                    )));
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    dst.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get::<_, String>(0)).map_err(sqlite(target))?;
    dst.close().map_err(|(_, e)| sqlite(target)(e))?;
    let file = fs::File::open(target).map_err(FsError::at(target))?;
    file.sync_all().map_err(FsError::at(target))?;
    Ok(file.metadata().map_err(FsError::at(target))?.len())
}

/// Backs up `databases` into `to/DAY/`, verifies every copy, then keeps the last `keep` days.
pub fn backup(
    databases: &[PathBuf],
    to: &Path,
    keep: usize,
    day: NaiveDate,
) -> Result<BackupReport, BackupError> {
    if databases.is_empty() {
        return Err(BackupError::Nothing(to.display().to_string()));
    }
    fs::create_dir_all(to).map_err(FsError::at(to))?;
    let name = day.format("%Y-%m-%d").to_string();
    let partial = to.join(format!(".{name}.partial"));
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(FsError::at(&partial))?;
    }
    fs::create_dir(&partial).map_err(FsError::at(&partial))?;
    let copied = copy_all(databases, &partial);
    let copies = match copied {
        Ok(copies) => copies,
        Err(e) => {
            // Never leave a half-written day behind (it keeps a full disk full).
            let _ = fs::remove_dir_all(&partial);
            return Err(BackupError::Destination { dest: to.to_path_buf(), source: Box::new(e) });
        }
    };
    let dir = to.join(&name);
    let mut report = BackupReport { dir: dir.clone(), time_ns: now_ns(), copies, pruned: Vec::new() };
    let manifest = serde_json::to_vec_pretty(&report).expect("a backup report serialises");
    if let Err(e) = write_atomic(&partial.join(MANIFEST), &manifest) {
        let _ = fs::remove_dir_all(&partial);
        return Err(BackupError::Destination { dest: to.to_path_buf(), source: Box::new(e.into()) });
    }
    if dir.exists() {
        let old = to.join(format!(".{name}.old"));
        fs::rename(&dir, &old).map_err(FsError::at(&dir))?;
        fs::rename(&partial, &dir).map_err(FsError::at(&dir))?;
        fs::remove_dir_all(&old).map_err(FsError::at(&old))?;
    } else {
        fs::rename(&partial, &dir).map_err(FsError::at(&dir))?;
    }
    sync_dir(to)?;
    report.pruned = prune(to, keep)?;
    Ok(report)
}

/// Copies and checks every database into `partial`.
fn copy_all(databases: &[PathBuf], partial: &Path) -> Result<Vec<Copy>, BackupError> {
    let mut copies: Vec<Copy> = Vec::new();
    for source in databases {
        let file = source.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        if copies.iter().any(|c| c.file == file) {
            return Err(BackupError::SameName(file));
        }
        let target = partial.join(&file);
        let bytes = copy_database(source, &target)?;
        integrity_check(&target)?;
        copies.push(Copy { source: source.clone(), file, bytes });
    }
    Ok(copies)
}

/// The day directories (`YYYY-MM-DD`) in `to`, oldest first.
pub fn days(to: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut out: Vec<PathBuf> = fs::read_dir(to)
        .map_err(FsError::at(to))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| NaiveDate::parse_from_str(n, "%Y-%m-%d").is_ok())
        })
        .collect();
    out.sort();
    Ok(out)
}

fn prune(to: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let all = days(to)?;
    let excess = all.len().saturating_sub(keep.max(1));
    let gone: Vec<PathBuf> = all.into_iter().take(excess).collect();
    for d in &gone {
        fs::remove_dir_all(d).map_err(FsError::at(d))?;
    }
    Ok(gone)
}

/// Where a copy was taken from, per the `backup.json` next to it.
pub fn source_of(copy: &Path) -> Option<PathBuf> {
    let manifest = copy.parent()?.join(MANIFEST);
    let report: BackupReport = serde_json::from_slice(&fs::read(manifest).ok()?).ok()?;
    let file = copy.file_name()?.to_str()?;
    report.copies.into_iter().find(|c| c.file == file).map(|c| c.source)
}

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreReport {
    /// The database replaced.
    pub target: PathBuf,
    /// The previous file, kept (when there was one).
    pub previous: Option<PathBuf>,
}

/// Restores `copy` into `target`: checks the copy, refuses while a service holds the target's
/// lock, keeps the current file as `TARGET.before-restore`, writes the copy through the backup
/// API (so the target's WAL stays consistent), and checks the result.
pub fn restore(copy: &Path, target: &Path) -> Result<RestoreReport, BackupError> {
    integrity_check(copy)?;
    let _lock = DbLock::exclusive(target)?;
    let previous = if target.exists() {
        let mut name = target.as_os_str().to_owned();
        name.push(".before-restore");
        let keep = PathBuf::from(name);
        if keep.exists() {
            fs::remove_file(&keep).map_err(FsError::at(&keep))?;
        }
        copy_database(target, &keep)?;
        Some(keep)
    } else {
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(FsError::at(dir))?;
        }
        None
    };
    let mut dst = Connection::open(target).map_err(sqlite(target))?;
    dst.busy_timeout(BUSY_TIMEOUT).map_err(sqlite(target))?;
    dst.restore(MAIN_DB, copy, None::<fn(rusqlite::backup::Progress)>).map_err(sqlite(target))?;
    dst.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)).map_err(sqlite(target))?;
    dst.close().map_err(|(_, e)| sqlite(target)(e))?;
    integrity_check(target)?;
    Ok(RestoreReport { target: target.to_path_buf(), previous })
}

#[cfg(test)]
mod tests;

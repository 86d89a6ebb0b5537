//! The integrity check every SQLite database of the project runs as it is opened.
//!
//! SQLite opens a damaged file without complaint and keeps writing into it until a query
//! happens to touch a bad page; a 0-byte file it silently treats as a new, empty database. So
//! [`open`] refuses an existing 0-byte file (one SQLite creates because the path did not exist
//! is new, not empty) and runs `PRAGMA quick_check` — every page and b-tree checked, without the
//! index-content cross-check of `integrity_check`, so it costs one read of the file. A failing
//! database is refused with its path and the `tradebot db restore` command that puts a backup
//! back.
//!
//! Where it sits: first, beside datasets: every crate that opens SQLite (evolve's research
//! database, ops, the live bridge) opens it through [`open`].
//!
//! # Example
//!
//! A new database opens; an existing empty file is refused:
//!
//! ```
//! let tmp = tempfile::tempdir()?;
//! let conn = dbkit::open(&tmp.path().join("new.db"))?;
//! conn.execute_batch("CREATE TABLE t (x INTEGER)")?;
//!
//! let empty = tmp.path().join("empty.db");
//! std::fs::write(&empty, b"")?;
//! let error = dbkit::open(&empty).unwrap_err();
//! assert!(error.to_string().contains("empty.db"), "{error}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// How long the check waits for another process's lock on the file.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The backup directory `tradebot db backup` writes by default (named in the restore hint).
const BACKUPS: &str = "backups";

/// A database that cannot be opened, or fails its check.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file is damaged (or is not a database at all).
    #[error(
        "{} is corrupt: {detail}. Nothing was written to it. Restore the newest good copy with \
         `tradebot db restore {BACKUPS}/YYYY-MM-DD/{} --to {}` (the copies `tradebot db backup` made), \
         or move the file away to start an empty database",
        path.display(),
        path.file_name().map_or_else(|| "FILE".into(), |f| f.to_string_lossy()),
        path.display()
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong: the first lines of `quick_check`, or SQLite's error.
        detail: String,
    },
    /// A new database's file could not be put in place.
    #[error("{}: cannot create the database: {source}", path.display())]
    Io {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite failed for another reason (permissions, a lock, a missing directory).
    #[error("{}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// Opens `path` read-write, creating it (with its header written) if it does not exist, and
/// checks it (see the module documentation).
pub fn open(path: &Path) -> Result<Connection, CheckError> {
    open_with_flags(path, OpenFlags::default())
}

/// Like [`open`], with SQLite's open `flags` (e.g. read-only).
pub fn open_with_flags(path: &Path, flags: OpenFlags) -> Result<Connection, CheckError> {
    let corrupt = |detail: String| CheckError::Corrupt { path: path.to_path_buf(), detail };
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => {
            return Err(corrupt("the file is empty (0 bytes), so whatever it held is lost".into()));
        }
        Ok(_) => {}
        Err(_) if flags.contains(OpenFlags::SQLITE_OPEN_CREATE) => create(path)?,
        Err(_) => {}
    }
    let sqlite = |source| CheckError::Sqlite { path: path.to_path_buf(), source };
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    // A checkpoint or recovery by another process may hold the file for a moment.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    quick_check(&conn, path)?;
    Ok(conn)
}

/// Creates the database at `path` with its header written, atomically: SQLite leaves a new file
/// empty until its first write, and a concurrent opener must never see it so (it would take it
/// for an emptied one). The file is made under a temporary name and hard-linked into place,
/// which fails harmlessly when another process created it first.
fn create(path: &Path) -> Result<(), CheckError> {
    let name = path.file_name().map_or_else(|| "db".into(), |f| f.to_string_lossy());
    static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.new-{}-{n}", std::process::id()));
    let io = |source| CheckError::Io { path: path.to_path_buf(), source };
    let made = Connection::open(&tmp)
        .and_then(|conn| conn.pragma_update(None, "user_version", 0))
        .map_err(|source| CheckError::Sqlite { path: tmp.clone(), source });
    let linked = made.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io(e)),
        _ => Ok(()),
    });
    let removed = std::fs::remove_file(&tmp).map_err(io);
    linked.and(removed)
}

/// Runs `PRAGMA quick_check` on `conn` (the database at `path`); an error unless SQLite answers
/// exactly `ok`.
pub fn quick_check(conn: &Connection, path: &Path) -> Result<(), CheckError> {
    let corrupt = |detail: String| CheckError::Corrupt { path: path.to_path_buf(), detail };
    let rows: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA quick_check(5)")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect());
    match rows {
        Ok(rows) if rows == ["ok"] => Ok(()),
        Ok(rows) => Err(corrupt(format!("quick_check reports {}", rows.join("; ")))),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
            ) =>
        {
            Err(corrupt(e.to_string()))
        }
        Err(source) => Err(CheckError::Sqlite { path: path.to_path_buf(), source }),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, SeekFrom, Write};

    use super::*;

    /// A database of a few dozen pages, closed.
    fn database(path: &Path) {
        let mut conn = Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
            .unwrap();
        let tx = conn.transaction().unwrap();
        for i in 0..2000 {
            tx.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i} {}", "x".repeat(50))]).unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn a_new_or_healthy_database_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        open(&path).unwrap();
        open(&path).expect("created by us, then reopened");
        database(&dir.path().join("ok.db"));
        open(&dir.path().join("ok.db")).unwrap();
    }

    #[test]
    fn concurrent_creators_never_see_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.db");
        std::thread::scope(|s| {
            let openers: Vec<_> = (0..8).map(|_| s.spawn(|| open(&path).map(drop))).collect();
            for o in openers {
                o.join().unwrap().expect("a file another opener is creating is not corrupt");
            }
        });
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["shared.db"], "no temporary file is left");
    }

    #[test]
    fn an_empty_file_is_corrupt_and_named_with_the_restore_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("research.db");
        std::fs::write(&path, b"").unwrap();
        let e = open(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{} is corrupt: the file is empty (0 bytes)", path.display())), "{e}");
        assert!(e.contains(&format!(
            "tradebot db restore backups/YYYY-MM-DD/research.db --to {}",
            path.display()
        )));
    }

    #[test]
    fn garbage_pages_fail_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("research.db");
        database(&path);
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(4096 * 5)).unwrap();
        f.write_all(&[0xA5; 4096 * 3]).unwrap();
        drop(f);
        let e = open(&path).unwrap_err();
        assert!(matches!(e, CheckError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("is corrupt: "), "{e}");
        // A header that is not SQLite's: refused too, not taken for an empty database.
        std::fs::write(&path, vec![0x5A; 8192]).unwrap();
        assert!(matches!(open(&path), Err(CheckError::Corrupt { .. })));
    }
}

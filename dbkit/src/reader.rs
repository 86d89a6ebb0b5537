//! Opening a database to read only, also where nothing may be written. A WAL database whose
//! last writer closed it cleanly has no `-wal` or `-shm` file, and SQLite must create the `-shm`
//! to read it: on a read-only file system (a reader confined with systemd's `ReadOnlyPaths=`)
//! that fails with "unable to open database file". With no `-wal` file nothing is pending outside
//! the database file itself, so [`open_read_only`] then reads it as immutable instead.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::check::BUSY_TIMEOUT;

/// Opens the existing database at `path` read-only (no integrity check: readers refresh often),
/// falling back to an immutable read when the directory is read-only and no writer has it open.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    match conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(conn),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::CannotOpen) && !wal_of(path).exists() => {
            drop(conn);
            let uri = format!("file:{}?mode=ro&immutable=1", uri_path(path));
            let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            Ok(conn)
        }
        Err(e) => Err(e),
    }
}

/// The `-wal` file of the database at `path`.
fn wal_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// `path` for a `file:` URI: the characters a URI gives a meaning to escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wal_database_and_escapes_its_uri() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a?b#c%d.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (7);").unwrap();
        drop(conn);
        let read = open_read_only(&path).unwrap();
        assert_eq!(read.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 7);
        assert!(read.execute("INSERT INTO t VALUES (8)", []).is_err(), "read-only");
        assert_eq!(uri_path(Path::new("/x/a?b#c%d.db")), "/x/a%3fb%23c%25d.db");
        // The immutable form names the same file.
        let uri = format!("file:{}?mode=ro&immutable=1", uri_path(&path));
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let imm = Connection::open_with_flags(uri, flags).unwrap();
        assert_eq!(imm.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 7);
    }
}

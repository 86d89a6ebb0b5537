//! The operations database (`data/ops.db`): the error log and the health samples of every
//! service, in one small SQLite file that `ops` owns.
//!
//! Why a file of its own rather than a table in the research or the live database: every
//! service (the nightly research run, the live bridge, the dashboard, backups) writes errors,
//! and none of them should need another's schema or lock to do so; a research database being
//! restored or rebuilt must not take the error history with it. WAL mode so `tradebot status`
//! reads while services write; migrations by `PRAGMA user_version` like the research database.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// Default location, relative to the working directory (next to the other databases).
pub const DEFAULT_PATH: &str = "data/ops.db";

/// How long a writer waits for another process's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations, applied by [`dbkit::migrate`]: `MIGRATIONS[k]` takes the schema from
/// version `k` to `k + 1`. Append only.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE error_log (
        id          INTEGER PRIMARY KEY,
        time_ns     INTEGER NOT NULL,
        service     TEXT    NOT NULL,
        component   TEXT    NOT NULL,
        message     TEXT    NOT NULL,
        context     TEXT    NOT NULL
    );
    CREATE INDEX error_log_by_time ON error_log(time_ns);
    CREATE TABLE health (
        id               INTEGER PRIMARY KEY,
        time_ns          INTEGER NOT NULL,
        service          TEXT    NOT NULL,
        pid              INTEGER NOT NULL,
        rss_bytes        INTEGER,
        rss_peak_bytes   INTEGER,
        mem_total_bytes  INTEGER,
        mem_avail_bytes  INTEGER,
        swap_total_bytes INTEGER,
        swap_free_bytes  INTEGER,
        cgroup_bytes     INTEGER,
        cgroup_max_bytes INTEGER,
        psi_some_avg10   REAL,
        psi_full_avg10   REAL,
        zram_bytes       INTEGER,
        worst_pct        REAL    NOT NULL,
        worst            TEXT    NOT NULL
    );
    CREATE INDEX health_by_time ON health(time_ns);
"];

/// The operations database cannot be opened, migrated, read or written.
#[derive(Debug, thiserror::Error)]
pub enum OpsDbError {
    /// SQLite refused an operation.
    #[error("operations database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The directory for a new database could not be created.
    #[error("operations database {path}: cannot create its directory: {source}")]
    Io {
        /// The database file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is empty or damaged (it fails `PRAGMA quick_check`), or cannot be opened.
    #[error("operations database {0}")]
    Check(#[from] dbkit::CheckError),
    /// Written by a newer build.
    #[error("operations database {path} has schema version {found}; this build knows up to {known}")]
    TooNew {
        /// The database file.
        path: String,
        /// Version in the file.
        found: usize,
        /// Latest version this build knows.
        known: usize,
    },
}

/// One ERROR-level event as stored in `error_log`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorRecord {
    /// When it happened (UTC epoch ns).
    pub time_ns: i64,
    /// The service that logged it (`research`, `live`, …).
    pub service: String,
    /// Where: a `component` span or event field, else the event's target (module path).
    pub component: String,
    /// The event's message.
    pub message: String,
    /// The event's other fields (and those of its `component` span), as a JSON object.
    pub context: String,
}

/// One health sample as stored in `health`; `None` where the system does not expose a figure.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HealthRecord {
    /// When it was taken (UTC epoch ns).
    pub time_ns: i64,
    /// The service that took it.
    pub service: String,
    /// Its process id.
    pub pid: u32,
    /// Resident set size of the process.
    pub rss_bytes: Option<u64>,
    /// Peak resident set size of the process so far (`VmHWM`).
    pub rss_peak_bytes: Option<u64>,
    /// `MemTotal`.
    pub mem_total_bytes: Option<u64>,
    /// `MemAvailable`.
    pub mem_avail_bytes: Option<u64>,
    /// `SwapTotal` (zram counts as swap).
    pub swap_total_bytes: Option<u64>,
    /// `SwapFree`.
    pub swap_free_bytes: Option<u64>,
    /// Anonymous memory of the process's cgroup (systemd unit): what counts against
    /// `MemoryMax=` and cannot be reclaimed without swap.
    pub cgroup_bytes: Option<u64>,
    /// The cgroup's `memory.max` (systemd `MemoryMax=`), when limited.
    pub cgroup_max_bytes: Option<u64>,
    /// `/proc/pressure/memory` "some" avg10 (% of the last 10 s some task stalled on memory).
    pub psi_some_avg10: Option<f64>,
    /// `/proc/pressure/memory` "full" avg10.
    pub psi_full_avg10: Option<f64>,
    /// Bytes held compressed in zram devices.
    pub zram_bytes: Option<u64>,
    /// The highest of the pressure percentages the sample computes.
    pub worst_pct: f64,
    /// Which figure `worst_pct` is.
    pub worst: String,
}

/// An open operations database.
pub struct OpsDb {
    conn: Connection,
    path: String,
}

impl OpsDb {
    /// Opens (creating it and its directory if needed) the database at `path`, refuses it if
    /// it is empty or damaged ([`dbkit`]), switches to WAL mode and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, OpsDbError> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpsDbError::Io { path: name.clone(), source })?;
        }
        let conn = dbkit::open(path)?;
        let mut db = OpsDb { conn, path: name };
        db.setup()?;
        Ok(db)
    }

    /// Opens an existing database for reading; `Ok(None)` when there is no file (so `status`
    /// does not create one).
    pub fn open_existing(path: &Path) -> Result<Option<Self>, OpsDbError> {
        if !path.exists() {
            return Ok(None);
        }
        Self::open(path).map(Some)
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, OpsDbError> {
        r.map_err(|source| OpsDbError::Sqlite { path: self.path.clone(), source })
    }

    fn setup(&mut self) -> Result<(), OpsDbError> {
        self.sql(self.conn.busy_timeout(BUSY_TIMEOUT))?;
        self.sql(self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)))?;
        self.sql(self.conn.execute_batch("PRAGMA synchronous = NORMAL;"))?;
        dbkit::migrate(&mut self.conn, MIGRATIONS).map_err(|e| match e {
            dbkit::MigrateError::TooNew { found, known } => {
                OpsDbError::TooNew { path: self.path.clone(), found, known }
            }
            dbkit::MigrateError::Sqlite(source) => OpsDbError::Sqlite { path: self.path.clone(), source },
        })?;
        Ok(())
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<usize, OpsDbError> {
        self.sql(dbkit::schema_version(&self.conn))
    }

    /// Appends error records in one transaction.
    pub fn insert_errors(&mut self, records: &[ErrorRecord]) -> Result<(), OpsDbError> {
        let done = self.conn.transaction().and_then(|tx| {
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO error_log (time_ns, service, component, message, context) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for r in records {
                    stmt.execute(params![r.time_ns, r.service, r.component, r.message, r.context])?;
                }
            }
            tx.commit()
        });
        self.sql(done)
    }

    /// The `limit` most recent errors, newest first.
    pub fn recent_errors(&self, limit: usize) -> Result<Vec<ErrorRecord>, OpsDbError> {
        self.sql(recent_errors_in(&self.conn, limit))
    }

    /// Number of errors logged at or after `since_ns`.
    pub fn errors_since(&self, since_ns: i64) -> Result<u64, OpsDbError> {
        self.sql(errors_since_in(&self.conn, since_ns))
    }

    /// Appends a health sample.
    pub fn insert_health(&mut self, h: &HealthRecord) -> Result<(), OpsDbError> {
        let bytes = |v: Option<u64>| v.map(|b| b as i64);
        let done = self.conn.execute(
            "INSERT INTO health (time_ns, service, pid, rss_bytes, rss_peak_bytes, mem_total_bytes,
                mem_avail_bytes, swap_total_bytes, swap_free_bytes, cgroup_bytes, cgroup_max_bytes,
                psi_some_avg10, psi_full_avg10, zram_bytes, worst_pct, worst)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                h.time_ns,
                h.service,
                h.pid,
                bytes(h.rss_bytes),
                bytes(h.rss_peak_bytes),
                bytes(h.mem_total_bytes),
                bytes(h.mem_avail_bytes),
                bytes(h.swap_total_bytes),
                bytes(h.swap_free_bytes),
                bytes(h.cgroup_bytes),
                bytes(h.cgroup_max_bytes),
                h.psi_some_avg10,
                h.psi_full_avg10,
                bytes(h.zram_bytes),
                h.worst_pct,
                h.worst,
            ],
        );
        self.sql(done).map(drop)
    }

    /// The latest health sample of each service, by service name.
    pub fn latest_health(&self) -> Result<Vec<HealthRecord>, OpsDbError> {
        let rows = self.conn.prepare_cached(
            "SELECT time_ns, service, pid, rss_bytes, rss_peak_bytes, mem_total_bytes, mem_avail_bytes,
                    swap_total_bytes, swap_free_bytes, cgroup_bytes, cgroup_max_bytes, psi_some_avg10,
                    psi_full_avg10, zram_bytes, worst_pct, worst
             FROM health WHERE id IN (SELECT MAX(id) FROM health GROUP BY service) ORDER BY service",
        );
        let rows = rows.and_then(|mut stmt| {
            stmt.query_map([], |r| {
                let bytes = |i: usize| r.get::<_, Option<i64>>(i).map(|v| v.map(|b| b as u64));
                Ok(HealthRecord {
                    time_ns: r.get(0)?,
                    service: r.get(1)?,
                    pid: r.get(2)?,
                    rss_bytes: bytes(3)?,
                    rss_peak_bytes: bytes(4)?,
                    mem_total_bytes: bytes(5)?,
                    mem_avail_bytes: bytes(6)?,
                    swap_total_bytes: bytes(7)?,
                    swap_free_bytes: bytes(8)?,
                    cgroup_bytes: bytes(9)?,
                    cgroup_max_bytes: bytes(10)?,
                    psi_some_avg10: r.get(11)?,
                    psi_full_avg10: r.get(12)?,
                    zram_bytes: bytes(13)?,
                    worst_pct: r.get(14)?,
                    worst: r.get(15)?,
                })
            })?
            .collect()
        });
        self.sql(rows)
    }

    /// Deletes health samples older than `before_ns` (the table would otherwise grow by 288
    /// rows a day per service); returns how many went.
    pub fn prune_health(&mut self, before_ns: i64) -> Result<usize, OpsDbError> {
        self.sql(self.conn.execute("DELETE FROM health WHERE time_ns < ?1", [before_ns]))
    }

    /// The last error of a component, if any (for tests and for `status`).
    pub fn last_error_of(&self, component: &str) -> Result<Option<ErrorRecord>, OpsDbError> {
        let row = self
            .conn
            .query_row(
                "SELECT time_ns, service, component, message, context FROM error_log
                 WHERE component = ?1 ORDER BY id DESC LIMIT 1",
                [component],
                error_row,
            )
            .optional();
        self.sql(row)
    }
}

/// The `limit` most recent errors of `conn`'s `error_log`, newest first: [`OpsDb::recent_errors`]
/// for readers that open the database read-only instead (the dashboard never migrates it).
pub fn recent_errors_in(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<ErrorRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT time_ns, service, component, message, context FROM error_log ORDER BY time_ns DESC, id DESC LIMIT ?1",
    )?;
    stmt.query_map([limit as i64], error_row)?.collect()
}

/// Number of errors of `conn`'s `error_log` logged at or after `since_ns`
/// ([`OpsDb::errors_since`] on a connection of the caller's).
pub fn errors_since_in(conn: &Connection, since_ns: i64) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM error_log WHERE time_ns >= ?1", [since_ns], |r| r.get(0))
}

/// Reads `time_ns, service, component, message, context` into an [`ErrorRecord`].
fn error_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ErrorRecord> {
    Ok(ErrorRecord {
        time_ns: r.get(0)?,
        service: r.get(1)?,
        component: r.get(2)?,
        message: r.get(3)?,
        context: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_health_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = OpsDb::open(&dir.path().join("sub/ops.db")).unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
        let e = |t, c: &str| ErrorRecord {
            time_ns: t,
            service: "research".into(),
            component: c.into(),
            message: format!("failed at {t}"),
            context: "{}".into(),
        };
        db.insert_errors(&[e(10, "a"), e(30, "b"), e(20, "a")]).unwrap();
        let recent = db.recent_errors(2).unwrap();
        assert_eq!(recent.iter().map(|r| r.time_ns).collect::<Vec<_>>(), [30, 20]);
        assert_eq!(db.errors_since(20).unwrap(), 2);
        assert_eq!(db.last_error_of("a").unwrap().unwrap().time_ns, 20);
        assert!(db.last_error_of("zzz").unwrap().is_none());

        let h = |t, s: &str| HealthRecord {
            time_ns: t,
            service: s.into(),
            pid: 7,
            rss_bytes: Some(1 << 20),
            rss_peak_bytes: Some(3 << 20),
            psi_some_avg10: Some(0.5),
            worst_pct: 12.5,
            worst: "memory".into(),
            ..HealthRecord::default()
        };
        for (t, s) in [(1, "live"), (2, "research"), (3, "live")] {
            db.insert_health(&h(t, s)).unwrap();
        }
        let latest = db.latest_health().unwrap();
        assert_eq!(latest, [h(3, "live"), h(2, "research")]);
        assert_eq!(db.prune_health(3).unwrap(), 2);
        drop(db);
        // Reopening applies no migration twice.
        let db = OpsDb::open(&dir.path().join("sub/ops.db")).unwrap();
        assert_eq!(db.recent_errors(10).unwrap().len(), 3);
    }

    #[test]
    fn a_missing_file_is_not_created_by_open_existing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.db");
        assert!(OpsDb::open_existing(&path).unwrap().is_none());
        assert!(!path.exists());
    }
}

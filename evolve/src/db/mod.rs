//! The research database: one SQLite file recording every sweep (and, later, every GA run).
//!
//! WAL mode so readers never block the writer; the schema evolves by numbered migrations
//! tracked in `PRAGMA user_version`, so later work (GA runs, generations, individuals, events)
//! appends a migration instead of editing a table. A sweep and all its results are written in
//! one transaction: a crash leaves either the whole sweep or nothing.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Default database location, relative to the working directory.
pub const DEFAULT_PATH: &str = "data/research.db";

/// Schema migrations; `MIGRATIONS[k]` takes the schema from version `k` to `k + 1`.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE sweeps (
        id            INTEGER PRIMARY KEY,
        name          TEXT    NOT NULL,
        strategy      TEXT    NOT NULL,
        config        TEXT    NOT NULL,
        config_hash   INTEGER NOT NULL,
        data_hash     INTEGER NOT NULL,
        code_version  TEXT    NOT NULL,
        started_ns    INTEGER NOT NULL,
        finished_ns   INTEGER NOT NULL,
        combinations  INTEGER NOT NULL,
        skipped       INTEGER NOT NULL
    );
    CREATE TABLE sweep_results (
        sweep_id      INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        symbol        TEXT,
        rank          INTEGER NOT NULL,
        params        TEXT    NOT NULL,
        param_hash    INTEGER NOT NULL,
        trades        INTEGER NOT NULL,
        final_equity  REAL    NOT NULL,
        total_return  REAL    NOT NULL,
        cagr          REAL,
        sharpe        REAL    NOT NULL,
        sortino       REAL,
        max_drawdown  REAL    NOT NULL,
        win_rate      REAL,
        profit_factor REAL,
        exposure      REAL
    );
    CREATE INDEX sweep_results_by_sweep ON sweep_results(sweep_id, symbol, rank);
"];

/// A database that cannot be opened, migrated or written.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused an operation.
    #[error("research database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The directory for a new database could not be created.
    #[error("research database {path}: cannot create its directory: {source}")]
    Io {
        /// The database file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was written by a newer build with a schema this one does not know.
    #[error("research database {path} has schema version {found}; this build knows up to {known}")]
    TooNew {
        /// The database file.
        path: String,
        /// Version in the file.
        found: usize,
        /// Latest version this build can migrate to.
        known: usize,
    },
}

/// One sweep's identity and provenance, as stored in `sweeps`.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRecord {
    /// Experiment name.
    pub name: String,
    /// Strategy registry name.
    pub strategy: String,
    /// The experiment file's text, verbatim.
    pub config: String,
    /// xxh3 of `config`.
    pub config_hash: u64,
    /// xxh3 of the bars the sweep ran on.
    pub data_hash: u64,
    /// Version of the code that ran it.
    pub code_version: String,
    /// Start, UTC epoch nanoseconds.
    pub started_ns: i64,
    /// End, UTC epoch nanoseconds.
    pub finished_ns: i64,
    /// Parameter combinations evaluated.
    pub combinations: usize,
    /// Combinations skipped because they broke the strategy's constraints.
    pub skipped: usize,
}

/// The figures kept for one evaluated combination; fractions throughout (0.05 = 5 %).
///
/// The optional figures are those a fast evaluation path does not produce; they are `None`
/// (SQL `NULL`) unless the combination ran through the full backtest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultMetrics {
    /// Closed trades.
    pub trades: usize,
    /// Equity at the last bar.
    pub final_equity: f64,
    /// Total return.
    pub total_return: f64,
    /// Compound annual growth rate (years counted in bars).
    pub cagr: Option<f64>,
    /// Annualised Sharpe ratio.
    pub sharpe: f64,
    /// Annualised Sortino ratio.
    pub sortino: Option<f64>,
    /// Deepest drawdown, negative.
    pub max_drawdown: f64,
    /// Share of winning trades.
    pub win_rate: Option<f64>,
    /// Gross profit over gross loss.
    pub profit_factor: Option<f64>,
    /// Share of bars with a position.
    pub exposure: Option<f64>,
}

/// One ranked result row, as stored in `sweep_results`.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRecord {
    /// The symbol the combination ran on alone, or `None` for all of the sweep's data at once.
    pub symbol: Option<String>,
    /// 1-based rank within its symbol (or within the combined runs).
    pub rank: usize,
    /// Parameters as a JSON object, e.g. `{"fast":10,"slow":20}`.
    pub params: String,
    /// The kernel's stable parameter hash (stored as its i64 bit pattern).
    pub param_hash: u64,
    /// The figures.
    pub metrics: ResultMetrics,
}

/// A stored sweep with its id, as listed by [`ResearchDb::sweeps`].
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSweep {
    /// Row id.
    pub id: i64,
    /// What was recorded.
    pub record: SweepRecord,
}

/// An open research database.
pub struct ResearchDb {
    conn: Connection,
    path: String,
}

impl ResearchDb {
    /// Opens (creating it and its directory if needed) the database at `path`, switches it to
    /// WAL mode and applies any pending migration.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::Io { path: name.clone(), source })?;
        }
        let conn = Connection::open(path).map_err(|source| DbError::Sqlite { path: name.clone(), source })?;
        let mut db = ResearchDb { conn, path: name };
        db.setup()?;
        Ok(db)
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, DbError> {
        r.map_err(|source| DbError::Sqlite { path: self.path.clone(), source })
    }

    fn setup(&mut self) -> Result<(), DbError> {
        let mode: String = self.sql(self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)))?;
        debug_assert_eq!(mode.to_ascii_lowercase(), "wal");
        self.sql(self.conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"))?;
        let found = self.schema_version()?;
        if found > MIGRATIONS.len() {
            return Err(DbError::TooNew { path: self.path.clone(), found, known: MIGRATIONS.len() });
        }
        for (k, migration) in MIGRATIONS.iter().enumerate().skip(found) {
            let done = self.conn.transaction().and_then(|tx| {
                tx.execute_batch(migration)?;
                tx.pragma_update(None, "user_version", k + 1)?;
                tx.commit()
            });
            self.sql(done)?;
        }
        Ok(())
    }

    /// The schema version (`PRAGMA user_version`): the number of migrations applied.
    pub fn schema_version(&self) -> Result<usize, DbError> {
        self.sql(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)))
    }

    /// Records a sweep and its results in one transaction; returns the sweep's id.
    pub fn record_sweep(&mut self, sweep: &SweepRecord, results: &[ResultRecord]) -> Result<i64, DbError> {
        let path = self.path.clone();
        let sql = |r| DbError::Sqlite { path: path.clone(), source: r };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "INSERT INTO sweeps (name, strategy, config, config_hash, data_hash, code_version,
                                 started_ns, finished_ns, combinations, skipped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                sweep.name,
                sweep.strategy,
                sweep.config,
                sweep.config_hash as i64,
                sweep.data_hash as i64,
                sweep.code_version,
                sweep.started_ns,
                sweep.finished_ns,
                sweep.combinations as i64,
                sweep.skipped as i64,
            ],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO sweep_results (sweep_id, symbol, rank, params, param_hash, trades,
                        final_equity, total_return, cagr, sharpe, sortino, max_drawdown, win_rate,
                        profit_factor, exposure)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .map_err(sql)?;
            for r in results {
                let m = &r.metrics;
                insert
                    .execute(params![
                        id,
                        r.symbol,
                        r.rank as i64,
                        r.params,
                        r.param_hash as i64,
                        m.trades as i64,
                        m.final_equity,
                        m.total_return,
                        m.cagr,
                        m.sharpe,
                        m.sortino,
                        m.max_drawdown,
                        m.win_rate,
                        m.profit_factor,
                        m.exposure,
                    ])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    /// Every recorded sweep, oldest first.
    pub fn sweeps(&self) -> Result<Vec<StoredSweep>, DbError> {
        let mut stmt = self.sql(self.conn.prepare(
            "SELECT id, name, strategy, config, config_hash, data_hash, code_version, started_ns,
                    finished_ns, combinations, skipped FROM sweeps ORDER BY id",
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredSweep {
                id: r.get(0)?,
                record: SweepRecord {
                    name: r.get(1)?,
                    strategy: r.get(2)?,
                    config: r.get(3)?,
                    config_hash: r.get::<_, i64>(4)? as u64,
                    data_hash: r.get::<_, i64>(5)? as u64,
                    code_version: r.get(6)?,
                    started_ns: r.get(7)?,
                    finished_ns: r.get(8)?,
                    combinations: r.get::<_, i64>(9)? as usize,
                    skipped: r.get::<_, i64>(10)? as usize,
                },
            })
        });
        self.sql(rows.and_then(|rows| rows.collect()))
    }

    /// The results of sweep `id`: combined runs first, then by symbol, each by rank.
    pub fn results(&self, id: i64) -> Result<Vec<ResultRecord>, DbError> {
        let mut stmt = self.sql(self.conn.prepare(
            "SELECT symbol, rank, params, param_hash, trades, final_equity, total_return, cagr, sharpe,
                    sortino, max_drawdown, win_rate, profit_factor, exposure
             FROM sweep_results WHERE sweep_id = ?1 ORDER BY symbol IS NOT NULL, symbol, rank",
        ))?;
        let rows = stmt.query_map([id], |r| {
            Ok(ResultRecord {
                symbol: r.get(0)?,
                rank: r.get::<_, i64>(1)? as usize,
                params: r.get(2)?,
                param_hash: r.get::<_, i64>(3)? as u64,
                metrics: ResultMetrics {
                    trades: r.get::<_, i64>(4)? as usize,
                    final_equity: r.get(5)?,
                    total_return: r.get(6)?,
                    cagr: r.get(7)?,
                    sharpe: r.get(8)?,
                    sortino: r.get(9)?,
                    max_drawdown: r.get(10)?,
                    win_rate: r.get(11)?,
                    profit_factor: r.get(12)?,
                    exposure: r.get(13)?,
                },
            })
        });
        self.sql(rows.and_then(|rows| rows.collect()))
    }

    /// The id of the most recent sweep called `name`, if any.
    pub fn latest_sweep(&self, name: &str) -> Result<Option<i64>, DbError> {
        self.sql(
            self.conn
                .query_row("SELECT max(id) FROM sweeps WHERE name = ?1", [name], |r| r.get(0))
                .optional()
                .map(Option::flatten),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> SweepRecord {
        SweepRecord {
            name: name.into(),
            strategy: "sma_cross".into(),
            config: "[experiment]\n".into(),
            config_hash: u64::MAX - 5,
            data_hash: 0x8000_0000_0000_0001,
            code_version: "0.1.0".into(),
            started_ns: 1_700_000_000_000_000_000,
            finished_ns: 1_700_000_000_500_000_000,
            combinations: 2,
            skipped: 1,
        }
    }

    fn row(rank: usize, symbol: Option<&str>, sortino: Option<f64>) -> ResultRecord {
        ResultRecord {
            symbol: symbol.map(str::to_string),
            rank,
            params: format!("{{\"fast\":{rank},\"slow\":20}}"),
            param_hash: u64::MAX - rank as u64,
            metrics: ResultMetrics {
                trades: 7,
                final_equity: 12_345.5,
                total_return: 0.234_55,
                sharpe: 1.25,
                sortino,
                max_drawdown: -0.125,
                ..ResultMetrics::default()
            },
        }
    }

    #[test]
    fn migrates_in_wal_mode_and_round_trips_sweeps_and_results() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/research.db");
        let mut db = ResearchDb::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
        let mode: String = db.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");

        let rows = vec![row(1, None, Some(2.5)), row(2, None, None), row(1, Some("SPY"), None)];
        let id = db.record_sweep(&record("a"), &rows).unwrap();
        let id2 = db.record_sweep(&record("a"), &rows[..1]).unwrap();
        assert_ne!(id, id2);
        drop(db);

        // Reopening applies no migration twice and sees both sweeps.
        let db = ResearchDb::open(&path).unwrap();
        let sweeps = db.sweeps().unwrap();
        assert_eq!(sweeps.len(), 2);
        assert_eq!(sweeps[0].record, record("a"), "u64 hashes survive the i64 column");
        assert_eq!(db.results(id).unwrap(), rows);
        assert_eq!(db.results(id2).unwrap().len(), 1);
        assert_eq!(db.latest_sweep("a").unwrap(), Some(id2));
        assert_eq!(db.latest_sweep("b").unwrap(), None);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("research.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = ResearchDb::open(&path).err().unwrap();
        assert!(matches!(err, DbError::TooNew { found: 99, .. }), "{err}");
    }
}

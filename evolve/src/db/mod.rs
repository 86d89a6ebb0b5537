//! The research database: one SQLite file recording every sweep and every GA run.
//!
//! WAL mode so readers never block the writer; the schema evolves by numbered migrations
//! tracked in `PRAGMA user_version`, so later work appends a migration instead of editing a
//! table. Every write that belongs together (a sweep and its results; a generation, its
//! individuals, events and checkpoint) is one transaction: a crash leaves all of it or none.
//! `u64` hashes and seeds live in `INTEGER` columns as their `i64` bit pattern (`as i64` in,
//! `as u64` out), so values with the top bit set read back as negative numbers in plain SQL.

mod discovered;
mod runs;
mod sweeps;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

pub use discovered::{CandidateRecord, NewCandidate};
pub use runs::{
    EventRecord, GenerationRecord, IndividualRecord, NewRun, ProcessId, RunKind, RunRecord, RunStatus,
};
pub use sweeps::{ResultRecord, StoredSweep, SweepRecord};

/// Default database location, relative to the working directory.
pub const DEFAULT_PATH: &str = "data/research.db";

/// How long a writer waits for another process's write transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema migrations, applied by [`dbkit::migrate`]: `MIGRATIONS[k]` takes the schema from
/// version `k` to `k + 1`. Append only: a released migration is never edited.
const MIGRATIONS: &[&str] = &[
    "
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
",
    "
    CREATE TABLE runs (
        id            INTEGER PRIMARY KEY,
        kind          TEXT    NOT NULL CHECK (kind IN ('evolve', 'research')),
        parent_id     INTEGER REFERENCES runs(id),
        name          TEXT    NOT NULL,
        strategy      TEXT    NOT NULL,
        config        TEXT    NOT NULL,
        config_hash   INTEGER NOT NULL,
        seed          INTEGER NOT NULL,
        data_hash     INTEGER NOT NULL,
        data_first_ns INTEGER NOT NULL,
        data_last_ns  INTEGER NOT NULL,
        code_version  TEXT    NOT NULL,
        started_ns    INTEGER NOT NULL,
        finished_ns   INTEGER,
        status        TEXT    NOT NULL
                      CHECK (status IN ('running', 'finished', 'stopped', 'failed')),
        generations   INTEGER NOT NULL DEFAULT 0,
        evaluations   INTEGER NOT NULL DEFAULT 0,
        best_fitness  REAL,
        summary       TEXT
    );
    CREATE INDEX runs_by_parent ON runs(parent_id);
    CREATE TABLE generations (
        run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        generation    INTEGER NOT NULL,
        best          REAL,
        best_ever     REAL,
        mean          REAL,
        median        REAL,
        diversity     REAL,
        evaluations   INTEGER NOT NULL,
        cache_hits    INTEGER NOT NULL,
        invalid       INTEGER NOT NULL,
        mutation_rate REAL,
        stagnant_for  INTEGER NOT NULL,
        elapsed_ms    REAL,
        PRIMARY KEY (run_id, generation)
    ) WITHOUT ROWID;
    CREATE TABLE individuals (
        id            INTEGER PRIMARY KEY,
        run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        generation    INTEGER NOT NULL,
        key           INTEGER NOT NULL,
        genome        TEXT    NOT NULL,
        fitness       REAL,
        fitness_raw   TEXT    NOT NULL,
        metrics       TEXT    NOT NULL,
        first_ns      INTEGER NOT NULL,
        last_ns       INTEGER NOT NULL,
        data_hash     INTEGER NOT NULL,
        config_hash   INTEGER NOT NULL,
        UNIQUE (run_id, key, data_hash, config_hash, first_ns, last_ns)
    );
    CREATE INDEX individuals_by_fitness ON individuals(run_id, fitness DESC, id);
    CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        generation    INTEGER NOT NULL,
        kind          TEXT    NOT NULL,
        detail        TEXT    NOT NULL
    );
    CREATE INDEX events_by_run ON events(run_id);
    CREATE TABLE checkpoints (
        run_id        INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        generation    INTEGER NOT NULL,
        state         TEXT    NOT NULL
    );
",
    "
    CREATE TABLE discovered_strategies (
        id              INTEGER PRIMARY KEY,
        run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name            TEXT    NOT NULL,
        key             INTEGER NOT NULL,
        genome          TEXT    NOT NULL,
        generation      INTEGER NOT NULL,
        parents         TEXT    NOT NULL,
        fitness         REAL,
        in_sample       TEXT    NOT NULL,
        out_of_sample   TEXT    NOT NULL,
        deflated_sharpe REAL,
        max_correlation REAL,
        gates           TEXT    NOT NULL,
        file            TEXT,
        created_ns      INTEGER NOT NULL,
        promoted_id     TEXT,
        UNIQUE (run_id, key)
    );
    CREATE INDEX discovered_by_run ON discovered_strategies(run_id);
",
    // Version 4: runs record their process (pid, start time) and an error, and may be
    // `interrupted`. A CHECK constraint cannot be altered, so the table is rebuilt (with foreign
    // keys off, see `setup`).
    "
    CREATE TABLE runs_v4 (
        id            INTEGER PRIMARY KEY,
        kind          TEXT    NOT NULL CHECK (kind IN ('evolve', 'research')),
        parent_id     INTEGER REFERENCES runs(id),
        name          TEXT    NOT NULL,
        strategy      TEXT    NOT NULL,
        config        TEXT    NOT NULL,
        config_hash   INTEGER NOT NULL,
        seed          INTEGER NOT NULL,
        data_hash     INTEGER NOT NULL,
        data_first_ns INTEGER NOT NULL,
        data_last_ns  INTEGER NOT NULL,
        code_version  TEXT    NOT NULL,
        started_ns    INTEGER NOT NULL,
        finished_ns   INTEGER,
        status        TEXT    NOT NULL
                      CHECK (status IN ('running', 'finished', 'stopped', 'failed', 'interrupted')),
        generations   INTEGER NOT NULL DEFAULT 0,
        evaluations   INTEGER NOT NULL DEFAULT 0,
        best_fitness  REAL,
        summary       TEXT,
        pid           INTEGER,
        pid_start     INTEGER,
        error         TEXT
    );
    INSERT INTO runs_v4 (id, kind, parent_id, name, strategy, config, config_hash, seed, data_hash,
                         data_first_ns, data_last_ns, code_version, started_ns, finished_ns, status,
                         generations, evaluations, best_fitness, summary)
        SELECT id, kind, parent_id, name, strategy, config, config_hash, seed, data_hash,
               data_first_ns, data_last_ns, code_version, started_ns, finished_ns, status,
               generations, evaluations, best_fitness, summary FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v4 RENAME TO runs;
    CREATE INDEX runs_by_parent ON runs(parent_id);
    CREATE INDEX runs_running ON runs(status) WHERE status = 'running';
",
];

/// A database that cannot be opened, migrated, read or written, or a run in the wrong state.
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
    /// No run has this id.
    #[error("research database {path}: there is no run {id}")]
    NoSuchRun {
        /// The database file.
        path: String,
        /// The id asked for.
        id: i64,
    },
    /// The run is not running, so it cannot take generations or be finished.
    #[error("research database {path}: run {id} is {status}; only a running run can be written to")]
    RunNotRunning {
        /// The database file.
        path: String,
        /// The run.
        id: i64,
        /// Its current status.
        status: RunStatus,
    },
    /// The file is empty or damaged (it fails `PRAGMA quick_check`), or cannot be opened.
    #[error("research database {0}")]
    Check(#[from] dbkit::CheckError),
    /// The run finished; a finished run is final and cannot be resumed.
    #[error("research database {path}: run {id} has finished and cannot be resumed")]
    RunFinished {
        /// The database file.
        path: String,
        /// The run.
        id: i64,
    },
}

/// An open research database.
pub struct ResearchDb {
    conn: Connection,
    path: String,
}

impl ResearchDb {
    /// Opens (creating it and its directory if needed) the database at `path`, refuses it if
    /// it is empty or damaged ([`dbkit`]), switches it to WAL mode and applies any pending
    /// migration.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::Io { path: name.clone(), source })?;
        }
        let conn = dbkit::open(path)?;
        let mut db = ResearchDb { conn, path: name };
        db.setup()?;
        Ok(db)
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, DbError> {
        r.map_err(sqlite_error(&self.path))
    }

    fn setup(&mut self) -> Result<(), DbError> {
        self.sql(self.conn.busy_timeout(BUSY_TIMEOUT))?;
        let mode: String = self.sql(self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)))?;
        debug_assert_eq!(mode.to_ascii_lowercase(), "wal");
        // Foreign keys are enforced only after the migrations: a table rebuild (version 4)
        // drops a parent table, which must not cascade (the pragma is a no-op in a transaction).
        self.sql(self.conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL;"))?;
        dbkit::migrate(&mut self.conn, MIGRATIONS).map_err(|e| match e {
            dbkit::MigrateError::TooNew { found, known } => {
                DbError::TooNew { path: self.path.clone(), found, known }
            }
            dbkit::MigrateError::Sqlite(source) => DbError::Sqlite { path: self.path.clone(), source },
        })?;
        self.sql(self.conn.execute_batch("PRAGMA foreign_keys = ON;"))?;
        self.mark_interrupted(crate::run::now_ns())?;
        Ok(())
    }

    /// The schema version (`PRAGMA user_version`): the number of migrations applied.
    pub fn schema_version(&self) -> Result<usize, DbError> {
        self.sql(dbkit::schema_version(&self.conn))
    }
}

/// Wraps SQLite errors with the database's path, for `map_err` where `self` is mutably borrowed.
fn sqlite_error(path: &str) -> impl Fn(rusqlite::Error) -> DbError + '_ {
    move |source| DbError::Sqlite { path: path.to_string(), source }
}

//! GA runs: one row per run in `runs`, with its `generations`, evaluated `individuals`,
//! `events` and latest `checkpoint`.
//!
//! A run is created `running`; each generation is recorded with its individuals, events, the
//! run's counters and the checkpoint in one transaction, so a resumed run restarts from a
//! checkpoint that agrees exactly with the rows beside it. `finish_run` closes a run as
//! finished, stopped or failed; `reopen_run` resumes a stopped, failed or interrupted one.
//!
//! Each run records the process that writes it (pid and start time). Opening the database
//! marks `interrupted` every `running` run whose process is gone (killed, out of memory, a
//! power cut), and [`ResearchDb::record_failures`] marks `failed`, with the error or panic
//! message, the runs a command leaves running when it fails.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{DbError, ResearchDb, sqlite_error};

/// What a run searched: one strategy family, or a research run that started one per family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunKind {
    /// A GA run over one family; stored as `evolve`.
    Evolve,
    /// A research run, parent of per-family evolve runs; stored as `research`.
    Research,
}

impl RunKind {
    const ALL: [RunKind; 2] = [RunKind::Evolve, RunKind::Research];

    /// The text stored in `runs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Evolve => "evolve",
            RunKind::Research => "research",
        }
    }
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Created or resumed and not closed yet; `running`.
    Running,
    /// Completed normally; final. `finished`.
    Finished,
    /// Interrupted cleanly (Ctrl-C / SIGTERM) after a checkpoint; resumable. `stopped`.
    Stopped,
    /// Ended by an error or a panic (see [`RunRecord::error`]); resumable. `failed`.
    Failed,
    /// Its process ended without closing it (a signal, a crash, a power cut), as found when
    /// the database was next opened; resumable. `interrupted`.
    Interrupted,
}

impl RunStatus {
    const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Finished,
        RunStatus::Stopped,
        RunStatus::Failed,
        RunStatus::Interrupted,
    ];

    /// The text stored in `runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

macro_rules! text_enum_sql {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| FromSqlError::Other(format!("unknown {} {text:?}", stringify!($t)).into()))
            }
        }
    };
}

text_enum_sql!(RunKind);
text_enum_sql!(RunStatus);

/// A run as created by [`ResearchDb::create_run`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewRun<'a> {
    /// Evolve or research.
    pub kind: RunKind,
    /// The research run that started this per-family evolve run.
    pub parent: Option<i64>,
    /// Experiment name.
    pub name: &'a str,
    /// Family / strategy name (`""` for a research run).
    pub strategy: &'a str,
    /// The experiment file's text, verbatim.
    pub config: &'a str,
    /// Hash of `config` (stored as its i64 bit pattern).
    pub config_hash: u64,
    /// The run's random seed (stored as its i64 bit pattern).
    pub seed: u64,
    /// Hash of the bars the run evolves on (stored as its i64 bit pattern).
    pub data_hash: u64,
    /// First bar of the in-sample evaluation period, UTC epoch nanoseconds.
    pub data_first_ns: i64,
    /// Last bar of the in-sample evaluation period, UTC epoch nanoseconds.
    pub data_last_ns: i64,
    /// Version of the code that ran it.
    pub code_version: &'a str,
    /// Start, UTC epoch nanoseconds.
    pub started_ns: i64,
}

/// A stored run: what [`NewRun`] recorded plus its state and counters.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// Row id.
    pub id: i64,
    /// Evolve or research.
    pub kind: RunKind,
    /// The research run that started this one.
    pub parent: Option<i64>,
    /// Experiment name.
    pub name: String,
    /// Family / strategy name (`""` for a research run).
    pub strategy: String,
    /// The experiment file's text, verbatim.
    pub config: String,
    /// Hash of `config`.
    pub config_hash: u64,
    /// The run's random seed.
    pub seed: u64,
    /// Hash of the bars the run evolves on.
    pub data_hash: u64,
    /// First bar of the in-sample evaluation period, UTC epoch nanoseconds.
    pub data_first_ns: i64,
    /// Last bar of the in-sample evaluation period, UTC epoch nanoseconds.
    pub data_last_ns: i64,
    /// Version of the code that ran it.
    pub code_version: String,
    /// Start, UTC epoch nanoseconds.
    pub started_ns: i64,
    /// When it was last closed (finished, stopped or failed); `None` while running.
    pub finished_ns: Option<i64>,
    /// Where it stands.
    pub status: RunStatus,
    /// Generations recorded (checkpointed) so far.
    pub generations: u32,
    /// Sum of the recorded generations' `evaluations`.
    pub evaluations: u64,
    /// Highest finite `best` / `best_ever` over the recorded generations.
    pub best_fitness: Option<f64>,
    /// JSON written when the run was closed, including out-of-sample validation.
    pub summary: Option<String>,
    /// The process that last wrote it; `None` for runs recorded before schema version 4.
    pub process: Option<ProcessId>,
    /// Why it failed or was interrupted (an error or panic message).
    pub error: Option<String>,
}

/// A process, told apart from a later one that reuses its pid by its start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProcessId {
    /// Its pid.
    pub pid: u32,
    /// Its start time in clock ticks after boot (`/proc/PID/stat`, field 22).
    pub start: u64,
}

impl ProcessId {
    /// The running process; `None` where `/proc` does not tell its start time (not Linux).
    pub fn current() -> Option<Self> {
        let pid = std::process::id();
        Some(ProcessId { pid, start: start_ticks(pid)? })
    }

    /// Whether this very process is still running (its pid exists with the same start time).
    pub fn is_alive(self) -> bool {
        start_ticks(self.pid) == Some(self.start)
    }
}

/// Field 22 (`starttime`) of `/proc/PID/stat`; fields are counted after the command name,
/// which is in parentheses and may itself hold spaces or parentheses.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// One generation's figures, as stored in `generations`.
///
/// The optional figures are `None` when no individual had a finite fitness. A NaN in any
/// float is stored as SQL `NULL` (SQLite has no NaN); the non-optional ones read back as NaN.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenerationRecord {
    /// Generation number; unique within a run.
    pub generation: u32,
    /// Best fitness in this generation.
    pub best: Option<f64>,
    /// Best fitness so far in the run.
    pub best_ever: Option<f64>,
    /// Mean finite fitness.
    pub mean: Option<f64>,
    /// Median finite fitness.
    pub median: Option<f64>,
    /// Population diversity.
    pub diversity: f64,
    /// Fresh evaluations in this generation (summed into the run's `evaluations`).
    pub evaluations: u64,
    /// Genomes answered from the fitness cache.
    pub cache_hits: u64,
    /// Individuals whose evaluation was invalid.
    pub invalid: u64,
    /// Mutation rate in force.
    pub mutation_rate: f64,
    /// Generations since the best improved.
    pub stagnant_for: u32,
    /// Wall time of the generation, milliseconds.
    pub elapsed_ms: f64,
}

/// One evaluated genome, as stored in `individuals`.
///
/// A genome is stored once per evaluation identity (run, key, data hash, config hash, period);
/// recording it again is an error.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndividualRecord {
    /// Generation in which it was evaluated.
    pub generation: u32,
    /// Genome key (stored as its i64 bit pattern).
    pub key: u64,
    /// The genome, JSON.
    pub genome: String,
    /// Fitness; `None` (SQL `NULL`) when non-finite. A non-finite value here is stored as `NULL`.
    pub fitness: Option<f64>,
    /// The fitness as text, so a non-finite one stays visible: `NaN`, `inf`, `-inf` or the number.
    pub fitness_raw: String,
    /// Evaluation metrics, JSON.
    pub metrics: String,
    /// First bar of the period it was evaluated on, UTC epoch nanoseconds.
    pub first_ns: i64,
    /// Last bar of the period it was evaluated on, UTC epoch nanoseconds.
    pub last_ns: i64,
    /// Hash of the bars it was evaluated on (stored as its i64 bit pattern).
    pub data_hash: u64,
    /// Hash of the configuration it was evaluated under (stored as its i64 bit pattern).
    pub config_hash: u64,
}

impl IndividualRecord {
    /// `(fitness, fitness_raw)` for a raw fitness value: `None` unless finite, and the value's
    /// shortest round-trip text (`NaN`, `inf`, `-inf` for the non-finite ones).
    pub fn fitness_fields(value: f64) -> (Option<f64>, String) {
        (Some(value).filter(|v| v.is_finite()), value.to_string())
    }
}

/// Something notable in a run, as stored in `events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// Generation it happened in (or, outside a generation, the next one to run).
    pub generation: u32,
    /// `stagnation`, `injection`, `restart`, `invalid`, `stopped`, `resumed`, ...
    pub kind: String,
    /// Free text for humans.
    pub detail: String,
}

const RUN_COLUMNS: &str = "id, kind, parent_id, name, strategy, config, config_hash, seed, data_hash,
    data_first_ns, data_last_ns, code_version, started_ns, finished_ns, status, generations,
    evaluations, best_fitness, summary, pid, pid_start, error";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        parent: r.get(2)?,
        name: r.get(3)?,
        strategy: r.get(4)?,
        config: r.get(5)?,
        config_hash: r.get::<_, i64>(6)? as u64,
        seed: r.get::<_, i64>(7)? as u64,
        data_hash: r.get::<_, i64>(8)? as u64,
        data_first_ns: r.get(9)?,
        data_last_ns: r.get(10)?,
        code_version: r.get(11)?,
        started_ns: r.get(12)?,
        finished_ns: r.get(13)?,
        status: r.get(14)?,
        generations: r.get(15)?,
        evaluations: r.get(16)?,
        best_fitness: r.get(17)?,
        summary: r.get(18)?,
        process: match (r.get::<_, Option<u32>>(19)?, r.get::<_, Option<i64>>(20)?) {
            (Some(pid), Some(start)) => Some(ProcessId { pid, start: start as u64 }),
            _ => None,
        },
        error: r.get(21)?,
    })
}

fn individual_from_row(r: &Row<'_>) -> rusqlite::Result<IndividualRecord> {
    Ok(IndividualRecord {
        generation: r.get(0)?,
        key: r.get::<_, i64>(1)? as u64,
        genome: r.get(2)?,
        fitness: r.get(3)?,
        fitness_raw: r.get(4)?,
        metrics: r.get(5)?,
        first_ns: r.get(6)?,
        last_ns: r.get(7)?,
        data_hash: r.get::<_, i64>(8)? as u64,
        config_hash: r.get::<_, i64>(9)? as u64,
    })
}

const INDIVIDUAL_COLUMNS: &str =
    "generation, key, genome, fitness, fitness_raw, metrics, first_ns, last_ns, data_hash, config_hash";

/// A float column that is `NULL` for NaN reads back as NaN.
fn nan_if_null(r: &Row<'_>, column: usize) -> rusqlite::Result<f64> {
    Ok(r.get::<_, Option<f64>>(column)?.unwrap_or(f64::NAN))
}

fn load_run(conn: &Connection, id: i64) -> rusqlite::Result<Option<RunRecord>> {
    conn.query_row(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"), [id], run_from_row).optional()
}

fn insert_event(conn: &Connection, run_id: i64, event: &EventRecord) -> rusqlite::Result<usize> {
    conn.prepare_cached("INSERT INTO events (run_id, generation, kind, detail) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![run_id, event.generation, event.kind, event.detail])
}

fn no_such_run(path: &str, id: i64) -> DbError {
    DbError::NoSuchRun { path: path.to_string(), id }
}

/// The highest finite value among `values`.
fn max_finite(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    values.into_iter().flatten().filter(|v| v.is_finite()).max_by(f64::total_cmp)
}

impl ResearchDb {
    /// Records a new run with status `running`; returns its id. The parent, if any, must exist.
    pub fn create_run(&mut self, run: &NewRun<'_>) -> Result<i64, DbError> {
        if let Some(parent) = run.parent
            && self.run(parent)?.is_none()
        {
            return Err(no_such_run(&self.path, parent));
        }
        let process = ProcessId::current();
        self.sql(self.conn.execute(
            "INSERT INTO runs (kind, parent_id, name, strategy, config, config_hash, seed, data_hash,
                               data_first_ns, data_last_ns, code_version, started_ns, status, pid, pid_start)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                run.kind,
                run.parent,
                run.name,
                run.strategy,
                run.config,
                run.config_hash as i64,
                run.seed as i64,
                run.data_hash as i64,
                run.data_first_ns,
                run.data_last_ns,
                run.code_version,
                run.started_ns,
                RunStatus::Running,
                process.map(|p| p.pid),
                process.map(|p| p.start as i64),
            ],
        ))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records one generation in one transaction: its row, its newly evaluated individuals, its
    /// events, the run's counters (`generations`, `evaluations`, `best_fitness`) and the
    /// checkpoint (opaque text replacing the previous one). A crash or any error (a run that is
    /// missing or not running, a repeated generation number or individual) leaves none of it.
    pub fn record_generation(
        &mut self,
        run_id: i64,
        generation: &GenerationRecord,
        individuals: &[IndividualRecord],
        events: &[EventRecord],
        checkpoint: &str,
    ) -> Result<(), DbError> {
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
        let run = load_run(&tx, run_id).map_err(&err)?.ok_or_else(|| no_such_run(&self.path, run_id))?;
        if run.status != RunStatus::Running {
            return Err(DbError::RunNotRunning { path: self.path.clone(), id: run_id, status: run.status });
        }
        let g = generation;
        tx.execute(
            "INSERT INTO generations (run_id, generation, best, best_ever, mean, median, diversity,
                evaluations, cache_hits, invalid, mutation_rate, stagnant_for, elapsed_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                run_id,
                g.generation,
                g.best,
                g.best_ever,
                g.mean,
                g.median,
                g.diversity,
                g.evaluations,
                g.cache_hits,
                g.invalid,
                g.mutation_rate,
                g.stagnant_for,
                g.elapsed_ms,
            ],
        )
        .map_err(&err)?;
        {
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO individuals (run_id, {INDIVIDUAL_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ))
                .map_err(&err)?;
            for i in individuals {
                insert
                    .execute(params![
                        run_id,
                        i.generation,
                        i.key as i64,
                        i.genome,
                        i.fitness.filter(|f| f.is_finite()),
                        i.fitness_raw,
                        i.metrics,
                        i.first_ns,
                        i.last_ns,
                        i.data_hash as i64,
                        i.config_hash as i64,
                    ])
                    .map_err(&err)?;
            }
        }
        for event in events {
            insert_event(&tx, run_id, event).map_err(&err)?;
        }
        let evaluations = run.evaluations.saturating_add(g.evaluations);
        tx.execute(
            "UPDATE runs SET generations = (SELECT count(*) FROM generations WHERE run_id = ?1),
                             evaluations = ?2, best_fitness = ?3
             WHERE id = ?1",
            params![run_id, evaluations, max_finite([run.best_fitness, g.best, g.best_ever])],
        )
        .map_err(&err)?;
        tx.execute(
            "INSERT INTO checkpoints (run_id, generation, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (run_id) DO UPDATE SET generation = excluded.generation, state = excluded.state",
            params![run_id, g.generation, checkpoint],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    /// Records an event outside a generation (e.g. `stopped`), whatever the run's status.
    pub fn record_event(&mut self, run_id: i64, event: &EventRecord) -> Result<(), DbError> {
        if self.run(run_id)?.is_none() {
            return Err(no_such_run(&self.path, run_id));
        }
        self.sql(insert_event(&self.conn, run_id, event)).map(drop)
    }

    /// Closes a running run as `status` (finished, stopped or failed) at `finished_ns`, with its
    /// summary JSON. Only a running run can be closed, so a finished run's summary is final.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        status: RunStatus,
        finished_ns: i64,
        summary: Option<&str>,
    ) -> Result<(), DbError> {
        debug_assert_ne!(status, RunStatus::Running, "finish_run closes a run");
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
        let run = load_run(&tx, run_id).map_err(&err)?.ok_or_else(|| no_such_run(&self.path, run_id))?;
        if run.status != RunStatus::Running {
            return Err(DbError::RunNotRunning { path: self.path.clone(), id: run_id, status: run.status });
        }
        tx.execute(
            "UPDATE runs SET status = ?2, finished_ns = ?3, summary = ?4 WHERE id = ?1",
            params![run_id, status, finished_ns, summary],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    /// Resumes a stopped, failed or interrupted run (or one still `running`): sets it running
    /// again in this process, clears `finished_ns` and `error` (the summary stays until
    /// `finish_run` replaces it) and records a `resumed` event at the next generation. Returns
    /// the run as it now stands.
    pub fn reopen_run(&mut self, run_id: i64) -> Result<RunRecord, DbError> {
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
        let mut run = load_run(&tx, run_id).map_err(&err)?.ok_or_else(|| no_such_run(&self.path, run_id))?;
        if run.status == RunStatus::Finished {
            return Err(DbError::RunFinished { path: self.path.clone(), id: run_id });
        }
        let process = ProcessId::current();
        tx.execute(
            "UPDATE runs SET status = ?2, finished_ns = NULL, error = NULL, pid = ?3, pid_start = ?4
             WHERE id = ?1",
            params![run_id, RunStatus::Running, process.map(|p| p.pid), process.map(|p| p.start as i64)],
        )
        .map_err(&err)?;
        let event = EventRecord {
            generation: run.generations,
            kind: "resumed".into(),
            detail: format!("was {}", run.status),
        };
        insert_event(&tx, run_id, &event).map_err(&err)?;
        tx.commit().map_err(&err)?;
        run.status = RunStatus::Running;
        run.finished_ns = None;
        run.error = None;
        run.process = process;
        Ok(run)
    }

    /// Marks `interrupted`, at `now_ns`, every `running` run whose recorded process is gone,
    /// with an `interrupted` event; returns their ids. Runs without a recorded process (from
    /// before schema version 4) are left alone: nothing tells whether they still run.
    pub fn mark_interrupted(&mut self, now_ns: i64) -> Result<Vec<i64>, DbError> {
        let err = sqlite_error(&self.path);
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = ?1 AND pid IS NOT NULL");
        let running: Vec<RunRecord> = self.sql(
            self.conn
                .prepare(&sql)
                .and_then(|mut stmt| stmt.query_map([RunStatus::Running], run_from_row)?.collect()),
        )?;
        let dead: Vec<(i64, u32, ProcessId)> = running
            .into_iter()
            .filter_map(|r| r.process.filter(|p| !p.is_alive()).map(|p| (r.id, r.generations, p)))
            .collect();
        if dead.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
        let mut marked = Vec::new();
        for (id, generation, p) in dead {
            let error = format!(
                "interrupted: process {} ended without closing the run (killed, crashed or out of \
                 memory); resume with --resume {id}",
                p.pid
            );
            // Only if it is still running as that process: another opener may have got there first.
            let changed = tx
                .execute(
                    "UPDATE runs SET status = ?2, finished_ns = ?3, error = ?4
                     WHERE id = ?1 AND status = ?5 AND pid = ?6 AND pid_start = ?7",
                    params![
                        id,
                        RunStatus::Interrupted,
                        now_ns,
                        error,
                        RunStatus::Running,
                        p.pid,
                        p.start as i64
                    ],
                )
                .map_err(&err)?;
            if changed == 1 {
                let event = EventRecord { generation, kind: "interrupted".into(), detail: error };
                insert_event(&tx, id, &event).map_err(&err)?;
                marked.push(id);
            }
        }
        tx.commit().map_err(&err)?;
        Ok(marked)
    }

    /// Marks `failed`, at `now_ns` and with `error`, every run this process left `running`
    /// (a research run and its children alike); returns their ids.
    pub fn fail_own_runs(&mut self, now_ns: i64, error: &str) -> Result<Vec<i64>, DbError> {
        let Some(me) = ProcessId::current() else { return Ok(Vec::new()) };
        let sql = "UPDATE runs SET status = ?1, finished_ns = ?2, error = ?3
                   WHERE status = ?4 AND pid = ?5 AND pid_start = ?6 RETURNING id";
        let ids = self.sql(self.conn.prepare(sql).and_then(|mut stmt| {
            let p = params![RunStatus::Failed, now_ns, error, RunStatus::Running, me.pid, me.start as i64];
            stmt.query_map(p, |r| r.get(0))?.collect()
        }))?;
        Ok(ids)
    }

    /// Runs `body` on this database; if it returns an error or panics, the runs it left
    /// `running` are marked `failed` with the message ([`ResearchDb::fail_own_runs`]) before
    /// the error is returned or the panic resumed. So no failure leaves a run `running`.
    pub fn record_failures<T, E: fmt::Display>(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(self)));
        let message = match &outcome {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(panic) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                Some(format!("panic: {text}"))
            }
        };
        if let Some(message) = message {
            // Best effort: the failure being reported matters more than recording it.
            let _ = self.fail_own_runs(crate::run::now_ns(), &message);
        }
        match outcome {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Run `id`, if there is one.
    pub fn run(&self, id: i64) -> Result<Option<RunRecord>, DbError> {
        self.sql(load_run(&self.conn, id))
    }

    /// The `limit` most recently created runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, DbError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1"), limit, run_from_row)
    }

    /// The newest finished run of `kind` called `name` (a nightly job reads its last verdicts).
    pub fn latest_finished(&self, kind: RunKind, name: &str) -> Result<Option<RunRecord>, DbError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE kind = ?1 AND name = ?2 AND status = ?3 ORDER BY id DESC LIMIT 1"
        );
        let mut stmt = self.sql(self.conn.prepare(&sql))?;
        self.sql(stmt.query_row(params![kind, name, RunStatus::Finished], run_from_row).optional())
    }

    /// The runs started by research run `parent`, in creation order.
    pub fn child_runs(&self, parent: i64) -> Result<Vec<RunRecord>, DbError> {
        self.query(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE parent_id = ?1 ORDER BY id"),
            parent,
            run_from_row,
        )
    }

    /// Run `run_id`'s generations in generation order (empty for an unknown run).
    pub fn generations(&self, run_id: i64) -> Result<Vec<GenerationRecord>, DbError> {
        self.query(
            "SELECT generation, best, best_ever, mean, median, diversity, evaluations, cache_hits,
                    invalid, mutation_rate, stagnant_for, elapsed_ms
             FROM generations WHERE run_id = ?1 ORDER BY generation",
            run_id,
            |r| {
                Ok(GenerationRecord {
                    generation: r.get(0)?,
                    best: r.get(1)?,
                    best_ever: r.get(2)?,
                    mean: r.get(3)?,
                    median: r.get(4)?,
                    diversity: nan_if_null(r, 5)?,
                    evaluations: r.get(6)?,
                    cache_hits: r.get(7)?,
                    invalid: r.get(8)?,
                    mutation_rate: nan_if_null(r, 9)?,
                    stagnant_for: r.get(10)?,
                    elapsed_ms: nan_if_null(r, 11)?,
                })
            },
        )
    }

    /// Run `run_id`'s individuals in the order they were recorded (the order a resumed run
    /// rebuilds its fitness cache in).
    pub fn individuals(&self, run_id: i64) -> Result<Vec<IndividualRecord>, DbError> {
        self.query(
            &format!("SELECT {INDIVIDUAL_COLUMNS} FROM individuals WHERE run_id = ?1 ORDER BY id"),
            run_id,
            individual_from_row,
        )
    }

    /// Run `run_id`'s `n` fittest individuals: fitness descending, `NULL` last, ties in the
    /// order they were recorded.
    pub fn best_individuals(&self, run_id: i64, n: usize) -> Result<Vec<IndividualRecord>, DbError> {
        // SQLite sorts NULL below every number, so DESC puts it last; this order is exactly
        // the `individuals_by_fitness` index, so the query reads n rows without sorting.
        let sql = format!(
            "SELECT {INDIVIDUAL_COLUMNS} FROM individuals WHERE run_id = ?1
             ORDER BY fitness DESC, id LIMIT ?2"
        );
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let mut stmt = self.sql(self.conn.prepare(&sql))?;
        let rows = stmt.query_map(params![run_id, n], individual_from_row);
        self.sql(rows.and_then(|rows| rows.collect()))
    }

    /// Run `run_id`'s events in the order they were recorded.
    pub fn events(&self, run_id: i64) -> Result<Vec<EventRecord>, DbError> {
        self.query("SELECT generation, kind, detail FROM events WHERE run_id = ?1 ORDER BY id", run_id, |r| {
            Ok(EventRecord { generation: r.get(0)?, kind: r.get(1)?, detail: r.get(2)? })
        })
    }

    /// Run `run_id`'s latest checkpoint, if a generation has been recorded.
    pub fn checkpoint(&self, run_id: i64) -> Result<Option<String>, DbError> {
        self.sql(
            self.conn
                .query_row("SELECT state FROM checkpoints WHERE run_id = ?1", [run_id], |r| r.get(0))
                .optional(),
        )
    }

    /// Rows of a query with one parameter, mapped by `row`.
    fn query<T>(
        &self,
        sql: &str,
        param: i64,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, DbError> {
        let mut stmt = self.sql(self.conn.prepare(sql))?;
        let rows = stmt.query_map([param], row);
        self.sql(rows.and_then(|rows| rows.collect()))
    }
}

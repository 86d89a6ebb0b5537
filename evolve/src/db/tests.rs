use std::path::Path;

use kernel::metrics::Figures;
use rusqlite::Connection;

use super::*;

/// Schema version 1 exactly as released (sweeps only).
const V1_SCHEMA: &str = "
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
";

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

/// A ranked row; `sortino` NaN as from the fast path (stored `NULL`).
fn row(rank: usize, symbol: Option<&str>, sortino: f64) -> ResultRecord {
    ResultRecord {
        symbol: symbol.map(str::to_string),
        rank,
        params: format!("{{\"fast\":{rank},\"slow\":20}}"),
        param_hash: u64::MAX - rank as u64,
        metrics: Figures {
            trades: 7,
            final_equity: 12_345.5,
            total_return: 0.234_55,
            sharpe: 1.25,
            sortino,
            max_drawdown: -0.125,
            ..Figures::missing()
        },
    }
}

fn new_run(kind: RunKind, parent: Option<i64>) -> NewRun<'static> {
    NewRun {
        kind,
        parent,
        name: "nightly",
        strategy: if kind == RunKind::Research { "" } else { "sma_cross" },
        config: "[experiment]\nname = \"nightly\"\n",
        config_hash: 0xF00D_0000_0000_0001,
        seed: u64::MAX,
        data_hash: 0x8000_0000_0000_0000,
        data_first_ns: 1_100_000_000_000_000_000,
        data_last_ns: 1_600_000_000_000_000_000,
        code_version: "0.1.0+abc",
        started_ns: 1_700_000_000_000_000_000,
    }
}

fn generation(n: u32, best: Option<f64>, evaluations: u64) -> GenerationRecord {
    GenerationRecord {
        generation: n,
        best,
        best_ever: best,
        mean: best.map(|b| b / 2.0),
        median: best.map(|b| b / 3.0),
        diversity: 0.75,
        evaluations,
        cache_hits: 3,
        invalid: 1,
        mutation_rate: 0.125,
        stagnant_for: n,
        elapsed_ms: 12.5,
    }
}

fn individual(generation: u32, key: u64, fitness: f64) -> IndividualRecord {
    let (fitness, fitness_raw) = IndividualRecord::fitness_fields(fitness);
    IndividualRecord {
        generation,
        key,
        genome: format!("{{\"fast\":{key}}}"),
        fitness,
        fitness_raw,
        metrics: "{\"trades\":3}".into(),
        first_ns: 1_100_000_000_000_000_000,
        last_ns: 1_600_000_000_000_000_000,
        data_hash: u64::MAX - 1,
        config_hash: 0x8000_0000_0000_0002,
    }
}

fn event(generation: u32, kind: &str) -> EventRecord {
    EventRecord { generation, kind: kind.into(), detail: format!("{kind} at {generation}") }
}

fn count(db: &ResearchDb, table: &str) -> i64 {
    db.conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// Row counts of every run table, in a fixed order.
fn run_counts(db: &ResearchDb) -> Vec<i64> {
    ["runs", "generations", "individuals", "events", "checkpoints"].iter().map(|t| count(db, t)).collect()
}

fn open(path: &Path) -> ResearchDb {
    ResearchDb::open(path).unwrap()
}

#[test]
fn migrates_in_wal_mode_and_round_trips_sweeps_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/research.db");
    let mut db = open(&path);
    assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
    let mode: String = db.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");

    let rows = vec![row(1, None, 2.5), row(2, None, f64::NAN), row(1, Some("SPY"), f64::NAN)];
    let id = db.record_sweep(&record("a"), &rows).unwrap();
    let id2 = db.record_sweep(&record("a"), &rows[..1]).unwrap();
    assert_ne!(id, id2);
    // A missing figure (NaN) is stored as SQL NULL.
    let nulls: i64 = db
        .conn
        .query_row("SELECT count(*) FROM sweep_results WHERE sortino IS NULL AND cagr IS NULL", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(nulls, 2);
    drop(db);

    // Reopening applies no migration twice and sees both sweeps.
    let db = open(&path);
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

#[test]
fn the_released_first_migration_is_never_edited() {
    assert_eq!(MIGRATIONS[0], V1_SCHEMA);
}

#[test]
fn a_version_1_database_with_a_sweep_gains_the_run_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("research.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(V1_SCHEMA).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO sweeps VALUES (1, 'old', 'sma_cross', 'cfg', {}, -7, '0.0.9', 10, 20, 4, 0);
         INSERT INTO sweep_results VALUES (1, 'GOOG', 1, '{{\"fast\":5}}', -1, 3, 10500.0, 0.05,
                                           NULL, 0.9, NULL, -0.1, 0.5, NULL, 0.3);
         PRAGMA user_version = 1;",
        i64::MIN
    ))
    .unwrap();
    drop(conn);

    let mut db = open(&path);
    assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
    let sweeps = db.sweeps().unwrap();
    assert_eq!(sweeps.len(), 1);
    assert_eq!(sweeps[0].record.name, "old");
    assert_eq!(sweeps[0].record.config_hash, 1 << 63);
    assert_eq!(sweeps[0].record.data_hash, u64::MAX - 6);
    let results = db.results(1).unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].param_hash, u64::MAX);
    assert_eq!(results[0].metrics.final_equity, 10_500.0);
    // The NULL figures of an old row read as the missing value, NaN.
    let m = &results[0].metrics;
    assert_eq!((m.trades, m.sharpe, m.win_rate, m.exposure), (3, 0.9, 0.5, 0.3));
    assert!(m.cagr.is_nan() && m.sortino.is_nan() && m.profit_factor.is_nan());

    let mut tables: Vec<String> = db
        .conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    assert_eq!(
        tables,
        [
            "checkpoints",
            "discovered_strategies",
            "events",
            "generations",
            "individuals",
            "runs",
            "sweep_results",
            "sweeps"
        ]
    );
    let id = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    assert_eq!(db.run(id).unwrap().unwrap().status, RunStatus::Running);
}

#[test]
fn every_run_record_round_trips_with_non_finite_fitness_and_top_bit_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("research.db");
    let mut db = open(&path);
    let parent = db.create_run(&new_run(RunKind::Research, None)).unwrap();
    let child = db.create_run(&new_run(RunKind::Evolve, Some(parent))).unwrap();

    let g0 = GenerationRecord {
        best: None,
        best_ever: None,
        mean: None,
        median: None,
        diversity: f64::NAN,
        ..generation(0, None, 4)
    };
    let mut inf_given = individual(0, 4, 0.0);
    inf_given.fitness = Some(f64::INFINITY);
    inf_given.fitness_raw = "inf".into();
    let first = vec![
        individual(0, 1, f64::NAN),
        individual(0, u64::MAX, f64::INFINITY),
        individual(0, 1 << 63, f64::NEG_INFINITY),
        inf_given,
    ];
    db.record_generation(child, &g0, &first, &[event(0, "invalid")], "{\"gen\":0}").unwrap();
    let g1 = generation(1, Some(1.5), 2);
    let second = vec![individual(1, 2, 1.5), individual(1, 3, -0.25)];
    db.record_generation(
        child,
        &g1,
        &second,
        &[event(1, "stagnation"), event(1, "injection")],
        "{\"gen\":1}",
    )
    .unwrap();
    db.record_event(child, &event(2, "stopped")).unwrap();
    db.finish_run(child, RunStatus::Stopped, 1_700_000_000_900_000_000, Some("{\"oos\":0.5}")).unwrap();
    drop(db);

    let db = open(&path);
    let run = db.run(child).unwrap().unwrap();
    let spec = new_run(RunKind::Evolve, Some(parent));
    assert_eq!(
        run,
        RunRecord {
            id: child,
            kind: RunKind::Evolve,
            parent: Some(parent),
            name: spec.name.into(),
            strategy: "sma_cross".into(),
            config: spec.config.into(),
            config_hash: 0xF00D_0000_0000_0001,
            seed: u64::MAX,
            data_hash: 1 << 63,
            data_first_ns: spec.data_first_ns,
            data_last_ns: spec.data_last_ns,
            code_version: "0.1.0+abc".into(),
            started_ns: spec.started_ns,
            finished_ns: Some(1_700_000_000_900_000_000),
            status: RunStatus::Stopped,
            generations: 2,
            evaluations: 6,
            best_fitness: Some(1.5),
            summary: Some("{\"oos\":0.5}".into()),
            process: ProcessId::current(),
            error: None,
        }
    );
    let stored_seed: i64 =
        db.conn.query_row("SELECT seed FROM runs WHERE id = ?1", [child], |r| r.get(0)).unwrap();
    assert_eq!(stored_seed, -1, "u64 values are stored as their i64 bit pattern");
    let (kind, status): (String, String) = db
        .conn
        .query_row("SELECT kind, status FROM runs WHERE id = ?1", [child], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((kind.as_str(), status.as_str()), ("evolve", "stopped"));
    assert_eq!(db.run(parent).unwrap().unwrap().kind, RunKind::Research);
    assert_eq!(db.run(parent).unwrap().unwrap().strategy, "");

    let generations = db.generations(child).unwrap();
    assert_eq!(generations.len(), 2);
    assert!(generations[0].diversity.is_nan(), "NaN is stored as NULL and read back as NaN");
    assert_eq!(
        GenerationRecord { diversity: 0.0, ..generations[0].clone() },
        GenerationRecord { diversity: 0.0, ..g0 }
    );
    assert_eq!(generations[1], g1);

    let individuals = db.individuals(child).unwrap();
    let raws: Vec<&str> = individuals.iter().map(|i| i.fitness_raw.as_str()).collect();
    assert_eq!(raws, ["NaN", "inf", "-inf", "inf", "1.5", "-0.25"]);
    let fitness: Vec<Option<f64>> = individuals.iter().map(|i| i.fitness).collect();
    assert_eq!(fitness, [None, None, None, None, Some(1.5), Some(-0.25)], "non-finite fitness is NULL");
    assert_eq!(individuals[..3], first[..3]);
    assert_eq!(individuals[4..], second[..]);
    assert_eq!(individuals[1].key, u64::MAX);
    assert_eq!(individuals[2].key, 1 << 63);
    assert_eq!(individuals[0].data_hash, u64::MAX - 1);

    let events = db.events(child).unwrap();
    assert_eq!(
        events,
        [event(0, "invalid"), event(1, "stagnation"), event(1, "injection"), event(2, "stopped")]
    );
    assert_eq!(db.checkpoint(child).unwrap().as_deref(), Some("{\"gen\":1}"), "the latest replaces");
    assert_eq!(count(&db, "checkpoints"), 1);
    assert_eq!(db.checkpoint(parent).unwrap(), None);
    assert_eq!(db.child_runs(parent).unwrap(), [run]);
    assert!(db.child_runs(child).unwrap().is_empty());
    assert!(db.generations(999).unwrap().is_empty());
}

#[test]
fn fitness_fields_keep_non_finite_values_visible() {
    assert_eq!(IndividualRecord::fitness_fields(f64::NAN), (None, "NaN".to_string()));
    assert_eq!(IndividualRecord::fitness_fields(f64::INFINITY), (None, "inf".to_string()));
    assert_eq!(IndividualRecord::fitness_fields(f64::NEG_INFINITY), (None, "-inf".to_string()));
    assert_eq!(IndividualRecord::fitness_fields(0.1 + 0.2), (Some(0.1 + 0.2), "0.30000000000000004".into()));
}

#[test]
fn a_failing_record_generation_leaves_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir.path().join("research.db"));
    let id = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    db.record_generation(id, &generation(0, Some(1.0), 2), &[individual(0, 7, 1.0)], &[event(0, "a")], "c0")
        .unwrap();
    let before = run_counts(&db);
    let run_before = db.run(id).unwrap().unwrap();
    assert_eq!(before, [1, 1, 1, 1, 1]);

    // The same genome evaluated on the same data and config again, after other rows went in.
    let dup = [individual(1, 8, 2.0), individual(1, 7, 3.0)];
    let err =
        db.record_generation(id, &generation(1, Some(3.0), 2), &dup, &[event(1, "b")], "c1").unwrap_err();
    assert!(matches!(err, DbError::Sqlite { .. }), "{err}");
    // A repeated generation number.
    let err = db.record_generation(id, &generation(0, Some(9.0), 1), &[individual(0, 9, 9.0)], &[], "c2");
    assert!(matches!(err, Err(DbError::Sqlite { .. })));
    assert_eq!(run_counts(&db), before);
    assert_eq!(db.run(id).unwrap().unwrap(), run_before, "counters untouched");
    assert_eq!(db.checkpoint(id).unwrap().as_deref(), Some("c0"));

    // The same key on another period is a different evaluation and is accepted.
    let mut other_period = individual(1, 7, 3.0);
    other_period.first_ns += 1;
    db.record_generation(id, &generation(1, Some(3.0), 1), &[other_period], &[], "c1").unwrap();
    assert_eq!(run_counts(&db), [1, 2, 2, 1, 1]);

    // A closed run cannot be appended to; a missing run is named.
    db.finish_run(id, RunStatus::Finished, 5, None).unwrap();
    let before = run_counts(&db);
    let err = db.record_generation(id, &generation(2, Some(4.0), 1), &[individual(2, 10, 4.0)], &[], "c3");
    match err {
        Err(e @ DbError::RunNotRunning { status: RunStatus::Finished, .. }) => {
            assert!(e.to_string().contains(&format!("run {id} is finished")), "{e}")
        }
        other => panic!("expected RunNotRunning, got {other:?}"),
    }
    let err = db.record_generation(id + 1, &generation(0, None, 0), &[], &[], "x").unwrap_err();
    assert!(matches!(err, DbError::NoSuchRun { id: missing, .. } if missing == id + 1), "{err}");
    assert_eq!(run_counts(&db), before);
    assert_eq!(db.checkpoint(id).unwrap().as_deref(), Some("c1"));
}

#[test]
fn best_individuals_rank_by_fitness_with_null_last_and_ties_in_insertion_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir.path().join("research.db"));
    let id = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    let other = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    let fitness = [1.0, f64::NAN, 3.0, 1.0, f64::NEG_INFINITY, 2.0, -5.0];
    let individuals: Vec<_> = fitness.iter().enumerate().map(|(k, &f)| individual(0, k as u64, f)).collect();
    db.record_generation(id, &generation(0, Some(3.0), 7), &individuals, &[], "").unwrap();
    db.record_generation(other, &generation(0, Some(99.0), 1), &[individual(0, 0, 99.0)], &[], "").unwrap();

    let keys = |n| db.best_individuals(id, n).unwrap().iter().map(|i| i.key).collect::<Vec<_>>();
    assert_eq!(keys(100), [2, 5, 0, 3, 6, 1, 4]);
    assert_eq!(keys(3), [2, 5, 0]);
    assert!(keys(0).is_empty());

    let plan: Vec<String> = db
        .conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT key FROM individuals WHERE run_id = 1 ORDER BY fitness DESC, id LIMIT 3",
        )
        .unwrap()
        .query_map([], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(plan.iter().any(|p| p.contains("individuals_by_fitness")), "{plan:?}");
    assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "no sort: {plan:?}");
}

#[test]
fn runs_are_listed_newest_first_and_children_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir.path().join("research.db"));
    let parent = db.create_run(&new_run(RunKind::Research, None)).unwrap();
    let a = db.create_run(&new_run(RunKind::Evolve, Some(parent))).unwrap();
    let lone = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    let b = db.create_run(&new_run(RunKind::Evolve, Some(parent))).unwrap();
    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(db.runs(2).unwrap()), [b, lone]);
    assert_eq!(ids(db.runs(usize::MAX).unwrap()), [b, lone, a, parent]);
    assert_eq!(ids(db.child_runs(parent).unwrap()), [a, b]);
    let err = db.create_run(&new_run(RunKind::Evolve, Some(b + 100))).unwrap_err();
    assert!(matches!(err, DbError::NoSuchRun { id, .. } if id == b + 100), "{err}");
    assert_eq!(count(&db, "runs"), 4);
}

#[test]
fn latest_finished_finds_the_newest_finished_run_of_a_kind_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir.path().join("research.db"));
    assert!(db.latest_finished(RunKind::Research, "nightly").unwrap().is_none());
    let first = db.create_run(&new_run(RunKind::Research, None)).unwrap();
    db.finish_run(first, RunStatus::Finished, 1, Some("{}")).unwrap();
    let second = db.create_run(&new_run(RunKind::Research, None)).unwrap();
    db.finish_run(second, RunStatus::Finished, 2, Some("{}")).unwrap();
    let stopped = db.create_run(&new_run(RunKind::Research, None)).unwrap();
    db.finish_run(stopped, RunStatus::Stopped, 3, None).unwrap();
    let evolve = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    db.finish_run(evolve, RunStatus::Finished, 4, None).unwrap();
    let _running = db.create_run(&new_run(RunKind::Research, None)).unwrap();
    let found = db.latest_finished(RunKind::Research, "nightly").unwrap().unwrap();
    assert_eq!(found.id, second, "stopped, running and other kinds are skipped");
    assert!(db.latest_finished(RunKind::Research, "weekly").unwrap().is_none());
}

#[test]
fn reopen_resumes_stopped_failed_and_interrupted_runs_but_not_finished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir.path().join("research.db"));
    let id = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    db.record_generation(id, &generation(0, Some(1.0), 3), &[], &[], "c0").unwrap();
    db.finish_run(id, RunStatus::Stopped, 77, Some("{}")).unwrap();
    let err = db.record_generation(id, &generation(1, None, 0), &[], &[], "c1").unwrap_err();
    assert!(matches!(err, DbError::RunNotRunning { status: RunStatus::Stopped, .. }), "{err}");
    let err = db.finish_run(id, RunStatus::Finished, 78, None).unwrap_err();
    assert!(matches!(err, DbError::RunNotRunning { status: RunStatus::Stopped, .. }), "{err}");

    let run = db.reopen_run(id).unwrap();
    assert_eq!((run.status, run.finished_ns, run.generations), (RunStatus::Running, None, 1));
    assert_eq!(db.run(id).unwrap().unwrap(), run);
    assert_eq!(run.summary.as_deref(), Some("{}"), "kept until finish_run replaces it");
    db.record_generation(id, &generation(1, Some(2.0), 1), &[], &[], "c1").unwrap();

    db.finish_run(id, RunStatus::Failed, 80, None).unwrap();
    assert_eq!(db.reopen_run(id).unwrap().status, RunStatus::Running);
    // A run whose process died is still `running`; it resumes too.
    assert_eq!(db.reopen_run(id).unwrap().status, RunStatus::Running);
    let resumed = EventRecord { generation: 1, kind: "resumed".into(), detail: "was stopped".into() };
    let events = db.events(id).unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0], resumed);
    assert_eq!(events[1], EventRecord { generation: 2, detail: "was failed".into(), ..resumed.clone() });
    assert_eq!(events[2], EventRecord { generation: 2, detail: "was running".into(), ..resumed });

    db.finish_run(id, RunStatus::Finished, 90, Some("{\"done\":true}")).unwrap();
    let before = run_counts(&db);
    let err = db.reopen_run(id).unwrap_err();
    assert!(matches!(err, DbError::RunFinished { id: got, .. } if got == id), "{err}");
    assert!(err.to_string().contains(&format!("run {id} has finished")), "{err}");
    let err = db.reopen_run(id + 1).unwrap_err();
    assert!(err.to_string().contains(&format!("there is no run {}", id + 1)), "{err}");
    assert_eq!(run_counts(&db), before);
    let run = db.run(id).unwrap().unwrap();
    assert_eq!((run.status, run.finished_ns), (RunStatus::Finished, Some(90)));
    assert!(matches!(db.record_event(id + 1, &event(0, "x")), Err(DbError::NoSuchRun { .. })));
}

#[test]
fn a_reader_is_not_blocked_by_an_open_write_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("research.db");
    let mut writer = open(&path);
    let id = writer.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    writer
        .conn
        .execute_batch(&format!(
            "BEGIN IMMEDIATE;
             INSERT INTO events (run_id, generation, kind, detail) VALUES ({id}, 0, 'pending', '');"
        ))
        .unwrap();

    let started = std::time::Instant::now();
    let reader = open(&path);
    assert_eq!(reader.run(id).unwrap().unwrap().status, RunStatus::Running);
    assert!(reader.events(id).unwrap().is_empty(), "uncommitted rows are invisible");
    assert!(started.elapsed() < BUSY_TIMEOUT / 2, "the reader did not wait for the writer");

    // The other way round: a reader's open snapshot does not stop the writer committing.
    reader.conn.execute_batch("BEGIN").unwrap();
    assert!(reader.events(id).unwrap().is_empty());
    let started = std::time::Instant::now();
    writer.conn.execute_batch("COMMIT").unwrap();
    assert!(started.elapsed() < BUSY_TIMEOUT / 2, "the writer did not wait for the reader");
    assert!(reader.events(id).unwrap().is_empty(), "the reader keeps its snapshot");
    reader.conn.execute_batch("COMMIT").unwrap();
    assert_eq!(reader.events(id).unwrap().len(), 1);
}

#[test]
fn candidates_are_recorded_once_per_run_and_genome_and_track_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir.path().join("research.db"));
    let run = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    let candidate = NewCandidate {
        run_id: run,
        name: "discover",
        key: u64::MAX,
        genome: "(strategy (entry (gt close 1)) (exit false) (size 1))",
        generation: 3,
        parents: "[1,2]",
        fitness: Some(1.5),
        in_sample: "{}",
        out_of_sample: "{}",
        deflated_sharpe: Some(0.97),
        max_correlation: Some(f64::NAN),
        gates: "[]",
        file: Some("candidates/1.json"),
        created_ns: 5,
    };
    let id = db.record_candidate(&candidate).unwrap();
    assert_eq!(
        db.record_candidate(&candidate).unwrap(),
        id,
        "the same genome of the same run is one candidate"
    );
    let stored = db.candidate(id).unwrap().unwrap();
    assert_eq!((stored.key, stored.generation, stored.max_correlation), (u64::MAX, 3, None));
    assert_eq!(stored.promoted_id, None);
    db.set_promoted(id, Some("gp-1")).unwrap();
    assert_eq!(db.candidates(10).unwrap()[0].promoted_id.as_deref(), Some("gp-1"));
    db.set_promoted(id, None).unwrap();
    assert_eq!(db.candidate(id).unwrap().unwrap().promoted_id, None);
    assert_eq!(db.candidate(id + 1).unwrap(), None);
}

/// Issue 16: a run whose process died is marked `interrupted` when the database is next opened.
#[test]
fn a_running_run_whose_process_is_gone_is_marked_interrupted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("research.db");
    let mut db = open(&path);
    let me = ProcessId::current().expect("Linux has /proc");
    assert!(me.is_alive());
    let alive = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    let dead = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    db.record_generation(dead, &generation(0, Some(1.0), 3), &[], &[], "c0").unwrap();
    let legacy = db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
    // Same pid, another start time: the pid was reused, the run's process is gone.
    db.conn.execute("UPDATE runs SET pid_start = pid_start + 1 WHERE id = ?1", [dead]).unwrap();
    db.conn.execute("UPDATE runs SET pid = NULL, pid_start = NULL WHERE id = ?1", [legacy]).unwrap();
    drop(db);

    let mut db = open(&path);
    let run = db.run(dead).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert!(run.finished_ns.is_some_and(|t| t > 1_700_000_000_000_000_000), "marked with the time");
    let error = run.error.unwrap();
    assert!(error.starts_with(&format!("interrupted: process {} ended without closing the run", me.pid)));
    assert_eq!(db.events(dead).unwrap().last().unwrap().kind, "interrupted");
    assert_eq!(db.run(alive).unwrap().unwrap().status, RunStatus::Running, "its process still runs");
    assert_eq!(db.run(legacy).unwrap().unwrap().status, RunStatus::Running, "no process recorded");
    assert_eq!(db.mark_interrupted(0).unwrap(), Vec::<i64>::new(), "marked once");
    // An interrupted run resumes in this process.
    let run = db.reopen_run(dead).unwrap();
    assert_eq!((run.status, run.error, run.process), (RunStatus::Running, None, Some(me)));
}

/// Issue 16: an error or a panic in a command marks the runs it left running as failed.
#[test]
fn errors_and_panics_mark_the_runs_left_running_failed() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir.path().join("research.db"));
    let err: Result<(), String> = db.record_failures(|db| {
        let parent = db.create_run(&new_run(RunKind::Research, None)).unwrap();
        db.create_run(&new_run(RunKind::Evolve, Some(parent))).unwrap();
        Err("disk full".into())
    });
    assert_eq!(err, Err("disk full".into()));
    let runs = db.runs(10).unwrap();
    assert_eq!(runs.len(), 2);
    for r in &runs {
        assert_eq!((r.status, r.error.as_deref()), (RunStatus::Failed, Some("disk full")));
        assert!(r.finished_ns.is_some());
    }
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.record_failures(|db| -> Result<(), String> {
            db.create_run(&new_run(RunKind::Evolve, None)).unwrap();
            let population: Vec<u8> = Vec::new();
            let _ = population[usize::MAX / 2]; // a worker's capacity overflow stands in here
            Ok(())
        });
    }));
    assert!(panicked.is_err(), "the panic is resumed after it is recorded");
    let run = &db.runs(1).unwrap()[0];
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.as_deref().unwrap().starts_with("panic: index out of bounds"), "{:?}", run.error);
    let ok: Result<i64, String> =
        db.record_failures(|db| Ok(db.create_run(&new_run(RunKind::Evolve, None)).unwrap()));
    assert_eq!(db.run(ok.unwrap()).unwrap().unwrap().status, RunStatus::Running, "success leaves runs alone");
}

/// Version 4 rebuilds `runs`; the rows and their children survive (no cascade).
#[test]
fn a_version_3_database_keeps_runs_and_their_rows_through_the_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("research.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    for m in &MIGRATIONS[..3] {
        conn.execute_batch(m).unwrap();
    }
    conn.execute_batch(
        "INSERT INTO runs (id, kind, name, strategy, config, config_hash, seed, data_hash, data_first_ns,
                           data_last_ns, code_version, started_ns, status, generations)
         VALUES (7, 'evolve', 'old', 'sma_cross', 'cfg', 1, 2, 3, 4, 5, '0.1', 6, 'running', 1);
         INSERT INTO generations (run_id, generation, evaluations, cache_hits, invalid, stagnant_for)
         VALUES (7, 0, 10, 0, 0, 0);
         INSERT INTO checkpoints VALUES (7, 0, 'state');
         PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(conn);
    let db = open(&path);
    assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
    let run = db.run(7).unwrap().unwrap();
    assert_eq!(
        (run.name.as_str(), run.status, run.process, run.error),
        ("old", RunStatus::Running, None, None)
    );
    assert_eq!(db.generations(7).unwrap().len(), 1);
    assert_eq!(db.checkpoint(7).unwrap().as_deref(), Some("state"));
    let fk: i64 = db.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 1, "foreign keys are enforced again after the migrations");
}

/// Issue 16: a damaged or empty research database is refused, not written into.
#[test]
fn an_empty_or_damaged_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("research.db");
    std::fs::write(&path, b"").unwrap();
    let err = ResearchDb::open(&path).err().unwrap();
    assert!(matches!(err, DbError::Check(dbkit::CheckError::Corrupt { .. })), "{err}");
    assert!(
        err.to_string().starts_with(&format!("research database {} is corrupt", path.display())),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "nothing was written");
}

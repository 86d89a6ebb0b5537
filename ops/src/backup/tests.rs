use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread;

use super::*;
use crate::testing::{row_ids as ids, service_db as make_db};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn backup_during_writes_then_restore_finds_every_committed_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    let live = data.join("live.db");
    make_db(&data.join("research.db")).execute("INSERT INTO rows (payload) VALUES ('r')", []).unwrap();
    drop(make_db(&live));

    // A "service": holds the shared lock and commits one row per transaction as fast as it
    // can, publishing the last committed id after each commit.
    let committed = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, s, path) = (Arc::clone(&committed), Arc::clone(&stop), live.clone());
    let service = thread::spawn(move || {
        let lock = DbLock::shared(&path).unwrap();
        let mut conn = make_db(&path);
        while !s.load(Ordering::Relaxed) {
            let tx = conn.transaction().unwrap();
            tx.execute("INSERT INTO rows (payload) VALUES (?1)", [&"x".repeat(200)]).unwrap();
            let id = tx.last_insert_rowid();
            tx.commit().unwrap();
            c.store(id, Ordering::Release);
        }
        lock
    });
    while committed.load(Ordering::Acquire) < 200 {
        thread::yield_now();
    }

    let to = dir.path().join("backups");
    let databases = discover(&data).unwrap();
    assert_eq!(databases, [data.join("live.db"), data.join("research.db")]);
    let mut last = None;
    for (k, d) in ["2026-11-28", "2026-11-29", "2026-11-30"].into_iter().enumerate() {
        let before = committed.load(Ordering::Acquire);
        let report = backup(&databases, &to, 2, day(d)).unwrap();
        let after = committed.load(Ordering::Acquire);
        let copy = report.dir.join("live.db");
        let got = ids(&copy);
        // A snapshot: every row committed before the backup began, contiguous, none after it ended.
        assert!(got.len() as i64 >= before, "backup {k}: {} rows, {before} committed before", got.len());
        assert!(got.len() as i64 <= after);
        assert_eq!(got, (1..=got.len() as i64).collect::<Vec<_>>());
        assert_eq!(report.copies.len(), 2);
        assert_eq!(source_of(&copy), Some(live.clone()));
        last = Some((copy, got.len()));
    }
    // Three days backed up, two kept.
    assert_eq!(days(&to).unwrap(), [to.join("2026-11-29"), to.join("2026-11-30")]);
    let (copy, rows) = last.unwrap();
    // The copy is one self-contained file.
    assert!(!copy.with_extension("db-wal").exists());

    // Restoring while the service holds the database is refused, and changes nothing.
    let err = restore(&copy, &live).unwrap_err();
    assert!(matches!(err, BackupError::Locked(_)), "{err}");
    assert!(err.to_string().contains("stop the service first"), "{err}");

    stop.store(true, Ordering::Relaxed);
    let lock = service.join().unwrap();
    let total = committed.load(Ordering::Acquire);
    assert!(total as usize > rows, "the service kept writing after the last backup");
    drop(lock);

    let report = restore(&copy, &live).unwrap();
    assert_eq!(ids(&live), (1..=rows as i64).collect::<Vec<_>>());
    // The replaced file is kept, with everything the service wrote.
    let previous = report.previous.unwrap();
    assert_eq!(previous, data.join("live.db.before-restore"));
    assert_eq!(ids(&previous).len() as i64, total);
    // The restored database works for the service again (WAL, writable).
    let conn = make_db(&live);
    conn.execute("INSERT INTO rows (payload) VALUES ('after restore')", []).unwrap();
    assert_eq!(conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)).unwrap(), "wal");
}

#[test]
fn a_copy_that_fails_the_integrity_check_is_an_error_and_nothing_is_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bad.db");
    let conn = Connection::open(&db).unwrap();
    // A row that breaks its CHECK constraint: integrity_check reports it.
    conn.execute_batch(
        "CREATE TABLE t (x INTEGER CHECK (x > 0));
         PRAGMA ignore_check_constraints = ON;
         INSERT INTO t VALUES (-1);",
    )
    .unwrap();
    drop(conn);
    let to = dir.path().join("backups");
    fs::create_dir_all(to.join("2026-11-01")).unwrap();
    let err = backup(std::slice::from_ref(&db), &to, 1, day("2026-11-30")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bad.db: integrity check failed: CHECK constraint failed in t"), "{text}");
    // The earlier backup is still there; no day directory was made for the failed one.
    assert_eq!(days(&to).unwrap(), [to.join("2026-11-01")]);
    // And a damaged copy is never restored.
    let target = dir.path().join("target.db");
    assert!(matches!(restore(&db, &target), Err(BackupError::Integrity { .. })));
    assert!(!target.exists());
}

#[test]
fn a_second_backup_on_the_same_day_replaces_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ops.db");
    let conn = make_db(&db);
    let to = dir.path().join("b");
    backup(std::slice::from_ref(&db), &to, 7, day("2026-11-30")).unwrap();
    conn.execute("INSERT INTO rows (payload) VALUES ('later')", []).unwrap();
    let report = backup(std::slice::from_ref(&db), &to, 7, day("2026-11-30")).unwrap();
    assert_eq!(ids(&report.dir.join("ops.db")), [1]);
    let names: Vec<_> = fs::read_dir(&to).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["2026-11-30"]);
    assert!(matches!(backup(&[], &to, 7, day("2026-11-30")), Err(BackupError::Nothing(_))));
}

#[test]
fn a_failed_backup_removes_its_partial_directory_and_names_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::create_dir_all(&a).unwrap();
    fs::create_dir_all(&b).unwrap();
    drop(make_db(&a.join("research.db")));
    drop(make_db(&b.join("research.db")));
    let to = dir.path().join("backups");
    // The second copy fails after the first was written into the partial directory.
    let err = backup(&[a.join("research.db"), b.join("research.db")], &to, 7, day("2026-11-30")).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with(&format!("backup to {} failed, partial copy removed", to.display())), "{text}");
    assert!(text.contains("two databases are named research.db"), "{text}");
    let names: Vec<_> = fs::read_dir(&to).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.is_empty(), "left behind: {names:?}");
}

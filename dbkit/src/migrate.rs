//! The versioned schema migration runner of every database of the project.
//!
//! A database's schema is a list of steps: `steps[k]` takes the schema from version `k` to
//! `k + 1`, and `PRAGMA user_version` records how many have been applied. [`migrate`] applies
//! the pending ones in order, each in one transaction together with the version it reaches, so
//! a crash leaves a file at a version it really has. The list is append only: a released step is
//! never edited, later work appends one. A file written by a newer build (a version beyond the
//! list) is refused rather than written to.

use rusqlite::Connection;

/// A schema that cannot be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The file was written by a newer build, with a schema this one does not know.
    #[error("schema version {found}; this build knows up to {known}")]
    TooNew {
        /// Version in the file.
        found: usize,
        /// Latest version this build knows (the number of steps).
        known: usize,
    },
    /// SQLite refused reading the version or applying a step.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The schema version of `conn` (`PRAGMA user_version`): the number of steps applied.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the steps of `steps` that `conn` has not had yet, each with its new version in one
/// transaction; returns how many it applied.
pub fn migrate(conn: &mut Connection, steps: &[&str]) -> Result<usize, MigrateError> {
    let found = schema_version(conn)?;
    if found > steps.len() {
        return Err(MigrateError::TooNew { found, known: steps.len() });
    }
    for (k, step) in steps.iter().enumerate().skip(found) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", k + 1)?;
        tx.commit()?;
    }
    Ok(steps.len() - found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[&str] = &[
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT NOT NULL);",
        "ALTER TABLE a ADD COLUMN w INTEGER NOT NULL DEFAULT 7;",
    ];

    #[test]
    fn steps_apply_once_in_order_and_resume_from_the_recorded_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn, &STEPS[..1]).unwrap(), 1);
        conn.execute("INSERT INTO a (v) VALUES ('kept')", []).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 1);
        // A later build appends a step: only that one runs, and the row survives it.
        assert_eq!(migrate(&mut conn, STEPS).unwrap(), 1);
        assert_eq!(migrate(&mut conn, STEPS).unwrap(), 0);
        let row: (String, i64) =
            conn.query_row("SELECT v, w FROM a", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(row, ("kept".to_string(), 7));
        assert_eq!(schema_version(&conn).unwrap(), 2);
    }

    #[test]
    fn a_failing_step_leaves_the_version_it_had_and_a_newer_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        let broken = [STEPS[0], "CREATE TABLE b (x); THIS IS NOT SQL;"];
        assert!(matches!(migrate(&mut conn, &broken), Err(MigrateError::Sqlite(_))));
        assert_eq!(schema_version(&conn).unwrap(), 1, "the failed step rolled back, version and all");
        let tables: i64 =
            conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 0);
        conn.pragma_update(None, "user_version", 5).unwrap();
        let e = migrate(&mut conn, STEPS).unwrap_err();
        assert!(matches!(e, MigrateError::TooNew { found: 5, known: 2 }), "{e}");
        assert_eq!(e.to_string(), "schema version 5; this build knows up to 2");
    }
}

//! `discovered_strategies`: the GP strategies that passed a discovery run's promotion gates,
//! with their genome, lineage, in- and out-of-sample figures and gate results, and whether
//! (under which id) they are in the promoted set.

use rusqlite::{OptionalExtension, Row, params};

use super::{DbError, ResearchDb, sqlite_error};

/// A candidate to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCandidate<'a> {
    /// The discovery run (a `runs` row) that found it.
    pub run_id: i64,
    /// The experiment's name.
    pub name: &'a str,
    /// The genome's key.
    pub key: u64,
    /// The genome as an s-expression.
    pub genome: &'a str,
    /// Generation it was first evaluated in.
    pub generation: u32,
    /// Its parents' keys, as JSON (`[]` for a random genome).
    pub parents: &'a str,
    /// In-sample fitness (`None` when not finite).
    pub fitness: Option<f64>,
    /// In-sample figures (JSON).
    pub in_sample: &'a str,
    /// Out-of-sample figures (JSON).
    pub out_of_sample: &'a str,
    /// Deflated Sharpe ratio of its in-sample returns over the run's trials.
    pub deflated_sharpe: Option<f64>,
    /// Highest correlation of its out-of-sample daily returns to a promoted strategy's.
    pub max_correlation: Option<f64>,
    /// Every gate with its figure and threshold (JSON).
    pub gates: &'a str,
    /// The candidate file written for it.
    pub file: Option<&'a str>,
    /// When it was recorded (UTC ns).
    pub created_ns: i64,
}

/// A recorded candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateRecord {
    /// Its id (what `tradebot candidates show` and `tradebot promote` take).
    pub id: i64,
    /// The discovery run that found it.
    pub run_id: i64,
    /// The experiment's name.
    pub name: String,
    /// The genome's key.
    pub key: u64,
    /// The genome as an s-expression.
    pub genome: String,
    /// Generation it was first evaluated in.
    pub generation: u32,
    /// Its parents' keys (JSON).
    pub parents: String,
    /// In-sample fitness.
    pub fitness: Option<f64>,
    /// In-sample figures (JSON).
    pub in_sample: String,
    /// Out-of-sample figures (JSON).
    pub out_of_sample: String,
    /// Deflated Sharpe ratio.
    pub deflated_sharpe: Option<f64>,
    /// Highest correlation to a promoted strategy.
    pub max_correlation: Option<f64>,
    /// Gate results (JSON).
    pub gates: String,
    /// Its candidate file.
    pub file: Option<String>,
    /// When it was recorded (UTC ns).
    pub created_ns: i64,
    /// Its id in the promoted set while it is promoted.
    pub promoted_id: Option<String>,
}

const COLUMNS: &str = "id, run_id, name, key, genome, generation, parents, fitness, in_sample, out_of_sample,
                       deflated_sharpe, max_correlation, gates, file, created_ns, promoted_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<CandidateRecord> {
    Ok(CandidateRecord {
        id: r.get(0)?,
        run_id: r.get(1)?,
        name: r.get(2)?,
        key: r.get::<_, i64>(3)? as u64,
        genome: r.get(4)?,
        generation: r.get(5)?,
        parents: r.get(6)?,
        fitness: r.get(7)?,
        in_sample: r.get(8)?,
        out_of_sample: r.get(9)?,
        deflated_sharpe: r.get(10)?,
        max_correlation: r.get(11)?,
        gates: r.get(12)?,
        file: r.get(13)?,
        created_ns: r.get(14)?,
        promoted_id: r.get(15)?,
    })
}

impl ResearchDb {
    /// Records a candidate; returns its id. Recording the same genome of the same run again
    /// (a replayed validation) returns the existing id and changes nothing.
    pub fn record_candidate(&mut self, c: &NewCandidate<'_>) -> Result<i64, DbError> {
        let err = sqlite_error(&self.path);
        let existing: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM discovered_strategies WHERE run_id = ?1 AND key = ?2",
                params![c.run_id, c.key as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let finite = |x: Option<f64>| x.filter(|v| v.is_finite());
        self.conn
            .execute(
                "INSERT INTO discovered_strategies (run_id, name, key, genome, generation, parents, fitness,
                     in_sample, out_of_sample, deflated_sharpe, max_correlation, gates, file, created_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    c.run_id,
                    c.name,
                    c.key as i64,
                    c.genome,
                    c.generation,
                    c.parents,
                    finite(c.fitness),
                    c.in_sample,
                    c.out_of_sample,
                    finite(c.deflated_sharpe),
                    finite(c.max_correlation),
                    c.gates,
                    c.file,
                    c.created_ns,
                ],
            )
            .map_err(&err)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Candidate `id`.
    pub fn candidate(&self, id: i64) -> Result<Option<CandidateRecord>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM discovered_strategies WHERE id = ?1");
        self.sql(self.conn.query_row(&sql, [id], from_row).optional())
    }

    /// The latest `limit` candidates, newest first.
    pub fn candidates(&self, limit: usize) -> Result<Vec<CandidateRecord>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM discovered_strategies ORDER BY id DESC LIMIT ?1");
        let mut stmt = self.sql(self.conn.prepare(&sql))?;
        let rows = self.sql(stmt.query_map([limit as i64], from_row))?;
        self.sql(rows.collect())
    }

    /// Sets the path of candidate `id`'s file.
    pub fn set_candidate_file(&mut self, id: i64, file: &str) -> Result<(), DbError> {
        self.sql(
            self.conn.execute("UPDATE discovered_strategies SET file = ?2 WHERE id = ?1", params![id, file]),
        )?;
        Ok(())
    }

    /// Marks candidate `id` as promoted under `promoted_id`, or as not promoted (`None`).
    pub fn set_promoted(&mut self, id: i64, promoted_id: Option<&str>) -> Result<(), DbError> {
        self.sql(self.conn.execute(
            "UPDATE discovered_strategies SET promoted_id = ?2 WHERE id = ?1",
            params![id, promoted_id],
        ))?;
        Ok(())
    }
}

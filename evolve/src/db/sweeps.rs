//! Sweeps: one row per `tradebot sweep` in `sweeps`, its ranked combinations in `sweep_results`.

use kernel::metrics::Figures;
use rusqlite::{OptionalExtension, params};

use super::{DbError, ResearchDb};

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
    /// The figures; those the fast path did not compute are NaN (SQL `NULL`), as are the
    /// figures a sweep does not store (Calmar, capital at work).
    pub metrics: Figures,
}

/// A stored sweep with its id, as listed by [`ResearchDb::sweeps`].
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSweep {
    /// Row id.
    pub id: i64,
    /// What was recorded.
    pub record: SweepRecord,
}

impl ResearchDb {
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
            let given = Figures::given;
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
                        given(m.final_equity),
                        given(m.total_return),
                        given(m.cagr),
                        given(m.sharpe),
                        given(m.sortino),
                        given(m.max_drawdown),
                        given(m.win_rate),
                        given(m.profit_factor),
                        given(m.exposure),
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
        // A `NULL` figure (one the fast path did not compute) reads as NaN, the missing value.
        let figure = |r: &rusqlite::Row, i: usize| -> rusqlite::Result<f64> {
            Ok(r.get::<_, Option<f64>>(i)?.unwrap_or(f64::NAN))
        };
        let rows = stmt.query_map([id], |r| {
            Ok(ResultRecord {
                symbol: r.get(0)?,
                rank: r.get::<_, i64>(1)? as usize,
                params: r.get(2)?,
                param_hash: r.get::<_, i64>(3)? as u64,
                metrics: Figures {
                    trades: r.get::<_, i64>(4)? as usize,
                    final_equity: figure(r, 5)?,
                    total_return: figure(r, 6)?,
                    cagr: figure(r, 7)?,
                    sharpe: figure(r, 8)?,
                    sortino: figure(r, 9)?,
                    max_drawdown: figure(r, 10)?,
                    win_rate: figure(r, 11)?,
                    profit_factor: figure(r, 12)?,
                    exposure: figure(r, 13)?,
                    ..Figures::missing()
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

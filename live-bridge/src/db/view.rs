//! The read side of `live.db` for readers beside the service (the dashboard, `tradebot live
//! status`): the rows they show, from the same SQL module that writes them, so a schema change
//! is made in one place. [`Db::read`] runs several reads in one read transaction, a consistent
//! snapshot that never blocks the service's writes (WAL).

use rusqlite::OptionalExtension;
use rust_decimal::Decimal;

use super::{Db, DbResult, ORDER_COLUMNS, OrderRow, PositionRow, SignalRow, ctx, dec, order_row};

/// A position with the instant it was opened.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldPosition {
    /// The position.
    pub position: PositionRow,
    /// When its first shares were booked (UTC ns).
    pub opened_ns: i64,
}

/// An order as stored, with the broker's last status and the row's times.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRecord {
    /// The order.
    pub order: OrderRow,
    /// Alpaca's status when it was last seen (`None`: never sent or never answered).
    pub broker_status: Option<String>,
    /// When the row was written (UTC ns).
    pub created_ns: i64,
    /// When it last changed (UTC ns).
    pub updated_ns: i64,
}

/// A strategy's latest run.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestRun {
    /// Strategy id.
    pub strategy: String,
    /// Its slot (`YYYY-MM-DDTHH:MM`, New York).
    pub slot: String,
    /// `planned`, `exits_sent`, `done`, `skipped`, `missed` or `failed`.
    pub status: String,
    /// Why.
    pub detail: String,
    /// When it finished (or started, while unfinished), UTC ns.
    pub time_ns: i64,
}

/// Where a price the bridge saw came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceSource {
    /// The close of a signal bar.
    SignalClose,
    /// A fill's average price.
    Fill,
    /// The broker's price at an equity snapshot (`broker_marks`).
    Broker,
}

impl PriceSource {
    /// `signal bar close`, `fill` or `broker`.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceSource::SignalClose => "signal bar close",
            PriceSource::Fill => "fill",
            PriceSource::Broker => "broker",
        }
    }
}

/// The newest price of a symbol from one source.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenPrice {
    /// Ticker.
    pub symbol: String,
    /// Price.
    pub price: Decimal,
    /// When (UTC ns).
    pub time_ns: i64,
    /// Where from.
    pub source: PriceSource,
}

impl Db {
    /// Runs `reads` inside one read transaction: every query sees the same snapshot.
    pub fn read<T>(&self, reads: impl FnOnce(&Db) -> DbResult<T>) -> DbResult<T> {
        let tx = ctx("begin read", self.conn.unchecked_transaction())?;
        let out = reads(self)?;
        ctx("end read", tx.commit())?;
        Ok(out)
    }

    /// True when the database has `table` (a file from an older build may lack one).
    pub fn has_table(&self, table: &str) -> DbResult<bool> {
        let n: i64 = ctx(
            "sqlite_master",
            self.conn.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            ),
        )?;
        Ok(n > 0)
    }

    /// The newest session day any run was recorded for.
    pub fn latest_run_day(&self) -> DbResult<Option<String>> {
        ctx("runs", self.conn.query_row("SELECT MAX(day) FROM runs", [], |r| r.get(0)))
    }

    /// Every position with its opening instant, by strategy then symbol.
    pub fn held_positions(&self) -> DbResult<Vec<HeldPosition>> {
        let mut stmt = ctx(
            "positions",
            self.conn.prepare(
                "SELECT strategy, symbol, qty, cost, opened_ns FROM positions ORDER BY strategy, symbol",
            ),
        )?;
        let rows = ctx(
            "positions",
            stmt.query_map([], |r| {
                let position = PositionRow {
                    strategy: r.get(0)?,
                    symbol: r.get(1)?,
                    qty: dec(r.get(2)?),
                    cost: dec(r.get(3)?),
                };
                Ok(HeldPosition { position, opened_ns: r.get(4)? })
            }),
        )?;
        ctx("positions", rows.collect())
    }

    /// The orders of session `day` (their slot starts with it) and every one still pending,
    /// in creation order.
    pub fn day_orders(&self, day: &str) -> DbResult<Vec<OrderRecord>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS}, broker_status, created_ns, updated_ns FROM orders
             WHERE slot LIKE ?1 || '%' OR state IN ('intent', 'open', 'unknown') ORDER BY created_ns, rowid"
        );
        let mut stmt = ctx("orders", self.conn.prepare(&sql))?;
        let rows = ctx(
            "orders",
            stmt.query_map([day], |r| {
                Ok(OrderRecord {
                    order: order_row(r)?,
                    broker_status: r.get(11)?,
                    created_ns: r.get(12)?,
                    updated_ns: r.get(13)?,
                })
            }),
        )?;
        ctx("orders", rows.collect())
    }

    /// The signals of session `day` the bridge acted on or refused (in bar order), and how
    /// many candidates it stored beside them (e.g. `gap_fill`'s gaps).
    pub fn day_signals(&self, day: &str) -> DbResult<(Vec<SignalRow>, u64)> {
        let signals = self.query_signals(
            "WHERE slot LIKE ?1 || '%' AND action != 'candidate' ORDER BY bar_ns, id",
            [day],
        )?;
        let candidates = ctx(
            "signals",
            self.conn.query_row(
                "SELECT COUNT(*) FROM signals WHERE slot LIKE ?1 || '%' AND action = 'candidate'",
                [day],
                |r| r.get(0),
            ),
        )?;
        Ok((signals, candidates))
    }

    /// Each strategy's latest run.
    pub fn latest_runs(&self) -> DbResult<Vec<LatestRun>> {
        // SQLite takes the bare columns from the row holding the MAX: each strategy's latest run.
        let mut stmt = ctx(
            "runs",
            self.conn.prepare(
                "SELECT strategy, slot, status, detail, COALESCE(finished_ns, started_ns), MAX(started_ns)
                 FROM runs GROUP BY strategy",
            ),
        )?;
        let rows = ctx(
            "runs",
            stmt.query_map([], |r| {
                Ok(LatestRun {
                    strategy: r.get(0)?,
                    slot: r.get(1)?,
                    status: r.get(2)?,
                    detail: r.get(3)?,
                    time_ns: r.get(4)?,
                })
            }),
        )?;
        ctx("runs", rows.collect())
    }

    /// How many runs of session `day` ended in each status: (strategy, status, count).
    pub fn run_counts(&self, day: &str) -> DbResult<Vec<(String, String, u64)>> {
        let mut stmt = ctx(
            "runs",
            self.conn.prepare(
                "SELECT strategy, status, COUNT(*) FROM runs WHERE day = ?1 GROUP BY strategy, status",
            ),
        )?;
        let rows = ctx("runs", stmt.query_map([day], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
        ctx("runs", rows.collect())
    }

    /// The newest checkpoint of one of `phases`: (time, phase, detail).
    pub fn last_checkpoint_of(&self, phases: &[&str]) -> DbResult<Option<(i64, String, String)>> {
        let marks = (1..=phases.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT time_ns, phase, detail FROM checkpoints WHERE phase IN ({marks}) ORDER BY id DESC LIMIT 1"
        );
        ctx(
            "checkpoints",
            self.conn
                .query_row(&sql, rusqlite::params_from_iter(phases), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional(),
        )
    }

    /// The newest price of each symbol from each source the bridge saw one in: the close of
    /// its newest signal bar, the average price of its newest fill, the broker's at the last
    /// equity snapshot (when the file has `broker_marks`).
    pub fn seen_prices(&self) -> DbResult<Vec<SeenPrice>> {
        let mut out = Vec::new();
        let mut stmt = ctx(
            "signals",
            self.conn
                .prepare("SELECT symbol, price, MAX(bar_ns) FROM signals WHERE price > 0 GROUP BY symbol"),
        )?;
        let rows = ctx(
            "signals",
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get(2)?))),
        )?;
        for row in rows {
            let (symbol, price, time_ns) = ctx("signals", row)?;
            if let Ok(price) = Decimal::try_from(price) {
                out.push(SeenPrice {
                    symbol,
                    price: price.round_dp(4),
                    time_ns,
                    source: PriceSource::SignalClose,
                });
            }
        }
        let mut stmt = ctx(
            "orders",
            self.conn.prepare(
                "SELECT symbol, filled_qty, filled_notional, MAX(updated_ns) FROM orders
                 WHERE filled_qty NOT IN ('0', '') GROUP BY symbol",
            ),
        )?;
        let rows = ctx(
            "orders",
            stmt.query_map([], |r| Ok((r.get(0)?, dec(r.get(1)?), dec(r.get(2)?), r.get(3)?))),
        )?;
        for row in rows {
            let (symbol, qty, notional, time_ns): (String, Decimal, Decimal, i64) = ctx("orders", row)?;
            if qty > Decimal::ZERO {
                let price = (notional / qty).round_dp(4);
                out.push(SeenPrice { symbol, price, time_ns, source: PriceSource::Fill });
            }
        }
        if self.has_table("broker_marks")? {
            out.extend(self.broker_marks()?.into_iter().map(|(symbol, price, time_ns)| SeenPrice {
                symbol,
                price,
                time_ns,
                source: PriceSource::Broker,
            }));
        }
        Ok(out)
    }
}

//! The live database (SQLite, WAL): runs, signals, orders, the strategies' books, settlements,
//! daily snapshots, breakers and checkpoints. Every write that matters is one transaction, made
//! before the broker is asked to act on it.

use std::path::Path;
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use crate::alpaca::model::{OrderRequest, OrderSide};

mod view;

pub use view::{HeldPosition, LatestRun, OrderRecord, PriceSource, SeenPrice};

/// The strategy name under which positions the bridge did not open are kept.
pub const MANUAL: &str = "manual";

/// Schema migrations, applied by [`dbkit::migrate`]: `MIGRATIONS[k]` takes the schema from
/// version `k` to `k + 1`. Append only: a released migration is never edited. Version 1 is the
/// schema of the files written before the database was versioned (version 0, every table made by
/// `CREATE TABLE IF NOT EXISTS` on each open), so it creates only what such a file lacks.
const MIGRATIONS: &[&str] = &[concat!(
    r#"
CREATE TABLE IF NOT EXISTS checkpoints (
    id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, phase TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    strategy TEXT NOT NULL, slot TEXT NOT NULL, day TEXT NOT NULL, status TEXT NOT NULL,
    base TEXT, max_positions INTEGER, started_ns INTEGER NOT NULL, finished_ns INTEGER,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (strategy, slot));
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY, strategy TEXT NOT NULL, slot TEXT NOT NULL, bar_ns INTEGER NOT NULL,
    symbol TEXT NOT NULL, side TEXT NOT NULL, strength REAL NOT NULL, price REAL NOT NULL,
    fraction REAL, action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', client_order_id TEXT,
    UNIQUE (strategy, slot, symbol, side));
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY, strategy TEXT NOT NULL, slot TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, qty TEXT NOT NULL, state TEXT NOT NULL, broker_id TEXT, broker_status TEXT,
    filled_qty TEXT NOT NULL DEFAULT '0', filled_notional TEXT NOT NULL DEFAULT '0',
    detail TEXT NOT NULL DEFAULT '', created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    strategy TEXT NOT NULL, symbol TEXT NOT NULL, qty TEXT NOT NULL, cost TEXT NOT NULL,
    opened_ns INTEGER NOT NULL, PRIMARY KEY (strategy, symbol));
CREATE TABLE IF NOT EXISTS sleeves (strategy TEXT PRIMARY KEY, allocation REAL NOT NULL, cash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settlements (
    client_order_id TEXT PRIMARY KEY, amount TEXT NOT NULL, trade_date TEXT NOT NULL, settle_date TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS portfolio_daily (
    day TEXT PRIMARY KEY, equity TEXT NOT NULL, last_equity TEXT NOT NULL, cash TEXT NOT NULL,
    settled_cash TEXT NOT NULL, long_market_value TEXT NOT NULL, positions INTEGER NOT NULL,
    orders INTEGER NOT NULL, signals INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS breakers (name TEXT PRIMARY KEY, reason TEXT NOT NULL, tripped_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS regime_daily (
    day TEXT PRIMARY KEY, bar_day TEXT NOT NULL, today TEXT, tomorrow TEXT, votes TEXT,
    model_version INTEGER NOT NULL, time_ns INTEGER NOT NULL);
"#,
    // The intraday equity: `equity_intraday` holds the account's snapshots during market hours,
    // `broker_marks` the latest price the broker gave for each symbol held (the dashboard's
    // freshest mark).
    r#"
CREATE TABLE IF NOT EXISTS equity_intraday (
    ts_ns INTEGER PRIMARY KEY, equity TEXT NOT NULL, last_equity TEXT NOT NULL, cash TEXT NOT NULL,
    long_value TEXT NOT NULL, unrealised TEXT, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS broker_marks (symbol TEXT PRIMARY KEY, price TEXT NOT NULL, time_ns INTEGER NOT NULL);
"#,
    // Protective orders: the request each one sends (its row is in `orders`, a sell whose slot
    // ends in [`PROTECTIVE_SLOT`]).
    "CREATE TABLE IF NOT EXISTS protective (client_order_id TEXT PRIMARY KEY, request TEXT NOT NULL);"
)];

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed while doing `what`.
    #[error("live database: {what}: {source}")]
    Sqlite {
        /// What was being done.
        what: &'static str,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file is empty or damaged (it fails `PRAGMA quick_check`), or cannot be opened.
    #[error("live database {0}")]
    Check(#[from] dbkit::CheckError),
    /// The file was written by a newer build, with a schema this one does not know.
    #[error("live database has schema version {found}; this build knows up to {known}")]
    TooNew {
        /// Version in the file.
        found: usize,
        /// Latest version this build knows.
        known: usize,
    },
}

/// Result of database calls.
pub type DbResult<T> = Result<T, DbError>;

fn ctx<T>(what: &'static str, r: rusqlite::Result<T>) -> DbResult<T> {
    r.map_err(|source| DbError::Sqlite { what, source })
}

/// Where a local order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Written, not yet (known to be) sent.
    Intent,
    /// At the broker and working.
    Open,
    /// Completely filled.
    Filled,
    /// Canceled or expired at the broker (possibly after a partial fill).
    Canceled,
    /// Refused by the broker (403/422) or by the bridge's own checks at send time.
    Rejected,
    /// Never sent, and never will be (stale after a restart, halted, shut down).
    NotSent,
    /// Sent, outcome not yet known: reconciliation looks it up.
    Unknown,
}

impl OrderState {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Intent => "intent",
            OrderState::Open => "open",
            OrderState::Filled => "filled",
            OrderState::Canceled => "canceled",
            OrderState::Rejected => "rejected",
            OrderState::NotSent => "not_sent",
            OrderState::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "intent" => OrderState::Intent,
            "open" => OrderState::Open,
            "filled" => OrderState::Filled,
            "canceled" => OrderState::Canceled,
            "rejected" => OrderState::Rejected,
            "not_sent" => OrderState::NotSent,
            _ => OrderState::Unknown,
        }
    }

    /// True when the order can still change (intent, open, unknown).
    pub fn is_pending(self) -> bool {
        matches!(self, OrderState::Intent | OrderState::Open | OrderState::Unknown)
    }
}

/// One local order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRow {
    /// Deterministic id, also Alpaca's `client_order_id`.
    pub client_order_id: String,
    /// Strategy id.
    pub strategy: String,
    /// Run slot that planned it.
    pub slot: String,
    /// Ticker.
    pub symbol: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Quantity ordered.
    pub qty: Decimal,
    /// Local state.
    pub state: OrderState,
    /// Alpaca's order id once known.
    pub broker_id: Option<String>,
    /// Filled so far (applied to the books).
    pub filled_qty: Decimal,
    /// Filled notional so far (applied to the books).
    pub filled_notional: Decimal,
    /// Why it is in its state.
    pub detail: String,
}

/// One position held by one strategy (or [`MANUAL`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PositionRow {
    /// Strategy id or [`MANUAL`].
    pub strategy: String,
    /// Ticker.
    pub symbol: String,
    /// Shares held.
    pub qty: Decimal,
    /// Cost of those shares.
    pub cost: Decimal,
}

/// A stored signal, before or after the bridge acted on it.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalRow {
    /// Strategy id.
    pub strategy: String,
    /// Run slot.
    pub slot: String,
    /// Start of the bar it was computed at (UTC ns).
    pub bar_ns: i64,
    /// Ticker.
    pub symbol: String,
    /// `enter`, `exit`, `enter_short` or `gap_candidate`.
    pub side: String,
    /// Entry strength.
    pub strength: f64,
    /// The signal bar's close.
    pub price: f64,
    /// The sizing fraction of the rules at that bar (entries), if available.
    pub fraction: Option<f64>,
    /// `pending`, `order`, `refused`, `ignored` or `candidate`.
    pub action: String,
    /// Why.
    pub detail: String,
    /// The order it became.
    pub client_order_id: Option<String>,
}

/// A run of one strategy at one slot.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// `planned`, `exits_sent`, `done`, `skipped`, `missed` or `failed`.
    pub status: String,
    /// The sizing base (equity per slot at the signal bar's close).
    pub base: Option<f64>,
    /// The strategy's position limit at planning (`None`: one per leg).
    pub max_positions: Option<usize>,
    /// Why.
    pub detail: String,
}

/// A daily account snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct DailySnapshot {
    /// Session date.
    pub day: String,
    /// Account equity.
    pub equity: Decimal,
    /// Equity at the previous close.
    pub last_equity: Decimal,
    /// Cash.
    pub cash: Decimal,
    /// Cash minus unsettled sale proceeds.
    pub settled_cash: Decimal,
    /// Long market value.
    pub long_market_value: Decimal,
    /// Open positions.
    pub positions: i64,
    /// Orders planned that day.
    pub orders: i64,
    /// Signals stored that day.
    pub signals: i64,
    /// JSON: per-strategy books.
    pub detail: String,
}

/// One day's market-regime outlook, recorded at PRE_MARKET.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RegimeRow {
    /// The trading day it was recorded for (New York date).
    pub day: String,
    /// The last daily bar it was computed from (New York date).
    pub bar_day: String,
    /// The rule-based regime of that bar (`None` while the rules warm up).
    pub today: Option<String>,
    /// The model's call for the next day (`None` with incomplete features).
    pub tomorrow: Option<String>,
    /// The trees' vote shares, calmest regime first, as JSON.
    pub votes: Option<String>,
    /// The model's saved version.
    pub model_version: u32,
}

/// The live database.
pub struct Db {
    conn: Connection,
}

fn dec(s: String) -> Decimal {
    Decimal::from_str(&s).unwrap_or_default()
}

impl Db {
    /// Opens (creating) the database at `path` in WAL mode, refusing it if it is empty or
    /// damaged ([`dbkit`]).
    pub fn open(path: &Path) -> DbResult<Self> {
        let mut conn = dbkit::open(path)?;
        ctx(
            "pragmas",
            conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;"),
        )?;
        dbkit::migrate(&mut conn, MIGRATIONS).map_err(|e| match e {
            dbkit::MigrateError::TooNew { found, known } => DbError::TooNew { found, known },
            dbkit::MigrateError::Sqlite(source) => DbError::Sqlite { what: "migrate the schema", source },
        })?;
        Ok(Db { conn })
    }

    /// Opens an existing database read-only, as it is (no schema, no pragmas): for readers
    /// such as `tradebot status` and the dashboard that must not write — also on a read-only
    /// file system ([`dbkit::open_read_only`]).
    pub fn open_read_only(path: &Path) -> DbResult<Self> {
        Ok(Db { conn: ctx("open read-only", dbkit::open_read_only(path))? })
    }

    /// Appends a checkpoint: what the service is about to do. Written before every critical step.
    pub fn checkpoint(&self, now_ns: i64, phase: &str, detail: &str) -> DbResult<()> {
        ctx(
            "checkpoint",
            self.conn.execute(
                "INSERT INTO checkpoints (time_ns, phase, detail) VALUES (?1, ?2, ?3)",
                params![now_ns, phase, detail],
            ),
        )
        .map(drop)
    }

    /// The latest checkpoint: (time, phase, detail).
    pub fn last_checkpoint(&self) -> DbResult<Option<(i64, String, String)>> {
        ctx(
            "last checkpoint",
            self.conn
                .query_row(
                    "SELECT time_ns, phase, detail FROM checkpoints ORDER BY id DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional(),
        )
    }

    /// A key of the `state` table.
    pub fn state(&self, key: &str) -> DbResult<Option<String>> {
        ctx(
            "read state",
            self.conn.query_row("SELECT value FROM state WHERE key = ?1", [key], |r| r.get(0)).optional(),
        )
    }

    /// Sets a key of the `state` table.
    pub fn set_state(&self, key: &str, value: &str) -> DbResult<()> {
        ctx(
            "write state",
            self.conn.execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            ),
        )
        .map(drop)
    }

    /// Creates a strategy's sleeve with `cash` unless it exists; returns its cash.
    pub fn ensure_sleeve(&self, strategy: &str, allocation: f64, cash: Decimal) -> DbResult<Decimal> {
        ctx(
            "create sleeve",
            self.conn.execute(
                "INSERT OR IGNORE INTO sleeves (strategy, allocation, cash) VALUES (?1, ?2, ?3)",
                params![strategy, allocation, cash.to_string()],
            ),
        )?;
        Ok(self.sleeve_cash(strategy)?.unwrap_or_default())
    }

    /// A sleeve's cash, if it exists.
    pub fn sleeve_cash(&self, strategy: &str) -> DbResult<Option<Decimal>> {
        let cash: Option<String> = ctx(
            "read sleeve",
            self.conn
                .query_row("SELECT cash FROM sleeves WHERE strategy = ?1", [strategy], |r| r.get(0))
                .optional(),
        )?;
        Ok(cash.map(dec))
    }

    /// Every sleeve: (strategy, allocation, cash).
    pub fn sleeves(&self) -> DbResult<Vec<(String, f64, Decimal)>> {
        let mut stmt = ctx(
            "sleeves",
            self.conn.prepare("SELECT strategy, allocation, cash FROM sleeves ORDER BY strategy"),
        )?;
        let rows = ctx("sleeves", stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, dec(r.get(2)?)))))?;
        ctx("sleeves", rows.collect())
    }

    /// Every position, by strategy then symbol.
    pub fn positions(&self) -> DbResult<Vec<PositionRow>> {
        let mut stmt = ctx(
            "positions",
            self.conn.prepare("SELECT strategy, symbol, qty, cost FROM positions ORDER BY strategy, symbol"),
        )?;
        let rows = ctx(
            "positions",
            stmt.query_map([], |r| {
                Ok(PositionRow {
                    strategy: r.get(0)?,
                    symbol: r.get(1)?,
                    qty: dec(r.get(2)?),
                    cost: dec(r.get(3)?),
                })
            }),
        )?;
        ctx("positions", rows.collect())
    }

    /// One strategy's positions.
    pub fn strategy_positions(&self, strategy: &str) -> DbResult<Vec<PositionRow>> {
        Ok(self.positions()?.into_iter().filter(|p| p.strategy == strategy).collect())
    }

    /// Sets a position outright (reconciliation): `qty` 0 deletes it.
    pub fn set_position(
        &self,
        strategy: &str,
        symbol: &str,
        qty: Decimal,
        cost: Decimal,
        now_ns: i64,
    ) -> DbResult<()> {
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        write_position(&tx, strategy, symbol, qty, cost, now_ns)?;
        ctx("commit", tx.commit())
    }

    /// Moves `from`'s position in `symbol` to `to` (added to what `to` holds there), in one
    /// transaction; returns the quantity moved (0 when `from` holds none).
    pub fn hand_over(&self, from: &str, symbol: &str, to: &str, now_ns: i64) -> DbResult<Decimal> {
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        let Some((qty, cost)) = position_of(&tx, from, symbol)? else { return Ok(Decimal::ZERO) };
        let (held, held_cost) = position_of(&tx, to, symbol)?.unwrap_or_default();
        write_position(&tx, from, symbol, Decimal::ZERO, Decimal::ZERO, now_ns)?;
        write_position(&tx, to, symbol, held + qty, held_cost + cost, now_ns)?;
        ctx("commit", tx.commit())?;
        Ok(qty)
    }

    /// A run's row, if it exists.
    pub fn run(&self, strategy: &str, slot: &str) -> DbResult<Option<RunRow>> {
        ctx(
            "read run",
            self.conn
                .query_row(
                    "SELECT status, base, max_positions, detail FROM runs WHERE strategy = ?1 AND slot = ?2",
                    params![strategy, slot],
                    |r| {
                        let base: Option<String> = r.get(1)?;
                        let max: Option<i64> = r.get(2)?;
                        Ok(RunRow {
                            status: r.get(0)?,
                            base: base.and_then(|b| b.parse().ok()),
                            max_positions: max.map(|m| m as usize),
                            detail: r.get(3)?,
                        })
                    },
                )
                .optional(),
        )
    }

    /// Records a run that did nothing (`skipped`, `missed`, `failed`) with the reason.
    pub fn record_run(
        &self,
        strategy: &str,
        slot: &str,
        day: &str,
        status: &str,
        detail: &str,
        now_ns: i64,
    ) -> DbResult<()> {
        ctx(
            "record run",
            self.conn.execute(
                "INSERT INTO runs (strategy, slot, day, status, started_ns, finished_ns, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
                 ON CONFLICT(strategy, slot) DO UPDATE SET status = excluded.status,
                     finished_ns = excluded.finished_ns, detail = excluded.detail",
                params![strategy, slot, day, status, now_ns, detail],
            ),
        )
        .map(drop)
    }

    /// Updates a run's status.
    pub fn set_run_status(
        &self,
        strategy: &str,
        slot: &str,
        status: &str,
        detail: &str,
        now_ns: i64,
    ) -> DbResult<()> {
        ctx(
            "update run",
            self.conn.execute(
                "UPDATE runs SET status = ?3, detail = ?4, finished_ns = ?5 WHERE strategy = ?1 AND slot = ?2",
                params![strategy, slot, status, detail, now_ns],
            ),
        )
        .map(drop)
    }

    /// Stores a planned run in one transaction: the run, every signal and the order intents.
    pub fn plan_run(
        &self,
        run: (&str, &str, &str),
        sizing: (f64, Option<usize>),
        signals: &[SignalRow],
        orders: &[OrderRow],
        now_ns: i64,
    ) -> DbResult<()> {
        let (strategy, slot, day) = run;
        let (base, max_positions) = sizing;
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        ctx(
            "plan run",
            tx.execute(
                "INSERT INTO runs (strategy, slot, day, status, base, max_positions, started_ns)
                 VALUES (?1, ?2, ?3, 'planned', ?4, ?5, ?6)",
                params![strategy, slot, day, base.to_string(), max_positions.map(|m| m as i64), now_ns],
            ),
        )?;
        for s in signals {
            insert_signal(&tx, s)?;
        }
        for o in orders {
            insert_order(&tx, o, now_ns)?;
        }
        ctx("commit", tx.commit())
    }

    /// Stores order intents and updates their signals, in one transaction.
    pub fn add_orders(&self, signals: &[SignalRow], orders: &[OrderRow], now_ns: i64) -> DbResult<()> {
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        for s in signals {
            ctx(
                "update signal",
                tx.execute(
                    "UPDATE signals SET action = ?5, detail = ?6, client_order_id = ?7
                     WHERE strategy = ?1 AND slot = ?2 AND symbol = ?3 AND side = ?4",
                    params![s.strategy, s.slot, s.symbol, s.side, s.action, s.detail, s.client_order_id],
                ),
            )?;
        }
        for o in orders {
            insert_order(&tx, o, now_ns)?;
        }
        ctx("commit", tx.commit())
    }

    /// A run's signals.
    pub fn run_signals(&self, strategy: &str, slot: &str) -> DbResult<Vec<SignalRow>> {
        self.query_signals("WHERE strategy = ?1 AND slot = ?2 ORDER BY id", params![strategy, slot])
    }

    /// Every signal, in insertion order.
    pub fn signals(&self) -> DbResult<Vec<SignalRow>> {
        self.query_signals("ORDER BY id", params![])
    }

    fn query_signals(&self, tail: &str, p: impl rusqlite::Params) -> DbResult<Vec<SignalRow>> {
        let sql = format!(
            "SELECT strategy, slot, bar_ns, symbol, side, strength, price, fraction, action, detail, client_order_id
             FROM signals {tail}"
        );
        let mut stmt = ctx("signals", self.conn.prepare(&sql))?;
        let rows = ctx(
            "signals",
            stmt.query_map(p, |r| {
                Ok(SignalRow {
                    strategy: r.get(0)?,
                    slot: r.get(1)?,
                    bar_ns: r.get(2)?,
                    symbol: r.get(3)?,
                    side: r.get(4)?,
                    strength: r.get(5)?,
                    price: r.get(6)?,
                    fraction: r.get(7)?,
                    action: r.get(8)?,
                    detail: r.get(9)?,
                    client_order_id: r.get(10)?,
                })
            }),
        )?;
        ctx("signals", rows.collect())
    }

    /// Orders matching `filter` (a SQL tail).
    fn query_orders(&self, tail: &str, p: impl rusqlite::Params) -> DbResult<Vec<OrderRow>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders {tail}");
        let mut stmt = ctx("orders", self.conn.prepare(&sql))?;
        let rows = ctx("orders", stmt.query_map(p, order_row))?;
        ctx("orders", rows.collect())
    }

    /// Every order, in creation order.
    pub fn orders(&self) -> DbResult<Vec<OrderRow>> {
        self.query_orders("ORDER BY created_ns, rowid", params![])
    }

    /// One order.
    pub fn order(&self, client_order_id: &str) -> DbResult<Option<OrderRow>> {
        Ok(self.query_orders("WHERE client_order_id = ?1", params![client_order_id])?.pop())
    }

    /// The orders still pending (intent, open, unknown).
    pub fn pending_orders(&self) -> DbResult<Vec<OrderRow>> {
        self.query_orders(
            "WHERE state IN ('intent', 'open', 'unknown') ORDER BY created_ns, rowid",
            params![],
        )
    }

    /// A run's orders.
    pub fn run_orders(&self, strategy: &str, slot: &str) -> DbResult<Vec<OrderRow>> {
        self.query_orders(
            "WHERE strategy = ?1 AND slot = ?2 ORDER BY created_ns, rowid",
            params![strategy, slot],
        )
    }

    /// Sets an order's local state (no fill change).
    pub fn set_order_state(
        &self,
        client_order_id: &str,
        state: OrderState,
        broker: Option<(&str, &str)>,
        detail: &str,
        now_ns: i64,
    ) -> DbResult<()> {
        let (id, status) = broker.unzip();
        ctx(
            "order state",
            self.conn.execute(
                "UPDATE orders SET state = ?2, broker_id = COALESCE(?3, broker_id),
                     broker_status = COALESCE(?4, broker_status), detail = ?5, updated_ns = ?6
                 WHERE client_order_id = ?1",
                params![client_order_id, state.as_str(), id, status, detail, now_ns],
            ),
        )
        .map(drop)
    }

    /// Applies the broker's cumulative fill state of an order, idempotently: the change since the
    /// last application moves the strategy's cash and position, a sale's proceeds are recorded as
    /// unsettled until `settle_date`, and the order takes `state`. Returns the quantity newly filled.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_fill(
        &self,
        client_order_id: &str,
        broker: (&str, &str),
        state: OrderState,
        filled_qty: Decimal,
        avg_price: Option<Decimal>,
        dates: (&str, &str),
        now_ns: i64,
    ) -> DbResult<Decimal> {
        // The order row is read inside the transaction (same connection): a concurrent writer
        // cannot apply the same fill between the read and the write.
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        let Some(order) = self.order(client_order_id)? else { return Ok(Decimal::ZERO) };
        let notional = avg_price.map_or(order.filled_notional, |p| filled_qty * p);
        let delta_qty = filled_qty - order.filled_qty;
        let delta_notional = notional - order.filled_notional;
        if delta_qty > Decimal::ZERO {
            let held = position_of(&tx, &order.strategy, &order.symbol)?;
            let (qty, cost) = held.unwrap_or_default();
            let (cash_change, new_qty, new_cost) = match order.side {
                OrderSide::Buy => (-delta_notional, qty + delta_qty, cost + delta_notional),
                OrderSide::Sell => {
                    // Never below zero (a cash account holds no shorts): a sale of more than
                    // the book holds (a double-filled oco, a position closed locally by a
                    // racing reconciliation) leaves it flat; the broker's positions settle
                    // the difference at the next reconciliation.
                    if delta_qty > qty {
                        tracing::error!(
                            "{client_order_id}: sold {delta_qty} {} but the book of {} held {qty}: clamped at zero",
                            order.symbol,
                            order.strategy
                        );
                    }
                    // What an order filled beyond its own quantity (both legs of an oco) is a
                    // short at the broker, to be bought back, not proceeds: not credited (the
                    // next reconciliation reports the short and trading stops).
                    let over = |filled: Decimal| (filled - order.qty).max(Decimal::ZERO);
                    let excess = over(filled_qty) - over(order.filled_qty);
                    let proceeds = if excess > Decimal::ZERO {
                        tracing::error!(
                            "{client_order_id}: filled {filled_qty} of an order for {}: the {excess} beyond it are a short at the broker",
                            order.qty
                        );
                        delta_notional * (delta_qty - excess) / delta_qty
                    } else {
                        delta_notional
                    };
                    let left = (qty - delta_qty).max(Decimal::ZERO);
                    let cost_left = if qty > Decimal::ZERO { cost * left / qty } else { Decimal::ZERO };
                    (proceeds, left, cost_left)
                }
            };
            write_position(&tx, &order.strategy, &order.symbol, new_qty, new_cost, now_ns)?;
            ctx(
                "sleeve cash",
                tx.execute(
                    "UPDATE sleeves SET cash = ?2 WHERE strategy = ?1",
                    params![
                        order.strategy,
                        sleeve_cash_tx(&tx, &order.strategy)?.map(|c| (c + cash_change).to_string())
                    ],
                ),
            )?;
            if order.side == OrderSide::Sell {
                let (trade_date, settle_date) = dates;
                ctx(
                    "settlement",
                    tx.execute(
                        // A sale filled over two days settles when its last part does: the
                        // whole amount stays unsettled until the latest fill's date.
                        "INSERT INTO settlements (client_order_id, amount, trade_date, settle_date) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(client_order_id) DO UPDATE SET amount = excluded.amount,
                             trade_date = max(trade_date, excluded.trade_date),
                             settle_date = max(settle_date, excluded.settle_date)",
                        params![client_order_id, notional.to_string(), trade_date, settle_date],
                    ),
                )?;
            }
        }
        let (id, status) = broker;
        ctx(
            "order fill",
            tx.execute(
                "UPDATE orders SET state = ?2, broker_id = ?3, broker_status = ?4, filled_qty = ?5,
                     filled_notional = ?6, updated_ns = ?7 WHERE client_order_id = ?1",
                params![
                    client_order_id,
                    state.as_str(),
                    id,
                    status,
                    filled_qty.max(order.filled_qty).to_string(),
                    notional.to_string(),
                    now_ns
                ],
            ),
        )?;
        ctx("commit", tx.commit())?;
        Ok(delta_qty.max(Decimal::ZERO))
    }

    /// The cash that pending buy orders would spend on their unfilled quantity, at their
    /// signals' sizing prices, as `(strategy, amount)` per order: every open or unknown buy, and
    /// every unsent intent queued before `except` (all of them when `except` is not stored yet).
    /// The broker's cash only moves on fills, so these sums are committed but not yet spent.
    pub fn reserved_buys(&self, except: &str) -> DbResult<Vec<(String, Decimal)>> {
        let mut stmt = ctx(
            "reserved buys",
            self.conn.prepare(
                "SELECT o.strategy, o.qty, o.filled_qty, s.price FROM orders o
                 LEFT JOIN signals s ON s.client_order_id = o.client_order_id
                 WHERE o.side = 'buy' AND o.state IN ('intent', 'open', 'unknown')
                   AND o.client_order_id <> ?1
                   AND (o.state <> 'intent' OR o.rowid <
                        COALESCE((SELECT rowid FROM orders WHERE client_order_id = ?1), o.rowid + 1))",
            ),
        )?;
        let rows = ctx(
            "reserved buys",
            stmt.query_map([except], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?))
            }),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (strategy, qty, filled, price): (String, String, String, Option<f64>) =
                ctx("reserved buys", row)?;
            let left = (dec(qty) - dec(filled)).max(Decimal::ZERO);
            let price = price.and_then(Decimal::from_f64).unwrap_or_default();
            out.push((strategy, left * price));
        }
        Ok(out)
    }

    /// Sale proceeds not yet settled on `today` (settlement date after it).
    pub fn unsettled(&self, today: &str) -> DbResult<Decimal> {
        let mut stmt =
            ctx("unsettled", self.conn.prepare("SELECT amount FROM settlements WHERE settle_date > ?1"))?;
        let rows = ctx("unsettled", stmt.query_map([today], |r| r.get::<_, String>(0)))?;
        let mut total = Decimal::ZERO;
        for r in rows {
            total += dec(ctx("unsettled", r)?);
        }
        Ok(total)
    }

    /// Writes the day's snapshot (replacing one already written that day).
    pub fn write_daily(&self, s: &DailySnapshot) -> DbResult<()> {
        ctx(
            "portfolio_daily",
            self.conn.execute(
                "INSERT OR REPLACE INTO portfolio_daily
                 (day, equity, last_equity, cash, settled_cash, long_market_value, positions, orders, signals, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    s.day,
                    s.equity.to_string(),
                    s.last_equity.to_string(),
                    s.cash.to_string(),
                    s.settled_cash.to_string(),
                    s.long_market_value.to_string(),
                    s.positions,
                    s.orders,
                    s.signals,
                    s.detail
                ],
            ),
        )
        .map(drop)
    }

    /// Every daily snapshot, oldest first.
    pub fn daily(&self) -> DbResult<Vec<DailySnapshot>> {
        let mut stmt = ctx(
            "portfolio_daily",
            self.conn.prepare(
                "SELECT day, equity, last_equity, cash, settled_cash, long_market_value, positions, orders, signals, detail
                 FROM portfolio_daily ORDER BY day",
            ),
        )?;
        let rows = ctx(
            "portfolio_daily",
            stmt.query_map([], |r| {
                Ok(DailySnapshot {
                    day: r.get(0)?,
                    equity: dec(r.get(1)?),
                    last_equity: dec(r.get(2)?),
                    cash: dec(r.get(3)?),
                    settled_cash: dec(r.get(4)?),
                    long_market_value: dec(r.get(5)?),
                    positions: r.get(6)?,
                    orders: r.get(7)?,
                    signals: r.get(8)?,
                    detail: r.get(9)?,
                })
            }),
        )?;
        ctx("portfolio_daily", rows.collect())
    }

    /// Counts of a day's orders and signals (slots start with the date).
    pub fn day_counts(&self, day: &str) -> DbResult<(i64, i64)> {
        let like = format!("{day}%");
        let orders = ctx(
            "count orders",
            self.conn.query_row("SELECT COUNT(*) FROM orders WHERE slot LIKE ?1", [&like], |r| r.get(0)),
        )?;
        let signals = ctx(
            "count signals",
            self.conn.query_row("SELECT COUNT(*) FROM signals WHERE slot LIKE ?1", [&like], |r| r.get(0)),
        )?;
        Ok((orders, signals))
    }

    /// Records (replacing) a day's regime outlook.
    pub fn write_regime(&self, r: &RegimeRow, now_ns: i64) -> DbResult<()> {
        ctx(
            "regime_daily",
            self.conn.execute(
                "INSERT OR REPLACE INTO regime_daily (day, bar_day, today, tomorrow, votes, model_version, time_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.day, r.bar_day, r.today, r.tomorrow, r.votes, r.model_version, now_ns],
            ),
        )
        .map(drop)
    }

    /// The latest recorded regime outlook (`None` also when the table does not exist, in a
    /// database opened read-only from an older build).
    pub fn last_regime(&self) -> DbResult<Option<RegimeRow>> {
        let row = self
            .conn
            .query_row(
                "SELECT day, bar_day, today, tomorrow, votes, model_version FROM regime_daily
                 ORDER BY day DESC LIMIT 1",
                [],
                |r| {
                    Ok(RegimeRow {
                        day: r.get(0)?,
                        bar_day: r.get(1)?,
                        today: r.get(2)?,
                        tomorrow: r.get(3)?,
                        votes: r.get(4)?,
                        model_version: r.get(5)?,
                    })
                },
            )
            .optional();
        match row {
            Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.starts_with("no such table") => Ok(None),
            other => ctx("regime_daily", other),
        }
    }

    /// The number of a day's orders (slots start with the date) that filled at least in part.
    pub fn day_fills(&self, day: &str) -> DbResult<u64> {
        let like = format!("{day}%");
        let n: i64 = ctx(
            "count fills",
            self.conn.query_row(
                "SELECT COUNT(*) FROM orders WHERE slot LIKE ?1 AND CAST(filled_qty AS REAL) > 0",
                [&like],
                |r| r.get(0),
            ),
        )?;
        Ok(n as u64)
    }

    /// Latches a breaker (keeps the first reason while tripped).
    pub fn trip(&self, name: &str, reason: &str, now_ns: i64) -> DbResult<()> {
        ctx(
            "trip breaker",
            self.conn.execute(
                "INSERT OR IGNORE INTO breakers (name, reason, tripped_ns) VALUES (?1, ?2, ?3)",
                params![name, reason, now_ns],
            ),
        )
        .map(drop)
    }

    /// The tripped breakers: (name, reason, time).
    pub fn breakers(&self) -> DbResult<Vec<(String, String, i64)>> {
        let mut stmt = ctx(
            "breakers",
            self.conn.prepare("SELECT name, reason, tripped_ns FROM breakers ORDER BY name"),
        )?;
        let rows = ctx("breakers", stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
        ctx("breakers", rows.collect())
    }

    /// Resets every breaker (manual resume).
    pub fn reset_breakers(&self) -> DbResult<usize> {
        ctx("reset breakers", self.conn.execute("DELETE FROM breakers", []))
    }
}

/// Why an intraday equity snapshot was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotSource {
    /// The `equity_snapshot_minutes` cadence.
    Timer,
    /// A run whose orders filled.
    Fills,
}

impl SnapshotSource {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotSource::Timer => "timer",
            SnapshotSource::Fills => "fills",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "fills" { SnapshotSource::Fills } else { SnapshotSource::Timer }
    }
}

/// The account as the broker reported it at one instant of a session.
#[derive(Clone, Debug, PartialEq)]
pub struct IntradayEquity {
    /// When it was read (UTC ns).
    pub ts_ns: i64,
    /// Account equity.
    pub equity: Decimal,
    /// Equity at the previous close.
    pub last_equity: Decimal,
    /// Cash, settled or not.
    pub cash: Decimal,
    /// Long market value.
    pub long_value: Decimal,
    /// The positions' unrealised P&L (market value − cost basis), when they could be read.
    pub unrealised: Option<Decimal>,
    /// Why it was taken.
    pub source: SnapshotSource,
}

impl Db {
    /// Records an intraday snapshot (replacing one at the same instant) and the broker's price
    /// of each symbol in `marks`, in one transaction.
    pub fn write_intraday(&self, p: &IntradayEquity, marks: &[(String, Decimal)]) -> DbResult<()> {
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        ctx(
            "equity_intraday",
            tx.execute(
                "INSERT OR REPLACE INTO equity_intraday
                 (ts_ns, equity, last_equity, cash, long_value, unrealised, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    p.ts_ns,
                    p.equity.to_string(),
                    p.last_equity.to_string(),
                    p.cash.to_string(),
                    p.long_value.to_string(),
                    p.unrealised.map(|u| u.to_string()),
                    p.source.as_str()
                ],
            ),
        )?;
        for (symbol, price) in marks {
            ctx(
                "broker_marks",
                tx.execute(
                    "INSERT OR REPLACE INTO broker_marks (symbol, price, time_ns) VALUES (?1, ?2, ?3)",
                    params![symbol, price.to_string(), p.ts_ns],
                ),
            )?;
        }
        ctx("commit", tx.commit())
    }

    /// The intraday snapshots at or after `since_ns`, oldest first.
    pub fn intraday(&self, since_ns: i64) -> DbResult<Vec<IntradayEquity>> {
        let mut stmt = ctx(
            "equity_intraday",
            self.conn.prepare(
                "SELECT ts_ns, equity, last_equity, cash, long_value, unrealised, source
                 FROM equity_intraday WHERE ts_ns >= ?1 ORDER BY ts_ns",
            ),
        )?;
        let rows = ctx(
            "equity_intraday",
            stmt.query_map([since_ns], |r| {
                Ok(IntradayEquity {
                    ts_ns: r.get(0)?,
                    equity: dec(r.get(1)?),
                    last_equity: dec(r.get(2)?),
                    cash: dec(r.get(3)?),
                    long_value: dec(r.get(4)?),
                    unrealised: r.get::<_, Option<String>>(5)?.map(dec),
                    source: SnapshotSource::parse(&r.get::<_, String>(6)?),
                })
            }),
        )?;
        ctx("equity_intraday", rows.collect())
    }

    /// The broker's latest price of each symbol: (symbol, price, time), by symbol.
    pub fn broker_marks(&self) -> DbResult<Vec<(String, Decimal, i64)>> {
        let mut stmt = ctx(
            "broker_marks",
            self.conn.prepare("SELECT symbol, price, time_ns FROM broker_marks ORDER BY symbol"),
        )?;
        let rows = ctx("broker_marks", stmt.query_map([], |r| Ok((r.get(0)?, dec(r.get(1)?), r.get(2)?))))?;
        ctx("broker_marks", rows.collect())
    }

    /// Drops the intraday snapshots and broker marks older than `before_ns`; returns how many
    /// snapshots went.
    pub fn prune_intraday(&self, before_ns: i64) -> DbResult<usize> {
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        let n = ctx(
            "prune equity_intraday",
            tx.execute("DELETE FROM equity_intraday WHERE ts_ns < ?1", [before_ns]),
        )?;
        ctx("prune broker_marks", tx.execute("DELETE FROM broker_marks WHERE time_ns < ?1", [before_ns]))?;
        ctx("commit", tx.commit())?;
        Ok(n)
    }
}

/// The suffix of a protective order's slot (the slot of the entry it protects).
pub const PROTECTIVE_SLOT: &str = "+protect";

/// Protective orders and the position facts they need.
impl Db {
    /// Stores a protective order's intent and its request in one transaction.
    pub fn add_protective(&self, order: &OrderRow, request: &OrderRequest, now_ns: i64) -> DbResult<()> {
        let json = serde_json::to_string(request).expect("order requests serialise");
        let tx = ctx("begin", self.conn.unchecked_transaction())?;
        insert_order(&tx, order, now_ns)?;
        ctx(
            "insert protective",
            tx.execute(
                "INSERT OR IGNORE INTO protective (client_order_id, request) VALUES (?1, ?2)",
                params![order.client_order_id, json],
            ),
        )?;
        ctx("commit", tx.commit())
    }

    /// The request of a protective order; `None` for other orders.
    pub fn protective_request(&self, client_order_id: &str) -> DbResult<Option<OrderRequest>> {
        let json: Option<String> = ctx(
            "read protective",
            self.conn
                .query_row(
                    "SELECT request FROM protective WHERE client_order_id = ?1",
                    [client_order_id],
                    |r| r.get(0),
                )
                .optional(),
        )?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Every protective order of `strategy` (all of them when `None`) on `symbol` (all when
    /// `None`), oldest first.
    pub fn protective_orders(&self, strategy: Option<&str>, symbol: Option<&str>) -> DbResult<Vec<OrderRow>> {
        self.query_orders(
            "WHERE client_order_id IN (SELECT client_order_id FROM protective)
               AND (?1 IS NULL OR strategy = ?1) AND (?2 IS NULL OR symbol = ?2)
             ORDER BY created_ns, rowid",
            params![strategy, symbol],
        )
    }

    /// Every order of `strategy` on `symbol`, oldest first.
    pub fn symbol_orders(&self, strategy: &str, symbol: &str) -> DbResult<Vec<OrderRow>> {
        self.query_orders(
            "WHERE strategy = ?1 AND symbol = ?2 ORDER BY created_ns, rowid",
            params![strategy, symbol],
        )
    }

    /// Lowers an unsent order's quantity (a sell shrunk to what is still held).
    pub fn set_order_qty(&self, client_order_id: &str, qty: Decimal, now_ns: i64) -> DbResult<()> {
        ctx(
            "order qty",
            self.conn.execute(
                "UPDATE orders SET qty = ?2, updated_ns = ?3 WHERE client_order_id = ?1 AND state = 'intent'",
                params![client_order_id, qty.to_string(), now_ns],
            ),
        )
        .map(drop)
    }

    /// When a strategy's position in `symbol` was opened (its first fill), if it is held.
    pub fn position_opened(&self, strategy: &str, symbol: &str) -> DbResult<Option<i64>> {
        ctx(
            "position opened",
            self.conn
                .query_row(
                    "SELECT opened_ns FROM positions WHERE strategy = ?1 AND symbol = ?2",
                    params![strategy, symbol],
                    |r| r.get(0),
                )
                .optional(),
        )
    }
}

fn insert_signal(tx: &Transaction<'_>, s: &SignalRow) -> DbResult<()> {
    ctx(
        "insert signal",
        tx.execute(
            "INSERT OR IGNORE INTO signals
             (strategy, slot, bar_ns, symbol, side, strength, price, fraction, action, detail, client_order_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                s.strategy,
                s.slot,
                s.bar_ns,
                s.symbol,
                s.side,
                s.strength,
                s.price,
                s.fraction,
                s.action,
                s.detail,
                s.client_order_id
            ],
        ),
    )
    .map(drop)
}

fn insert_order(tx: &Transaction<'_>, o: &OrderRow, now_ns: i64) -> DbResult<()> {
    ctx(
        "insert order",
        tx.execute(
            "INSERT OR IGNORE INTO orders
             (client_order_id, strategy, slot, symbol, side, qty, state, detail, created_ns, updated_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            params![
                o.client_order_id,
                o.strategy,
                o.slot,
                o.symbol,
                o.side.as_str(),
                o.qty.to_string(),
                o.state.as_str(),
                o.detail,
                now_ns
            ],
        ),
    )
    .map(drop)
}

/// The columns [`order_row`] reads, in its order.
const ORDER_COLUMNS: &str =
    "client_order_id, strategy, slot, symbol, side, qty, state, broker_id, filled_qty,
     filled_notional, detail";

/// An order from the first columns of a row selecting [`ORDER_COLUMNS`].
fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    let side: String = r.get(4)?;
    let state: String = r.get(6)?;
    Ok(OrderRow {
        client_order_id: r.get(0)?,
        strategy: r.get(1)?,
        slot: r.get(2)?,
        symbol: r.get(3)?,
        side: OrderSide::parse(&side).unwrap_or(OrderSide::Buy),
        qty: dec(r.get(5)?),
        state: OrderState::parse(&state),
        broker_id: r.get(7)?,
        filled_qty: dec(r.get(8)?),
        filled_notional: dec(r.get(9)?),
        detail: r.get(10)?,
    })
}

fn position_of(tx: &Transaction<'_>, strategy: &str, symbol: &str) -> DbResult<Option<(Decimal, Decimal)>> {
    ctx(
        "read position",
        tx.query_row(
            "SELECT qty, cost FROM positions WHERE strategy = ?1 AND symbol = ?2",
            params![strategy, symbol],
            |r| Ok((dec(r.get(0)?), dec(r.get(1)?))),
        )
        .optional(),
    )
}

fn sleeve_cash_tx(tx: &Transaction<'_>, strategy: &str) -> DbResult<Option<Decimal>> {
    let cash: Option<String> = ctx(
        "read sleeve",
        tx.query_row("SELECT cash FROM sleeves WHERE strategy = ?1", [strategy], |r| r.get(0)).optional(),
    )?;
    Ok(cash.map(dec))
}

fn write_position(
    tx: &Transaction<'_>,
    strategy: &str,
    symbol: &str,
    qty: Decimal,
    cost: Decimal,
    now_ns: i64,
) -> DbResult<()> {
    if qty.is_zero() {
        return ctx(
            "delete position",
            tx.execute(
                "DELETE FROM positions WHERE strategy = ?1 AND symbol = ?2",
                params![strategy, symbol],
            ),
        )
        .map(drop);
    }
    ctx(
        "write position",
        tx.execute(
            "INSERT INTO positions (strategy, symbol, qty, cost, opened_ns) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(strategy, symbol) DO UPDATE SET qty = excluded.qty, cost = excluded.cost",
            params![strategy, symbol, qty.to_string(), cost.to_string(), now_ns],
        ),
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, side: OrderSide, qty: i64) -> OrderRow {
        OrderRow {
            client_order_id: id.into(),
            strategy: "s".into(),
            slot: "2025-12-30T10:00".into(),
            symbol: "SPY".into(),
            side,
            qty: Decimal::from(qty),
            state: OrderState::Intent,
            broker_id: None,
            filled_qty: Decimal::ZERO,
            filled_notional: Decimal::ZERO,
            detail: String::new(),
        }
    }

    /// A live database written before the schema was versioned (version 0, made by `CREATE
    /// TABLE IF NOT EXISTS` on each open, here from before the protective orders) keeps its rows
    /// and is brought to the current version once; a file from a newer build is refused.
    #[test]
    fn an_unversioned_live_database_is_adopted_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE breakers (name TEXT PRIMARY KEY, reason TEXT NOT NULL, tripped_ns INTEGER NOT NULL);
                 INSERT INTO state VALUES ('reconcile', 'ok');",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(dbkit::schema_version(&db.conn).unwrap(), MIGRATIONS.len());
        assert_eq!(db.state("reconcile").unwrap().as_deref(), Some("ok"));
        assert!(db.protective_request("none").unwrap().is_none(), "the missing table was created");
        drop(db);
        let db = Db::open(&path).unwrap();
        assert_eq!(db.state("reconcile").unwrap().as_deref(), Some("ok"));
        db.conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1).unwrap();
        drop(db);
        let e = Db::open(&path).err().unwrap();
        assert!(matches!(e, DbError::TooNew { .. }), "{e}");
        assert_eq!(e.to_string(), "live database has schema version 2; this build knows up to 1");
    }

    #[test]
    fn fills_apply_once_and_move_cash_positions_and_settlements() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("live.db")).unwrap();
        db.ensure_sleeve("s", 0.5, Decimal::from(1000)).unwrap();
        db.add_orders(&[], &[order("b1", OrderSide::Buy, 10)], 1).unwrap();
        let price = Some(Decimal::new(2550, 2));
        let broker = ("id1", "partially_filled");
        let dates = ("2025-12-30", "2025-12-31");
        // A partial fill of 4, then the same state again (a stream event and a poll): applied once.
        for _ in 0..2 {
            db.apply_fill("b1", broker, OrderState::Open, Decimal::from(4), price, dates, 2).unwrap();
        }
        assert_eq!(db.sleeve_cash("s").unwrap(), Some(Decimal::from(898)));
        let done =
            db.apply_fill("b1", ("id1", "filled"), OrderState::Filled, Decimal::from(10), price, dates, 3);
        assert_eq!(done.unwrap(), Decimal::from(6));
        assert_eq!(db.sleeve_cash("s").unwrap(), Some(Decimal::from(745)));
        let p = &db.positions().unwrap()[0];
        assert_eq!((p.qty, p.cost), (Decimal::from(10), Decimal::from(255)));
        db.add_orders(&[], &[order("s1", OrderSide::Sell, 10)], 4).unwrap();
        db.apply_fill(
            "s1",
            ("id2", "filled"),
            OrderState::Filled,
            Decimal::from(10),
            Some(Decimal::from(30)),
            dates,
            5,
        )
        .unwrap();
        assert!(db.positions().unwrap().is_empty());
        assert_eq!(db.sleeve_cash("s").unwrap(), Some(Decimal::from(1045)));
        assert_eq!(db.unsettled("2025-12-30").unwrap(), Decimal::from(300));
        assert_eq!(db.unsettled("2025-12-31").unwrap(), Decimal::ZERO);
        assert_eq!(db.order("s1").unwrap().unwrap().state, OrderState::Filled);
    }

    #[test]
    fn a_sale_filled_over_two_days_settles_with_its_last_part() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("live.db")).unwrap();
        db.ensure_sleeve("s", 0.5, Decimal::from(1000)).unwrap();
        db.set_position("s", "SPY", Decimal::from(10), Decimal::from(250), 0).unwrap();
        db.add_orders(&[], &[order("s1", OrderSide::Sell, 10)], 1).unwrap();
        let px = Some(Decimal::from(30));
        // A resting stop fills 4 before Tuesday's close and the rest on Wednesday.
        let part = ("id", "partially_filled");
        db.apply_fill("s1", part, OrderState::Open, Decimal::from(4), px, ("2025-12-30", "2025-12-31"), 2)
            .unwrap();
        let done = ("id", "filled");
        db.apply_fill("s1", done, OrderState::Filled, Decimal::from(10), px, ("2025-12-31", "2026-01-02"), 3)
            .unwrap();
        assert_eq!(db.unsettled("2025-12-31").unwrap(), Decimal::from(300), "all 300 still unsettled");
        assert_eq!(db.unsettled("2026-01-02").unwrap(), Decimal::ZERO);
    }

    #[test]
    fn a_sale_of_more_than_the_book_holds_leaves_it_flat_never_negative() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("live.db")).unwrap();
        db.ensure_sleeve("s", 0.5, Decimal::from(1000)).unwrap();
        db.set_position("s", "SPY", Decimal::from(4), Decimal::from(100), 0).unwrap();
        // An oco filled on both legs (documented as possible), or a stop booked after a racing
        // reconciliation closed the position: 10 sold against 4 held.
        db.add_orders(&[], &[order("s1", OrderSide::Sell, 10)], 1).unwrap();
        let sold = db.apply_fill(
            "s1",
            ("id", "filled"),
            OrderState::Filled,
            Decimal::from(10),
            Some(Decimal::from(30)),
            ("2025-12-30", "2025-12-31"),
            2,
        );
        assert_eq!(sold.unwrap(), Decimal::from(10));
        assert!(db.positions().unwrap().is_empty(), "flat, not -6: {:?}", db.positions());
        assert_eq!(db.sleeve_cash("s").unwrap(), Some(Decimal::from(1300)), "the proceeds are real");
        // An oco for 4 filled on both legs: 8 sold; the 4 beyond the order are a short at the
        // broker, not cash of the strategy's.
        db.set_position("s", "SPY", Decimal::from(4), Decimal::from(100), 3).unwrap();
        db.add_orders(&[], &[order("s2", OrderSide::Sell, 4)], 4).unwrap();
        let fill = |qty: i64| {
            db.apply_fill(
                "s2",
                ("id2", "filled"),
                OrderState::Filled,
                Decimal::from(qty),
                Some(Decimal::from(30)),
                ("2025-12-30", "2025-12-31"),
                5,
            )
            .unwrap()
        };
        assert_eq!((fill(3), fill(8)), (Decimal::from(3), Decimal::from(5)));
        assert!(db.positions().unwrap().is_empty(), "flat: {:?}", db.positions());
        assert_eq!(db.sleeve_cash("s").unwrap(), Some(Decimal::from(1300 + 4 * 30)), "4 sold, not 8");
    }

    #[test]
    fn breakers_latch_with_their_first_reason() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("live.db")).unwrap();
        db.trip("daily_loss", "equity down 4%", 1).unwrap();
        db.trip("daily_loss", "equity down 5%", 2).unwrap();
        assert_eq!(db.breakers().unwrap(), vec![("daily_loss".into(), "equity down 4%".into(), 1)]);
        assert_eq!(db.reset_breakers().unwrap(), 1);
        assert!(db.breakers().unwrap().is_empty());
    }
}

//! Read-only queries of the live database (`live.db`) and the operations database (`ops.db`).
//!
//! Both are opened with `SQLITE_OPEN_READ_ONLY` for each refresh, read inside one short read
//! transaction (a consistent snapshot), and closed: WAL readers never block the live service's
//! writes, nothing here can write, and a database created, restored or replaced later is simply
//! picked up on the next refresh. A missing database is not an error: the page says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use live_bridge::safety::KillSwitch;
use ops::db::ErrorRecord;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction};
use rust_decimal::Decimal;

use crate::model::{
    Breaker, Checkpoint, EquityCurve, EquityPoint, EquityRange, IntradayCurve, IntradayPoint,
    KillSwitchState, Mark, OrderView, PositionView, RunView, SignalView, Snapshot, StrategyView,
};

/// How long a read waits on a lock (only a checkpoint truncating the WAL can hold one).
const BUSY: Duration = Duration::from_secs(2);
/// Rows of the error log shown.
pub const ERRORS_SHOWN: usize = 20;
/// What the daily curve shows; said under it.
pub const EQUITY_SOURCE: &str = "account equity after each session's close (live.db portfolio_daily)";
/// What the intraday curve shows; said under it.
pub const INTRADAY_SOURCE: &str = "account equity from the broker every equity_snapshot_minutes of the \
     session and after each run that filled (live.db equity_intraday)";

/// A database could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ReadError {
    path: PathBuf,
    source: rusqlite::Error,
}

/// Where the dashboard reads from.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The live service's data directory: `live.db` and the `HALT` kill-switch file.
    pub live_dir: PathBuf,
    /// The operations database (error log).
    pub ops_db: PathBuf,
}

impl Sources {
    /// The live database's path.
    pub fn live_db(&self) -> PathBuf {
        self.live_dir.join("live.db")
    }

    /// Reads everything the page shows at `now_ns`, with the intraday equity of `range`.
    pub fn snapshot(&self, now_ns: i64, range: EquityRange) -> Result<Snapshot, ReadError> {
        let live_db = self.live_db();
        let mut notes = Vec::new();
        let reason = KillSwitch::new(&self.live_dir).halted();
        let kill_switch = KillSwitchState { on: reason.is_some(), reason };
        let mut snap = Snapshot::empty(now_ns, kill_switch);
        match open(&live_db)? {
            Some(mut conn) => {
                let tx = conn.transaction().map_err(|e| err(&live_db, e))?;
                read_live(&tx, now_ns, range, &mut snap).map_err(|e| err(&live_db, e))?;
            }
            None => notes.push(format!(
                "no live database at {}: the live service has not run here",
                live_db.display()
            )),
        }
        snap.summary.live_service_pids = ops::lock::holders(&live_db);
        match open(&self.ops_db)? {
            Some(conn) => {
                let (errors, last_day) = read_errors(&conn, now_ns).map_err(|e| err(&self.ops_db, e))?;
                snap.errors = errors;
                snap.summary.errors_24h = last_day;
            }
            None => {
                notes.push(format!("no operations database at {}: no error log yet", self.ops_db.display()))
            }
        }
        snap.summary.notes.extend(notes);
        Ok(snap)
    }
}

fn err(path: &Path, source: rusqlite::Error) -> ReadError {
    ReadError { path: path.into(), source }
}

/// Opens `path` read-only; `None` when there is no file.
fn open(path: &Path) -> Result<Option<Connection>, ReadError> {
    if !path.exists() {
        return Ok(None);
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| err(path, e))?;
    conn.busy_timeout(BUSY).map_err(|e| err(path, e))?;
    Ok(Some(conn))
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_default()
}

/// True when the live database has `table` (an older or newer schema may lack one).
fn has_table(tx: &Transaction<'_>, table: &str) -> rusqlite::Result<bool> {
    tx.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
}

fn read_live(
    tx: &Transaction<'_>,
    now_ns: i64,
    range: EquityRange,
    snap: &mut Snapshot,
) -> rusqlite::Result<()> {
    if !has_table(tx, "runs")? {
        snap.summary.notes.push("the live database has no tables yet".into());
        return Ok(());
    }
    let day: Option<String> = tx.query_row("SELECT MAX(day) FROM runs", [], |r| r.get(0))?;
    let day =
        day.unwrap_or_else(|| datasets::calendar::session_date(datasets::Timestamp(now_ns)).to_string());
    snap.summary.session_day = Some(day.clone());
    snap.equity = equity(tx)?;
    snap.equity.intraday = intraday(tx, range)?;
    snap.positions = positions(tx)?;
    snap.orders = orders(tx, &day)?;
    (snap.signals, snap.summary.gap_candidates) = signals(tx, &day)?;
    snap.strategies = strategies(tx, &day, &snap.positions)?;
    snap.summary.breakers = breakers(tx)?;
    snap.summary.reconcile =
        tx.query_row("SELECT value FROM state WHERE key = 'reconcile'", [], |r| r.get(0)).optional()?;
    let checkpoint = |filter: &str| {
        tx.query_row(
            &format!("SELECT time_ns, phase, detail FROM checkpoints {filter} ORDER BY id DESC LIMIT 1"),
            [],
            |r| Ok(Checkpoint::new(r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
    };
    snap.summary.last_checkpoint = checkpoint("")?;
    snap.summary.last_data_refresh = checkpoint("WHERE phase IN ('data', 'pre_market')")?;
    snap.summary.fill_totals(&snap.equity, &snap.positions, &snap.strategies);
    Ok(())
}

fn equity(tx: &Transaction<'_>) -> rusqlite::Result<EquityCurve> {
    let mut stmt = tx.prepare("SELECT day, equity, last_equity FROM portfolio_daily ORDER BY day")?;
    let points = stmt
        .query_map([], |r| {
            let (day, equity, last): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            Ok(EquityPoint { day, equity: dec(&equity), last_equity: dec(&last) })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(EquityCurve { source: EQUITY_SOURCE.into(), points, intraday: IntradayCurve::default() })
}

/// The intraday snapshots of `range`: every one kept, or those of the newest one's session.
fn intraday(tx: &Transaction<'_>, range: EquityRange) -> rusqlite::Result<IntradayCurve> {
    let mut curve = IntradayCurve { range, source: INTRADAY_SOURCE.into(), ..IntradayCurve::default() };
    if !has_table(tx, "equity_intraday")? {
        curve.source = "no intraday equity: the live service that wrote live.db predates it".into();
        return Ok(curve);
    }
    let newest: Option<i64> = tx.query_row("SELECT MAX(ts_ns) FROM equity_intraday", [], |r| r.get(0))?;
    let Some(newest) = newest else { return Ok(curve) };
    let session = datasets::calendar::session_date(datasets::Timestamp(newest));
    let since = match range {
        EquityRange::Session => {
            curve.session = Some(session.to_string());
            datasets::calendar::daily_bar_timestamp(session).0
        }
        EquityRange::All => i64::MIN,
    };
    let mut stmt = tx.prepare(
        "SELECT ts_ns, equity, last_equity, cash, long_value, unrealised, source
         FROM equity_intraday WHERE ts_ns >= ?1 ORDER BY ts_ns",
    )?;
    let rows = stmt.query_map([since], |r| {
        let text = |i| r.get::<_, String>(i).map(|s| dec(&s));
        Ok(IntradayPoint {
            time_ns: r.get(0)?,
            equity: text(1)?,
            last_equity: text(2)?,
            cash: text(3)?,
            long_value: text(4)?,
            unrealised: r.get::<_, Option<String>>(5)?.map(|s| dec(&s)),
            source: r.get(6)?,
        })
    })?;
    curve.points = rows.collect::<rusqlite::Result<_>>()?;
    Ok(curve)
}

/// The latest price the bridge saw for each symbol: a signal bar's close, a fill's average
/// price or the broker's price at the last intraday equity snapshot, whichever is newest.
fn marks(tx: &Transaction<'_>) -> rusqlite::Result<BTreeMap<String, Mark>> {
    let mut marks: BTreeMap<String, Mark> = BTreeMap::new();
    let mut keep = |symbol: String, mark: Mark| {
        if marks.get(&symbol).is_none_or(|m| m.time_ns < mark.time_ns) {
            marks.insert(symbol, mark);
        }
    };
    let mut stmt =
        tx.prepare("SELECT symbol, price, MAX(bar_ns) FROM signals WHERE price > 0 GROUP BY symbol")?;
    for row in
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, i64>(2)?)))?
    {
        let (symbol, price, time_ns) = row?;
        if let Ok(price) = Decimal::try_from(price) {
            keep(symbol, Mark { price: price.round_dp(4), time_ns, source: "signal bar close".into() });
        }
    }
    let mut stmt = tx.prepare(
        "SELECT symbol, filled_qty, filled_notional, MAX(updated_ns) FROM orders
         WHERE filled_qty NOT IN ('0', '') GROUP BY symbol",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
    })?;
    for row in rows {
        let (symbol, qty, notional, time_ns) = row?;
        let qty = dec(&qty);
        if qty > Decimal::ZERO {
            keep(symbol, Mark { price: (dec(&notional) / qty).round_dp(4), time_ns, source: "fill".into() });
        }
    }
    if has_table(tx, "broker_marks")? {
        let mut stmt = tx.prepare("SELECT symbol, price, time_ns FROM broker_marks")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        for row in rows {
            let (symbol, price, time_ns) = row?;
            keep(symbol, Mark { price: dec(&price), time_ns, source: "broker".into() });
        }
    }
    Ok(marks)
}

fn positions(tx: &Transaction<'_>) -> rusqlite::Result<Vec<PositionView>> {
    let marks = marks(tx)?;
    let mut stmt =
        tx.prepare("SELECT strategy, symbol, qty, cost, opened_ns FROM positions ORDER BY strategy, symbol")?;
    let rows = stmt.query_map([], |r| {
        let (qty, cost): (String, String) = (r.get(2)?, r.get(3)?);
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, dec(&qty), dec(&cost), r.get::<_, i64>(4)?))
    })?;
    rows.map(|row| {
        let (strategy, symbol, qty, cost, opened_ns) = row?;
        let mark = marks.get(&symbol).cloned();
        Ok(PositionView::new(strategy, symbol, qty, cost, opened_ns, mark))
    })
    .collect()
}

fn orders(tx: &Transaction<'_>, day: &str) -> rusqlite::Result<Vec<OrderView>> {
    let mut stmt = tx.prepare(
        "SELECT client_order_id, strategy, slot, symbol, side, qty, state, broker_status, filled_qty,
                filled_notional, detail, created_ns, updated_ns
         FROM orders WHERE slot LIKE ?1 || '%' OR state IN ('intent', 'open', 'unknown')
         ORDER BY created_ns, rowid",
    )?;
    let rows = stmt.query_map([day], |r| {
        let (filled_qty, notional): (String, String) = (r.get(8)?, r.get(9)?);
        let (filled_qty, notional) = (dec(&filled_qty), dec(&notional));
        Ok(OrderView {
            client_order_id: r.get(0)?,
            strategy: r.get(1)?,
            slot: r.get(2)?,
            symbol: r.get(3)?,
            side: r.get(4)?,
            qty: dec(&r.get::<_, String>(5)?),
            state: r.get(6)?,
            broker_status: r.get(7)?,
            filled_qty,
            avg_fill_price: (filled_qty > Decimal::ZERO).then(|| (notional / filled_qty).round_dp(4)),
            detail: r.get(10)?,
            created_ns: r.get(11)?,
            updated_ns: r.get(12)?,
        })
    })?;
    rows.collect()
}

/// The day's signals the bridge acted on or refused, and how many gap candidates it stored.
fn signals(tx: &Transaction<'_>, day: &str) -> rusqlite::Result<(Vec<SignalView>, u64)> {
    let mut stmt = tx.prepare(
        "SELECT strategy, slot, bar_ns, symbol, side, strength, price, action, detail, client_order_id
         FROM signals WHERE slot LIKE ?1 || '%' AND action != 'candidate' ORDER BY bar_ns, id",
    )?;
    let rows = stmt.query_map([day], |r| {
        Ok(SignalView {
            strategy: r.get(0)?,
            slot: r.get(1)?,
            bar_ns: r.get(2)?,
            symbol: r.get(3)?,
            side: r.get(4)?,
            strength: r.get(5)?,
            price: r.get(6)?,
            action: r.get(7)?,
            detail: r.get(8)?,
            client_order_id: r.get(9)?,
        })
    })?;
    let signals = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let candidates = tx.query_row(
        "SELECT COUNT(*) FROM signals WHERE slot LIKE ?1 || '%' AND action = 'candidate'",
        [day],
        |r| r.get(0),
    )?;
    Ok((signals, candidates))
}

fn strategies(
    tx: &Transaction<'_>,
    day: &str,
    positions: &[PositionView],
) -> rusqlite::Result<Vec<StrategyView>> {
    let mut views: BTreeMap<String, StrategyView> = BTreeMap::new();
    let mut stmt = tx.prepare("SELECT strategy, allocation, cash FROM sleeves")?;
    for row in
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, String>(2)?)))?
    {
        let (strategy, allocation, cash) = row?;
        let view = views.entry(strategy.clone()).or_insert_with(|| StrategyView::new(strategy));
        view.allocation = Some(allocation);
        view.cash = Some(dec(&cash));
    }
    // SQLite takes the bare columns from the row holding the MAX: each strategy's latest run.
    let mut stmt = tx.prepare(
        "SELECT strategy, slot, status, detail, COALESCE(finished_ns, started_ns), MAX(started_ns)
         FROM runs GROUP BY strategy",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            RunView { slot: r.get(1)?, status: r.get(2)?, detail: r.get(3)?, time_ns: r.get(4)? },
        ))
    })?;
    for row in rows {
        let (strategy, run) = row?;
        views.entry(strategy.clone()).or_insert_with(|| StrategyView::new(strategy)).last_run = Some(run);
    }
    let mut stmt =
        tx.prepare("SELECT strategy, status, COUNT(*) FROM runs WHERE day = ?1 GROUP BY strategy, status")?;
    for row in
        stmt.query_map([day], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, u64>(2)?)))?
    {
        let (strategy, status, n) = row?;
        views
            .entry(strategy.clone())
            .or_insert_with(|| StrategyView::new(strategy))
            .runs_today
            .insert(status, n);
    }
    for p in positions {
        let view = views.entry(p.strategy.clone()).or_insert_with(|| StrategyView::new(p.strategy.clone()));
        view.add_position(p);
    }
    Ok(views.into_values().collect())
}

fn breakers(tx: &Transaction<'_>) -> rusqlite::Result<Vec<Breaker>> {
    let mut stmt = tx.prepare("SELECT name, reason, tripped_ns FROM breakers ORDER BY name")?;
    let rows =
        stmt.query_map([], |r| Ok(Breaker { name: r.get(0)?, reason: r.get(1)?, tripped_ns: r.get(2)? }))?;
    rows.collect()
}

/// The latest errors and the count of the last 24 hours.
fn read_errors(conn: &Connection, now_ns: i64) -> rusqlite::Result<(Vec<ErrorRecord>, u64)> {
    let has: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'error_log'",
        [],
        |r| r.get(0),
    )?;
    if has == 0 {
        return Ok((Vec::new(), 0));
    }
    let errors = ops::db::recent_errors_in(conn, ERRORS_SHOWN)?;
    let count = ops::db::errors_since_in(conn, now_ns - datasets::time::NANOS_PER_DAY)?;
    Ok((errors, count))
}

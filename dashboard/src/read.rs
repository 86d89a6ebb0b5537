//! Read-only snapshots of the live database (`live.db`, through the live bridge's own queries:
//! [`live_bridge::db::Db`]'s read side) and the operations database (`ops.db`, through `ops`').
//!
//! Both are opened with `SQLITE_OPEN_READ_ONLY` for each refresh, read inside one short read
//! transaction (a consistent snapshot), and closed: WAL readers never block the live service's
//! writes, nothing here can write, and a database created, restored or replaced later is simply
//! picked up on the next refresh. A missing database is not an error: the page says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use live_bridge::db::{Db, DbError, DbResult, OrderRecord, SignalRow};
use live_bridge::safety::KillSwitch;
use ops::db::ErrorRecord;
use rusqlite::Connection;
use rust_decimal::Decimal;

use crate::model::{
    Breaker, Checkpoint, EquityCurve, EquityPoint, EquityRange, IntradayCurve, IntradayPoint,
    KillSwitchState, Mark, OrderView, PositionView, RunView, SignalView, Snapshot, StrategyView,
};

/// Rows of the error log shown.
pub const ERRORS_SHOWN: usize = 20;
/// What the daily curve shows; said under it.
pub const EQUITY_SOURCE: &str = "account equity after each session's close (live.db portfolio_daily)";
/// What the intraday curve shows; said under it.
pub const INTRADAY_SOURCE: &str = "account equity from the broker every equity_snapshot_minutes of the \
     session and after each run that filled (live.db equity_intraday)";

/// A database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The live database, through the live bridge's queries.
    #[error("{path}: {source}")]
    Live {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: DbError,
    },
    /// The operations database.
    #[error("{path}: {source}")]
    Ops {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: rusqlite::Error,
    },
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
        if live_db.exists() {
            let live = |source| ReadError::Live { path: live_db.clone(), source };
            // Read-only, one read transaction (a consistent snapshot), through the bridge's
            // own queries: the SQL of live.db lives in one place.
            let db = Db::open_read_only(&live_db).map_err(live)?;
            db.read(|db| read_live(db, now_ns, range, &mut snap)).map_err(live)?;
        } else {
            notes.push(format!(
                "no live database at {}: the live service has not run here",
                live_db.display()
            ));
        }
        snap.summary.live_service_pids = ops::lock::holders(&live_db);
        let ops_err = |source| ReadError::Ops { path: self.ops_db.clone(), source };
        match open(&self.ops_db).map_err(ops_err)? {
            Some(conn) => {
                let (errors, last_day) = read_errors(&conn, now_ns).map_err(ops_err)?;
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

/// Opens `path` read-only (also on a read-only file system); `None` when there is no file.
fn open(path: &Path) -> rusqlite::Result<Option<Connection>> {
    if !path.exists() {
        return Ok(None);
    }
    dbkit::open_read_only(path).map(Some)
}

fn read_live(db: &Db, now_ns: i64, range: EquityRange, snap: &mut Snapshot) -> DbResult<()> {
    if !db.has_table("runs")? {
        snap.summary.notes.push("the live database has no tables yet".into());
        return Ok(());
    }
    let day = db
        .latest_run_day()?
        .unwrap_or_else(|| datasets::calendar::session_date(datasets::Timestamp(now_ns)).to_string());
    snap.summary.session_day = Some(day.clone());
    let points = db.daily()?.into_iter().map(|d| EquityPoint {
        day: d.day,
        equity: d.equity,
        last_equity: d.last_equity,
    });
    snap.equity = EquityCurve {
        source: EQUITY_SOURCE.into(),
        points: points.collect(),
        intraday: intraday(db, range)?,
    };
    snap.positions = positions(db)?;
    snap.orders = db.day_orders(&day)?.into_iter().map(order_view).collect();
    let (signals, candidates) = db.day_signals(&day)?;
    snap.signals = signals.into_iter().map(signal_view).collect();
    snap.summary.gap_candidates = candidates;
    snap.strategies = strategies(db, &day, &snap.positions)?;
    snap.summary.breakers = db
        .breakers()?
        .into_iter()
        .map(|(name, reason, tripped_ns)| Breaker { name, reason, tripped_ns })
        .collect();
    snap.summary.reconcile = db.state("reconcile")?;
    let checkpoint =
        |c: Option<(i64, String, String)>| c.map(|(t, phase, detail)| Checkpoint::new(t, phase, detail));
    snap.summary.last_checkpoint = checkpoint(db.last_checkpoint()?);
    snap.summary.last_data_refresh = checkpoint(db.last_checkpoint_of(&["data", "pre_market"])?);
    snap.summary.fill_totals(&snap.equity, &snap.positions, &snap.strategies);
    Ok(())
}

/// The intraday snapshots of `range`: every one kept, or those of the newest one's session.
fn intraday(db: &Db, range: EquityRange) -> DbResult<IntradayCurve> {
    let mut curve = IntradayCurve { range, source: INTRADAY_SOURCE.into(), ..IntradayCurve::default() };
    if !db.has_table("equity_intraday")? {
        curve.source = "no intraday equity: the live service that wrote live.db predates it".into();
        return Ok(curve);
    }
    let Some(newest) = db.intraday(i64::MIN)?.last().map(|p| p.ts_ns) else { return Ok(curve) };
    let session = datasets::calendar::session_date(datasets::Timestamp(newest));
    let since = match range {
        EquityRange::Session => {
            curve.session = Some(session.to_string());
            datasets::calendar::daily_bar_timestamp(session).0
        }
        EquityRange::All => i64::MIN,
    };
    curve.points = db
        .intraday(since)?
        .into_iter()
        .map(|p| IntradayPoint {
            time_ns: p.ts_ns,
            equity: p.equity,
            last_equity: p.last_equity,
            cash: p.cash,
            long_value: p.long_value,
            unrealised: p.unrealised,
            source: p.source.as_str().to_string(),
        })
        .collect();
    Ok(curve)
}

/// The latest price the bridge saw for each symbol: a signal bar's close, a fill's average
/// price or the broker's price at the last intraday equity snapshot, whichever is newest.
fn marks(db: &Db) -> DbResult<BTreeMap<String, Mark>> {
    let mut marks: BTreeMap<String, Mark> = BTreeMap::new();
    for seen in db.seen_prices()? {
        if marks.get(&seen.symbol).is_none_or(|m| m.time_ns < seen.time_ns) {
            let mark = Mark { price: seen.price, time_ns: seen.time_ns, source: seen.source.as_str().into() };
            marks.insert(seen.symbol, mark);
        }
    }
    Ok(marks)
}

fn positions(db: &Db) -> DbResult<Vec<PositionView>> {
    let marks = marks(db)?;
    Ok(db
        .held_positions()?
        .into_iter()
        .map(|h| {
            let p = h.position;
            let mark = marks.get(&p.symbol).cloned();
            PositionView::new(p.strategy, p.symbol, p.qty, p.cost, h.opened_ns, mark)
        })
        .collect())
}

fn order_view(r: OrderRecord) -> OrderView {
    let o = r.order;
    OrderView {
        client_order_id: o.client_order_id,
        strategy: o.strategy,
        slot: o.slot,
        symbol: o.symbol,
        side: o.side.as_str().into(),
        qty: o.qty,
        state: o.state.as_str().into(),
        broker_status: r.broker_status,
        filled_qty: o.filled_qty,
        avg_fill_price: (o.filled_qty > Decimal::ZERO)
            .then(|| (o.filled_notional / o.filled_qty).round_dp(4)),
        detail: o.detail,
        created_ns: r.created_ns,
        updated_ns: r.updated_ns,
    }
}

fn signal_view(s: SignalRow) -> SignalView {
    SignalView {
        strategy: s.strategy,
        slot: s.slot,
        bar_ns: s.bar_ns,
        symbol: s.symbol,
        side: s.side,
        strength: s.strength,
        price: s.price,
        action: s.action,
        detail: s.detail,
        client_order_id: s.client_order_id,
    }
}

fn strategies(db: &Db, day: &str, positions: &[PositionView]) -> DbResult<Vec<StrategyView>> {
    let mut views: BTreeMap<String, StrategyView> = BTreeMap::new();
    for (strategy, allocation, cash) in db.sleeves()? {
        let v = views.entry(strategy.clone()).or_insert_with(|| StrategyView::new(strategy));
        v.allocation = Some(allocation);
        v.cash = Some(cash);
    }
    for run in db.latest_runs()? {
        let v = views.entry(run.strategy.clone()).or_insert_with(|| StrategyView::new(run.strategy.clone()));
        v.last_run =
            Some(RunView { slot: run.slot, status: run.status, detail: run.detail, time_ns: run.time_ns });
    }
    for (strategy, status, n) in db.run_counts(day)? {
        let v = views.entry(strategy.clone()).or_insert_with(|| StrategyView::new(strategy));
        v.runs_today.insert(status, n);
    }
    for p in positions {
        let v = views.entry(p.strategy.clone()).or_insert_with(|| StrategyView::new(p.strategy.clone()));
        v.add_position(p);
    }
    Ok(views.into_values().collect())
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

//! What the dashboard shows, as the JSON endpoints serve it. Money and quantities are exact
//! decimals (JSON strings, as Alpaca and the live database write them); times are UTC epoch
//! nanoseconds (`*_ns`), shown in New York time on the page.

use std::collections::BTreeMap;

use ops::db::ErrorRecord;
use rust_decimal::Decimal;
use serde::Serialize;

/// Everything read at one refresh.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Headline figures and the service's state.
    pub summary: Summary,
    /// The equity curve.
    pub equity: EquityCurve,
    /// Every position with its mark and unrealised P&L.
    pub positions: Vec<PositionView>,
    /// The session's orders, and any still pending from before.
    pub orders: Vec<OrderView>,
    /// The session's signals (gap candidates only counted, in the summary).
    pub signals: Vec<SignalView>,
    /// Each strategy's sleeve, positions and runs.
    pub strategies: Vec<StrategyView>,
    /// The latest errors of every service, newest first.
    pub errors: Vec<ErrorRecord>,
}

impl Snapshot {
    /// A snapshot with nothing read yet but the kill switch.
    pub fn empty(now_ns: i64, kill_switch: KillSwitchState) -> Snapshot {
        Snapshot {
            summary: Summary { as_of_ns: now_ns, kill_switch, ..Summary::default() },
            equity: EquityCurve::default(),
            positions: Vec::new(),
            orders: Vec::new(),
            signals: Vec::new(),
            strategies: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// The headline: account equity, the bridge's books, safety state, freshness.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// When this was read.
    pub as_of_ns: i64,
    /// The session shown (the latest with runs, else today in New York).
    pub session_day: Option<String>,
    /// The latest account equity: today's newest intraday snapshot while the session has no
    /// daily one yet, else the last session's close.
    pub equity: Option<EquityPoint>,
    /// When that equity was read, for an intraday snapshot (`None`: a session's close).
    pub equity_at_ns: Option<i64>,
    /// Its change against the previous close's equity.
    pub equity_change: Option<Decimal>,
    /// The bridge's books now: cash of every sleeve.
    pub book_cash: Decimal,
    /// Positions at their marks (at cost where no price was seen).
    pub market_value: Decimal,
    /// Cost of the positions.
    pub cost: Decimal,
    /// Unrealised P&L of the marked positions.
    pub unrealised: Decimal,
    /// The kill switch (`HALT` file).
    pub kill_switch: KillSwitchState,
    /// Tripped circuit breakers (latched until `tradebot live resume`).
    pub breakers: Vec<Breaker>,
    /// `ok`, or why the last reconciliation failed; `None` before the first.
    pub reconcile: Option<String>,
    /// True when new orders may go out: no kill switch, no breaker, reconciled.
    pub trading: bool,
    /// Processes holding the live database's lock: the live service, when running.
    pub live_service_pids: Vec<u32>,
    /// The service's last checkpoint: its last sign of life.
    pub last_checkpoint: Option<Checkpoint>,
    /// The last market-data refresh (a run's bars, or PRE_MARKET's daily bars).
    pub last_data_refresh: Option<Checkpoint>,
    /// Gap candidates stored this session (not listed with the signals).
    pub gap_candidates: u64,
    /// Errors logged in the last 24 hours.
    pub errors_24h: u64,
    /// What is missing or derived, in words.
    pub notes: Vec<String>,
}

impl Summary {
    /// Fills the totals from the curve, the positions and the sleeves, and the trading flag.
    pub fn fill_totals(
        &mut self,
        curve: &EquityCurve,
        positions: &[PositionView],
        strategies: &[StrategyView],
    ) {
        let daily = curve.points.last();
        let intraday = curve.intraday.points.last().filter(|p| {
            let day = datasets::calendar::session_date(datasets::Timestamp(p.time_ns)).to_string();
            daily.is_none_or(|d| day > d.day)
        });
        (self.equity, self.equity_at_ns) = match intraday {
            Some(p) => (Some(p.as_daily()), Some(p.time_ns)),
            None => (daily.cloned(), None),
        };
        self.equity_change = self.equity.as_ref().map(|p| p.equity - p.last_equity);
        self.book_cash = strategies.iter().filter_map(|s| s.cash).sum();
        self.market_value = positions.iter().map(|p| p.market_value.unwrap_or(p.cost)).sum();
        self.cost = positions.iter().map(|p| p.cost).sum();
        self.unrealised = positions.iter().filter_map(|p| p.unrealised).sum();
        self.trading =
            !self.kill_switch.on && self.breakers.is_empty() && self.reconcile.as_deref() == Some("ok");
    }
}

/// The kill switch.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KillSwitchState {
    /// True while the `HALT` file exists.
    pub on: bool,
    /// Its reason.
    pub reason: Option<String>,
}

/// A tripped breaker.
#[derive(Clone, Debug, Serialize)]
pub struct Breaker {
    /// `daily_loss`, `max_drawdown` or `consecutive_errors`.
    pub name: String,
    /// Why it tripped.
    pub reason: String,
    /// When.
    pub tripped_ns: i64,
}

/// A service checkpoint.
#[derive(Clone, Debug, Serialize)]
pub struct Checkpoint {
    /// When.
    pub time_ns: i64,
    /// Phase (`pre_market`, `data`, `plan`, `submit`, …).
    pub phase: String,
    /// What.
    pub detail: String,
}

impl Checkpoint {
    /// A checkpoint row.
    pub fn new(time_ns: i64, phase: String, detail: String) -> Checkpoint {
        Checkpoint { time_ns, phase, detail }
    }
}

/// The equity curves — each session's close, and the intraday snapshots — and where their
/// points come from.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EquityCurve {
    /// What the daily points are, in words.
    pub source: String,
    /// The account's equity after each session, oldest first.
    pub points: Vec<EquityPoint>,
    /// The intraday snapshots of the range asked for.
    pub intraday: IntradayCurve,
}

/// Which intraday snapshots are shown: `?range=session` (the default) or `?range=all`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EquityRange {
    /// The session of the newest snapshot (today's, once the market has opened).
    #[default]
    Session,
    /// Every snapshot kept (the live service keeps `equity_retention_days`).
    All,
}

impl EquityRange {
    /// Parses a `range` query value.
    pub fn parse(s: &str) -> Option<EquityRange> {
        match s {
            "session" => Some(EquityRange::Session),
            "all" => Some(EquityRange::All),
            _ => None,
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            EquityRange::Session => "session",
            EquityRange::All => "all",
        }
    }
}

/// The account's intraday equity snapshots.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IntradayCurve {
    /// The range shown.
    pub range: EquityRange,
    /// The session shown (New York date) with the range `session`; `None` before any snapshot.
    pub session: Option<String>,
    /// What the points are, in words.
    pub source: String,
    /// Oldest first.
    pub points: Vec<IntradayPoint>,
}

/// The account as the broker reported it at one instant of a session.
#[derive(Clone, Debug, Serialize)]
pub struct IntradayPoint {
    /// When (UTC ns).
    pub time_ns: i64,
    /// Account equity.
    pub equity: Decimal,
    /// Equity at the previous close.
    pub last_equity: Decimal,
    /// Cash, settled or not.
    pub cash: Decimal,
    /// Long market value.
    pub long_value: Decimal,
    /// The positions' unrealised P&L at the broker's prices, when they could be read.
    pub unrealised: Option<Decimal>,
    /// `timer` (the cadence) or `fills` (after a run whose orders filled).
    pub source: String,
}

impl IntradayPoint {
    /// The point as a headline figure for its session.
    pub fn as_daily(&self) -> EquityPoint {
        let day = datasets::calendar::session_date(datasets::Timestamp(self.time_ns));
        EquityPoint { day: day.to_string(), equity: self.equity, last_equity: self.last_equity }
    }
}

/// One point: the account's equity after a session.
#[derive(Clone, Debug, Serialize)]
pub struct EquityPoint {
    /// Session date.
    pub day: String,
    /// Account equity.
    pub equity: Decimal,
    /// Equity at the previous close.
    pub last_equity: Decimal,
}

/// The latest price seen for a symbol.
#[derive(Clone, Debug, Serialize)]
pub struct Mark {
    /// Price.
    pub price: Decimal,
    /// When (a signal's bar start, the fill's update, or the broker snapshot).
    pub time_ns: i64,
    /// `signal bar close`, `fill` or `broker`.
    pub source: String,
}

/// A position with its P&L at the mark.
#[derive(Clone, Debug, Serialize)]
pub struct PositionView {
    /// Strategy, or `manual` for positions the bridge adopted.
    pub strategy: String,
    /// Ticker.
    pub symbol: String,
    /// Shares.
    pub qty: Decimal,
    /// Cost of the shares.
    pub cost: Decimal,
    /// Cost per share.
    pub avg_cost: Option<Decimal>,
    /// When the position was opened.
    pub opened_ns: i64,
    /// The latest price seen, if any.
    pub mark: Option<Mark>,
    /// Shares × mark.
    pub market_value: Option<Decimal>,
    /// Market value − cost.
    pub unrealised: Option<Decimal>,
    /// Unrealised P&L over cost, percent.
    pub unrealised_pct: Option<Decimal>,
}

impl PositionView {
    /// A position valued at `mark`.
    pub fn new(
        strategy: String,
        symbol: String,
        qty: Decimal,
        cost: Decimal,
        opened_ns: i64,
        mark: Option<Mark>,
    ) -> PositionView {
        let market_value = mark.as_ref().map(|m| (qty * m.price).round_dp(2));
        let unrealised = market_value.map(|v| v - cost.round_dp(2));
        let nonzero = |d: Decimal| (!d.is_zero()).then_some(d);
        PositionView {
            avg_cost: nonzero(qty).map(|q| (cost / q).round_dp(4)),
            unrealised_pct: unrealised
                .zip(nonzero(cost))
                .map(|(u, c)| (u / c * Decimal::ONE_HUNDRED).round_dp(2)),
            strategy,
            symbol,
            qty,
            cost,
            opened_ns,
            mark,
            market_value,
            unrealised,
        }
    }
}

/// An order of the session (or still pending).
#[derive(Clone, Debug, Serialize)]
pub struct OrderView {
    /// Deterministic id, Alpaca's `client_order_id`.
    pub client_order_id: String,
    /// Strategy.
    pub strategy: String,
    /// Run slot.
    pub slot: String,
    /// Ticker.
    pub symbol: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Shares ordered.
    pub qty: Decimal,
    /// Local state (`intent`, `open`, `filled`, `canceled`, `rejected`, `not_sent`, `unknown`).
    pub state: String,
    /// The broker's status, once known.
    pub broker_status: Option<String>,
    /// Shares filled.
    pub filled_qty: Decimal,
    /// Average fill price.
    pub avg_fill_price: Option<Decimal>,
    /// Why it is in its state.
    pub detail: String,
    /// Created.
    pub created_ns: i64,
    /// Last changed.
    pub updated_ns: i64,
}

/// A signal of the session.
#[derive(Clone, Debug, Serialize)]
pub struct SignalView {
    /// Strategy.
    pub strategy: String,
    /// Run slot.
    pub slot: String,
    /// Start of the signal bar.
    pub bar_ns: i64,
    /// Ticker.
    pub symbol: String,
    /// `enter`, `exit`, `enter_short`.
    pub side: String,
    /// Entry strength.
    pub strength: f64,
    /// The signal bar's close.
    pub price: f64,
    /// `pending`, `order`, `refused` or `ignored`.
    pub action: String,
    /// Why.
    pub detail: String,
    /// The order it became.
    pub client_order_id: Option<String>,
}

/// A strategy's run.
#[derive(Clone, Debug, Serialize)]
pub struct RunView {
    /// Slot (`YYYY-MM-DDTHH:MM`, New York).
    pub slot: String,
    /// `planned`, `exits_sent`, `done`, `skipped`, `missed` or `failed`.
    pub status: String,
    /// Why.
    pub detail: String,
    /// Finished (or started).
    pub time_ns: i64,
}

/// One strategy's state.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyView {
    /// Id (or `manual`).
    pub strategy: String,
    /// Fraction of the account it trades.
    pub allocation: Option<f64>,
    /// Its sleeve's cash.
    pub cash: Option<Decimal>,
    /// Positions held.
    pub positions: usize,
    /// Their value at the marks (at cost where unmarked).
    pub market_value: Decimal,
    /// Their unrealised P&L.
    pub unrealised: Decimal,
    /// The latest run.
    pub last_run: Option<RunView>,
    /// The session's runs by status.
    pub runs_today: BTreeMap<String, u64>,
}

impl StrategyView {
    /// A strategy with nothing known yet.
    pub fn new(strategy: String) -> StrategyView {
        StrategyView {
            strategy,
            allocation: None,
            cash: None,
            positions: 0,
            market_value: Decimal::ZERO,
            unrealised: Decimal::ZERO,
            last_run: None,
            runs_today: BTreeMap::new(),
        }
    }

    /// Counts one of its positions.
    pub fn add_position(&mut self, p: &PositionView) {
        self.positions += 1;
        self.market_value += p.market_value.unwrap_or(p.cost);
        self.unrealised += p.unrealised.unwrap_or_default();
    }
}

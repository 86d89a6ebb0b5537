//! A ready-made replay for tests: a synthetic market served by the fake, a promoted
//! `gap_fill` strategy over its minute-bar symbols, a config pointing the service at both, and
//! the fills to compare: the kernel's backtest's and the broker's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use datasets::synth::{SynthConfig, Universe};
use datasets::{AssetClass, Timeframe, Timestamp, calendar};
use kernel::sim::{ExitReason, SizingPrice, TradeRules};
use kernel::strategy::{
    GapFill, MarketData, Params, RunResult, Strategy, SymbolData, VolManagedMomentum, backtest_source_window,
};
use promoted::{PromotedDir, PromotedStrategy};
use rust_decimal::prelude::ToPrimitive;

use super::FakeAlpaca;
use crate::alpaca::model::OrderSide;
use crate::alpaca::{Client, Credentials};
use crate::clock::SimulatedClock;
use crate::config::LiveConfig;
use crate::schedule::new_york;
use crate::service::{Bridge, Ended};

/// The replayed session: the last of the synthetic universe's two minute-bar sessions.
pub fn replay_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date")
}

/// A small synthetic universe ending on [`replay_date`], with two sessions of minute bars.
pub fn universe(stocks: usize) -> Universe {
    let config = SynthConfig {
        symbols: stocks,
        years: 1,
        seed: 7,
        end: replay_date(),
        minute_days: 2,
        minute_symbols: None,
        ..SynthConfig::default()
    };
    Universe::new(&config).expect("a valid synthetic config")
}

/// The universe's tradable symbols with minute bars, as aligned 1-minute market data.
pub fn minute_data(universe: &Universe) -> MarketData {
    let symbols = universe
        .symbols()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.asset_class != AssetClass::Index)
        .filter_map(|(i, m)| universe.minute(i).map(|bars| SymbolData { meta: m.clone(), bars }))
        .collect();
    MarketData::new(Timeframe::Min1, symbols).expect("synthetic minute bars are aligned")
}

/// The universe's tradable minute-bar symbols as the IEX feed serves them: no bar for a minute
/// in which the symbol did not trade. Stock `k` (in universe order) misses the session minutes
/// `m` with `(7m + 3k) mod 11 = 0` (about one in eleven, never all stocks at once), and no
/// stock trades in the `quiet` minutes (New York times) of any session. Align them
/// ([`MarketData::align`]) for the backtest, as the bridge does; serve them as they are.
pub fn iex_minutes(universe: &Universe, quiet: &[chrono::NaiveTime]) -> Vec<SymbolData> {
    let kept = |k: usize, t: i64| {
        let at = Timestamp(t);
        let Some(session) = calendar::session(calendar::session_date(at)) else { return true };
        let minute = (t - session.open.0) / datasets::time::NANOS_PER_MIN;
        let clock = calendar::to_new_york(at).time();
        (7 * minute + 3 * k as i64) % 11 != 0 && !quiet.contains(&clock)
    };
    minute_data(universe)
        .symbols()
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let bars = s.bars.iter().filter(|b| kept(k, b.ts.0));
            SymbolData { meta: s.meta.clone(), bars: datasets::Bars::from_bars(bars).expect("valid bars") }
        })
        .collect()
}

/// `data` with every price rounded to the cent, as real quotes are: on such prices a stop
/// rounded down (a take-profit up) to the cent triggers on exactly the kernel's bars.
pub fn on_ticks(data: &MarketData) -> MarketData {
    let cent = |x: f64| (x * 100.0).round() / 100.0;
    let symbols = data
        .symbols()
        .iter()
        .map(|s| {
            let bars = s.bars.iter().map(|b| datasets::Bar {
                open: cent(b.open),
                high: cent(b.high),
                low: cent(b.low),
                close: cent(b.close),
                ..b
            });
            SymbolData { meta: s.meta.clone(), bars: datasets::Bars::from_bars(bars).expect("valid bars") }
        })
        .collect();
    MarketData::new(data.timeframe(), symbols).expect("the same alignment")
}

/// Serves every symbol's daily bars and minute bars.
pub fn serve(fake: &FakeAlpaca, universe: &Universe) {
    for (i, meta) in universe.symbols().iter().enumerate() {
        fake.add_bars(&meta.symbol, Timeframe::Day1, universe.daily(i));
        if let Some(bars) = universe.minute(i) {
            fake.add_bars(&meta.symbol, Timeframe::Min1, bars);
        }
    }
}

/// The rules the replay trades with: the kernel's defaults, sized at the signal bar's close
/// (the only price known when a live order is sent).
pub fn rules() -> TradeRules {
    TradeRules { sizing_price: SizingPrice::SignalClose, ..TradeRules::default() }
}

/// `gap_fill` with gaps from 0.1 % up, on `data`'s symbols: the strategy the replay runs.
pub fn gap_fill(data: &MarketData, allocation: f64) -> PromotedStrategy {
    let strategy: &dyn Strategy = &GapFill;
    let params = Params::parse(strategy.space(), ["min_gap=0.001", "max_gap=0.08", "exit_minute=240"])
        .expect("valid params");
    PromotedStrategy::builtin("gap_fill", strategy, &params, data, rules(), allocation, "replay test")
}

/// `vol_managed_momentum` (60-bar lookback, allocation 0.4, id `momentum`) on the daily bars of
/// the universe's stocks: a daily strategy that holds overnight.
pub fn daily_momentum(universe: &Universe) -> (MarketData, PromotedStrategy) {
    let symbols = universe
        .symbols()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.symbol.starts_with('S') && m.symbol != "SPY" && m.symbol != "SHY")
        .map(|(i, m)| SymbolData { meta: m.clone(), bars: universe.daily(i) })
        .collect();
    let data = MarketData::new(Timeframe::Day1, symbols).expect("synthetic daily bars are aligned");
    let strategy: &dyn Strategy = &VolManagedMomentum;
    let params = Params::parse(strategy.space(), ["lookback=60"]).expect("valid params");
    let promoted =
        PromotedStrategy::builtin("momentum", strategy, &params, &data, rules(), 0.4, "replay test");
    (data, promoted)
}

/// Writes `strategies` as the current promoted set in `dir`.
pub fn promote(dir: &Path, strategies: Vec<PromotedStrategy>) {
    PromotedDir::new(dir).commit(strategies, "replay test", 0).expect("a valid promoted set");
}

/// The universe with `stocks` stocks, its minute data, and its `gap_fill` strategy (allocation
/// 0.5) promoted under `root/promoted`.
pub fn promoted_gap_fill(root: &Path, stocks: usize) -> (Universe, MarketData, PromotedStrategy) {
    let universe = universe(stocks);
    let data = minute_data(&universe);
    let strategy = gap_fill(&data, 0.5);
    promote(&root.join("promoted"), vec![strategy.clone()]);
    (universe, data, strategy)
}

/// 07:55 New York on the replay date: before PRE_MARKET.
pub fn replay_start() -> Timestamp {
    new_york(replay_date(), chrono::NaiveTime::from_hms_opt(7, 55, 0).expect("valid time"))
}

/// The config text replaying one session from [`replay_start`] with data under `root`, the
/// broker at `fake`: fast polling, short timeouts, and `extra` TOML appended (e.g. a
/// `[strategies.gap_fill]` section).
pub fn config_toml(root: &Path, fake: &FakeAlpaca, extra: &str) -> String {
    let e = fake.endpoints();
    // A replayed day sends a day's requests in seconds: lift the per-minute budget on both sides.
    fake.set_rate_limit(1_000_000);
    let start = calendar::to_new_york(replay_start()).to_rfc3339();
    format!(
        r#"[alpaca]
timeout_secs = 2.0
requests_per_minute = 1000000
backoff_ms = 5
[alpaca.paper]
trading = "{trading}"
data = "{data}"
stream = "{stream}"
[service]
data_dir = "{live}"
promoted = "{promoted}"
fill_timeout_secs = 2.0
poll_secs = 0.02
shutdown_grace_secs = 5.0
[replay]
start = "{start}"
sessions = 1
{extra}"#,
        trading = e.trading,
        data = e.data,
        stream = e.stream,
        live = root.join("live").display(),
        promoted = root.join("promoted").display(),
    )
}

/// [`config_toml`] parsed.
pub fn config(root: &Path, fake: &FakeAlpaca) -> LiveConfig {
    LiveConfig::parse(&config_toml(root, fake, "")).expect("the scenario config is valid")
}

/// Runs the service on `config` against the paper endpoints until its replayed session ends
/// (panics unless it ends with [`Ended::ReplayDone`] within 300 s).
pub async fn run_day(config: &LiveConfig, clock: Arc<SimulatedClock>) {
    let credentials = Credentials::new("PK", "S");
    let client =
        Arc::new(Client::new(config.alpaca.client_config(true), credentials).expect("a valid client"));
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let bridge = Bridge::new(config.clone(), client, clock, shutdown).expect("the service starts");
    let ended = tokio::time::timeout(Duration::from_secs(300), bridge.run()).await;
    let ended = ended.expect("the replay ends within 300 s").expect("the replay runs");
    assert_eq!(ended, Ended::ReplayDone);
}

/// One fill, as the kernel's backtest or the broker made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    /// Start of the bar it filled in (UTC ns).
    pub time: i64,
    /// Ticker.
    pub symbol: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Shares.
    pub qty: f64,
    /// Price.
    pub price: f64,
    /// Why: the kernel's exit reason (`entry` for buys), or the broker's order type.
    pub why: String,
}

fn sorted(mut fills: Vec<Fill>) -> Vec<Fill> {
    fills.sort_by(|a, b| (a.time, &a.symbol, a.side as u8).cmp(&(b.time, &b.symbol, b.side as u8)));
    fills
}

/// Every fill the kernel's backtest of `strategy` makes on the bars `window` of `data` from
/// `cash`, sized at the signal bar's close as the bridge does — entries and exits, except the
/// closing of what is still open after the last bar.
pub fn kernel_fills(
    data: &MarketData,
    strategy: &PromotedStrategy,
    cash: f64,
    window: std::ops::Range<usize>,
) -> Vec<Fill> {
    let runnable = strategy.resolve().expect("a valid strategy");
    let rules = TradeRules { sizing_price: SizingPrice::SignalClose, ..strategy.rules };
    let bt = backtest_source_window(runnable.source(), data, rules, cash, window).expect("the backtest runs");
    let RunResult::Portfolio(result) = bt.result else { panic!("several legs run as a portfolio") };
    let mut fills = Vec::new();
    for leg in &result.sleeves[0].legs {
        for t in &leg.activity.trades {
            let symbol = leg.symbol.clone();
            let (qty, why) = (t.qty, "entry".to_string());
            fills.push(Fill {
                time: t.entry_time.0,
                symbol,
                side: OrderSide::Buy,
                qty,
                price: t.entry_price,
                why,
            });
            if t.exit_reason != ExitReason::EndOfData {
                let (symbol, why) = (leg.symbol.clone(), format!("{:?}", t.exit_reason));
                fills.push(Fill {
                    time: t.exit_time.0,
                    symbol,
                    side: OrderSide::Sell,
                    qty,
                    price: t.exit_price,
                    why,
                });
            }
        }
    }
    sorted(fills)
}

/// Every fill of the broker's orders whose `client_order_id` starts with `prefix`, at its fill
/// time (an oco's through whichever leg filled).
pub fn broker_fills(fake: &FakeAlpaca, prefix: &str) -> Vec<Fill> {
    let mut fills = Vec::new();
    for o in fake.orders().iter().filter(|o| o.client_order_id.starts_with(prefix)) {
        let (qty, avg) = o.filled_with_legs();
        if qty.is_zero() {
            continue;
        }
        let mut parts = std::iter::once(o).chain(o.legs.iter().flatten());
        let filled = parts.rfind(|p| !p.filled_qty.is_zero()).expect("a filled part");
        let at = filled.filled_at.as_deref().expect("a fill time");
        let at = chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339");
        let at = Timestamp::from_datetime(at.into()).expect("in range").0;
        fills.push(Fill {
            // The start of the minute bar it filled in (a run reads its bars after they settle,
            // so its orders fill some seconds into the minute).
            time: at - at.rem_euclid(datasets::time::NANOS_PER_MIN),
            symbol: o.symbol.clone(),
            side: o.side,
            qty: qty.to_f64().unwrap_or_default(),
            price: avg.and_then(|p| p.to_f64()).unwrap_or_default(),
            why: format!("{} {}", o.order_class, filled.order_type).trim().to_string(),
        });
    }
    sorted(fills)
}

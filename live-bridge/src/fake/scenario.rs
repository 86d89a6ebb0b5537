//! A ready-made replay for tests: a synthetic market served by the fake, a promoted
//! `gap_fill` strategy over its minute-bar symbols, and a config pointing the service at both.

use std::path::Path;

use chrono::NaiveDate;
use datasets::synth::{SynthConfig, Universe};
use datasets::{AssetClass, Timeframe, Timestamp, calendar};
use kernel::sim::{SizingPrice, TradeRules};
use kernel::strategy::{GapFill, MarketData, Params, Strategy, SymbolData, VolManagedMomentum};
use promoted::{PromotedDir, PromotedStrategy};

use super::FakeAlpaca;
use crate::config::LiveConfig;
use crate::schedule::new_york;

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

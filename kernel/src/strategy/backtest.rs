//! One call from a strategy and its parameters to simulated fills and metrics.

use std::num::NonZeroUsize;
use std::ops::Range;

use super::{MarketData, Params, SignalSet, SignalSource, Strategy, StrategyError, generate};
use crate::metrics::{Metrics, MetricsConfig, MetricsInput, TradeList};
use crate::sim::{
    Leg, LengthMismatch, PortfolioConfig, PortfolioError, PortfolioResult, RulesError, SimResult, Simulator,
    Sleeve, TradeRules, run_portfolio,
};

/// The simulation behind a backtest: one leg runs alone, several as one portfolio sleeve.
#[derive(Clone, Debug, PartialEq)]
pub enum RunResult {
    /// A single-symbol run through [`Simulator`].
    Single(SimResult),
    /// A multi-symbol run through [`run_portfolio`], one sleeve holding every leg.
    Portfolio(PortfolioResult),
}

impl RunResult {
    /// The account's equity at each bar.
    pub fn equity(&self) -> &[f64] {
        match self {
            RunResult::Single(r) => &r.equity,
            RunResult::Portfolio(r) => &r.equity,
        }
    }
}

/// A finished backtest: the signals, the simulation and its metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Backtest {
    /// What the strategy asked for.
    pub signals: SignalSet,
    /// What the simulator did with it.
    pub result: RunResult,
    /// Headline statistics of the account.
    pub metrics: Metrics,
}

impl Backtest {
    /// Time-averaged share of the equity held in positions
    /// ([`capital_at_work`](crate::metrics::capital_at_work)); `data` must be the data the
    /// backtest ran on.
    pub fn capital_at_work(&self, data: &MarketData) -> f64 {
        let close = |leg: usize| data.symbols()[self.signals.legs[leg].symbol].bars.close();
        match &self.result {
            RunResult::Single(r) => crate::metrics::capital_at_work(&r.equity, [(close(0), &r.activity)]),
            RunResult::Portfolio(r) => crate::metrics::capital_at_work(
                &r.equity,
                r.sleeves.iter().flat_map(|s| &s.legs).enumerate().map(|(k, leg)| (close(k), &leg.activity)),
            ),
        }
    }
}

/// A backtest that could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The strategy rejected its parameters or data.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    /// The rules or the cash are out of range.
    #[error(transparent)]
    Config(#[from] RulesError),
    /// The portfolio could not be assembled.
    #[error(transparent)]
    Portfolio(#[from] PortfolioError),
    /// A leg's signals do not match its bars (a strategy bug).
    #[error(transparent)]
    Length(#[from] LengthMismatch),
    /// The strategy gave no leg to trade: the data holds no tradable symbol (indices such as
    /// VIX are not traded).
    #[error(
        "{strategy}: nothing to trade: the data has no tradable symbol (an index such as VIX cannot be traded)"
    )]
    NoLegs {
        /// Strategy name.
        strategy: String,
    },
}

/// Generates `strategy`'s signals on `data` and simulates them with `rules` from `cash`.
///
/// One leg goes through [`Simulator`]; several through [`run_portfolio`] as a single sleeve
/// with the whole account (allocation 1, no rebalancing) and the strategy's
/// [`max_positions`](Strategy::max_positions): each entry is sized on the sleeve's equity
/// divided by that limit, or by the number of legs when there is none. Metrics annualise by the data's timeframe and the first leg's asset
/// class, and benchmark buy-and-hold against the first leg's closes.
pub fn backtest(
    strategy: &dyn Strategy,
    params: &Params,
    data: &MarketData,
    rules: TradeRules,
    cash: f64,
) -> Result<Backtest, BacktestError> {
    let signals = generate(strategy, params, data)?;
    simulate(strategy, params, data, signals, rules, cash)
}

/// Like [`backtest`], but trades only the bars in `window`, starting from `cash` at its first
/// bar: an out-of-sample evaluation.
///
/// Signals are computed on the whole of `data` — a strategy reads only bars up to its signal's
/// own bar, so the bars after `window` cannot leak into it, while the bars before it warm the
/// indicators up exactly as they would have in live trading.
///
/// # Panics
/// When `window` is empty or reaches past the last bar.
pub fn backtest_window(
    strategy: &dyn Strategy,
    params: &Params,
    data: &MarketData,
    rules: TradeRules,
    cash: f64,
    window: Range<usize>,
) -> Result<Backtest, BacktestError> {
    let mut signals = generate(strategy, params, data)?;
    for leg in &mut signals.legs {
        leg.signals = leg.signals.slice(window.clone());
    }
    simulate(strategy, params, &data.slice(window), signals, rules, cash)
}

/// Like [`backtest`] for any [`SignalSource`] (a bound family, a genome): its signals on
/// `data` simulated under `rules` from `cash`, its legs trading under its name and
/// [`max_positions`](SignalSource::max_positions). For a [`Bound`](super::Bound) family this is
/// [`backtest`] of its family and parameters, bit for bit.
pub fn backtest_source(
    source: &dyn SignalSource,
    data: &MarketData,
    rules: TradeRules,
    cash: f64,
) -> Result<Backtest, BacktestError> {
    let signals = source.signals(data)?;
    backtest_signals(source.name(), data, signals, rules, cash, source.max_positions(data))
}

/// Like [`backtest_window`] for any [`SignalSource`]: signals on the whole of `data`, trades
/// on the bars of `window` only.
///
/// # Panics
/// When `window` is empty or reaches past the last bar.
pub fn backtest_source_window(
    source: &dyn SignalSource,
    data: &MarketData,
    rules: TradeRules,
    cash: f64,
    window: Range<usize>,
) -> Result<Backtest, BacktestError> {
    let mut signals = source.signals(data)?;
    for leg in &mut signals.legs {
        leg.signals = leg.signals.slice(window.clone());
    }
    let data = data.slice(window);
    backtest_signals(source.name(), &data, signals, rules, cash, source.max_positions(&data))
}

/// Simulates `signals` (one per bar of `data` for each leg) and computes the metrics.
fn simulate(
    strategy: &dyn Strategy,
    params: &Params,
    data: &MarketData,
    signals: SignalSet,
    rules: TradeRules,
    cash: f64,
) -> Result<Backtest, BacktestError> {
    let max_positions = strategy.max_positions(params, data);
    let rules = match strategy.own_exits(params) {
        Some(exits) => TradeRules { exits, ..rules },
        None => rules,
    };
    backtest_signals(strategy.name(), data, signals, rules, cash, max_positions)
}

/// Simulates precomputed `signals` (one per bar of `data` for each leg) exactly as
/// [`backtest`] simulates a strategy's: one leg alone, several as one sleeve called `name`
/// holding at most `max_positions` (default: one per leg). For signals that come from
/// elsewhere than a registry strategy, e.g. a GP genome or a promoted strategy.
///
/// Each leg trades only while its symbol is listed ([`SignalColumn::restrict`](crate::sim::SignalColumn::restrict)): held before
/// its listing, exited at its last bar.
///
/// Fails with [`BacktestError::NoLegs`] when `signals` has no leg.
pub fn backtest_signals(
    name: &str,
    data: &MarketData,
    mut signals: SignalSet,
    rules: TradeRules,
    cash: f64,
    max_positions: Option<NonZeroUsize>,
) -> Result<Backtest, BacktestError> {
    for leg in &mut signals.legs {
        leg.signals = std::mem::take(&mut leg.signals).restrict(data.listed(leg.symbol));
    }
    let Some(first) = signals.legs.first().map(|leg| &data.symbols()[leg.symbol]) else {
        return Err(BacktestError::NoLegs { strategy: name.to_string() });
    };
    let config = MetricsConfig::new(data.timeframe(), first.meta.asset_class);
    let (result, metrics) = match signals.legs.as_slice() {
        [leg] => {
            let result = Simulator::new(cash, rules)?.run(&first.bars, &leg.signals)?;
            let metrics = Metrics::compute(&MetricsInput::from_sim(&result, &first.bars), &config);
            (RunResult::Single(result), metrics)
        }
        legs => {
            let legs = legs
                .iter()
                .map(|l| {
                    let s = &data.symbols()[l.symbol];
                    Leg { symbol: &s.meta.symbol, bars: &s.bars, signals: (&l.signals).into() }
                })
                .collect();
            let sleeve = Sleeve { name, allocation: 1.0, rules, legs, max_positions };
            let config_p = PortfolioConfig { initial_cash: cash, rebalance_every: None::<NonZeroUsize> };
            let result = run_portfolio(&config_p, &[sleeve])?;
            let trades = result.trades_by_exit();
            let input = MetricsInput {
                initial_equity: cash,
                equity: &result.equity,
                timestamps: data.timestamps(),
                trades: TradeList::Refs(&trades),
                exposed_bars: result.exposed_bars,
                traded_notional: result.traded_notional(),
                benchmark_close: first.bars.close(),
            };
            let metrics = Metrics::compute(&input, &config);
            (RunResult::Portfolio(result), metrics)
        }
    };
    Ok(Backtest { signals, result, metrics })
}

//! The strategy library: long-only rule families with typed parameter spaces.
//!
//! A [`Strategy`] turns [`MarketData`] into one [`Signal`] per bar for each symbol it trades
//! (a leg), reading only bars up to and including the signal's own bar; the simulator fills
//! it at the next bar. [`generate`] checks the parameters first; [`backtest`] then runs the
//! legs through [`Simulator`](crate::sim::Simulator) (one leg) or
//! [`run_portfolio`](crate::sim::run_portfolio) (several) and computes [`Metrics`](crate::metrics::Metrics).
//! [`registry`] lists every built-in strategy.
//!
//! A family ([`Strategy`]) describes itself through hooks written in its own file: its
//! parameter space and rules, its default live time ([`Strategy::cadence`]), what a live run
//! records beside its signals ([`Strategy::diagnostics`]) and a fast sweep path
//! ([`Strategy::fast_grid`]). Bound to parameters ([`Bound`]) it is a [`SignalSource`], the one
//! thing backtests, promoted strategies and the live bridge run; a GP genome is another.
//!
//! | name | universe | rule |
//! |---|---|---|
//! | `sma_cross` | each tradable symbol | enter when the fast SMA crosses above the slow, exit when it crosses below |
//! | `mean_reversion` | each tradable symbol | enter when the z-score is below −entry_z and RSI oversold, exit at z ≥ exit_z |
//! | `relative_volume_breakout` | each tradable symbol | close above the prior N-bar high on relative volume > k; exit below the prior M-bar low |
//! | `gap_fill` | each tradable symbol, 1Min | buy a gap down between 09:31 and 11:30 New York once it turns up; exit on fill or time |
//! | `vix_regime_rotation` | VIX, SPY, TLT/GLD/SHY | SPY in calm/normal regimes, the single defensive with the best trailing return in stressed/crisis (re-ranked on switches and month starts) |
//! | `vol_managed_momentum` | each tradable symbol | long while momentum > 0, strength min(1, target vol / realised vol) |
//! | `factor_momentum` | equities | hold the top k by 12−1 month momentum, rebalanced monthly |
//! | `sector_rotation` | sector ETFs | hold the top k sectors by momentum, rebalanced monthly |
//! | `quality_smallcap_value` | equities with fundamentals | hold the top k by size, value and quality scores |
//! | `pairs` | — | needs a short leg: refuses on a cash account |

mod backtest;
mod breakout;
mod data;
mod gap_fill;
mod mean_reversion;
mod momentum;
mod pairs;
mod params;
mod ranking;
mod rotation;
mod select;
mod sma_cross;
mod source;
#[cfg(test)]
mod tests;

use std::num::NonZeroUsize;

use datasets::{Bars, Timestamp};

use crate::indicators::IndicatorError;
use crate::metrics::{Figures, MetricsConfig};
use crate::sim::{ExitRules, Signal, SignalColumn, Simulator, Strength};
use crate::sweep::SweepError;

pub use backtest::{
    Backtest, BacktestError, RunResult, backtest, backtest_signals, backtest_source, backtest_source_window,
    backtest_window,
};
pub use breakout::RelativeVolumeBreakout;
pub use data::{DataError, Dropped, MarketData, Overlap, SymbolData, data_hash};
pub use gap_fill::GapFill;
pub use mean_reversion::MeanReversion;
pub use momentum::VolManagedMomentum;
pub use pairs::{PAIRS_REFUSAL, Pairs};
pub use params::{ParamError, ParamKind, ParamLiteral, ParamSpace, ParamSpec, ParamValue, Params};
pub use ranking::{FactorMomentum, QualitySmallcapValue, SectorRotation};
pub use rotation::VixRegimeRotation;
pub use sma_cross::SmaCross;
pub use source::{Bound, Cadence, Diagnostic, SignalSource};

/// A family of trading rules with a parameter space: the descriptor of everything the rest of
/// the workspace may need to know about it. Object-safe, so the registry can list them all.
pub trait Strategy: Send + Sync {
    /// Registry name, e.g. `sma_cross`.
    fn name(&self) -> &'static str;

    /// One line on what it does.
    fn description(&self) -> &'static str;

    /// Its tunable parameters.
    fn space(&self) -> &'static ParamSpace;

    /// True when the strategy needs a short leg, which a cash account cannot provide.
    fn needs_short(&self) -> bool {
        false
    }

    /// Why a backtest of the strategy on `data` is not point in time, if it is not: it reads
    /// an input with no date (e.g. one fundamentals snapshot for the whole history, when the
    /// store has no dated reports), so its past decisions see today's values. The nightly
    /// verdict refuses to enable such a strategy.
    fn not_point_in_time(&self, _data: &MarketData) -> Option<&'static str> {
        None
    }

    /// Rules between parameters that the space's per-parameter bounds cannot express.
    fn validate(&self, _params: &Params) -> Result<(), ParamError> {
        Ok(())
    }

    /// The most positions the strategy holds at once on `data`'s universe (never its prices),
    /// e.g. `top_k` for a ranked strategy; a portfolio backtest sizes each entry on that share of
    /// the equity. `None`, the default, sizes each leg on an equal share of all the legs.
    fn max_positions(&self, _params: &Params, _data: &MarketData) -> Option<NonZeroUsize> {
        None
    }

    /// The legs' signals for `data`; call through [`generate`] or a [`Bound`], which validate
    /// `params` first.
    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError>;

    /// When it runs live on a trading day by default; `None` when it cannot run live.
    fn cadence(&self) -> Option<Cadence>;

    /// The protective exits `params` carry themselves (a strategy file's stop-loss, take-profit
    /// and time-stop), which replace the rules' exits in every backtest of the strategy; `None`,
    /// the default, trades under the rules given.
    fn own_exits(&self, _params: &Params) -> Option<ExitRules> {
        None
    }

    /// Observations a live run records beside the signals of `data`'s last bar
    /// ([`SignalSource::diagnostics`]); none by default.
    fn diagnostics(&self, _params: &Params, _data: &MarketData) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// A fast sweep of every combination of `combos` (valid parameters of this family) on one
    /// symbol's `bars` under `sim`'s cash and rules, in `combos`' order; `Ok(None)` when the
    /// family has no such path or it does not pay on these combinations. The caller checks that
    /// the rules carry no protective exits. A fast path computes the trades, final equity, total
    /// return, Sharpe ratio and maximum drawdown, each equal to [`backtest`]'s bit for bit; its
    /// other [`Figures`] are missing (NaN).
    fn fast_grid(
        &self,
        _bars: &Bars,
        _combos: &[Params],
        _sim: &Simulator,
        _metrics: &MetricsConfig,
    ) -> Result<Option<Vec<Figures>>, SweepError> {
        Ok(None)
    }
}

/// A strategy that cannot run on the data or parameters given.
#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
    /// Bad parameters.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// Parameters built for another strategy's space.
    #[error("{strategy}: the parameters belong to another space (expected: {expected})")]
    WrongSpace {
        /// Strategy name.
        strategy: &'static str,
        /// The strategy's parameter names.
        expected: String,
    },
    /// Bars of a timeframe the strategy is not defined on.
    #[error("{strategy} needs {needs} bars, got {found}")]
    Timeframe {
        /// Strategy name.
        strategy: &'static str,
        /// What it needs, e.g. `1Min`.
        needs: &'static str,
        /// The data's timeframe.
        found: datasets::Timeframe,
    },
    /// No symbol in the data fits the strategy's universe.
    #[error("{strategy}: the data has no {what}")]
    MissingSymbols {
        /// Strategy name.
        strategy: &'static str,
        /// What is missing, e.g. `symbol VIX`.
        what: String,
    },
    /// The strategy needs a short leg and the account is a cash account.
    #[error("{strategy} refuses to run on a cash account: {why}")]
    NeedsShortLeg {
        /// Strategy name.
        strategy: &'static str,
        /// Why a long-only version would not be the same strategy.
        why: &'static str,
    },
    /// An indicator rejected its arguments (a strategy bug once parameters are validated).
    #[error(transparent)]
    Indicator(#[from] IndicatorError),
    /// A signal source that is not a family (a GP genome) could not run.
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync>),
}

/// One traded symbol's signals, one per bar of the data.
#[derive(Clone, Debug, PartialEq)]
pub struct LegSignals {
    /// Position of the symbol in [`MarketData::symbols`].
    pub symbol: usize,
    /// One signal per bar, stored by runs of equal signals: a universe's legs cost memory in
    /// proportion to how often their signals change, not legs × bars.
    pub signals: SignalColumn,
}

/// Everything a strategy decided over a run: its legs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignalSet {
    /// The legs, in the data's symbol order.
    pub legs: Vec<LegSignals>,
}

/// What a stored signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignalSide {
    /// Open a long position.
    Enter,
    /// Close the long position.
    Exit,
    /// Open a short position (refused by a cash account).
    EnterShort,
}

/// A non-`Hold` signal in a form that can be stored and compared across runs.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSignal {
    /// Start time of the bar the signal was computed at (it fills no earlier than the next bar).
    pub time: Timestamp,
    /// Ticker.
    pub symbol: String,
    /// What it asks for.
    pub side: SignalSide,
    /// Share of the sizing budget for an entry, in `(0, 1]`; 1 for exits.
    pub strength: f64,
    /// Strategy name.
    pub strategy: &'static str,
    /// [`Params::hash`] of the parameters that produced it.
    pub param_hash: u64,
}

impl SignalSet {
    /// Every non-`Hold` signal as a [`StoredSignal`], in time order then leg order.
    pub fn stored(&self, data: &MarketData, strategy: &'static str, param_hash: u64) -> Vec<StoredSignal> {
        let mut out = Vec::new();
        let mut legs: Vec<_> = self.legs.iter().map(|leg| (leg.symbol, leg.signals.iter())).collect();
        for t in 0..data.len() {
            for (symbol, signals) in &mut legs {
                let (side, strength) = match signals.next().expect("one signal per bar") {
                    Signal::Hold => continue,
                    Signal::Enter(s) => (SignalSide::Enter, s.get()),
                    Signal::Exit => (SignalSide::Exit, 1.0),
                    Signal::EnterShort => (SignalSide::EnterShort, 1.0),
                };
                let symbol = data.symbols()[*symbol].meta.symbol.clone();
                out.push(StoredSignal { time: data.time(t), symbol, side, strength, strategy, param_hash });
            }
        }
        out
    }
}

/// Checks `params` against `strategy`'s space and rules, then computes its signals.
pub fn generate(
    strategy: &dyn Strategy,
    params: &Params,
    data: &MarketData,
) -> Result<SignalSet, StrategyError> {
    check_params(strategy, params)?;
    strategy.signals(params, data)
}

/// Checks that `params` belong to `strategy`'s space and pass its rules between parameters.
fn check_params(strategy: &dyn Strategy, params: &Params) -> Result<(), StrategyError> {
    if !std::ptr::eq(params.space(), strategy.space()) && params.space() != strategy.space() {
        let expected = strategy.space().specs().iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
        return Err(StrategyError::WrongSpace { strategy: strategy.name(), expected });
    }
    Ok(strategy.validate(params)?)
}

/// `Exit` when `exit`, else `Enter(FULL)` when `enter`, else `Hold`; picked from a table, not by
/// branching, because per-bar conditions on market data are coin flips a branch mispredicts.
#[inline]
fn exit_or_enter(exit: bool, enter: bool) -> Signal {
    const BY_CODE: [Signal; 4] = [Signal::Hold, Signal::Enter(Strength::FULL), Signal::Exit, Signal::Exit];
    BY_CODE[usize::from(exit) << 1 | usize::from(enter)]
}

/// Runs `rule` on every tradable symbol's bars on its own: the legs of a per-symbol strategy,
/// each held before its listing and exited at its last bar ([`SignalColumn::restrict`]).
/// `rule` may keep buffers between calls: every symbol has [`MarketData::len`] bars.
fn per_symbol(
    strategy: &'static str,
    data: &MarketData,
    mut rule: impl FnMut(&SymbolData) -> Result<Vec<Signal>, StrategyError>,
) -> Result<SignalSet, StrategyError> {
    let legs = data
        .tradable()
        .map(|i| {
            let signals = SignalColumn::from(rule(&data.symbols()[i])?).restrict(data.listed(i));
            Ok(LegSignals { symbol: i, signals })
        })
        .collect::<Result<Vec<_>, StrategyError>>()?;
    if legs.is_empty() {
        return Err(StrategyError::MissingSymbols { strategy, what: "tradable symbol".into() });
    }
    Ok(SignalSet { legs })
}

static REGISTRY: [&dyn Strategy; 10] = [
    &SmaCross,
    &MeanReversion,
    &RelativeVolumeBreakout,
    &GapFill,
    &VixRegimeRotation,
    &VolManagedMomentum,
    &FactorMomentum,
    &SectorRotation,
    &QualitySmallcapValue,
    &Pairs,
];

/// Every built-in strategy, in a fixed order.
pub fn registry() -> &'static [&'static dyn Strategy] {
    &REGISTRY
}

/// The built-in strategy called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Strategy> {
    REGISTRY.iter().copied().find(|s| s.name() == name)
}

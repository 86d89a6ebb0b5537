//! The SMA-cross grid: every `fast < slow` pair of a window range, exact against [`Simulator`].
//!
//! Each window's SMA of the close is computed once and shared by every pair that uses it. A pair
//! then runs as a jump from cross to cross: flat stretches cost nothing (equity is constant
//! cash, every return exactly 0), and a held stretch is one tight loop over contiguous closes
//! accumulating the equity curve's statistics. Fills, sizing and costs come from the simulator's
//! fill core (`sim::fill`), asked in the simulator's order, so every figure equals
//! `Simulator::run` + [`Metrics::compute`](crate::metrics::Metrics::compute) on
//! [`cross_signals_into`](super::cross_signals_into) signals bit for bit.

use std::ops::RangeInclusive;

use datasets::Bars;

use super::cross::next_cross_above;
use super::parallel::evaluate_all;
use crate::indicators::{IndicatorError, sma_into};
use crate::metrics::{MetricsConfig, ReturnMoments};
use crate::sim::fill::{self, Holding, Prices};
use crate::sim::{ExitRules, FillTiming, Simulator, Strength, TradeRules};

/// One `(fast, slow)` pair's outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridResult {
    /// Fast SMA window.
    pub fast: usize,
    /// Slow SMA window (`> fast`).
    pub slow: usize,
    /// `final_equity / initial_cash − 1`, as [`Metrics::total_return`](crate::metrics::Metrics).
    pub total_return: f64,
    /// Annualised Sharpe ratio, as [`Metrics::sharpe`](crate::metrics::Metrics).
    pub sharpe: f64,
    /// Deepest drawdown (negative fraction), as [`Metrics::max_drawdown`](crate::metrics::Metrics).
    pub max_drawdown: f64,
    /// Closed round trips (a position closed at the end counts when the rules close it).
    pub trades: usize,
    /// Equity at the last bar's close.
    pub final_equity: f64,
}

/// Rules or windows the fast sweep cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// A protective exit is set; the fast path models signal exits only.
    #[error(
        "the SMA-cross sweep does not model protective exits: `exits.{field}` must be None (run such rules through Simulator)"
    )]
    UnsupportedExit {
        /// The exit rule that is set: `stop_loss`, `take_profit`, `trailing_stop` or `max_bars`.
        field: &'static str,
    },
    /// A window the SMA rejects (0).
    #[error(transparent)]
    Window(#[from] IndicatorError),
}

/// Runs the long-only SMA-cross on `bars` for every pair `fast < slow` of `windows`, in parallel,
/// sorted by `(fast, slow)`; identical at any thread count.
///
/// The strategy is the one [`cross_signals_into`](super::cross_signals_into) defines on
/// `sma(close, fast)` and `sma(close, slow)`: enter when fast crosses above slow, exit when it
/// crosses below. `sim` supplies the cash and every trading rule: both fill timings, commission,
/// slippage, every sizing rule, sizing price and quantity rule, and `close_at_end` are modelled
/// exactly; protective exits (`rules.exits`) are not and are rejected with
/// [`SweepError::UnsupportedExit`]. `metrics` annualises the Sharpe ratio.
pub fn sma_cross_grid(
    bars: &Bars,
    windows: RangeInclusive<usize>,
    sim: &Simulator,
    metrics: &MetricsConfig,
) -> Result<Vec<GridResult>, SweepError> {
    check_exits(&sim.rules().exits)?;
    let close = bars.close();
    let windows: Vec<usize> = windows.collect();
    let mut lines = vec![f64::NAN; windows.len() * close.len()];
    for (&w, line) in windows.iter().zip(lines.chunks_exact_mut(close.len().max(1))) {
        sma_into(close, w, line)?;
    }
    let line = |i: usize| &lines[i * close.len()..(i + 1) * close.len()];
    let pairs: Vec<(usize, usize)> =
        (0..windows.len()).flat_map(|i| (i + 1..windows.len()).map(move |j| (i, j))).collect();
    let market = Market::new(bars, sim, metrics);
    Ok(evaluate_all(&pairs, |&(i, j)| {
        let (fast, slow) = (windows[i], windows[j]);
        market.run(line(i), line(j)).result(fast, slow, close.len(), sim.initial_cash(), metrics)
    }))
}

fn check_exits(exits: &ExitRules) -> Result<(), SweepError> {
    let ExitRules { stop_loss, take_profit, trailing_stop, max_bars } = *exits;
    let set = [
        ("stop_loss", stop_loss.is_some()),
        ("take_profit", take_profit.is_some()),
        ("trailing_stop", trailing_stop.is_some()),
        ("max_bars", max_bars.is_some()),
    ];
    match set.iter().find(|(_, on)| *on) {
        Some(&(field, _)) => Err(SweepError::UnsupportedExit { field }),
        None => Ok(()),
    }
}

/// The bars and rules every pair shares.
struct Market<'a> {
    prices: Prices<'a>,
    /// Reference price of a fill: the open (next-open fills) or the close (same-bar fills).
    reference: &'a [f64],
    /// Bars from a signal to its fill: 1 or 0.
    lag: usize,
    rules: &'a TradeRules,
    initial_cash: f64,
    /// The statistics of a curve with no bar yet, from the initial cash.
    start: ReturnMoments,
}

/// A pair's run before it is labelled.
struct Run {
    /// The bars pushed: flat stretches are skipped (their returns are exactly 0).
    curve: ReturnMoments,
    trades: usize,
}

impl Run {
    fn result(
        &self,
        fast: usize,
        slow: usize,
        bars: usize,
        initial: f64,
        metrics: &MetricsConfig,
    ) -> GridResult {
        let mut curve = self.curve;
        curve.pad_to(bars);
        GridResult {
            fast,
            slow,
            total_return: if bars == 0 { 0.0 } else { self.curve.last() / initial - 1.0 },
            sharpe: curve.sharpe(metrics),
            max_drawdown: self.curve.max_drawdown(),
            trades: self.trades,
            final_equity: self.curve.last(),
        }
    }
}

impl<'a> Market<'a> {
    fn new(bars: &'a Bars, sim: &'a Simulator, metrics: &MetricsConfig) -> Self {
        let rules = sim.rules();
        let (reference, lag) = match rules.fill {
            FillTiming::NextOpen => (bars.open(), 1),
            FillTiming::SameBarClose => (bars.close(), 0),
        };
        Market {
            prices: Prices::of(bars),
            reference,
            lag,
            rules,
            initial_cash: sim.initial_cash(),
            start: ReturnMoments::new(sim.initial_cash(), metrics),
        }
    }

    /// Trades the cross of `fast` over `slow`, jumping from signal to signal.
    fn run(&self, fast: &[f64], slow: &[f64]) -> Run {
        let n = self.prices.close.len();
        let mut cash = self.initial_cash;
        let mut run = Run { curve: self.start, trades: 0 };
        let mut from = 1;
        while let Some(signal) = next_cross_above(fast, slow, from) {
            let entry = signal + self.lag;
            if entry >= n {
                break;
            }
            from = signal + 1;
            let Some(held) = self.buy(signal, entry, &mut cash) else { continue };
            // The bars marked with the position held run from the entry bar to the exit fill
            // bar (exclusive), or to the last bar, which the end of data settles.
            let exit = next_cross_above(slow, fast, signal + 1).filter(|&s| s + self.lag < n);
            let held_to = exit.map_or(n - 1, |s| s + self.lag);
            run.curve.hold(&self.prices.close[entry..held_to], cash, held.qty);
            match exit {
                Some(s) => {
                    self.sell(&held, self.reference[held_to], held_to, &mut cash);
                    run.trades += 1;
                    run.curve.push(cash);
                    from = s + 1;
                }
                None => {
                    let last = n - 1;
                    if self.rules.close_at_end {
                        self.sell(&held, self.prices.close[last], last, &mut cash);
                        run.trades += 1;
                        run.curve.push(cash);
                    } else {
                        run.curve.push(cash + held.qty * self.prices.close[last]);
                    }
                    break;
                }
            }
        }
        run
    }

    /// Opens the position the signal of bar `signal` asks for at bar `bar`, paying from `cash`:
    /// the simulator's entry for a flat book at full strength, its equity the cash.
    fn buy(&self, signal: usize, bar: usize, cash: &mut f64) -> Option<Holding> {
        let base = *cash;
        let reference = self.reference[bar];
        fill::buy(self.rules, &self.prices, bar, signal, reference, Strength::FULL, base, cash)
            .ok()
            .map(|bought| bought.holding)
    }

    /// Sells `held` referenced at `reference` in bar `bar`, crediting `cash` net of commission.
    fn sell(&self, held: &Holding, reference: f64, bar: usize, cash: &mut f64) {
        held.sell(&self.rules.costs, &self.prices, bar, reference, cash);
    }
}

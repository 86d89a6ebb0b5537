//! The fast path of one-symbol evaluations: [`run_signals_into`] instead of the simulator's
//! records, and the figures from one pass over the equity curve ([`CurveStats`]) with exactly
//! the arithmetic of `Metrics::compute` (tested equal to the kernel backtest's figures).

use std::cell::RefCell;

use datasets::Bars;
use kernel::metrics::{Metrics, MetricsConfig, cagr, calendar_years, safe_ratio};
use kernel::sim::{Signal, Simulator};
use kernel::sweep::{SignalRun, run_signals_into};
use novelty::Benchmark;

use super::curve::CurveStats;
use crate::problem::Evaluation;

/// Reused buffers of one thread.
#[derive(Default)]
pub(super) struct Scratch {
    /// The leg's signals.
    pub(super) signals: Vec<Signal>,
    run: SignalRun,
}

thread_local! {
    /// One scratch per rayon worker: evaluations allocate nothing once it has grown.
    pub(super) static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What a lean run produced.
pub(super) struct LeanRun {
    /// The evaluation's figures.
    pub(super) figures: Evaluation,
    /// The metrics they come from (those a behaviour descriptor reads).
    pub(super) metrics: Metrics,
    /// β of the equity's per-bar returns against the benchmark given to [`run`], from the
    /// same pass as the figures.
    pub(super) beta: Option<f64>,
}

/// Runs `scratch.signals` over `bars` under `sim`: the figures and metrics, and β against
/// `benchmark` when given; `None` when the lean run does not model the rules.
pub(super) fn run(
    bars: &Bars,
    sim: &Simulator,
    config: &MetricsConfig,
    scratch: &mut Scratch,
    benchmark: Option<&Benchmark>,
) -> Option<LeanRun> {
    let Scratch { signals, run } = scratch;
    run_signals_into(bars, signals, sim, run).ok()?;
    let cash = sim.initial_cash();
    let equity = &run.equity;
    let nf = equity.len() as f64;
    let nt = run.trades as f64;
    let mut m = Metrics { trades: run.trades, ..Metrics::default() };
    if run.trades > 0 {
        m.win_rate = run.wins as f64 / nt;
        m.profit_factor = safe_ratio(run.gross_profit, run.gross_loss);
        m.avg_bars_held = run.bars_held as f64 / nt;
    }
    let mut beta = benchmark.and_then(Benchmark::beta_sum);
    let stats = CurveStats::of(equity, cash, config, beta.as_mut());
    let final_equity = equity.last().copied().unwrap_or(cash);
    if let Some(&last) = equity.last() {
        m.total_return = last / cash - 1.0;
        m.cagr = cagr(cash, last, calendar_years(bars.timestamps(), config.periods_per_year));
        stats.metrics(&mut m, config);
        m.exposure = run.exposed_bars as f64 / nf;
    }
    let figures = Evaluation::with_returns(&m, final_equity, stats.return_stats());
    Some(LeanRun { figures, metrics: m, beta: beta.map(|b| b.beta()) })
}

/// The equity curve of the last [`run`].
pub(super) fn equity(scratch: &Scratch) -> &[f64] {
    &scratch.run.equity
}

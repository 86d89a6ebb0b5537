//! The fast path of one-symbol evaluations: [`run_signals_into`] instead of the simulator's
//! records, and the figures computed in one pass over the equity curve with exactly the
//! arithmetic of [`Metrics::compute`] (tested equal to [`Figures::of`] a kernel backtest).

use std::cell::RefCell;

use datasets::Bars;
use kernel::metrics::{Metrics, MetricsConfig, safe_ratio, sharpe_from_sums};
use kernel::sim::{Signal, Simulator};
use kernel::sweep::{SignalRun, run_signals_into};

use crate::problem::{Figures, ReturnFigures};
use crate::stats::ReturnStats;

/// Reused buffers of one thread.
#[derive(Default)]
pub(super) struct Scratch {
    /// The leg's signals.
    pub(super) signals: Vec<Signal>,
    run: SignalRun,
    returns: Vec<f64>,
}

thread_local! {
    /// One scratch per rayon worker: evaluations allocate nothing once it has grown.
    pub(super) static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What the lean path gives besides the figures, for the behaviour descriptor.
pub(super) struct Extra {
    /// Mean bars a trade is held.
    pub(super) holding_bars: f64,
}

/// Runs `scratch.signals` over `bars` under `sim` and computes the figures and per-bar returns
/// (left in `scratch`); `None` when the lean run does not model the rules.
pub(super) fn run(
    bars: &Bars,
    sim: &Simulator,
    config: &MetricsConfig,
    scratch: &mut Scratch,
) -> Option<(Figures, Extra)> {
    let Scratch { signals, run, returns } = scratch;
    run_signals_into(bars, signals, sim, run).ok()?;
    let cash = sim.initial_cash();
    let equity = &run.equity;
    let n = equity.len();
    let nf = n as f64;
    let p = config.periods_per_year;
    let years = nf / p;
    let nt = run.trades as f64;
    let mut m = Metrics { trades: run.trades, ..Metrics::default() };
    if run.trades > 0 {
        m.win_rate = run.wins as f64 / nt;
        m.profit_factor = safe_ratio(run.gross_profit, run.gross_loss);
        m.avg_bars_held = run.bars_held as f64 / nt;
    }
    returns.clear();
    let mut previous = cash;
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    let (mut peak, mut max_dd) = (cash, 0.0f64);
    for &e in equity {
        let r = if previous > 0.0 { e / previous - 1.0 } else { 0.0 };
        previous = e;
        returns.push(r);
        sum += r;
        sum_sq += r * r;
        if e >= peak {
            peak = e;
        } else {
            max_dd = max_dd.min(e / peak - 1.0);
        }
    }
    if let Some(&last) = equity.last() {
        m.total_return = last / cash - 1.0;
        m.cagr = if last > 0.0 { (last / cash).powf(1.0 / years) - 1.0 } else { -1.0 };
        let rf_p = (1.0 + config.risk_free_rate).powf(1.0 / p) - 1.0;
        if n >= 2 {
            m.sharpe = sharpe_from_sums(n, sum, sum_sq, config);
            let mean = sum / nf;
            let downside_sq: f64 = returns.iter().map(|r| (r - rf_p).min(0.0).powi(2)).sum();
            m.sortino = safe_ratio((mean - rf_p) * p.sqrt(), (downside_sq / nf).sqrt());
        }
        m.max_drawdown = max_dd;
        m.calmar = safe_ratio(m.cagr, -max_dd);
        m.exposure = run.exposed_bars as f64 / nf;
    }
    let final_equity = equity.last().copied().unwrap_or(cash);
    let figures = Figures::with_returns(&m, final_equity, ReturnFigures::of(&ReturnStats::of(returns)));
    Some((figures, Extra { holding_bars: m.avg_bars_held }))
}

/// The equity curve and per-bar returns of the last [`run`].
pub(super) fn curves(scratch: &Scratch) -> (&[f64], &[f64]) {
    (&scratch.run.equity, &scratch.returns)
}

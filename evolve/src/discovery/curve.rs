//! One pass over an equity curve for what an evaluation needs beyond the simulation: the
//! Sharpe, Sortino and drawdown inputs and the raw return moments for the deflated Sharpe
//! ratio, all from the kernel's accumulator ([`ReturnMoments`]) that [`Metrics::compute`] runs.
//!
//! Bars whose equity equals the previous bar's (flat stretches) have a return of exactly 0:
//! they move no sum and no drawdown, so the pass skips them (the risk-free rate is 0 in
//! discovery; with another rate every bar is visited).
//!
//! With novelty on, the same pass feeds each bar's return to the behaviour descriptor's β
//! ([`BetaSum`]), so the descriptor needs no pass of its own over the curve.
//!
//! [`Metrics::compute`]: kernel::metrics::Metrics::compute

use kernel::metrics::{Metrics, MetricsConfig, ReturnMoments, safe_ratio};
use novelty::BetaSum;

use crate::stats::ReturnStats;

/// The sums of one pass.
pub(super) struct CurveStats(ReturnMoments);

impl CurveStats {
    /// The pass over `equity` starting from `cash`, adding each bar's return from the second
    /// on to `beta` when given.
    pub(super) fn of(
        equity: &[f64],
        cash: f64,
        config: &MetricsConfig,
        mut beta: Option<&mut BetaSum<'_>>,
    ) -> CurveStats {
        let mut moments = ReturnMoments::new(cash, config);
        let skip_flat = moments.risk_free_per_bar() == 0.0;
        for (t, &e) in equity.iter().enumerate() {
            if skip_flat && e == moments.last() {
                continue;
            }
            let r = moments.push_all(e);
            if let Some(beta) = beta.as_deref_mut().filter(|_| t > 0) {
                beta.add(t, r);
            }
        }
        moments.pad_to(equity.len());
        CurveStats(moments)
    }

    /// Sets `m`'s Sharpe, Sortino, drawdown and Calmar exactly as `Metrics::compute` does
    /// (`m.cagr` must be set).
    pub(super) fn metrics(&self, m: &mut Metrics, config: &MetricsConfig) {
        m.sharpe = self.0.sharpe(config);
        m.sortino = self.0.sortino(config);
        m.max_drawdown = self.0.max_drawdown();
        m.calmar = safe_ratio(m.cagr, -m.max_drawdown);
    }

    /// Mean, sample standard deviation, per-bar Sharpe, skewness and raw kurtosis of the
    /// per-bar returns, from the raw moments (undefined moments of a flat curve are NaN).
    pub(super) fn return_stats(&self) -> ReturnStats {
        let shape = self.0.shape();
        let std = shape.std;
        let defined = |x: f64| if std > 0.0 { x } else { f64::NAN };
        ReturnStats {
            n: self.0.len(),
            mean: shape.mean,
            std,
            sharpe: defined(shape.mean / std),
            skew: defined(shape.skew),
            kurtosis: defined(shape.kurtosis),
        }
        .defined()
    }
}

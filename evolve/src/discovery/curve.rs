//! One pass over an equity curve for what an evaluation needs beyond the simulation: the
//! Sharpe, Sortino and drawdown inputs with exactly [`Metrics::compute`]'s arithmetic, and the
//! raw return moments for the deflated Sharpe ratio.
//!
//! Bars whose equity equals the previous bar's (flat stretches) have a return of exactly 0:
//! they move no sum and no drawdown, so the pass skips them (the risk-free rate is 0 in
//! discovery; with another rate every bar is visited).
//!
//! With novelty on, the same pass feeds each bar's return to the behaviour descriptor's β
//! ([`BetaSum`]), so the descriptor needs no pass of its own over the curve.
//!
//! [`Metrics::compute`]: kernel::metrics::Metrics::compute

use kernel::metrics::{Metrics, MetricsConfig, safe_ratio, sharpe_from_sums};
use novelty::BetaSum;

use crate::stats::ReturnStats;

/// The sums of one pass.
pub(super) struct CurveStats {
    n: usize,
    sum: f64,
    sum_sq: f64,
    sum3: f64,
    sum4: f64,
    downside_sq: f64,
    max_drawdown: f64,
}

impl CurveStats {
    /// The pass over `equity` starting from `cash`, adding each bar's return from the second
    /// on to `beta` when given.
    pub(super) fn of(
        equity: &[f64],
        cash: f64,
        config: &MetricsConfig,
        mut beta: Option<&mut BetaSum<'_>>,
    ) -> CurveStats {
        let rf_p = risk_free_per_bar(config);
        let skip_flat = rf_p == 0.0;
        let mut s = CurveStats {
            n: equity.len(),
            sum: 0.0,
            sum_sq: 0.0,
            sum3: 0.0,
            sum4: 0.0,
            downside_sq: 0.0,
            max_drawdown: 0.0,
        };
        let (mut previous, mut peak) = (cash, cash);
        for (t, &e) in equity.iter().enumerate() {
            if skip_flat && e == previous {
                continue;
            }
            let r = if previous > 0.0 { e / previous - 1.0 } else { 0.0 };
            previous = e;
            if let Some(beta) = beta.as_deref_mut().filter(|_| t > 0) {
                beta.add(t, r);
            }
            let r2 = r * r;
            s.sum += r;
            s.sum_sq += r2;
            s.sum3 += r2 * r;
            s.sum4 += r2 * r2;
            s.downside_sq += (r - rf_p).min(0.0).powi(2);
            if e >= peak {
                peak = e;
            } else {
                s.max_drawdown = s.max_drawdown.min(e / peak - 1.0);
            }
        }
        s
    }

    /// Sets `m`'s Sharpe, Sortino, drawdown and Calmar exactly as `Metrics::compute` does
    /// (`m.cagr` must be set).
    pub(super) fn metrics(&self, m: &mut Metrics, config: &MetricsConfig) {
        let nf = self.n as f64;
        if self.n >= 2 {
            let rf_p = risk_free_per_bar(config);
            m.sharpe = sharpe_from_sums(self.n, self.sum, self.sum_sq, config);
            m.sortino = safe_ratio(
                (self.sum / nf - rf_p) * config.periods_per_year.sqrt(),
                (self.downside_sq / nf).sqrt(),
            );
        }
        m.max_drawdown = self.max_drawdown;
        m.calmar = safe_ratio(m.cagr, -self.max_drawdown);
    }

    /// Mean, sample standard deviation, per-bar Sharpe, skewness and raw kurtosis of the
    /// per-bar returns, from the raw moments (undefined moments of a flat curve are NaN).
    pub(super) fn return_stats(&self) -> ReturnStats {
        let n = self.n as f64;
        let mean = if self.n > 0 { self.sum / n } else { f64::NAN };
        let (e2, e3, e4) = (self.sum_sq / n, self.sum3 / n, self.sum4 / n);
        let m2 = (e2 - mean * mean).max(0.0);
        let m3 = e3 - 3.0 * mean * e2 + 2.0 * mean.powi(3);
        let m4 = e4 - 4.0 * mean * e3 + 6.0 * mean * mean * e2 - 3.0 * mean.powi(4);
        let std = if self.n >= 2 { (m2 * n / (n - 1.0)).sqrt() } else { f64::NAN };
        let defined = |x: f64| if std > 0.0 { x } else { f64::NAN };
        ReturnStats {
            n: self.n,
            mean,
            std,
            sharpe: defined(mean / std),
            skew: defined(m3 / m2.powf(1.5)),
            kurtosis: defined(m4 / (m2 * m2)),
        }
        .defined()
    }
}

/// `rf_p = (1 + rf)^(1/P) − 1`, as the kernel's metrics compute it.
fn risk_free_per_bar(config: &MetricsConfig) -> f64 {
    (1.0 + config.risk_free_rate).powf(1.0 / config.periods_per_year) - 1.0
}

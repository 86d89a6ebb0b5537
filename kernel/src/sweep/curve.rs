//! Streaming statistics of an equity curve: the inputs of return, Sharpe and maximum drawdown
//! with exactly the arithmetic of [`Metrics::compute`](crate::metrics::Metrics::compute).
//!
//! Pushing every bar's equity reproduces `Metrics` bit for bit; so does skipping a bar whose
//! equity equals the previous one (a flat stretch: its return is exactly 0, it moves neither
//! sum, and neither the peak nor the drawdown), which is what lets the sweep jump over flat bars.

use crate::metrics::{MetricsConfig, safe_ratio};

/// Running sums, peak and deepest drawdown of the curve so far.
#[derive(Clone, Copy, Debug)]
pub(super) struct Curve {
    /// Equity of the last bar pushed (the initial equity before any).
    last: f64,
    sum: f64,
    sum_sq: f64,
    peak: f64,
    max_drawdown: f64,
}

impl Curve {
    /// A curve starting from `initial` equity (`E_{−1}`, positive).
    pub(super) fn new(initial: f64) -> Self {
        Curve { last: initial, sum: 0.0, sum_sq: 0.0, peak: initial, max_drawdown: 0.0 }
    }

    /// Appends one bar's equity.
    #[inline(always)]
    pub(super) fn push(&mut self, equity: f64) {
        let r = if self.last > 0.0 { equity / self.last - 1.0 } else { 0.0 };
        self.sum += r;
        self.sum_sq += r * r;
        // At a new peak the drawdown term is equity / equity − 1 = 0 exactly, so updating the
        // peak first gives `Metrics`' "new peak, else deepen" without a branch.
        self.peak = self.peak.max(equity);
        self.max_drawdown = self.max_drawdown.min(equity / self.peak - 1.0);
        self.last = equity;
    }

    /// Appends the bars of a held position: `cash + qty × close` for each close.
    pub(super) fn hold(&mut self, closes: &[f64], cash: f64, qty: f64) {
        for &close in closes {
            self.push(cash + qty * close);
        }
    }

    /// Equity of the last bar pushed.
    pub(super) fn last(&self) -> f64 {
        self.last
    }

    /// Deepest drawdown so far, `≤ 0`.
    pub(super) fn max_drawdown(&self) -> f64 {
        self.max_drawdown
    }

    /// Sharpe ratio of a curve of `bars` bars in total, as `Metrics::sharpe` defines it.
    pub(super) fn sharpe(&self, bars: usize, config: &MetricsConfig) -> f64 {
        if bars < 2 {
            return 0.0;
        }
        let n = bars as f64;
        let mean = self.sum / n;
        let sd = ((self.sum_sq - self.sum * mean) / (n - 1.0)).max(0.0).sqrt();
        let p = config.periods_per_year;
        let rf_p = (1.0 + config.risk_free_rate).powf(1.0 / p) - 1.0;
        if sd > 0.0 { safe_ratio((mean - rf_p) * p.sqrt(), sd) } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, MetricsInput};

    #[test]
    fn matches_metrics_bit_for_bit_with_flat_bars_skipped() {
        let equity = [100.0, 103.0, 103.0, 103.0, 99.0, 97.5, 101.0, 108.0, 108.0, 104.0];
        let ts: Vec<i64> = (0..equity.len() as i64).collect();
        let config = MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.02 };
        let input = MetricsInput {
            initial_equity: 100.0,
            equity: &equity,
            timestamps: &ts,
            trades: &[],
            exposed_bars: 0,
            traded_notional: 0.0,
            benchmark_close: &[],
        };
        let m = Metrics::compute(&input, &config);
        let mut curve = Curve::new(100.0);
        for (t, &e) in equity.iter().enumerate() {
            if t == 0 || e != equity[t - 1] {
                curve.push(e);
            }
        }
        assert_eq!(curve.sharpe(equity.len(), &config).to_bits(), m.sharpe.to_bits());
        assert_eq!(curve.max_drawdown().to_bits(), m.max_drawdown.to_bits());
        // Trough 97.5 under the 103 peak.
        assert!((curve.max_drawdown() - (97.5 / 103.0 - 1.0)).abs() < 1e-15);
        assert_eq!(curve.last(), 104.0);
        assert_eq!(Curve::new(100.0).sharpe(1, &config), 0.0);
    }
}

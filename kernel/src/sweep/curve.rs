//! Streaming statistics of an equity curve: the inputs of return, Sharpe and maximum drawdown
//! with exactly the arithmetic of [`Metrics::compute`](crate::metrics::Metrics::compute).
//!
//! Pushing every bar's equity reproduces `Metrics` bit for bit; so does skipping a bar whose
//! equity equals the previous one (a flat stretch: its return is exactly 0, it moves neither
//! sum, and neither the peak nor the drawdown), which is what lets the sweep jump over flat bars.

use crate::metrics::{MetricsConfig, sharpe_from_sums};

/// Running sums, peak and deepest drawdown of the curve so far.
///
/// The drawdown is kept as the lowest equity under the current peak: under a fixed positive
/// peak, `E / peak − 1` is monotone in `E` (IEEE division and subtraction are correctly rounded,
/// hence monotone), so the segment's deepest `E / peak − 1` is `trough / peak − 1`, the same
/// bits as `Metrics`' per-bar minimum with one division per peak instead of one per bar.
#[derive(Clone, Copy, Debug)]
pub(super) struct Curve {
    /// Equity of the last bar pushed (the initial equity before any).
    last: f64,
    sum: f64,
    sum_sq: f64,
    peak: f64,
    /// Lowest equity since `peak` was set.
    trough: f64,
    /// Deepest drawdown of the segments under earlier peaks.
    max_drawdown: f64,
}

impl Curve {
    /// A curve starting from `initial` equity (`E_{−1}`, positive).
    pub(super) fn new(initial: f64) -> Self {
        Curve { last: initial, sum: 0.0, sum_sq: 0.0, peak: initial, trough: initial, max_drawdown: 0.0 }
    }

    /// Appends one bar's equity.
    #[inline(always)]
    pub(super) fn push(&mut self, equity: f64) {
        let r = if self.last > 0.0 { equity / self.last - 1.0 } else { 0.0 };
        self.sum += r;
        self.sum_sq += r * r;
        if equity > self.peak {
            // A new peak closes the segment under the old one.
            self.max_drawdown = self.max_drawdown();
            self.peak = equity;
            self.trough = equity;
        } else if equity < self.trough {
            // Not `f64::min`: the same result here (a NaN equity is ignored either way) without
            // its NaN select in the hot loop.
            self.trough = equity;
        }
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
        self.max_drawdown.min(self.trough / self.peak - 1.0)
    }

    /// Sharpe ratio of a curve of `bars` bars in total, as `Metrics::sharpe` defines it.
    pub(super) fn sharpe(&self, bars: usize, config: &MetricsConfig) -> f64 {
        sharpe_from_sums(bars, self.sum, self.sum_sq, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::metrics::{Metrics, MetricsInput};

    fn metrics(initial: f64, equity: &[f64], config: &MetricsConfig) -> Metrics {
        let ts: Vec<i64> = (0..equity.len() as i64).collect();
        let input = MetricsInput {
            initial_equity: initial,
            equity,
            timestamps: &ts,
            trades: &[],
            exposed_bars: 0,
            traded_notional: 0.0,
            benchmark_close: &[],
        };
        Metrics::compute(&input, config)
    }

    #[test]
    fn matches_metrics_bit_for_bit_with_flat_bars_skipped() {
        let equity = [100.0, 103.0, 103.0, 103.0, 99.0, 97.5, 101.0, 108.0, 108.0, 104.0];
        let config = MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.02 };
        let m = metrics(100.0, &equity, &config);
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

    proptest! {
        /// Random curves with repeated values, returns to an earlier peak, new peaks and falls to
        /// zero: sums and the trough-per-peak drawdown equal `Metrics` to the last bit.
        #[test]
        fn matches_metrics_on_random_curves(
            initial in 1.0..1_000.0f64,
            steps in prop::collection::vec(prop_oneof![
                3 => 0.5..1.5f64,
                1 => Just(1.0),
                1 => Just(0.0),
            ], 0..60),
            rf in prop_oneof![Just(0.0), 0.0..0.05f64],
        ) {
            // A multiplicative walk; factor 0 jumps back to the initial equity (a repeat of an
            // earlier peak when that was the top) or, when already there, to zero.
            let mut equity = Vec::with_capacity(steps.len());
            let mut e = initial;
            for &k in &steps {
                e = if k != 0.0 { e * k } else if e != initial { initial } else { 0.0 };
                equity.push(e);
            }
            let config = MetricsConfig { periods_per_year: 252.0, risk_free_rate: rf };
            let m = metrics(initial, &equity, &config);
            let mut curve = Curve::new(initial);
            equity.iter().for_each(|&e| curve.push(e));
            prop_assert_eq!(curve.max_drawdown().to_bits(), m.max_drawdown.to_bits());
            prop_assert_eq!(curve.sharpe(equity.len(), &config).to_bits(), m.sharpe.to_bits());
        }
    }
}

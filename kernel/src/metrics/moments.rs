//! One accumulator of an equity curve's per-bar returns: the sums behind volatility, Sharpe,
//! Sortino, skewness and kurtosis, and the deepest drawdown, pushed one bar at a time.
//!
//! [`Metrics::compute`](super::Metrics::compute) runs it over a whole curve; the SMA-cross sweep
//! and the lean GP evaluation (evolve's discovery) stream their curves through it without
//! storing them. Every sum adds its terms in bar order, so each of them gives the same figures
//! bit for bit.
//!
//! A bar whose equity equals the previous one has a return of exactly 0: it moves neither the
//! mean/variance sums nor the drawdown, so a driver may skip a flat stretch and account for it
//! with [`ReturnMoments::pad_to`] (the downside sum does move when the risk-free rate is not 0:
//! a driver that needs the Sortino ratio skips only when [`ReturnMoments::risk_free_per_bar`] is 0).

use super::{MetricsConfig, safe_ratio, sharpe_from_sums};

/// Per-bar risk-free rate `rf_p = (1 + rf)^(1/P) − 1`.
pub fn risk_free_per_bar(config: &MetricsConfig) -> f64 {
    (1.0 + config.risk_free_rate).powf(1.0 / config.periods_per_year) - 1.0
}

/// Running sums of the per-bar returns `r_t = E_t / E_{t−1} − 1` of an equity curve (0 after the
/// equity reached 0), and its deepest drawdown.
///
/// [`push`](Self::push) keeps what the Sharpe ratio and the drawdown need (`Σ r`, `Σ r²`);
/// [`push_all`](Self::push_all) also `Σ r³`, `Σ r⁴` and the downside sum of the Sortino ratio.
/// The drawdown is kept as the lowest equity under the current peak: under a fixed positive
/// peak `E / peak − 1` is monotone in `E` (IEEE division and subtraction are correctly rounded,
/// hence monotone), so a segment's deepest `E / peak − 1` is `trough / peak − 1`, the same bits
/// as a per-bar minimum with one division per peak instead of one per bar.
#[derive(Clone, Copy, Debug)]
pub struct ReturnMoments {
    rf_p: f64,
    /// Equity of the last bar pushed (the initial equity before any).
    last: f64,
    n: usize,
    sum: f64,
    sum_sq: f64,
    sum3: f64,
    sum4: f64,
    downside_sq: f64,
    peak: f64,
    /// Lowest equity since `peak` was set.
    trough: f64,
    /// Deepest drawdown of the segments under earlier peaks.
    max_drawdown: f64,
}

impl ReturnMoments {
    /// A curve starting from `initial` equity (`E_{−1}`, positive), annualised under `config`.
    pub fn new(initial: f64, config: &MetricsConfig) -> Self {
        ReturnMoments {
            rf_p: risk_free_per_bar(config),
            last: initial,
            n: 0,
            sum: 0.0,
            sum_sq: 0.0,
            sum3: 0.0,
            sum4: 0.0,
            downside_sq: 0.0,
            peak: initial,
            trough: initial,
            max_drawdown: 0.0,
        }
    }

    /// Appends one bar's equity to the mean, variance and drawdown; returns its return.
    #[inline(always)]
    pub fn push(&mut self, equity: f64) -> f64 {
        let r = if self.last > 0.0 { equity / self.last - 1.0 } else { 0.0 };
        self.n += 1;
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
        r
    }

    /// [`push`](Self::push), and the third and fourth powers and the downside sum as well.
    #[inline(always)]
    pub fn push_all(&mut self, equity: f64) -> f64 {
        let r = self.push(equity);
        let r2 = r * r;
        self.sum3 += r2 * r;
        self.sum4 += r2 * r2;
        self.downside_sq += (r - self.rf_p).min(0.0).powi(2);
        r
    }

    /// [`push`](Self::push)es the bars of a held position: `cash + qty × close` for each close.
    #[inline]
    pub fn hold(&mut self, closes: &[f64], cash: f64, qty: f64) {
        for &close in closes {
            self.push(cash + qty * close);
        }
    }

    /// Counts the curve as `n` bars long: the bars not pushed were flat (a return of exactly 0).
    pub fn pad_to(&mut self, n: usize) {
        self.n = self.n.max(n);
    }

    /// Bars counted, `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True before any bar.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Equity of the last bar pushed (the initial equity before any).
    pub fn last(&self) -> f64 {
        self.last
    }

    /// The per-bar risk-free rate `rf_p` the downside sum is taken against.
    pub fn risk_free_per_bar(&self) -> f64 {
        self.rf_p
    }

    /// Deepest drawdown so far, `min_t (E_t / peak_t − 1) ≤ 0` (the peak includes `E_{−1}`).
    pub fn max_drawdown(&self) -> f64 {
        self.max_drawdown.min(self.trough / self.peak - 1.0)
    }

    /// Mean and sample standard deviation (n − 1) of the returns, as [`Metrics`](super::Metrics)
    /// defines them: `sd = √max(0, (Σr² − Σr · mean) / (n − 1))`; `(0, 0)` with no bars.
    pub fn mean_sd(&self) -> (f64, f64) {
        super::moments(self.n as f64, self.sum, self.sum_sq)
    }

    /// [`Metrics::sharpe`](super::Metrics::sharpe) of the curve (0 with fewer than 2 bars).
    pub fn sharpe(&self, config: &MetricsConfig) -> f64 {
        sharpe_from_sums(self.n, self.sum, self.sum_sq, config)
    }

    /// [`Metrics::sortino`](super::Metrics::sortino) of the curve (0 with fewer than 2 bars);
    /// needs every bar through [`push_all`](Self::push_all).
    pub fn sortino(&self, config: &MetricsConfig) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let nf = self.n as f64;
        let (mean, _) = self.mean_sd();
        safe_ratio((mean - self.rf_p) * config.periods_per_year.sqrt(), (self.downside_sq / nf).sqrt())
    }

    /// The shape of the return distribution from the raw moments, for the deflated Sharpe
    /// ratio; needs every bar through [`push_all`](Self::push_all).
    pub fn shape(&self) -> ReturnShape {
        let n = self.n as f64;
        let mean = if self.n > 0 { self.sum / n } else { f64::NAN };
        let (e2, e3, e4) = (self.sum_sq / n, self.sum3 / n, self.sum4 / n);
        let m2 = (e2 - mean * mean).max(0.0);
        let m3 = e3 - 3.0 * mean * e2 + 2.0 * mean.powi(3);
        let m4 = e4 - 4.0 * mean * e3 + 6.0 * mean * mean * e2 - 3.0 * mean.powi(4);
        let std = if self.n >= 2 { (m2 * n / (n - 1.0)).sqrt() } else { f64::NAN };
        ReturnShape { mean, std, skew: m3 / m2.powf(1.5), kurtosis: m4 / (m2 * m2) }
    }
}

/// Mean, spread and shape of per-bar returns from their raw moments `E[rᵏ]` (population
/// central moments `m_k`). NaN where undefined: everything with no bars, `std` with one,
/// `skew` and `kurtosis` of a flat curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReturnShape {
    /// `Σ r / n`.
    pub mean: f64,
    /// Sample standard deviation `√(m_2 · n / (n − 1))`.
    pub std: f64,
    /// Skewness `m_3 / m_2^{3/2}`.
    pub skew: f64,
    /// Raw kurtosis `m_4 / m_2²` (normal = 3).
    pub kurtosis: f64,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::metrics::{Metrics, MetricsInput, TradeList};

    fn metrics(initial: f64, equity: &[f64], config: &MetricsConfig) -> Metrics {
        let ts: Vec<i64> = (0..equity.len() as i64).collect();
        let input = MetricsInput {
            initial_equity: initial,
            equity,
            timestamps: &ts,
            trades: TradeList::Slice(&[]),
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
        let mut curve = ReturnMoments::new(100.0, &config);
        for (t, &e) in equity.iter().enumerate() {
            if t == 0 || e != equity[t - 1] {
                curve.push(e);
            }
        }
        assert_eq!(curve.len(), 7);
        curve.pad_to(equity.len());
        assert_eq!(curve.sharpe(&config).to_bits(), m.sharpe.to_bits());
        assert_eq!(curve.max_drawdown().to_bits(), m.max_drawdown.to_bits());
        // Trough 97.5 under the 103 peak.
        assert!((curve.max_drawdown() - (97.5 / 103.0 - 1.0)).abs() < 1e-15);
        assert_eq!(curve.last(), 104.0);
        let mut one = ReturnMoments::new(100.0, &config);
        one.push(101.0);
        assert_eq!((one.sharpe(&config), one.sortino(&config)), (0.0, 0.0));
    }

    #[test]
    fn shape_of_a_two_point_distribution() {
        // Returns 0, 0, 0, 1 (equity 1, 1, 1, 2 from 1): m2 = 3/16, m3 = 3/32, skew 2/√3, and
        // the two-point bound kurtosis ≥ 1 + skew² met with equality.
        let config = MetricsConfig { periods_per_year: 252.0, risk_free_rate: 0.0 };
        let mut curve = ReturnMoments::new(1.0, &config);
        for e in [1.0, 1.0, 1.0, 2.0] {
            curve.push_all(e);
        }
        let s = curve.shape();
        assert_eq!(s.mean, 0.25);
        assert!((s.std - (0.25f64).sqrt()).abs() < 1e-15, "{}", s.std);
        assert!((s.skew - 2.0 / 3f64.sqrt()).abs() < 1e-12, "{}", s.skew);
        assert!((s.kurtosis - (1.0 + s.skew * s.skew)).abs() < 1e-12, "{}", s.kurtosis);
        let flat = {
            let mut c = ReturnMoments::new(1.0, &config);
            c.push_all(1.0);
            c.push_all(1.0);
            c.shape()
        };
        assert!(flat.skew.is_nan() && flat.kurtosis.is_nan() && flat.std == 0.0);
        assert!(ReturnMoments::new(1.0, &config).shape().mean.is_nan());
    }

    proptest! {
        /// Random curves with repeated values, returns to an earlier peak, new peaks and falls to
        /// zero: Sharpe, Sortino, volatility and the trough-per-peak drawdown equal `Metrics` to
        /// the last bit.
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
            let mut curve = ReturnMoments::new(initial, &config);
            equity.iter().for_each(|&e| { curve.push_all(e); });
            prop_assert_eq!(curve.max_drawdown().to_bits(), m.max_drawdown.to_bits());
            prop_assert_eq!(curve.sharpe(&config).to_bits(), m.sharpe.to_bits());
            prop_assert_eq!(curve.sortino(&config).to_bits(), m.sortino.to_bits());
            let volatility = if equity.len() >= 2 { curve.mean_sd().1 * 252f64.sqrt() } else { 0.0 };
            prop_assert_eq!(volatility.to_bits(), m.volatility.to_bits());
        }
    }
}

//! Per-period return statistics: the inputs of the Probabilistic and Deflated Sharpe Ratios.
//!
//! Estimators, for returns `r_1..r_n` with mean `m = Σ r_t / n` and central moments
//! `m_k = Σ (r_t − m)^k / n` (population, divided by `n`):
//!
//! * `std = √(Σ (r_t − m)² / (n − 1))`, the sample standard deviation;
//! * `sharpe = m / std`, per period, risk-free rate 0, not annualised;
//! * `skew = m_3 / m_2^{3/2}` and `kurtosis = m_4 / m_2²`, population moments and RAW kurtosis
//!   (3 for a normal distribution, not the excess 0), as Bailey & López de Prado (2012, "The Sharpe
//!   Ratio Efficient Frontier"; 2014, "The Deflated Sharpe Ratio") use them. With these estimators
//!   `kurtosis ≥ 1 + skew²` always holds, which keeps the PSR variance term positive.

use kernel::metrics::{nan_as_null, same_figure};

/// Moments of a per-period return series, see the module documentation for the estimators.
///
/// Degenerate series give NaN rather than a misleading number: every field but `n` is NaN for an
/// empty series; `std`, `sharpe`, `skew` and `kurtosis` are NaN for a single return; `skew`,
/// `kurtosis` and `sharpe` are NaN when all returns are equal (`std == 0`).
///
/// The one missing-value rule of the stored figures: a moment that does not exist is NaN in
/// memory and `null` in JSON ([`nan_as_null`]), and reads back as NaN; two missing moments
/// are equal (`==` compares NaN with NaN as the same missing value).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct ReturnStats {
    /// Number of returns, `T`.
    pub n: usize,
    /// Arithmetic mean return per period.
    #[serde(with = "nan_as_null")]
    pub mean: f64,
    /// Sample standard deviation (divisor `n − 1`).
    #[serde(with = "nan_as_null")]
    pub std: f64,
    /// `mean / std`: per-period Sharpe ratio with a zero risk-free rate.
    #[serde(with = "nan_as_null")]
    pub sharpe: f64,
    /// Population skewness `m_3 / m_2^{3/2}`.
    #[serde(with = "nan_as_null")]
    pub skew: f64,
    /// Population RAW kurtosis `m_4 / m_2²` (normal = 3).
    #[serde(with = "nan_as_null")]
    pub kurtosis: f64,
}

impl PartialEq for ReturnStats {
    fn eq(&self, other: &Self) -> bool {
        let same = same_figure;
        self.n == other.n
            && same(self.mean, other.mean)
            && same(self.std, other.std)
            && same(self.sharpe, other.sharpe)
            && same(self.skew, other.skew)
            && same(self.kurtosis, other.kurtosis)
    }
}

impl ReturnStats {
    /// Statistics of `returns`: a corrected two-pass mean, then the central moments in one pass.
    pub fn of(returns: &[f64]) -> Self {
        let n = returns.len();
        let count = n as f64;
        let mean = mean(returns);
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for &r in returns {
            let d = r - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        let std = if n >= 2 { (m2 / (count - 1.0)).sqrt() } else { f64::NAN };
        let (m2, m3, m4) = (m2 / count, m3 / count, m4 / count);
        let nan_if_flat = |v: f64| if std > 0.0 { v } else { f64::NAN };
        ReturnStats {
            n,
            mean,
            std,
            sharpe: nan_if_flat(mean / std),
            skew: nan_if_flat(m3 / m2.powf(1.5)),
            kurtosis: nan_if_flat(m4 / (m2 * m2)),
        }
    }

    /// These statistics with every moment but `n` and `mean` that is not finite (an infinite
    /// skew of a near-flat curve, say) set to NaN, the missing value: what the stored figures
    /// keep.
    pub fn defined(self) -> Self {
        let finite = |x: f64| if x.is_finite() { x } else { f64::NAN };
        ReturnStats {
            std: finite(self.std),
            sharpe: finite(self.sharpe),
            skew: finite(self.skew),
            kurtosis: finite(self.kurtosis),
            ..self
        }
    }
}

/// Arithmetic mean, corrected by the mean deviation from a first estimate (the corrected two-pass
/// algorithm): a constant series gets its value back exactly, so its deviations are exactly 0
/// rather than rounding noise that would turn into an enormous Sharpe ratio. NaN when empty.
pub(super) fn mean(xs: &[f64]) -> f64 {
    let count = xs.len() as f64;
    let rough = xs.iter().sum::<f64>() / count;
    rough + xs.iter().map(|&x| x - rough).sum::<f64>() / count
}

/// Simple returns of an equity curve: `r_0 = E_0 / initial − 1`, `r_t = E_t / E_{t−1} − 1`.
///
/// As in the kernel's metrics, a return after the equity reached 0 (or below) is 0: the account
/// is gone and stays gone, rather than producing an infinite or NaN return.
pub fn returns_from_equity(initial: f64, equity: &[f64]) -> Vec<f64> {
    let mut previous = initial;
    equity
        .iter()
        .map(|&e| {
            let r = if previous > 0.0 { e / previous - 1.0 } else { 0.0 };
            previous = e;
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn hand_computed_moments() {
        // r = 1..5: mean 3, deviations −2 −1 0 1 2, Σd² = 10, Σd³ = 0, Σd⁴ = 34.
        // std = √(10/4); m2 = 2, m4 = 6.8, kurtosis = 6.8/4 = 1.7 (excess would be −1.3).
        let s = ReturnStats::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.n, 5);
        assert!(close(s.mean, 3.0));
        assert!(close(s.std, 2.5f64.sqrt()));
        assert!(close(s.sharpe, 3.0 / 2.5f64.sqrt()));
        assert!(close(s.skew, 0.0));
        assert!(close(s.kurtosis, 1.7), "kurtosis {}", s.kurtosis);
    }

    #[test]
    fn skewed_sample() {
        // r = 0, 0, 0, 4: mean 1, d = −1 −1 −1 3: Σd² = 12, Σd³ = 24, Σd⁴ = 84.
        // m2 = 3, m3 = 6, m4 = 21: skew = 6 / 3^1.5 = 1.1547…, kurtosis = 21/9 = 2.333…
        let s = ReturnStats::of(&[0.0, 0.0, 0.0, 4.0]);
        assert!(close(s.std, 2.0));
        assert!(close(s.sharpe, 0.5));
        assert!(close(s.skew, 2.0 / 3f64.sqrt()));
        assert!(close(s.kurtosis, 21.0 / 9.0));
        // The bound kurtosis ≥ 1 + skew² (here 2.333 ≥ 2.333: a two-point distribution, equality).
        assert!(s.kurtosis >= 1.0 + s.skew * s.skew - 1e-12);
    }

    #[test]
    fn a_symmetric_two_point_series_has_raw_kurtosis_one() {
        let s = ReturnStats::of(&[0.01, -0.01, 0.01, -0.01]);
        assert!(close(s.kurtosis, 1.0));
        assert!(close(s.skew, 0.0));
        assert!(close(s.mean, 0.0));
    }

    #[test]
    fn degenerate_series_give_nan() {
        let empty = ReturnStats::of(&[]);
        assert_eq!(empty.n, 0);
        assert!(empty.mean.is_nan() && empty.std.is_nan() && empty.sharpe.is_nan());
        let one = ReturnStats::of(&[0.02]);
        assert_eq!(one.mean, 0.02);
        assert!(one.std.is_nan() && one.sharpe.is_nan() && one.skew.is_nan() && one.kurtosis.is_nan());
        // 0.01 and 0.1 are not binary fractions: a plain mean is off by an ulp and would leave a
        // tiny spurious deviation (and a Sharpe ratio of ~1e15).
        for flat in [ReturnStats::of(&[0.01; 10]), ReturnStats::of(&[0.1; 7]), ReturnStats::of(&[0.0; 3])] {
            assert_eq!(flat.std, 0.0, "{flat:?}");
            assert!(flat.sharpe.is_nan() && flat.skew.is_nan() && flat.kurtosis.is_nan());
        }
    }

    #[test]
    fn returns_of_an_equity_curve() {
        let r = returns_from_equity(100.0, &[110.0, 99.0, 99.0, 0.0, 0.0, 5.0]);
        let want = [0.1, -0.1, 0.0, -1.0, 0.0, 0.0];
        assert_eq!(r.len(), want.len());
        for (got, want) in r.iter().zip(want) {
            assert!(close(*got, want), "{r:?}");
        }
        assert!(returns_from_equity(100.0, &[]).is_empty());
    }
}

//! Two-series statistics: rolling Pearson correlation and rolling beta.
//!
//! Usually fed returns, not prices (correlated trends make any two price series look
//! related). A pair is missing when either of its values is.

use super::rolling::{WindowState, collapsed, finite, roll};
use super::{IndicatorError, check_len, check_window, collect};

/// Rolling Pearson correlation of `x` and `y` over the last `n` pairs into `out`, in
/// `[−1, 1]`; NaN where either series is constant over the window. `n >= 2`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing pair.
pub fn rolling_correlation_into(
    x: &[f64],
    y: &[f64],
    n: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    rolling_pairs("rolling_correlation", (x, y), "y", n, out, |w| {
        let denominator = (w.sxx_centred() * w.syy_centred()).sqrt();
        if denominator > 0.0 { (w.sxy_centred() / denominator).clamp(-1.0, 1.0) } else { f64::NAN }
    })
}

/// Rolling Pearson correlation; see [`rolling_correlation_into`].
pub fn rolling_correlation(x: &[f64], y: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| rolling_correlation_into(x, y, n, out))
}

/// Rolling beta of `asset` on `market` over the last `n` pairs into `out`:
/// `cov(asset, market) / var(market)`, the OLS slope of asset on market; NaN where the
/// market is constant over the window. `n >= 2`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing pair.
pub fn rolling_beta_into(
    asset: &[f64],
    market: &[f64],
    n: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    rolling_pairs("rolling_beta", (asset, market), "market", n, out, |w| {
        let var = w.syy_centred();
        if var > 0.0 { w.sxy_centred() / var } else { f64::NAN }
    })
}

/// Rolling beta; see [`rolling_beta_into`].
pub fn rolling_beta(asset: &[f64], market: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(asset.len(), |out| rolling_beta_into(asset, market, n, out))
}

/// Validates and slides a [`CoMoments`] window over the pairs `(x, y)` (`y` is called
/// `y_name` in errors), writing `stat` of each complete window.
fn rolling_pairs(
    indicator: &'static str,
    (x, y): (&[f64], &[f64]),
    y_name: &'static str,
    n: usize,
    out: &mut [f64],
    stat: impl Fn(&CoMoments) -> f64,
) -> Result<(), IndicatorError> {
    check_window(indicator, n, 2)?;
    check_len(indicator, y_name, x.len(), y.len())?;
    check_len(indicator, "out", x.len(), out.len())?;
    let nf = n as f64;
    let pair = |i: usize| Some((finite(x[i])?, finite(y[i])?));
    roll(CoMoments { n: nf, ..CoMoments::default() }, x.len(), n, pair, |i, w| {
        out[i] = w.map_or(f64::NAN, &stat)
    });
    Ok(())
}

/// Running sums of deviations of `x` and `y` from an anchor pair, their squares and their
/// cross products, for a window of `n` pairs.
#[derive(Debug, Default, Clone, Copy)]
struct CoMoments {
    n: f64,
    anchor: (f64, f64),
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
    magnitude_x: f64,
    magnitude_y: f64,
}

impl CoMoments {
    /// Σ(x − x̄)² of a full window, never negative.
    fn sxx_centred(&self) -> f64 {
        (self.sxx - self.sx * self.sx / self.n).max(0.0)
    }

    /// Σ(y − ȳ)² of a full window, never negative.
    fn syy_centred(&self) -> f64 {
        (self.syy - self.sy * self.sy / self.n).max(0.0)
    }

    /// Σ(x − x̄)(y − ȳ) of a full window.
    fn sxy_centred(&self) -> f64 {
        self.sxy - self.sx * self.sy / self.n
    }

    /// Adds (`sign` = 1) or removes (`sign` = −1) one pair.
    #[inline]
    fn update(&mut self, (x, y): (f64, f64), sign: f64) {
        let (dx, dy) = (x - self.anchor.0, y - self.anchor.1);
        self.sx += sign * dx;
        self.sy += sign * dy;
        self.sxx += sign * dx * dx;
        self.syy += sign * dy * dy;
        self.sxy += sign * dx * dy;
        self.magnitude_x += dx * dx;
        self.magnitude_y += dy * dy;
    }
}

impl WindowState for CoMoments {
    type Item = (f64, f64);

    #[inline]
    fn slide(&mut self, incoming: Option<(f64, f64)>, outgoing: Option<(f64, f64)>) {
        if let Some(p) = incoming {
            self.update(p, 1.0);
        }
        if let Some(p) = outgoing {
            self.update(p, -1.0);
        }
    }

    fn rebase(&mut self, anchor: Option<(f64, f64)>) {
        *self = CoMoments { n: self.n, anchor: anchor.unwrap_or(self.anchor), ..CoMoments::default() };
    }

    fn needs_rebuild(&mut self, n: f64) -> bool {
        collapsed(self.sxx_centred(), self.magnitude_x, n)
            || collapsed(self.syy_centred(), self.magnitude_y, n)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicators::test_util::*;

    const NAN: f64 = f64::NAN;

    /// Two-pass covariance terms (Σ dx dy, Σ dx², Σ dy²) of a window.
    fn naive_terms(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
        let (mx, my) = (mean_var(x).0, mean_var(y).0);
        let dx = x.iter().map(|v| v - mx);
        let dy = y.iter().map(|v| v - my);
        dx.zip(dy).fold((0.0, 0.0, 0.0), |(c, vx, vy), (a, b)| (c + a * b, vx + a * a, vy + b * b))
    }

    #[test]
    fn small_cases_by_hand() {
        let market = [1.0, 2.0, 3.0, 4.0, 4.0];
        let asset = [2.0, 4.0, 6.0, 7.0, 9.0];
        // Window 0..3: asset = 2 · market exactly → correlation 1, beta 2.
        let corr = rolling_correlation(&asset, &market, 3).unwrap();
        let beta = rolling_beta(&asset, &market, 3).unwrap();
        assert_close(&corr[..3], &[NAN, NAN, 1.0], 1e-15);
        assert_close(&beta[..3], &[NAN, NAN, 2.0], 1e-15);
        // Window 1..4: market 2, 3, 4 (Σdx² = 2), asset 4, 6, 7 (mean 17/3, Σdy² = 42/9 = 14/3),
        // Σ dx dy = (−1)(−5/3) + 0 + (1)(4/3) = 3 → beta 1.5, corr 3 / √(2 · 14/3).
        assert_close(&beta[3..4], &[1.5], 1e-14);
        assert_close(&corr[3..4], &[3.0 / (28.0f64 / 3.0).sqrt()], 1e-14);
        // Window 2..5: market 3, 4, 4 is not constant; asset 6, 7, 9.
        // Σdx² = 2/3, Σ dx dy = (−2/3)(−4/3) + (1/3)(−1/3) + (1/3)(5/3) = 12/9 → beta 2.
        assert_close(&beta[4..], &[2.0], 1e-14);
        // Constant market → beta and correlation undefined.
        let flat = [5.0; 5];
        assert!(rolling_beta(&asset, &flat, 3).unwrap().iter().all(|v| v.is_nan()));
        assert!(rolling_correlation(&flat, &asset, 3).unwrap().iter().all(|v| v.is_nan()));
        assert!(matches!(
            rolling_beta(&asset, &market[..4], 3),
            Err(IndicatorError::LengthMismatch { name: "market", found: 4, expected: 5, .. })
        ));
    }

    #[test]
    fn long_series_correlation_matches_two_pass_reference() {
        let x = random_walk(1_000_000, 1e4, 0.01, 3);
        let noise = random_walk(1_000_000, 0.0, 0.01, 4);
        let y: Vec<f64> = x.iter().zip(&noise).map(|(a, b)| 0.5 * a + b).collect();
        let n = 40;
        let corr = rolling_correlation(&x, &y, n).unwrap();
        let beta = rolling_beta(&y, &x, n).unwrap();
        for i in x.len() - 100..x.len() {
            let (c, vx, vy) = naive_terms(&x[i + 1 - n..=i], &y[i + 1 - n..=i]);
            let (want_corr, want_beta) = (c / (vx * vy).sqrt(), c / vx);
            assert!((corr[i] - want_corr).abs() <= 1e-9 * want_corr.abs(), "{i}: {} vs {want_corr}", corr[i]);
            assert!((beta[i] - want_beta).abs() <= 1e-9 * want_beta.abs(), "{i}: {} vs {want_beta}", beta[i]);
        }
    }

    proptest! {
        #[test]
        fn correlation_and_beta_match_from_scratch(x in series(150), y0 in series(150), n in 2usize..20) {
            let len = x.len().min(y0.len());
            let (x, y) = (&x[..len], &y0[..len]);
            let miss = |i: usize| !(x[i].is_finite() && y[i].is_finite());
            let corr = naive_windows(len, n, miss, |w| {
                let (c, vx, vy) = naive_terms(&x[w.clone()], &y[w]);
                c / (vx * vy).sqrt()
            });
            let beta = naive_windows(len, n, miss, |w| {
                let (c, vx, _) = naive_terms(&x[w.clone()], &y[w]);
                c / vx
            });
            assert_close(&rolling_correlation(x, y, n).unwrap(), &corr, 1e-9);
            assert_close(&rolling_beta(y, x, n).unwrap(), &beta, 1e-9);
        }
    }
}

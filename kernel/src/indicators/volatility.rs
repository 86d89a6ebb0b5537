//! Volatility: rolling standard deviation, z-score, Bollinger bands, true range and ATR,
//! log returns and realised volatility.

use super::rolling::{Moments, Roll, deviation, finite, roll, std_of_centred};
use super::smoother::Smoother;
use super::{Bands, IndicatorError, Resumable, check_len, check_stretch, check_window, collect};

/// Rolling population standard deviation (divisor `n`) over the last `n` values into `out`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn rolling_std_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("rolling_std", n, 1)?;
    check_len("rolling_std", "out", x.len(), out.len())?;
    let nf = n as f64;
    roll(Moments::default(), x.len(), n, |i| finite(x[i]), |i, w| out[i] = w.map_or(f64::NAN, |w| w.std(nf)));
    Ok(())
}

/// Rolling population standard deviation; see [`rolling_std_into`].
pub fn rolling_std(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| rolling_std_into(x, n, out))
}

/// Rolling z-score `(xᵢ − mean) / std` over the last `n` values (the current one included,
/// population std) into `out`. NaN where the window's std is 0 (the score is undefined).
///
/// Warm-up: first value at index `n − 1`; `n >= 2`. NaN wherever the window holds a missing value.
pub fn zscore_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    let mut z = ZScore::new(n)?;
    check_len("zscore", "out", x.len(), out.len())?;
    z.extend_into(x, out)
}

/// Rolling z-score; see [`zscore_into`].
pub fn zscore(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| zscore_into(x, n, out))
}

/// Indices a [`ZScore`] scores at a time: its window sums are parked on the stack for so many.
const ZSCORE_CHUNK: usize = 256;

/// [`zscore_into`] a stretch at a time ([`Resumable`]): the window's running sums.
///
/// Computed in two passes per chunk of indices, with the results of one: the sliding window
/// keeps only its sums per index, and a second, branch-free pass turns them into scores, which
/// the compiler vectorises. The scores take four divisions and a square root each and the
/// divider is the bottleneck, so doing two or more at a time is what counts.
#[derive(Debug, Clone, Copy)]
pub struct ZScore {
    /// The window sliding over the series.
    roll: Roll<Moments>,
}

impl ZScore {
    /// A z-score over windows of `n >= 2` before the series' first value.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        check_window("zscore", n, 2)?;
        Ok(ZScore { roll: Roll::new(Moments::default(), n) })
    }
}

impl Resumable for ZScore {
    fn seen(&self) -> usize {
        self.roll.len()
    }

    fn extend_into(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
        check_stretch("zscore", self.roll.len(), x.len(), out.len())?;
        let nf = self.roll.window() as f64;
        for out in out.chunks_mut(ZSCORE_CHUNK) {
            let start = self.roll.len();
            // Per index: the anchor, Σd and Σ(x − mean)² of its window; NaN marks no complete window.
            let mut anchor = [0.0; ZSCORE_CHUNK];
            let mut s1 = [0.0; ZSCORE_CHUNK];
            let mut centred = [f64::NAN; ZSCORE_CHUNK];
            self.roll.run(
                start + out.len(),
                |i| finite(x[i]),
                |i, w| {
                    if let Some(w) = w {
                        (anchor[i - start], s1[i - start], centred[i - start]) = w.parts(nf);
                    }
                },
            );
            let parts = anchor.iter().zip(&s1).zip(&centred);
            for ((o, &x), ((&anchor, &s1), &centred)) in out.iter_mut().zip(&x[start..]).zip(parts) {
                let sd = std_of_centred(centred, nf);
                let z = deviation(x, anchor, s1, nf) / sd;
                *o = if sd > 0.0 { z } else { f64::NAN };
            }
        }
        Ok(())
    }
}

/// Bollinger bands into three buffers: `middle` = SMA(n), `upper`/`lower` = middle ± `k` ×
/// the window's population std (Bollinger's own definition). `k` must be finite and `>= 0`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn bollinger_into(
    x: &[f64],
    n: usize,
    k: f64,
    middle: &mut [f64],
    upper: &mut [f64],
    lower: &mut [f64],
) -> Result<(), IndicatorError> {
    const NAME: &str = "bollinger";
    check_window(NAME, n, 1)?;
    if !(k.is_finite() && k >= 0.0) {
        return Err(IndicatorError::InvalidParameter {
            indicator: NAME,
            name: "k",
            value: k,
            rule: "finite, >= 0",
        });
    }
    check_len(NAME, "middle", x.len(), middle.len())?;
    check_len(NAME, "upper", x.len(), upper.len())?;
    check_len(NAME, "lower", x.len(), lower.len())?;
    let nf = n as f64;
    roll(
        Moments::default(),
        x.len(),
        n,
        |i| finite(x[i]),
        |i, w| {
            let (m, half_width) = w.map_or((f64::NAN, f64::NAN), |w| (w.mean(nf), k * w.std(nf)));
            middle[i] = m;
            upper[i] = m + half_width;
            lower[i] = m - half_width;
        },
    );
    Ok(())
}

/// Bollinger bands; see [`bollinger_into`].
pub fn bollinger(x: &[f64], n: usize, k: f64) -> Result<Bands, IndicatorError> {
    let len = x.len();
    let mut bands =
        Bands { middle: vec![f64::NAN; len], upper: vec![f64::NAN; len], lower: vec![f64::NAN; len] };
    bollinger_into(x, n, k, &mut bands.middle, &mut bands.upper, &mut bands.lower)?;
    Ok(bands)
}

/// True range into `out`: `max(high − low, |high − prev close|, |low − prev close|)`, or
/// `high − low` where there is no usable previous close (index 0, or after a missing bar).
///
/// No warm-up. A bar is missing when any of its high, low or close is; the output is NaN
/// there only.
pub fn true_range_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    check_hlc("true_range", high, low, close)?;
    check_len("true_range", "out", high.len(), out.len())?;
    for (i, o) in out.iter_mut().enumerate() {
        *o = true_range_at(high, low, close, i).unwrap_or(f64::NAN);
    }
    Ok(())
}

/// True range; see [`true_range_into`].
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    collect(high.len(), |out| true_range_into(high, low, close, out))
}

/// Average true range with Wilder's smoothing (`α = 1/n`) into `out`, seeded with the mean
/// of the first `n` true ranges, the first being `high − low` (Wilder's and StockCharts'
/// convention; TA-Lib skips that first bar and starts one index later).
///
/// Warm-up: first value at index `n − 1`. A missing bar (any of high, low, close) resets it:
/// NaN there and it warms up again as if the series started right after the gap.
pub fn atr_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    n: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    check_window("atr", n, 1)?;
    check_hlc("atr", high, low, close)?;
    check_len("atr", "out", high.len(), out.len())?;
    let mut s = Smoother::wilder(n);
    for (i, o) in out.iter_mut().enumerate() {
        *o = s.update(true_range_at(high, low, close, i));
    }
    Ok(())
}

/// Average true range; see [`atr_into`].
pub fn atr(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(high.len(), |out| atr_into(high, low, close, n, out))
}

/// Fails unless `low` and `close` have the length of `high`.
fn check_hlc(
    indicator: &'static str,
    high: &[f64],
    low: &[f64],
    close: &[f64],
) -> Result<(), IndicatorError> {
    check_len(indicator, "low", high.len(), low.len())?;
    check_len(indicator, "close", high.len(), close.len())
}

/// True range of bar `i`, `None` if the bar is missing.
#[inline]
fn true_range_at(high: &[f64], low: &[f64], close: &[f64], i: usize) -> Option<f64> {
    let (h, l) = (finite(high[i])?, finite(low[i])?);
    finite(close[i])?;
    let range = h - l;
    let prev_close =
        if i == 0 { None } else { finite(high[i - 1]).and(finite(low[i - 1])).and(finite(close[i - 1])) };
    Some(prev_close.map_or(range, |c| range.max((h - c).abs()).max((l - c).abs())))
}

/// Realised volatility into `out`: the rolling population standard deviation of the last `n`
/// log returns `ln(xᵢ / xᵢ₋₁)`, times `√periods_per_year` (252 for daily equity bars, 365 for
/// daily crypto, 252 × 390 for regular-session minute bars). `n >= 2`; `periods_per_year`
/// must be finite and positive.
///
/// Warm-up: first value at index `n` (it needs `n` returns). A missing or non-positive price
/// at `k` makes the returns at `k` and `k + 1` missing, so the output is NaN from `k` to
/// `k + n` and recovers at `k + n + 1`, as if the series started right after the gap.
///
/// Allocating nothing, it takes each log return when the window needs it (up to three times);
/// [`realised_vol`] computes them once into a buffer, with identical results.
pub fn realised_vol_into(
    x: &[f64],
    n: usize,
    periods_per_year: f64,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    let mut vol = RealisedVol::new(n, periods_per_year)?;
    check_len(REALISED_VOL, "out", x.len(), out.len())?;
    vol.extend_into(x, out)
}

/// Realised volatility; see [`realised_vol_into`]. Each log return is computed once.
pub fn realised_vol(x: &[f64], n: usize, periods_per_year: f64) -> Result<Vec<f64>, IndicatorError> {
    let mut vol = RealisedVol::new(n, periods_per_year)?;
    collect(x.len(), |out| vol.extend_with(x, out, &mut Vec::new()))
}

/// The name [`realised_vol`]'s errors give.
const REALISED_VOL: &str = "realised_vol";

/// [`realised_vol_into`] a stretch at a time ([`Resumable`]): the window's running sums of
/// log returns.
#[derive(Debug, Clone, Copy)]
pub struct RealisedVol {
    /// The window sliding over the log returns.
    roll: Roll<Moments>,
    /// `√periods_per_year`.
    scale: f64,
}

impl RealisedVol {
    /// Realised volatility over windows of `n >= 2` log returns, annualised with
    /// `periods_per_year` (finite, positive), before the series' first price.
    pub fn new(n: usize, periods_per_year: f64) -> Result<Self, IndicatorError> {
        check_window(REALISED_VOL, n, 2)?;
        if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
            return Err(IndicatorError::InvalidParameter {
                indicator: REALISED_VOL,
                name: "periods_per_year",
                value: periods_per_year,
                rule: "finite, > 0",
            });
        }
        Ok(RealisedVol { roll: Roll::new(Moments::default(), n), scale: periods_per_year.sqrt() })
    }

    /// [`Resumable::extend_into`] taking each log return once: those the stretch reads (its
    /// own and the `n` before it) are computed into `returns`, scratch the caller keeps so
    /// that stretch after stretch allocates nothing. Same results.
    pub fn extend_with(
        &mut self,
        x: &[f64],
        out: &mut [f64],
        returns: &mut Vec<f64>,
    ) -> Result<(), IndicatorError> {
        check_stretch(REALISED_VOL, self.roll.len(), x.len(), out.len())?;
        let base = self.roll.len().saturating_sub(self.roll.window());
        returns.clear();
        returns.extend((base..x.len()).map(|i| log_return_at(x, i).unwrap_or(f64::NAN)));
        self.run(x.len(), |i| finite(returns[i - base]), out);
        Ok(())
    }

    /// `√periods_per_year` times the rolling population std of the log returns `at(i)`, for
    /// the indices from those seen to `end`, into `out`.
    fn run(&mut self, end: usize, at: impl Fn(usize) -> Option<f64>, out: &mut [f64]) {
        let (from, nf) = (self.roll.len(), self.roll.window() as f64);
        // The window sums park each Σ(x − mean)² in `out` (NaN: no complete window); a separate
        // branch-free pass, which the compiler vectorises, then takes the divisions and square
        // roots that would otherwise hold up the sliding window. Same results as in one pass.
        self.roll.run(end, at, |i, w| out[i - from] = w.map_or(f64::NAN, |w| w.centred(nf)));
        for o in out.iter_mut() {
            *o = self.scale * std_of_centred(*o, nf);
        }
    }
}

impl Resumable for RealisedVol {
    fn seen(&self) -> usize {
        self.roll.len()
    }

    fn extend_into(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
        check_stretch(REALISED_VOL, self.roll.len(), x.len(), out.len())?;
        self.run(x.len(), |i| log_return_at(x, i), out);
        Ok(())
    }
}

/// Log returns `ln(xᵢ / xᵢ₋₁)` into `out` (the usual input to [`rolling_correlation`] and
/// [`rolling_beta`]): NaN at index 0 and wherever either price is missing or not positive.
///
/// [`rolling_correlation`]: super::rolling_correlation
/// [`rolling_beta`]: super::rolling_beta
pub fn log_returns_into(x: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
    check_len("log_returns", "out", x.len(), out.len())?;
    for (i, o) in out.iter_mut().enumerate() {
        *o = log_return_at(x, i).unwrap_or(f64::NAN);
    }
    Ok(())
}

/// Log returns; see [`log_returns_into`].
pub fn log_returns(x: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| log_returns_into(x, out))
}

/// `ln(xᵢ / xᵢ₋₁)`, `None` at index 0 or where it is not finite.
#[inline]
fn log_return_at(x: &[f64], i: usize) -> Option<f64> {
    if i == 0 { None } else { finite((x[i] / x[i - 1]).ln()) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicators::test_util::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn bollinger_small_case_by_hand() {
        // Window [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, population variance 4, std 2.
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, 9.0];
        let b = bollinger(&x, 8, 2.0).unwrap();
        assert_eq!(leading_nans(&b.middle), 7);
        assert_eq!((b.middle[7], b.upper[7], b.lower[7]), (5.0, 9.0, 1.0));
        // Next window [4, 4, 4, 5, 5, 7, 9, 9]: mean 47/8, Σ(x − mean)² = 32.875, var 4.109375.
        let sd = 4.109375f64.sqrt();
        assert_close(&b.upper[8..], &[47.0 / 8.0 + 2.0 * sd], 1e-14);
        assert_close(&b.lower[8..], &[47.0 / 8.0 - 2.0 * sd], 1e-14);
        assert_close(&rolling_std(&x, 8).unwrap()[7..], &[2.0, sd], 1e-14);
        // z-score of 9 in the first full window: (9 − 5) / 2.
        assert_close(&zscore(&x, 8).unwrap()[7..8], &[2.0], 1e-14);
    }

    #[test]
    fn constant_window_has_zero_std_and_undefined_zscore() {
        let x = [3.0, 3.0, 3.0, 4.0];
        assert_eq!(rolling_std(&x, 3).unwrap()[2], 0.0);
        let z = zscore(&x, 3).unwrap();
        assert!(z[2].is_nan());
        // Window [3, 3, 4]: mean 10/3, std √2/3; z = (4 − 10/3) / (√2/3) = √2.
        assert_close(&z[3..], &[2f64.sqrt()], 1e-14);
    }

    #[test]
    fn bad_arguments_are_rejected() {
        let x = [1.0; 4];
        let mut a = [0.0; 4];
        let (mut b, mut c) = ([0.0; 4], [0.0; 3]);
        assert!(matches!(bollinger(&x, 2, -1.0), Err(IndicatorError::InvalidParameter { name: "k", .. })));
        assert!(matches!(bollinger(&x, 2, f64::NAN), Err(IndicatorError::InvalidParameter { .. })));
        assert!(matches!(
            bollinger_into(&x, 2, 2.0, &mut a, &mut b, &mut c),
            Err(IndicatorError::LengthMismatch { name: "lower", found: 3, .. })
        ));
        assert!(matches!(zscore(&x, 1), Err(IndicatorError::WindowTooShort { min: 2, .. })));
    }

    #[test]
    fn long_series_std_matches_two_pass_reference() {
        // Prices around 1e4 with moves of ~0.01: the naive E[x²] − E[x]² would lose every digit.
        let x = random_walk(1_000_000, 1e4, 0.01, 11);
        let n = 30;
        let got = rolling_std(&x, n).unwrap();
        for i in x.len() - 100..x.len() {
            let want = mean_var(&x[i + 1 - n..=i]).1.sqrt();
            assert!((got[i] - want).abs() <= 1e-9 * want, "{i}: {} vs {want}", got[i]);
        }
    }

    #[test]
    fn gap_then_quiet_stretch_keeps_full_precision() {
        // A jump of 1e4 followed by moves of 1e-3: removing the pre-gap values cancels almost
        // all of the running sum of squares; the window must be rebuilt, not trusted.
        // The gap sits mid-block (507 is not a multiple of n), so the periodic rebuild alone
        // would come too late.
        let mut x = random_walk(507, 1e4, 50.0, 5);
        x.extend(random_walk(500, 2e4, 1e-3, 6));
        let n = 20;
        let got = rolling_std(&x, n).unwrap();
        let z = zscore(&x, n).unwrap();
        for i in 507 + n..x.len() {
            let (m, v) = mean_var(&x[i + 1 - n..=i]);
            let want_z = (x[i] - m) / v.sqrt();
            assert!((got[i] - v.sqrt()).abs() <= 1e-9 * v.sqrt(), "{i}: {} vs {}", got[i], v.sqrt());
            assert!((z[i] - want_z).abs() <= 1e-8 * (1.0 + want_z.abs()), "{i}: {} vs {want_z}", z[i]);
        }
    }

    proptest! {
        /// Run a stretch at a time, the z-score and realised volatility give the one-shot
        /// values bit for bit (stretches past a chunk of the z-score's included).
        #[test]
        fn zscore_and_realised_vol_resume_to_the_bit(x in series(700), n in 2usize..40, cuts in cuts(700)) {
            let z = zscore(&x, n).unwrap();
            assert_same_bits(&in_stretches(ZScore::new(n).unwrap(), &x, &cuts), &z);
            let mut one_pass = vec![0.0; x.len()];
            zscore_into(&x, n, &mut one_pass).unwrap();
            assert_same_bits(&one_pass, &z);
            let vol = realised_vol(&x, n, 252.0).unwrap();
            assert_same_bits(&in_stretches(RealisedVol::new(n, 252.0).unwrap(), &x, &cuts), &vol);
            // Through a kept buffer of log returns, as a caller working in blocks does.
            let (mut with, mut returns, mut resumed) = (RealisedVol::new(n, 252.0).unwrap(), Vec::new(), Vec::new());
            let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c < x.len()).chain([x.len()]).collect();
            ends.sort_unstable();
            for end in ends {
                let mut out = vec![0.0; end - with.seen()];
                with.extend_with(&x[..end], &mut out, &mut returns).unwrap();
                resumed.extend(out);
            }
            assert_same_bits(&resumed, &vol);
        }

        #[test]
        fn rolling_moments_match_from_scratch(x in series(150), n in 2usize..20, k in 0.0..3.0f64) {
            let miss = |i: usize| !x[i].is_finite();
            let sd = naive_windows(x.len(), n, miss, |w| mean_var(&x[w]).1.sqrt());
            let z = naive_windows(x.len(), n, miss, |w| {
                let (m, v) = mean_var(&x[w.clone()]);
                (x[w.end - 1] - m) / v.sqrt()
            });
            let mid = naive_windows(x.len(), n, miss, |w| mean_var(&x[w]).0);
            let up: Vec<f64> = mid.iter().zip(&sd).map(|(m, s)| m + k * s).collect();
            let b = bollinger(&x, n, k).unwrap();
            assert_close(&rolling_std(&x, n).unwrap(), &sd, 1e-9);
            assert_close(&zscore(&x, n).unwrap(), &z, 1e-9);
            assert_close(&b.middle, &mid, 1e-12);
            assert_close(&b.upper, &up, 1e-12);
        }

        #[test]
        fn realised_vol_matches_from_scratch(x in series(150), n in 2usize..20, ppy in 1.0..1000.0f64) {
            let r: Vec<f64> = (0..x.len()).map(|i| if i == 0 { NAN } else { (x[i] / x[i - 1]).ln() }).collect();
            let want = naive_windows(x.len(), n, |i| !r[i].is_finite(), |w| mean_var(&r[w]).1.sqrt() * ppy.sqrt());
            assert_close(&realised_vol(&x, n, ppy).unwrap(), &want, 1e-9);
        }

        #[test]
        fn the_two_pass_forms_are_bit_identical_to_one_pass(
            x in series(400),
            n in 2usize..30,
            ppy in 1.0..1000.0f64,
        ) {
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut z = vec![0.0; x.len()];
            zscore_into(&x, n, &mut z).unwrap();
            prop_assert_eq!(bits(&zscore(&x, n).unwrap()), bits(&z));
            // The square roots in one pass with the window: rolling_std of the log returns.
            let one_pass: Vec<f64> =
                rolling_std(&log_returns(&x).unwrap(), n).unwrap().iter().map(|sd| ppy.sqrt() * sd).collect();
            let mut vol = vec![0.0; x.len()];
            realised_vol_into(&x, n, ppy, &mut vol).unwrap();
            prop_assert_eq!(bits(&vol), bits(&one_pass));
            prop_assert_eq!(bits(&realised_vol(&x, n, ppy).unwrap()), bits(&one_pass));
        }

        #[test]
        fn atr_matches_restarted_wilder_recursion(
            bars in prop::collection::vec((series(2), 0.0..5.0f64, 0.0..1.0f64), 0..120),
            n in 1usize..15,
        ) {
            // Each bar: a close (possibly missing), a range, and where the close sits in it.
            let close: Vec<f64> = bars.iter().map(|(c, _, _)| c.first().copied().unwrap_or(100.0)).collect();
            let high: Vec<f64> = bars.iter().zip(&close).map(|((_, r, f), c)| c + r * (1.0 - f)).collect();
            let low: Vec<f64> = bars.iter().zip(&close).map(|((_, r, f), c)| c - r * f).collect();
            let miss = |i: usize| !close[i].is_finite();
            let want = restart_reference(close.len(), miss, |r| naive_atr(&high[r.clone()], &low[r.clone()], &close[r], n));
            assert_close(&atr(&high, &low, &close, n).unwrap(), &want, 1e-12);
        }
    }

    /// Wilder's ATR written out plainly for one run of complete bars.
    fn naive_atr(h: &[f64], l: &[f64], c: &[f64], n: usize) -> Vec<f64> {
        let tr: Vec<f64> = (0..h.len())
            .map(|i| {
                let r = h[i] - l[i];
                if i == 0 { r } else { r.max((h[i] - c[i - 1]).abs()).max((l[i] - c[i - 1]).abs()) }
            })
            .collect();
        let mut out = vec![NAN; h.len()];
        if h.len() >= n {
            let mut a = tr[..n].iter().sum::<f64>() / n as f64;
            out[n - 1] = a;
            for i in n..h.len() {
                a = (a * (n - 1) as f64 + tr[i]) / n as f64;
                out[i] = a;
            }
        }
        out
    }

    #[test]
    fn atr_small_case_by_hand() {
        let high = [10.0, 11.0, 12.0, 10.0, 10.5];
        let low = [9.0, 10.0, 10.5, 9.0, 9.5];
        let close = [9.5, 10.5, 11.0, 9.2, 10.4];
        // TR: 1 (h − l); max(1, 1.5, 0.5) = 1.5; max(1.5, 1.5, 0) = 1.5; gap down
        // max(1, 1, 2) = 2; max(1, 1.3, 0.3) = 1.3.
        assert_close(&true_range(&high, &low, &close).unwrap(), &[1.0, 1.5, 1.5, 2.0, 1.3], 1e-15);
        // ATR(2): seed (1 + 1.5)/2 = 1.25; (1.25 + 1.5)/2 = 1.375; (1.375 + 2)/2 = 1.6875;
        // (1.6875 + 1.3)/2 = 1.49375.
        let got = atr(&high, &low, &close, 2).unwrap();
        assert_close(&got, &[NAN, 1.25, 1.375, 1.6875, 1.49375], 1e-15);
        // A missing close at index 2 drops bars 2; bar 3 restarts from its own high − low.
        let mut gappy = close;
        gappy[2] = NAN;
        assert_close(&true_range(&high, &low, &gappy).unwrap(), &[1.0, 1.5, NAN, 1.0, 1.3], 1e-15);
        assert_close(&atr(&high, &low, &gappy, 2).unwrap(), &[NAN, 1.25, NAN, NAN, 1.15], 1e-15);
        assert!(matches!(
            atr(&high, &low, &close[..4], 2),
            Err(IndicatorError::LengthMismatch { name: "close", .. })
        ));
    }

    #[test]
    fn realised_vol_small_case_by_hand() {
        let x = [100.0, 110.0, 99.0, 108.9];
        // Returns ln 1.1, ln 0.9, ln 1.1; window of two: population std = |ln 1.1 − ln 0.9| / 2.
        let sd = (1.1f64.ln() - 0.9f64.ln()) / 2.0;
        let got = realised_vol(&x, 2, 252.0).unwrap();
        assert_close(&got, &[NAN, NAN, sd * 252f64.sqrt(), sd * 252f64.sqrt()], 1e-14);
        let r = log_returns(&[100.0, 110.0, NAN, 99.0, 0.0, 50.0]).unwrap();
        assert_close(&r, &[NAN, 1.1f64.ln(), NAN, NAN, NAN, NAN], 1e-15);
        assert!(matches!(realised_vol(&x, 2, 0.0), Err(IndicatorError::InvalidParameter { .. })));
        assert!(matches!(realised_vol(&x, 1, 252.0), Err(IndicatorError::WindowTooShort { min: 2, .. })));
        let gap = [100.0, 110.0, NAN, 99.0, 108.9, 98.01, 107.811];
        // Returns at 2 and 3 are missing: NaN through index 2 + 2, back at 5.
        assert_eq!(
            realised_vol(&gap, 2, 1.0).unwrap().iter().map(|v| v.is_nan()).collect::<Vec<_>>(),
            [true, true, true, true, true, false, false]
        );
    }

    #[test]
    fn missing_value_poisons_its_windows_then_recovers() {
        let x = [1.0, 3.0, NAN, 5.0, 7.0, 9.0];
        assert_close(&rolling_std(&x, 2).unwrap(), &[NAN, 1.0, NAN, NAN, 1.0, 1.0], 1e-15);
    }
}

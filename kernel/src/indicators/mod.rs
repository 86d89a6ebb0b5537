//! Technical indicators: pure functions over `f64` slices, one module per family.
//!
//! # Conventions shared by every indicator
//!
//! - **Two forms.** `foo_into(inputs.., out: &mut [f64])` writes into caller-owned buffers and
//!   allocates nothing (the parameter sweep reuses its buffers); `foo(inputs..)` is the
//!   `Vec`-returning convenience wrapper. Outputs are index-aligned with the inputs.
//! - **Errors.** Every function validates its arguments and returns [`IndicatorError`] for a
//!   window below the indicator's minimum, inputs/outputs of unequal length, or an invalid
//!   parameter; it never panics on bad arguments.
//! - **Warm-up.** Indices before the first computable value are NaN; each function documents
//!   its warm-up (e.g. `sma(n)` first value at index `n − 1`, `rsi(n)` at index `n`).
//! - **Missing data.** A non-finite input (NaN or ±inf: missing bars in panels arrive as NaN)
//!   is *missing*. Sliding-window indicators output NaN for exactly the windows that contain
//!   a missing value and recover as soon as it leaves the window. Recursive indicators (EMA,
//!   RSI, ATR) have unbounded memory, so a missing value resets them: the output is NaN there
//!   and they warm up again exactly as if the series started right after it.
//! - **Numerics.** Rolling sums are kept relative to an anchor value from the window and are
//!   recomputed exactly each time the window has fully turned over, so the O(n) results match
//!   a from-scratch computation to ~1e-12 relative however long the series. Variances are
//!   sums of squared deviations, never `E[x²] − E[x]²` on raw prices, and are clamped at 0.
//! - **Resumable forms.** The indicators behind the strongest-`N` selection (RSI, rate of
//!   change, z-score, realised volatility, rolling max/min, relative volume) also come as a
//!   state ([`Rsi`], [`Roc`], [`ZScore`], [`RealisedVol`], [`RollingExtreme`],
//!   [`RelativeVolume`]) that computes a series a stretch at a time ([`Resumable`]): the
//!   stretches give the one-shot function's values to the bit, and the one-shot function is
//!   that state run over the whole series.

pub mod channels;
pub mod correlation;
pub mod moving_average;
pub mod oscillators;
pub mod volatility;
pub mod volume;

mod rolling;
mod smoother;
#[cfg(test)]
mod test_util;

pub use channels::*;
pub use correlation::*;
pub use moving_average::*;
pub use oscillators::*;
pub use volatility::*;
pub use volume::*;

/// Invalid arguments to an indicator; `indicator` names the function that rejected them.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    /// The window length is below the indicator's minimum (1, or 2 where a spread is needed).
    #[error("{indicator}: window {window} is too short (minimum {min})")]
    WindowTooShort {
        /// The function that rejected the window.
        indicator: &'static str,
        /// The window given.
        window: usize,
        /// The smallest window the indicator accepts.
        min: usize,
    },
    /// An input or output slice differs in length from the first input.
    #[error("{indicator}: `{name}` has length {found}, expected {expected} (the first input's length)")]
    LengthMismatch {
        /// The function that rejected the slice.
        indicator: &'static str,
        /// The parameter name of the offending slice.
        name: &'static str,
        /// Length of the first input.
        expected: usize,
        /// Length of the offending slice.
        found: usize,
    },
    /// A numeric parameter is outside its documented domain.
    #[error("{indicator}: `{name}` = {value} is out of range ({rule})")]
    InvalidParameter {
        /// The function that rejected the parameter.
        indicator: &'static str,
        /// The parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What the value must satisfy.
        rule: &'static str,
    },
    /// A resumable indicator was given a series shorter than the part it has already seen.
    #[error("{indicator}: the series has {found} values, fewer than the {seen} already seen")]
    Rewound {
        /// The indicator that rejected the series.
        indicator: &'static str,
        /// Values it had seen.
        seen: usize,
        /// Length of the series given.
        found: usize,
    },
    /// A resumable indicator's output does not hold exactly the new stretch of its series.
    #[error("{indicator}: `out` has length {found}, expected {expected} (the values not yet seen)")]
    StretchMismatch {
        /// The indicator that rejected the output.
        indicator: &'static str,
        /// Values of the series not yet seen.
        expected: usize,
        /// Length of `out`.
        found: usize,
    },
}

/// An indicator computed a stretch of its series at a time, its state carried from one stretch
/// to the next: the values of `0..a` then of `a..b` are, bit for bit, those one call gives for
/// `0..b`. A caller working through a long series in blocks pays for each bar once.
pub trait Resumable {
    /// Values given so far: the next stretch starts at this index.
    fn seen(&self) -> usize;

    /// Writes the values of indices `self.seen()..x.len()` into `out` (of that length). `x` is
    /// the series from its first element up to the stretch's end, the part already seen
    /// unchanged (the indicator reads back as far as its window needs).
    fn extend_into(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), IndicatorError>;
}

/// Fails unless `out` holds the stretch `seen..x_len` of a resumable `indicator`.
fn check_stretch(
    indicator: &'static str,
    seen: usize,
    x_len: usize,
    out_len: usize,
) -> Result<(), IndicatorError> {
    if x_len < seen {
        return Err(IndicatorError::Rewound { indicator, seen, found: x_len });
    }
    if out_len != x_len - seen {
        return Err(IndicatorError::StretchMismatch { indicator, expected: x_len - seen, found: out_len });
    }
    Ok(())
}

/// Fails unless `window >= min`.
fn check_window(indicator: &'static str, window: usize, min: usize) -> Result<(), IndicatorError> {
    if window < min {
        return Err(IndicatorError::WindowTooShort { indicator, window, min });
    }
    Ok(())
}

/// Fails unless the slice called `name` has the first input's length `expected`.
fn check_len(
    indicator: &'static str,
    name: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), IndicatorError> {
    if found != expected {
        return Err(IndicatorError::LengthMismatch { indicator, name, expected, found });
    }
    Ok(())
}

/// Runs an `_into` function on a fresh NaN-filled buffer of `len` and returns it.
fn collect(
    len: usize,
    fill: impl FnOnce(&mut [f64]) -> Result<(), IndicatorError>,
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![f64::NAN; len];
    fill(&mut out)?;
    Ok(out)
}

/// Three index-aligned lines around a series (Bollinger bands, Donchian channel).
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// Centre line.
    pub middle: Vec<f64>,
    /// Upper line.
    pub upper: Vec<f64>,
    /// Lower line.
    pub lower: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_indicator_and_the_offending_argument() {
        let err = sma(&[1.0, 2.0], 0).unwrap_err();
        assert_eq!(err, IndicatorError::WindowTooShort { indicator: "sma", window: 0, min: 1 });
        assert_eq!(err.to_string(), "sma: window 0 is too short (minimum 1)");

        let mut out = [0.0; 3];
        let err = sma_into(&[1.0, 2.0], 1, &mut out).unwrap_err();
        assert_eq!(
            err,
            IndicatorError::LengthMismatch { indicator: "sma", name: "out", expected: 2, found: 3 }
        );
        assert!(err.to_string().contains("`out` has length 3, expected 2"));
    }

    #[test]
    fn windows_longer_than_the_series_give_all_nan_without_panicking() {
        let x = [1.0, 2.0, 3.0];
        let all_nan = |v: Vec<f64>| v.len() == 3 && v.iter().all(|v| v.is_nan());
        for n in [4, usize::MAX] {
            assert!(all_nan(sma(&x, n).unwrap()));
            assert!(all_nan(ema(&x, n).unwrap()));
            assert!(all_nan(wma(&x, n).unwrap()));
            assert!(all_nan(rsi(&x, n).unwrap()));
            assert!(all_nan(roc(&x, n).unwrap()));
            assert!(all_nan(rolling_std(&x, n).unwrap()));
            assert!(all_nan(zscore(&x, n).unwrap()));
            assert!(all_nan(realised_vol(&x, n, 252.0).unwrap()));
            assert!(all_nan(atr(&x, &x, &x, n).unwrap()));
            assert!(all_nan(rolling_max(&x, n).unwrap()));
            assert!(all_nan(donchian(&x, &x, n).unwrap().middle));
            assert!(all_nan(rolling_correlation(&x, &x, n).unwrap()));
            assert!(all_nan(relative_volume(&x, n).unwrap()));
            assert!(all_nan(relative_volume_by_slot(&x, &[0, 1, 0], n).unwrap()));
        }
    }

    #[test]
    fn empty_input_gives_empty_output() {
        assert_eq!(sma(&[], 3).unwrap(), Vec::<f64>::new());
        assert_eq!(ema(&[], 3).unwrap(), Vec::<f64>::new());
    }
}

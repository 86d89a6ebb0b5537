//! Size limits, checked before anything of that size is allocated.
//!
//! A sweep's grid size is computed from its axes' lengths (without expanding them) and refused
//! past [`DEFAULT_MAX_COMBINATIONS`], which `[sweep] max_combinations` raises; a random sweep's
//! `samples` obeys the same limit. Worker threads are capped at [`THREADS_PER_CORE`] × the
//! cores. The GA's own caps (population, generations) live in [`evolve::ga::GaConfig::validate`].

use std::num::NonZeroUsize;

/// Combinations a sweep may run unless `[sweep] max_combinations` says otherwise: a million
/// result rows are a few hundred MB, and on the Pi hours of backtests.
pub const DEFAULT_MAX_COMBINATIONS: u64 = 1_000_000;

/// `--threads` may ask for at most this many threads per core.
pub const THREADS_PER_CORE: usize = 4;

/// Fewest in-sample bars an evolution accepts: fewer give statistics (Sharpe, drawdown) of
/// noise, or NaN from two bars.
pub const MIN_IN_SAMPLE_BARS: usize = 20;

/// A requested size out of its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` = {value} is out of range: {allowed}")]
pub struct LimitError {
    /// The option or key, e.g. `--threads`.
    pub field: &'static str,
    /// The value requested.
    pub value: usize,
    /// The allowed range, with the reason, in words.
    pub allowed: String,
}

/// The largest `--threads` this machine accepts: [`THREADS_PER_CORE`] × its cores.
pub fn max_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get) * THREADS_PER_CORE
}

/// Checks a requested number of worker threads against `1..=max_threads()`.
pub fn check_threads(n: usize) -> Result<usize, LimitError> {
    let max = max_threads();
    if (1..=max).contains(&n) {
        return Ok(n);
    }
    let allowed = format!("1 to {max} ({THREADS_PER_CORE} × the {} cores)", max / THREADS_PER_CORE);
    Err(LimitError { field: "--threads", value: n, allowed })
}

/// Number of values of the integer range `lo..=hi` by `step` (`lo <= hi`, `step >= 1`), exact
/// for any `i64` bounds.
pub(crate) fn int_count(lo: i64, hi: i64, step: i64) -> u64 {
    (((i128::from(hi) - i128::from(lo)) / i128::from(step)) as u64).saturating_add(1)
}

/// Number of values `min + k·step` up to `max` (with a little slack for rounding), saturating
/// at `u64::MAX` instead of wrapping for a step that vanishes next to the range.
pub(crate) fn real_count(lo: f64, hi: f64, step: f64) -> u64 {
    // `as` saturates: a huge or infinite quotient becomes u64::MAX.
    (((hi - lo) / step * (1.0 + 1e-12)).floor() as u64).saturating_add(1)
}

/// The product of `lengths`, `None` when it exceeds `u64`.
pub(crate) fn grid_size(lengths: impl IntoIterator<Item = u64>) -> Option<u64> {
    lengths.into_iter().try_fold(1u64, u64::checked_mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_computed_without_expanding() {
        assert_eq!(int_count(1, 10, 1), 10);
        assert_eq!(int_count(1, 10, 4), 3);
        assert_eq!(int_count(i64::MIN, i64::MAX, 1), u64::MAX);
        assert_eq!(real_count(0.0, 1.0, 0.1), 11);
        assert_eq!(real_count(0.0, 1.0, 1e-9), 1_000_000_001);
        assert_eq!(real_count(0.0, 1e300, 1e-300), u64::MAX);
        assert_eq!(grid_size([10, 20, 30]), Some(6000));
        assert_eq!(grid_size([u64::MAX, 2]), None);
    }

    #[test]
    fn threads_are_capped_at_four_per_core() {
        let max = max_threads();
        assert_eq!(check_threads(1), Ok(1));
        assert_eq!(check_threads(max), Ok(max));
        for n in [0, max + 1, usize::MAX] {
            let e = check_threads(n).unwrap_err();
            assert_eq!(e.field, "--threads");
            assert!(e.to_string().contains(&format!("1 to {max}")), "{e}");
        }
    }
}

//! In-sample / out-of-sample windows over bar indices: a single holdout split and walk-forward
//! folds (Pardo 2008, "The Evaluation and Optimization of Trading Strategies", ch. 11).
//!
//! Walk-forward layout: the `folds` test windows are consecutive, equally long, do not overlap,
//! and the last one ends at `n_bars`; everything before the first test window is the first train
//! window. Each train window ends where its test window starts. Anchored: every train window
//! starts at bar 0 and grows fold by fold. Rolling: every train window has the length of the first
//! one and slides with its test window. Fold 0 is the same in both modes.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a split is impossible; each variant names the offending field.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SplitError {
    /// A fraction outside the open interval (0, 1), or not a number.
    #[error("`{field}` must lie strictly between 0 and 1, got {value}")]
    Fraction {
        /// The field: `is_fraction` or `test_fraction`.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A count that must be positive is 0.
    #[error("`{field}` must be at least 1")]
    Zero {
        /// The field: `folds` or `test_len`.
        field: &'static str,
    },
    /// The bars do not leave every window at least one bar.
    #[error("`n_bars` = {n_bars} is too few: {what} needs at least {needed}")]
    TooFewBars {
        /// The number of bars given.
        n_bars: usize,
        /// What was asked for, in words.
        what: String,
        /// The smallest workable number of bars (for a fraction, the smallest that leaves every
        /// window a bar at that fraction may be larger still).
        needed: usize,
    },
}

/// A single in-sample / out-of-sample split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// In-sample bars, from 0.
    pub in_sample: Range<usize>,
    /// Out-of-sample bars, up to `n_bars`.
    pub out_of_sample: Range<usize>,
}

impl Split {
    /// The first `round(n_bars · is_fraction)` bars in-sample, the rest out-of-sample; both must
    /// be non-empty.
    pub fn holdout(n_bars: usize, is_fraction: f64) -> Result<Split, SplitError> {
        check_fraction("is_fraction", is_fraction)?;
        let cut = (n_bars as f64 * is_fraction).round() as usize;
        if cut == 0 || cut >= n_bars {
            let what = format!("a holdout at is_fraction {is_fraction} with both parts non-empty");
            return Err(SplitError::TooFewBars { n_bars, what, needed: 2 });
        }
        Ok(Split { in_sample: 0..cut, out_of_sample: cut..n_bars })
    }
}

/// How long each walk-forward test window is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestLen {
    /// `round(n_bars · fraction)` bars, fraction in (0, 1).
    Fraction(f64),
    /// A fixed number of bars.
    Bars(usize),
}

/// Whether train windows grow from bar 0 or slide with a fixed length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalkForwardMode {
    /// Fixed-length train window sliding forward.
    Rolling,
    /// Train window always starting at bar 0.
    Anchored,
}

/// One walk-forward fold: train on `train`, then test on `test`, which directly follows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Training bars.
    pub train: Range<usize>,
    /// Test bars, starting at `train.end`.
    pub test: Range<usize>,
}

/// `folds` walk-forward folds over `n_bars` bars (layout in the module documentation).
pub fn walk_forward(
    n_bars: usize,
    folds: usize,
    test: TestLen,
    mode: WalkForwardMode,
) -> Result<Vec<Fold>, SplitError> {
    if folds == 0 {
        return Err(SplitError::Zero { field: "folds" });
    }
    let test_len = match test {
        TestLen::Bars(0) => return Err(SplitError::Zero { field: "test_len" }),
        TestLen::Bars(len) => len,
        TestLen::Fraction(f) => {
            check_fraction("test_fraction", f)?;
            (n_bars as f64 * f).round() as usize
        }
    };
    let tested = folds.saturating_mul(test_len);
    if test_len == 0 || tested >= n_bars {
        let what = match test {
            TestLen::Bars(len) => format!("{folds} folds of {len} test bars plus 1 train bar"),
            TestLen::Fraction(f) => format!("{folds} folds at test_fraction {f} plus 1 train bar"),
        };
        let needed = folds.saturating_mul(test_len.max(1)).saturating_add(1);
        return Err(SplitError::TooFewBars { n_bars, what, needed });
    }
    let first_train = n_bars - tested;
    Ok((0..folds)
        .map(|k| {
            let start = first_train + k * test_len;
            let train_start = match mode {
                WalkForwardMode::Anchored => 0,
                WalkForwardMode::Rolling => start - first_train,
            };
            Fold { train: train_start..start, test: start..start + test_len }
        })
        .collect())
}

fn check_fraction(field: &'static str, value: f64) -> Result<(), SplitError> {
    if value > 0.0 && value < 1.0 { Ok(()) } else { Err(SplitError::Fraction { field, value }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WalkForwardMode::{Anchored, Rolling};

    #[test]
    fn holdout_rounds_to_the_nearest_bar() {
        assert_eq!(Split::holdout(10, 0.7).unwrap(), Split { in_sample: 0..7, out_of_sample: 7..10 });
        // 100 · 0.29 = 28.999999999999996 in floating point: rounding, not truncation.
        assert_eq!(Split::holdout(100, 0.29).unwrap().in_sample, 0..29);
        assert_eq!(Split::holdout(3, 0.5).unwrap().in_sample, 0..2);
        assert_eq!(Split::holdout(2, 0.5).unwrap(), Split { in_sample: 0..1, out_of_sample: 1..2 });
    }

    #[test]
    fn holdout_errors() {
        for bad in [0.0, 1.0, -0.2, 1.5, f64::NAN] {
            let err = Split::holdout(100, bad).unwrap_err();
            assert!(matches!(err, SplitError::Fraction { field: "is_fraction", .. }), "{bad}");
        }
        assert!(matches!(Split::holdout(1, 0.5), Err(SplitError::TooFewBars { n_bars: 1, .. })));
        assert!(matches!(Split::holdout(10, 0.99), Err(SplitError::TooFewBars { n_bars: 10, .. })));
        assert!(matches!(Split::holdout(10, 0.01), Err(SplitError::TooFewBars { n_bars: 10, .. })));
    }

    #[test]
    fn anchored_and_rolling_shapes() {
        // 100 bars, 4 folds of 15: tests 40..55, 55..70, 70..85, 85..100; first train 0..40.
        let anchored = walk_forward(100, 4, TestLen::Bars(15), Anchored).unwrap();
        let want: Vec<Fold> = [(0, 40), (0, 55), (0, 70), (0, 85)]
            .iter()
            .map(|&(s, e)| Fold { train: s..e, test: e..e + 15 })
            .collect();
        assert_eq!(anchored, want);
        let rolling = walk_forward(100, 4, TestLen::Bars(15), Rolling).unwrap();
        let want: Vec<Fold> = [(0, 40), (15, 55), (30, 70), (45, 85)]
            .iter()
            .map(|&(s, e)| Fold { train: s..e, test: e..e + 15 })
            .collect();
        assert_eq!(rolling, want);
        // A fraction: round(1000 · 0.1) = 100 test bars per fold.
        let f = walk_forward(1000, 3, TestLen::Fraction(0.1), Rolling).unwrap();
        assert_eq!(f[0], Fold { train: 0..700, test: 700..800 });
        assert_eq!(f[2], Fold { train: 200..900, test: 900..1000 });
        // The tightest possible: one train bar.
        let tight = walk_forward(7, 3, TestLen::Bars(2), Rolling).unwrap();
        assert_eq!(tight[0], Fold { train: 0..1, test: 1..3 });
        assert_eq!(tight[2], Fold { train: 4..5, test: 5..7 });
    }

    #[test]
    fn invariants_over_many_shapes() {
        for n_bars in [10, 37, 250, 1001] {
            for folds in 1..=6 {
                for test in [TestLen::Bars(1), TestLen::Bars(n_bars / 10), TestLen::Fraction(0.07)] {
                    for mode in [Anchored, Rolling] {
                        let Ok(got) = walk_forward(n_bars, folds, test, mode) else {
                            continue;
                        };
                        assert_eq!(got.len(), folds);
                        assert_eq!(got.last().unwrap().test.end, n_bars);
                        let first_train = got[0].train.len();
                        for (k, f) in got.iter().enumerate() {
                            assert!(!f.train.is_empty() && !f.test.is_empty());
                            assert_eq!(f.train.end, f.test.start);
                            assert!(!f.test.clone().any(|bar| f.train.contains(&bar)));
                            assert_eq!(f.test.len(), got[0].test.len());
                            if k > 0 {
                                assert_eq!(f.test.start, got[k - 1].test.end);
                            }
                            match mode {
                                Anchored => assert_eq!(f.train.start, 0),
                                Rolling => assert_eq!(f.train.len(), first_train),
                            }
                        }
                        // Coverage: train 0 plus the tests tile 0..n_bars exactly.
                        let covered = first_train + got.iter().map(|f| f.test.len()).sum::<usize>();
                        assert_eq!(covered, n_bars);
                    }
                }
            }
        }
    }

    #[test]
    fn walk_forward_errors() {
        let wf = |n, folds, test| walk_forward(n, folds, test, Rolling);
        assert_eq!(wf(100, 0, TestLen::Bars(5)), Err(SplitError::Zero { field: "folds" }));
        assert_eq!(wf(100, 2, TestLen::Bars(0)), Err(SplitError::Zero { field: "test_len" }));
        for bad in [0.0, 1.0, 2.0, f64::NAN] {
            let err = wf(100, 2, TestLen::Fraction(bad)).unwrap_err();
            assert!(matches!(err, SplitError::Fraction { field: "test_fraction", .. }));
        }
        // 4 · 25 = 100 leaves no train bar.
        let err = wf(100, 4, TestLen::Bars(25)).unwrap_err();
        assert!(matches!(err, SplitError::TooFewBars { n_bars: 100, needed: 101, .. }));
        assert_eq!(
            err.to_string(),
            "`n_bars` = 100 is too few: 4 folds of 25 test bars plus 1 train bar needs at least 101"
        );
        // 5 · 0.2 = the whole series; round(10 · 0.01) = 0 test bars.
        assert!(matches!(wf(100, 5, TestLen::Fraction(0.2)), Err(SplitError::TooFewBars { .. })));
        assert!(matches!(wf(10, 2, TestLen::Fraction(0.01)), Err(SplitError::TooFewBars { .. })));
        assert!(matches!(wf(100, usize::MAX, TestLen::Bars(2)), Err(SplitError::TooFewBars { .. })));
    }
}

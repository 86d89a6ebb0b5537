//! Walk-forward splits: expanding training windows, test blocks in time order, never shuffled.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// How the history is cut into training and test periods.
///
/// Row `t` (features at the close of day `t`) is labelled with day `t + 1`'s regime. The model
/// of a test block starting on day `s` is fitted at the close of day `s − 1`, when labels up
/// to day `s − 1` are known, so it trains on rows `t < s − 1` only: the one-day purge keeps
/// every training label strictly before the test period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForward {
    /// Days from the first usable row to the first test day (the first training window).
    pub min_train: usize,
    /// Days per test block; the model is refitted before each.
    pub test_len: usize,
}

impl Default for WalkForward {
    /// Three years of training first, then yearly test blocks.
    fn default() -> Self {
        WalkForward { min_train: 756, test_len: 252 }
    }
}

/// One split, in day indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Rows the fold's model may train on (those with complete features and a label).
    pub train: Range<usize>,
    /// Rows it is tested on.
    pub test: Range<usize>,
}

impl WalkForward {
    /// The folds over rows `first..labelled`, where `first` is the first usable row and rows
    /// from `labelled` on have no next-day label. Empty when the history is too short.
    pub fn folds(&self, first: usize, labelled: usize) -> Vec<Fold> {
        let test_len = self.test_len.max(1);
        let mut folds = Vec::new();
        let mut start = first + self.min_train.max(1) + 1;
        while start < labelled {
            let end = (start + test_len).min(labelled);
            folds.push(Fold { train: first..start - 1, test: start..end });
            start = end;
        }
        folds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_tile_the_test_period_and_train_only_on_the_past() {
        let walk = WalkForward { min_train: 100, test_len: 50 };
        let folds = walk.folds(10, 300);
        let tests: Vec<Range<usize>> = folds.iter().map(|f| f.test.clone()).collect();
        assert_eq!(tests, [111..161, 161..211, 211..261, 261..300]);
        for f in &folds {
            assert_eq!(f.train.start, 10, "expanding window");
            // The last training row's label is day train.end, before the first test day.
            assert!(f.train.end < f.test.start, "{f:?}");
            assert_eq!(f.train.end, f.test.start - 1);
        }
        assert!(walk.folds(10, 111).is_empty(), "no room for a test day");
        assert_eq!(walk.folds(10, 112).len(), 1);
    }
}

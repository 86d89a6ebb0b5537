//! Out-of-sample scores: confusion matrix, per-regime precision and recall, accuracy.

use kernel::regime::Regime;
use serde::{Deserialize, Serialize};

/// Precision and recall of one regime; `None` where undefined (never predicted / never true).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassStats {
    /// The regime.
    pub regime: Regime,
    /// Days the regime was the true one.
    pub support: usize,
    /// Share of the days predicted as this regime that were this regime.
    pub precision: Option<f64>,
    /// Share of this regime's days that were predicted as it.
    pub recall: Option<f64>,
}

/// How well one predictor did on a set of days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// `confusion[true][predicted]`, regimes in [`Regime::ALL`] order.
    pub confusion: [[usize; 4]; 4],
    /// Days scored.
    pub days: usize,
    /// Share of days predicted right.
    pub accuracy: f64,
    /// Mean recall over the regimes that occurred: accuracy that a rare regime counts in.
    pub balanced_accuracy: f64,
    /// Per regime, calmest first.
    pub per_class: Vec<ClassStats>,
}

impl Scores {
    /// Scores `(true, predicted)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Regime, Regime)>) -> Scores {
        let mut confusion = [[0usize; 4]; 4];
        for (truth, predicted) in pairs {
            confusion[truth.index()][predicted.index()] += 1;
        }
        let days: usize = confusion.iter().flatten().sum();
        let right: usize = (0..4).map(|i| confusion[i][i]).sum();
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        let per_class: Vec<ClassStats> = Regime::ALL
            .iter()
            .map(|&regime| {
                let i = regime.index();
                let support: usize = confusion[i].iter().sum();
                let predicted: usize = confusion.iter().map(|row| row[i]).sum();
                ClassStats {
                    regime,
                    support,
                    precision: ratio(confusion[i][i], predicted),
                    recall: ratio(confusion[i][i], support),
                }
            })
            .collect();
        let recalls: Vec<f64> = per_class.iter().filter_map(|c| c.recall).collect();
        Scores {
            confusion,
            days,
            accuracy: ratio(right, days).unwrap_or(0.0),
            balanced_accuracy: if recalls.is_empty() {
                0.0
            } else {
                recalls.iter().sum::<f64>() / recalls.len() as f64
            },
            per_class,
        }
    }

    /// The stats of `regime`.
    pub fn class(&self, regime: Regime) -> &ClassStats {
        &self.per_class[regime.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Regime::*;

    #[test]
    fn precision_recall_and_accuracy_follow_the_confusion_matrix() {
        let pairs = [
            (Calm, Calm),
            (Calm, Calm),
            (Calm, Normal),
            (Normal, Normal),
            (Stressed, Normal),
            (Stressed, Stressed),
            (Stressed, Stressed),
        ];
        let s = Scores::from_pairs(pairs);
        assert_eq!(s.confusion[Calm.index()], [2, 1, 0, 0]);
        assert_eq!(s.days, 7);
        assert!((s.accuracy - 5.0 / 7.0).abs() < 1e-12);
        assert_eq!(s.class(Calm).recall, Some(2.0 / 3.0));
        assert_eq!(s.class(Normal).precision, Some(1.0 / 3.0));
        assert_eq!(s.class(Stressed).precision, Some(1.0));
        assert_eq!(s.class(Crisis).support, 0);
        assert_eq!((s.class(Crisis).precision, s.class(Crisis).recall), (None, None));
        // Mean of the three recalls that exist: (2/3 + 1 + 2/3) / 3.
        assert!((s.balanced_accuracy - 7.0 / 9.0).abs() < 1e-12);
    }
}

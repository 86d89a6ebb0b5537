//! The classifier: `smartcore`'s random forest, with class weighting by replication.
//!
//! `smartcore` 0.7 has no sample weights (its forest draws a stratified bootstrap per class),
//! so a rare regime is weighted by repeating its rows: each class's rows appear
//! `round(largest class / class size)` times (at most `max_factor`), which makes every
//! tree's per-class bootstrap about as large for a rare regime as for the common ones.

use kernel::regime::Regime;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{RandomForestClassifier, RandomForestClassifierParameters};
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::RegimeError;

/// How training rows are weighted by class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row once.
    None,
    /// Rare classes repeated up to about the largest class's count, at most `max_factor` times.
    Balanced {
        /// Cap on the repetition of any class.
        max_factor: usize,
    },
}

/// Hyper-parameters of the forest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Trees in the forest.
    pub trees: u16,
    /// Maximum depth of each tree.
    pub max_depth: u16,
    /// Minimum rows in a leaf.
    pub min_samples_leaf: usize,
    /// Seed of the bootstraps and split-feature draws: same data, same seed, same forest.
    pub seed: u64,
    /// Class weighting.
    pub class_weight: ClassWeight,
}

impl Default for ForestParams {
    /// 100 trees of depth at most 8, leaves of at least 5 rows, balanced classes (up to 20×).
    fn default() -> Self {
        ForestParams {
            trees: 100,
            max_depth: 8,
            min_samples_leaf: 5,
            seed: 42,
            class_weight: ClassWeight::Balanced { max_factor: 20 },
        }
    }
}

/// A fitted forest over a fixed number of features; labels are [`Regime::index`].
#[derive(Debug, Serialize, Deserialize)]
pub struct Forest {
    width: usize,
    model: RandomForestClassifier<f64, u8, DenseMatrix<f64>, Vec<u8>>,
}

impl Forest {
    /// Fits on `rows` (row-major, `width` features each, all finite) labelled `labels`.
    pub fn fit(rows: &[f64], width: usize, labels: &[Regime], params: &ForestParams) -> Result<Forest, RegimeError> {
        assert_eq!(rows.len(), labels.len() * width, "one label per row of {width} features");
        let repeat = repetitions(labels, params.class_weight);
        let total: usize = labels.iter().map(|r| repeat[r.index()]).sum();
        let mut x = Vec::with_capacity(total * width);
        let mut y = Vec::with_capacity(total);
        for (row, label) in rows.chunks_exact(width).zip(labels) {
            for _ in 0..repeat[label.index()] {
                x.extend_from_slice(row);
                y.push(label.index() as u8);
            }
        }
        let x = DenseMatrix::new(total, width, x, false).map_err(|e| RegimeError::Forest(e.to_string()))?;
        let parameters = RandomForestClassifierParameters::default()
            .with_n_trees(params.trees)
            .with_max_depth(params.max_depth)
            .with_min_samples_leaf(params.min_samples_leaf)
            .with_seed(params.seed);
        let model =
            RandomForestClassifier::fit(&x, &y, parameters).map_err(|e| RegimeError::Forest(e.to_string()))?;
        Ok(Forest { width, model })
    }

    /// Number of features it was fitted on.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The predicted regime of each row (row-major, [`Forest::width`] finite features each).
    pub fn predict(&self, rows: &[f64]) -> Result<Vec<Regime>, RegimeError> {
        let n = rows.len() / self.width;
        if n == 0 {
            return Ok(Vec::new());
        }
        let x = DenseMatrix::new(n, self.width, rows.to_vec(), false)
            .map_err(|e| RegimeError::Forest(e.to_string()))?;
        let y = self.model.predict(&x).map_err(|e| RegimeError::Forest(e.to_string()))?;
        Ok(y.into_iter().map(|c| Regime::from_index(c.into()).expect("labels are regime indices")).collect())
    }
}

/// How many times each class's rows are used.
fn repetitions(labels: &[Regime], weight: ClassWeight) -> [usize; 4] {
    let mut counts = [0usize; 4];
    labels.iter().for_each(|r| counts[r.index()] += 1);
    let largest = counts.iter().copied().max().unwrap_or(0);
    counts.map(|c| match weight {
        ClassWeight::None => 1,
        ClassWeight::Balanced { .. } if c == 0 => 1,
        ClassWeight::Balanced { max_factor } => {
            ((largest as f64 / c as f64).round() as usize).clamp(1, max_factor.max(1))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Regime::*;

    #[test]
    fn balanced_weighting_repeats_rare_classes_up_to_the_cap() {
        let labels: Vec<Regime> =
            [vec![Normal; 300], vec![Calm; 100], vec![Stressed; 40], vec![Crisis; 7]].concat();
        let balanced = ClassWeight::Balanced { max_factor: 20 };
        assert_eq!(repetitions(&labels, balanced), [3, 1, 8, 20], "crisis would be 43×, capped");
        assert_eq!(repetitions(&labels, ClassWeight::None), [1, 1, 1, 1]);
    }

    #[test]
    fn a_forest_learns_a_threshold_and_weighting_finds_the_rare_class() {
        // One informative feature (the regime's level plus noise) and one pure-noise feature.
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        let mut noise = 0.5f64;
        for i in 0..600 {
            noise = (noise * 3.9 * (1.0 - noise)).clamp(0.01, 0.99);
            let r = if i % 60 == 0 { Crisis } else { Regime::ALL[i % 3] };
            rows.extend([r.index() as f64 + 0.6 * (noise - 0.5), noise]);
            labels.push(r);
        }
        let crisis_found = |weight: ClassWeight| {
            let params = ForestParams { trees: 20, class_weight: weight, ..Default::default() };
            let forest = Forest::fit(&rows, 2, &labels, &params).unwrap();
            let got = forest.predict(&rows).unwrap();
            let right = got.iter().zip(&labels).filter(|(a, b)| a == b).count();
            assert!(right >= 590, "{weight:?}: {right} of 600");
            got.iter().zip(&labels).filter(|&(&g, &l)| g == Crisis && l == Crisis).count()
        };
        // Ten crisis rows, fewer than the leaf size allows twice: unweighted, the forest
        // misses one; weighted, it finds them all.
        assert_eq!(crisis_found(ClassWeight::None), 9);
        assert_eq!(crisis_found(ClassWeight::Balanced { max_factor: 20 }), 10);
    }
}

//! The classifier: a random forest of `smartcore` decision trees, grown in parallel, with
//! balanced per-tree bootstraps for rare regimes.
//!
//! `smartcore` 0.7's own `RandomForestClassifier` grows its trees one after another, has no
//! sample or class weights and reports only the majority vote. So the ensemble is assembled
//! here from its `DecisionTreeClassifier`: each tree gets its own bootstrap of the training
//! rows and a random subset of the features (a random-subspace forest), trees are grown on
//! every core, and prediction counts the votes. With [`ClassWeight::Balanced`] each tree's
//! bootstrap draws the same number of rows from every regime (a balanced random forest,
//! Chen, Liaw & Breiman 2004): the rare crisis regime weighs as much as the common ones
//! without making the training set any larger. Every random draw comes from a PCG stream
//! seeded by the forest seed and the tree's position, so the forest is the same on any
//! thread count.

use kernel::regime::Regime;
use rand::Rng;
use rand::seq::index::sample;
use rand_pcg::Pcg64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::{DecisionTreeClassifier, DecisionTreeClassifierParameters};

use crate::RegimeError;

/// How each tree's bootstrap is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Uniformly from all training rows: common regimes dominate.
    None,
    /// The same number of rows from every regime present, but at most `max_factor` times a
    /// regime's own row count (so a handful of examples is not copied hundreds of times).
    Balanced {
        /// Cap on how many draws a regime gets per row it has.
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
    /// Rows in each tree's bootstrap, as a share of the training rows.
    pub sample_share: f64,
    /// Features each tree sees, as a share of all features (at least one).
    pub feature_share: f64,
    /// Seed of the bootstraps and feature draws: same data, same seed, same forest.
    pub seed: u64,
    /// How bootstraps weigh the regimes.
    pub class_weight: ClassWeight,
}

impl Default for ForestParams {
    /// 64 trees of depth at most 8, leaves of at least 5 rows, each tree on a bootstrap of
    /// 30 % of the rows and half the features, balanced regimes (at most 20 draws per row).
    /// On 20 synthetic years more trees or rows per tree changed out-of-sample accuracy by
    /// under a point and cost time: the `smartcore` tree scans every bootstrap row at
    /// every node.
    fn default() -> Self {
        ForestParams {
            trees: 64,
            max_depth: 8,
            min_samples_leaf: 5,
            sample_share: 0.3,
            feature_share: 0.5,
            seed: 42,
            class_weight: ClassWeight::Balanced { max_factor: 20 },
        }
    }
}

type Tree = DecisionTreeClassifier<f64, u8, DenseMatrix<f64>, Vec<u8>>;

/// One tree and the features (column positions) it reads.
#[derive(Debug, Serialize, Deserialize)]
struct Member {
    features: Vec<usize>,
    tree: Tree,
}

/// What the forest votes with.
#[derive(Debug, Serialize, Deserialize)]
enum Voters {
    /// The training rows held a single regime: it is always the answer.
    Constant(Regime),
    /// Decision trees, one vote each.
    Trees(Vec<Member>),
}

/// A fitted forest over a fixed number of features.
#[derive(Debug, Serialize, Deserialize)]
pub struct Forest {
    width: usize,
    voters: Voters,
}

impl Forest {
    /// Fits on `rows` (row-major, `width` finite features each) labelled `labels`.
    ///
    /// # Panics
    /// When `rows` does not hold `width` values per label, or there are no labels.
    pub fn fit(
        rows: &[f64],
        width: usize,
        labels: &[Regime],
        params: &ForestParams,
    ) -> Result<Forest, RegimeError> {
        assert_eq!(rows.len(), labels.len() * width, "one label per row of {width} features");
        assert!(!labels.is_empty(), "a forest needs training rows");
        let mut by_class: [Vec<usize>; 4] = Default::default();
        labels.iter().enumerate().for_each(|(i, r)| by_class[r.index()].push(i));
        let present: Vec<&Vec<usize>> = by_class.iter().filter(|c| !c.is_empty()).collect();
        if present.len() == 1 {
            return Ok(Forest { width, voters: Voters::Constant(labels[0]) });
        }
        let draws = draws_per_class(&by_class, labels.len(), params);
        let members = (0..params.trees)
            .into_par_iter()
            .map(|k| {
                let mut rng = tree_rng(params.seed, k);
                let features = pick_features(width, params.feature_share, &mut rng);
                let picked: Vec<usize> = by_class
                    .iter()
                    .zip(draws)
                    .flat_map(|(class, d)| {
                        (0..d).map(|_| class[rng.random_range(0..class.len())]).collect::<Vec<_>>()
                    })
                    .collect();
                let x: Vec<f64> =
                    picked.iter().flat_map(|&i| features.iter().map(move |&c| rows[i * width + c])).collect();
                let y: Vec<u8> = picked.iter().map(|&i| labels[i].index() as u8).collect();
                let x = DenseMatrix::new(picked.len(), features.len(), x, false).map_err(forest_error)?;
                let tree_params = DecisionTreeClassifierParameters::default()
                    .with_max_depth(params.max_depth)
                    .with_min_samples_leaf(params.min_samples_leaf)
                    .with_min_samples_split(2 * params.min_samples_leaf);
                let tree = Tree::fit(&x, &y, tree_params).map_err(forest_error)?;
                Ok(Member { features, tree })
            })
            .collect::<Result<Vec<_>, RegimeError>>()?;
        Ok(Forest { width, voters: Voters::Trees(members) })
    }

    /// Number of features it reads.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Share of the trees voting for each regime, per row (row-major, [`Forest::width`] finite
    /// features each); calmest regime first.
    pub fn votes(&self, rows: &[f64]) -> Result<Vec<[f64; 4]>, RegimeError> {
        let n = rows.len() / self.width;
        let members = match &self.voters {
            Voters::Constant(r) => {
                let mut share = [0.0; 4];
                share[r.index()] = 1.0;
                return Ok(vec![share; n]);
            }
            Voters::Trees(members) if n > 0 => members,
            Voters::Trees(_) => return Ok(Vec::new()),
        };
        let counts = members
            .par_iter()
            .map(|m| {
                let x: Vec<f64> =
                    (0..n).flat_map(|i| m.features.iter().map(move |&c| rows[i * self.width + c])).collect();
                let x = DenseMatrix::new(n, m.features.len(), x, false).map_err(forest_error)?;
                m.tree.predict(&x).map_err(forest_error)
            })
            .try_fold(
                || vec![[0u32; 4]; n],
                |mut acc, calls: Result<Vec<u8>, RegimeError>| {
                    for (a, c) in acc.iter_mut().zip(calls?) {
                        a[usize::from(c)] += 1;
                    }
                    Ok::<_, RegimeError>(acc)
                },
            )
            .try_reduce(
                || vec![[0u32; 4]; n],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        (0..4).for_each(|k| x[k] += y[k]);
                    }
                    Ok(a)
                },
            )?;
        let total = members.len() as f64;
        Ok(counts.into_iter().map(|c| c.map(|v| f64::from(v) / total)).collect())
    }

    /// The regime most trees vote for, per row (ties go to the calmer regime).
    pub fn predict(&self, rows: &[f64]) -> Result<Vec<Regime>, RegimeError> {
        Ok(self.votes(rows)?.into_iter().map(|v| majority(&v)).collect())
    }
}

/// The regime with the largest vote share; the calmer one on a tie.
pub fn majority(votes: &[f64; 4]) -> Regime {
    let mut best = 0;
    for k in 1..4 {
        if votes[k] > votes[best] {
            best = k;
        }
    }
    Regime::ALL[best]
}

fn forest_error(e: smartcore::error::Failed) -> RegimeError {
    RegimeError::Forest(e.to_string())
}

/// The random stream of tree `k`.
fn tree_rng(seed: u64, k: u16) -> Pcg64 {
    Pcg64::new(u128::from(seed) << 64 | u128::from(k), 0xa02b_db13_d1f3_2c77_9e37_79b9_7f4a_7c15)
}

/// A sorted random subset of the `width` feature positions, `share` of them (at least one).
fn pick_features(width: usize, share: f64, rng: &mut Pcg64) -> Vec<usize> {
    let k = ((width as f64 * share).round() as usize).clamp(1, width);
    let mut picked = sample(rng, width, k).into_vec();
    picked.sort_unstable();
    picked
}

/// Rows each tree draws (with replacement) from each regime.
fn draws_per_class(by_class: &[Vec<usize>; 4], n: usize, params: &ForestParams) -> [usize; 4] {
    let total = ((n as f64 * params.sample_share).round() as usize).max(1);
    let present = by_class.iter().filter(|c| !c.is_empty()).count();
    by_class.each_ref().map(|class| match params.class_weight {
        _ if class.is_empty() => 0,
        ClassWeight::None => (total * class.len()).div_ceil(n),
        ClassWeight::Balanced { max_factor } => (total / present).clamp(1, max_factor.max(1) * class.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Regime::*;

    #[test]
    fn balanced_bootstraps_draw_every_regime_alike_up_to_the_cap() {
        let sizes = [100, 300, 40, 7];
        let mut by_class: [Vec<usize>; 4] = Default::default();
        let mut next = 0;
        for (c, &size) in sizes.iter().enumerate() {
            by_class[c] = (next..next + size).collect();
            next += size;
        }
        let balanced = ForestParams { sample_share: 1.0, ..Default::default() };
        // 447 rows over 4 regimes: 111 draws each, except crisis, capped at 20 × 7.
        assert_eq!(draws_per_class(&by_class, 447, &balanced), [111, 111, 111, 111]);
        let capped = ForestParams { class_weight: ClassWeight::Balanced { max_factor: 10 }, ..balanced };
        assert_eq!(draws_per_class(&by_class, 447, &capped), [111, 111, 111, 70]);
        let plain = ForestParams { class_weight: ClassWeight::None, ..balanced };
        assert_eq!(draws_per_class(&by_class, 447, &plain), [100, 300, 40, 7]);
    }

    fn data() -> (Vec<f64>, Vec<Regime>) {
        // One informative feature (the regime's level plus noise, crisis overlapping stressed
        // by half its range) and one pure-noise feature; ten crisis rows among 600.
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        let mut noise = 0.5f64;
        for i in 0..600 {
            noise = (noise * 3.9 * (1.0 - noise)).clamp(0.01, 0.99);
            let r = if i % 60 == 0 { Crisis } else { Regime::ALL[i % 3] };
            let level = if r == Crisis { 2.3 } else { r.index() as f64 };
            rows.extend([level + 0.6 * (noise - 0.5), noise]);
            labels.push(r);
        }
        (rows, labels)
    }

    #[test]
    fn a_forest_learns_the_regimes_and_weighting_finds_the_rare_one() {
        let (rows, labels) = data();
        // Found crisis rows and the mean crisis vote share on them.
        let crisis = |weight: ClassWeight| {
            let params =
                ForestParams { trees: 30, feature_share: 1.0, class_weight: weight, ..Default::default() };
            let forest = Forest::fit(&rows, 2, &labels, &params).unwrap();
            let votes = forest.votes(&rows).unwrap();
            let got: Vec<Regime> = votes.iter().map(majority).collect();
            let right = got.iter().zip(&labels).filter(|(a, b)| a == b).count();
            assert!(right >= 580, "{weight:?}: {right} of 600");
            let on_crisis: Vec<f64> =
                labels.iter().zip(&votes).filter(|(l, _)| **l == Crisis).map(|(_, v)| v[3]).collect();
            let found = got.iter().zip(&labels).filter(|&(&g, &l)| g == Crisis && l == Crisis).count();
            (found, on_crisis.iter().sum::<f64>() / on_crisis.len() as f64)
        };
        let (plain_found, plain_share) = crisis(ClassWeight::None);
        let (found, share) = crisis(ClassWeight::Balanced { max_factor: 20 });
        // Unweighted, stressed rows swamp the overlap (no crisis call, 28 % crisis votes);
        // balanced, every crisis day is found.
        assert_eq!((plain_found, found), (0, 10));
        assert!(share > plain_share + 0.5, "balanced {share} vs plain {plain_share}");
    }

    #[test]
    fn forests_are_reproducible_and_votes_add_up() {
        let (rows, labels) = data();
        let params = ForestParams { trees: 16, ..Default::default() };
        let a = Forest::fit(&rows, 2, &labels, &params).unwrap().votes(&rows).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| Forest::fit(&rows, 2, &labels, &params).unwrap().votes(&rows).unwrap());
        assert_eq!(a, b, "same forest on one thread as on all");
        assert!(a.iter().all(|v| (v.iter().sum::<f64>() - 1.0).abs() < 1e-12));
        let other = ForestParams { seed: 7, ..params };
        assert_ne!(Forest::fit(&rows, 2, &labels, &other).unwrap().votes(&rows).unwrap(), a);
        let single = Forest::fit(&rows[..20], 2, &[Calm; 10], &params).unwrap();
        assert_eq!(single.votes(&rows[..4]).unwrap(), vec![[1.0, 0.0, 0.0, 0.0]; 2]);
    }

    #[test]
    fn ties_go_to_the_calmer_regime() {
        assert_eq!(majority(&[0.25, 0.25, 0.25, 0.25]), Calm);
        assert_eq!(majority(&[0.1, 0.2, 0.35, 0.35]), Stressed);
    }
}

//! Training: walk-forward evaluation against baselines, then the final fit on all rows.

use std::fmt;

use datasets::Timestamp;
use kernel::regime::Regime;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{FeatureMatrix, FeatureSpec, Forest, ForestParams, RegimeError, Scores, WalkForward, majority};

/// What the model learns to predict: the regime of the next day according to…
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// …the rule-based detector of the feature spec (its regime with hysteresis).
    Rules,
    /// …labels the caller gave, described here (e.g. a synthetic universe's true regimes).
    Given(String),
}

/// A competing next-day forecast: `predictions[t]` is its call, at the close of day `t`, for
/// day `t + 1` (for "tomorrow = today", the day-`t` label itself).
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// Short name for reports.
    pub name: String,
    /// One call per day; `None` where it has none.
    pub predictions: Vec<Option<Regime>>,
}

impl Baseline {
    /// "Tomorrow = today": each day's own label.
    pub fn persistence(labels: &[Option<Regime>]) -> Baseline {
        Baseline { name: "persistence".into(), predictions: labels.to_vec() }
    }
}

/// Everything [`train`] needs besides the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Forest hyper-parameters.
    pub forest: ForestParams,
    /// Walk-forward splits.
    pub walk: WalkForward,
    /// A regime with fewer training examples than this gets a warning.
    pub min_samples_per_regime: usize,
}

impl Default for TrainConfig {
    /// Default forest and splits; warn below 30 examples of a regime.
    fn default() -> Self {
        TrainConfig {
            forest: ForestParams::default(),
            walk: WalkForward::default(),
            min_samples_per_regime: 30,
        }
    }
}

/// Something the caller should know about a training run that does not stop it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainWarning {
    /// A regime has too few examples for its scores (or the model's view of it) to be trusted.
    FewSamples {
        /// The regime.
        regime: Regime,
        /// Its examples among the training rows.
        count: usize,
        /// `min_samples_per_regime`.
        min: usize,
    },
    /// The history is too short for a single walk-forward test day: no out-of-sample scores.
    NoOutOfSample {
        /// Usable labelled rows.
        rows: usize,
        /// Rows the first training window needs.
        min_train: usize,
    },
}

impl fmt::Display for TrainWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainWarning::FewSamples { regime, count, min } => write!(
                f,
                "regime `{regime}` has only {count} training examples (min_samples_per_regime {min}): its predictions and scores are unreliable"
            ),
            TrainWarning::NoOutOfSample { rows, min_train } => write!(
                f,
                "only {rows} usable days, fewer than the {min_train}-day first training window: no out-of-sample scores"
            ),
        }
    }
}

/// One walk-forward split as run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldInfo {
    /// Day of the first training row.
    pub train_first: Timestamp,
    /// Day of the last training row (its label is the next day, still before the test).
    pub train_last: Timestamp,
    /// Training rows.
    pub train_rows: usize,
    /// First test day.
    pub test_first: Timestamp,
    /// Last test day.
    pub test_last: Timestamp,
}

/// Scores of one predictor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedScores {
    /// The predictor.
    pub name: String,
    /// Its scores.
    pub scores: Scores,
}

/// Out-of-sample results: the model and every baseline on the same days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The splits.
    pub folds: Vec<FoldInfo>,
    /// The walk-forward predictions of the model.
    pub model: Scores,
    /// The baselines, in the order given.
    pub baselines: Vec<NamedScores>,
}

impl Evaluation {
    /// The scores of the baseline called `name`.
    pub fn baseline(&self, name: &str) -> Option<&Scores> {
        self.baselines.iter().find(|b| b.name == name).map(|b| &b.scores)
    }
}

/// What a trained model is, how it was made and how it scored: saved next to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// The saved version (0 until [`crate::persist::save`] gives it one).
    pub version: u32,
    /// Features the model reads, with the rule detector behind the regime features.
    pub features: FeatureSpec,
    /// What it predicts.
    pub labels: LabelSource,
    /// Forest hyper-parameters.
    pub forest: ForestParams,
    /// The splits of the evaluation.
    pub walk: WalkForward,
    /// Day of the first training row.
    pub train_first: Timestamp,
    /// Day of the last training row (its label is the day after).
    pub train_last: Timestamp,
    /// Training rows of the final fit.
    pub rows: usize,
    /// Training examples per regime, calmest first.
    pub class_counts: [usize; 4],
    /// xxh3-64 (hex) of the timestamps, features and labels trained on: same data, same hash.
    pub data_hash: String,
    /// Out-of-sample scores.
    pub evaluation: Evaluation,
    /// The warnings of the training run.
    pub warnings: Vec<TrainWarning>,
}

/// A fitted forest with its card.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainedModel {
    /// Provenance and scores.
    pub card: ModelCard,
    /// The classifier.
    pub forest: Forest,
}

impl TrainedModel {
    /// The model's call at each day's close for the next day: `None` where the day's features
    /// are incomplete. The matrix must follow the model's feature spec.
    pub fn predict(&self, features: &FeatureMatrix) -> Result<Vec<Option<Regime>>, RegimeError> {
        Ok(self.votes(features)?.into_iter().map(|v| v.map(|v| majority(&v))).collect())
    }

    /// Share of trees voting for each regime (calmest first) at each day's close; `None` where
    /// the day's features are incomplete. The matrix must follow the model's feature spec.
    pub fn votes(&self, features: &FeatureMatrix) -> Result<Vec<Option<[f64; 4]>>, RegimeError> {
        if features.spec() != &self.card.features {
            return Err(RegimeError::SpecMismatch {
                model: self.card.features.names(),
                data: features.spec().names(),
            });
        }
        let rows: Vec<usize> = (0..features.len()).filter(|&t| features.is_complete(t)).collect();
        let x: Vec<f64> = rows.iter().flat_map(|&t| features.row(t).iter().copied()).collect();
        let mut out = vec![None; features.len()];
        for (&t, v) in rows.iter().zip(self.forest.votes(&x)?) {
            out[t] = Some(v);
        }
        Ok(out)
    }
}

/// The result of [`train`].
#[derive(Debug)]
pub struct TrainOutcome {
    /// The model fitted on every labelled row, with its card.
    pub model: TrainedModel,
    /// The walk-forward prediction made at each day's close (`None` outside the test blocks).
    pub out_of_sample: Vec<Option<Regime>>,
}

/// Scores `baselines` and a walk-forward run of the forest on `features` against `labels`
/// (one per day; row `t` is labelled `labels[t + 1]`), then fits the final model on every
/// labelled row with complete features. Folds run in parallel; the result is the same at
/// any thread count.
pub fn train(
    features: &FeatureMatrix,
    labels: &[Option<Regime>],
    source: LabelSource,
    baselines: &[Baseline],
    config: &TrainConfig,
) -> Result<TrainOutcome, RegimeError> {
    let n = features.len();
    if labels.len() != n {
        return Err(RegimeError::LabelLength { labels: labels.len(), rows: n });
    }
    for b in baselines {
        if b.predictions.len() != n {
            return Err(RegimeError::BaselineLength {
                name: b.name.clone(),
                calls: b.predictions.len(),
                rows: n,
            });
        }
    }
    let target = |t: usize| labels.get(t + 1).copied().flatten();
    let usable: Vec<usize> = (0..n).filter(|&t| features.is_complete(t) && target(t).is_some()).collect();
    let (Some(&first), Some(&last)) = (usable.first(), usable.last()) else {
        return Err(RegimeError::NoTrainingRows { days: n });
    };
    let runs = run_folds(features, &usable, &target, config, first)?;
    let mut out_of_sample = vec![None; n];
    for (t, call) in runs.iter().flat_map(|(_, calls)| calls) {
        out_of_sample[*t] = Some(*call);
    }
    // Every predictor is scored on the same days: those every one of them made a call for.
    let scored: Vec<usize> = (0..n)
        .filter(|&t| out_of_sample[t].is_some() && target(t).is_some())
        .filter(|&t| baselines.iter().all(|b| b.predictions[t].is_some()))
        .collect();
    let score = |calls: &[Option<Regime>]| {
        Scores::from_pairs(scored.iter().map(|&t| (target(t).expect("scored"), calls[t].expect("scored"))))
    };
    let evaluation = Evaluation {
        folds: runs.into_iter().map(|(info, _)| info).collect(),
        model: score(&out_of_sample),
        baselines: baselines
            .iter()
            .map(|b| NamedScores { name: b.name.clone(), scores: score(&b.predictions) })
            .collect(),
    };
    let forest = fit(features, &usable, &target, &config.forest)?;
    let mut class_counts = [0usize; 4];
    usable.iter().for_each(|&t| class_counts[target(t).expect("usable").index()] += 1);
    let mut warnings = few_samples(&class_counts, config.min_samples_per_regime);
    if evaluation.folds.is_empty() {
        warnings.push(TrainWarning::NoOutOfSample { rows: usable.len(), min_train: config.walk.min_train });
    }
    let day = |t: usize| Timestamp(features.timestamps()[t]);
    let card = ModelCard {
        version: 0,
        features: features.spec().clone(),
        labels: source,
        forest: config.forest,
        walk: config.walk,
        train_first: day(first),
        train_last: day(last),
        rows: usable.len(),
        class_counts,
        data_hash: format!("{:016x}", data_hash(features, &usable, &target)),
        evaluation,
        warnings,
    };
    Ok(TrainOutcome { model: TrainedModel { card, forest }, out_of_sample })
}

/// One fold as run: its description and its calls `(row, regime)`.
type FoldRun = (FoldInfo, Vec<(usize, Regime)>);

/// Fits and tests the model of every walk-forward fold over the `usable` rows (in parallel,
/// results in fold order): each fold's description and its calls `(row, regime)`.
fn run_folds(
    features: &FeatureMatrix,
    usable: &[usize],
    target: &(impl Fn(usize) -> Option<Regime> + Sync),
    config: &TrainConfig,
    first: usize,
) -> Result<Vec<FoldRun>, RegimeError> {
    let in_range = |r: &std::ops::Range<usize>| -> Vec<usize> {
        let lo = usable.partition_point(|&t| t < r.start);
        let hi = usable.partition_point(|&t| t < r.end);
        usable[lo..hi].to_vec()
    };
    let day = |t: usize| Timestamp(features.timestamps()[t]);
    config
        .walk
        .folds(first, features.len() - 1)
        .par_iter()
        .filter_map(|fold| {
            let (train_rows, test_rows) = (in_range(&fold.train), in_range(&fold.test));
            let (Some(&train_last), Some(&test_last)) = (train_rows.last(), test_rows.last()) else {
                return None;
            };
            Some(fit(features, &train_rows, target, &config.forest).and_then(|forest| {
                let calls = predict_rows(&forest, features, &test_rows, features.len())?;
                let calls =
                    test_rows.iter().map(|&t| (t, calls[t].expect("complete rows are predicted"))).collect();
                let info = FoldInfo {
                    train_first: day(train_rows[0]),
                    train_last: day(train_last),
                    train_rows: train_rows.len(),
                    test_first: day(test_rows[0]),
                    test_last: day(test_last),
                };
                Ok((info, calls))
            }))
        })
        .collect()
}

/// A warning for each regime with fewer than `min` training examples.
fn few_samples(class_counts: &[usize; 4], min: usize) -> Vec<TrainWarning> {
    Regime::ALL
        .into_iter()
        .filter(|r| class_counts[r.index()] < min)
        .map(|regime| TrainWarning::FewSamples { regime, count: class_counts[regime.index()], min })
        .collect()
}

/// Fits a forest on `rows` of `features`, labelled `target(row)`.
fn fit(
    features: &FeatureMatrix,
    rows: &[usize],
    target: &impl Fn(usize) -> Option<Regime>,
    params: &ForestParams,
) -> Result<Forest, RegimeError> {
    let x: Vec<f64> = rows.iter().flat_map(|&t| features.row(t).iter().copied()).collect();
    let y: Vec<Regime> = rows.iter().map(|&t| target(t).expect("training rows are labelled")).collect();
    Forest::fit(&x, features.width(), &y, params)
}

/// Predictions for `rows` (complete ones) scattered into a vector of `n` days.
fn predict_rows(
    forest: &Forest,
    features: &FeatureMatrix,
    rows: &[usize],
    n: usize,
) -> Result<Vec<Option<Regime>>, RegimeError> {
    let x: Vec<f64> = rows.iter().flat_map(|&t| features.row(t).iter().copied()).collect();
    let calls = forest.predict(&x)?;
    let mut out = vec![None; n];
    for (&t, call) in rows.iter().zip(calls) {
        out[t] = Some(call);
    }
    Ok(out)
}

/// xxh3-64 over each training row's timestamp, features and label.
fn data_hash(features: &FeatureMatrix, rows: &[usize], target: &impl Fn(usize) -> Option<Regime>) -> u64 {
    let mut buf = Vec::with_capacity(rows.len() * (features.width() + 2) * 8);
    for &t in rows {
        buf.extend_from_slice(&features.timestamps()[t].to_le_bytes());
        features.row(t).iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
        buf.push(target(t).map_or(u8::MAX, |r| r.index() as u8));
    }
    xxhash_rust::xxh3::xxh3_64(&buf)
}

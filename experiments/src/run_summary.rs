//! The summaries `tradebot evolve` (holdout or walk-forward) and `tradebot discover` runs store
//! in the research database when they finish: one type each, written by the run with its own
//! winner or candidates and read back by `tradebot runs show` with the views below (the fields
//! it shows). The research run's summary is [`crate::research::ResearchSummary`].

use evolve::problem::Evaluation;
use kernel::metrics::nan_as_null;
use novelty::ArchiveDiversity;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::discover::NoveltyCost;
use crate::evolution::{Selection, WalkForward};

/// A parameter set as stored: `{"fast": 10, "slow": 20}` (a choice by its option name), in the
/// strategy's parameter order when written.
pub type StoredParams = Map<String, Value>;

fn nan() -> f64 {
    f64::NAN
}

/// A summary's JSON text. It cannot fail: every summary type has string keys and figures that
/// serialise (a NaN as `null`).
pub fn to_json<T: Serialize>(summary: &T) -> String {
    serde_json::to_string(summary).expect("run summaries serialise")
}

/// An evolve run's summary. `W` is its winner: [`crate::evolution::Winner`] as the run writes
/// it, [`StoredWinner`] as `runs show` reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvolveSummary<W> {
    /// Distinct genomes evaluated (with walk-forward: every fold's).
    pub trials: usize,
    /// Generations run.
    pub generations: u32,
    /// Bars of the in-sample stage (a holdout run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_sample_bars: Option<usize>,
    /// Bars of the out-of-sample stage (a holdout run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_sample_bars: Option<usize>,
    /// The walk-forward settings (a walk-forward run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk_forward: Option<WalkForward>,
    /// Each fold's run, windows and winner (a walk-forward run).
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub folds: Vec<FoldSummary<W>>,
    /// The validated winner (`None` when no genome had a finite fitness).
    pub winner: Option<W>,
    /// The hall of fame's genomes, best first, in and out of sample (a holdout run).
    #[serde(default)]
    pub hall_of_fame: Vec<HallOfFameEntry>,
}

/// One walk-forward fold of an [`EvolveSummary`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldSummary<W> {
    /// The fold's own GA run.
    pub run_id: i64,
    /// First and last training bar (UTC).
    pub train: [String; 2],
    /// First and last test bar (UTC).
    pub test: [String; 2],
    /// The fold's winner, tested on its test window.
    pub winner: Option<W>,
}

/// A hall-of-fame genome of an evolve run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HallOfFameEntry {
    /// Its parameters.
    pub params: StoredParams,
    /// Its in-sample fitness.
    #[serde(with = "nan_as_null", default = "nan")]
    pub fitness: f64,
    /// Its in-sample figures (`None` when its backtest failed).
    pub in_sample: Option<Evaluation>,
    /// Its out-of-sample figures (`None` without an out-of-sample stage, or when refused).
    pub out_of_sample: Option<Evaluation>,
}

/// A winner as `runs show` reads it from an [`EvolveSummary`]: the parts of
/// [`crate::evolution::Winner`]'s JSON it shows.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct StoredWinner {
    /// Which trial it is (absent in summaries written before the plateau rule).
    #[serde(default)]
    pub selection: Option<Selection>,
    /// Its parameters.
    pub params: StoredParams,
    /// In-sample figures.
    pub in_sample: Evaluation,
    /// Out-of-sample figures (`None` without an out-of-sample stage).
    pub out_of_sample: Option<Evaluation>,
    /// Deflated Sharpe ratio of its in-sample returns (NaN when undefined).
    #[serde(with = "nan_as_null", default = "nan")]
    pub deflated_sharpe: f64,
    /// Probability of backtest overfitting, when computed.
    pub pbo: Option<f64>,
}

/// A discover run's summary. `C` is a candidate: [`crate::discover::Candidate`] as the run
/// writes it, [`StoredCandidate`] as `runs show` reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiscoverRunSummary<C> {
    /// Distinct genomes evaluated.
    pub trials: usize,
    /// Generations run.
    pub generations: u32,
    /// Bars of the in-sample stage.
    pub in_sample_bars: usize,
    /// Bars of the out-of-sample stage.
    pub out_of_sample_bars: usize,
    /// Share of evaluations answered by shared subexpressions.
    #[serde(with = "nan_as_null", default = "nan")]
    pub sharing: f64,
    /// The novelty archive after the last generation, if novelty ran.
    pub novelty_archive: Option<ArchiveDiversity>,
    /// Novelty's cost over the run, if it ran.
    pub novelty_cost: Option<NoveltyCost>,
    /// The hall of fame's genomes, judged, best first.
    pub candidates: Vec<C>,
}

/// A discovery candidate as `runs show` reads it from a [`DiscoverRunSummary`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct StoredCandidate {
    /// The genome's s-expression.
    pub genome: String,
    /// In-sample fitness.
    #[serde(with = "nan_as_null", default = "nan")]
    pub fitness: f64,
    /// In-sample figures.
    pub in_sample: Evaluation,
    /// Out-of-sample figures (`None` when not tested).
    pub out_of_sample: Option<Evaluation>,
    /// Deflated Sharpe ratio of its in-sample returns over the run's trials.
    #[serde(with = "nan_as_null", default = "nan")]
    pub deflated_sharpe: f64,
    /// Every gate's name and outcome.
    pub gates: Vec<StoredGate>,
    /// Whether it passed every gate.
    pub passed: bool,
    /// Its candidate id once recorded.
    pub id: Option<i64>,
}

/// A gate's outcome as stored with a [`StoredCandidate`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct StoredGate {
    /// The gate's name.
    pub gate: String,
    /// Whether it passed.
    pub passed: bool,
}

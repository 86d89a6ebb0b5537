//! One strategy family evolved and validated: the shared core of `tradebot evolve` and each
//! family of `tradebot research`.
//!
//! **Holdout** (the default): the first `validation.in_sample` share of the bars is the
//! in-sample stage, the rest the out-of-sample stage.
//! 1. The GA searches the family's parameters on the in-sample stage only, checkpointing
//!    every generation to the research database ([`evolve::run`]).
//! 2. The best genome is backtested out of sample with
//!    [`backtest_window`](kernel::strategy::backtest_window): its signals see the in-sample
//!    bars as warm-up, it trades only the out-of-sample bars, from fresh cash.
//! 3. Overfitting statistics: the deflated Sharpe ratio of the winner's in-sample returns,
//!    deflated by the number of distinct genomes the run evaluated with the null variance
//!    `V = 1/T` (the nightly research deflates by the whole night's trials instead); optionally the probability of backtest overfitting by CSCV over
//!    a sample of the run's trials spread across the search.
//!
//! **Walk-forward** (`[validation.walk_forward]`): the same for each fold — a GA run on the
//! fold's training window (a child run with its own data hash), its winner tested on the
//! window right after it. The folds' test windows are consecutive, so their equity curves
//! chain into one out-of-sample curve, each fold's winner trading only bars it never saw.
//!
//! Everything — in-sample and out-of-sample figures side by side, the statistics — goes into
//! the run's summary in the database.

mod stage;
mod walk_forward;

pub use walk_forward::walk_notes;

use std::ops::Range;
use std::sync::atomic::AtomicBool;

use evolve::db::ResearchDb;
use evolve::ga::{GaConfig, GenerationReport};
use evolve::genes::ParamGenes;
use evolve::problem::{Evaluation, StrategyEval, StrategyFarm};
use evolve::run::{Ending, RunError, Timing};
use evolve::stats::{FitnessConfig, Split, TestLen, WalkForwardMode};
use kernel::sim::{Trade, TradeRules};
use kernel::strategy::{MarketData, ParamValue, Params, Strategy};
use serde::{Deserialize, Serialize};

use crate::report::params_json;
use crate::research_report::TradeStats;

/// One generation of a strategy-tuning run, as observers see it.
pub type Generation = GenerationReport<Vec<ParamValue>, StrategyEval>;

/// Walk-forward folds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WalkForward {
    /// Number of folds.
    pub folds: usize,
    /// Rolling (fixed-length) or anchored (growing) training windows.
    pub mode: WalkForwardMode,
    /// Length of each test window.
    pub test: TestLen,
}

/// How a run is validated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Validation {
    /// Share of the bars in the in-sample stage, in (0, 1]; 1 means no out-of-sample stage.
    /// Ignored with walk-forward.
    pub in_sample: f64,
    /// Blocks for the probability of backtest overfitting (CSCV); `None` skips it.
    pub pbo_blocks: Option<usize>,
    /// Walk-forward folds instead of one holdout.
    pub walk_forward: Option<WalkForward>,
    /// PBO at or above which the plateau's median trial is deployed instead of the in-sample
    /// best ([`evolve::stats::plateau_median`]); `[validation] plateau_pbo`, default 0.5.
    pub plateau_pbo: f64,
}

impl Default for Validation {
    fn default() -> Self {
        Validation { in_sample: 0.7, pbo_blocks: None, walk_forward: None, plateau_pbo: 0.5 }
    }
}

/// Which of a search's trials a winner is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Selection {
    /// The trial with the best in-sample fitness (PBO low, or not computed).
    InSampleBest,
    /// The median trial of the plateau around the in-sample best, deployed because choosing
    /// the peak overfits: PBO was at least `[validation] plateau_pbo`.
    PlateauMedian {
        /// The search's probability of backtest overfitting.
        pbo: f64,
        /// Trials on the plateau (within one standard error of the best's in-sample Sharpe).
        plateau: usize,
        /// The in-sample best's annualised Sharpe ratio (the winner's own is in its figures).
        best_is_sharpe: f64,
    },
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selection::InSampleBest => f.write_str("in-sample best"),
            Selection::PlateauMedian { pbo, .. } => write!(f, "plateau median (PBO {pbo:.2})"),
        }
    }
}

/// Everything one evolution needs besides the bars and the database.
#[derive(Clone)]
pub struct EvolveSpec<'a> {
    /// Experiment (or research) name.
    pub name: &'a str,
    /// The family evolved.
    pub strategy: &'static dyn Strategy,
    /// Its parameter domains.
    pub genes: ParamGenes,
    /// Population, generations, operators, stagnation handling, seed.
    pub ga: GaConfig,
    /// Objective and constraints.
    pub fitness: FitnessConfig,
    /// Holdout or walk-forward, and PBO.
    pub validation: Validation,
    /// Costs and fill rules.
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// The configuration text, stored with the run; its hash is the config hash.
    pub config_text: &'a str,
    /// The research run this evolution belongs to.
    pub parent: Option<i64>,
    /// Where the GA's evaluations go when not to this process's threads: the NATS cluster's
    /// workers (`--nats`, crate `cluster`). Results are identical either way.
    pub farm: Option<&'a dyn StrategyFarm>,
}

/// The validated winner of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Winner {
    /// Which trial of the search it is: the in-sample best, or the plateau's median when PBO
    /// is high.
    pub selection: Selection,
    /// Its parameters.
    #[serde(serialize_with = "params_as_json")]
    pub params: Params,
    /// Its in-sample fitness.
    pub fitness: f64,
    /// In-sample figures, with capital at work (the time-averaged share of equity held in
    /// positions; NaN when its backtest could not run).
    pub in_sample: Evaluation,
    /// Out-of-sample figures with capital at work (`None` without an out-of-sample stage).
    /// With walk-forward: the chained test windows of every fold, capital at work averaged
    /// over their bars.
    pub out_of_sample: Option<Evaluation>,
    /// Out-of-sample equity (UTC ns, equity).
    #[serde(skip)]
    pub oos_equity: Vec<(i64, f64)>,
    /// In-sample equity of the same parameters (UTC ns, equity): the report's tear sheet
    /// draws it before the out-of-sample curve.
    #[serde(skip)]
    pub is_equity: Vec<(i64, f64)>,
    /// The statistics of the in-sample closed trades, for the report (not the trades: a
    /// fast-trading winner on a large universe closes millions, and the research holds every
    /// family's winner until its report).
    #[serde(skip)]
    pub is_trade_stats: TradeStats,
    /// Buy-and-hold of the first tradable symbol over the same bars, from the same cash.
    #[serde(skip)]
    pub benchmark: Vec<(i64, f64)>,
    /// The out-of-sample trades and activity, for chaining walk-forward folds.
    #[serde(skip)]
    pub oos_activity: OosActivity,
    /// Deflated Sharpe ratio of its in-sample returns.
    pub deflated_sharpe: f64,
    /// The DSR's `V`: the null variance `1/T` of a per-bar Sharpe ratio over its `T` in-sample
    /// returns.
    pub sharpe_variance: f64,
    /// The effective number of independent trials among the run's trials, measured on the
    /// PBO pass's sample of their in-sample returns (`None` without a PBO pass, and for a
    /// walk-forward winner, whose trials then count in full). The research night deflates by
    /// it; the run's own [`Winner::deflated_sharpe`] still counts every trial.
    pub effective_trials: Option<evolve::stats::EffectiveTrials>,
    /// Probability of backtest overfitting, when configured and computable. With walk-forward:
    /// the mean over the folds that computed one.
    pub pbo: Option<f64>,
    /// With walk-forward: how the whole walk went (`None` for a holdout).
    pub walk: Option<Walk>,
}

/// The whole walk behind a walk-forward winner: the winner's `params` and in-sample figures are
/// the final fold's (refit on its training window, the parameters to trade next), while its
/// out-of-sample figures chain every fold's test window and its DSR deflates by every fold's
/// trials.
#[derive(Clone, Debug, Serialize)]
pub struct Walk {
    /// Mean of the folds' winners' in-sample Sharpe ratios, each on its own training window:
    /// what the chained out-of-sample Sharpe is compared with.
    pub mean_is_sharpe: f64,
    /// Trials of every fold together: the DSR's `N`.
    pub trials: usize,
    /// The final fold's training window, on which the parameters were refit.
    pub refit_window: Range<usize>,
}

/// What an out-of-sample backtest did besides its equity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OosActivity {
    /// Closed trades.
    pub trades: Vec<Trade>,
    /// Bars with a position.
    pub exposed_bars: usize,
    /// Notional of every fill.
    pub traded_notional: f64,
}

impl OosActivity {
    /// Decisions: the distinct bars whose fills opened positions — one per entry or rebalance,
    /// however many legs it opened. Exits are not counted (a position is entered by a decision;
    /// the end of the data or a stop closing it is none), so a portfolio that picked its
    /// holdings once and held them shows 1, not one trade per leg.
    pub fn decisions(&self) -> usize {
        let mut entries: Vec<i64> = self.trades.iter().map(|t| t.entry_time.0).collect();
        entries.sort_unstable();
        entries.dedup();
        entries.len()
    }
}

fn params_as_json<S: serde::Serializer>(p: &Params, s: S) -> Result<S::Ok, S::Error> {
    params_json(p).serialize(s)
}

/// One walk-forward fold's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct FoldOutcome {
    /// The fold's own GA run.
    pub run_id: i64,
    /// Training bars.
    pub train: Range<usize>,
    /// Test bars.
    pub test: Range<usize>,
    /// The fold's winner, tested on its test window.
    pub winner: Option<Winner>,
}

/// A finished or stopped evolution.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The run's id in the database (the parent of the fold runs with walk-forward).
    pub run_id: i64,
    /// Finished, or stopped and resumable.
    pub ending: Ending,
    /// The validated best genome (`None` when stopped, or when no genome had a finite
    /// fitness). With walk-forward: the last fold's winner — the parameters to trade next,
    /// refit on the final window — with the chained out-of-sample figures of every fold, the
    /// DSR over every fold's trials, and [`Winner::walk`].
    pub winner: Option<Winner>,
    /// Generations run in total.
    pub generations: u32,
    /// Distinct genomes evaluated (the trials of the deflated Sharpe ratio).
    pub trials: usize,
    /// Stagnation, injection and restart events over the run.
    pub stagnation_events: u32,
    /// Time and evaluations of this invocation (not of earlier, interrupted ones).
    pub timing: Timing,
    /// The bars of each stage: in-sample, out-of-sample (possibly empty). With walk-forward:
    /// the last fold's training window, and every test window.
    pub stages: (Range<usize>, Range<usize>),
    /// The folds, with walk-forward.
    pub folds: Vec<FoldOutcome>,
}

/// An evolution that could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvolveError {
    /// Starting, resuming or recording the run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The database refused a write.
    #[error(transparent)]
    Db(#[from] evolve::db::DbError),
    /// The data has too few bars to split.
    #[error("{0}")]
    Split(String),
}

/// Evolves `spec.strategy` on `data` (or continues run `resume`), then validates the winner.
/// `observe` sees every generation; `stop` ends the run cleanly after the current one.
pub fn evolve(
    spec: &EvolveSpec<'_>,
    data: &MarketData,
    db: &mut ResearchDb,
    resume: Option<i64>,
    stop: &AtomicBool,
    mut observe: impl FnMut(&Generation),
) -> Result<Outcome, EvolveError> {
    if let Some(wf) = spec.validation.walk_forward {
        return walk_forward::run(spec, wf, data, db, resume, stop, &mut observe);
    }
    let (is, oos) = stages(data, spec.validation.in_sample);
    let min = crate::config::limits::MIN_IN_SAMPLE_BARS;
    if is.len() < min || (spec.validation.in_sample < 1.0 && oos.is_empty()) {
        let why = format!(
            "{} bars cannot be split {} % in sample with at least {min} bars in sample and an \
             out-of-sample stage (`[validation] in_sample` leaves {} in sample)",
            data.len(),
            spec.validation.in_sample * 100.0,
            is.len()
        );
        return Err(EvolveError::Split(why));
    }
    let mode = match resume {
        Some(id) => stage::Mode::Resume(id),
        None => stage::Mode::Start { parent: spec.parent },
    };
    stage::run(spec, data, is, oos, mode, db, stop, &mut observe)
}

/// The in-sample and out-of-sample bars of `data` with an in-sample `share` (the
/// out-of-sample stage is empty for a share of 1, and when the bars are too few to split). On
/// intraday bars the cut moves to a session boundary — the first bar of the next UTC day, or of
/// its own when the next has none — so no session is split between the stages.
pub fn stages(data: &MarketData, share: f64) -> (Range<usize>, Range<usize>) {
    let n = data.len();
    if share >= 1.0 {
        return (0..n, n..n);
    }
    match Split::holdout(n, share) {
        Ok(split) => {
            let cut = session_cut(data, split.in_sample.end);
            (0..cut, cut..n)
        }
        Err(_) => (0..n, n..n),
    }
}

/// `cut`, moved to the nearest session start at or after it (before it when no session starts
/// after) on intraday bars; unchanged on daily and slower bars, or when that would empty a stage.
fn session_cut(data: &MarketData, cut: usize) -> usize {
    let day = datasets::Timeframe::Day1.nominal_nanos();
    if data.timeframe().nominal_nanos() >= day {
        return cut;
    }
    let ts = data.timestamps();
    let starts_session = |t: usize| ts[t].div_euclid(day) != ts[t - 1].div_euclid(day);
    let after = (cut..ts.len()).find(|&t| starts_session(t));
    let before = (1..=cut).rev().find(|&t| starts_session(t));
    after.or(before).unwrap_or(cut)
}

#[cfg(test)]
mod tests {
    use datasets::{AssetClass, Bar, Bars, SymbolMeta, Timeframe, Timestamp};
    use kernel::strategy::SymbolData;

    use super::*;

    const MINUTE: i64 = 60_000_000_000;
    const DAY: i64 = 1440 * MINUTE;

    /// `days` sessions of 390 minute bars from 14:30 UTC.
    fn minutes(days: i64, timeframe: Timeframe, step: i64) -> MarketData {
        let bars: Vec<Bar> = (0..days)
            .flat_map(|d| (0..390 / (step / MINUTE)).map(move |m| d * DAY + 870 * MINUTE + m * step))
            .map(|ts| Bar {
                ts: Timestamp(ts),
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                volume: 1.0,
                vwap: None,
                trade_count: None,
            })
            .collect();
        let meta = SymbolMeta::new("X", AssetClass::Equity);
        MarketData::new(timeframe, vec![SymbolData { meta, bars: Bars::from_bars(bars).unwrap() }]).unwrap()
    }

    fn trade(entry_bar: usize, exit_bar: usize, exit: kernel::sim::ExitReason) -> Trade {
        Trade {
            entry_signal_bar: entry_bar - 1,
            entry_bar,
            exit_bar,
            exit_signal_bar: None,
            entry_time: Timestamp(entry_bar as i64 * DAY),
            exit_time: Timestamp(exit_bar as i64 * DAY),
            entry_price: 1.0,
            exit_price: 1.0,
            qty: 1.0,
            fees: 0.0,
            pnl: 0.0,
            ret: 0.0,
            exit_reason: exit,
        }
    }

    /// A top-k portfolio picked once and held to the end of the data is one decision, not one
    /// trade per leg; each later entry or rebalance is one more.
    #[test]
    fn decisions_count_entries_not_legs() {
        use kernel::sim::ExitReason::{EndOfData, Signal};
        let held = OosActivity {
            trades: (0..53).map(|_| trade(1, 600, EndOfData)).collect(),
            ..OosActivity::default()
        };
        assert_eq!((held.trades.len(), held.decisions()), (53, 1));
        let mut rebalanced = held.clone();
        rebalanced.trades.extend((0..5).map(|_| trade(64, 600, EndOfData)));
        rebalanced.trades.push(trade(128, 200, Signal));
        assert_eq!(rebalanced.decisions(), 3);
        assert_eq!(OosActivity::default().decisions(), 0);
    }

    #[test]
    fn intraday_splits_fall_on_session_boundaries() {
        // 10 sessions × 390 bars: 70 % is bar 2,730 = the start of session 8 already; 73 % is
        // bar 2,847, mid-session 8 — the cut moves to session 9 (bar 3,120).
        let data = minutes(10, Timeframe::Min1, MINUTE);
        assert_eq!(stages(&data, 0.7), (0..2730, 2730..3900));
        assert_eq!(stages(&data, 0.73), (0..3120, 3120..3900));
        // In the last session there is no later start: back to its own start.
        assert_eq!(stages(&data, 0.95), (0..3510, 3510..3900));
        // Daily bars are cut where the share says.
        let daily = minutes(10, Timeframe::Day1, 390 * MINUTE);
        assert_eq!(stages(&daily, 0.73), (0..7, 7..10));
        assert_eq!(stages(&data, 1.0), (0..3900, 3900..3900));
    }
}

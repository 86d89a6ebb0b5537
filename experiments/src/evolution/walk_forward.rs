//! Walk-forward: one GA run per fold, each fold's winner tested on the bars right after its
//! training window, the test windows chained into one out-of-sample record.
//!
//! The walk-forward run is a parent row (kind `evolve`) with one child run per fold, each with
//! the data hash of its own training window — several hashes in one run are allowed only here,
//! one per fold. Resuming the parent replays the finished folds from their checkpoints (no
//! writes), resumes the stopped one and starts the rest.

use std::sync::atomic::AtomicBool;

use evolve::db::{EventRecord, NewRun, ResearchDb, RunKind, RunStatus};
use evolve::problem::Evaluation;
use evolve::run::{Ending, Provenance, RunError, Timing, now_ns};
use evolve::stats::{deflated_sharpe, walk_forward};
use kernel::metrics::{Metrics, MetricsConfig, MetricsInput, TradeList};
use kernel::strategy::MarketData;
use xxhash_rust::xxh3::xxh3_64;

use super::stage::{self, Mode, buy_and_hold};
use super::{
    EvolveError, EvolveSpec, FoldOutcome, Generation, OosActivity, Outcome, Walk, WalkForward, Winner,
};
use crate::data::data_hash;
use crate::run_summary::{EvolveSummary, FoldSummary, to_json};

/// Runs (or resumes) every fold of `wf` on `data`.
pub(super) fn run(
    spec: &EvolveSpec<'_>,
    wf: WalkForward,
    data: &MarketData,
    db: &mut ResearchDb,
    resume: Option<i64>,
    stop: &AtomicBool,
    observe: &mut dyn FnMut(&Generation),
) -> Result<Outcome, EvolveError> {
    let folds = walk_forward(data.len(), wf.folds, wf.test, wf.mode)
        .map_err(|e| EvolveError::Split(e.to_string()))?;
    let hash = data_hash(data);
    let config_hash = xxh3_64(spec.config_text.as_bytes());
    let parent = match resume {
        Some(id) => {
            let stored = db.run(id)?.ok_or(RunError::NoSuchRun(id))?;
            let ts = data.timestamps();
            let now = Provenance { data_hash: hash, first_ns: ts[0], last_ns: ts[ts.len() - 1], config_hash };
            now.check(&stored)?;
            db.reopen_run(id)?.id
        }
        None => {
            let ts = data.timestamps();
            db.create_run(&NewRun {
                kind: RunKind::Evolve,
                parent: spec.parent,
                name: spec.name,
                strategy: spec.strategy.name(),
                config: spec.config_text,
                config_hash,
                seed: spec.ga.seed,
                data_hash: hash,
                data_first_ns: ts[0],
                data_last_ns: ts[ts.len() - 1],
                code_version: env!("CARGO_PKG_VERSION"),
                started_ns: now_ns(),
            })?
        }
    };
    let children = db.child_runs(parent)?;
    let mut outcome = Outcome {
        run_id: parent,
        ending: Ending::Finished,
        winner: None,
        generations: 0,
        trials: 0,
        stagnation_events: 0,
        timing: Timing::default(),
        stages: (folds[folds.len() - 1].train.clone(), folds[0].test.start..data.len()),
        folds: Vec::new(),
    };
    for (k, fold) in folds.iter().enumerate() {
        let mode = match children.get(k) {
            Some(c) if c.status == RunStatus::Finished => Mode::Replay(c.id),
            Some(c) => Mode::Resume(c.id),
            None => Mode::Start { parent: Some(parent) },
        };
        let o = stage::run(spec, data, fold.train.clone(), fold.test.clone(), mode, db, stop, observe)?;
        outcome.generations += o.generations;
        outcome.trials += o.trials;
        outcome.stagnation_events += o.stagnation_events;
        outcome.timing += o.timing;
        if o.ending == Ending::Stopped {
            let detail =
                format!("stopped in fold {} of {}; resume with --resume {parent}", k + 1, folds.len());
            db.record_event(parent, &EventRecord { generation: 0, kind: "stopped".into(), detail })?;
            db.finish_run(parent, RunStatus::Stopped, now_ns(), None)?;
            outcome.ending = Ending::Stopped;
            return Ok(outcome);
        }
        outcome.folds.push(FoldOutcome {
            run_id: o.run_id,
            train: fold.train.clone(),
            test: fold.test.clone(),
            winner: o.winner,
        });
    }
    outcome.winner = chained(spec, data, &outcome.folds, outcome.trials);
    let date = |t: usize| data.time(t).to_string();
    let folds = outcome
        .folds
        .iter()
        .map(|f| FoldSummary {
            run_id: f.run_id,
            train: [date(f.train.start), date(f.train.end - 1)],
            test: [date(f.test.start), date(f.test.end - 1)],
            winner: f.winner.as_ref(),
        })
        .collect();
    let summary = EvolveSummary {
        trials: outcome.trials,
        generations: outcome.generations,
        in_sample_bars: None,
        out_of_sample_bars: None,
        walk_forward: Some(wf),
        folds,
        winner: outcome.winner.as_ref(),
        hall_of_fame: Vec::new(),
    };
    db.finish_run(parent, RunStatus::Finished, now_ns(), Some(&to_json(&summary)))?;
    Ok(outcome)
}

/// The last fold's winner (its parameters refit on its training window) with the record of the
/// whole walk: the out-of-sample record of every fold chained — each test window's equity
/// continues from where the previous one ended (a fold without a tested winner holds cash) —,
/// the DSR deflated by the `trials` of every fold, the mean of the folds' PBOs and in-sample
/// Sharpe ratios. `None` when no fold had a winner.
fn chained(spec: &EvolveSpec<'_>, data: &MarketData, folds: &[FoldOutcome], trials: usize) -> Option<Winner> {
    let (refit, last) = folds.iter().rev().find_map(|f| Some((f.train.clone(), f.winner.as_ref()?)))?;
    let winners: Vec<&Winner> = folds.iter().filter_map(|f| f.winner.as_ref()).collect();
    let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let is_sharpes: Vec<f64> =
        winners.iter().map(|w| w.in_sample.figures.sharpe).filter(|s| s.is_finite()).collect();
    let pbos: Vec<f64> = winners.iter().filter_map(|w| w.pbo).collect();
    let walk = Walk { mean_is_sharpe: mean(&is_sharpes).unwrap_or(f64::NAN), trials, refit_window: refit };
    let mut level = spec.cash;
    let mut curve: Vec<(i64, f64)> = Vec::new();
    let mut activity = OosActivity::default();
    let mut capital_bars = 0.0;
    for fold in folds {
        let tested = fold.winner.as_ref().filter(|w| w.oos_equity.len() == fold.test.len());
        let scale = level / spec.cash;
        match tested {
            Some(w) => {
                curve.extend(w.oos_equity.iter().map(|&(t, e)| (t, e * scale)));
                activity.trades.extend(w.oos_activity.trades.iter().cloned());
                activity.exposed_bars += w.oos_activity.exposed_bars;
                activity.traded_notional += w.oos_activity.traded_notional * scale;
                let capital = w.out_of_sample.as_ref().map_or(f64::NAN, |e| e.figures.capital_at_work);
                capital_bars += capital * fold.test.len() as f64;
            }
            None => curve.extend(data.timestamps()[fold.test.clone()].iter().map(|&t| (t, level))),
        }
        level = curve.last().map_or(level, |&(_, e)| e);
    }
    let window = folds[0].test.start..folds[folds.len() - 1].test.end;
    let (times, equity): (Vec<i64>, Vec<f64>) = curve.iter().copied().unzip();
    let reference = data.tradable().next().unwrap_or(0);
    let symbol = &data.symbols()[reference];
    let input = MetricsInput {
        initial_equity: spec.cash,
        equity: &equity,
        timestamps: &times,
        trades: TradeList::Slice(&activity.trades),
        exposed_bars: activity.exposed_bars,
        traded_notional: activity.traded_notional,
        benchmark_close: &symbol.bars.close()[window.clone()],
    };
    let config = MetricsConfig::new(data.timeframe(), symbol.meta.asset_class);
    let metrics = Metrics::compute(&input, &config);
    let mut figures = Evaluation::from_metrics(&metrics, &equity, spec.cash);
    figures.figures.capital_at_work = capital_bars / window.len().max(1) as f64;
    Some(Winner {
        out_of_sample: Some(figures),
        oos_equity: curve,
        benchmark: buy_and_hold(data, window, spec.cash),
        oos_activity: activity,
        deflated_sharpe: deflated_sharpe(&last.in_sample.returns, trials, last.sharpe_variance),
        effective_trials: None,
        pbo: mean(&pbos),
        walk: Some(walk),
        ..last.clone()
    })
}

/// The walk in sentences for a report: one per fold (its windows, its winner's in-sample and
/// out-of-sample Sharpe, trades, DSR over its own trials, PBO), then what the headline figures
/// are. Empty for a holdout.
pub fn walk_notes(outcome: &Outcome, data: &MarketData) -> Vec<String> {
    let Some(walk) = outcome.winner.as_ref().and_then(|w| w.walk.as_ref()) else { return Vec::new() };
    let day = |t: usize| data.time(t).to_string().chars().take(10).collect::<String>();
    let span = |r: &std::ops::Range<usize>| format!("{}..{}", day(r.start), day(r.end - 1));
    let mut notes: Vec<String> = outcome
        .folds
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let head = format!("fold {}: train {}, test {}", k + 1, span(&f.train), span(&f.test));
            match &f.winner {
                None => format!("{head}: no winner (held cash)"),
                Some(w) => {
                    let oos = w.out_of_sample.as_ref();
                    format!(
                        "{head}: in-sample Sharpe {:.2} → out-of-sample {} over {} trades; DSR {:.3}; PBO {}",
                        w.in_sample.figures.sharpe,
                        oos.map_or("–".into(), |f| format!("{:.2}", f.figures.sharpe)),
                        oos.map_or(0, |f| f.figures.trades),
                        w.deflated_sharpe,
                        w.pbo.map_or("–".into(), |p| format!("{p:.2}")),
                    )
                }
            }
        })
        .collect();
    notes.push(format!(
        "walk-forward over {} folds: out-of-sample = the test windows chained; compared with the folds' mean \
         in-sample Sharpe {:.2}; DSR over all {} trials of the walk; params refit on the final window {}",
        outcome.folds.len(),
        walk.mean_is_sharpe,
        walk.trials,
        span(&walk.refit_window),
    ));
    notes
}

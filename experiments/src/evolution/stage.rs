//! One GA run on one in-sample stage, and the validation of its winner.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::AtomicBool;

use evolve::db::IndividualRecord;
use evolve::db::{NewRun, ResearchDb, RunKind, RunStatus};
use evolve::ga::Engine;
use evolve::problem::{Evaluation, StrategyEval, StrategyProblem};
use evolve::run::{Ending, Provenance, Run, Timing, now_ns};
use evolve::stats::{
    EffectiveTrials, Objective, PlateauTrial, deflated_sharpe, effective_trials, pbo, plateau_median,
    returns_from_equity,
};
use kernel::strategy::{MarketData, ParamValue, RunResult, backtest, backtest_window};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::{EvolveError, EvolveSpec, Generation, OosActivity, Outcome, Selection, Winner};
use crate::data::data_hash;
use crate::report::params_map;
use crate::research_report::TradeStats;
use crate::run_summary::{EvolveSummary, HallOfFameEntry, to_json};

/// How the stage's run comes about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// A new run, child of `parent`.
    Start {
        /// The research or walk-forward run it belongs to.
        parent: Option<i64>,
    },
    /// Continue a stopped or crashed run.
    Resume(i64),
    /// Re-validate a finished run from its last checkpoint, writing nothing.
    Replay(i64),
}

/// Evolves on `data[is]`, then validates the winner on `data[oos]` (none when empty).
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    spec: &EvolveSpec<'_>,
    data: &MarketData,
    is: Range<usize>,
    oos: Range<usize>,
    mode: Mode,
    db: &mut ResearchDb,
    stop: &AtomicBool,
    observe: &mut dyn FnMut(&Generation),
) -> Result<Outcome, EvolveError> {
    let in_sample = data.slice(is.clone());
    let deflation = (spec.fitness.objective == Objective::DeflatedSharpe)
        .then(|| (spec.ga.population * spec.ga.generations as usize, 1.0 / in_sample.len() as f64));
    let problem = StrategyProblem {
        strategy: spec.strategy,
        genes: spec.genes.clone(),
        data: &in_sample,
        rules: spec.rules,
        cash: spec.cash,
        fitness: spec.fitness,
        deflation,
    };
    let ts = in_sample.timestamps();
    let provenance = Provenance {
        data_hash: data_hash(&in_sample),
        first_ns: ts[0],
        last_ns: ts[ts.len() - 1],
        config_hash: xxh3_64(spec.config_text.as_bytes()),
    };
    let ga = spec.ga.clone();
    let mut run = match mode {
        Mode::Resume(id) => Run::resume(db, id, &problem, ga, provenance)?,
        Mode::Replay(id) => Run::load(db, id, &problem, ga, provenance)?,
        Mode::Start { parent } => {
            let new = NewRun {
                kind: RunKind::Evolve,
                parent,
                name: spec.name,
                strategy: spec.strategy.name(),
                config: spec.config_text,
                config_hash: provenance.config_hash,
                seed: spec.ga.seed,
                data_hash: provenance.data_hash,
                data_first_ns: provenance.first_ns,
                data_last_ns: provenance.last_ns,
                code_version: env!("CARGO_PKG_VERSION"),
                started_ns: now_ns(),
            };
            Run::start(db, &new, &problem, ga)?
        }
    };
    let farmed = spec.farm.map(|farm| farm.for_run(run.id));
    if let Some(evaluator) = &farmed {
        run.engine.set_evaluator(evaluator.as_ref());
    }
    let (ending, timing) = match mode {
        Mode::Replay(_) => (Ending::Finished, Timing::default()),
        _ => run.drive(db, stop, |report, _| observe(report))?,
    };
    let stagnation_events = db
        .events(run.id)?
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "stagnation" | "injection" | "restart"))
        .count() as u32;
    let mut outcome = Outcome {
        run_id: run.id,
        ending,
        winner: None,
        generations: db.run(run.id)?.map_or(0, |r| r.generations),
        trials: run.engine.evaluations(),
        stagnation_events,
        timing,
        stages: (is, oos.clone()),
        folds: Vec::new(),
    };
    if ending == Ending::Stopped {
        return Ok(outcome);
    }
    outcome.winner = validate(spec, &problem, &run.engine, data, oos, db, run.id)?;
    if !matches!(mode, Mode::Replay(_)) {
        let summary = EvolveSummary {
            trials: outcome.trials,
            generations: outcome.generations,
            in_sample_bars: Some(outcome.stages.0.len()),
            out_of_sample_bars: Some(outcome.stages.1.len()),
            walk_forward: None,
            folds: Vec::new(),
            winner: outcome.winner.as_ref(),
            hall_of_fame: hall_of_fame(spec, &problem, &run.engine, data, outcome.stages.1.clone()),
        };
        db.finish_run(run.id, RunStatus::Finished, now_ns(), Some(&to_json(&summary)))?;
    }
    Ok(outcome)
}

/// The winner's out-of-sample test and the run's overfitting statistics. The winner is the
/// in-sample best, or — when PBO is at least `[validation] plateau_pbo` — the plateau's median
/// trial ([`evolve::stats::plateau_median`]); its out-of-sample test, DSR and parameters are
/// then that trial's.
fn validate(
    spec: &EvolveSpec<'_>,
    problem: &StrategyProblem<'_>,
    engine: &Engine<'_, StrategyProblem<'_>>,
    data: &MarketData,
    oos: Range<usize>,
    db: &ResearchDb,
    run_id: i64,
) -> Result<Option<Winner>, EvolveError> {
    let Some(best) = engine.best() else { return Ok(None) };
    let Some(StrategyEval::Ran(best_figures)) = engine.eval(best.key).cloned() else { return Ok(None) };

    let individuals = db.individuals(run_id)?;
    // The trials with a finite fitness, in the order the run made them.
    let tried: Vec<Vec<ParamValue>> = individuals
        .iter()
        .filter(|ind| ind.fitness.is_some())
        .filter_map(|ind| serde_json::from_str(&ind.genome).ok())
        .collect();
    let trials = engine.evaluations();
    let (pbo, best_capital, effective) = match spec.validation.pbo_blocks {
        Some(blocks) => overfitting(spec, problem, &best.genome, &tried, blocks, trials),
        None => (None, None, None),
    };
    let plateau = pbo
        .filter(|&p| p >= spec.validation.plateau_pbo)
        .and_then(|p| plateau_trial(problem, engine, &individuals, best.key).map(|t| (p, t)));
    let (genome, fitness, mut in_sample, selection, is_capital) = match plateau {
        Some((pbo, (genome, fitness, figures, members))) => {
            let selection = Selection::PlateauMedian {
                pbo,
                plateau: members,
                best_is_sharpe: best_figures.figures.sharpe,
            };
            let capital = (genome == best.genome).then_some(best_capital).flatten();
            (genome, fitness, figures, selection, capital)
        }
        None => (best.genome.clone(), best.fitness, best_figures, Selection::InSampleBest, best_capital),
    };
    let params = problem.params(&genome).expect("an evaluated genome is a valid parameter set");
    // The in-sample record once more, for the report's equity, drawdown and trade statistics
    // (the GA's evaluation keeps only the figures) and, when the PBO pass did not measure it,
    // capital at work.
    let is_run = backtest(spec.strategy, &params, problem.data, spec.rules, spec.cash).ok();
    in_sample.figures.capital_at_work =
        is_capital.unwrap_or_else(|| is_run.as_ref().map_or(f64::NAN, |bt| bt.capital_at_work(problem.data)));

    // V: the null variance of a per-bar Sharpe ratio over T returns, 1/T — one scale for every
    // family and for discovery, not the spread of the GA's own trials (which shrinks as the GA
    // converges).
    let sharpe_variance = 1.0 / in_sample.returns.n.max(1) as f64;
    let dsr = deflated_sharpe(&in_sample.returns, trials, sharpe_variance);

    let mut winner = Winner {
        selection,
        params,
        fitness,
        in_sample,
        out_of_sample: None,
        oos_equity: Vec::new(),
        is_equity: Vec::new(),
        is_trade_stats: TradeStats::none(),
        benchmark: Vec::new(),
        oos_activity: OosActivity::default(),
        deflated_sharpe: dsr,
        sharpe_variance,
        effective_trials: effective,
        pbo,
        walk: None,
    };
    // Dropped here, before the out-of-sample backtest: only its curve and statistics are kept.
    if let Some(bt) = is_run {
        let times = problem.data.timestamps();
        winner.is_equity = times.iter().copied().zip(bt.result.equity().iter().copied()).collect();
        winner.is_trade_stats = match &bt.result {
            RunResult::Single(r) => TradeStats::of(&r.activity.trades),
            RunResult::Portfolio(r) => TradeStats::of(&r.trades_by_exit()),
        };
    }
    if !oos.is_empty()
        && let Ok(bt) =
            backtest_window(spec.strategy, &winner.params, data, spec.rules, spec.cash, oos.clone())
    {
        let times = &data.timestamps()[oos.clone()];
        let mut out_of_sample = Evaluation::of(&bt, spec.cash);
        out_of_sample.figures.capital_at_work = bt.capital_at_work(&data.slice(oos.clone()));
        winner.out_of_sample = Some(out_of_sample);
        winner.oos_equity = times.iter().copied().zip(bt.result.equity().iter().copied()).collect();
        winner.benchmark = buy_and_hold(data, oos, spec.cash);
        winner.oos_activity = match &bt.result {
            RunResult::Single(r) => OosActivity {
                trades: r.activity.trades.clone(),
                exposed_bars: r.activity.exposed_bars,
                traded_notional: r.activity.traded_notional,
            },
            RunResult::Portfolio(r) => OosActivity {
                trades: r.trades(),
                exposed_bars: r.exposed_bars,
                traded_notional: r.traded_notional(),
            },
        };
    }
    Ok(Some(winner))
}

/// The plateau's median among the run's distinct trials (in the order the run made them) around
/// the in-sample best `best_key`: its genome, fitness, in-sample figures and the plateau's size.
/// `None` when there is no plateau (see [`plateau_median`]).
fn plateau_trial(
    problem: &StrategyProblem<'_>,
    engine: &Engine<'_, StrategyProblem<'_>>,
    individuals: &[IndividualRecord],
    best_key: u64,
) -> Option<(Vec<ParamValue>, f64, Evaluation, usize)> {
    let mut seen = HashSet::new();
    let mut ran: Vec<(u64, Vec<ParamValue>, &Evaluation)> = Vec::new();
    for ind in individuals {
        if !seen.insert(ind.key) {
            continue;
        }
        let Some(StrategyEval::Ran(figures)) = engine.eval(ind.key) else { continue };
        let Ok(genome) = serde_json::from_str::<Vec<ParamValue>>(&ind.genome) else { continue };
        ran.push((ind.key, genome, figures));
    }
    let best = ran.iter().position(|r| r.0 == best_key)?;
    let trials: Vec<PlateauTrial<'_>> = ran
        .iter()
        .map(|(_, genome, f)| PlateauTrial { genome, fitness: problem.score(f), returns: f.returns })
        .collect();
    let plateau = plateau_median(&problem.genes, &trials, best)?;
    let (_, genome, figures) = &ran[plateau.median];
    Some((genome.clone(), trials[plateau.median].fitness, Evaluation::clone(figures), plateau.members.len()))
}

/// The hall of fame, best first, each genome with its in-sample figures next to its figures on
/// the out-of-sample bars (`null` without them), for `tradebot runs show`.
fn hall_of_fame(
    spec: &EvolveSpec<'_>,
    problem: &StrategyProblem<'_>,
    engine: &Engine<'_, StrategyProblem<'_>>,
    data: &MarketData,
    oos: Range<usize>,
) -> Vec<HallOfFameEntry> {
    engine
        .hall_of_fame()
        .par_iter()
        .map(|s| {
            let params = problem.params(&s.genome).expect("an evaluated genome is a valid parameter set");
            let in_sample = match engine.eval(s.key) {
                Some(StrategyEval::Ran(f)) => Some(f.clone()),
                _ => None,
            };
            let out_of_sample = (!oos.is_empty())
                .then(|| {
                    backtest_window(spec.strategy, &params, data, spec.rules, spec.cash, oos.clone()).ok()
                })
                .flatten()
                .map(|bt| Evaluation::of(&bt, spec.cash));
            HallOfFameEntry { params: params_map(&params), fitness: s.fitness, in_sample, out_of_sample }
        })
        .collect()
}

/// Trials re-run for PBO at most: enough for CSCV's rank statistics, few enough to cost well
/// under a generation of a large universe.
const PBO_TRIALS: usize = 48;

/// PBO by CSCV over the run's trials: up to [`PBO_TRIALS`] of them taken evenly across the
/// order the run made them (so early, poor trials weigh in as they did in the search, not just
/// the converged final population, whose near-clones would make the ranks a coin toss), plus
/// the winner, re-run in sample for their return series. The PBO is `None` when fewer than two
/// ran or the stage is too short for `blocks` blocks. Also the in-sample capital at work of
/// `best`, measured on its re-run (`None` if it failed), so it is not run again, and the
/// effective number of independent trials among the run's `trials`, measured on the same
/// sample ([`effective_trials`]; `None` when it cannot be measured).
fn overfitting(
    spec: &EvolveSpec<'_>,
    problem: &StrategyProblem<'_>,
    best: &[ParamValue],
    tried: &[Vec<ParamValue>],
    blocks: usize,
    trials: usize,
) -> (Option<f64>, Option<f64>, Option<EffectiveTrials>) {
    let take = tried.len().min(PBO_TRIALS);
    let mut candidates: Vec<&[ParamValue]> =
        (0..take).map(|k| tried[k * tried.len() / take].as_slice()).collect();
    if !candidates.contains(&best) {
        candidates.push(best);
    }
    let runs: Vec<(&[ParamValue], Vec<f64>, Option<f64>)> = candidates
        .par_iter()
        .filter_map(|&g| {
            let params = problem.params(g).ok()?;
            let bt = backtest(spec.strategy, &params, problem.data, spec.rules, spec.cash).ok()?;
            let capital = (g == best).then(|| bt.capital_at_work(problem.data));
            Some((g, returns_from_equity(spec.cash, bt.result.equity()), capital))
        })
        .collect();
    let capital = runs.iter().find_map(|r| r.2);
    if runs.len() < 2 {
        return (None, capital, None);
    }
    // The effective trials count distinct genomes: a genome the run recorded twice (an elite
    // carried over) is one trial, not two perfectly correlated ones.
    let distinct: Vec<&[f64]> = runs
        .iter()
        .enumerate()
        .filter(|(k, r)| runs[..*k].iter().all(|earlier| earlier.0 != r.0))
        .map(|(_, r)| r.1.as_slice())
        .collect();
    let effective = effective_trials(&distinct, trials);
    let series: Vec<Vec<f64>> = runs.into_iter().map(|r| r.1).collect();
    (pbo(&series, blocks).ok().map(|r| r.pbo), capital, effective)
}

/// Equity of holding the first tradable symbol over `window` with `cash`.
pub(super) fn buy_and_hold(data: &MarketData, window: Range<usize>, cash: f64) -> Vec<(i64, f64)> {
    let Some(i) = data.tradable().next() else { return Vec::new() };
    let close = &data.symbols()[i].bars.close()[window.clone()];
    let times = &data.timestamps()[window];
    times.iter().zip(close).map(|(&t, &c)| (t, cash * c / close[0])).collect()
}

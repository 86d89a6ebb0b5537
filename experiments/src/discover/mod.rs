//! Strategy discovery end to end: a GP search in sample, the hall of fame tested out of sample,
//! promotion gates, and the candidates that pass recorded for `tradebot promote`.
//!
//! 1. The first `in_sample` share of the bars is the in-sample stage. The GA engine searches
//!    GP genomes on it ([`GpProblem`]), every generation checkpointed to the research database
//!    ([`evolve::run`]: Ctrl-C stops after a committed generation, `--resume` continues
//!    exactly). The run is a `runs` row of kind `evolve`, strategy `gp`.
//! 2. The in-sample best of the hall of fame's distinct genomes — and only it, so the test
//!    data selects nothing — is backtested on the out-of-sample bars (signals computed on
//!    the whole series, trades only in the window, fresh cash) and judged by the gates
//!    ([`Gates`]); the other hall-of-fame genomes are listed with their in-sample figures and
//!    fail the `selection` gate. The gates: out-of-sample Sharpe, deflated Sharpe ratio of its in-sample returns over the
//!    run's trials, out-of-sample trades and drawdown, correlation of its out-of-sample returns
//!    to each promoted strategy's over the same bars, and the cash-account check of the promoted
//!    format (long-only by construction).
//! 3. A candidate that passes every gate goes to the `discovered_strategies` table and to two
//!    files under the candidates directory: `<id>.sexp` (the readable genome with its figures
//!    and lineage as comments; it parses back) and `<id>.json` (everything, including the data
//!    and rules `tradebot promote` needs to record its backtest).

mod candidate;
mod cost;
mod gates;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use evolve::db::{NewRun, ResearchDb, RunKind, RunStatus};
use evolve::discovery::{GpEval, GpProblem, GpSettings, PortfolioInput, PortfolioTerm, SLEEVE};
use evolve::ga::GenerationReport;
use evolve::problem::StrategyFarm;
use evolve::run::{Ending, Provenance, Run, Timing, now_ns};
use evolve::stats::{FitnessConfig, Objective};
use gp::{Genome, Sharing};
use kernel::sim::TradeRules;
use kernel::strategy::{MarketData, data_hash};
use novelty::ArchiveDiversity;
use xxhash_rust::xxh3::xxh3_64;

pub use candidate::{CandidateFile, DataRef, demote, load, promote, readable};
pub use cost::{GenerationCost, NoveltyCost};
pub use gates::{Candidate, GateResult};

use crate::config::DiscoverSettings;
use crate::evolution::stages;
use crate::run_summary::{DiscoverRunSummary, to_json};

/// One generation of a discovery run, as observers see it.
pub type DiscoverGeneration = GenerationReport<Genome, GpEval>;

/// Everything one discovery needs besides the bars and the database.
#[derive(Clone)]
pub struct DiscoverSpec<'a> {
    /// Experiment (or research) name.
    pub name: &'a str,
    /// GP, parsimony, gates, directories.
    pub settings: DiscoverSettings,
    /// GA settings.
    pub ga: evolve::ga::GaConfig,
    /// Objective and constraints.
    pub fitness: FitnessConfig,
    /// Share of the bars in sample.
    pub in_sample: f64,
    /// Costs and fills.
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// Where the bars come from (written into candidate files for `tradebot promote`).
    pub data: DataRef,
    /// The configuration text, stored with the run; its hash (with the seeds' text) is the
    /// config hash.
    pub config_text: &'a str,
    /// The research run this discovery belongs to.
    pub parent: Option<i64>,
    /// Where the evaluations are farmed out (crate `cluster`), when set; the outcome is the
    /// same.
    pub farm: Option<&'a dyn StrategyFarm>,
}

/// A finished or stopped discovery.
#[derive(Clone, Debug)]
pub struct DiscoverOutcome {
    /// The run's id in the research database.
    pub run_id: i64,
    /// Finished, or stopped and resumable.
    pub ending: Ending,
    /// Generations run in total.
    pub generations: u32,
    /// Distinct genomes evaluated (the trials the deflated Sharpe ratio deflates by).
    pub trials: usize,
    /// Time and evaluations of this invocation.
    pub timing: Timing,
    /// Structural sharing of this invocation's evaluations.
    pub sharing: Sharing,
    /// The novelty archive after each generation of this invocation (size, mean pairwise
    /// behaviour distance, threshold, insertions); empty with novelty off.
    pub archive: Vec<ArchiveDiversity>,
    /// Each generation's wall time and novelty's part of it (this invocation).
    pub costs: Vec<GenerationCost>,
    /// In-sample and out-of-sample bars.
    pub stages: (Range<usize>, Range<usize>),
    /// Every hall-of-fame genome with its out-of-sample test and gate results, best first.
    pub candidates: Vec<Candidate>,
}

impl DiscoverOutcome {
    /// The candidates that passed every gate.
    pub fn passed(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().filter(|c| c.passed)
    }

    /// What the out-of-sample stage did, in words: only the in-sample best of the hall of fame
    /// is tested, so this says whether that one genome passed, and which gates it failed.
    pub fn tested_sentence(&self) -> String {
        let fame = self.candidates.len();
        let tested =
            self.candidates.iter().find(|c| c.gates.iter().any(|g| g.gate == "selection" && g.passed));
        match tested {
            None => format!("no genome of its {fame} hall-of-fame genomes was tested out of sample"),
            Some(c) if c.passed => format!(
                "the in-sample best of its {fame} hall-of-fame genomes was tested out of sample and passed \
                 the gates{}",
                c.id.map_or(String::new(), |id| format!(" (candidate {id}; see `tradebot candidates list`)"))
            ),
            Some(c) => {
                let failed: Vec<&str> = c.gates.iter().filter(|g| !g.passed).map(|g| g.gate).collect();
                format!(
                    "the in-sample best of its {fame} hall-of-fame genomes was tested out of sample and failed \
                     the gates ({}); the others are not tested (no selection on the test data)",
                    failed.join(", ")
                )
            }
        }
    }

    /// Novelty's share of the generations' wall time, when novelty was on.
    pub fn novelty_cost(&self) -> Option<NoveltyCost> {
        let on = self.costs.iter().any(|c| c.novelty.descriptor_count > 0 || !c.novelty.scoring.is_zero());
        on.then(|| NoveltyCost::of(&self.costs))
    }
}

/// A discovery that could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// Starting, resuming or recording the run failed.
    #[error(transparent)]
    Run(#[from] evolve::run::RunError),
    /// The database refused a read or write.
    #[error(transparent)]
    Db(#[from] evolve::db::DbError),
    /// The data cannot be split or has nothing to trade.
    #[error("{0}")]
    Data(String),
    /// A candidate file or the promoted set could not be written or read.
    #[error("{0}")]
    Files(String),
}

/// The hash a run records of its config: the file's text, then each seed strategy's text, so
/// a resumed run refuses a seed file that changed since (without seeds: the file's alone).
fn config_hash(spec: &DiscoverSpec<'_>) -> u64 {
    let mut text = spec.config_text.to_string();
    for seed in &spec.settings.seeds {
        text.push('\n');
        text.push_str(&seed.to_string());
    }
    xxh3_64(text.as_bytes())
}

/// Runs discovery on `data` (or continues run `resume`), then tests and gates the hall of
/// fame. `observe` sees every generation; `stop` ends the run cleanly after the current one.
pub fn discover(
    spec: &DiscoverSpec<'_>,
    data: &MarketData,
    db: &mut ResearchDb,
    resume: Option<i64>,
    stop: &AtomicBool,
    mut observe: impl FnMut(&DiscoverGeneration),
) -> Result<DiscoverOutcome, DiscoverError> {
    let (is, oos) = stages(data, spec.in_sample);
    let min = crate::config::limits::MIN_IN_SAMPLE_BARS;
    if is.len() < min || oos.len() < 2 {
        let why = format!(
            "{} bars cannot be split {} % in sample with at least {min} bars in sample and two out \
             of sample (`[validation] in_sample` leaves {} in sample)",
            data.len(),
            spec.in_sample * 100.0,
            is.len()
        );
        return Err(DiscoverError::Data(why));
    }
    let in_sample = data.slice(is.clone());
    let deflation = (spec.fitness.objective == Objective::DeflatedSharpe)
        .then(|| (spec.ga.population * spec.ga.generations as usize, 1.0 / in_sample.len() as f64));
    let settings = GpSettings {
        gp: spec.settings.gp.clone(),
        rules: spec.rules,
        cash: spec.cash,
        fitness: spec.fitness,
        deflation,
        parsimony: spec.settings.parsimony,
        novelty: spec.settings.novelty.clone(),
        portfolio: portfolio_term(spec, data, is.clone())?,
    };
    let problem = GpProblem::new(&in_sample, settings)
        .map_err(|e| DiscoverError::Data(e.to_string()))?
        .with_cache_budget(spec.settings.cache_bytes)
        .with_hall_of_fame_distance(spec.settings.hall_of_fame_distance)
        .with_seeds(spec.settings.seeds.clone());
    let ts = in_sample.timestamps();
    let provenance = Provenance {
        data_hash: data_hash(&in_sample),
        first_ns: ts[0],
        last_ns: ts[ts.len() - 1],
        config_hash: config_hash(spec),
    };
    let mut run = match resume {
        Some(id) => Run::resume(db, id, &problem, spec.ga.clone(), provenance)?,
        None => {
            let new = NewRun {
                kind: RunKind::Evolve,
                parent: spec.parent,
                name: spec.name,
                strategy: SLEEVE,
                config: spec.config_text,
                config_hash: provenance.config_hash,
                seed: spec.ga.seed,
                data_hash: provenance.data_hash,
                data_first_ns: provenance.first_ns,
                data_last_ns: provenance.last_ns,
                code_version: env!("CARGO_PKG_VERSION"),
                started_ns: now_ns(),
            };
            Run::start(db, &new, &problem, spec.ga.clone())?
        }
    };
    let farmed = spec.farm.map(|farm| farm.for_discovery(run.id));
    if let Some(evaluator) = &farmed {
        run.engine.set_evaluator(evaluator.as_ref());
    }
    let mut archive = Vec::new();
    let mut costs = Vec::new();
    let threads = rayon::current_num_threads();
    let (mut started, mut spent) = (Instant::now(), problem.novelty_timing());
    let (ending, timing) = run.drive(db, stop, |report, engine| {
        archive.extend(engine.state().memory().diversity());
        let now = problem.novelty_timing();
        costs.push(GenerationCost {
            generation: report.generation,
            wall: started.elapsed(),
            evaluating: report.eval_time,
            novelty: now.since(&spent),
            threads,
        });
        spent = now;
        observe(report);
        started = Instant::now();
    })?;
    let mut outcome = DiscoverOutcome {
        run_id: run.id,
        ending,
        generations: db.run(run.id)?.map_or(0, |r| r.generations),
        trials: run.engine.evaluations(),
        timing,
        sharing: problem.sharing(),
        archive,
        costs,
        stages: (is, oos.clone()),
        candidates: Vec::new(),
    };
    if ending == Ending::Stopped {
        return Ok(outcome);
    }
    let judge = gates::Judge::new(spec, &problem, &run.engine, data, oos, db, run.id)?;
    outcome.candidates = judge.candidates();
    for c in outcome.candidates.iter_mut().filter(|c| c.passed) {
        candidate::record(spec, c, run.id, db)?;
    }
    let summary = DiscoverRunSummary {
        trials: outcome.trials,
        generations: outcome.generations,
        in_sample_bars: outcome.stages.0.len(),
        out_of_sample_bars: outcome.stages.1.len(),
        sharing: outcome.sharing.rate(),
        novelty_archive: outcome.archive.last().copied(),
        novelty_cost: outcome.novelty_cost(),
        candidates: outcome.candidates.iter().collect(),
    };
    db.finish_run(run.id, RunStatus::Finished, now_ns(), Some(&to_json(&summary)))?;
    Ok(outcome)
}

/// Portfolio fitness as a fitness term on the in-sample bars, when `portfolio_weight > 0`: the
/// promoted strategies that run on these bars, laid out on the in-sample days.
fn portfolio_term(
    spec: &DiscoverSpec<'_>,
    data: &MarketData,
    is: Range<usize>,
) -> Result<Option<PortfolioTerm>, DiscoverError> {
    let weight = spec.settings.portfolio_weight;
    if weight <= 0.0 {
        return Ok(None);
    }
    let promoted = gates::promoted_daily(&spec.settings.promoted, data, is.clone())?;
    let input = PortfolioInput { config: spec.settings.portfolio_fitness.clone(), promoted, weight };
    let term = PortfolioTerm::new(input, &data.timestamps()[is])
        .map_err(|e| DiscoverError::Data(format!("portfolio fitness: {e}")))?;
    Ok(Some(term))
}

/// Candidate files of `dir`: `<id>.json` and `<id>.sexp`.
pub fn candidate_paths(dir: &Path, id: i64) -> (PathBuf, PathBuf) {
    (dir.join(format!("{id}.json")), dir.join(format!("{id}.sexp")))
}

#[cfg(test)]
mod tests;

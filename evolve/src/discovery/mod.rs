//! The GA [`Problem`] of strategy discovery: genomes are GP expression trees ([`gp::Genome`]),
//! evaluated as a batch per generation so identical subexpressions across the population are
//! computed once ([`gp::Evaluator::batch`]).
//!
//! An evaluation is the genome's entry and exit series over every traded symbol, the kernel
//! backtest of the resulting signals under the account's rules plus the genome's protective
//! exits ([`kernel::strategy::backtest_signals`]: one symbol alone, several as one sleeve), and
//! its figures. Fitness is the experiment's objective ([`Evaluation::score`]) minus a parsimony
//! penalty per tree node, so of two equally good strategies the smaller wins, plus — when
//! configured — a weight times the portfolio score against the promoted set ([`PortfolioTerm`]).

use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gp::{Evaluator, Genome, GpConfig, Rules, Sharing};
use kernel::metrics::{Metrics, MetricsConfig};
use kernel::sim::{FillTiming, Signal, SignalColumn, Simulator, TradeRules};
use kernel::strategy::{Backtest, BacktestError, LegSignals, MarketData, SignalSet, backtest_signals};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

mod curve;
mod lean;

use curve::CurveStats;
use novelty::{
    Archive, ArchiveDiversity, BehaviourDescriptor, BehaviourInput, Benchmark, NoveltyConfig, NoveltySearch,
};
use portfolio_fitness::{
    PortfolioFitnessConfig, PortfolioMember, PortfolioScorer, SessionDays, WindowScorer,
};
use rand::SeedableRng;

use crate::ga::{Member, Problem};
use crate::problem::Evaluation;
use crate::stats::FitnessConfig;

/// A bar without a signal, in [`GpProblem::behaviour_distance`]'s signal kinds.
const HOLD: u8 = 0;

/// Name of the sleeve a GP strategy's legs trade in.
pub use gp::SLEEVE;

/// What one evaluation produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpEval {
    /// The backtest ran.
    Ran(Box<GpFigures>),
    /// The backtest was refused (fitness NaN, counted invalid).
    Failed(String),
}

/// A GP strategy's figures, size and behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpFigures {
    /// Backtest figures and return moments (stored under `figures`).
    pub figures: Evaluation,
    /// Tree nodes of both rules (what parsimony penalises).
    pub nodes: usize,
    /// Behaviour descriptor for novelty search (`None` when novelty is off, or the curve has
    /// none).
    pub descriptor: Option<BehaviourDescriptor>,
    /// Keys of the genomes it was bred from in its run (empty for a random genome).
    #[serde(default)]
    pub parents: Vec<u64>,
    /// Its portfolio score against the promoted set (`PortfolioScore::score`), when portfolio
    /// fitness is a term of the fitness.
    #[serde(default)]
    pub portfolio: Option<f64>,
}

/// Portfolio fitness as a term next to the objective: what a candidate adds to the promoted
/// portfolio over the stage's days, times `weight` ([`PortfolioTerm::new`]).
#[derive(Clone, Debug)]
pub struct PortfolioTerm {
    /// What it is built from (what a cluster worker is sent to build it again).
    pub input: PortfolioInput,
    /// The promoted portfolio laid out on the stage's days.
    pub scorer: WindowScorer,
    /// The stage's session days (a candidate's equity becomes daily returns on them).
    pub days: SessionDays,
}

/// What a [`PortfolioTerm`] is built from: the promoted strategies' daily returns over the
/// stage, the scorer's settings and the term's weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioInput {
    /// The scorer's settings.
    pub config: PortfolioFitnessConfig,
    /// The promoted strategies on the stage's bars.
    pub promoted: Vec<PortfolioMember>,
    /// Fitness added per unit of portfolio score.
    pub weight: f64,
}

impl PortfolioTerm {
    /// The term of `input` on the stage whose bars are at `timestamps` (UTC ns).
    pub fn new(input: PortfolioInput, timestamps: &[i64]) -> Result<PortfolioTerm, String> {
        let scorer =
            PortfolioScorer::new(input.config.clone(), input.promoted.clone()).map_err(|e| e.to_string())?;
        let days = SessionDays::new(timestamps).map_err(|e| e.to_string())?;
        let scorer = scorer.window(days.days()).map_err(|e| e.to_string())?;
        Ok(PortfolioTerm { input, scorer, days })
    }
}

/// What a GP evaluation depends on besides the bars and the genomes, in the form a cluster
/// worker is sent ([`GpProblem::eval_spec`], [`GpProblem::for_evaluation`]): the benchmark,
/// legs, annualisation and idle figures are computed from the bars again with the same code.
/// Fitness, parsimony and deflation are not here: the coordinator scores what it gets back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpEvalSpec {
    /// Costs and fills (the genome adds its protective exits).
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// The cap on a batch's shared subexpression columns ([`GpProblem::with_cache_budget`]).
    pub cache_bytes: Option<usize>,
    /// Novelty search, when on: behaviour descriptors are computed.
    pub novelty: Option<NoveltyConfig>,
    /// Portfolio fitness, when a term of the fitness: portfolio scores are computed.
    pub portfolio: Option<PortfolioInput>,
}

/// Discovery on one stage of the data.
pub struct GpProblem<'d> {
    gp: GpConfig,
    evaluator: Evaluator<'d>,
    data: &'d MarketData,
    rules: TradeRules,
    cash: f64,
    fitness: FitnessConfig,
    deflation: Option<(usize, f64)>,
    parsimony: f64,
    /// The equal-weighted traded universe: the benchmark of behaviour descriptors.
    benchmark: Benchmark,
    /// Novelty search settings, when novelty is on (`novelty_weight > 0`).
    novelty: Option<NoveltyConfig>,
    /// Portfolio fitness, when it is a term of the fitness.
    portfolio: Option<PortfolioTerm>,
    /// Annualisation of the figures (the data's timeframe, the first leg's asset class).
    metrics: MetricsConfig,
    /// A strategy that never trades: every genome whose entry rule never fires.
    idle: GpFigures,
    sharing: Mutex<Sharing>,
    /// Each bred genome's parents (see [`GpFigures::parents`]).
    lineage: Mutex<HashMap<u64, Vec<u64>>>,
    /// What novelty has cost so far.
    novelty_cost: NoveltyCounters,
    /// Least behaviour distance between two hall-of-fame genomes ([`GpProblem::behaviour_distance`]).
    hall_of_fame_distance: f64,
    /// In-sample signal kinds of the genomes compared so far, by key (see `signal_kinds`).
    kinds: Mutex<HashMap<u64, Arc<[u8]>>>,
    /// Genomes generation 0 starts from ([`GpProblem::with_seeds`]).
    seeds: Vec<Genome>,
    /// The cache budget set ([`GpProblem::with_cache_budget`]), for [`GpProblem::eval_spec`].
    cache_bytes: Option<usize>,
}

/// The least behaviour distance between two hall-of-fame genomes by default: they must differ
/// on at least half of the bars where either signals.
pub const HALL_OF_FAME_DISTANCE: f64 = 0.5;

/// What novelty search has cost a run: the share of a generation's time it takes is
/// `NoveltyTiming::wall(threads) / generation wall time`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct NoveltyTiming {
    /// Thread time computing behaviour descriptors, summed over the worker threads (they run
    /// inside the parallel evaluations).
    pub descriptors: Duration,
    /// Descriptors computed.
    pub descriptor_count: u64,
    /// Wall time of the per-generation scoring: k nearest neighbours, ranks, archive update.
    pub scoring: Duration,
}

impl NoveltyTiming {
    /// Wall time novelty took on `threads` worker threads: the scoring, plus the descriptors'
    /// thread time spread over the threads that computed them in parallel.
    pub fn wall(&self, threads: usize) -> Duration {
        self.scoring + self.descriptors / threads.max(1) as u32
    }

    /// What was spent since `earlier` (a reading of the same problem).
    pub fn since(&self, earlier: &NoveltyTiming) -> NoveltyTiming {
        NoveltyTiming {
            descriptors: self.descriptors.saturating_sub(earlier.descriptors),
            descriptor_count: self.descriptor_count - earlier.descriptor_count,
            scoring: self.scoring.saturating_sub(earlier.scoring),
        }
    }
}

/// [`NoveltyTiming`]'s running totals, added to from the evaluating threads.
#[derive(Debug, Default)]
struct NoveltyCounters {
    descriptor_ns: AtomicU64,
    descriptor_count: AtomicU64,
    scoring_ns: AtomicU64,
}

impl NoveltyCounters {
    fn add(counter: &AtomicU64, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counter.fetch_add(ns, Ordering::Relaxed);
    }

    fn read(&self) -> NoveltyTiming {
        NoveltyTiming {
            descriptors: Duration::from_nanos(self.descriptor_ns.load(Ordering::Relaxed)),
            descriptor_count: self.descriptor_count.load(Ordering::Relaxed),
            scoring: Duration::from_nanos(self.scoring_ns.load(Ordering::Relaxed)),
        }
    }
}

thread_local! {
    /// The last crossover on this thread: the child's key and its parents, for the mutation
    /// that follows it.
    static CROSSED: Cell<Option<(u64, Vec<u64>)>> = const { Cell::new(None) };
}

/// Discovery settings besides the data.
#[derive(Clone, Debug)]
pub struct GpSettings {
    /// Tree shapes and operator rates (its `regime` and `rank` switches are set from the data).
    pub gp: GpConfig,
    /// Costs and fills (the genome adds its protective exits).
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// Objective and constraints.
    pub fitness: FitnessConfig,
    /// Trials and Sharpe variance for the `deflated_sharpe` objective.
    pub deflation: Option<(usize, f64)>,
    /// Fitness subtracted per tree node.
    pub parsimony: f64,
    /// Novelty search (off when `novelty_weight` is 0).
    pub novelty: NoveltyConfig,
    /// Portfolio fitness as a fitness term (none: the objective alone).
    pub portfolio: Option<PortfolioTerm>,
}

impl<'d> GpProblem<'d> {
    /// Discovery on `data` (every tradable symbol is traded; a `VIX`-like index feeds the
    /// regime terminal).
    pub fn new(data: &'d MarketData, settings: GpSettings) -> Result<Self, gp::EvalError> {
        let evaluator = Evaluator::new(data)?;
        let mut gp = settings.gp;
        gp.regime = evaluator.has_regime();
        gp.rank = evaluator.legs().len() > 1;
        let benchmark = Benchmark::new(&market_index(data, evaluator.legs()))
            .expect("an index of finite closes is a valid benchmark");
        let novelty = (settings.novelty.novelty_weight > 0.0).then_some(settings.novelty);
        let first = &data.symbols()[evaluator.legs()[0]].meta;
        let metrics = MetricsConfig::new(data.timeframe(), first.asset_class);
        let mut problem = GpProblem {
            gp,
            evaluator,
            data,
            rules: settings.rules,
            cash: settings.cash,
            fitness: settings.fitness,
            deflation: settings.deflation,
            parsimony: settings.parsimony,
            benchmark,
            novelty,
            portfolio: settings.portfolio,
            metrics,
            idle: GpFigures {
                figures: idle_figures(),
                nodes: 0,
                descriptor: None,
                parents: Vec::new(),
                portfolio: None,
            },
            sharing: Mutex::new(Sharing::default()),
            lineage: Mutex::default(),
            novelty_cost: NoveltyCounters::default(),
            hall_of_fame_distance: HALL_OF_FAME_DISTANCE,
            kinds: Mutex::default(),
            seeds: Vec::new(),
            cache_bytes: None,
        };
        let legs = problem.evaluator.legs();
        let flat = SignalSet {
            legs: legs
                .iter()
                .map(|&s| LegSignals { symbol: s, signals: SignalColumn::holds(data.len()) })
                .collect(),
        };
        if let Ok(bt) = backtest_signals(SLEEVE, data, flat, problem.rules, problem.cash, None) {
            problem.idle = problem.figures_of(&bt, 0);
        }
        Ok(problem)
    }

    /// Caps the memory of shared subexpression columns per batch (see [`Evaluator::with_cache_budget`]).
    pub fn with_cache_budget(mut self, bytes: usize) -> Self {
        self.evaluator = self.evaluator.with_cache_budget(bytes);
        self.cache_bytes = Some(bytes);
        self
    }

    /// What its evaluations depend on besides the bars: what a cluster worker is sent.
    pub fn eval_spec(&self) -> GpEvalSpec {
        GpEvalSpec {
            rules: self.rules,
            cash: self.cash,
            cache_bytes: self.cache_bytes,
            novelty: self.novelty.clone(),
            portfolio: self.portfolio.as_ref().map(|t| t.input.clone()),
        }
    }

    /// A problem that evaluates on `data` as the one `spec` came from ([`GpProblem::eval_spec`])
    /// does on the same bars: what a cluster worker runs [`GpProblem::figures_batch`] on. It
    /// breeds and scores nothing (no GP settings, no fitness).
    pub fn for_evaluation(data: &'d MarketData, spec: &GpEvalSpec) -> Result<Self, String> {
        let portfolio = match &spec.portfolio {
            Some(input) => Some(PortfolioTerm::new(input.clone(), data.timestamps())?),
            None => None,
        };
        let settings = GpSettings {
            gp: GpConfig::default(),
            rules: spec.rules,
            cash: spec.cash,
            fitness: FitnessConfig::default(),
            deflation: None,
            parsimony: 0.0,
            novelty: spec
                .novelty
                .clone()
                .unwrap_or(NoveltyConfig { novelty_weight: 0.0, ..NoveltyConfig::default() }),
            portfolio,
        };
        let mut problem = GpProblem::new(data, settings).map_err(|e| e.to_string())?;
        problem.novelty = spec.novelty.clone();
        Ok(match spec.cache_bytes {
            Some(bytes) => problem.with_cache_budget(bytes),
            None => problem,
        })
    }

    /// The evaluations of `genomes` as one batch, without their lineage (what a cluster worker
    /// computes; [`GpProblem::with_lineage`] adds it where the genomes were bred).
    pub fn figures_batch(&self, genomes: &[&Genome]) -> Vec<GpEval> {
        let (evals, sharing) = self.evaluator.batch(genomes, |g, rules| self.run_figures(g, rules));
        self.sharing.lock().expect("not poisoned").add(&sharing);
        evals
    }

    /// `evals` (of `genomes`, in order) with the parents each genome was bred from in this run.
    pub fn with_lineage(&self, genomes: &[&Genome], evals: Vec<GpEval>) -> Vec<GpEval> {
        evals
            .into_iter()
            .zip(genomes)
            .map(|(eval, genome)| match eval {
                GpEval::Ran(f) => GpEval::Ran(Box::new(GpFigures { parents: self.parents(genome), ..*f })),
                failed => failed,
            })
            .collect()
    }

    /// Starts generation 0 from `seeds` (e.g. strategy files a user wrote), in order, before
    /// the random genomes; seeds beyond the population are not used.
    pub fn with_seeds(mut self, seeds: Vec<Genome>) -> Self {
        self.seeds = seeds;
        self
    }

    /// Sets the least behaviour distance between two hall-of-fame genomes (default
    /// [`HALL_OF_FAME_DISTANCE`]; 0 tells them apart by what they trade alone).
    pub fn with_hall_of_fame_distance(mut self, distance: f64) -> Self {
        self.hall_of_fame_distance = distance;
        self
    }

    /// How differently two genomes behave in sample, in [0, 1]: of the bars (over every leg) on
    /// which at least one of them signals — enters or exits — the share on which their signals
    /// differ (a Jaccard distance on the signal vectors; the size gene and the protective exits
    /// are not part of it). 0 for two genomes that never signal. Variants of one rule (a window
    /// of 50 or 52, an extra clause that rarely fires) are close; different entry or exit
    /// rules are far.
    pub fn behaviour_distance(&self, a: &Genome, b: &Genome) -> f64 {
        let (a, b) = (self.signal_kinds(a), self.signal_kinds(b));
        let (mut active, mut differ) = (0usize, 0usize);
        for (&x, &y) in a.iter().zip(b.iter()) {
            active += usize::from(x != HOLD || y != HOLD);
            differ += usize::from(x != y);
        }
        if active == 0 { 0.0 } else { differ as f64 / active as f64 }
    }

    /// `genome`'s in-sample signals as kinds ([`HOLD`], enter 1, exit 2), every leg's bars in a
    /// row; memoised by key (only hall-of-fame contenders are compared).
    fn signal_kinds(&self, genome: &Genome) -> Arc<[u8]> {
        let key = genome.key();
        if let Some(kinds) = self.kinds.lock().expect("not poisoned").get(&key) {
            return kinds.clone();
        }
        let set = self.evaluator.signals(genome);
        let kinds: Arc<[u8]> = set
            .legs
            .iter()
            .flat_map(|leg| &leg.signals)
            .map(|s| match s {
                Signal::Enter(_) | Signal::EnterShort => 1,
                Signal::Exit => 2,
                _ => HOLD,
            })
            .collect();
        self.kinds.lock().expect("not poisoned").insert(key, kinds.clone());
        kinds
    }

    /// A key of what an evaluation did: genomes with the same trades, equity and return moments
    /// in sample (GP trees differing only in subtrees that never fire) share it. `None` for a
    /// refused backtest.
    pub fn behaviour(&self, eval: &GpEval) -> Option<u64> {
        let GpEval::Ran(f) = eval else { return None };
        let (x, r) = (&f.figures.figures, &f.figures.returns);
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(x.trades as u64).to_le_bytes());
        h.update(&(r.n as u64).to_le_bytes());
        for v in [x.final_equity, x.max_drawdown, x.exposure, r.mean, r.std] {
            h.update(&v.to_bits().to_le_bytes());
        }
        Some(h.digest())
    }

    /// The stage it evaluates on.
    pub fn data(&self) -> &'d MarketData {
        self.data
    }

    /// Bars of the stage it evaluates on.
    pub fn bars(&self) -> usize {
        self.evaluator.bars()
    }

    /// The GP configuration in use (with the data's `regime` and `rank` switches).
    pub fn config(&self) -> &GpConfig {
        &self.gp
    }

    /// Structural sharing over every batch so far.
    pub fn sharing(&self) -> Sharing {
        *self.sharing.lock().expect("not poisoned")
    }

    /// What novelty search has cost so far (descriptors and per-generation scoring).
    pub fn novelty_timing(&self) -> NoveltyTiming {
        self.novelty_cost.read()
    }

    /// The kernel backtest of `genome` on `data` (which may be another stage than the
    /// problem's): its signals on every tradable symbol, the account's rules with the genome's
    /// exits.
    pub fn backtest_on(&self, genome: &Genome, data: &MarketData) -> Result<Backtest, BacktestError> {
        let signals = Evaluator::new(data).map_err(no_symbols)?.signals(genome);
        backtest_signals(SLEEVE, data, signals, genome.rules(self.rules), self.cash, None)
    }

    /// The out-of-sample test of `genome`: its signals computed on the whole of `data` (bars
    /// before `window` warm its indicators up; no operator reads a later bar), trading only the
    /// bars in `window` from fresh cash.
    pub fn backtest_window(
        &self,
        genome: &Genome,
        data: &MarketData,
        window: Range<usize>,
    ) -> Result<Backtest, BacktestError> {
        let mut signals = Evaluator::new(data).map_err(no_symbols)?.signals(genome);
        for leg in &mut signals.legs {
            leg.signals = leg.signals.slice(window.clone());
        }
        backtest_signals(SLEEVE, &data.slice(window), signals, genome.rules(self.rules), self.cash, None)
    }

    /// The figures (and behaviour) of a kernel backtest of a genome of `nodes` nodes.
    pub fn figures_of(&self, bt: &Backtest, nodes: usize) -> GpFigures {
        let equity = bt.result.equity();
        let stats = CurveStats::of(equity, self.cash, &self.metrics, None);
        let final_equity = equity.last().copied().unwrap_or(self.cash);
        let figures = Evaluation::with_returns(&bt.metrics, final_equity, stats.return_stats());
        let descriptor = self.descriptor(equity, &bt.metrics, None);
        let portfolio = self.portfolio_score(equity);
        GpFigures { figures, nodes, descriptor, parents: Vec::new(), portfolio }
    }

    /// The portfolio score of an equity curve over the stage, when portfolio fitness is on.
    fn portfolio_score(&self, equity: &[f64]) -> Option<f64> {
        let term = self.portfolio.as_ref()?;
        let daily = term.days.daily_returns(self.cash, equity).ok()?;
        term.scorer.score(daily.returns()).ok().map(|s| s.score).filter(|s| s.is_finite())
    }

    /// The behaviour descriptor of an equity curve with these metrics (and its β, when the
    /// evaluation's own pass computed it), when novelty is on.
    fn descriptor(&self, equity: &[f64], m: &Metrics, beta: Option<f64>) -> Option<BehaviourDescriptor> {
        self.novelty.as_ref()?;
        let started = Instant::now();
        let input = BehaviourInput {
            initial_equity: self.cash,
            equity,
            trades: m.trades,
            avg_bars_held: m.avg_bars_held,
            exposure: m.exposure,
            benchmark: &self.benchmark,
            periods_per_year: self.metrics.periods_per_year,
            beta,
        };
        let descriptor = BehaviourDescriptor::compute(&input).ok();
        NoveltyCounters::add(&self.novelty_cost.descriptor_ns, started);
        self.novelty_cost.descriptor_count.fetch_add(1, Ordering::Relaxed);
        descriptor
    }

    /// The parents the genome was bred from in this run (empty for a random one).
    fn parents(&self, genome: &Genome) -> Vec<u64> {
        self.lineage.lock().expect("not poisoned").get(&genome.key()).cloned().unwrap_or_default()
    }

    fn run_figures(&self, genome: &Genome, rules: &Rules<'_>) -> GpEval {
        if !rules.enters() {
            return GpEval::Ran(Box::new(GpFigures { nodes: genome.size(), ..self.idle.clone() }));
        }
        let trade_rules = genome.rules(self.rules);
        if rules.legs() == 1 && trade_rules.fill == FillTiming::NextOpen {
            let Ok(sim) = Simulator::new(self.cash, trade_rules) else {
                return GpEval::Failed("the genome's exits are out of range".into());
            };
            let bars = &self.data.symbols()[self.evaluator.legs()[0]].bars;
            let lean = lean::SCRATCH.with(|cell| {
                let scratch = &mut *cell.borrow_mut();
                rules.leg_signals_into(0, genome.genes.strength(), &mut scratch.signals);
                let benchmark = self.novelty.as_ref().map(|_| &self.benchmark);
                let run = lean::run(bars, &sim, &self.metrics, scratch, benchmark)?;
                let descriptor = self.descriptor(lean::equity(scratch), &run.metrics, run.beta);
                let portfolio = self.portfolio_score(lean::equity(scratch));
                let figures = run.figures;
                Some(GpFigures { figures, nodes: genome.size(), descriptor, parents: Vec::new(), portfolio })
            });
            if let Some(f) = lean {
                return GpEval::Ran(Box::new(f));
            }
        }
        let signals = rules.signal_set(genome.genes.strength());
        match backtest_signals(SLEEVE, self.data, signals, trade_rules, self.cash, None) {
            Ok(bt) => GpEval::Ran(Box::new(self.figures_of(&bt, genome.size()))),
            Err(e) => GpEval::Failed(e.to_string()),
        }
    }
}

/// What discovery remembers across generations: the novelty archive (checkpointed with the
/// engine, so a resumed run continues with it exactly).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoveltyMemory {
    /// The archive, once novelty has scored a generation.
    pub archive: Option<Archive>,
}

impl NoveltyMemory {
    /// Size, mean pairwise distance and threshold of the archive, for the per-generation log.
    pub fn diversity(&self) -> Option<ArchiveDiversity> {
        self.archive.as_ref().map(Archive::diversity)
    }
}

impl Problem for GpProblem<'_> {
    type Genome = Genome;
    type Eval = GpEval;
    type Memory = NoveltyMemory;

    fn random(&self, rng: &mut Pcg64) -> Genome {
        self.gp.random(rng)
    }

    fn seeds(&self) -> Vec<Genome> {
        self.seeds.clone()
    }

    fn crossover(&self, a: &Genome, b: &Genome, rng: &mut Pcg64) -> Genome {
        let child = self.gp.crossover(a, b, rng);
        let (ka, kb) = (a.key(), b.key());
        CROSSED.set(Some((child.key(), vec![ka.min(kb), ka.max(kb)])));
        child
    }

    fn mutate(&self, genome: &mut Genome, rate: f64, rng: &mut Pcg64) {
        let before = genome.key();
        let crossed = CROSSED.take();
        self.gp.mutate(genome, rate, rng);
        // The engine mutates each child right after crossing it over, on the same thread: the
        // child's parents are the crossover's, or the genome it was copied from.
        let parents = match crossed {
            Some((key, parents)) if key == before => parents,
            _ => vec![before],
        };
        let key = genome.key();
        if !parents.contains(&key) {
            let mut lineage = self.lineage.lock().expect("not poisoned");
            let entry = lineage.entry(key).or_insert_with(|| parents.clone());
            // Several slots may breed the same child: keep the smallest pair, whatever the order.
            if parents < *entry {
                *entry = parents;
            }
        }
    }

    fn distance(&self, a: &Genome, b: &Genome) -> f64 {
        a.distance(b)
    }

    fn key(&self, genome: &Genome) -> u64 {
        genome.key()
    }

    fn evaluate(&self, genome: &Genome) -> GpEval {
        self.evaluate_batch(&[genome]).remove(0)
    }

    fn evaluate_batch(&self, genomes: &[&Genome]) -> Vec<GpEval> {
        self.with_lineage(genomes, self.figures_batch(genomes))
    }

    fn fitness(&self, eval: &GpEval) -> f64 {
        match eval {
            GpEval::Ran(f) => {
                let portfolio =
                    self.portfolio.as_ref().map_or(0.0, |t| t.input.weight * f.portfolio.unwrap_or(0.0));
                f.figures.score(&self.fitness, self.deflation) - self.parsimony * f.nodes as f64 + portfolio
            }
            GpEval::Failed(_) => f64::NAN,
        }
    }

    /// Genomes behave alike when they trade exactly alike ([`GpProblem::behaviour`]) or their
    /// signals are closer than the hall-of-fame distance ([`GpProblem::behaviour_distance`]),
    /// so the hall of fame holds distinct rules, not variants of one. A refused backtest is
    /// like nothing.
    fn alike(&self, a: (&Genome, &GpEval), b: (&Genome, &GpEval)) -> bool {
        let (Some(ka), Some(kb)) = (self.behaviour(a.1), self.behaviour(b.1)) else { return false };
        ka == kb || self.behaviour_distance(a.0, b.0) < self.hall_of_fame_distance
    }

    /// With novelty on: tournaments compare `(1 − w)·fitness_rank + w·novelty_rank`, novelty
    /// being the mean behaviour distance to the k nearest of the population and the archive
    /// ([`NoveltySearch::score_generation`]), which then updates the archive.
    fn selection(
        &self,
        memory: &mut NoveltyMemory,
        generation: u32,
        population: &[Member<'_, Genome, GpEval>],
    ) -> Option<Vec<f64>> {
        let config = self.novelty.clone()?;
        let started = Instant::now();
        let mut search = match memory.archive.take() {
            Some(archive) => NoveltySearch::resume(config, archive).ok()?,
            None => NoveltySearch::new(config).ok()?,
        };
        let descriptors: Vec<Option<BehaviourDescriptor>> = population
            .iter()
            .map(|m| match m.eval {
                GpEval::Ran(f) => f.descriptor,
                GpEval::Failed(_) => None,
            })
            .collect();
        let fitness: Vec<f64> = population.iter().map(|m| m.fitness).collect();
        // Drawn from only by probabilistic archive insertion; keyed by the generation.
        let mut rng = Pcg64::seed_from_u64(0x6e6f_7665_6c74_7900 ^ u64::from(generation));
        let scored = search.score_generation(&descriptors, &fitness, &mut rng);
        memory.archive = Some(search.archive().clone());
        NoveltyCounters::add(&self.novelty_cost.scoring_ns, started);
        Some(scored.combined)
    }
}

/// A market without tradable symbols, as the kernel says it.
fn no_symbols(e: gp::EvalError) -> BacktestError {
    BacktestError::Strategy(kernel::strategy::StrategyError::MissingSymbols {
        strategy: SLEEVE,
        what: e.to_string(),
    })
}

/// The evaluation of an account that never trades (the fallback if even that backtest is refused).
fn idle_figures() -> Evaluation {
    Evaluation::from_metrics(&Metrics::default(), &[], 1.0)
}

/// An equal-weighted index of the traded symbols (rebalanced every bar), from 100.
fn market_index(data: &MarketData, legs: &[usize]) -> Vec<f64> {
    let mut index = Vec::with_capacity(data.len());
    let mut level = 100.0;
    for t in 0..data.len() {
        if t > 0 {
            let r: f64 = legs
                .iter()
                .map(|&i| {
                    let close = data.symbols()[i].bars.close();
                    close[t] / close[t - 1] - 1.0
                })
                .sum::<f64>()
                / legs.len() as f64;
            level *= 1.0 + r;
        }
        index.push(level);
    }
    index
}

#[cfg(test)]
pub(crate) mod tests;

//! `tradebot bench truth`: the nightly research judged against ground truth; `tradebot bench
//! scale` (in [`scale`]): its time and memory as the universe grows.
//!
//! Runs the research file on `N` null universes (every planted effect off: a martingale, so
//! every `enable` is a false positive) and `N` planted universes (every effect a family should
//! find on: [`Effects::FINDABLE`], all but the gap continuation that cancels gap fills), all of
//! distinct seeds, each in its own temporary store and research database, and prints per
//! family the false-enable rate on the null universes, the enable rate (power) on the planted
//! ones, and discovery's pass rate on each. See docs/ground-truth.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use datasets::Timeframe;
use datasets::synth::{Effect, Effects, StockStyle, Strength, Strengths, SynthConfig, Universe};
use evolve::db::ResearchDb;
use evolve::stats::{Evidence, expected_max_sharpe, normal_cdf, normal_quantile};
use experiments::research::{self, BenchmarkGate, Research};
use experiments::research_report::FamilyReport;
use kernel::metrics::periods_per_year;
use kernel::strategy::{MarketData, Params, backtest};
use serde::Serialize;

use crate::evolve::{STOP, install_stop_handler};
use crate::research::load_research;

mod scale;

/// `tradebot bench …`.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// The research run's verdicts on null and planted synthetic universes: false-enable rate
    /// and power per family, and discovery's pass rates.
    Truth(TruthArgs),
    /// The research run's wall and CPU time and peak RssAnon/RssFile on synthetic universes of
    /// growing size (Linux).
    Scale(scale::ScaleArgs),
}

/// Arguments of `tradebot bench truth`.
#[derive(Args)]
pub struct TruthArgs {
    /// Universes of each kind (null and planted); at least 1.
    #[arg(long)]
    seeds: usize,
    /// Seed of the first null universe; null universes take seeds S…S+N−1, planted ones
    /// S+N…S+2N−1.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Years of daily history per universe.
    #[arg(long, default_value_t = 10)]
    years: u32,
    /// Stocks per universe (SPY, the sector ETFs, TLT, GLD, SHY and VIX come on top).
    #[arg(long, default_value_t = 200)]
    symbols: usize,
    /// How strongly the planted universes' effects are planted: a multiplier `K` of every
    /// effect's size (1 = as documented), or a list `mean_reversion=3,premium=2.5` (the named
    /// effects at their `K`, the rest at 1; see docs/ground-truth.md). The null universes have
    /// none.
    #[arg(long, default_value = "1")]
    strength: Strengths,
    /// Research file (default: experiments/nightly.toml, or the built-in copy of it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the result as JSON on stdout, with each family's prediction (the table then goes to
    /// stderr).
    #[arg(long)]
    json: bool,
}

/// How often something happened over the universes of one kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Universes on which it ran.
    pub runs: usize,
    /// Universes on which it was enabled (a family) or passed a genome (discovery).
    pub hits: usize,
    /// Universes on which it could not run.
    pub skipped: usize,
}

impl Tally {
    /// `hits / runs`, `None` when it never ran.
    pub fn rate(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.hits as f64 / self.runs as f64)
    }

    fn count(&mut self, hit: bool) {
        self.runs += 1;
        self.hits += usize::from(hit);
    }
}

/// One family's record over the benchmark.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FamilyTruth {
    /// Family name.
    pub family: String,
    /// The planted effects it should find (empty: none is planted for it).
    pub effects: Vec<&'static str>,
    /// Its enables on null universes: false positives.
    pub null: Tally,
    /// Its enables on planted universes: power when it has a planted effect.
    pub planted: Tally,
    /// What it measured on each null universe it ran on.
    pub null_runs: Vec<FamilyRun>,
    /// What it measured on each planted universe it ran on.
    pub planted_runs: Vec<FamilyRun>,
    /// What its planted record predicts, as the strength table prints it (set by
    /// [`Truth::predict`]; `None` before).
    pub prediction: Option<FamilyPrediction>,
}

impl FamilyTruth {
    /// The strength its planted effect had on the planted universes (the first of its effects;
    /// 1 for a family with none).
    pub fn strength(&self, strengths: Strengths) -> Strength {
        let effect = self.effects.first().and_then(|name| name.parse::<Effect>().ok());
        effect.map_or(Strength::ONE, |e| strengths.of(e))
    }
}

/// One enable gate, judged on its own (the verdict stops at the first disable rule and checks
/// the extra gates only after the statistics pass; the benchmark checks every gate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// Fewer out-of-sample decisions than `min_oos_decisions`.
    Decisions,
    /// Out-of-sample Sharpe ratio below `min_oos_sharpe`.
    OosSharpe,
    /// Out-of-sample PSR below its threshold corrected for the night's OOS tests.
    Psr,
    /// Deflated Sharpe ratio over the night's trials below `min_dsr`.
    Dsr,
    /// Out-of-sample window shorter than the minimum duration.
    Duration,
    /// Out-of-sample Sharpe below the kept share of the in-sample one.
    Collapse,
    /// Inputs without dates: never enabled.
    PointInTime,
    /// Out-of-sample CAGR below `min_oos_return`.
    MinReturn,
    /// Out-of-sample capital at work below `min_capital_at_work`.
    CapitalAtWork,
    /// No excess CAGR over the equal-weight buy-and-hold.
    Benchmark,
}

impl Gate {
    /// Short name for the table.
    pub const fn name(self) -> &'static str {
        match self {
            Gate::Decisions => "decisions",
            Gate::OosSharpe => "OOS Sharpe",
            Gate::Psr => "OOS PSR",
            Gate::Dsr => "DSR",
            Gate::Duration => "OOS duration",
            Gate::Collapse => "IS→OOS collapse",
            Gate::PointInTime => "point in time",
            Gate::MinReturn => "min return",
            Gate::CapitalAtWork => "capital at work",
            Gate::Benchmark => "benchmark",
        }
    }
}

/// What one family measured on one universe: its winner's figures, every gate it failed, and
/// the oracle (the family at its default parameters, no search) for its strength.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FamilyRun {
    /// Enabled after the run.
    pub enabled: bool,
    /// The winner's annualised in-sample Sharpe ratio.
    pub is_sharpe: f64,
    /// The winner's annualised out-of-sample Sharpe ratio.
    pub oos_sharpe: f64,
    /// Its out-of-sample PSR against 0.
    pub oos_psr: f64,
    /// The OOS PSR an enable needed (corrected for the night's OOS tests).
    pub psr_needed: f64,
    /// Its DSR over the night's effective trials.
    pub dsr: f64,
    /// Its out-of-sample CAGR.
    pub oos_cagr: f64,
    /// The gates it failed, each judged on its own.
    pub failed: Vec<Gate>,
    /// The oracle's strength and the power the gates have against it.
    pub oracle: Option<Oracle>,
}

/// What the oracle measured over the whole history (the inputs of [`Oracle::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Measured {
    /// Annualised Sharpe ratio.
    pub sharpe: f64,
    /// CAGR.
    pub cagr: f64,
    /// Annualised standard deviation of the per-bar returns.
    pub volatility: f64,
    /// CAGR above the equal-weight buy-and-hold of the tradable universe (NaN without one).
    pub excess_return: f64,
    /// Information ratio against that book (NaN without one).
    pub information_ratio: f64,
}

/// The thresholds of the gates a planted effect's strength moves (the verdict's and the
/// `[validation]` gates of the research file, the PSR threshold corrected for the night).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Hurdles {
    /// The OOS PSR an enable needs.
    pub psr_needed: f64,
    /// The least DSR.
    pub min_dsr: f64,
    /// The effective number of the night's trials the DSR deflates by.
    pub trials: usize,
    /// The least OOS Sharpe ratio.
    pub min_oos_sharpe: f64,
    /// The least OOS CAGR.
    pub min_oos_return: f64,
    /// Whether the OOS CAGR must beat the equal-weight buy-and-hold.
    pub benchmark: bool,
}

/// The family at its default parameters over the whole history: no search, so its Sharpe ratio
/// is an unbiased measure of how strong the effect is for this family, and the power of the
/// gates a strength moves (the out-of-sample Sharpe gates, the DSR, the passive benchmark)
/// against that strength follows from the windows' lengths. The gates a strength does not move
/// (decisions, capital at work, duration, point in time) are judged on the winners instead
/// ([`structural`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Oracle {
    /// Annualised Sharpe ratio over the whole history.
    pub sharpe: f64,
    /// CAGR over the whole history.
    pub cagr: f64,
    /// Annualised volatility over the whole history (a strength scales drifts, not this).
    pub volatility: f64,
    /// CAGR above the equal-weight buy-and-hold of the universe over the whole history.
    pub excess_return: f64,
    /// Information ratio against that book.
    pub information_ratio: f64,
    /// Years of in-sample bars.
    pub is_years: f64,
    /// Years of out-of-sample bars.
    pub oos_years: f64,
    /// The annualised Sharpe ratio at which the OOS PSR gate passes 80 % of the time.
    pub oos_sharpe_for_80: f64,
    /// The annualised in-sample Sharpe ratio at which the DSR gate passes 80 % of the time.
    pub is_sharpe_for_80: f64,
    /// The strictest out-of-sample gate on the OOS mean (OOS PSR, OOS Sharpe or minimum
    /// return) and its threshold on the OOS t-statistic (annualised Sharpe × √years).
    pub oos_hurdle: (Gate, f64),
    /// The DSR's threshold on the in-sample t-statistic.
    pub is_hurdle: f64,
    /// Whether the passive benchmark gate applies.
    pub benchmark: bool,
    /// The true annualised Sharpe ratio at which a strategy clears every gate a strength moves
    /// 80 % of the time (infinite when none does).
    pub sharpe_for_80: f64,
    /// Chance that a strategy of the oracle's true Sharpe clears those gates (independent
    /// windows; normal returns; no search noise).
    pub power: f64,
}

/// `z` for 80 % power above a one-sided threshold.
const Z_80: f64 = 0.841_621_233_572_914_3;

impl Oracle {
    /// The oracle that `measured` this over windows of `is_years` and `oos_years`, against
    /// `hurdles`.
    pub fn new(measured: Measured, (is_years, oos_years): (f64, f64), hurdles: Hurdles) -> Oracle {
        // Per-bar Sharpe × √T = annualised Sharpe × √years, so each gate on the OOS mean is a
        // threshold on a t-statistic: the OOS PSR on SR·√years_oos; the OOS Sharpe and the
        // minimum return (a CAGR: mean − σ²/2) on the point estimate; the DSR on SR·√years_is
        // less the expected maximum of `trials` null t-statistics.
        let z_psr = normal_quantile(hurdles.psr_needed);
        let sigma = measured.volatility;
        let min_return_sharpe = if sigma > 0.0 {
            (hurdles.min_oos_return + 0.5 * sigma * sigma) / sigma
        } else {
            f64::NEG_INFINITY
        };
        let oos_hurdle = [
            (Gate::Psr, z_psr),
            (Gate::OosSharpe, hurdles.min_oos_sharpe * oos_years.sqrt()),
            (Gate::MinReturn, min_return_sharpe * oos_years.sqrt()),
        ]
        .into_iter()
        .fold((Gate::Psr, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
        let is_hurdle = expected_max_sharpe(hurdles.trials.max(1), 1.0) + normal_quantile(hurdles.min_dsr);
        let mut oracle = Oracle {
            sharpe: measured.sharpe,
            cagr: measured.cagr,
            volatility: sigma,
            excess_return: measured.excess_return,
            information_ratio: measured.information_ratio,
            is_years,
            oos_years,
            oos_sharpe_for_80: (z_psr + Z_80) / oos_years.sqrt(),
            is_sharpe_for_80: (is_hurdle + Z_80) / is_years.sqrt(),
            oos_hurdle,
            is_hurdle,
            benchmark: hurdles.benchmark,
            sharpe_for_80: f64::INFINITY,
            power: 0.0,
        };
        oracle.power = if measured.sharpe.is_finite() { oracle.power_at(measured.sharpe) } else { 0.0 };
        oracle.sharpe_for_80 = oracle.sharpe_for(0.8).unwrap_or(f64::INFINITY);
        oracle
    }

    /// The chance of clearing each gate a strength moves, for a strategy of true Sharpe `s`
    /// whose edge is this oracle's scaled by `s / sharpe`: its mean return grows by
    /// `(s − sharpe)·σ` a year, and so does its excess over the passive book, whose own return
    /// a family's effect is taken not to move.
    pub fn chances(&self, s: f64) -> [(Gate, f64); 3] {
        let (gate, z_oos) = self.oos_hurdle;
        let oos = normal_cdf(s * self.oos_years.sqrt() - z_oos);
        let dsr = normal_cdf(s * self.is_years.sqrt() - self.is_hurdle);
        let (excess, ir) = (self.excess_return, self.information_ratio);
        let benchmark = if !self.benchmark || !excess.is_finite() || !ir.is_finite() {
            1.0
        } else {
            // Tracking error from the measured pair (excess ≈ IR · TE), else the volatility.
            let te = if ir != 0.0 && excess / ir > 0.0 { excess / ir } else { self.volatility };
            let at = excess + (s - self.sharpe) * self.volatility;
            if te > 0.0 { normal_cdf(at / te * self.oos_years.sqrt()) } else { f64::from(u8::from(at > 0.0)) }
        };
        [(gate, oos), (Gate::Dsr, dsr), (Gate::Benchmark, benchmark)]
    }

    /// The chance of clearing every gate a strength moves at true Sharpe `s`.
    pub fn power_at(&self, s: f64) -> f64 {
        self.chances(s).iter().map(|c| c.1).product()
    }

    /// The gate least likely to pass at true Sharpe `s`: the one that binds there.
    pub fn binding_at(&self, s: f64) -> Gate {
        self.chances(s).into_iter().fold((Gate::Psr, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a }).0
    }

    /// The true Sharpe ratio at which the gates a strength moves pass with chance `target`;
    /// `None` when `target` is above 1 or out of reach.
    pub fn sharpe_for(&self, target: f64) -> Option<f64> {
        if !(0.0..1.0).contains(&target) || target == 0.0 {
            return None;
        }
        // The power rises with the Sharpe ratio: double an upper bound until it reaches the
        // target, then bisect.
        let mut hi = 1.0;
        while self.power_at(hi) < target {
            hi *= 2.0;
            if hi > 1e3 {
                return None;
            }
        }
        let mut lo = 0.0;
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if self.power_at(mid) < target { lo = mid } else { hi = mid }
        }
        Some(hi)
    }

    /// The strength at which this oracle, measured at strength `k`, would clear the gates a
    /// strength moves with chance `target`: `k · sharpe_for(target) / sharpe`, on the model that
    /// a planted effect's Sharpe ratio grows in proportion to its strength (a strength scales
    /// drifts, spreads and shares, not the volatility). `None` when the oracle has no edge
    /// (Sharpe ≤ 0) or the target is out of reach.
    pub fn strength_for(&self, k: Strength, target: f64) -> Option<f64> {
        if self.sharpe > 0.0 { Some(k.get() * self.sharpe_for(target)? / self.sharpe) } else { None }
    }
}

/// The gates a planted effect's strength does not move: the decisions the rule makes, the
/// capital it puts to work, the window's duration and point-in-time inputs.
const STRUCTURAL: [Gate; 4] = [Gate::Decisions, Gate::Duration, Gate::PointInTime, Gate::CapitalAtWork];

/// Over the winners `runs`: the share that passed every [`STRUCTURAL`] gate, and the structural
/// gate they failed most often with its count (`None` when they failed none).
pub fn structural(runs: &[FamilyRun]) -> (f64, Option<(Gate, usize)>) {
    let passed = runs.iter().filter(|r| !r.failed.iter().any(|g| STRUCTURAL.contains(g))).count();
    let worst = STRUCTURAL
        .into_iter()
        .map(|g| (g, runs.iter().filter(|r| r.failed.contains(&g)).count()))
        .filter(|&(_, n)| n > 0)
        .fold(None, |a: Option<(Gate, usize)>, b| if a.is_some_and(|a| a.1 >= b.1) { a } else { Some(b) });
    (if runs.is_empty() { f64::NAN } else { passed as f64 / runs.len() as f64 }, worst)
}

/// The whole benchmark.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Truth {
    /// Universes of each kind.
    pub seeds: usize,
    /// Seeds of the null universes, then of the planted ones.
    pub null_seeds: Vec<u64>,
    /// Seeds of the planted universes.
    pub planted_seeds: Vec<u64>,
    /// Years per universe.
    pub years: u32,
    /// Stocks per universe.
    pub symbols: usize,
    /// The planted universes' strength, per effect.
    pub strength: Strengths,
    /// Per family, in the research file's order.
    pub families: Vec<FamilyTruth>,
    /// Discovery: universes where at least one genome passed every gate.
    pub discovery: Option<(Tally, Tally)>,
    /// Family-enables on null universes over family-runs on them.
    pub false_enable_rate: Option<f64>,
    /// `(universe, family, reason)` of every family that could not run.
    pub skips: Vec<(String, String, String)>,
    /// Each universe's night trials and effective trials, null universes first.
    pub nights: Vec<NightTrials>,
    /// Wall time of the whole benchmark, seconds.
    pub elapsed_s: f64,
}

impl Truth {
    /// Sets every family's [`FamilyTruth::prediction`] from its planted record at the planted
    /// universes' strength: the figures the strength table prints, for `--json`.
    pub fn predict(&mut self) {
        let strength = self.strength;
        for f in &mut self.families {
            f.prediction = Some(FamilyPrediction::of(f, strength));
        }
    }
}

/// Runs `tradebot bench …`.
pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Truth(args) => truth(args),
        BenchCommand::Scale(args) => scale::scale(args),
    }
}

fn truth(args: TruthArgs) -> Result<()> {
    if args.seeds == 0 {
        bail!("--seeds 0: the benchmark needs at least one null and one planted universe (try --seeds 10)");
    }
    if args.symbols == 0 {
        bail!("--symbols 0: a universe needs at least one stock");
    }
    let research = load_research(args.config.as_deref())?;
    install_stop_handler();
    let threads = args.threads.unwrap_or_else(rayon::current_num_threads);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let root = tempfile::tempdir().context("creating the benchmark's temporary directory")?;
    let started = Instant::now();
    let n = args.seeds as u64;
    let null_seeds: Vec<u64> = (0..n).map(|k| args.first_seed.wrapping_add(k)).collect();
    let planted_seeds: Vec<u64> = (0..n).map(|k| args.first_seed.wrapping_add(n + k)).collect();
    let mut runs = Vec::new();
    for (kind, effects, seeds) in
        [("null", Effects::NONE, &null_seeds), ("planted", Effects::FINDABLE, &planted_seeds)]
    {
        for &seed in seeds {
            let label = format!("{kind} seed {seed}");
            eprintln!("bench truth: {label} ({} of {})", runs.len() + 1, 2 * args.seeds);
            let config = SynthConfig {
                symbols: args.symbols,
                years: args.years,
                seed,
                effects,
                strength: args.strength,
                minute_days: minute_days(&research),
                ..SynthConfig::default()
            };
            let outcome = pool.install(|| universe_run(&research, root.path(), &label, &config, threads))?;
            runs.push((effects, label, outcome));
            if STOP.load(std::sync::atomic::Ordering::Relaxed) {
                bail!("stopped after {} of {} universes", runs.len(), 2 * args.seeds);
            }
        }
    }
    let mut truth = score(&research, &runs);
    truth.seeds = args.seeds;
    truth.null_seeds = null_seeds;
    truth.planted_seeds = planted_seeds;
    truth.years = args.years;
    truth.symbols = args.symbols;
    truth.strength = args.strength;
    truth.elapsed_s = started.elapsed().as_secs_f64();
    truth.predict();
    if args.json {
        eprint!("{}", table(&truth));
        crate::emit(&serde_json::to_string_pretty(&truth)?)
    } else {
        crate::emit(&table(&truth))
    }
}

/// What one research run on one universe decided.
struct UniverseOutcome {
    /// Family → enabled after the run.
    enabled: BTreeMap<String, bool>,
    /// `(family, reason)` of the families that could not run.
    skipped: Vec<(String, String)>,
    /// Whether discovery ran, and whether a genome passed every gate.
    discovery: Option<bool>,
    /// Family → what it measured (families with a winner).
    runs: BTreeMap<String, FamilyRun>,
    /// The night's trials and the effective number of independent ones (the DSR's `N`).
    night: NightTrials,
}

/// One night's trials and the effective number of independent trials among them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NightTrials {
    /// Parameter sets and genomes evaluated.
    pub trials: usize,
    /// The effective number of independent trials the DSRs deflated by.
    pub effective: usize,
}

/// Generates `config`'s universe under `root` and runs `research` on it with a fresh database;
/// discovery's candidates and promoted set are redirected under `root` too.
fn universe_run(
    research: &Research,
    root: &Path,
    label: &str,
    config: &SynthConfig,
    threads: usize,
) -> Result<UniverseOutcome> {
    let dir = root.join(label.replace(' ', "-"));
    let store = dir.join("store");
    datasets::actions::generate(&store, config, datasets::actions::OnExisting::Refuse, |_, _| {})
        .with_context(|| format!("{label}: generating"))?;
    let mut research = research.clone();
    if let Some(d) = &mut research.discover {
        d.settings.candidates = dir.join("candidates");
        d.settings.promoted = dir.join("promoted");
        if d.symbols.is_none() {
            let universe = Universe::new(config).with_context(|| format!("{label}: the universe's truth"))?;
            d.symbols = Some(discovery_symbols(&universe));
        }
    }
    let mut db = ResearchDb::open(&dir.join("research.db"))?;
    // One regime model for every universe: it only feeds the report's regime section.
    let models = root.join("models");
    let outcome = research::run(&research, &store, &models, &mut db, threads, &STOP, None, |_| {})
        .with_context(|| format!("{label}: research"))?;
    let report = &outcome.report;
    let enabled =
        report.families.iter().map(|f| (f.family.clone(), f.state == research::State::Enabled)).collect();
    let discovery = outcome.discovery.as_ref().map(|d| d.passed().next().is_some());
    let runs = family_runs(&research, &store, &outcome).with_context(|| format!("{label}: oracles"))?;
    drop(db);
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    let night = NightTrials { trials: outcome.night.trials, effective: outcome.night.effective_trials };
    Ok(UniverseOutcome { enabled, skipped: report.skipped.clone(), discovery, runs, night })
}

/// Stocks the benchmark's discovery trades when the research file does not name `[discover]
/// symbols`.
const DISCOVERY_STOCKS: usize = 20;

/// Where the benchmark's discovery looks, unless the research file says: at the stocks the
/// generator planted as mean-reverting (the first [`DISCOVERY_STOCKS`] of them), whose edge a
/// GP rule can trade; on a universe without them (a null one: every stock `Plain`) at the first
/// [`DISCOVERY_STOCKS`] stocks. Every symbol of a null universe is a martingale, so any choice
/// there is as null as another. (The nightly default, SPY read with VIX, finds the regime
/// drift, which is mostly the market's own drift: a research file that names them tests that.)
fn discovery_symbols(universe: &Universe) -> Vec<String> {
    let stocks = || (0..universe.symbols().len()).filter(|&i| universe.style(i).is_some());
    let reverting: Vec<usize> =
        stocks().filter(|&i| universe.style(i) == Some(StockStyle::MeanReverting)).collect();
    let picked: Vec<usize> = if reverting.is_empty() { stocks().collect() } else { reverting };
    picked.into_iter().take(DISCOVERY_STOCKS).map(|i| universe.symbols()[i].symbol.clone()).collect()
}

/// Sessions of minute bars each benchmark universe gets: enough that a family on minute bars
/// (gap_fill) has an out-of-sample window of at least `min_oos_days_intraday` calendar days
/// after the `in_sample` split, or it can never be enabled whatever its edge (the generator's
/// default of 20 sessions leaves about 6 out of sample). A run of `n` sessions spans at least
/// `(n − 1) · 7/5` calendar days (five sessions a week at most), so the window needs
/// `⌈days · 5/7⌉ + 1` sessions, plus one for a session the split moves. The default when no
/// family runs on minutes.
fn minute_days(research: &Research) -> usize {
    let minutes =
        research.families.iter().any(|f| f.timeframe.nominal_nanos() < Timeframe::Day1.nominal_nanos());
    if !minutes {
        return SynthConfig::default().minute_days;
    }
    let out_of_sample = (research.verdict.min_oos_days_intraday * 5.0 / 7.0).ceil() + 2.0;
    let share = (1.0 - research.validation.in_sample).max(f64::EPSILON);
    (out_of_sample / share).ceil() as usize
}

/// Each judged family's figures, failed gates and oracle on the universe in `store`.
fn family_runs(
    research: &Research,
    store: &Path,
    outcome: &research::Outcomes,
) -> Result<BTreeMap<String, FamilyRun>> {
    let store = datasets::store::Store::open(store)?;
    let mut universes: BTreeMap<String, MarketData> = BTreeMap::new();
    let mut runs = BTreeMap::new();
    for family in &research.families {
        let name = family.strategy.name();
        let (Some(row), Some(evidence)) =
            (outcome.report.families.iter().find(|f| f.family == name), outcome.evidence.get(name))
        else {
            continue;
        };
        let key = family.timeframe.to_string();
        if !universes.contains_key(&key) {
            universes.insert(
                key.clone(),
                research::universe(
                    &store,
                    family.timeframe,
                    &research.reference,
                    research.universe.as_ref(),
                )?,
            );
        }
        let data = &universes[&key];
        let psr_needed = evidence.psr_threshold(&research.verdict);
        let hurdles = Hurdles {
            psr_needed,
            min_dsr: research.verdict.min_dsr,
            trials: outcome.night.effective_trials,
            min_oos_sharpe: research.verdict.min_oos_sharpe,
            min_oos_return: research.gates.min_oos_return,
            benchmark: research.gates.benchmark == BenchmarkGate::Passive,
        };
        let oracle = backtest(
            family.strategy,
            &Params::defaults(family.strategy.space()),
            data,
            research.rules,
            research.cash,
        )
        .ok()
        .map(|b| {
            let (is, oos) = experiments::evolution::stages(data, research.validation.in_sample);
            let ppy = periods_per_year(data.timeframe(), data.symbols()[0].meta.asset_class);
            let years = (is.len() as f64 / ppy, oos.len() as f64 / ppy);
            let passive = research::versus_universe(data, research.cash, b.result.equity());
            let measured = Measured {
                sharpe: b.metrics.sharpe,
                cagr: b.metrics.cagr,
                volatility: b.metrics.volatility,
                excess_return: passive.as_ref().map_or(f64::NAN, |p| p.excess_return),
                information_ratio: passive.as_ref().map_or(f64::NAN, |p| p.information_ratio),
            };
            Oracle::new(measured, years, hurdles)
        });
        runs.insert(
            name.to_string(),
            FamilyRun {
                enabled: row.state == research::State::Enabled,
                is_sharpe: evidence.is_sharpe,
                oos_sharpe: evidence.oos_sharpe,
                oos_psr: evidence.oos_psr,
                psr_needed,
                dsr: evidence.dsr,
                oos_cagr: row.out_of_sample.cagr,
                failed: failed_gates(research, evidence, row),
                oracle,
            },
        );
    }
    Ok(runs)
}

/// Every gate `evidence` and `row` fail, each judged on its own, with the thresholds of
/// `research` (the verdict's and the `[validation]` gates).
fn failed_gates(research: &Research, e: &Evidence, row: &FamilyReport) -> Vec<Gate> {
    let (rules, gates) = (&research.verdict, &research.gates);
    let below = |x: f64, min: f64| x.partial_cmp(&min).is_none_or(|o| o.is_lt());
    let checks = [
        (Gate::Decisions, e.oos_decisions < rules.min_oos_decisions),
        (Gate::OosSharpe, below(e.oos_sharpe, rules.min_oos_sharpe)),
        (Gate::Psr, below(e.oos_psr, e.psr_threshold(rules))),
        (Gate::Dsr, below(e.dsr, rules.min_dsr)),
        (Gate::Duration, below(e.oos_days, e.min_days(rules))),
        (Gate::Collapse, e.is_sharpe > 0.0 && e.oos_sharpe < (1.0 - rules.max_is_oos_gap) * e.is_sharpe),
        (Gate::PointInTime, e.not_point_in_time.is_some()),
        (Gate::MinReturn, below(row.out_of_sample.cagr, gates.min_oos_return)),
        (Gate::CapitalAtWork, below(row.out_of_sample.capital_at_work, gates.min_capital_at_work)),
        (
            Gate::Benchmark,
            gates.benchmark == BenchmarkGate::Passive
                && row.passive.first().is_some_and(|p| below(p.excess_return, f64::MIN_POSITIVE)),
        ),
    ];
    checks.into_iter().filter(|&(_, failed)| failed).map(|(gate, _)| gate).collect()
}

/// The planted effects `family` should find.
fn effects_for(family: &str) -> Vec<&'static str> {
    Effect::ALL.iter().filter(|e| e.families().contains(&family)).map(|e| e.name()).collect()
}

/// Tallies the runs per family and kind.
fn score(research: &Research, runs: &[(Effects, String, UniverseOutcome)]) -> Truth {
    let mut families: Vec<FamilyTruth> = research
        .families
        .iter()
        .map(|f| FamilyTruth {
            family: f.strategy.name().to_string(),
            effects: effects_for(f.strategy.name()),
            ..FamilyTruth::default()
        })
        .collect();
    let mut truth = Truth::default();
    let mut discovery: Option<(Tally, Tally)> = None;
    for (effects, label, outcome) in runs {
        let null = *effects == Effects::NONE;
        for f in &mut families {
            let tally = if null { &mut f.null } else { &mut f.planted };
            match outcome.enabled.get(&f.family) {
                Some(&on) => tally.count(on),
                None => tally.skipped += 1,
            }
            if let Some(run) = outcome.runs.get(&f.family) {
                if null { f.null_runs.push(run.clone()) } else { f.planted_runs.push(run.clone()) }
            }
        }
        truth.nights.push(outcome.night);
        for (family, reason) in &outcome.skipped {
            truth.skips.push((label.clone(), family.clone(), reason.clone()));
        }
        if let Some(passed) = outcome.discovery {
            let (n, p) = discovery.get_or_insert_with(Default::default);
            if null { n.count(passed) } else { p.count(passed) }
        }
    }
    let (runs, hits) = families.iter().fold((0, 0), |(r, h), f| (r + f.null.runs, h + f.null.hits));
    truth.false_enable_rate = (runs > 0).then(|| hits as f64 / runs as f64);
    truth.families = families;
    truth.discovery = discovery;
    truth
}

/// `12.5 % (1/8)`, or `–` when it never ran.
fn rate(t: &Tally) -> String {
    match t.rate() {
        Some(r) => format!("{:.0} % ({}/{})", r * 100.0, t.hits, t.runs),
        None => "–".into(),
    }
}

/// The benchmark as a Markdown table plus its headline and skips.
fn table(t: &Truth) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Ground truth: {} null and {} planted universes{} ({} stocks + 16 funds and index, {} years); null \
         seeds {}…{}, planted seeds {}…{}; {:.0} s.\n",
        t.seeds,
        t.seeds,
        t.strength.phrase(),
        t.symbols,
        t.years,
        t.null_seeds.first().unwrap_or(&0),
        t.null_seeds.last().unwrap_or(&0),
        t.planted_seeds.first().unwrap_or(&0),
        t.planted_seeds.last().unwrap_or(&0),
        t.elapsed_s
    );
    out +=
        "| family | planted effect it should find | false enables (null) | enables (planted) | skipped |\n";
    out += "|---|---|---:|---:|---:|\n";
    for f in &t.families {
        let effects = if f.effects.is_empty() { "–".to_string() } else { f.effects.join(", ") };
        let _ = writeln!(
            out,
            "| {} | {effects} | {} | {} | {} |",
            f.family,
            rate(&f.null),
            rate(&f.planted),
            f.null.skipped + f.planted.skipped
        );
    }
    if let Some((null, planted)) = &t.discovery {
        let _ = writeln!(
            out,
            "| discovery (a genome passed every gate) | – | {} | {} | 0 |",
            rate(null),
            rate(planted)
        );
    }
    out += &strength_table(t);
    if !t.nights.is_empty() {
        let trials = median(t.nights.iter().map(|n| n.trials as f64));
        let effective = median(t.nights.iter().map(|n| n.effective as f64));
        let (lo, hi) =
            t.nights.iter().fold((usize::MAX, 0), |(lo, hi), n| (lo.min(n.effective), hi.max(n.effective)));
        let _ = writeln!(
            out,
            "\nThe DSR's number of trials per night: {trials:.0} trials, {effective:.0} effective independent \
             trials (median; {lo}–{hi}), each family's trials counted by the participation ratio of their \
             correlations, discovery's in full."
        );
    }
    let _ = writeln!(
        out,
        "\nFalse-enable rate over all families on null universes: {} (target ≤ 5 %).",
        t.false_enable_rate.map_or("–".into(), |r| format!("{:.1} %", r * 100.0))
    );
    if !t.skips.is_empty() {
        out += "\nSkipped:\n";
        for (universe, family, reason) in &t.skips {
            let _ = writeln!(out, "- {universe}: {family}: {reason}");
        }
    }
    out
}

/// The median of the finite `values` (NaN when there is none).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `1.23`, or `–` when not finite.
fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.2}") } else { "–".into() }
}

/// A probability with four decimals (a corrected PSR threshold is 0.9964), or `–`.
fn prob(x: f64) -> String {
    if x.is_finite() { format!("{x:.4}") } else { "–".into() }
}

/// The gates `runs` failed, most often first (ties in gate order), as `DSR 9/10, OOS PSR 7/10`.
fn gate_counts(runs: &[FamilyRun]) -> String {
    let mut counts: BTreeMap<Gate, usize> = BTreeMap::new();
    for gate in runs.iter().flat_map(|r| &r.failed) {
        *counts.entry(*gate).or_default() += 1;
    }
    let mut counts: Vec<(Gate, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if counts.is_empty() {
        return "none".into();
    }
    counts.iter().map(|(g, n)| format!("{} {n}/{}", g.name(), runs.len())).collect::<Vec<_>>().join(", ")
}

/// What a benchmark's planted record predicts for a family: how likely the verdict's gates are
/// to pass at the run's strength, the strength its effect needs for 80 % power, and the gate that
/// binds there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// Share of the planted winners that passed every gate a strength does not move.
    pub structural_pass: f64,
    /// The gate a strength does not move that the winners failed most, with its count.
    pub structural_worst: Option<(Gate, usize)>,
    /// The predicted power at the run's strength: the oracle's power (median) × the structural
    /// share.
    pub power: f64,
    /// The strength of the family's effect for 80 % power (median over the oracles); `None`
    /// when no strength reaches it.
    pub strength_for_80: Option<f64>,
    /// The gate that binds: a structural one when fewer than 80 % of the winners pass them
    /// (then strength alone does not reach 80 %), else the gate a strength moves that is least
    /// likely to pass at the predicted strength.
    pub binding: Option<Gate>,
}

/// The prediction of family `f`'s planted record at the planted universes' `strengths`.
pub fn predict(f: &FamilyTruth, strengths: Strengths) -> Prediction {
    let (pass, worst) = structural(&f.planted_runs);
    let oracles: Vec<&Oracle> = f.planted_runs.iter().filter_map(|r| r.oracle.as_ref()).collect();
    let power = median(oracles.iter().map(|o| o.power)) * pass;
    let structural_binds = pass.is_finite() && pass < 0.8;
    // The gates a strength moves must make up for the winners the structural gates lose.
    let target = 0.8 / pass;
    let (strength_for_80, binding) = if structural_binds || !pass.is_finite() {
        (None, worst.map(|w| w.0))
    } else {
        let k = median(oracles.iter().filter_map(|o| o.strength_for(f.strength(strengths), target)));
        let mut binds: BTreeMap<Gate, usize> = BTreeMap::new();
        for o in &oracles {
            if let Some(s) = o.sharpe_for(target) {
                *binds.entry(o.binding_at(s)).or_default() += 1;
            }
        }
        let binding = binds.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|b| b.0);
        (k.is_finite().then_some(k), binding)
    };
    Prediction { structural_pass: pass, structural_worst: worst, power, strength_for_80, binding }
}

/// Why a family's prediction promises no strength for 80 % power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoStrength {
    /// Fewer than 80 % of the winners pass the gates a strength does not move.
    NotByStrength,
    /// The oracle has an edge, but no strength brings the gates a strength moves to 80 %.
    OutOfReach,
    /// The oracle's Sharpe ratio on planted universes is not positive, or was not measured.
    NoEdge,
}

impl NoStrength {
    /// The words the strength table prints.
    pub const fn name(self) -> &'static str {
        match self {
            NoStrength::NotByStrength => "not by strength",
            NoStrength::OutOfReach => "out of reach",
            NoStrength::NoEdge => "no edge",
        }
    }
}

/// One family's prediction with the words the strength table prints for it: the same figures
/// in the table and in `--json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FamilyPrediction {
    /// The predicted power, the strength for 80 % power and the binding gate.
    #[serde(flatten)]
    pub prediction: Prediction,
    /// The oracle's Sharpe ratio on the planted universes (median).
    pub oracle_sharpe: f64,
    /// Why no strength is given, when none is.
    pub no_strength: Option<NoStrength>,
    /// The table's reading: detected, blocked by a gate, too weak, or lost by the search.
    pub reading: String,
}

impl FamilyPrediction {
    /// Family `f`'s prediction at the planted universes' `strengths`.
    pub fn of(f: &FamilyTruth, strengths: Strengths) -> FamilyPrediction {
        let prediction = predict(f, strengths);
        let oracle_sharpe = median(f.planted_runs.iter().filter_map(|r| r.oracle.map(|o| o.sharpe)));
        let no_strength = match (prediction.strength_for_80, prediction.structural_pass < 0.8) {
            (Some(_), _) => None,
            (None, true) => Some(NoStrength::NotByStrength),
            (None, false) if oracle_sharpe > 0.0 => Some(NoStrength::OutOfReach),
            (None, false) => Some(NoStrength::NoEdge),
        };
        FamilyPrediction { prediction, oracle_sharpe, no_strength, reading: reading(f, &prediction) }
    }
}

/// What the planted record says about a family with a planted effect: detected, blocked by a gate
/// a strength does not move, too weak at this size (predicted power below 80 %), or lost by the
/// search.
fn reading(f: &FamilyTruth, p: &Prediction) -> String {
    if f.effects.is_empty() {
        return "no planted effect".into();
    }
    if f.planted.rate().is_some_and(|r| r >= 0.8) {
        return "detected".into();
    }
    if f.planted_runs.iter().any(|r| r.failed.contains(&Gate::PointInTime)) {
        return "cannot be enabled (inputs not point in time)".into();
    }
    if let (true, Some((gate, n))) = (p.structural_pass < 0.8, p.structural_worst) {
        return format!(
            "{} binds ({n}/{} winners fail it): a stronger effect does not promise power",
            gate.name(),
            f.planted_runs.len()
        );
    }
    if !p.power.is_finite() {
        "not measured".into()
    } else if p.power < 0.8 {
        format!("too weak to detect at this size (predicted power {:.0} %)", p.power * 100.0)
    } else {
        format!("strong enough (predicted power {:.0} %): the search loses it", p.power * 100.0)
    }
}

/// Per family: the winners' strength on each kind of universe, the gates that failed, the
/// oracle's strength, the power the gates have against it and the strength for 80 % power.
fn strength_table(t: &Truth) -> String {
    let mut out = String::from(
        "\nStrength and gates, medians over the universes (winner: the GA's pick; oracle: the family at its \
         default parameters over the whole history, no search; Sharpe ratios annualised; predicted power: \
         the oracle's chance of clearing the gates a strength moves × the share of winners that clear \
         those it does not):\n\n\
         | family | winner OOS Sharpe null / planted | winner OOS PSR planted (needed) | gates failed on planted | \
         oracle Sharpe null / planted | Sharpe for 80 % power OOS / IS | predicted power | \
         strength for 80 % power | binding gate | reading |\n\
         |---|---:|---:|---|---:|---:|---:|---:|---|---|\n",
    );
    for f in &t.families {
        let oracle = |runs: &[FamilyRun], pick: fn(&Oracle) -> f64| {
            median(runs.iter().filter_map(|r| r.oracle.as_ref().map(pick)))
        };
        let p = &f.planted_runs;
        let FamilyPrediction { prediction, oracle_sharpe, no_strength, reading } =
            FamilyPrediction::of(f, t.strength);
        let strength = match (prediction.strength_for_80, no_strength) {
            (Some(k), _) => format!("{k:.1}×"),
            (None, why) => format!("– ({})", why.unwrap_or(NoStrength::NoEdge).name()),
        };
        let binding = match prediction.binding {
            Some(g) if STRUCTURAL.contains(&g) => format!("{} (strength does not move it)", g.name()),
            Some(g) => g.name().to_string(),
            None => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} / {} | {} ({}) | {} | {} / {} | {} / {} | {} | {strength} | {binding} | {reading} |",
            f.family,
            num(median(f.null_runs.iter().map(|r| r.oos_sharpe))),
            num(median(p.iter().map(|r| r.oos_sharpe))),
            prob(median(p.iter().map(|r| r.oos_psr))),
            prob(median(p.iter().map(|r| r.psr_needed))),
            gate_counts(p),
            num(oracle(&f.null_runs, |o| o.sharpe)),
            num(oracle_sharpe),
            num(oracle(p, |o| o.oos_sharpe_for_80)),
            num(oracle(p, |o| o.is_sharpe_for_80)),
            if prediction.power.is_finite() {
                format!("{:.0} %", prediction.power * 100.0)
            } else {
                "–".into()
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmark's universes carry enough minute bars for gap_fill's out-of-sample window
    /// to reach the intraday minimum of the nightly file's verdict: with the generator's 20
    /// sessions it had about 6 and failed the duration gate on every seed, whatever its edge.
    #[test]
    fn gap_fills_out_of_sample_window_on_the_benchmarks_minute_bars_is_long_enough_to_judge() {
        let research = load_research(None).unwrap();
        assert!(research.families.iter().any(|f| f.timeframe == Timeframe::Min1), "gap_fill runs on minutes");
        let dir = tempfile::tempdir().unwrap();
        let config = SynthConfig {
            symbols: 1,
            years: 1,
            seed: 9_001,
            minute_days: minute_days(&research),
            minute_symbols: Some(1),
            ..SynthConfig::default()
        };
        datasets::actions::generate(dir.path(), &config, datasets::actions::OnExisting::Refuse, |_, _| {})
            .unwrap();
        let store = datasets::store::Store::open(dir.path()).unwrap();
        let data = research::universe(&store, Timeframe::Min1, &research.reference, None).unwrap();
        let (_, oos) = experiments::evolution::stages(&data, research.validation.in_sample);
        let ts = data.timestamps();
        let days = (ts[oos.end - 1] - ts[oos.start]) as f64 / 86_400e9;
        let needed = research.verdict.min_oos_days_intraday;
        assert!(
            days >= needed,
            "{} sessions leave {days:.1} days out of sample, {needed} needed",
            config.minute_days
        );
        assert!(days < needed + 10.0, "and not many more: {days:.1} days");
    }

    /// The benchmark's discovery looks at the planted mean-reverting stocks, and on a null
    /// universe (no styles) at as many of the first stocks.
    #[test]
    fn discovery_looks_at_the_mean_reverting_stocks() {
        let config = SynthConfig {
            symbols: 200,
            years: 1,
            seed: 9_002,
            effects: Effects::FINDABLE,
            ..SynthConfig::default()
        };
        let planted = Universe::new(&config).unwrap();
        let picked = discovery_symbols(&planted);
        assert_eq!(picked.len(), DISCOVERY_STOCKS);
        for name in &picked {
            let i = planted.symbols().iter().position(|m| &m.symbol == name).unwrap();
            assert_eq!(planted.style(i), Some(StockStyle::MeanReverting), "{name}");
        }
        let null = Universe::new(&SynthConfig { effects: Effects::NONE, ..config }).unwrap();
        let first: Vec<String> = (1..=DISCOVERY_STOCKS).map(|k| format!("S{k:04}")).collect();
        assert_eq!(discovery_symbols(&null), first);
    }

    fn outcome(enabled: &[(&str, bool)], discovery: Option<bool>) -> UniverseOutcome {
        UniverseOutcome {
            enabled: enabled.iter().map(|&(f, on)| (f.to_string(), on)).collect(),
            skipped: Vec::new(),
            discovery,
            runs: BTreeMap::new(),
            night: NightTrials {
                trials: 2_400,
                effective: 2_400 - 100 * usize::from(discovery == Some(true)),
            },
        }
    }

    #[test]
    fn rates_count_enables_per_kind_and_skips_apart() {
        let research = Research::parse(
            "[research]\nname = \"t\"\n[families.sma_cross]\n[families.mean_reversion]\n",
            "test",
            Path::new("."),
        )
        .unwrap();
        let mut skipped = outcome(&[("sma_cross", false)], Some(true));
        skipped.skipped.push(("mean_reversion".into(), "too small".into()));
        let runs = vec![
            (
                Effects::NONE,
                "null seed 1".to_string(),
                outcome(&[("sma_cross", true), ("mean_reversion", false)], Some(false)),
            ),
            (Effects::NONE, "null seed 2".to_string(), skipped),
            (
                Effects::FINDABLE,
                "planted seed 3".to_string(),
                outcome(&[("sma_cross", true), ("mean_reversion", true)], Some(true)),
            ),
        ];
        let t = score(&research, &runs);
        let by = |name: &str| t.families.iter().find(|f| f.family == name).unwrap().clone();
        let mr = by("mean_reversion");
        assert_eq!(mr.effects, ["mean_reversion"]);
        assert_eq!(mr.null, Tally { runs: 1, hits: 0, skipped: 1 });
        assert_eq!(mr.planted, Tally { runs: 1, hits: 1, skipped: 0 });
        assert_eq!(by("sma_cross").null, Tally { runs: 2, hits: 1, skipped: 0 });
        // Three family-runs on null universes, one enable.
        assert_eq!(t.false_enable_rate, Some(1.0 / 3.0));
        assert_eq!(
            t.discovery,
            Some((Tally { runs: 2, hits: 1, skipped: 0 }, Tally { runs: 1, hits: 1, skipped: 0 }))
        );
        assert_eq!(
            t.skips,
            [("null seed 2".to_string(), "mean_reversion".to_string(), "too small".to_string())]
        );
        let text = table(&t);
        assert!(text.contains("| mean_reversion | mean_reversion | 0 % (0/1) | 100 % (1/1) | 1 |"), "{text}");
        assert!(text.contains("False-enable rate over all families on null universes: 33.3 %"), "{text}");
        assert!(text.contains("- null seed 2: mean_reversion: too small"), "{text}");
        // Medians over the three nights, and the range of the effective trials.
        assert!(
            text.contains("2400 trials, 2300 effective independent trials (median; 2300–2400)"),
            "{text}"
        );
    }

    fn research() -> Research {
        Research::parse(
            "[research]\nname = \"t\"\n[families.sma_cross]\n[families.mean_reversion]\n",
            "test",
            Path::new("."),
        )
        .unwrap()
    }

    /// Evidence that passes every statistical gate of the default rules.
    fn strong() -> Evidence {
        Evidence {
            is_sharpe: 2.5,
            oos_sharpe: 2.0,
            oos_decisions: 40,
            oos_psr: 0.9990,
            oos_days: 1_000.0,
            intraday: false,
            oos_tests: 10,
            dsr: 0.99,
            pbo: None,
            currently_enabled: false,
            fresh_oos: true,
            not_point_in_time: None,
        }
    }

    /// A report row that earns 10 % a year with half its equity at work, 3 % a year above the
    /// equal-weight book.
    fn row() -> FamilyReport {
        let figures = kernel::metrics::Figures {
            sharpe: 2.0,
            sortino: 3.0,
            cagr: 0.10,
            total_return: 0.3,
            max_drawdown: -0.05,
            trades: 40,
            win_rate: 0.6,
            exposure: 0.9,
            capital_at_work: 0.5,
            ..kernel::metrics::Figures::missing()
        };
        FamilyReport {
            passive: vec![experiments::research::Passive {
                name: "equal-weight".into(),
                cagr: 0.07,
                excess_return: 0.03,
                information_ratio: 0.5,
                beta: 0.8,
            }],
            in_sample: figures,
            out_of_sample: figures,
            deflated_sharpe: Some(0.99),
            trials: 100,
            generations: 10,
            ..FamilyReport::empty("sma_cross", 1, evolve::stats::Verdict::Enable, research::State::Enabled)
        }
    }

    #[test]
    fn each_gate_is_judged_on_its_own() {
        let research = research();
        assert_eq!(failed_gates(&research, &strong(), &row()), []);
        // The corrected threshold for 10 tests is 0.995: a PSR of 0.99 fails it, and a DSR of
        // 0.9 fails too; both are listed, not just the first.
        let weak = Evidence { oos_psr: 0.99, dsr: 0.9, ..strong() };
        assert_eq!(failed_gates(&research, &weak, &row()), [Gate::Psr, Gate::Dsr]);
        let collapse = Evidence { is_sharpe: 5.0, ..strong() };
        assert_eq!(failed_gates(&research, &collapse, &row()), [Gate::Collapse]);
        let mut dust = row();
        dust.out_of_sample.cagr = 0.001;
        dust.out_of_sample.capital_at_work = f64::NAN;
        dust.passive[0].excess_return = 0.0;
        assert_eq!(
            failed_gates(&research, &strong(), &dust),
            [Gate::MinReturn, Gate::CapitalAtWork, Gate::Benchmark]
        );
        let few = Evidence { oos_decisions: 3, oos_days: 100.0, ..strong() };
        assert_eq!(failed_gates(&research, &few, &row()), [Gate::Decisions, Gate::Duration]);
    }

    /// The PSR and DSR alone: no OOS Sharpe minimum, no minimum return, no benchmark.
    fn sharpe_gates(psr_needed: f64, trials: usize) -> Hurdles {
        Hurdles {
            psr_needed,
            min_dsr: 0.95,
            trials,
            min_oos_sharpe: 0.0,
            min_oos_return: -1.0,
            benchmark: false,
        }
    }

    /// An oracle of Sharpe `sharpe` with 10 % volatility and no passive comparison.
    fn measured(sharpe: f64) -> Measured {
        Measured {
            sharpe,
            cagr: 0.1 * sharpe,
            volatility: 0.1,
            excess_return: f64::NAN,
            information_ratio: f64::NAN,
        }
    }

    #[test]
    fn oracle_power_is_the_chance_of_clearing_both_gates() {
        let night = sharpe_gates(1.0 - 0.05 / 14.0, 2_470);
        // 3 OOS years, a PSR threshold of 1 − 0.05/14: the 80 %-power Sharpe ratio is
        // (Φ⁻¹(0.99643) + Φ⁻¹(0.8)) / √3 = (2.6901 + 0.8416) / 1.7321 = 2.039.
        let o = Oracle::new(measured(1.0), (7.0, 3.0), night);
        assert!((o.oos_sharpe_for_80 - 2.039).abs() < 1e-3, "{}", o.oos_sharpe_for_80);
        assert_eq!(o.oos_hurdle.0, Gate::Psr);
        // The DSR needs SR·√7 ≥ E[max of 2,470 null t-statistics] (3.50) + 1.645.
        let emax = expected_max_sharpe(2_470, 1.0);
        assert!((emax - 3.50).abs() < 0.01, "{emax}");
        assert!((o.is_sharpe_for_80 - (emax + 1.645 + Z_80) / 7f64.sqrt()).abs() < 1e-3);
        // A true Sharpe ratio of 1 is far below both: little power.
        assert!(o.power < 0.01, "{}", o.power);
        // At the OOS gate's 80 % point, with an in-sample window long enough to pass the DSR
        // surely, the power is 80 %.
        let at = Oracle::new(measured(o.oos_sharpe_for_80), (1e4, 3.0), night);
        assert!((at.power - 0.8).abs() < 1e-6, "{}", at.power);
        assert_eq!(Oracle::new(measured(f64::NAN), (7.0, 3.0), sharpe_gates(0.95, 10)).power, 0.0);
        // Both gates at once need a little more than the stricter one alone, and an oracle of
        // that Sharpe ratio has 80 % power.
        assert!(o.sharpe_for_80 > o.oos_sharpe_for_80.max(o.is_sharpe_for_80), "{}", o.sharpe_for_80);
        let both = Oracle::new(measured(o.sharpe_for_80), (7.0, 3.0), night);
        assert!((both.power - 0.8).abs() < 1e-9, "{}", both.power);
        // An oracle of Sharpe 1 at 3× would need 3 · sharpe_for_80 / 1; without an edge, none.
        let k = Strength::new(3.0).unwrap();
        assert!((o.strength_for(k, 0.8).unwrap() - 3.0 * o.sharpe_for_80).abs() < 1e-9);
        assert_eq!(
            Oracle::new(measured(-0.2), (7.0, 3.0), sharpe_gates(0.95, 10)).strength_for(k, 0.8),
            None
        );
    }

    /// The minimum return and the passive benchmark count too: a high minimum return becomes the
    /// out-of-sample hurdle, and an oracle far below the equal-weight book needs its edge to
    /// grow past the book before the benchmark passes, so the benchmark binds and the strength
    /// for 80 % power is higher than the Sharpe gates alone say.
    #[test]
    fn the_strength_for_80_percent_power_counts_the_return_and_benchmark_gates() {
        let night = sharpe_gates(1.0 - 0.05 / 14.0, 900);
        let alone = Oracle::new(measured(0.5), (7.0, 3.0), night);
        assert_eq!(alone.binding_at(alone.sharpe_for_80), Gate::Dsr);

        // A 30 % a year minimum at 10 % volatility: (0.30 + 0.005) / 0.1 = 3.05 per √year, above
        // the PSR's 2.69 / √3.
        let min_return = Oracle::new(measured(0.5), (7.0, 3.0), Hurdles { min_oos_return: 0.30, ..night });
        assert_eq!(min_return.oos_hurdle.0, Gate::MinReturn);
        assert!((min_return.oos_hurdle.1 - 3.05 * 3f64.sqrt()).abs() < 1e-9, "{:?}", min_return.oos_hurdle);
        assert!(min_return.sharpe_for_80 > alone.sharpe_for_80 + 0.5, "{}", min_return.sharpe_for_80);

        // 30 % a year below the book with a tracking error of 10 %: the excess turns positive at a
        // Sharpe ratio of 3.5 (0.5 + 0.30 / 0.1), and passes 3 years out of sample 80 % of the
        // time at about 4.0 (an excess of 0.84 · 0.1 / √3 = 4.9 %).
        let behind = Measured { excess_return: -0.30, information_ratio: -3.0, ..measured(0.5) };
        let o = Oracle::new(behind, (7.0, 3.0), Hurdles { benchmark: true, ..night });
        assert_eq!(o.binding_at(o.sharpe_for_80), Gate::Benchmark);
        assert!((o.sharpe_for_80 - 3.99).abs() < 0.05, "{}", o.sharpe_for_80);
        assert!(o.power < 1e-6, "{}", o.power);
        // Without the gate (`benchmark = "absolute"`) the same oracle is the Sharpe gates' case.
        let absolute = Oracle::new(behind, (7.0, 3.0), night);
        assert_eq!(absolute.sharpe_for_80, alone.sharpe_for_80);
    }

    fn planted(effects: Vec<&'static str>, failed: &[&[Gate]], sharpe: f64) -> FamilyTruth {
        let runs = failed
            .iter()
            .map(|failed| FamilyRun {
                enabled: false,
                is_sharpe: 1.0,
                oos_sharpe: 1.0,
                oos_psr: 0.9,
                psr_needed: 0.995,
                dsr: 0.5,
                oos_cagr: 0.05,
                failed: failed.to_vec(),
                oracle: Some(Oracle::new(measured(sharpe), (7.0, 3.0), sharpe_gates(0.995, 1_000))),
            })
            .collect();
        FamilyTruth {
            family: "factor_momentum".into(),
            effects,
            planted: Tally { runs: failed.len(), hits: 0, skipped: 0 },
            planted_runs: runs,
            ..FamilyTruth::default()
        }
    }

    /// A gate a strength does not move binds when fewer than 80 % of the winners pass it: the
    /// prediction names it and promises no strength. When most pass, the gates a strength moves
    /// must make up for the rest, so the strength needed is higher.
    #[test]
    fn a_gate_strength_does_not_move_binds_and_promises_no_strength() {
        let psr = [Gate::Psr].as_slice();
        let decisions = [Gate::Psr, Gate::Decisions].as_slice();
        let four_of_ten = planted(
            vec!["trending"],
            &[decisions, decisions, decisions, decisions, psr, psr, psr, psr, psr, psr],
            0.8,
        );
        let p = predict(&four_of_ten, Strengths::ONE);
        assert_eq!((p.structural_pass, p.structural_worst), (0.6, Some((Gate::Decisions, 4))));
        assert_eq!((p.strength_for_80, p.binding), (None, Some(Gate::Decisions)));
        assert!(p.power < 0.01, "{}", p.power);
        let t = Truth { families: vec![four_of_ten.clone()], ..Truth::default() };
        let text = strength_table(&t);
        assert!(
            text.contains(
                "| – (not by strength) | decisions (strength does not move it) | decisions binds (4/10 winners \
                 fail it): a stronger effect does not promise power |"
            ),
            "{text}"
        );

        let capital = [Gate::Psr, Gate::CapitalAtWork].as_slice();
        let one_of_ten =
            planted(vec!["trending"], &[capital, psr, psr, psr, psr, psr, psr, psr, psr, psr], 0.8);
        let p = predict(&one_of_ten, Strengths::ONE);
        let o = one_of_ten.planted_runs[0].oracle.unwrap();
        let k = p.strength_for_80.unwrap();
        assert!((k - o.sharpe_for(0.8 / 0.9).unwrap() / 0.8).abs() < 1e-9, "{k}");
        assert!(k > o.sharpe_for_80 / 0.8, "{k}");
        assert_eq!(p.binding, Some(Gate::Dsr));
        let all_pass = planted(vec!["trending"], &[psr; 10], 0.8);
        assert_eq!(
            predict(&all_pass, Strengths::ONE)
                .strength_for_80
                .map(|k| (k * 0.8 - o.sharpe_for_80).abs() < 1e-9),
            Some(true)
        );
    }

    /// `--json` carries each family's prediction with the figures and words the strength table
    /// prints for it.
    #[test]
    fn the_json_carries_each_familys_prediction_as_the_table_prints_it() {
        let decisions = [Gate::Psr, Gate::Decisions].as_slice();
        let psr = [Gate::Psr].as_slice();
        let blocked = planted(vec!["trending"], &[decisions, decisions, psr, psr, psr], 0.8);
        let reachable =
            FamilyTruth { family: "gap_fill".into(), ..planted(vec!["gap_fills"], &[psr; 4], 0.8) };
        let mut t = Truth {
            families: vec![blocked, reachable],
            strength: "gap_fills=2".parse().unwrap(),
            ..Truth::default()
        };
        t.predict();
        let json = serde_json::to_value(&t).unwrap();
        let text = strength_table(&t);
        let families = json["families"].as_array().unwrap();
        for (f, json) in t.families.iter().zip(families) {
            let p = json["prediction"].as_object().unwrap();
            for field in [
                "power",
                "strength_for_80",
                "binding",
                "structural_pass",
                "structural_worst",
                "oracle_sharpe",
            ] {
                assert!(p.contains_key(field), "{} lacks {field}: {json}", f.family);
            }
            assert_eq!(f.prediction, Some(FamilyPrediction::of(f, t.strength)));
            let power = p["power"].as_f64().unwrap();
            let reading = p["reading"].as_str().unwrap();
            assert!(text.contains(&format!("| {:.0} % |", power * 100.0)), "{text}");
            assert!(text.contains(&format!(" | {reading} |")), "{text}");
            let oos_80 = f.planted_runs[0].oracle.unwrap().oos_sharpe_for_80;
            assert!(text.contains(&format!("/ 0.80 | {oos_80:.2} / ")), "{text}");
            assert_eq!(p["oracle_sharpe"], 0.8);
        }
        let blocked = &families[0]["prediction"];
        assert_eq!(blocked["strength_for_80"], serde_json::Value::Null);
        assert_eq!(blocked["no_strength"], "not_by_strength");
        assert_eq!(blocked["binding"], "decisions");
        assert_eq!(blocked["structural_pass"], 0.6);
        assert_eq!(blocked["structural_worst"], serde_json::json!(["decisions", 2]));
        assert!(
            text.contains("| – (not by strength) | decisions (strength does not move it) | decisions binds")
        );
        // gap_fill's effect was planted at 2×, so its strength for 80 % power is twice the 1× one.
        let reachable = &families[1]["prediction"];
        let k = reachable["strength_for_80"].as_f64().unwrap();
        let o = t.families[1].planted_runs[0].oracle.unwrap();
        assert!((k - 2.0 * o.sharpe_for_80 / 0.8).abs() < 1e-9, "{k}");
        assert_eq!(reachable["no_strength"], serde_json::Value::Null);
        assert_eq!(reachable["binding"], "dsr");
        assert!(text.contains(&format!("| {k:.1}× | DSR | too weak to detect")), "{text}");
    }

    /// The strength a family's prediction scales is its own effect's: at `trending=3` a trending
    /// family's oracle was measured at 3×, at `premium=3` at 1×.
    #[test]
    fn the_prediction_scales_the_familys_own_effect() {
        let f = planted(vec!["trending"], &[[Gate::Psr].as_slice(); 4], 0.8);
        let o = f.planted_runs[0].oracle.unwrap();
        let at = |s: &str| predict(&f, s.parse().unwrap()).strength_for_80.unwrap();
        assert!((at("trending=3") - 3.0 * o.sharpe_for_80 / 0.8).abs() < 1e-9);
        assert!((at("premium=3") - o.sharpe_for_80 / 0.8).abs() < 1e-9);
        assert!((at("2") - 2.0 * o.sharpe_for_80 / 0.8).abs() < 1e-9);
    }

    #[test]
    fn the_strength_table_says_why_a_planted_family_was_missed() {
        let research = research();
        let run = |oos_sharpe: f64, failed: Vec<Gate>, oracle: f64| FamilyRun {
            enabled: false,
            is_sharpe: 1.0,
            oos_sharpe,
            oos_psr: 0.9,
            psr_needed: 0.995,
            dsr: 0.5,
            oos_cagr: 0.05,
            failed,
            oracle: Some(Oracle::new(measured(oracle), (7.0, 3.0), sharpe_gates(0.995, 1_000))),
        };
        let mut runs = Vec::new();
        for (seed, effects) in [(1, Effects::NONE), (2, Effects::FINDABLE), (3, Effects::FINDABLE)] {
            let mut o = outcome(&[("sma_cross", false), ("mean_reversion", false)], None);
            let planted = effects == Effects::FINDABLE;
            let sharpe = if planted { 1.0 } else { 0.0 };
            let failed = if planted { vec![Gate::Psr, Gate::Dsr] } else { vec![Gate::Dsr] };
            o.runs.insert("mean_reversion".into(), run(sharpe, failed, if planted { 0.8 } else { 0.1 }));
            runs.push((effects, format!("seed {seed}"), o));
        }
        let t = score(&research, &runs);
        let text = strength_table(&t);
        assert!(
            text.contains(
                "| mean_reversion | 0.00 / 1.00 | 0.9000 (0.9950) | OOS PSR 2/2, DSR 2/2 | 0.10 / 0.80 |"
            ),
            "{text}"
        );
        assert!(text.contains("too weak to detect at this size (predicted power 0 %)"), "{text}");
        // At 1×, an oracle of 0.8 needs sharpe_for_80 / 0.8 times the strength.
        let needed = Oracle::new(measured(0.8), (7.0, 3.0), sharpe_gates(0.995, 1_000)).sharpe_for_80 / 0.8;
        assert!(text.contains(&format!("| {needed:.1}× | DSR | too weak to detect")), "{text}");
        assert!(text.contains("| sma_cross | – / – | – (–) | none | – / – |"), "{text}");
        assert!(text.contains("| – (no edge) | – | not measured |"), "{text}");
    }
}

//! The nightly research run: every enabled family evolved in sample, validated out of sample,
//! given a verdict, ranked and reported — all recorded in the research database.
//!
//! The run is a `research` row in the database with one `evolve` child run per family. A
//! family's verdict comes from its out-of-sample evidence ([`evolve::stats::verdict`]); `keep`
//! keeps the state (enabled or not) the previous finished research run of the same name left
//! the family in — the run's summary stores each family's resulting state under `states`, not
//! just the verdict word — so a family is only switched on or off on clear evidence.

mod config;
pub mod judge;
mod night;
mod promote;
mod regime;
mod summary;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use datasets::Timeframe;
use datasets::store::{Store, StoreError};
use evolve::db::{NewRun, ResearchDb, RunKind, RunStatus};
use evolve::problem::Evaluation;
use evolve::run::{Ending, Timing, now_ns};
use evolve::stats::{Evidence, Verdict, verdict};
use kernel::metrics::Figures;
use kernel::strategy::{DataError, MarketData, Params, backtest};
use xxhash_rust::xxh3::xxh3_64;

pub use config::{Cluster, Family, Research};
pub use judge::{BenchmarkGate, Gates, Passive, State, versus_universe};
pub use night::Night;
pub use promote::promote_family;
pub use summary::{DiscoverySummary, NightCounts, ResearchSummary, Switch};

use crate::config::ResearchDiscover;
use crate::data::data_hash;
use crate::discover::{DataRef, DiscoverError, DiscoverGeneration, DiscoverOutcome, DiscoverSpec};
use crate::evolution::{EvolveError, EvolveSpec, Generation, Outcome, evolve};
use crate::research_report::{
    self as rr, Curve, DataSummary, DiscoveredGenome, DiscoveryReport, FamilyReport, GaEvent, GateOutcome,
    GenerationPoint, ResearchReport, TradeStats,
};

/// A research run that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum ResearchError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The universe could not be assembled.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The database refused a write.
    #[error(transparent)]
    Db(#[from] evolve::db::DbError),
    /// The first family's timeframe has no universe in the store.
    #[error("{0}")]
    NoUniverse(String),
    /// Discovery failed.
    #[error("discovery: {0}")]
    Discover(#[from] DiscoverError),
    /// A family could not be promoted (`tradebot promote --family`).
    #[error("promoting family `{family}`: {why}")]
    Promote {
        /// The family.
        family: String,
        /// Why not.
        why: String,
    },
    /// A family's evolution failed.
    #[error("{family}: {source}")]
    Evolve {
        /// The family.
        family: &'static str,
        /// What went wrong.
        source: EvolveError,
    },
}

/// What the caller sees while a research run progresses.
pub enum Progress<'a> {
    /// A family starts (position, count, name).
    Family(usize, usize, &'static str),
    /// One of its generations finished.
    Generation(&'a Generation),
    /// Discovery starts (generations).
    Discovery(u32),
    /// One of its generations finished.
    DiscoveryGeneration(&'a DiscoverGeneration),
}

/// A finished (or stopped) research run.
pub struct Outcomes {
    /// The research run's id.
    pub run_id: i64,
    /// The report, ranked.
    pub report: ResearchReport,
    /// True when a stop request ended it early (the current family's run is resumable).
    pub stopped: bool,
    /// Time in the GA runs and in their evaluations, summed over the families (and discovery).
    pub timing: Timing,
    /// Strategy discovery, when the research file enables it and the families finished.
    pub discovery: Option<DiscoverOutcome>,
    /// Family → the evidence its statistical verdict weighed (families with a winner), so a
    /// benchmark can tell which gate held a family back without parsing the reason.
    pub evidence: std::collections::BTreeMap<String, Evidence>,
    /// The whole night's trials (every family's and discovery's) and the effective number of
    /// independent trials among them, the `N` its DSRs deflate by.
    pub night: Night,
}

/// The universe of `timeframe`, point in time: every symbol (of `only`, when a universe file
/// names them) with bars in the reference symbol's span (every bar of every symbol when the
/// store lacks the reference), each listed on its own span ([`MarketData::align_point_in_time`]).
/// A symbol is not kept for knowing it survives the whole span (survivorship): one that delists
/// is traded until its last bar, one that lists late from its first.
pub fn universe(
    store: &Store,
    timeframe: Timeframe,
    reference: &str,
    only: Option<&datasets::universe::Universe>,
) -> Result<MarketData, ResearchError> {
    let mut symbols = store.symbols(timeframe);
    if let Some(universe) = only {
        let named: std::collections::HashSet<&str> = universe.symbols.iter().map(String::as_str).collect();
        symbols.retain(|s| named.contains(*s));
    }
    let window = store.info(reference, timeframe).map(|i| (i.first.0, i.last.0));
    Ok(MarketData::from_store_point_in_time(store, &symbols, timeframe, window)?)
}

/// Where real market data came from, for the report's first line: the recorded sources of the
/// universe's series (provider, feed, adjustment) and the universe file's name, with the members
/// left out and why (not in the store, or no bar inside the reference's span); `None` when no
/// series has a recorded source and no universe file is named.
fn data_origin(
    store: &Store,
    data: &MarketData,
    reference: &str,
    universe: Option<&datasets::universe::Universe>,
) -> Option<String> {
    let timeframe = data.timeframe();
    let symbols = data.symbols();
    let mut sources: Vec<String> =
        symbols.iter().filter_map(|s| s.meta.sources.get(&timeframe)).map(|s| s.to_string()).collect();
    let recorded = sources.len();
    sources.sort();
    sources.dedup();
    let mut parts = Vec::new();
    match (sources.as_slice(), recorded) {
        ([], _) => {}
        ([one], n) if n == symbols.len() => parts.push(one.clone()),
        (many, n) => parts.push(format!("{} ({n} of {} symbols)", many.join("; "), symbols.len())),
    }
    if let Some(u) = universe {
        let held: Vec<&str> = symbols.iter().map(|s| s.meta.symbol.as_str()).collect();
        let in_data: std::collections::HashSet<&str> = held.iter().copied().collect();
        let (mut absent, mut short) = (Vec::new(), Vec::new());
        for s in u.symbols.iter().map(String::as_str).filter(|s| !in_data.contains(s)) {
            if store.info(s, timeframe).is_some() { short.push(s) } else { absent.push(s) }
        }
        let mut text = format!(
            "universe {} ({} of its {} symbols: {}",
            u.name,
            held.len(),
            u.symbols.len(),
            first_names(&held)
        );
        if !absent.is_empty() {
            text += &format!("; not in the store: {}", first_names(&absent));
        }
        if !short.is_empty() {
            text += &format!("; no bar in {reference}'s span: {}", first_names(&short));
        }
        text.push(')');
        parts.push(text);
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The first 8 of `names`, comma-separated, with `…` when there are more.
fn first_names(names: &[&str]) -> String {
    let shown = names.iter().take(8).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 8 { format!("{shown}, …") } else { shown }
}

/// Runs `research` on the store at `store`, recording into `db`; the report's market-regime
/// section uses the current regime model in `models` (trained and saved there when there is
/// none). The families' and discovery's evaluations are farmed out through `farm` when given (`tradebot
/// research --nats`, crate `cluster`): the report's figures are identical either way. `stop`
/// ends it after the current generation; `progress` reports families and generations.
#[allow(clippy::too_many_arguments)]
pub fn run(
    research: &Research,
    store: &Path,
    models: &Path,
    db: &mut ResearchDb,
    threads: usize,
    stop: &AtomicBool,
    farm: Option<&dyn evolve::problem::StrategyFarm>,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Outcomes, ResearchError> {
    let started = Instant::now();
    let store = Store::open(store)?;
    // Each timeframe's universe, or why there is none (its families are then skipped).
    let mut universes: HashMap<Timeframe, Result<MarketData, String>> = HashMap::new();
    for tf in research.families.iter().map(|f| f.timeframe) {
        universes.entry(tf).or_insert_with(|| {
            match universe(&store, tf, &research.reference, research.universe.as_ref()) {
                Ok(data) => Ok(data),
                Err(e) => Err(format!("no {tf} universe in the store ({e})")),
            }
        });
    }
    let main_tf = research.families[0].timeframe;
    let main = match &universes[&main_tf] {
        Ok(data) => data,
        Err(why) => return Err(ResearchError::NoUniverse(why.clone())),
    };
    let ts = main.timestamps();
    let config_hash = xxh3_64(research.text.as_bytes());
    let new = NewRun {
        kind: RunKind::Research,
        parent: None,
        name: &research.name,
        strategy: "",
        config: &research.text,
        config_hash,
        seed: research.ga.seed,
        data_hash: data_hash(main),
        data_first_ns: ts[0],
        data_last_ns: ts[ts.len() - 1],
        code_version: env!("CARGO_PKG_VERSION"),
        started_ns: now_ns(),
    };
    let run_id = db.create_run(&new)?;
    let last_summary = previous_summary(db, &research.name)?;
    let had_previous = last_summary.is_some();
    let last_summary = last_summary.unwrap_or_default();
    let previous = last_summary.enabled();
    let mut looks: HashMap<String, night::Looks> = last_summary.looks.into_iter().collect();

    // The families' outcomes; judged once discovery has run too, against the whole night.
    let mut ran: Vec<(&Family, Outcome, &MarketData)> = Vec::new();
    let mut skipped: Vec<(String, String)> =
        research.disabled.iter().map(|f| (f.to_string(), "disabled in the research file".into())).collect();
    let mut timing = Timing::default();
    let mut stopped = false;
    for (k, family) in research.families.iter().enumerate() {
        let name = family.strategy.name();
        progress(Progress::Family(k, research.families.len(), name));
        let data = match &universes[&family.timeframe] {
            Ok(data) => data,
            Err(why) => {
                skipped.push((name.to_string(), why.clone()));
                continue;
            }
        };
        if let Err(why) = runs_on(family, data) {
            skipped.push((name.to_string(), why));
            continue;
        }
        let spec = EvolveSpec {
            name: &research.name,
            strategy: family.strategy,
            genes: family.genes.clone(),
            ga: research.ga.clone(),
            fitness: research.fitness,
            validation: research.validation,
            rules: research.rules,
            cash: research.cash,
            config_text: &research.text,
            parent: Some(run_id),
            farm,
        };
        let outcome = evolve(&spec, data, db, None, stop, |g| progress(Progress::Generation(g)))
            .map_err(|source| ResearchError::Evolve { family: name, source })?;
        timing += outcome.timing;
        if outcome.ending == Ending::Stopped {
            stopped = true;
            break;
        }
        ran.push((family, outcome, data));
    }
    let discovery = match &research.discover {
        Some(d) if !stopped => {
            let found = discover(research, d, &store, main, db, run_id, stop, farm, &mut progress)?;
            timing += found.timing;
            stopped = found.ending == Ending::Stopped;
            Some(found)
        }
        _ => None,
    };
    let tonight = night::Night::of(ran.iter().map(|r| &r.1), discovery.as_ref());
    let mut families = Vec::new();
    let mut evidence = std::collections::BTreeMap::new();
    for (family, outcome, data) in &ran {
        let name = family.strategy.name();
        let before = previous.get(name).copied();
        let judged = Judged { before, night: &tonight, looks: looks.get(name).copied() };
        let (mut row, seen, weighed) = family_report(research, family, outcome, &judged, data);
        (row.convergence, row.ga_events) = convergence(db, outcome)?;
        if let Some(seen) = seen {
            looks.insert(name.to_string(), seen);
        }
        if let Some(weighed) = weighed {
            evidence.insert(name.to_string(), weighed);
        }
        families.push(row);
    }
    rank(&mut families, &research.gates);
    let evaluations = timing.evaluations as u64;

    let regime = regime::market_regime(&store, &research.reference, models);
    let elapsed = started.elapsed().as_secs_f64();
    let (is, oos) = crate::evolution::stages(main, research.validation.in_sample);
    let date = |t: usize| main.time(t).to_string().chars().take(10).collect::<String>();
    let split = if oos.is_empty() {
        format!("in-sample {}..{} (100 %), no out-of-sample stage", date(is.start), date(is.end - 1))
    } else {
        format!(
            "in-sample {}..{} ({:.0} %), out-of-sample {}..{}",
            date(is.start),
            date(is.end - 1),
            research.validation.in_sample * 100.0,
            date(oos.start),
            date(oos.end - 1)
        )
    };
    let changes = changes(&previous, had_previous, &families, discovery.as_ref());
    let on_main: Vec<&str> =
        ran.iter().filter(|r| r.2.timeframe() == main_tf).map(|r| r.0.strategy.name()).collect();
    let combined =
        combined(families.iter().filter(|f| rr::is_enabled(f) && on_main.contains(&f.family.as_str())));
    let market = passive_curve(main, oos.clone());
    // Issue 13: the report says plainly when the data is synthetic.
    let synthetic = datasets::synth::Provenance::describe_store(store.dir());
    let report = ResearchReport {
        title: format!(
            "{} research {}{}",
            research.name,
            now_string().chars().take(10).collect::<String>(),
            if synthetic.is_some() { " — synthetic data" } else { " — imported market data" }
        ),
        generated_utc: now_string(),
        run_id,
        data: DataSummary {
            source: store.dir().display().to_string(),
            synthetic,
            symbols: main.symbols().len(),
            bars: main.symbols().len() * main.len(),
            timeframe: main_tf.to_string(),
            first: date(0),
            last: date(main.len() - 1),
            origin: data_origin(&store, main, &research.reference, research.universe.as_ref()),
            split,
            data_hash: format!("{:016x}", new.data_hash),
        },
        families,
        skipped,
        elapsed_s: elapsed,
        evaluations,
        evals_per_s: evaluations as f64 / elapsed.max(1e-9),
        threads,
        regime: Some(regime),
        discovery: discovery.as_ref().map(discovery_report),
        changes,
        combined,
        market,
    };
    let summary = ResearchSummary {
        discovery: discovery.as_ref().map(|o| DiscoverySummary {
            run_id: o.run_id,
            trials: o.trials,
            candidates: o.candidates.len(),
            passed: o.passed().filter_map(|c| c.id).collect(),
        }),
        verdicts: report.families.iter().map(|f| (f.family.clone(), f.verdict)).collect(),
        states: Some(summary::states_after(
            &previous,
            report.families.iter().map(|f| (f.family.as_str(), f.verdict)),
        )),
        looks: looks.into_iter().collect(),
        night: NightCounts {
            trials: tonight.trials,
            effective_trials: tonight.effective_trials,
            oos_tests: tonight.oos_tests,
        },
        evaluations,
        elapsed_s: elapsed,
        ga_s: timing.total.as_secs_f64(),
        evaluating_s: timing.evaluating.as_secs_f64(),
    };
    let status = if stopped { RunStatus::Stopped } else { RunStatus::Finished };
    db.finish_run(run_id, status, now_ns(), Some(&summary.to_json()))?;
    Ok(Outcomes { run_id, report, stopped, timing, discovery, evidence, night: tonight })
}

/// The report's discovery section from a discovery run.
fn discovery_report(o: &DiscoverOutcome) -> DiscoveryReport {
    let genomes = o
        .candidates
        .iter()
        .map(|c| DiscoveredGenome {
            genome: c.genome.to_string(),
            in_sample_sharpe: c.in_sample.figures.sharpe,
            out_of_sample: c.out_of_sample.as_ref().map(|f| (f.figures.sharpe, f.figures.trades)),
            deflated_sharpe: c.deflated_sharpe,
            max_correlation: c.max_correlation,
            candidate: c.id.filter(|_| c.passed),
            failed: c.gates.iter().filter(|g| !g.passed).map(|g| g.gate.to_string()).collect(),
            gates: c
                .gates
                .iter()
                .map(|g| GateOutcome {
                    gate: g.gate.to_string(),
                    value: g.value,
                    threshold: g.threshold,
                    passed: g.passed,
                })
                .collect(),
        })
        .collect();
    DiscoveryReport { run_id: o.run_id, trials: o.trials, generations: o.generations, genomes }
}

/// The GA's convergence of a family's run (its last fold's with walk-forward): best and median
/// fitness and diversity per generation as the run recorded them, and its stagnation,
/// injection and restart events.
fn convergence(
    db: &ResearchDb,
    outcome: &Outcome,
) -> Result<(Vec<GenerationPoint>, Vec<GaEvent>), ResearchError> {
    let run = outcome.folds.last().map_or(outcome.run_id, |f| f.run_id);
    let points = db
        .generations(run)?
        .iter()
        .map(|g| GenerationPoint {
            generation: g.generation,
            best: g.best,
            median: g.median,
            diversity: g.diversity,
        })
        .collect();
    let events = db
        .events(run)?
        .into_iter()
        .filter(|e| matches!(e.kind.as_str(), "stagnation" | "injection" | "restart"))
        .map(|e| GaEvent { generation: e.generation, kind: e.kind })
        .collect();
    Ok((points, events))
}

/// What changed since the previous run: families switched on or off, families judged for the
/// first time, and discovery's new candidates. `had_previous` is false on the first run.
fn changes(
    previous: &HashMap<String, bool>,
    had_previous: bool,
    families: &[FamilyReport],
    discovery: Option<&DiscoverOutcome>,
) -> Vec<String> {
    let mut out = Vec::new();
    if !had_previous {
        out.push("first recorded run of this research file: nothing to compare with".to_string());
    }
    for f in families {
        let now = rr::is_enabled(f);
        match previous.get(&f.family) {
            None if had_previous => out.push(format!(
                "{}: judged for the first time, {}",
                f.family,
                if now { "enabled" } else { "disabled" }
            )),
            Some(false) if now => out.push(format!("{}: enabled (was disabled)", f.family)),
            Some(true) if !now => out.push(format!("{}: disabled (was enabled)", f.family)),
            _ => {}
        }
    }
    if let Some(d) = discovery {
        let ids: Vec<String> = d.passed().filter_map(|c| c.id).map(|id| id.to_string()).collect();
        if !ids.is_empty() {
            out.push(format!(
                "discovery: new candidate{} {} (tradebot candidates list)",
                if ids.len() == 1 { "" } else { "s" },
                ids.join(", ")
            ));
        }
    }
    out
}

/// The out-of-sample equity of `families` held in equal parts from the start (never
/// rebalanced), growth of 1, on the times every one of them has; empty without families.
fn combined<'a>(families: impl Iterator<Item = &'a FamilyReport>) -> Vec<(i64, f64)> {
    let curves: Vec<Vec<(i64, f64)>> =
        families.map(|f| rr::tear::normalised(&f.equity)).filter(|c| !c.is_empty()).collect();
    let Some(first) = curves.first() else { return Vec::new() };
    let lookups: Vec<HashMap<i64, f64>> = curves.iter().map(|c| c.iter().copied().collect()).collect();
    first
        .iter()
        .filter_map(|&(t, _)| {
            let values: Option<Vec<f64>> =
                lookups.iter().map(|l| l.get(&t).copied().filter(|v| v.is_finite())).collect();
            values.map(|v| (t, v.iter().sum::<f64>() / v.len() as f64))
        })
        .collect()
}

/// The passive alternative on `data` over `bars`, growth of 1: SPY bought and held when the
/// universe has it, else its tradable symbols in equal parts (never rebalanced). `None` for an
/// empty range or no tradable symbol.
fn passive_curve(data: &MarketData, bars: std::ops::Range<usize>) -> Option<Curve> {
    if bars.is_empty() {
        return None;
    }
    let (name, held): (String, Vec<usize>) = match data.find("SPY") {
        Some(spy) => ("SPY buy-and-hold".into(), vec![spy]),
        None => {
            let all: Vec<usize> = data.tradable().collect();
            (format!("equal-weight buy-and-hold of {} symbols", all.len()), all)
        }
    };
    if held.is_empty() {
        return None;
    }
    let times = data.timestamps();
    let points = bars
        .clone()
        .map(|t| {
            let value = held
                .iter()
                .map(|&i| {
                    let close = data.symbols()[i].bars.close();
                    close[t] / close[bars.start]
                })
                .sum::<f64>()
                / held.len() as f64;
            (times[t], value)
        })
        .collect();
    Some(Curve { name, points })
}

/// Discovery on the research universe's chosen symbols (default: the reference symbol, plus
/// `VIX` when the universe has it), with the research file's GA, fitness, validation and
/// account, as a child run of research run `parent`; its evaluations go through `farm` as the
/// families' do.
#[allow(clippy::too_many_arguments)]
fn discover(
    research: &Research,
    d: &ResearchDiscover,
    store: &Store,
    universe: &MarketData,
    db: &mut ResearchDb,
    parent: i64,
    stop: &AtomicBool,
    farm: Option<&dyn evolve::problem::StrategyFarm>,
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<DiscoverOutcome, ResearchError> {
    let symbols: Vec<String> = match &d.symbols {
        Some(s) => s.clone(),
        None => std::iter::once(research.reference.clone())
            .chain(universe.find("VIX").map(|_| "VIX".to_string()))
            .collect(),
    };
    let picked = symbols
        .iter()
        .map(|s| {
            let i = universe.find(s).ok_or_else(|| {
                DiscoverError::Data(format!("symbol `{s}` of [discover] is not in the research universe"))
            })?;
            Ok(universe.symbols()[i].clone())
        })
        .collect::<Result<Vec<_>, DiscoverError>>()?;
    let data = MarketData::new(universe.timeframe(), picked)?;
    let mut ga = research.ga.clone();
    ga.population = d.population.unwrap_or(ga.population);
    ga.generations = d.generations.unwrap_or(ga.generations);
    let timeframe = universe.timeframe();
    let dir = std::fs::canonicalize(store.dir()).unwrap_or_else(|_| store.dir().to_path_buf());
    let spec = DiscoverSpec {
        name: &research.name,
        settings: d.settings.clone(),
        ga,
        fitness: research.fitness,
        in_sample: research.validation.in_sample,
        rules: research.rules,
        cash: research.cash,
        data: DataRef::Store { dir, symbols, timeframe },
        config_text: &research.text,
        parent: Some(parent),
        farm,
    };
    progress(Progress::Discovery(spec.ga.generations));
    Ok(crate::discover::discover(&spec, &data, db, None, stop, |g| {
        progress(Progress::DiscoveryGeneration(g))
    })?)
}

/// Why `family` cannot run on `data`, found by a backtest of its defaults on a short slice.
fn runs_on(family: &Family, data: &MarketData) -> Result<(), String> {
    let strategy = family.strategy;
    let probe = data.slice(0..data.len().min(64));
    backtest(strategy, &Params::defaults(strategy.space()), &probe, Default::default(), 10_000.0)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The summary of the last finished research run called `name` (empty when there is none).
fn previous_summary(db: &ResearchDb, name: &str) -> Result<Option<ResearchSummary>, ResearchError> {
    let last = db.latest_finished(RunKind::Research, name)?;
    Ok(last.map(|r| ResearchSummary::parse(r.summary.as_deref())))
}

/// What a family is judged against besides its own outcome.
struct Judged<'a> {
    /// Whether it is enabled now; `None` when no earlier run judged it (it is disabled).
    before: Option<bool>,
    /// The whole night's trials and out-of-sample tests.
    night: &'a night::Night,
    /// How often its out-of-sample window was judged before.
    looks: Option<night::Looks>,
}

impl Judged<'_> {
    /// Whether the family is enabled now (a family no run has judged is not).
    fn currently_enabled(&self) -> bool {
        self.before == Some(true)
    }
}

/// The report row of one family, with its verdict, its record of looks after tonight's
/// (`None` when it had no out-of-sample test) and the evidence the verdict weighed (`None`
/// without a winner).
fn family_report(
    research: &Research,
    family: &Family,
    outcome: &Outcome,
    judged: &Judged<'_>,
    data: &MarketData,
) -> (FamilyReport, Option<night::Looks>, Option<Evidence>) {
    let name = family.strategy.name();
    let mut row = FamilyReport {
        reason: "no parameter set had a finite fitness".into(),
        params: "–".into(),
        trials: outcome.trials as u64,
        generations: outcome.generations,
        stagnation_events: outcome.stagnation_events,
        ..FamilyReport::empty(name, outcome.run_id, Verdict::Disable, State::Disabled)
    };
    let Some(w) = &outcome.winner else { return (row, None, None) };
    let oos = w.out_of_sample.as_ref();
    let oos_last = w.oos_equity.last().map(|e| e.0);
    let dsr = judged.night.dsr(w);
    let evidence = Evidence {
        is_sharpe: w.walk.as_ref().map_or(w.in_sample.figures.sharpe, |walk| walk.mean_is_sharpe),
        oos_sharpe: oos.map_or(f64::NAN, |f| f.figures.sharpe),
        oos_decisions: w.oos_activity.decisions(),
        oos_psr: night::oos_psr(w),
        oos_days: night::oos_days(w),
        intraday: night::intraday(data),
        oos_tests: judged.night.oos_tests,
        dsr,
        pbo: w.pbo,
        currently_enabled: judged.currently_enabled(),
        fresh_oos: oos_last.is_some_and(|t| night::Looks::fresh(judged.looks.as_ref(), t)),
        not_point_in_time: outcome_strategy_pit(research, name, data),
    };
    let seen = oos_last.map(|t| night::Looks::after(judged.looks.as_ref(), t));
    let (v, reason) = verdict(&research.verdict, &evidence);
    // Issue 13: capital at work, the passive benchmark and the enable gates.
    let passive = judge::assess(w, data, research.cash, outcome.stages.1.clone());
    let (v, reason) = judge::gate(
        &research.gates,
        (v, reason),
        &figures(oos),
        passive.as_deref(),
        judged.currently_enabled(),
    );
    let timeframe = if data.timeframe() == research.families[0].timeframe {
        String::new()
    } else {
        format!(" (on {} bars)", data.timeframe())
    };
    row.verdict = v;
    row.state = State::after(v, judged.before);
    row.reason = format!("{reason}{timeframe}");
    row.params = match &w.walk {
        Some(walk) => format!(
            "{:.4} (refit on the final window {}..{})",
            w.params,
            date(data, walk.refit_window.start),
            date(data, walk.refit_window.end - 1)
        ),
        None => format!("{:.4}", w.params),
    };
    row.selection = w.selection.to_string();
    row.notes.extend(crate::evolution::walk_notes(outcome, data));
    row.in_sample = figures(Some(&w.in_sample));
    row.out_of_sample = figures(oos);
    row.passive = passive.unwrap_or_default();
    row.deflated_sharpe = dsr.is_finite().then_some(dsr);
    row.pbo = w.pbo;
    row.equity = w.oos_equity.clone();
    // The in-sample curve before the out-of-sample one (a walk-forward's final training
    // window overlaps its chained test windows: only its part before them is drawn).
    let oos_first = w.oos_equity.first().map(|p| p.0);
    row.in_sample_equity =
        w.is_equity.iter().copied().filter(|p| oos_first.is_none_or(|t| p.0 < t)).collect();
    // The passive alternative over both, on the family's own bars.
    let first = row.in_sample_equity.first().or(w.oos_equity.first()).map(|p| p.0);
    let start = first.map_or(0, |t| data.timestamps().partition_point(|&x| x < t));
    if let Some(c) = passive_curve(data, start..data.len()) {
        (row.benchmark_name, row.benchmark) = (c.name, c.points);
    }
    row.in_sample_trades = w.is_trade_stats;
    row.out_of_sample_trades = TradeStats::of(&w.oos_activity.trades);
    if let Some(seen) = &seen {
        row.notes.extend(night::notes(judged.night, w, evidence.psr_threshold(&research.verdict), seen));
    }
    (row, seen, Some(evidence))
}

/// Why family `name`'s backtest on `data` is not point in time, if it is not.
fn outcome_strategy_pit(research: &Research, name: &str, data: &MarketData) -> Option<&'static str> {
    research
        .families
        .iter()
        .find(|f| f.strategy.name() == name)
        .and_then(|f| f.strategy.not_point_in_time(data))
}

/// The date (UTC, `YYYY-MM-DD`) of bar `t`.
fn date(data: &MarketData, t: usize) -> String {
    data.time(t).to_string().chars().take(10).collect()
}

/// Report figures of an evaluation; all missing when there is none.
fn figures(e: Option<&Evaluation>) -> Figures {
    e.map_or(Figures::missing(), |e| e.figures)
}

/// Best first: families enabled after the run (by `enable`, or `keep` of an enabled family)
/// before the rest, then families that deploy capital before dust (below `gates`' least
/// out-of-sample return or capital at work), then by out-of-sample Sharpe (missing last), then
/// by name. Ranking by the state, not the verdict word, keeps a dust family that stays disabled
/// (`keep`) from ranking above a real one that is disabled.
fn rank(families: &mut [FamilyReport], gates: &Gates) {
    let off = |f: &FamilyReport| !f.state.is_enabled();
    let key = |f: &FamilyReport| {
        let s = f.out_of_sample.sharpe;
        if s.is_finite() { s } else { f64::NEG_INFINITY }
    };
    families.sort_by(|a, b| {
        off(a)
            .cmp(&off(b))
            .then(judge::is_dust(a, gates).cmp(&judge::is_dust(b, gates)))
            .then(key(b).total_cmp(&key(a)))
            .then(a.family.cmp(&b.family))
    });
}

/// Writes the report as `<base>.md`, `<base>.html` and `<base>.json`; returns the paths.
pub fn write_report(report: &ResearchReport, base: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let files = [
        (base.with_extension("md"), rr::to_markdown(report)),
        (base.with_extension("html"), rr::to_html(report)),
        (base.with_extension("json"), serde_json::to_string_pretty(report).expect("reports serialise")),
    ];
    let mut written = Vec::new();
    for (path, text) in files {
        crate::report::write_file(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

/// The current UTC time, RFC 3339 to the second.
fn now_string() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14 item 6: a stock that delists mid-history and one that lists late are in the
    /// universe (the reference-span filter dropped both: survivorship), each listed on its own
    /// bars, while the clock stays SPY's whole history.
    #[test]
    fn the_universe_keeps_delisted_and_late_listed_symbols_point_in_time() {
        use datasets::store::{WriteMode, Writer};
        use datasets::synth::{SynthConfig, Universe};

        let u =
            Universe::new(&SynthConfig { symbols: 3, years: 2, seed: 3, ..SynthConfig::default() }).unwrap();
        let n = u.daily(0).len();
        let (last, first) = (n / 2, n / 4);
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::open(dir.path()).unwrap();
        let spy = u.symbols().iter().position(|m| m.symbol == "SPY").unwrap();
        let stocks: Vec<usize> = (0..u.symbols().len())
            .filter(|&i| u.symbols()[i].asset_class == datasets::AssetClass::Equity && i != spy)
            .collect();
        let (gone, late, kept) = (stocks[0], stocks[1], stocks[2]);
        for (i, range) in [(spy, 0..n), (kept, 0..n), (gone, 0..last + 1), (late, first..n)] {
            w.set_meta(u.symbols()[i].clone());
            w.write(&u.symbols()[i].symbol, Timeframe::Day1, &u.daily(i).slice(range), WriteMode::Replace)
                .unwrap();
        }
        w.commit().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let data = universe(&store, Timeframe::Day1, "SPY", None).unwrap();
        assert_eq!(data.len(), n, "SPY's whole history");
        let at = |i: usize| {
            data.find(&u.symbols()[i].symbol).unwrap_or_else(|| panic!("{} dropped", u.symbols()[i].symbol))
        };
        assert_eq!(data.listed(at(gone)), 0..last + 1);
        assert_eq!(data.listed(at(late)), first..n);
        assert_eq!(data.listed(at(kept)), 0..n);
    }

    /// The default nightly ranked a dust family that stays disabled (`keep`, 0.3 % a year) above
    /// a disabled one earning 32.6 % a year: the verdict word ranked, not the state.
    #[test]
    fn dust_never_ranks_above_a_family_that_deploys_capital() {
        let row = |name: &str, verdict: Verdict, state: State, sharpe: f64, cagr: f64, at_work: f64| {
            let mut oos = figures(None);
            (oos.sharpe, oos.cagr, oos.capital_at_work) = (sharpe, cagr, at_work);
            FamilyReport { out_of_sample: oos, ..FamilyReport::empty(name, 0, verdict, state) }
        };
        let mut families = vec![
            row("dust", Verdict::Keep, State::UnchangedDisabled, 0.94, 0.003, 0.02),
            row("real", Verdict::Disable, State::Disabled, 1.32, 0.326, 0.95),
            row("weak", Verdict::Disable, State::Disabled, 0.50, 0.05, 0.60),
            row("on", Verdict::Keep, State::UnchangedEnabled, 0.40, 0.08, 0.50),
        ];
        rank(&mut families, &Gates::default());
        let order: Vec<&str> = families.iter().map(|f| f.family.as_str()).collect();
        assert_eq!(order, ["on", "real", "weak", "dust"]);
    }
}

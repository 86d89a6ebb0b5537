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
mod regime;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use datasets::Timeframe;
use datasets::store::{Store, StoreError};
use evolve::db::{NewRun, ResearchDb, RunKind, RunStatus};
use evolve::problem::Figures;
use evolve::run::{Ending, Timing, now_ns};
use evolve::stats::{Evidence, Verdict, verdict};
use kernel::strategy::{DataError, MarketData, Params, backtest};
use serde_json::json;
use xxhash_rust::xxh3::xxh3_64;

pub use config::{Family, Research};
pub use judge::{Assessment, BenchmarkGate, Gates, Passive, State};

use crate::config::ResearchDiscover;
use crate::data::data_hash;
use crate::discover::{DataRef, DiscoverError, DiscoverGeneration, DiscoverOutcome, DiscoverSpec};
use crate::evolution::{EvolveError, EvolveSpec, Generation, Outcome, evolve};
use crate::research_report::{
    self as rr, DataSummary, DiscoveredGenome, DiscoveryReport, FamilyReport, ResearchReport,
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
    /// The whole night's trials (every family's and discovery's): the `N` its DSRs deflate by.
    pub night_trials: usize,
}

/// The universe of `timeframe`: every symbol whose bars cover the reference symbol's span (all
/// symbols when the store lacks the reference), loaded on the shared clock.
pub fn universe(store: &Store, timeframe: Timeframe, reference: &str) -> Result<MarketData, ResearchError> {
    let symbols = store.symbols(timeframe);
    let span = store.info(reference, timeframe).map(|i| (i.first, i.last));
    let chosen: Vec<&str> = symbols
        .into_iter()
        .filter(|s| match (span, store.info(s, timeframe)) {
            (Some((first, last)), Some(info)) => info.first <= first && info.last >= last,
            _ => true,
        })
        .collect();
    Ok(MarketData::from_store(store, &chosen, timeframe)?)
}

/// Runs `research` on the store at `store`, recording into `db`; the report's market-regime
/// section uses the current regime model in `models` (trained and saved there when there is
/// none). `stop` ends it after the current generation; `progress` reports families and
/// generations.
pub fn run(
    research: &Research,
    store: &Path,
    models: &Path,
    db: &mut ResearchDb,
    threads: usize,
    stop: &AtomicBool,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Outcomes, ResearchError> {
    let started = Instant::now();
    let store = Store::open(store)?;
    // Each timeframe's universe, or why there is none (its families are then skipped).
    let mut universes: HashMap<Timeframe, Result<MarketData, String>> = HashMap::new();
    for tf in research.families.iter().map(|f| f.timeframe) {
        universes.entry(tf).or_insert_with(|| match universe(&store, tf, &research.reference) {
            Ok(data) => Ok(data),
            Err(e) => Err(format!("no {tf} universe in the store ({e})")),
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
    let previous = states_from_summary(&last_summary);
    let mut looks = night::looks_from_summary(&last_summary);

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
            let found = discover(research, d, &store, main, db, run_id, stop, &mut progress)?;
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
        let enabled = previous.get(name).copied().unwrap_or(false);
        let judged = Judged { currently_enabled: enabled, night: &tonight, looks: looks.get(name).copied() };
        let (row, seen, weighed) = family_report(research, family, outcome, &judged, data);
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
    };
    let verdicts: serde_json::Map<String, serde_json::Value> =
        report.families.iter().map(|f| (f.family.clone(), json!(f.verdict))).collect();
    let states =
        states_after(&previous, report.families.iter().map(|f| (f.family.as_str(), f.verdict.as_str())));
    let discovered = discovery.as_ref().map(|o| {
        json!({
            "run_id": o.run_id,
            "trials": o.trials,
            "candidates": o.candidates.len(),
            "passed": o.passed().filter_map(|c| c.id).collect::<Vec<_>>(),
        })
    });
    let summary = json!({
        "discovery": discovered,
        "verdicts": verdicts,
        "states": states,
        "looks": looks.iter().collect::<std::collections::BTreeMap<_, _>>(),
        "night": { "trials": tonight.trials, "oos_tests": tonight.oos_tests },
        "evaluations": evaluations,
        "elapsed_s": elapsed,
        "ga_s": timing.total.as_secs_f64(),
        "evaluating_s": timing.evaluating.as_secs_f64(),
    });
    let status = if stopped { RunStatus::Stopped } else { RunStatus::Finished };
    db.finish_run(run_id, status, now_ns(), Some(&summary.to_string()))?;
    Ok(Outcomes { run_id, report, stopped, timing, discovery, evidence, night_trials: tonight.trials })
}

/// The report's discovery section from a discovery run.
fn discovery_report(o: &DiscoverOutcome) -> DiscoveryReport {
    let genomes = o
        .candidates
        .iter()
        .map(|c| DiscoveredGenome {
            genome: c.genome.to_string(),
            in_sample_sharpe: c.in_sample.sharpe,
            out_of_sample: c.out_of_sample.as_ref().map(|f| (f.sharpe, f.trades)),
            deflated_sharpe: c.deflated_sharpe,
            max_correlation: c.max_correlation,
            candidate: c.id.filter(|_| c.passed),
            failed: c.gates.iter().filter(|g| !g.passed).map(|g| g.gate.to_string()).collect(),
        })
        .collect();
    DiscoveryReport { run_id: o.run_id, trials: o.trials, generations: o.generations, genomes }
}

/// Discovery on the research universe's chosen symbols (default: the reference symbol, plus
/// `VIX` when the universe has it), with the research file's GA, fitness, validation and
/// account, as a child run of research run `parent`.
#[allow(clippy::too_many_arguments)]
fn discover(
    research: &Research,
    d: &ResearchDiscover,
    store: &Store,
    universe: &MarketData,
    db: &mut ResearchDb,
    parent: i64,
    stop: &AtomicBool,
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

/// The summary of the last finished research run called `name` (`null` when there is none).
fn previous_summary(db: &ResearchDb, name: &str) -> Result<serde_json::Value, ResearchError> {
    let last = db.latest_finished(RunKind::Research, name)?;
    Ok(last.and_then(|r| r.summary).and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
}

/// Family name → enabled, as recorded in a research run's summary: its `states` (older runs,
/// which stored only the verdict word, read `enable` as enabled).
fn states_from_summary(summary: &serde_json::Value) -> HashMap<String, bool> {
    if let Some(states) = summary.get("states").and_then(|v| v.as_object()) {
        return states.iter().map(|(family, v)| (family.clone(), v.as_str() == Some("enabled"))).collect();
    }
    let Some(verdicts) = summary.get("verdicts").and_then(|v| v.as_object()) else { return HashMap::new() };
    verdicts.iter().map(|(family, v)| (family.clone(), v.as_str() == Some("enable"))).collect()
}

/// Every family's state after tonight: the state its verdict leaves it in, and for a family
/// not judged tonight (skipped, or the run stopped first) the state it had.
fn states_after<'a>(
    previous: &HashMap<String, bool>,
    verdicts: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut states: std::collections::BTreeMap<String, bool> =
        previous.iter().map(|(f, &on)| (f.clone(), on)).collect();
    for (family, word) in verdicts {
        let was = previous.get(family).copied().unwrap_or(false);
        let verdict = match word {
            "enable" => Verdict::Enable,
            "keep" => Verdict::Keep,
            _ => Verdict::Disable,
        };
        states.insert(family.to_string(), verdict.enabled_after(was));
    }
    states.into_iter().map(|(f, on)| (f, json!(if on { "enabled" } else { "disabled" }))).collect()
}

/// What a family is judged against besides its own outcome.
struct Judged<'a> {
    /// Whether it is enabled now.
    currently_enabled: bool,
    /// The whole night's trials and out-of-sample tests.
    night: &'a night::Night,
    /// How often its out-of-sample window was judged before.
    looks: Option<night::Looks>,
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
        family: name.to_string(),
        run_id: outcome.run_id,
        verdict: Verdict::Disable.to_string(),
        state: State::Disabled.to_string(),
        passive: Vec::new(),
        reason: "no parameter set had a finite fitness".into(),
        params: "–".into(),
        in_sample: figures(None),
        out_of_sample: figures(None),
        deflated_sharpe: None,
        pbo: None,
        trials: outcome.trials as u64,
        generations: outcome.generations,
        stagnation_events: outcome.stagnation_events,
        equity: Vec::new(),
        benchmark: Vec::new(),
        notes: Vec::new(),
    };
    let Some(w) = &outcome.winner else { return (row, None, None) };
    let oos = w.out_of_sample.as_ref();
    let oos_last = w.oos_equity.last().map(|e| e.0);
    let dsr = judged.night.dsr(w);
    let evidence = Evidence {
        is_sharpe: w.walk.as_ref().map_or(w.in_sample.sharpe, |walk| walk.mean_is_sharpe),
        oos_sharpe: oos.map_or(f64::NAN, |f| f.sharpe),
        oos_decisions: w.oos_activity.decisions(),
        oos_psr: night::oos_psr(w),
        oos_days: night::oos_days(w),
        intraday: night::intraday(data),
        oos_tests: judged.night.oos_tests,
        dsr,
        pbo: w.pbo,
        currently_enabled: judged.currently_enabled,
        fresh_oos: oos_last.is_some_and(|t| night::Looks::fresh(judged.looks.as_ref(), t)),
        not_point_in_time: outcome_strategy_pit(research, name),
    };
    let seen = oos_last.map(|t| night::Looks::after(judged.looks.as_ref(), t));
    let (v, reason) = verdict(&research.verdict, &evidence);
    // Issue 13: capital at work, the passive benchmark and the enable gates.
    let (is, oos_bars) = crate::evolution::stages(data, research.validation.in_sample);
    let assessment =
        judge::assess(family.strategy, &w.params, data, research.rules, research.cash, is, oos_bars);
    let oos_cagr = oos.map_or(f64::NAN, |f| f.cagr);
    let (v, reason) =
        judge::gate(&research.gates, (v, reason), oos_cagr, assessment.as_ref(), judged.currently_enabled);
    let timeframe = if data.timeframe() == research.families[0].timeframe {
        String::new()
    } else {
        format!(" (on {} bars)", data.timeframe())
    };
    row.verdict = v.to_string();
    row.state = State::after(v, judged.currently_enabled).to_string();
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
    row.notes.extend(crate::evolution::walk_notes(outcome, data));
    row.in_sample = figures(Some(&w.in_sample));
    row.out_of_sample = figures(oos);
    if let Some(a) = assessment {
        row.in_sample.capital_at_work = a.is_capital_at_work;
        row.out_of_sample.capital_at_work = a.oos_capital_at_work;
        row.passive = a.passive;
    }
    row.deflated_sharpe = dsr.is_finite().then_some(dsr);
    row.pbo = w.pbo;
    row.equity = w.oos_equity.clone();
    row.benchmark = w.benchmark.clone();
    if let Some(seen) = &seen {
        row.notes.extend(night::notes(judged.night, w, evidence.psr_threshold(&research.verdict), seen));
    }
    (row, seen, Some(evidence))
}

/// Why family `name`'s backtest is not point in time, if it is not.
fn outcome_strategy_pit(research: &Research, name: &str) -> Option<&'static str> {
    research.families.iter().find(|f| f.strategy.name() == name).and_then(|f| f.strategy.not_point_in_time())
}

/// The date (UTC, `YYYY-MM-DD`) of bar `t`.
fn date(data: &MarketData, t: usize) -> String {
    data.time(t).to_string().chars().take(10).collect()
}

/// Report figures; all NaN when there are none.
fn figures(f: Option<&Figures>) -> rr::Figures {
    match f {
        Some(f) => rr::Figures {
            sharpe: f.sharpe,
            sortino: f.sortino,
            cagr: f.cagr,
            total_return: f.total_return,
            max_drawdown: f.max_drawdown,
            trades: f.trades,
            win_rate: f.win_rate,
            exposure: f.exposure,
            capital_at_work: f64::NAN,
        },
        None => rr::Figures {
            sharpe: f64::NAN,
            sortino: f64::NAN,
            cagr: f64::NAN,
            total_return: f64::NAN,
            max_drawdown: f64::NAN,
            trades: 0,
            win_rate: f64::NAN,
            exposure: f64::NAN,
            capital_at_work: f64::NAN,
        },
    }
}

/// Best first: families enabled after the run (by `enable`, or `keep` of an enabled family)
/// before the rest, then families that deploy capital before dust (below `gates`' least
/// out-of-sample return or capital at work), then by out-of-sample Sharpe (missing last), then
/// by name. Ranking by the state, not the verdict word, keeps a dust family that stays disabled
/// (`keep`) from ranking above a real one that is disabled.
fn rank(families: &mut [FamilyReport], gates: &Gates) {
    let off = |f: &FamilyReport| !matches!(f.state.as_str(), "enabled" | "unchanged (enabled)");
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

    /// The default nightly ranked a dust family that stays disabled (`keep`, 0.3 % a year) above
    /// a disabled one earning 32.6 % a year: the verdict word ranked, not the state.
    #[test]
    fn dust_never_ranks_above_a_family_that_deploys_capital() {
        let row = |name: &str, verdict: &str, state: &str, sharpe: f64, cagr: f64, at_work: f64| {
            let mut oos = figures(None);
            (oos.sharpe, oos.cagr, oos.capital_at_work) = (sharpe, cagr, at_work);
            FamilyReport {
                family: name.into(),
                run_id: 0,
                verdict: verdict.into(),
                state: state.into(),
                passive: Vec::new(),
                reason: String::new(),
                params: String::new(),
                in_sample: figures(None),
                out_of_sample: oos,
                deflated_sharpe: None,
                pbo: None,
                trials: 0,
                generations: 0,
                stagnation_events: 0,
                equity: Vec::new(),
                benchmark: Vec::new(),
                notes: Vec::new(),
            }
        };
        let mut families = vec![
            row("dust", "keep", "unchanged (disabled)", 0.94, 0.003, 0.02),
            row("real", "disable", "disabled", 1.32, 0.326, 0.95),
            row("weak", "disable", "disabled", 0.50, 0.05, 0.60),
            row("on", "keep", "unchanged (enabled)", 0.40, 0.08, 0.50),
        ];
        rank(&mut families, &Gates::default());
        let order: Vec<&str> = families.iter().map(|f| f.family.as_str()).collect();
        assert_eq!(order, ["on", "real", "weak", "dust"]);
    }

    /// Night 1 enables `a`; night 2 keeps it; night 3 must read it as enabled. Reading the
    /// verdict word (`keep` ≠ `enable`) forgot it.
    #[test]
    fn keep_remembers_an_enabled_family() {
        let night1 = json!({ "verdicts": { "a": "enable", "b": "disable" },
                             "states": states_after(&HashMap::new(), [("a", "enable"), ("b", "disable")]) });
        let after1 = states_from_summary(&night1);
        assert_eq!(after1, HashMap::from([("a".to_string(), true), ("b".to_string(), false)]));
        let night2 = json!({ "verdicts": { "a": "keep", "b": "keep" },
                             "states": states_after(&after1, [("a", "keep"), ("b", "keep")]) });
        let after2 = states_from_summary(&night2);
        assert_eq!(after2, after1, "{night2}");
        // A family not judged tonight (skipped) keeps its state; a new one starts disabled.
        let night3 = states_after(&after2, [("c", "keep")]);
        assert_eq!(night3["a"], "enabled");
        assert_eq!(night3["b"], "disabled");
        assert_eq!(night3["c"], "disabled");
        // A summary from before `states` existed: only the word `enable` reads as enabled.
        let legacy = states_from_summary(&json!({ "verdicts": { "a": "enable", "b": "keep" } }));
        assert_eq!(legacy, HashMap::from([("a".to_string(), true), ("b".to_string(), false)]));
    }
}

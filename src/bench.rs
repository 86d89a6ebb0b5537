//! `tradebot bench truth`: the nightly research judged against ground truth; `tradebot bench
//! scale` (in [`scale`]): its time and memory as the universe grows.
//!
//! Runs the research file on `N` null universes (every planted effect off: a martingale, so
//! every `enable` is a false positive) and `N` planted universes (every effect on), all of
//! distinct seeds, each in its own temporary store and research database, and prints per
//! family the false-enable rate on the null universes, the enable rate (power) on the planted
//! ones, and discovery's pass rate on each. See docs/ground-truth.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use datasets::synth::{Effect, Effects, SynthConfig};
use evolve::db::ResearchDb;
use experiments::research::{self, Research};
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
    /// Research file (default: experiments/nightly.toml, or the built-in copy of it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the result as JSON instead of a table.
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
    /// Per family, in the research file's order.
    pub families: Vec<FamilyTruth>,
    /// Discovery: universes where at least one genome passed every gate.
    pub discovery: Option<(Tally, Tally)>,
    /// Family-enables on null universes over family-runs on them.
    pub false_enable_rate: Option<f64>,
    /// `(universe, family, reason)` of every family that could not run.
    pub skips: Vec<(String, String, String)>,
    /// Wall time of the whole benchmark, seconds.
    pub elapsed_s: f64,
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
        [("null", Effects::NONE, &null_seeds), ("planted", Effects::ALL, &planted_seeds)]
    {
        for &seed in seeds {
            let label = format!("{kind} seed {seed}");
            eprintln!("bench truth: {label} ({} of {})", runs.len() + 1, 2 * args.seeds);
            let config = SynthConfig {
                symbols: args.symbols,
                years: args.years,
                seed,
                effects,
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
    truth.elapsed_s = started.elapsed().as_secs_f64();
    if args.json { crate::emit(&serde_json::to_string_pretty(&truth)?) } else { crate::emit(&table(&truth)) }
}

/// What one research run on one universe decided.
struct UniverseOutcome {
    /// Family → enabled after the run.
    enabled: BTreeMap<String, bool>,
    /// `(family, reason)` of the families that could not run.
    skipped: Vec<(String, String)>,
    /// Whether discovery ran, and whether a genome passed every gate.
    discovery: Option<bool>,
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
    }
    let mut db = ResearchDb::open(&dir.join("research.db"))?;
    // One regime model for every universe: it only feeds the report's regime section.
    let models = root.join("models");
    let outcome = research::run(&research, &store, &models, &mut db, threads, &STOP, |_| {})
        .with_context(|| format!("{label}: research"))?;
    let report = &outcome.report;
    let enabled =
        report.families.iter().map(|f| (f.family.clone(), f.state == research::State::Enabled)).collect();
    let discovery = outcome.discovery.as_ref().map(|d| d.passed().next().is_some());
    drop(db);
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    Ok(UniverseOutcome { enabled, skipped: report.skipped.clone(), discovery })
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
        }
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
        "Ground truth: {} null and {} planted universes ({} stocks + 16 funds and index, {} years); \
         null seeds {}…{}, planted seeds {}…{}; {:.0} s.\n",
        t.seeds,
        t.seeds,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(enabled: &[(&str, bool)], discovery: Option<bool>) -> UniverseOutcome {
        UniverseOutcome {
            enabled: enabled.iter().map(|&(f, on)| (f.to_string(), on)).collect(),
            skipped: Vec::new(),
            discovery,
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
                Effects::ALL,
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
    }
}

//! `tradebot discover` (GP strategy discovery from a discovery file, or resume a stopped run),
//! `tradebot candidates list|show`, `tradebot promote ID` (or `--strategy-file F`) and
//! `tradebot demote ID`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use datasets::Timestamp;
use evolve::db::{CandidateRecord, ResearchDb};
use evolve::run::Ending;
use experiments::Discovery;
use experiments::discover::{self, Candidate, DataRef, DiscoverOutcome, DiscoverSpec};
use kernel::sim::TradeRules;
use kernel::strategy::{Params, Strategy as _};
use promoted::{PromotedDir, PromotedSet, PromotedStrategy};
use serde_json::json;

use crate::evolve::{STOP, install_stop_handler};
use crate::progress::GenerationBar;

/// Default directory of the promoted set.
pub const DEFAULT_PROMOTED: &str = "data/promoted";

/// Arguments of `tradebot discover`.
#[derive(Args)]
pub struct DiscoverArgs {
    /// Discovery file with a `[discover]` section, e.g. experiments/discover_goog.toml.
    /// Optional with `--resume`: the run's stored copy is used, its paths resolved against the
    /// file's directory as recorded; resuming refuses when the file changed since.
    config: Option<PathBuf>,
    /// Continue a stopped or crashed discovery run from its last checkpoint.
    #[arg(long, value_name = "RUN_ID")]
    resume: Option<i64>,
    /// Override the seed of `[evolve]`.
    #[arg(long, conflicts_with = "resume")]
    seed: Option<u64>,
    /// Worker threads (default: all cores). Results are identical for any count.
    #[arg(long)]
    threads: Option<usize>,
    /// Print the outcome as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Research database (SQLite) the run and its candidates are recorded in.
    #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
    db: PathBuf,
    /// Stop cleanly after this many generations, as Ctrl-C would (for tests and demos).
    #[arg(long, hide = true)]
    stop_after: Option<u32>,
    #[command(flatten)]
    cluster: crate::worker::NatsArgs,
}

/// Runs `tradebot discover`.
pub fn run(args: DiscoverArgs) -> Result<()> {
    let mut db = ResearchDb::open(&args.db)?;
    let mut discovery = match (args.resume, &args.config) {
        (Some(id), config) => {
            let stored =
                db.run(id)?.with_context(|| format!("there is no run {id} in {}", args.db.display()))?;
            let resumed = crate::resume::resume("discover", id, &stored.config, config.as_deref())?;
            let mut d = Discovery::parse(&resumed.body, &resumed.name, &resumed.base)?;
            // The run's provenance hashes the text it stored.
            d.text = stored.config;
            d.ga.seed = stored.seed;
            d
        }
        (None, Some(path)) => {
            let mut d = Discovery::load(path)?;
            d.text = crate::resume::stored_text(path, &d.text)?;
            d
        }
        (None, None) => bail!("give a discovery file, or --resume RUN_ID"),
    };
    if let Some(seed) = args.seed {
        discovery.ga.seed = seed;
    }
    let bars = experiments::data::load(&discovery.data)
        .with_context(|| format!("{}: loading [data]", discovery.name))?;
    let farm = crate::worker::farm_for(&args.cluster, discovery.cluster.as_ref(), &discovery.data)?;
    let spec = DiscoverSpec {
        name: &discovery.name,
        settings: discovery.settings.clone(),
        ga: discovery.ga.clone(),
        fitness: discovery.fitness,
        in_sample: discovery.in_sample,
        rules: discovery.rules,
        cash: discovery.cash,
        data: DataRef::of(&discovery.data),
        config_text: &discovery.text,
        parent: None,
        farm: farm.as_ref().map(|f| f as &dyn evolve::problem::StrategyFarm),
    };
    install_stop_handler();
    let bar = GenerationBar::new(&discovery.name, spec.ga.generations, args.json);
    let threads = match args.threads {
        Some(n) => experiments::config::limits::check_threads(n)?,
        None => rayon::current_num_threads(),
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    // An error or a panic marks the runs it leaves running as failed, with its message.
    let outcome = pool.install(|| {
        db.record_failures(|db| {
            discover::discover(&spec, &bars, db, args.resume, &STOP, |report| {
                bar.update(report);
                if args.stop_after.is_some_and(|n| report.generation + 1 >= n) {
                    STOP.store(true, Ordering::SeqCst);
                }
            })
        })
    })?;
    bar.finish();
    crate::worker::report(farm.as_ref());
    if args.json {
        crate::emit(&serde_json::to_string_pretty(&outcome_json(&outcome, threads))?)
    } else {
        crate::emit(&outcome_text(&outcome, &spec, threads, &args.db))
    }
}

fn outcome_json(o: &DiscoverOutcome, threads: usize) -> serde_json::Value {
    json!({
        "run_id": o.run_id,
        "status": match o.ending { Ending::Finished => "finished", Ending::Stopped => "stopped" },
        "generations": o.generations,
        "trials": o.trials,
        "in_sample_bars": o.stages.0.len(),
        "out_of_sample_bars": o.stages.1.len(),
        "threads": threads,
        "evaluations": o.timing.evaluations,
        "seconds": o.timing.total.as_secs_f64(),
        "sharing": o.sharing.rate(),
        "novelty_archive": o.archive,
        "novelty_cost": o.novelty_cost(),
        "generation_costs": o.costs,
        "candidates": o.candidates,
        "passed": o.passed().filter_map(|c| c.id).collect::<Vec<_>>(),
    })
}

fn outcome_text(o: &DiscoverOutcome, spec: &DiscoverSpec<'_>, threads: usize, db: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "discovery run #{}: {} generations, {} distinct genomes evaluated; {} new evaluations in {:.2} s on {threads} threads ({:.0}/s); structural sharing {:.1} %",
        o.run_id,
        o.generations,
        o.trials,
        o.timing.evaluations,
        o.timing.total.as_secs_f64(),
        o.timing.evaluations as f64 / o.timing.total.as_secs_f64().max(1e-9),
        o.sharing.rate() * 100.0
    );
    if let (Some(first), Some(last)) = (o.archive.first(), o.archive.last()) {
        let _ = writeln!(
            out,
            "novelty archive: {} → {} behaviours, mean pairwise distance {:.3} → {:.3}",
            first.size, last.size, first.mean_pairwise_distance, last.mean_pairwise_distance
        );
    }
    if let Some(cost) = o.novelty_cost() {
        let _ = writeln!(
            out,
            "novelty cost: {:.1} % of the generations' wall time (median generation {:.1} %; {:.1} % of the evaluations'); descriptor {:.2} µs (mean), scoring {:.2} ms a generation (median)",
            cost.share * 100.0,
            cost.median_share * 100.0,
            cost.of_evaluating * 100.0,
            cost.descriptor_us,
            cost.median_scoring_ms
        );
    }
    if o.ending == Ending::Stopped {
        let _ = writeln!(out, "stopped; continue with: {}", crate::resume::hint("discover", o.run_id, db));
        return out;
    }
    let _ = writeln!(
        out,
        "in-sample {} bars, out-of-sample {} bars; only the in-sample best of {} hall-of-fame genomes \
         tested out of sample; {} passed the gates",
        o.stages.0.len(),
        o.stages.1.len(),
        o.candidates.len(),
        o.passed().count()
    );
    for c in &o.candidates {
        out.push_str(&candidate_line(c));
    }
    if o.passed().next().is_some() {
        let _ = write!(
            out,
            "candidate files in {}; promote with: tradebot promote ID",
            spec.settings.candidates.display()
        );
    }
    out
}

/// One candidate: verdict, id, figures and the failed gates.
fn candidate_line(c: &Candidate) -> String {
    let verdict = match c.id {
        Some(id) => format!("PASS #{id}"),
        None => "fail".to_string(),
    };
    let oos = c.out_of_sample.as_ref();
    let failed: Vec<&str> = c.gates.iter().filter(|g| !g.passed).map(|g| g.detail.as_str()).collect();
    format!(
        "  {verdict:<9} IS Sharpe {:>6.2}  OOS Sharpe {:>6} trades {:>4}  DSR {:.3}  {}\n            {}\n",
        c.in_sample.figures.sharpe,
        oos.map_or("–".into(), |f| format!("{:.2}", f.figures.sharpe)),
        oos.map_or(0, |f| f.figures.trades),
        c.deflated_sharpe,
        if failed.is_empty() { String::new() } else { format!("failed: {}", failed.join("; ")) },
        c.genome
    )
}

/// `tradebot candidates …`.
#[derive(Subcommand)]
pub enum CandidatesCommand {
    /// The discovered strategies that passed their gates, newest first.
    List {
        /// Rows shown.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Research database.
        #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
        db: PathBuf,
    },
    /// One candidate: its genome, lineage, in- and out-of-sample figures and gates.
    Show {
        /// Candidate id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Research database.
        #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
        db: PathBuf,
    },
}

/// Runs `tradebot candidates …`.
pub fn candidates(command: CandidatesCommand) -> Result<()> {
    match command {
        CandidatesCommand::List { limit, json, db } => {
            let rows = ResearchDb::open(&db)?.candidates(limit)?;
            if json {
                let rows: Vec<_> = rows.iter().map(record_json).collect();
                return crate::emit(&serde_json::to_string_pretty(&rows)?);
            }
            let mut out = format!(
                "{:>5} {:>5} {:<18} {:>4} {:>8} {:>8} {:>6} {:>6} {:<10}  genome\n",
                "id", "run", "name", "gen", "IS shrp", "OOS shrp", "DSR", "corr", "promoted"
            );
            for r in &rows {
                let sharpe = |text: &str| {
                    serde_json::from_str::<serde_json::Value>(text)
                        .ok()
                        .and_then(|v| v.get("sharpe").and_then(|s| s.as_f64()))
                        .map_or("–".into(), |s| format!("{s:.2}"))
                };
                let _ = writeln!(
                    out,
                    "{:>5} {:>5} {:<18} {:>4} {:>8} {:>8} {:>6} {:>6} {:<10}  {}",
                    r.id,
                    r.run_id,
                    r.name,
                    r.generation,
                    sharpe(&r.in_sample),
                    sharpe(&r.out_of_sample),
                    r.deflated_sharpe.map_or("–".into(), |d| format!("{d:.3}")),
                    r.max_correlation.map_or("–".into(), |c| format!("{c:.2}")),
                    r.promoted_id.as_deref().unwrap_or("-"),
                    r.genome
                );
            }
            crate::emit(&out)
        }
        CandidatesCommand::Show { id, json, db } => {
            let db = ResearchDb::open(&db)?;
            let (rec, file) = discover::load(&db, id)?;
            if json {
                let mut value = record_json(&rec);
                value["file_contents"] = serde_json::to_value(&file)?;
                return crate::emit(&serde_json::to_string_pretty(&value)?);
            }
            let promoted =
                rec.promoted_id.as_deref().map_or("not promoted".into(), |p| format!("promoted as `{p}`"));
            let mut out = discover::readable(&file);
            let _ = writeln!(
                out,
                "; recorded {}; {promoted}; file {}",
                Timestamp(rec.created_ns),
                rec.file.unwrap_or_default()
            );
            crate::emit(&out)
        }
    }
}

fn record_json(r: &CandidateRecord) -> serde_json::Value {
    let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap_or(serde_json::Value::Null);
    json!({
        "id": r.id, "run_id": r.run_id, "name": r.name, "key": format!("{:016x}", r.key), "genome": r.genome,
        "generation": r.generation, "parents": parse(&r.parents), "fitness": r.fitness,
        "in_sample": parse(&r.in_sample), "out_of_sample": parse(&r.out_of_sample),
        "deflated_sharpe": r.deflated_sharpe, "max_correlation": r.max_correlation, "gates": parse(&r.gates),
        "file": r.file, "created": Timestamp(r.created_ns).to_string(), "promoted_id": r.promoted_id,
    })
}

/// Where `tradebot promote` and `demote` find the promoted set and the research database.
#[derive(Args)]
pub struct SetArgs {
    /// Directory of the promoted set the live bridge loads.
    #[arg(long, env = "TRADEBOT_PROMOTED", default_value = DEFAULT_PROMOTED)]
    promoted: PathBuf,
    /// Research database.
    #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
    db: PathBuf,
}

/// Arguments of `tradebot promote`: a discovery candidate, a strategy file or a research family.
#[derive(Args)]
pub struct PromoteArgs {
    /// Candidate id (see `tradebot candidates list`); or `--strategy-file`, or `--family`.
    #[arg(required_unless_present_any = ["strategy_file", "family"], conflicts_with_all = ["strategy_file", "family"])]
    id: Option<i64>,
    /// A family of the research file to promote instead of a candidate, at the parameters its
    /// newest finished research run validated, with its backtest on that run's universe (a
    /// strategy-file family is stored with its text, hash and parameter values).
    #[arg(long, conflicts_with = "strategy_file")]
    family: Option<String>,
    /// The research file of `--family` (default: experiments/nightly.toml, or the built-in copy).
    #[arg(long, requires = "family")]
    research: Option<PathBuf>,
    /// The bar store `--family`'s research ran on.
    #[arg(long, env = "TRADEBOT_STORE", default_value = crate::data::DEFAULT_STORE)]
    store: PathBuf,
    /// Share of the account the strategy may use.
    #[arg(long, default_value_t = 0.1)]
    allocation: f64,
    /// A strategy file (`*.tbs`, one `(strategy …)` form) to promote instead of a candidate:
    /// the set stores its text and content hash, and its backtest on `--data`.
    #[arg(long, requires = "data")]
    strategy_file: Option<PathBuf>,
    /// A strategy file's parameter as `name=value` (repeatable); others keep their defaults.
    /// The set stores every parameter's value with the file.
    #[arg(long = "param", value_delimiter = ',', requires = "strategy_file")]
    params: Vec<String>,
    /// The bars a strategy file's backtest is recorded on and that it trades: `sample:GOOG`, a
    /// bar file, or a store with `--symbol` (as for `tradebot backtest`).
    #[arg(long)]
    data: Option<String>,
    /// Symbol(s) of a store (repeatable or comma-separated; `all` for every one).
    #[arg(long, value_delimiter = ',')]
    symbol: Vec<String>,
    /// Bar timeframe to read from a store.
    #[arg(long, default_value = "1Day")]
    timeframe: String,
    /// Starting cash of a strategy file's recorded backtest.
    #[arg(long, default_value_t = 10_000.0)]
    cash: f64,
    /// Id of a promoted strategy file (default: the file's name, e.g. `mean_reversion`).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    set: SetArgs,
}

/// Arguments of `tradebot demote`.
#[derive(Args)]
pub struct DemoteArgs {
    /// Candidate id (see `tradebot candidates list`).
    id: i64,
    #[command(flatten)]
    set: SetArgs,
}

/// Runs `tradebot promote ID` (records the candidate's backtest on its bars), `tradebot
/// promote --strategy-file F --data D` (records the file's backtest on `D`) or `tradebot
/// promote --family NAME` (records the research family's backtest on its research universe),
/// and writes a new version of the promoted set with it.
pub fn promote(args: PromoteArgs) -> Result<()> {
    let dir = PromotedDir::new(&args.set.promoted);
    let before = dir.current()?.map(|s| s.version);
    let (what, strategy, set) = match (&args.strategy_file, &args.family, args.id) {
        (Some(path), ..) => {
            let (strategy, set) = promote_file(&args, path, &dir)?;
            (format!("strategy file {}", path.display()), strategy, set)
        }
        (None, Some(family), _) => {
            let research = crate::research::load_research(args.research.as_deref())?;
            let db = ResearchDb::open(&args.set.db)?;
            let strategy =
                experiments::research::promote_family(&research, family, &args.store, &db, args.allocation)?;
            let set = dir.promote(strategy.clone(), evolve::run::now_ns())?;
            (format!("research family {family}"), strategy, set)
        }
        (None, None, Some(id)) => {
            let mut db = ResearchDb::open(&args.set.db)?;
            let (strategy, set) = discover::promote(&mut db, &dir, id, args.allocation)?;
            (format!("candidate {id}"), strategy, set)
        }
        (None, None, None) => bail!("name a candidate id, a --strategy-file or a --family to promote"),
    };
    if before == Some(set.version) {
        return crate::emit(&format!(
            "{what} is already promoted as `{}` (allocation {}): the promoted set is unchanged (v{})",
            strategy.id, strategy.allocation, set.version
        ));
    }
    let recorded = strategy.recorded.as_ref().expect("promotion records the backtest");
    crate::emit(&format!(
        "promoted {what} as `{}` (allocation {}): version {} of {} holds {} strategies\nrecorded backtest: {} bars, {} trades, final equity {:.2}, Sharpe {:.2}",
        strategy.id,
        strategy.allocation,
        set.version,
        dir.root().display(),
        set.strategies.len(),
        recorded.bars,
        recorded.figures.trades,
        recorded.figures.final_equity,
        recorded.figures.sharpe
    ))
}

/// The strategy file at `path` on `--data`, its backtest recorded, committed to `dir`.
fn promote_file(
    args: &PromoteArgs,
    path: &Path,
    dir: &PromotedDir,
) -> Result<(PromotedStrategy, PromotedSet)> {
    let file = gp::FileStrategy::load(path)?;
    let params = Params::parse(file.space(), args.params.iter().map(String::as_str))
        .with_context(|| format!("--param for {}", path.display()))?;
    let source = args.data.as_deref().context("--strategy-file needs --data")?;
    let data = crate::backtest::load(source, &args.symbol, args.timeframe.parse()?, None)?;
    let id = match &args.name {
        Some(name) => name.clone(),
        None => path.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default(),
    };
    let from = format!("strategy file {}", path.display());
    let mut strategy =
        PromotedStrategy::file(id, file, &params, &data, TradeRules::default(), args.allocation, &from)?;
    strategy.record(&data, args.cash)?;
    strategy.check()?;
    let set = dir.promote(strategy.clone(), evolve::run::now_ns())?;
    Ok((strategy, set))
}

/// Runs `tradebot demote ID`: writes a new version of the promoted set without it.
pub fn demote(args: DemoteArgs) -> Result<()> {
    let mut db = ResearchDb::open(&args.set.db)?;
    let dir = PromotedDir::new(&args.set.promoted);
    let set = discover::demote(&mut db, &dir, args.id)?;
    crate::emit(&format!(
        "demoted candidate {}: version {} of {} holds {} strategies",
        args.id,
        set.version,
        dir.root().display(),
        set.strategies.len()
    ))
}

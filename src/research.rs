//! `tradebot research`: the main job. Makes sure the store exists (building the default
//! research data on first use) and verifies it, then evolves every enabled family of the
//! research file, validates each out of sample, prints the ranked report and writes it as
//! Markdown, HTML (with equity curves) and JSON.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use datasets::store::{Store, StoreError};
use evolve::db::ResearchDb;
use experiments::research::{self, Progress, Research};
use experiments::research_report::to_markdown;

use crate::data;
use crate::evolve::{STOP, install_stop_handler};
use crate::progress::GenerationBar;
use crate::service::note;

/// The research file used when none is given and `experiments/nightly.toml` is not in the
/// working directory: the copy built into the binary.
const NIGHTLY: &str = include_str!("../experiments/nightly.toml");

/// Where the research file is looked for first.
const NIGHTLY_PATH: &str = "experiments/nightly.toml";

/// Arguments of `tradebot research`.
#[derive(Args)]
pub struct ResearchArgs {
    /// Research file (default: experiments/nightly.toml, or the built-in copy of it).
    config: Option<PathBuf>,
    /// Bar store directory (built with the default research data when missing).
    #[arg(long, env = "TRADEBOT_STORE", default_value = data::DEFAULT_STORE)]
    store: PathBuf,
    /// Research database (SQLite).
    #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
    db: PathBuf,
    /// Directory of the versioned regime models (the report's market-regime section; a model
    /// is trained and saved there when there is none).
    #[arg(long, env = "TRADEBOT_REGIME_MODELS", default_value = regimes::persist::DEFAULT_DIR)]
    models: PathBuf,
    /// Worker threads (default: all cores). Results are identical for any count.
    #[arg(long)]
    threads: Option<usize>,
    /// Report files' path without extension (default: `[research] report`, else results/NAME).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    cluster: crate::worker::NatsArgs,
}

/// The research file at `config`, else experiments/nightly.toml in the working directory, else
/// the built-in copy of it.
pub fn load_research(config: Option<&Path>) -> Result<Research> {
    Ok(match config {
        Some(path) => Research::load(path)?,
        None if Path::new(NIGHTLY_PATH).exists() => Research::load(Path::new(NIGHTLY_PATH))?,
        // Its paths resolve as the file's would in experiments/.
        None => Research::parse(NIGHTLY, "built-in experiments/nightly.toml", Path::new("experiments"))?,
    })
}

/// Runs the research job.
pub fn run(args: ResearchArgs) -> Result<()> {
    let research = load_research(args.config.as_deref())?;
    prepare_store(&args.store)?;
    install_stop_handler();
    // Held for the run: `tradebot db restore` refuses to replace the database meanwhile.
    let _lock = ops::lock::DbLock::shared(&args.db)?;
    let mut db = ResearchDb::open(&args.db)?;
    let threads = match args.threads {
        Some(n) => experiments::config::limits::check_threads(n)?,
        None => rayon::current_num_threads(),
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let farm = crate::worker::farm(&args.cluster, research.cluster.as_ref(), Some(&args.store))?;
    let mut bar = GenerationBar::new("", research.ga.generations, args.json);
    // An error or a panic marks the runs it leaves running as failed, with its message.
    let outcome = pool.install(|| {
        db.record_failures(|db| {
            let farm = farm.as_ref().map(|f| f as &dyn evolve::problem::StrategyFarm);
            research::run(&research, &args.store, &args.models, db, threads, &STOP, farm, |p| match p {
                Progress::Family(k, n, name) => {
                    tracing::info!("family {}/{n}: {name}", k + 1);
                    bar.restart(&format!("[{}/{n}] {name}", k + 1), research.ga.generations)
                }
                Progress::Generation(g) => bar.update(g),
                Progress::Discovery(generations) => bar.restart("discovery (gp)", generations),
                Progress::DiscoveryGeneration(g) => bar.update(g),
            })
        })
    })?;
    bar.finish();
    crate::worker::report(farm.as_ref());
    let base = args
        .report
        .or_else(|| research.report.clone())
        .unwrap_or_else(|| PathBuf::from(format!("results/{}", research.name)));
    let written = research::write_report(&outcome.report, &base)
        .with_context(|| format!("writing the report next to {}", base.display()))?;
    if args.json {
        crate::emit(&serde_json::to_string_pretty(&outcome.report)?)?;
    } else {
        crate::emit(&to_markdown(&outcome.report))?;
    }
    let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    note(&format!(
        "research run #{} recorded in {}; report: {}",
        outcome.run_id,
        args.db.display(),
        files.join(", ")
    ));
    let t = &outcome.timing;
    let (ga, eval) = (t.total.as_secs_f64(), t.evaluating.as_secs_f64());
    note(&format!(
        "{} evaluations; GA runs {ga:.2} s, of which evaluating {eval:.2} s: GA overhead {:.1} % (checkpoints {:.2} s)",
        t.evaluations,
        if eval > 0.0 { (ga - eval) / eval * 100.0 } else { 0.0 },
        t.recording.as_secs_f64()
    ));
    if let Some(d) = &outcome.discovery {
        note(&format!(
            "discovery run #{}: {} genomes evaluated; {}",
            d.run_id,
            d.trials,
            d.tested_sentence()
        ));
    }
    if outcome.stopped {
        note("stopped early: the interrupted family's run can be resumed with `tradebot evolve --resume ID`");
    }
    Ok(())
}

/// Builds the default store when there is none, else re-hashes every file against the manifest.
fn prepare_store(store: &Path) -> Result<()> {
    match Store::open(store) {
        Err(StoreError::NotAStore(_)) => {
            note(&format!("No store at {}: building the default research data.", store.display()));
            data::generate_default(store)
        }
        Err(e) => Err(e.into()),
        Ok(opened) => {
            let report = opened.verify().with_context(|| format!("verifying {}", store.display()))?;
            for file in &report.unaccounted {
                note(&format!(
                    "warning: {}: not in the store's manifest (see `tradebot data verify`)",
                    file.display()
                ));
            }
            note(&format!("{}: verified ({} bars re-checked)", store.display(), report.bars));
            Ok(())
        }
    }
}

//! `tradebot evolve`: evolve one strategy's parameters from an experiment file (or resume a
//! stopped run), validate the winner out of sample and print in-sample next to out-of-sample.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::Args;
use evolve::db::ResearchDb;
use evolve::problem::Evaluation;
use evolve::run::Ending;
use experiments::evolution::{EvolveSpec, Outcome, evolve};
use experiments::{Experiment, data};
use serde_json::json;

use crate::progress::GenerationBar;
use crate::resume;

/// Arguments of `tradebot evolve`.
#[derive(Args)]
pub struct EvolveArgs {
    /// Experiment file with an `[evolve]` section, e.g. experiments/mean_reversion_goog_evolve.toml.
    /// Optional with `--resume`: the run's stored copy is used, its paths resolved against the
    /// file's directory as recorded; resuming refuses when the file changed since.
    config: Option<PathBuf>,
    /// Continue a stopped or crashed run from its last checkpoint.
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
    /// Research database (SQLite) the run is recorded in.
    #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
    db: PathBuf,
    /// Stop cleanly after this many generations, as Ctrl-C would (for tests and demos).
    #[arg(long, hide = true)]
    stop_after: Option<u32>,
    #[command(flatten)]
    cluster: crate::worker::NatsArgs,
}

/// Set by Ctrl-C / SIGTERM: finish the current generation, checkpoint, stop.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C / SIGTERM handler: the first signal asks for a clean stop after the
/// current generation, a second one exits at once (the last checkpoint is still intact).
pub fn install_stop_handler() {
    let result = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the current generation (press Ctrl-C again to abort now)");
    });
    if let Err(e) = result {
        eprintln!("warning: no Ctrl-C handler ({e}); an interrupt will kill the run at its last checkpoint");
    }
}

/// Runs `tradebot evolve`.
pub fn run(args: EvolveArgs) -> Result<()> {
    // Held for the run: `tradebot db restore` refuses to replace the database meanwhile.
    let _lock = ops::lock::DbLock::shared(&args.db)?;
    let mut db = ResearchDb::open(&args.db)?;
    let (exp, seed) = match (args.resume, &args.config) {
        (Some(id), config) => {
            let stored =
                db.run(id)?.with_context(|| format!("there is no run {id} in {}", args.db.display()))?;
            let resumed = resume::resume("evolve", id, &stored.config, config.as_deref())?;
            let mut exp = Experiment::parse(&resumed.body, &resumed.name, &resumed.base)?;
            // The run's provenance hashes the text it stored.
            exp.text = stored.config;
            (exp, stored.seed)
        }
        (None, Some(path)) => {
            let mut exp = crate::sweep::load_experiment(path)?;
            exp.text = resume::stored_text(path, &exp.text)?;
            let seed = match (&exp.evolution, args.seed) {
                (_, Some(seed)) => seed,
                (Some(e), None) => e.ga.seed,
                (None, None) => 0,
            };
            (exp, seed)
        }
        (None, None) => bail!("give an experiment file, or --resume RUN_ID"),
    };
    let Some(evolution) = &exp.evolution else {
        bail!("{}: no [evolve] section (a sweep file? run it with `tradebot sweep`)", exp.name)
    };
    let bars = data::load(&exp.data).with_context(|| format!("{}: loading [data]", exp.name))?;
    let mut ga = evolution.ga.clone();
    ga.seed = seed;
    let farm = crate::worker::farm_for(&args.cluster, exp.cluster.as_ref(), &exp.data)?;
    let spec = EvolveSpec {
        name: &exp.name,
        strategy: exp.strategy,
        genes: evolution.genes.clone(),
        ga,
        fitness: evolution.fitness,
        validation: evolution.validation,
        rules: exp.rules,
        cash: exp.cash,
        config_text: &exp.text,
        parent: None,
        farm: farm.as_ref().map(|f| f as &dyn evolve::problem::StrategyFarm),
    };
    install_stop_handler();
    let bar = GenerationBar::new(&exp.name, spec.ga.generations, args.json);
    let stop_after = args.stop_after;
    let threads = match args.threads {
        Some(n) => experiments::config::limits::check_threads(n)?,
        None => rayon::current_num_threads(),
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    // An error or a panic marks the runs it leaves running as failed, with its message.
    let outcome = pool.install(|| {
        db.record_failures(|db| {
            evolve(&spec, &bars, db, args.resume, &STOP, |report| {
                bar.update(report);
                if stop_after.is_some_and(|n| report.generation + 1 >= n) {
                    STOP.store(true, Ordering::SeqCst);
                }
            })
        })
    })?;
    bar.finish();
    crate::worker::report(farm.as_ref());
    if args.json {
        crate::emit(&serde_json::to_string_pretty(&outcome_json(&spec, &outcome, threads))?)
    } else {
        crate::emit(&outcome_text(&spec, &outcome, &args.db, threads))
    }
}

/// Everything about the outcome, for scripts.
fn outcome_json(spec: &EvolveSpec<'_>, o: &Outcome, threads: usize) -> serde_json::Value {
    json!({
        "run_id": o.run_id,
        "strategy": spec.strategy.name(),
        "status": match o.ending { Ending::Finished => "finished", Ending::Stopped => "stopped" },
        "generations": o.generations,
        "trials": o.trials,
        "stagnation_events": o.stagnation_events,
        "in_sample_bars": o.stages.0.len(),
        "out_of_sample_bars": o.stages.1.len(),
        "threads": threads,
        "evaluations": o.timing.evaluations,
        "seconds": o.timing.total.as_secs_f64(),
        "evals_per_s": evals_per_s(o),
        "ga_overhead": overhead(o),
        "winner": o.winner,
        "folds": o.folds,
    })
}

fn evals_per_s(o: &Outcome) -> f64 {
    o.timing.evaluations as f64 / o.timing.total.as_secs_f64().max(1e-9)
}

/// Time outside the evaluations, as a share of the evaluations' time.
fn overhead(o: &Outcome) -> f64 {
    let eval = o.timing.evaluating.as_secs_f64();
    if eval > 0.0 { (o.timing.total.as_secs_f64() - eval) / eval } else { 0.0 }
}

/// A line of the in-sample / out-of-sample table: its label and how to show a figure.
type Row = (&'static str, fn(&Evaluation) -> String);

/// The outcome as a short report: the winner's parameters, in-sample next to out-of-sample.
fn outcome_text(spec: &EvolveSpec<'_>, o: &Outcome, db: &Path, threads: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run #{} {}: {} generations, {} distinct genomes evaluated ({} stagnation events)",
        o.run_id,
        spec.strategy.name(),
        o.generations,
        o.trials,
        o.stagnation_events
    );
    let _ = writeln!(
        out,
        "{} new evaluations in {:.2} s on {threads} threads: {:.0} evals/s, GA overhead {:.1} %",
        o.timing.evaluations,
        o.timing.total.as_secs_f64(),
        evals_per_s(o),
        overhead(o) * 100.0
    );
    if o.ending == Ending::Stopped {
        let _ = writeln!(out, "stopped; continue with: {}", resume::hint("evolve", o.run_id, db));
        return out;
    }
    let Some(w) = &o.winner else {
        let _ = writeln!(out, "no parameter set had a finite fitness");
        return out;
    };
    for (k, f) in o.folds.iter().enumerate() {
        let sharpe = |x: Option<&Evaluation>| x.map_or("–".into(), |f| format!("{:.2}", f.figures.sharpe));
        let fw = f.winner.as_ref();
        let _ = writeln!(
            out,
            "fold {}: train bars {}..{} test {}..{}: IS Sharpe {} OOS Sharpe {}  {}",
            k + 1,
            f.train.start,
            f.train.end,
            f.test.start,
            f.test.end,
            sharpe(fw.map(|w| &w.in_sample)),
            sharpe(fw.and_then(|w| w.out_of_sample.as_ref())),
            fw.map_or(String::new(), |w| format!("{:.4}", w.params))
        );
    }
    if !o.folds.is_empty() {
        let _ = writeln!(
            out,
            "walk-forward: params refit on the final window; out of sample = every fold's test window \
             chained; DSR over the trials of every fold"
        );
    }
    let _ = writeln!(out, "winner ({}): {:.4}  (fitness {:.4})", w.selection, w.params, w.fitness);
    let _ = writeln!(out, "{:<16} {:>12} {:>14}", "", "in-sample", "out-of-sample");
    let (is_bars, oos_bars) = (o.stages.0.len(), o.stages.1.len());
    let _ = writeln!(out, "{:<16} {is_bars:>12} {oos_bars:>14}", "bars");
    let rows: [Row; 6] = [
        ("sharpe", |f| format!("{:.2}", f.figures.sharpe)),
        ("sortino", |f| format!("{:.2}", f.figures.sortino)),
        ("cagr", |f| format!("{:.1} %", f.figures.cagr * 100.0)),
        ("total return", |f| format!("{:.1} %", f.figures.total_return * 100.0)),
        ("max drawdown", |f| format!("{:.1} %", f.figures.max_drawdown * 100.0)),
        ("trades", |f| f.figures.trades.to_string()),
    ];
    for (name, show) in rows {
        let (is, oos) = (show(&w.in_sample), w.out_of_sample.as_ref().map_or("–".into(), show));
        let _ = writeln!(out, "{name:<16} {is:>12} {oos:>14}");
    }
    let pbo = w.pbo.map_or("–".into(), |p| format!("{p:.2}"));
    let _ = writeln!(
        out,
        "deflated Sharpe {:.3} over {} trials (null Sharpe variance 1/T = {:.2e}); PBO {pbo}",
        w.deflated_sharpe, o.trials, w.sharpe_variance
    );
    let _ = write!(out, "recorded in {} (tradebot runs show {})", db.display(), o.run_id);
    out
}

//! `tradebot sweep`: load an experiment file, run its sweep, print and store the ranked results.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use evolve::db::ResearchDb;
use evolve::run::now_ns;
use experiments::{Experiment, data, report, run};
use indicatif::{ProgressBar, ProgressStyle};

use crate::worker::NatsArgs;

/// Reads the experiment file at `path`; a discovery file (one with `[discover]`) is refused
/// with the command that runs it.
pub fn load_experiment(path: &Path) -> Result<Experiment> {
    Experiment::load(path).map_err(|e| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let discovery = toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("discover"));
        if discovery {
            anyhow::anyhow!(
                "{} is a discovery file (it has [discover]): run it with `tradebot discover {}`",
                path.display(),
                path.display()
            )
        } else {
            e.into()
        }
    })
}

/// Runs the sweep described by `config` with `threads` workers (its backtests farmed out to the
/// workers of `cluster`'s server when given), records it in the research database at `db`,
/// writes the configured CSV/JSON files and prints the top rows (as JSON with `json`).
pub fn run(config: &Path, db: &Path, threads: Option<usize>, json: bool, cluster: &NatsArgs) -> Result<()> {
    let exp = load_experiment(config)?;
    let bars = data::load(&exp.data).with_context(|| format!("{}: loading [data]", config.display()))?;
    let farm = crate::worker::farm_for(cluster, exp.cluster.as_ref(), &exp.data)?;
    let started = now_ns();
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} combinations ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(exp.name.clone());
    let furthest = AtomicUsize::new(0);
    let farmed = farm.as_ref().map(|f| f as &dyn evolve::problem::StrategyFarm);
    let outcome = run::run(&exp, &bars, threads, farmed, |done, total| {
        bar.set_length(total as u64);
        let max = furthest.fetch_max(done, Ordering::Relaxed).max(done);
        bar.set_position(max as u64);
    })?;
    bar.finish_and_clear();
    crate::worker::report(farm.as_ref());
    let finished = now_ns();

    let (sweep, rows) = report::records(&exp, &outcome, data::data_hash(&bars), started, finished);
    let id = ResearchDb::open(db)?.record_sweep(&sweep, &rows)?;
    if let Some(path) = &exp.output.csv {
        report::write_file(path, &report::to_csv(&exp, &outcome))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &exp.output.json {
        let text = serde_json::to_string_pretty(&report::to_json(&exp, &outcome, outcome.rows.iter()))?;
        report::write_file(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        let mut value = report::to_json(&exp, &outcome, report::top(&outcome, exp.output.top));
        value["sweep_id"] = id.into();
        crate::emit(&serde_json::to_string_pretty(&value)?)
    } else {
        let seconds = (finished - started) as f64 * 1e-9;
        crate::emit(&format!(
            "{}\nsweep #{id} recorded in {} ({seconds:.3} s)",
            report::table(&outcome, exp.output.top),
            db.display()
        ))
    }
}

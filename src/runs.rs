//! `tradebot runs list | show RUN_ID`: the research database's GA runs.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use datasets::Timestamp;
use evolve::db::{GenerationRecord, ResearchDb, RunRecord};
use serde_json::json;

/// The `runs` subcommands.
#[derive(Subcommand)]
pub enum RunsCommand {
    /// The latest runs, newest first.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Research database.
        #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
        db: PathBuf,
    },
    /// One run: its generations, events, best genomes and validation summary.
    Show {
        /// The run's id.
        id: i64,
        /// Best genomes listed.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Research database.
        #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
        db: PathBuf,
    },
}

/// Runs a `runs` subcommand.
pub fn run(command: RunsCommand) -> Result<()> {
    match command {
        RunsCommand::List { limit, json, db } => list(&ResearchDb::open(&db)?, limit, json),
        RunsCommand::Show { id, top, json, db } => show(&ResearchDb::open(&db)?, id, top, json),
    }
}

fn list(db: &ResearchDb, limit: usize, as_json: bool) -> Result<()> {
    let runs = db.runs(limit)?;
    if as_json {
        let rows: Vec<_> = runs.iter().map(run_json).collect();
        return crate::emit(&serde_json::to_string_pretty(&rows)?);
    }
    let mut out = format!(
        "{:>5} {:<8} {:>6} {:<18} {:<26} {:<11} {:>5} {:>7} {:>9}  started\n",
        "id", "kind", "parent", "name", "strategy", "status", "gens", "evals", "best"
    );
    for r in &runs {
        let _ = writeln!(
            out,
            "{:>5} {:<8} {:>6} {:<18} {:<26} {:<11} {:>5} {:>7} {:>9}  {}",
            r.id,
            r.kind.as_str(),
            r.parent.map_or("".into(), |p| p.to_string()),
            r.name,
            r.strategy,
            r.status.as_str(),
            r.generations,
            r.evaluations,
            r.best_fitness.map_or("–".into(), |b| format!("{b:.4}")),
            Timestamp(r.started_ns)
        );
    }
    if runs.is_empty() {
        out.push_str("(no runs yet: try `tradebot research` or `tradebot evolve FILE`)\n");
    }
    crate::emit(&out)
}

fn run_json(r: &RunRecord) -> serde_json::Value {
    json!({
        "id": r.id, "kind": r.kind.as_str(), "parent": r.parent, "name": r.name, "strategy": r.strategy,
        "status": r.status.as_str(), "seed": r.seed,
        "config_hash": format!("{:016x}", r.config_hash), "data_hash": format!("{:016x}", r.data_hash),
        "data_first": Timestamp(r.data_first_ns).to_string(), "data_last": Timestamp(r.data_last_ns).to_string(),
        "code_version": r.code_version, "started": Timestamp(r.started_ns).to_string(),
        "finished": r.finished_ns.map(|t| Timestamp(t).to_string()),
        "generations": r.generations, "evaluations": r.evaluations, "best_fitness": r.best_fitness,
        "summary": r.summary.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
        "error": r.error, "pid": r.process.map(|p| p.pid),
    })
}

fn generation_json(g: &GenerationRecord) -> serde_json::Value {
    json!({
        "generation": g.generation, "best": g.best, "best_ever": g.best_ever, "mean": g.mean, "median": g.median,
        "diversity": g.diversity, "evaluations": g.evaluations, "cache_hits": g.cache_hits, "invalid": g.invalid,
        "mutation_rate": g.mutation_rate, "stagnant_for": g.stagnant_for, "elapsed_ms": g.elapsed_ms,
    })
}

fn show(db: &ResearchDb, id: i64, top: usize, as_json: bool) -> Result<()> {
    let run = db.run(id)?.with_context(|| format!("there is no run {id}"))?;
    let generations = db.generations(id)?;
    let events = db.events(id)?;
    let best = db.best_individuals(id, top)?;
    let children = db.child_runs(id)?;
    if as_json {
        let value = json!({
            "run": run_json(&run),
            "generations": generations.iter().map(generation_json).collect::<Vec<_>>(),
            "events": events.iter().map(|e| json!({"generation": e.generation, "kind": e.kind, "detail": e.detail})).collect::<Vec<_>>(),
            "best": best.iter().map(|b| json!({
                "generation": b.generation, "genome": serde_json::from_str::<serde_json::Value>(&b.genome).ok(),
                "fitness": b.fitness_raw, "metrics": serde_json::from_str::<serde_json::Value>(&b.metrics).ok(),
                "data_hash": format!("{:016x}", b.data_hash),
            })).collect::<Vec<_>>(),
            "children": children.iter().map(run_json).collect::<Vec<_>>(),
        });
        return crate::emit(&serde_json::to_string_pretty(&value)?);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run #{} {} {} `{}` {}: seed {}, data {:016x} ({} .. {}), config {:016x}, code {}",
        run.id,
        run.kind.as_str(),
        run.strategy,
        run.name,
        run.status.as_str(),
        run.seed,
        run.data_hash,
        Timestamp(run.data_first_ns),
        Timestamp(run.data_last_ns),
        run.config_hash,
        run.code_version
    );
    if let Some(error) = &run.error {
        let _ = writeln!(out, "{}: {error}", run.status.as_str());
    }
    if !generations.is_empty() {
        let _ = writeln!(
            out,
            "\n{:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>5} {:>7} {:>8} {:>5}",
            "gen",
            "best",
            "best ever",
            "mean",
            "median",
            "diversity",
            "evals",
            "hits",
            "invalid",
            "mutation",
            "stag"
        );
        let f = |x: Option<f64>| x.map_or("–".into(), |v| format!("{v:.4}"));
        for g in &generations {
            let _ = writeln!(
                out,
                "{:>4} {:>9} {:>9} {:>9} {:>9} {:>9.4} {:>6} {:>5} {:>7} {:>8.3} {:>5}",
                g.generation,
                f(g.best),
                f(g.best_ever),
                f(g.mean),
                f(g.median),
                g.diversity,
                g.evaluations,
                g.cache_hits,
                g.invalid,
                g.mutation_rate,
                g.stagnant_for
            );
        }
    }
    if !events.is_empty() {
        let _ = writeln!(out, "\nevents:");
        for e in &events {
            let _ = writeln!(out, "  gen {:>3} {:<11} {}", e.generation, e.kind, e.detail);
        }
    }
    if !best.is_empty() {
        let _ = writeln!(out, "\nbest genomes (in-sample):");
        for b in &best {
            let _ = writeln!(out, "  {:>10}  gen {:>3}  {}", b.fitness_raw, b.generation, b.genome);
        }
    }
    if let Some(rows) = run
        .summary
        .as_deref()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| v.get("hall_of_fame").cloned())
        .and_then(|v| v.as_array().cloned())
    {
        let _ = writeln!(out, "\nhall of fame, in-sample | out-of-sample:");
        let _ = writeln!(
            out,
            "  {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8}  params",
            "fitness", "IS shrp", "OOS shrp", "IS trd", "OOS trd", "IS ret", "OOS ret"
        );
        let num = |v: &serde_json::Value, key: &str, pct: bool| match v.get(key).and_then(|x| x.as_f64()) {
            Some(x) if pct => format!("{:.1}%", x * 100.0),
            Some(x) => format!("{x:.2}"),
            None => "–".into(),
        };
        for r in &rows {
            let (is, oos) = (&r["in_sample"], &r["out_of_sample"]);
            let _ = writeln!(
                out,
                "  {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8}  {}",
                num(r, "fitness", false),
                num(is, "sharpe", false),
                num(oos, "sharpe", false),
                is.get("trades").map_or("–".into(), |t| t.to_string()),
                oos.get("trades").map_or("–".into(), |t| t.to_string()),
                num(is, "total_return", true),
                num(oos, "total_return", true),
                r["params"]
            );
        }
    }
    if let Some(summary) = &run.summary {
        let pretty = serde_json::from_str::<serde_json::Value>(summary)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| summary.clone());
        let _ = writeln!(out, "\nsummary (in-sample next to out-of-sample):\n{pretty}");
    }
    if !children.is_empty() {
        let _ = writeln!(out, "\nfamily runs:");
        for c in &children {
            let _ = writeln!(
                out,
                "  #{:<5} {:<26} {:<9} best {}",
                c.id,
                c.strategy,
                c.status.as_str(),
                c.best_fitness.map_or("–".into(), |b| format!("{b:.4}"))
            );
        }
    }
    crate::emit(&out)
}

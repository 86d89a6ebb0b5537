//! `tradebot runs list | show RUN_ID`: the research database's GA runs.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use datasets::Timestamp;
use evolve::db::{GenerationRecord, ResearchDb, RunRecord};
use kernel::strategy::{ParamValue, Params};
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
    // Names and strategies vary in length: size those columns to the longest.
    let name_w = runs.iter().map(|r| r.name.chars().count()).max().unwrap_or(0).max(4);
    let strategy_w = runs.iter().map(|r| r.strategy.chars().count()).max().unwrap_or(0).max(8);
    let mut out = format!(
        "{:>5} {:<8} {:>6} {:<name_w$} {:<strategy_w$} {:<11} {:>5} {:>7} {:>9}  started\n",
        "id", "kind", "parent", "name", "strategy", "status", "gens", "evals", "best"
    );
    for r in &runs {
        let _ = writeln!(
            out,
            "{:>5} {:<8} {:>6} {:<name_w$} {:<strategy_w$} {:<11} {:>5} {:>7} {:>9}  {}",
            r.id,
            r.kind.as_str(),
            r.parent.map_or("".into(), |p| p.to_string()),
            r.name,
            r.strategy,
            r.status.as_str(),
            r.generations,
            r.evaluations,
            r.best_fitness.map_or("–".into(), |b| format!("{b:.4}")),
            local_time(r.started_ns)
        );
    }
    if runs.is_empty() {
        out.push_str("(no runs yet: try `tradebot research` or `tradebot evolve FILE`)\n");
    }
    crate::emit(&out)
}

/// `text` with every decimal number of more than 4 fractional digits rounded to 4 (an
/// event's `mutation rate 0.23013959207580012` reads `mutation rate 0.2301`).
pub fn round_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let end = from.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(from.len());
        let (number, after) = from.split_at(end);
        let decimals = number.split_once('.').map_or(0, |(_, f)| f.len());
        match number.parse::<f64>() {
            Ok(x) if decimals > 4 && !out.ends_with(|c: char| c.is_alphanumeric() || c == '_') => {
                out.push_str(&format!("{x:.4}"))
            }
            _ => out.push_str(number),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A wall-clock instant (UTC epoch ns) in the local time zone, to the minute, for tables.
fn local_time(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A stored genome with its parameters' names (`window=12 entry_z=1.6938`) when it is a
/// parameter genome of `strategy`; the stored text otherwise (a discovery's expression).
fn genome_text(strategy: &str, genome: &str) -> String {
    let params = kernel::strategy::by_name(strategy).and_then(|s| {
        let values: Vec<ParamValue> = serde_json::from_str(genome).ok()?;
        Params::from_values(s.space(), values).ok()
    });
    params.map_or_else(|| genome.to_string(), |p| format!("{p:.4}"))
}

/// A JSON object of parameters (`{"window": 12, "entry_z": 1.69…}`) as `name=value` pairs in
/// `strategy`'s parameter order, reals to 4 decimals.
fn params_text(strategy: &str, params: &serde_json::Value) -> String {
    let Some(map) = params.as_object() else { return params.to_string() };
    let value = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) if n.is_f64() => format!("{:.4}", n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
    if let Some(s) = kernel::strategy::by_name(strategy) {
        let order = |name: &str| s.space().specs().iter().position(|p| p.name == name);
        names.sort_by_key(|n| order(n));
    }
    names.iter().map(|k| format!("{k}={}", value(&map[*k]))).collect::<Vec<_>>().join(" ")
}

/// A figure of a summary's JSON object for a table: `key` of `v`, as a percentage with `pct`.
fn figure(v: &serde_json::Value, key: &str, pct: bool) -> String {
    match v.get(key).and_then(serde_json::Value::as_f64) {
        Some(x) if pct => format!("{:.1} %", x * 100.0),
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    }
}

/// A run's summary for people: the winner's parameters with its in-sample figures next to its
/// out-of-sample ones, then the remaining counts; a research run's summary as `key: value` lines.
fn write_summary(out: &mut String, strategy: &str, summary: &serde_json::Value) {
    let Some(map) = summary.as_object() else { return };
    if let Some(w) = map.get("winner").filter(|w| w.is_object()) {
        let _ = writeln!(out, "\nwinner: {}", params_text(strategy, &w["params"]));
        let _ = writeln!(out, "  {:<14} {:>12} {:>14}", "", "in-sample", "out-of-sample");
        let rows = [
            ("sharpe", "sharpe", false),
            ("sortino", "sortino", false),
            ("cagr", "cagr", true),
            ("total return", "total_return", true),
            ("max drawdown", "max_drawdown", true),
        ];
        let (is, oos) = (&w["in_sample"], &w["out_of_sample"]);
        for (label, key, pct) in rows {
            let _ = writeln!(out, "  {label:<14} {:>12} {:>14}", figure(is, key, pct), figure(oos, key, pct));
        }
        let trades = |v: &serde_json::Value| v.get("trades").map_or("–".into(), |t| t.to_string());
        let _ = writeln!(out, "  {:<14} {:>12} {:>14}", "trades", trades(is), trades(oos));
        let pbo =
            w.get("pbo").and_then(serde_json::Value::as_f64).map_or("–".into(), |p| format!("{p:.2}"));
        let dsr = w.get("deflated_sharpe").and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN);
        let _ = writeln!(out, "  deflated Sharpe {dsr:.3}, PBO {pbo}");
    }
    let rest: Vec<String> = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "winner" | "hall_of_fame" | "folds"))
        .map(|(k, v)| match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                format!("{k}: {:.2}", n.as_f64().unwrap_or(f64::NAN))
            }
            other => format!("{k}: {other}"),
        })
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(out, "\nsummary:");
        for line in rest {
            let _ = writeln!(out, "  {line}");
        }
    }
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
            let _ = writeln!(out, "  gen {:>3} {:<11} {}", e.generation, e.kind, round_numbers(&e.detail));
        }
    }
    if !best.is_empty() {
        let _ = writeln!(out, "\nbest genomes (in-sample):");
        for b in &best {
            let _ = writeln!(
                out,
                "  {:>10}  gen {:>3}  {}",
                b.fitness_raw.parse::<f64>().map_or_else(|_| b.fitness_raw.clone(), |f| format!("{f:.4}")),
                b.generation,
                genome_text(&run.strategy, &b.genome)
            );
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
                params_text(&run.strategy, &r["params"])
            );
        }
    }
    if let Some(summary) = run.summary.as_deref().and_then(|s| serde_json::from_str(s).ok()) {
        write_summary(&mut out, &run.strategy, &summary);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_decimals_in_event_details_are_rounded_and_the_rest_kept() {
        assert_eq!(
            round_numbers(
                "replaced the worst 10 of 40; mutation rate 0.23013959207580012 -> 0.46027918415160024"
            ),
            "replaced the worst 10 of 40; mutation rate 0.2301 -> 0.4603"
        );
        assert_eq!(
            round_numbers("best 1.25 after 12 generations, v0.1.0"),
            "best 1.25 after 12 generations, v0.1.0"
        );
        assert_eq!(round_numbers("gene_3 x2.123456"), "gene_3 x2.123456", "part of a word: kept");
    }

    #[test]
    fn genomes_and_parameter_objects_show_names_in_the_space_order() {
        assert_eq!(genome_text("sma_cross", r#"[{"Int":12},{"Int":40}]"#), "fast=12 slow=40");
        assert_eq!(genome_text("no_such", "(gt close sma20)"), "(gt close sma20)");
        let params = serde_json::json!({"window": 10, "entry_z": 2.123949, "exit_z": 0.5});
        assert_eq!(params_text("mean_reversion", &params), "window=10 entry_z=2.1239 exit_z=0.5000");
    }
}

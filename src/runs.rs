//! `tradebot runs list | show RUN_ID`: the research database's GA runs.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use datasets::Timestamp;
use evolve::db::{GenerationRecord, ResearchDb, RunKind, RunRecord};
use evolve::stats::{TestLen, WalkForwardMode};
use experiments::research::{ResearchSummary, Switch};
use experiments::run_summary::{
    DiscoverRunSummary, EvolveSummary, StoredCandidate, StoredParams, StoredWinner,
};
use kernel::metrics::Figures;
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

/// Stored parameters (`{"window": 12, "entry_z": 1.69…}`) as `name=value` pairs in `strategy`'s
/// parameter order, reals to 4 decimals.
fn params_text(strategy: &str, params: &StoredParams) -> String {
    let value = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) if n.is_f64() => format!("{:.4}", n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut names: Vec<&str> = params.keys().map(String::as_str).collect();
    if let Some(s) = kernel::strategy::by_name(strategy) {
        let order = |name: &str| s.space().specs().iter().position(|p| p.name == name);
        names.sort_by_key(|n| order(n));
    }
    names.iter().map(|k| format!("{k}={}", value(&params[*k]))).collect::<Vec<_>>().join(" ")
}

/// A figure for a table: 2 decimals, or a percentage with `pct`; `–` when missing (NaN).
fn figure(x: f64, pct: bool) -> String {
    match x {
        x if x.is_nan() => "–".into(),
        x if pct => format!("{:.1} %", x * 100.0),
        x => format!("{x:.2}"),
    }
}

/// A row of a figures table: its label, how to read the figure, whether it is a percentage.
type FigureRow = (&'static str, fn(&Figures) -> f64, bool);

/// A run's stored summary, read into the type its writer used.
enum Stored {
    /// A research run's.
    Research(ResearchSummary),
    /// A discover run's (it has candidates).
    Discover(DiscoverRunSummary<StoredCandidate>),
    /// An evolve run's: a holdout or a walk-forward.
    Evolve(Box<EvolveSummary<StoredWinner>>),
}

impl Stored {
    /// The summary `text` of `run`: a research run's, a discover run's (its strategy is the
    /// discovery sleeve), or an evolve run's.
    fn parse(run: &RunRecord, text: &str) -> Result<Stored, serde_json::Error> {
        Ok(match run.kind {
            RunKind::Research => Stored::Research(ResearchSummary::parse(Some(text))),
            RunKind::Evolve if run.strategy == evolve::discovery::SLEEVE => {
                Stored::Discover(serde_json::from_str(text)?)
            }
            RunKind::Evolve => Stored::Evolve(Box::new(serde_json::from_str(text)?)),
        })
    }
}

/// A run's summary for people: an evolve run's winner with its in-sample figures next to its
/// out-of-sample ones, its hall of fame or folds; a discover run's candidates; a research
/// run's night.
fn write_summary(out: &mut String, run: &RunRecord, text: &str) {
    match Stored::parse(run, text) {
        Ok(Stored::Evolve(s)) => write_evolve(out, &run.strategy, &s),
        Ok(Stored::Discover(s)) => write_discover(out, &s),
        Ok(Stored::Research(s)) => write_research(out, &s),
        Err(e) => {
            let _ = writeln!(out, "\nsummary: not readable ({e})");
        }
    }
}

fn write_evolve(out: &mut String, strategy: &str, s: &EvolveSummary<StoredWinner>) {
    if let Some(w) = &s.winner {
        let which = w.selection.map_or(String::new(), |sel| format!(" ({sel})"));
        let _ = writeln!(out, "\nwinner{which}: {}", params_text(strategy, &w.params));
        let _ = writeln!(out, "  {:<14} {:>12} {:>14}", "", "in-sample", "out-of-sample");
        let (is, oos) = (&w.in_sample.figures, w.out_of_sample.as_ref().map(|e| &e.figures));
        let rows: [FigureRow; 5] = [
            ("sharpe", |f| f.sharpe, false),
            ("sortino", |f| f.sortino, false),
            ("cagr", |f| f.cagr, true),
            ("total return", |f| f.total_return, true),
            ("max drawdown", |f| f.max_drawdown, true),
        ];
        for (label, get, pct) in rows {
            let oos = oos.map_or(f64::NAN, get);
            let _ = writeln!(out, "  {label:<14} {:>12} {:>14}", figure(get(is), pct), figure(oos, pct));
        }
        let oos_trades = oos.map_or("–".into(), |f| f.trades.to_string());
        let _ = writeln!(out, "  {:<14} {:>12} {:>14}", "trades", is.trades, oos_trades);
        let pbo = w.pbo.map_or("–".into(), |p| format!("{p:.2}"));
        let _ = writeln!(out, "  deflated Sharpe {:.3}, PBO {pbo}", w.deflated_sharpe);
    }
    if !s.hall_of_fame.is_empty() {
        let _ = writeln!(out, "\nhall of fame, in-sample | out-of-sample:");
        let _ = writeln!(
            out,
            "  {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8}  params",
            "fitness", "IS shrp", "OOS shrp", "IS trd", "OOS trd", "IS ret", "OOS ret"
        );
        for r in &s.hall_of_fame {
            let (is, oos) =
                (r.in_sample.as_ref().map(|e| &e.figures), r.out_of_sample.as_ref().map(|e| &e.figures));
            let num =
                |f: Option<&Figures>, get: fn(&Figures) -> f64, pct| figure(f.map_or(f64::NAN, get), pct);
            let trades = |f: Option<&Figures>| f.map_or("–".into(), |f| f.trades.to_string());
            let _ = writeln!(
                out,
                "  {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8}  {}",
                figure(r.fitness, false),
                num(is, |f| f.sharpe, false),
                num(oos, |f| f.sharpe, false),
                trades(is),
                trades(oos),
                num(is, |f| f.total_return, true),
                num(oos, |f| f.total_return, true),
                params_text(strategy, &r.params)
            );
        }
    }
    if let Some(wf) = &s.walk_forward {
        let mode = match wf.mode {
            WalkForwardMode::Rolling => "rolling",
            WalkForwardMode::Anchored => "anchored",
        };
        let test = match wf.test {
            TestLen::Fraction(f) => format!("{:.0} % of the bars", f * 100.0),
            TestLen::Bars(n) => format!("{n} bars"),
        };
        let _ =
            writeln!(out, "\nwalk-forward: {} folds, {mode} training windows, each test {test}", wf.folds);
        for (k, f) in s.folds.iter().enumerate() {
            let sharpe = |e: Option<&evolve::problem::Evaluation>| {
                figure(e.map_or(f64::NAN, |e| e.figures.sharpe), false)
            };
            let w = f.winner.as_ref();
            let _ = writeln!(
                out,
                "  fold {} (run #{}): train {}..{}, test {}..{}: IS Sharpe {} → OOS {}  {}",
                k + 1,
                f.run_id,
                day(&f.train[0]),
                day(&f.train[1]),
                day(&f.test[0]),
                day(&f.test[1]),
                sharpe(w.map(|w| &w.in_sample)),
                sharpe(w.and_then(|w| w.out_of_sample.as_ref())),
                w.map_or(String::new(), |w| params_text(strategy, &w.params))
            );
        }
    }
    let _ = writeln!(out, "\nsummary:\n  trials: {}\n  generations: {}", s.trials, s.generations);
    if let (Some(is), Some(oos)) = (s.in_sample_bars, s.out_of_sample_bars) {
        let _ = writeln!(out, "  bars: {is} in sample, {oos} out of sample");
    }
}

/// The date of a stored UTC timestamp (`2021-03-04T…` → `2021-03-04`).
fn day(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

fn write_discover(out: &mut String, s: &DiscoverRunSummary<StoredCandidate>) {
    let _ = writeln!(out, "\ncandidates, best first (in-sample | out-of-sample):");
    let _ = writeln!(
        out,
        "  {:>9} {:>8} {:>8} {:>6} {:>7}  {:<8} genome",
        "fitness", "IS shrp", "OOS shrp", "DSR", "id", "gates"
    );
    for c in &s.candidates {
        let failed: Vec<&str> = c.gates.iter().filter(|g| !g.passed).map(|g| g.gate.as_str()).collect();
        let gates = if c.passed { "passed".to_string() } else { format!("failed {}", failed.join(",")) };
        let _ = writeln!(
            out,
            "  {:>9} {:>8} {:>8} {:>6} {:>7}  {:<8} {}",
            figure(c.fitness, false),
            figure(c.in_sample.figures.sharpe, false),
            figure(c.out_of_sample.as_ref().map_or(f64::NAN, |e| e.figures.sharpe), false),
            if c.deflated_sharpe.is_nan() { "–".into() } else { format!("{:.3}", c.deflated_sharpe) },
            c.id.map_or("–".into(), |id| id.to_string()),
            gates,
            c.genome
        );
    }
    let _ = writeln!(
        out,
        "\nsummary:\n  trials: {}\n  generations: {}\n  bars: {} in sample, {} out of sample\n  sharing: {}",
        s.trials,
        s.generations,
        s.in_sample_bars,
        s.out_of_sample_bars,
        figure(s.sharing, true)
    );
    if let Some(a) = &s.novelty_archive {
        let _ = writeln!(out, "  novelty archive: {} of {} entries", a.size, a.capacity);
    }
    if let Some(c) = &s.novelty_cost {
        let _ = writeln!(out, "  novelty cost: {} of the generations' time", figure(c.share, true));
    }
}

fn write_research(out: &mut String, s: &ResearchSummary) {
    let states = s.states.clone().unwrap_or_default();
    let _ = writeln!(out, "\nfamilies (verdict → state, out-of-sample looks):");
    for (family, verdict) in &s.verdicts {
        let state =
            states.get(family).map_or("–", |st| if *st == Switch::Enabled { "enabled" } else { "disabled" });
        let looks = s.looks.get(family).map_or(0, |l| l.looks);
        let _ = writeln!(out, "  {family:<26} {verdict:<8} → {state:<8} looks {looks}");
    }
    let n = &s.night;
    let _ = writeln!(
        out,
        "\nsummary:\n  night: {} trials ({} effective), {} out-of-sample tests\n  evaluations: {} in {:.1} s",
        n.trials, n.effective_trials, n.oos_tests, s.evaluations, s.elapsed_s
    );
    if let Some(d) = &s.discovery {
        let _ = writeln!(
            out,
            "  discovery: run #{}, {} trials, {} candidates, passed {:?}",
            d.run_id, d.trials, d.candidates, d.passed
        );
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
    if let Some(text) = run.summary.as_deref() {
        write_summary(&mut out, &run, text);
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
        let params = params.as_object().unwrap();
        assert_eq!(params_text("mean_reversion", params), "window=10 entry_z=2.1239 exit_z=0.5000");
    }
}

//! Results out: CSV, JSON, a terminal table and the research database's records.
//!
//! Figures are fractions (0.05 = 5 %) in CSV, JSON and the database, percentages in the table;
//! a figure the fast path did not compute is an empty CSV cell, JSON `null`, SQL `NULL`, `-`.

use std::fmt::Write as _;
use std::path::Path;

use evolve::db::{ResultRecord, SweepRecord};
use kernel::metrics::Figures;
use kernel::strategy::Params;
use serde_json::{Map, Value, json};

use crate::Experiment;
use crate::run::{ResultRow, SweepOutcome};

/// The parameters as a JSON object (`{"fast": 10, "slow": 20}`; a choice by its option name).
pub fn params_json(p: &Params) -> Value {
    Value::Object(params_map(p))
}

/// The parameters as the map of a JSON object, in the space's order (see [`params_json`]).
pub fn params_map(p: &Params) -> Map<String, Value> {
    p.space()
        .specs()
        .iter()
        .zip(p.values())
        .map(|(spec, v)| (spec.name.to_string(), json!(spec.encode(*v))))
        .collect()
}

/// One row as JSON: scope, rank, params and every figure.
fn row_json(row: &ResultRow) -> Value {
    json!({
        "symbol": row.symbol,
        "rank": row.rank,
        "params": params_json(&row.params),
        "param_hash": format!("{:016x}", row.params.hash()),
        "metrics": figures_json(&row.metrics),
    })
}

/// The sweep's [`FIGURES`] of `m` as a JSON object, `null` where missing.
fn figures_json(m: &Figures) -> Value {
    let mut map: Map<String, Value> =
        FIGURES.iter().zip(figures(m)).map(|(k, v)| (k.to_string(), json!(v))).collect();
    map.insert("trades".into(), json!(m.trades));
    Value::Object(map)
}

/// The sweep as JSON; `rows` chooses which rows (all, or the top few).
pub fn to_json<'a>(
    exp: &Experiment,
    outcome: &SweepOutcome,
    rows: impl Iterator<Item = &'a ResultRow>,
) -> Value {
    json!({
        "experiment": exp.name,
        "strategy": exp.strategy.name(),
        "rank_by": exp.rank_by,
        "combinations": outcome.combinations,
        "skipped": outcome.skipped,
        "fast_path": outcome.fast_path,
        "results": rows.map(row_json).collect::<Vec<_>>(),
    })
}

/// The top `n` rows of each scope, in order.
pub fn top(outcome: &SweepOutcome, n: usize) -> impl Iterator<Item = &ResultRow> {
    outcome.rows.iter().filter(move |r| r.rank <= n)
}

/// The figures a sweep stores, as CSV columns and JSON keys, in [`figures`]' order.
const FIGURES: [&str; 10] = [
    "trades",
    "final_equity",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "exposure",
];

/// The values of [`FIGURES`] in `m`, `None` where missing; the trade count is the one whole number.
fn figures(m: &Figures) -> [Option<f64>; 10] {
    [
        Some(m.trades as f64),
        Figures::given(m.final_equity),
        Figures::given(m.total_return),
        Figures::given(m.cagr),
        Figures::given(m.sharpe),
        Figures::given(m.sortino),
        Figures::given(m.max_drawdown),
        Figures::given(m.win_rate),
        Figures::given(m.profit_factor),
        Figures::given(m.exposure),
    ]
}

/// Every row as CSV: `symbol` (empty for the combined runs), `rank`, one column per parameter,
/// the figures and the parameter hash.
pub fn to_csv(exp: &Experiment, outcome: &SweepOutcome) -> String {
    let specs = exp.strategy.space().specs();
    let mut out = String::from("symbol,rank");
    for s in specs {
        write!(out, ",{}", s.name).unwrap();
    }
    for f in FIGURES {
        write!(out, ",{f}").unwrap();
    }
    out.push_str(",param_hash\n");
    for row in &outcome.rows {
        write!(out, "{},{}", row.symbol.as_deref().unwrap_or(""), row.rank).unwrap();
        for v in params_json(&row.params).as_object().expect("an object").values() {
            match v {
                Value::String(s) => write!(out, ",{s}").unwrap(),
                other => write!(out, ",{other}").unwrap(),
            }
        }
        for f in figures(&row.metrics) {
            match f {
                Some(x) => write!(out, ",{x}").unwrap(),
                None => out.push(','),
            }
        }
        writeln!(out, ",{:016x}", row.params.hash()).unwrap();
    }
    out
}

/// The top `n` rows of each scope as an aligned text table, percentages for fractions.
pub fn table(outcome: &SweepOutcome, n: usize) -> String {
    let pct = |x: f64| Figures::given(x).map_or("-".to_string(), |x| format!("{:.2}", 100.0 * x));
    let num = |x: f64| Figures::given(x).map_or("-".to_string(), |x| format!("{x:.3}"));
    let mut out = format!(
        "{:<8} {:>4}  {:<32} {:>6} {:>12} {:>9} {:>8} {:>7} {:>7} {:>8} {:>6} {:>6} {:>6}\n",
        "symbol",
        "rank",
        "params",
        "trades",
        "final",
        "return%",
        "cagr%",
        "sharpe",
        "sortino",
        "maxdd%",
        "win%",
        "pf",
        "expo%"
    );
    for row in top(outcome, n) {
        let m = &row.metrics;
        writeln!(
            out,
            "{:<8} {:>4}  {:<32} {:>6} {:>12.2} {:>9} {:>8} {:>7.3} {:>7} {:>8} {:>6} {:>6} {:>6}",
            row.symbol.as_deref().unwrap_or("*"),
            row.rank,
            format!("{:.4}", row.params),
            m.trades,
            m.final_equity,
            pct(m.total_return),
            pct(m.cagr),
            m.sharpe,
            num(m.sortino),
            pct(m.max_drawdown),
            pct(m.win_rate),
            num(m.profit_factor),
            pct(m.exposure),
        )
        .unwrap();
    }
    writeln!(
        out,
        "{} combinations, {} skipped by the strategy's constraints{}",
        outcome.combinations,
        outcome.skipped,
        if outcome.fast_path { " (SMA-cross fast path)" } else { "" }
    )
    .unwrap();
    out
}

/// Writes `text` to `path`, creating its directory.
pub fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// The database records of a finished sweep.
pub fn records(
    exp: &Experiment,
    outcome: &SweepOutcome,
    data_hash: u64,
    started_ns: i64,
    finished_ns: i64,
) -> (SweepRecord, Vec<ResultRecord>) {
    let sweep = SweepRecord {
        name: exp.name.clone(),
        strategy: exp.strategy.name().to_string(),
        config: exp.text.clone(),
        config_hash: xxhash_rust::xxh3::xxh3_64(exp.text.as_bytes()),
        data_hash,
        code_version: env!("CARGO_PKG_VERSION").to_string(),
        started_ns,
        finished_ns,
        combinations: outcome.combinations,
        skipped: outcome.skipped,
    };
    let rows = outcome
        .rows
        .iter()
        .map(|r| ResultRecord {
            symbol: r.symbol.clone(),
            rank: r.rank,
            params: params_json(&r.params).to_string(),
            param_hash: r.params.hash(),
            metrics: r.metrics,
        })
        .collect();
    (sweep, rows)
}

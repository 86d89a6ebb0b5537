//! End-to-end tests of `tradebot data generate|import|export` and backtests of imported files:
//! generated bars never overwrite stored ones silently, asset classes and annualisation travel
//! with the bars, and the long-table export reads back.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/tb.rs"]
mod tb;
use tb::{ok, run as tradebot};

/// Stderr of a run that must fail with a user error (exit 1, no panic).
fn refused(cwd: &Path, args: &[&str]) -> String {
    let out = tradebot(cwd, args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?} should be refused:\n{err}");
    err
}

fn sample(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/samples").join(name).display().to_string()
}

#[test]
fn generate_refuses_to_overwrite_stored_series_unless_replace() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "import", &sample("GOOG.csv"), "--symbol", "SPY", "--store", "s"]);
    let spy = ok(cwd, &["data", "export", "--symbol", "SPY", "--store", "s"]);
    let generate = ["data", "generate", "--symbols", "3", "--years", "1", "--seed", "7", "--store", "s"];
    let err = refused(cwd, &generate);
    assert!(err.contains("already holds 1 series this universe would overwrite: SPY 1Day"), "{err}");
    assert!(err.contains("--replace"), "{err}");
    assert_eq!(ok(cwd, &["data", "export", "--symbol", "SPY", "--store", "s"]), spy, "SPY untouched");

    ok(cwd, &[&generate[..], &["--replace"]].concat());
    assert_ne!(ok(cwd, &["data", "export", "--symbol", "SPY", "--store", "s"]), spy, "replaced on request");
    // A new seed on a generated store: every series named (the first ten, then a count).
    let err =
        refused(cwd, &["data", "generate", "--symbols", "3", "--years", "1", "--seed", "8", "--store", "s"]);
    assert!(err.contains("already holds 19 series") && err.contains(", and 9 more"), "{err}");
}

/// `backtest … --json` as one JSON object.
fn backtest(cwd: &Path, args: &[&str]) -> serde_json::Value {
    let all = [&["backtest", "--strategy", "sma_cross", "--json"][..], args].concat();
    serde_json::from_str(&ok(cwd, &all)).unwrap()
}

#[test]
fn the_same_eurusd_bars_give_the_same_figures_from_the_sample_the_file_and_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let csv = sample("EURUSD.csv");
    let out = ok(cwd, &["data", "import", &csv, "--store", "s"]);
    assert!(out.contains("EURUSD 1Hour: 5000 bars") && out.contains("(forex)"), "{out}");
    let info: serde_json::Value =
        serde_json::from_str(&ok(cwd, &["data", "info", "--json", "--store", "s"])).unwrap();
    assert_eq!(info["series"][0]["asset_class"], "forex", "24-hour bars with Sundays are forex's");
    assert!(ok(cwd, &["data", "info", "--store", "s"]).contains("EURUSD   1Hour  forex"));

    let from_sample = backtest(cwd, &["--data", "sample:EURUSD"]);
    let from_file = backtest(cwd, &["--data", &csv]);
    let from_store = backtest(cwd, &["--data", "s", "--symbol", "EURUSD", "--timeframe", "1Hour"]);
    for key in ["sharpe", "cagr_pct", "volatility_pct", "return_pct"] {
        assert_eq!(from_file[key], from_sample[key], "{key}: file vs sample");
        assert_eq!(from_store[key], from_sample[key], "{key}: store vs sample");
    }
    // CAGR counts the calendar (2017-04-19 .. 2018-02-07), not bars ÷ bars per year: so an
    // explicit equity class changes the annualised Sharpe but not the CAGR.
    let as_equity = backtest(cwd, &["--data", &csv, "--class", "equity"]);
    assert_eq!(as_equity["cagr_pct"], from_sample["cagr_pct"]);
    let ratio = from_sample["sharpe"].as_f64().unwrap() / as_equity["sharpe"].as_f64().unwrap();
    assert!(
        (ratio - (260.0 * 24.0 / (252.0 * 6.5f64)).sqrt()).abs() < 1e-9,
        "Sharpe scales with √P: {ratio}"
    );
    let years = (from_sample["last"].as_str().unwrap(), from_sample["first"].as_str().unwrap());
    assert_eq!(years, ("2018-02-07T15:00:00Z", "2017-04-19T09:00:00Z"));
    let growth = 1.0 + from_sample["return_pct"].as_f64().unwrap() / 100.0;
    let span_days = 294.0 + 6.0 / 24.0; // 2017-04-19 09:00 .. 2018-02-07 15:00
    let cagr = growth.powf(365.25 / (span_days * 5000.0 / 4999.0)) - 1.0;
    assert!((from_sample["cagr_pct"].as_f64().unwrap() / 100.0 - cagr).abs() < 1e-9, "{cagr}");

    // `--class` on import is kept in the store's metadata, and an old manifest without classes
    // still opens (every symbol an equity).
    ok(cwd, &["data", "import", &csv, "--class", "crypto", "--replace", "--store", "s"]);
    let info: serde_json::Value =
        serde_json::from_str(&ok(cwd, &["data", "info", "--json", "--store", "s"])).unwrap();
    assert_eq!(info["series"][0]["asset_class"], "crypto");
    let manifest = cwd.join("s/MANIFEST.json");
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    m["symbols"]["EURUSD"].as_object_mut().unwrap().remove("asset_class");
    fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&ok(cwd, &["data", "info", "--json", "--store", "s"])).unwrap();
    assert_eq!(info["series"][0]["asset_class"], "equity");
    let out = tradebot(cwd, &["data", "import", &csv, "--class", "bond", "--store", "s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a usage error: {err}");
    assert!(err.contains("unknown asset class `bond` (known: equity, etf, index, forex, crypto)"), "{err}");
}

#[test]
fn export_all_writes_one_long_table_per_timeframe() {
    use arrow_array::{Array, Float64Array, StringArray, TimestampNanosecondArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "generate", "--symbols", "2", "--years", "1", "--store", "s"]);
    ok(cwd, &["data", "samples", "--store", "s"]);
    let info: serde_json::Value =
        serde_json::from_str(&ok(cwd, &["data", "info", "--json", "--store", "s"])).unwrap();
    // (symbol, bars) of every daily series, in name order.
    let mut daily: Vec<(String, usize)> = info["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["timeframe"] == "1Day")
        .map(|s| (s["symbol"].as_str().unwrap().to_string(), s["bars"].as_u64().unwrap() as usize))
        .collect();
    daily.sort();
    let out = ok(cwd, &["data", "export", "--all", "--format", "parquet", "--out", "x", "--store", "s"]);
    assert_eq!(out.lines().count(), 3, "1Hour, 1Day and 1Month tables: {out}");
    ok(
        cwd,
        &[
            "data",
            "export",
            "--all",
            "--timeframe",
            "1Day",
            "--format",
            "arrow",
            "--out",
            "x",
            "--store",
            "s",
        ],
    );
    assert!(!cwd.join("x/1Hour.arrow").exists(), "--timeframe limits the export");

    // arrow-rs' own Parquet reader: symbol first, every bar once, grouped by symbol in time order.
    let file = fs::File::open(cwd.join("x/1Day.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut rows: Vec<(String, i64, f64)> = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        assert_eq!(batch.schema().field(0).name(), "symbol");
        let col = |name: &str| batch.column_by_name(name).unwrap().clone();
        let symbols = col("symbol");
        let symbols = symbols.as_any().downcast_ref::<StringArray>().unwrap();
        let ts = col("timestamp");
        let ts = ts.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap();
        assert_eq!(ts.timezone(), Some("UTC"));
        let close = col("close");
        let close = close.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(col("vwap").null_count(), batch.num_rows(), "no source here has vwap");
        rows.extend(
            (0..batch.num_rows()).map(|i| (symbols.value(i).to_string(), ts.value(i), close.value(i))),
        );
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (symbol, _, _) in &rows {
        match counts.last_mut() {
            Some((s, n)) if s == symbol => *n += 1,
            _ => counts.push((symbol.clone(), 1)),
        }
    }
    assert_eq!(counts, daily, "each symbol once, in name order, with all its bars");
    assert!(rows.windows(2).all(|w| w[0].0 != w[1].0 || w[0].1 < w[1].1), "time order within a symbol");
    let goog = rows.iter().find(|r| r.0 == "GOOG").unwrap();
    assert_eq!((goog.1, goog.2), (1_092_888_000_000_000_000, 100.34), "2004-08-19T04:00Z close 100.34");

    let ipc = arrow_ipc::reader::FileReader::try_new(fs::File::open(cwd.join("x/1Day.arrow")).unwrap(), None)
        .unwrap();
    assert_eq!(ipc.map(|b| b.unwrap().num_rows()).sum::<usize>(), rows.len());

    let err = refused(cwd, &["data", "export", "--all", "--format", "csv", "--out", "x", "--store", "s"]);
    assert!(err.contains("--format parquet or --format arrow"), "{err}");

    // The documented Python one-liners, when pyarrow is installed.
    let has_pyarrow =
        Command::new("python3").args(["-c", "import pyarrow"]).output().is_ok_and(|o| o.status.success());
    if !has_pyarrow {
        eprintln!("pyarrow not installed: skipping the Python read of the export (arrow-rs read it above)");
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/export_check.py");
    let out = Command::new("python3").arg(script).arg(cwd.join("x")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for library in ["pyarrow", "pyarrow-ipc", "polars", "duckdb"] {
        let seen: Vec<(String, usize)> = text
            .lines()
            .filter_map(|l| l.strip_prefix(library)?.strip_prefix(' ')?.rsplit_once(' '))
            .map(|(s, n)| (s.to_string(), n.parse().unwrap()))
            .collect();
        if seen.is_empty() {
            eprintln!("{library}: not installed, skipped");
            continue;
        }
        assert_eq!(seen, daily, "{library}");
    }
}

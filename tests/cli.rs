//! End-to-end tests of the `tradebot` binary, as a user runs it from the README.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/tb.rs"]
mod tb;
use tb::{ok, run as tradebot};

fn failing(cwd: &Path, args: &[&str]) -> String {
    let out = tradebot(cwd, args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

fn sample(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/samples").join(name).display().to_string()
}

fn info(cwd: &Path, store: &str) -> serde_json::Value {
    serde_json::from_str(&ok(cwd, &["data", "info", "--json", "--store", store])).unwrap()
}

#[test]
fn import_info_and_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let out = ok(cwd, &["data", "import", &sample("GOOG.csv"), &sample("EURUSD.csv"), "--store", "s"]);
    assert!(out.contains("imported 2 series: 7148 bars written"), "{out}");
    let info = info(cwd, "s");
    let goog = info["series"].as_array().unwrap().iter().find(|s| s["symbol"] == "GOOG").unwrap();
    assert_eq!(goog["timeframe"], "1Day");
    assert_eq!(goog["bars"], 2148);
    let eurusd = info["series"].as_array().unwrap().iter().find(|s| s["symbol"] == "EURUSD").unwrap();
    assert_eq!(eurusd["timeframe"], "1Hour");

    // Export as CSV, import that into a second store, export again: identical text.
    let csv = ok(cwd, &["data", "export", "--symbol", "GOOG", "--format", "csv", "--store", "s"]);
    assert!(
        csv.starts_with(
            "timestamp,open,high,low,close,volume\n2004-08-19T04:00:00Z,100,104.06,95.96,100.34,22351900\n"
        ),
        "{}",
        &csv[..120]
    );
    fs::write(cwd.join("goog_export.csv"), &csv).unwrap();
    ok(cwd, &["data", "import", "goog_export.csv", "--symbol", "GOOG", "--store", "t"]);
    assert_eq!(ok(cwd, &["data", "export", "--symbol", "GOOG", "--store", "t"]), csv);

    // Re-importing the same file writes nothing new.
    let out = ok(cwd, &["data", "import", &sample("GOOG.csv"), "--store", "s"]);
    assert!(out.contains("0 bars written, 2148 already stored"), "{out}");

    ok(
        cwd,
        &["data", "export", "--symbol", "GOOG", "--format", "arrow", "--out", "goog.arrow", "--store", "s"],
    );
    let reader =
        arrow_ipc::reader::FileReader::try_new(fs::File::open(cwd.join("goog.arrow")).unwrap(), None)
            .unwrap();
    assert_eq!(reader.map(|b| b.unwrap().num_rows()).sum::<usize>(), 2148);
}

#[test]
fn bad_input_names_file_line_and_field_and_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "import", &sample("BTCUSD.csv"), "--store", "s"]);
    let manifest = fs::read(cwd.join("s/MANIFEST.json")).unwrap();
    let cases = [
        (
            "high.csv",
            "timestamp,open,high,low,close,volume\n2024-01-02,10,11,9,10,5\n2024-01-03,10,9.5,10.1,10,5\n",
            "high.csv:3: field `high`",
        ),
        (
            "num.csv",
            "timestamp,open,high,low,close,volume\n2024-01-02,10,11,9,abc,5\n",
            "num.csv:2: field `close`",
        ),
        (
            "dup.csv",
            "timestamp,open,high,low,close,volume\n2024-01-02,10,11,9,10,5\n2024-01-02,10,11,9,10,5\n",
            "dup.csv:3: field `timestamp`",
        ),
        (
            "vol.csv",
            "timestamp,open,high,low,close,volume\n2024-01-02,10,11,9,10,-5\n",
            "vol.csv:2: field `volume`",
        ),
        (
            "open.csv",
            "timestamp,open,high,low,close,volume\n2024-01-02,12,11,9,10,5\n",
            "open.csv:2: field `open`",
        ),
        ("cols.csv", "timestamp,open,high,low,close\n2024-01-02,10,11,9,10\n", "volume"),
        ("empty.csv", "", "empty.csv"),
    ];
    for (name, text, expected) in cases {
        fs::write(cwd.join(name), text).unwrap();
        // A valid file alongside the bad one must not be written either.
        let err = failing(cwd, &["data", "import", &sample("GOOG.csv"), name, "--store", "s"]);
        assert!(err.contains(expected), "{name}: {err}");
        assert_eq!(fs::read(cwd.join("s/MANIFEST.json")).unwrap(), manifest, "{name} changed the store");
    }
    let err = failing(cwd, &["data", "import", &sample("GOOG.csv"), "--timeframe", "2Day", "--store", "s"]);
    assert!(err.contains("unknown timeframe `2Day`"), "{err}");
}

#[test]
fn data_remove_and_symbol_errors_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "import", &sample("BTCUSD.csv"), &sample("EURUSD.csv"), "--store", "s"]);
    let err = failing(cwd, &["data", "import", &sample("GOOG.csv"), "--symbol", "", "--store", "s"]);
    assert!(err.contains("symbol \"\": a symbol cannot be empty"), "{err}");
    let err = failing(cwd, &["data", "import", &sample("GOOG.csv"), "--symbol", "a,b", "--store", "s"]);
    assert!(err.contains("',' is not allowed in a symbol"), "{err}");

    let out = ok(cwd, &["data", "remove", "--symbol", "BTCUSD", "--store", "s"]);
    assert!(out.contains("removed BTCUSD 1Month"), "{out}");
    let symbols: Vec<String> = info(cwd, "s")["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(symbols, ["EURUSD"]);
    let err = failing(cwd, &["data", "remove", "--symbol", "BTCUSD", "--store", "s"]);
    assert!(err.contains("BTCUSD: not in the store"), "{err}");
    ok(cwd, &["data", "verify", "--store", "s"]);
}

#[test]
fn verify_fails_on_files_the_manifest_does_not_account_for() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "import", &sample("GOOG.csv"), "--store", "s"]);
    let path = cwd.join("s/MANIFEST.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    manifest["segments"] = serde_json::json!([]);
    fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let err = failing(cwd, &["data", "verify", "--store", "s"]);
    assert!(err.contains("000001-1Day.arrow: not in the manifest"), "{err}");
    assert!(err.contains("no data has been removed"), "{err}");
    // The next import keeps GOOG's file, in orphans/, and says so.
    let out = tradebot(cwd, &["data", "import", &sample("EURUSD.csv"), "--store", "s"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: segments/000001-1Day.arrow is not in the manifest"), "{stderr}");
    assert!(cwd.join("s/orphans/000001-1Day.arrow").exists());
}

#[test]
fn generate_is_deterministic_and_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let args = |store: &'static str, seed: &'static str| {
        [
            "data",
            "generate",
            "--symbols",
            "6",
            "--years",
            "2",
            "--seed",
            seed,
            "--timeframe",
            "1Min",
            "--minute-days",
            "2",
            "--store",
            store,
        ]
    };
    ok(cwd, &args("a", "7"));
    ok(cwd, &args("b", "7"));
    ok(cwd, &args("c", "8"));
    let files = |store: &str| -> Vec<(String, Vec<u8>)> {
        let mut out =
            vec![("MANIFEST.json".to_string(), fs::read(cwd.join(store).join("MANIFEST.json")).unwrap())];
        for e in fs::read_dir(cwd.join(store).join("segments")).unwrap() {
            let p = e.unwrap().path();
            out.push((p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()));
        }
        out.sort();
        out
    };
    assert_eq!(files("a"), files("b"), "same seed, same bytes");
    assert_ne!(files("a"), files("c"), "another seed differs");
    let info = info(cwd, "a");
    let tfs: Vec<&str> =
        info["timeframes"].as_array().unwrap().iter().map(|t| t["timeframe"].as_str().unwrap()).collect();
    assert_eq!(tfs, ["1Min", "1Day"]);
    assert_eq!(info["timeframes"][1]["symbols"], 22, "6 stocks + SPY + 11 sector ETFs + TLT, GLD, SHY + VIX");
    assert!(ok(cwd, &["data", "verify", "--store", "a"]).contains("bars verified"));

    // Truncate a segment: every command that opens the store names the file.
    let seg = fs::read_dir(cwd.join("a/segments")).unwrap().next().unwrap().unwrap().path();
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, &bytes[..bytes.len() - 100]).unwrap();
    let name = seg.file_name().unwrap().to_string_lossy().into_owned();
    for cmd in [&["data", "info", "--store", "a"][..], &["data", "verify", "--store", "a"]] {
        let err = failing(cwd, cmd);
        assert!(err.contains(&name) && err.contains("truncated"), "{err}");
    }
}

#[test]
fn research_builds_the_default_store_and_runs_the_built_in_nightly() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    // No experiments/ here: the nightly file built into the binary is used.
    let out = tradebot(cwd, &["research", "--db", "r.db"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("building the default research data"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("## Ranking"), "{stdout}");
    assert!(stdout.contains("516 symbols"), "the universe is every symbol covering SPY's history: {stdout}");
    for family in [
        "sma_cross",
        "mean_reversion",
        "relative_volume_breakout",
        "vol_managed_momentum",
        "factor_momentum",
        "sector_rotation",
        "quality_smallcap_value",
        "vix_regime_rotation",
        "gap_fill",
    ] {
        assert!(stdout.contains(&format!("| {family} |")), "{family} missing from the ranking");
    }
    for ext in ["md", "html", "json"] {
        assert!(cwd.join(format!("results/nightly.{ext}")).exists());
    }
    // The first run trains and saves the regime model; the report carries its next-day call.
    assert!(
        stdout.contains("## Market regime") && stdout.contains("Model v1 calls the next day"),
        "{stdout}"
    );
    assert!(stdout.contains("model v1 trained by this run"), "{stdout}");
    assert!(cwd.join("data/models/regime/v0001.postcard").exists());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cwd.join("results/nightly.json")).unwrap()).unwrap();
    let call = &report["regime"]["outlook"]["model"];
    assert_eq!(call["version"], 1);
    let votes: f64 = call["votes"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
    assert!((votes - 1.0).abs() < 1e-9, "vote shares sum to one: {call}");
    assert!(call["oos_accuracy"].as_f64().unwrap() > 0.8, "{call}");
    let vol = report["regime"]["outlook"]["realised_vol"].as_f64().unwrap();
    assert!(vol > 1.0 && vol < 100.0, "annualised percent: {vol}");
    assert!(stdout.contains(&format!("realised volatility {vol:.1} %")), "{stdout}");
    // The nightly file enables discovery: the report lists its hall of fame with each outcome.
    let discovery = &report["discovery"];
    assert!(discovery["trials"].as_u64().unwrap() > 100, "{discovery}");
    let genomes = discovery["genomes"].as_array().unwrap();
    assert!(!genomes.is_empty(), "{discovery}");
    assert!(stdout.contains("## Discovery\n\nDiscovery run "), "{stdout}");
    assert!(stdout.contains("| # | Genome | IS Sharpe | OOS Sharpe"), "{stdout}");
    assert!(stdout.contains("only the in-sample best of the"), "{stdout}");
    // The night is one experiment: its summary keeps every family's resulting state, the looks at
    // its out-of-sample window, and the trials and OOS tests the verdicts deflate and correct by.
    let runs: serde_json::Value =
        serde_json::from_slice(&tradebot(cwd, &["runs", "list", "--json", "--db", "r.db"]).stdout).unwrap();
    let runs = runs.as_array().unwrap();
    let research = runs.iter().find(|r| r["kind"] == "research").unwrap();
    let summary = &research["summary"];
    let states = summary["states"].as_object().unwrap();
    assert_eq!(states.len(), 9, "{summary}");
    assert!(states.values().all(|s| s == "enabled" || s == "disabled"), "{summary}");
    assert!(summary["looks"].as_object().unwrap().values().all(|l| l["looks"] == 1), "{summary}");
    let children: u64 = runs
        .iter()
        .filter(|r| r["parent"] == research["id"])
        .map(|r| r["summary"]["trials"].as_u64().unwrap_or_else(|| panic!("{r}")))
        .sum();
    assert_eq!(summary["night"]["trials"].as_u64().unwrap(), children, "{summary}");
    let tests = summary["night"]["oos_tests"].as_u64().unwrap();
    assert!((9..=10).contains(&tests), "{summary}");
    let info = info(cwd, "data/store");
    let symbols: Vec<&str> =
        info["series"].as_array().unwrap().iter().map(|s| s["symbol"].as_str().unwrap()).collect();
    for expected in ["SPY", "VIX", "XLK", "TLT", "S0500", "GOOG", "EURUSD", "BTCUSD"] {
        assert!(symbols.contains(&expected), "{expected} missing");
    }
    // A second run reuses (and verifies) the store instead of rebuilding it.
    let small = "[research]\nname = \"again\"\n[families.sector_rotation]\n[evolve]\npopulation = 4\ngenerations = 2\n";
    std::fs::write(cwd.join("again.toml"), small).unwrap();
    let again = tradebot(cwd, &["research", "again.toml", "--db", "r.db"]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!stderr.contains("building") && stderr.contains("verified"), "{stderr}");
    // ...and loads the saved model instead of training another.
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("Model v1 calls") && !stdout.contains("trained by this run"), "{stdout}");
    assert!(!cwd.join("data/models/regime/v0002.postcard").exists());
}

#[test]
fn store_files_open_in_pyarrow_when_it_is_installed() {
    let has_pyarrow = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_pyarrow {
        eprintln!("pyarrow not installed: skipping the Python interoperability check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["data", "import", &sample("GOOG.csv"), "--store", "s"]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pyarrow_check.py");
    let out = Command::new("python3").arg(script).arg(dir.path().join("s")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "GOOG 1Day 2148 rows, last close 806.19");
}

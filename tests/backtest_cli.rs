//! End-to-end tests of `tradebot backtest` and `tradebot strategies`.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "support/tb.rs"]
mod tb;
use tb::run as tradebot;

fn json(cwd: &Path, args: &[&str]) -> serde_json::Value {
    let out = tradebot(cwd, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object on one line");
    serde_json::from_str(&text).unwrap()
}

fn goog() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/samples/GOOG.csv").display().to_string()
}

#[test]
fn sma_cross_on_goog_matches_the_backtesting_py_reference() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--strategy", "sma_cross", "--param", "fast=10,slow=20", "--keep-open", "--json"];
    let from_file = json(dir.path(), &[&["backtest", "--data", &goog()][..], &args].concat());
    let from_sample = json(dir.path(), &[&["backtest", "--data", "sample:GOOG"][..], &args].concat());
    assert_eq!(from_file, from_sample);
    assert_eq!(from_file["trades"], 46);
    assert!((from_file["final_equity"].as_f64().unwrap() - 75_645.99).abs() < 0.005);
    for key in [
        "trades",
        "final_equity",
        "return_pct",
        "cagr_pct",
        "sharpe",
        "sortino",
        "max_drawdown_pct",
        "win_rate_pct",
        "profit_factor",
        "exposure_pct",
    ] {
        assert!(from_file[key].is_number(), "{key} missing or not a number");
    }
    assert!(from_file["max_drawdown_pct"].as_f64().unwrap() < 0.0);
    assert_eq!(from_file["params"], "fast=10 slow=20");
}

#[test]
fn trade_and_equity_files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = tradebot(
        dir.path(),
        &[
            "backtest",
            "--data",
            "sample:GOOG",
            "--strategy",
            "sma_cross",
            "--trades",
            "t.csv",
            "--equity",
            "e.csv",
            "--commission",
            "0.002",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Sharpe") && table.contains("Max drawdown"), "{table}");
    let trades = fs::read_to_string(dir.path().join("t.csv")).unwrap();
    assert!(trades.starts_with(
        "symbol,entry_time,exit_time,entry_price,exit_price,qty,fees,pnl,return,bars_held,exit_reason\n"
    ));
    // 46 signal trades plus the position closed at the end (close-at-end is the default).
    assert_eq!(trades.lines().count(), 1 + 47);
    assert!(trades.lines().nth(1).unwrap().starts_with("GOOG,"));
    let equity = fs::read_to_string(dir.path().join("e.csv")).unwrap();
    assert_eq!(equity.lines().count(), 1 + 2148);
}

#[test]
fn bad_requests_fail_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--strategy", "nope"], "unknown strategy `nope`"),
        // Used to spin forever (1e19) and to print `Final equity NaN` (1e308).
        (&["--strategy", "sma_cross", "--cash", "1e19"], "`initial_cash` = 10000000000000000000 is invalid"),
        (&["--strategy", "sma_cross", "--cash", "1e308"], "up to 1e13"),
        (&["--strategy", "sma_cross", "--param", "fast=1"], "fast"),
        (&["--strategy", "sma_cross", "--param", "fast=50,slow=20"], "slow"),
        (&["--strategy", "pairs"], "short"),
    ];
    for (args, expected) in cases {
        let out = tradebot(dir.path(), &[&["backtest", "--data", "sample:GOOG"][..], args].concat());
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // The data come through the runs' one loader, with an experiment file's refusals.
    let out = tradebot(dir.path(), &["backtest", "--data", "sample:AAPL", "--strategy", "sma_cross"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown sample `AAPL` (samples: GOOG, EURUSD, BTCUSD)"), "{err}");
}

#[test]
fn multi_symbol_strategies_run_on_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let generated =
        tradebot(dir.path(), &["data", "generate", "--symbols", "10", "--years", "3", "--store", "s"]);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let result = json(
        dir.path(),
        &[
            "backtest",
            "--data",
            "s",
            "--symbol",
            "SPY,TLT,GLD,SHY,VIX",
            "--strategy",
            "vix_regime_rotation",
            "--json",
        ],
    );
    assert_eq!(result["symbols"].as_array().unwrap().len(), 5);
    assert!(result["trades"].as_u64().unwrap() > 0);
    assert_eq!(result["refusals"], 0);
    let out = tradebot(dir.path(), &["backtest", "--data", "s", "--strategy", "sma_cross"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--symbol"), "a store needs symbols");
}

#[test]
fn a_symbol_outside_the_common_window_is_left_out_or_refused_never_a_panic() {
    // The default store's mix: GOOG 2004–2013 beside a synthetic universe that starts later.
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["data", "generate", "--symbols", "3", "--years", "2", "--store", "s"][..],
        &["data", "samples", "--store", "s"],
    ] {
        let out = tradebot(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for strategy in ["factor_momentum", "sma_cross"] {
        let out = tradebot(
            dir.path(),
            &["backtest", "--data", "s", "--symbol", "all", "--strategy", strategy, "--json"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{strategy}: {err}");
        assert!(err.contains("warning: --symbol all leaves out `GOOG` (last bar 2013-"), "{err}");
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let symbols = result["symbols"].as_array().unwrap();
        assert!(!symbols.contains(&"GOOG".into()) && symbols.contains(&"SPY".into()), "{symbols:?}");
    }
    let out =
        tradebot(dir.path(), &["backtest", "--data", "s", "--symbol", "GOOG,SPY", "--strategy", "sma_cross"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`GOOG` (last bar 2013-") && err.contains("no bars in the common window"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn strategies_lists_all_ten_with_parameters() {
    let out = tradebot(Path::new("."), &["strategies"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for name in [
        "sma_cross",
        "mean_reversion",
        "relative_volume_breakout",
        "gap_fill",
        "vix_regime_rotation",
        "vol_managed_momentum",
        "factor_momentum",
        "sector_rotation",
        "quality_smallcap_value",
        "pairs",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing");
    }
}

//! End-to-end tests of `tradebot regimes`.

use std::fs;
use std::path::Path;

#[path = "support/tb.rs"]
mod tb;
use tb::run as tradebot;

/// Runs a command that must succeed; returns stdout and stderr.
fn ok(cwd: &Path, args: &[&str]) -> (String, String) {
    let out = tradebot(cwd, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{args:?} failed:\n{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

fn json(cwd: &Path, args: &[&str]) -> serde_json::Value {
    let (text, _) = ok(cwd, args);
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object on one line");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn trains_saves_versions_and_reloads_the_current_model() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "generate", "--symbols", "30", "--years", "8", "--store", "s"]);
    let first = json(cwd, &["regimes", "--store", "s", "--train", "--json"]);
    assert_eq!(first["trained"], true);
    assert_eq!(first["days"], 2011);
    assert_eq!(first["breadth_members"], 30);
    assert_eq!(first["model"]["version"], 1);
    assert_eq!(first["model"]["evaluation"]["folds"].as_array().unwrap().len(), 5);
    assert_eq!(first["today"]["date"], "2025-12-31");
    assert!(first["today"]["regime"].is_string() && first["tomorrow"]["regime"].is_string());
    let votes: f64 =
        first["tomorrow"]["votes"].as_object().unwrap().values().map(|v| v.as_f64().unwrap()).sum();
    assert!((votes - 1.0).abs() < 1e-9);
    let history = first["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["last"], "2025-12-31");
    let days: u64 = history.iter().map(|s| s["days"].as_u64().unwrap()).sum();
    assert_eq!(days, 2011, "every day is in one spell (the index classifies from day one)");
    let models = cwd.join("data/models/regime");
    for file in ["v0001.postcard", "v0001.json", "CURRENT"] {
        assert!(models.join(file).exists(), "{file}");
    }

    // Without --train: the saved model, same call and same scores.
    let loaded = json(cwd, &["regimes", "--store", "s", "--json"]);
    assert_eq!(loaded["trained"], false);
    assert_eq!(loaded["model"], first["model"]);
    assert_eq!(loaded["tomorrow"], first["tomorrow"]);
    let (text, _) = ok(cwd, &["regimes", "--store", "s", "--history", "3"]);
    assert!(text.contains("Model v0001 (loaded, data/models/regime)"), "{text}");
    assert!(text.contains("History (last 3 of "), "{text}");
    assert!(text.contains("Confusion matrix of the model"), "{text}");
    for row in ["  model ", "  persistence ", "  level_rule "] {
        assert!(text.contains(row), "{row}: {text}");
    }

    // Training again on the same data gives the same model (deterministic): no identical
    // version 2 is written. `--data` is the old spelling of `--store`, kept for one release.
    let second = json(cwd, &["regimes", "--data", "s", "--train", "--json"]);
    assert_eq!((second["trained"].as_bool(), second["saved"].as_bool()), (Some(true), Some(false)));
    assert_eq!(second["model"], first["model"], "version 1, same data hash, same scores");
    assert_eq!(fs::read_to_string(models.join("CURRENT")).unwrap(), "v0001\n");
    assert!(!models.join("v0002.postcard").exists() && !models.join("v0002.json").exists());
    let (text, _) = ok(cwd, &["regimes", "--store", "s", "--train"]);
    assert!(
        text.contains("Model v0001 (trained: unchanged (v0001), nothing written, data/models/regime)"),
        "{text}"
    );
}

#[test]
fn a_store_without_an_index_uses_realised_volatility() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "samples", "--store", "s"]);
    let out = tradebot(cwd, &["regimes", "--store", "s"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("the store has no daily bars for `SPY` (market); daily symbols: GOOG"), "{err}");
    let report =
        json(cwd, &["regimes", "--store", "s", "--market", "GOOG", "--index", "none", "--train", "--json"]);
    assert_eq!(report["index"], serde_json::Value::Null);
    assert_eq!(report["days"], 2148);
    assert_eq!(report["today"]["index_close"], serde_json::Value::Null);
    assert!(report["today"]["realised_vol_pct"].as_f64().unwrap() > 0.0);
    let features: Vec<&str> = report["model"]["features"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(
        features,
        ["drawdown", "rule_regime", "days_in_regime"],
        "unit features; no index, no breadth"
    );
    // The first 21 days have no realised volatility yet: no regime.
    assert_eq!(report["history"][0]["first"], "2004-09-20");
}

#[test]
fn a_short_history_warns_and_still_trains() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "generate", "--symbols", "5", "--years", "2", "--seed", "1", "--store", "s"]);
    let (text, stderr) = ok(cwd, &["regimes", "--store", "s", "--train"]);
    assert!(
        stderr.contains("warning: regime `crisis` has only 10 training examples (min_samples_per_regime 30)"),
        "{stderr}"
    );
    assert!(stderr.contains("no out-of-sample scores"), "{stderr}");
    assert!(text.contains("No out-of-sample scores"), "{text}");
    let (_, quiet) = ok(cwd, &["regimes", "--store", "s", "--train", "--min-samples-per-regime", "5"]);
    assert!(!quiet.contains("training examples"), "{quiet}");
}

#[test]
fn a_missing_store_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = tradebot(dir.path(), &["regimes"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no bar store at data/store: build one with `tradebot data generate`"), "{err}");
    let bad = tradebot(dir.path(), &["regimes", "--index-thresholds", "25,15,35"]);
    assert!(String::from_utf8(bad.stderr).unwrap().contains("--index-thresholds"));
}

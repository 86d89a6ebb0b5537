//! End to end: `tradebot sweep` on the shipped GOOG experiment, with a temporary database.

use std::process::Command;

#[test]
fn sweep_goog_prints_json_writes_csv_and_records_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped file's `[output]` paths (`../results/…`) are relative to the file: a copy in
    // experiments/ of the temporary directory writes to its results/.
    std::fs::create_dir(dir.path().join("experiments")).unwrap();
    let config = "experiments/sma_cross_goog.toml";
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/sma_cross_goog.toml"),
        dir.path().join(config),
    )
    .unwrap();
    let db = dir.path().join("research.db");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_tradebot"))
            .current_dir(dir.path())
            .args(["sweep", config, "--threads", "2", "--json", "--db"])
            .arg(&db)
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // fast 2..=100 × slow 3..=200: 99 × 198 = 19,602 pairs, 4,851 with fast >= slow.
    assert_eq!(json["combinations"], 14_751);
    assert_eq!(json["skipped"], 4_851);
    assert_eq!(json["fast_path"], true);
    assert_eq!(json["sweep_id"], 1);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 20, "output.top rows");
    let best = &results[0];
    assert_eq!(best["rank"], 1);
    assert_eq!(best["params"], serde_json::json!({ "fast": 12, "slow": 15 }));
    assert_eq!(best["metrics"]["trades"], 83);
    let sharpe = best["metrics"]["sharpe"].as_f64().unwrap();
    assert!((sharpe - 1.363).abs() < 5e-4, "{sharpe}");
    assert!(best["metrics"]["sortino"].is_f64(), "the top rows are evaluated in full");

    let csv = std::fs::read_to_string(dir.path().join("results/sma_cross_goog.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("symbol,rank,fast,slow,trades,final_equity,total_return"));
    assert!(lines.next().unwrap().starts_with(",1,12,15,83,"));
    assert_eq!(csv.lines().count(), 1 + 14_751);
    assert!(dir.path().join("results/sma_cross_goog.json").exists());

    let again = run();
    assert!(again.status.success());
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(json["sweep_id"], 2, "a second run adds a second sweep");
}

#[test]
fn a_bad_experiment_names_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    let text = "[experiment]\nname = \"bad\"\nstrategy = \"sma_cross\"\n[data]\nsample = \"GOOG\"\n\
                [params]\nfast = { min = 2, max = 500 }\n";
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .args(["sweep", "--db"])
        .arg(dir.path().join("r.db"))
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "bad.toml:7: key `params.fast.max`: 500 is not allowed for `fast`: expected an integer in 2..=200"
        ),
        "{stderr}"
    );
    assert!(!dir.path().join("r.db").exists(), "nothing is recorded for a bad file");
}

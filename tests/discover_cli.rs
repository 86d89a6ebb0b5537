//! End to end: `tradebot discover` (progress, stop and resume), `tradebot candidates`,
//! `tradebot promote` / `demote` on the embedded GOOG sample, with temporary directories.

use std::process::Output;

use serde_json::Value;

#[path = "support/tb.rs"]
mod tb;
use tb::succeeds as tradebot;

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn discover_stop_resume_candidates_promote_demote() {
    let dir = tempfile::tempdir().unwrap();
    let file = tb::quick_discover_experiment(dir.path(), "discover.toml");
    let stopped =
        json(&tradebot(dir.path(), &["discover", &file, "--json", "--db", "r.db", "--stop-after", "2"]));
    assert_eq!(stopped["status"], "stopped");
    let run = stopped["run_id"].to_string();
    let v = json(&tradebot(dir.path(), &["discover", "--resume", &run, "--json", "--db", "r.db"]));
    assert_eq!((v["status"].as_str(), v["generations"].as_u64()), (Some("finished"), Some(6)));
    let straight = json(&tradebot(dir.path(), &["discover", &file, "--json", "--db", "s.db"]));
    let keys =
        |v: &Value| v["candidates"].as_array().unwrap().iter().map(|c| c["key"].clone()).collect::<Vec<_>>();
    assert_eq!(keys(&v), keys(&straight), "a resumed run finds what an uninterrupted one does");
    assert!(v["sharing"].as_f64().unwrap() > 0.0);
    // `runs show` reads the discover run's summary into its type: one row per candidate.
    let shown = tradebot(dir.path(), &["runs", "show", &run, "--db", "r.db"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    let rows = text
        .split("candidates, best first (in-sample | out-of-sample):\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    let rows: Vec<&str> = rows.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), v["candidates"].as_array().unwrap().len(), "{text}");
    assert!(rows[1..].iter().all(|r| r.contains("failed selection")), "{rows:#?}");
    assert!(text.contains("  generations: 6\n"), "{text}");
    assert!(!text.contains("not readable"), "{text}");

    let passed = v["passed"].as_array().unwrap();
    assert!(!passed.is_empty(), "{v:#}");
    let id = passed[0].to_string();
    let list = json(&tradebot(dir.path(), &["candidates", "list", "--json", "--db", "r.db"]));
    assert_eq!(list.as_array().unwrap().len(), passed.len());
    let shown =
        String::from_utf8(tradebot(dir.path(), &["candidates", "show", &id, "--db", "r.db"]).stdout).unwrap();
    assert!(shown.contains("; lineage: generation") && shown.contains("(strategy"), "{shown}");
    assert!(dir.path().join(format!("candidates/{id}.sexp")).exists());

    let out = String::from_utf8(
        tradebot(dir.path(), &["promote", &id, "--allocation", "0.2", "--db", "r.db", "--promoted", "p"])
            .stdout,
    )
    .unwrap();
    assert!(out.contains(&format!("as `gp-{id}`")) && out.contains("version 1"), "{out}");
    let set: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p/v000001.json")).unwrap()).unwrap();
    assert_eq!(set["strategies"][0]["spec"]["kind"], "gp");
    let listed = json(&tradebot(dir.path(), &["candidates", "list", "--json", "--db", "r.db"]));
    assert!(listed.as_array().unwrap().iter().any(|c| c["promoted_id"] == format!("gp-{id}")));
    let out =
        String::from_utf8(tradebot(dir.path(), &["demote", &id, "--db", "r.db", "--promoted", "p"]).stdout)
            .unwrap();
    assert!(out.contains("version 2") && out.contains("holds 0 strategies"), "{out}");
}

/// A research file whose `[discover]` section runs discovery after the families.
const RESEARCH: &str = r#"
[research]
name = "with_discovery"
[families.sma_cross]
params = { fast = { min = 2, max = 30 }, slow = { min = 10, max = 120 } }
[discover]
population = 30
generations = 3
[discover.gates]
min_oos_sharpe = -100
min_dsr = 0
min_oos_trades = 1
max_drawdown = 1
[evolve]
population = 12
generations = 3
seed = 1
[fitness]
min_trades = 3
"#;

#[test]
fn research_runs_discovery_when_the_file_enables_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tradebot(d, &["data", "generate", "--symbols", "10", "--years", "3", "--store", "store"]);
    std::fs::write(d.join("research.toml"), RESEARCH).unwrap();
    let out = tradebot(d, &["research", "research.toml", "--store", "store", "--db", "r.db", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("discovery run #"), "{stderr}");
    let runs = json(&tradebot(d, &["runs", "list", "--json", "--db", "r.db"]));
    let research = runs.as_array().unwrap().iter().find(|r| r["kind"] == "research").unwrap();
    let summary = &research["summary"]["discovery"];
    assert!(summary["trials"].as_u64().unwrap() > 0, "{research:#}");
    let gp = runs.as_array().unwrap().iter().find(|r| r["strategy"] == "gp").unwrap();
    assert_eq!(
        (&gp["parent"], &gp["status"], &gp["generations"]),
        (&research["id"], &"finished".into(), &3.into())
    );
    let candidates = json(&tradebot(d, &["candidates", "list", "--json", "--db", "r.db"]));
    assert_eq!(candidates.as_array().unwrap().len(), summary["passed"].as_array().unwrap().len());
}

/// `tradebot promote --strategy-file`: the set stores the file's text verbatim with its content
/// hash, its params' values (`--param`, the others at their defaults) and the backtest on
/// `--data`; loaded back by the live bridge's reader it reproduces that backtest bit for bit;
/// promoting it again changes nothing; a file that is not a strategy is refused naming its line
/// and column.
#[test]
fn a_strategy_file_is_promoted_with_its_text_and_hash_and_reproduces() {
    use datasets::ingest::{ImportOptions, read_file};
    use kernel::strategy::{MarketData, SymbolData};

    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("strategies/mean_reversion.tbs");
    let args = [
        "promote",
        "--strategy-file",
        file.to_str().unwrap(),
        "--data",
        "sample:GOOG",
        "--param",
        "window=30",
    ];
    let out = tb::ok(dir.path(), &[&args[..], &["--allocation", "0.3", "--promoted", "p"]].concat());
    assert!(
        out.starts_with("promoted strategy file ")
            && out.contains("as `mean_reversion` (allocation 0.3): version 1"),
        "{out}"
    );
    let set: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p/v000001.json")).unwrap()).unwrap();
    let spec = &set["strategies"][0]["spec"];
    assert_eq!(
        (spec["kind"].as_str(), spec["text"].as_str()),
        (Some("file"), Some(std::fs::read_to_string(&file).unwrap().as_str()))
    );
    assert_eq!(spec["hash"].as_str().map(str::len), Some(16));
    let params = serde_json::json!({"window": 30, "entry_z": 2.0, "exit_z": 0.0, "rsi_period": 14, "rsi_oversold": 35.0});
    assert_eq!(spec["params"], params);

    let series =
        read_file(&root.join("datasets/samples/GOOG.csv"), &ImportOptions::default()).unwrap().remove(0);
    let meta = datasets::SymbolMeta::new("GOOG", datasets::AssetClass::Equity);
    let goog = MarketData::new(series.timeframe, vec![SymbolData { meta, bars: series.bars }]).unwrap();
    let loaded = promoted::PromotedDir::new(dir.path().join("p")).current().unwrap().unwrap();
    let strategy = loaded.get("mean_reversion").unwrap();
    assert!(strategy.recorded.as_ref().unwrap().figures.trades >= 5);
    strategy.reproduce(&goog).unwrap();

    let again = tb::ok(dir.path(), &[&args[..], &["--allocation", "0.3", "--promoted", "p"]].concat());
    assert!(
        again.contains("is already promoted as `mean_reversion`") && again.contains("unchanged (v1)"),
        "{again}"
    );

    std::fs::write(dir.path().join("bad.tbs"), "; mine\n(strategy\n  (entry (gt close)))\n").unwrap();
    let bad = tb::run(
        dir.path(),
        &["promote", "--strategy-file", "bad.tbs", "--data", "sample:GOOG", "--promoted", "p"],
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("bad.tbs:3:19: expected a number, found `)`"), "{err}");
}

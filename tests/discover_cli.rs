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

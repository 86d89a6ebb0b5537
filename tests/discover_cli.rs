//! End to end: `tradebot discover` (progress, stop and resume), `tradebot candidates`,
//! `tradebot promote` / `demote` on the embedded GOOG sample, with temporary directories.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn tradebot(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tradebot")).current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "tradebot {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The shipped example with a smaller search and gates every tested genome that trades
/// out of sample passes.
fn experiment(dir: &Path) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/discover_goog.toml"))
        .unwrap()
        .replace("population = 120", "population = 40")
        .replace("generations = 25", "generations = 6")
        .replace("min_oos_sharpe = 0.5", "min_oos_sharpe = -100")
        .replace("min_dsr = 0.9", "min_dsr = 0")
        .replace("min_oos_trades = 10", "min_oos_trades = 1")
        .replace("max_drawdown = 0.35", "max_drawdown = 1");
    std::fs::write(dir.join("discover.toml"), text).unwrap();
    "discover.toml".into()
}

#[test]
fn discover_stop_resume_candidates_promote_demote() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path());
    let stopped = json(&tradebot(dir.path(), &["discover", &file, "--json", "--db", "r.db", "--stop-after", "2"]));
    assert_eq!(stopped["status"], "stopped");
    let run = stopped["run_id"].to_string();
    let v = json(&tradebot(dir.path(), &["discover", "--resume", &run, "--json", "--db", "r.db"]));
    assert_eq!((v["status"].as_str(), v["generations"].as_u64()), (Some("finished"), Some(6)));
    let straight = json(&tradebot(dir.path(), &["discover", &file, "--json", "--db", "s.db"]));
    let keys = |v: &Value| v["candidates"].as_array().unwrap().iter().map(|c| c["key"].clone()).collect::<Vec<_>>();
    assert_eq!(keys(&v), keys(&straight), "a resumed run finds what an uninterrupted one does");
    assert!(v["sharing"].as_f64().unwrap() > 0.0);

    let passed = v["passed"].as_array().unwrap();
    assert!(!passed.is_empty(), "{v:#}");
    let id = passed[0].to_string();
    let list = json(&tradebot(dir.path(), &["candidates", "list", "--json", "--db", "r.db"]));
    assert_eq!(list.as_array().unwrap().len(), passed.len());
    let shown = String::from_utf8(tradebot(dir.path(), &["candidates", "show", &id, "--db", "r.db"]).stdout).unwrap();
    assert!(shown.contains("; lineage: generation") && shown.contains("(strategy"), "{shown}");
    assert!(dir.path().join(format!("candidates/{id}.sexp")).exists());

    let out = String::from_utf8(
        tradebot(dir.path(), &["promote", &id, "--allocation", "0.2", "--db", "r.db", "--promoted", "p"]).stdout,
    )
    .unwrap();
    assert!(out.contains(&format!("as `gp-{id}`")) && out.contains("version 1"), "{out}");
    let set: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p/v000001.json")).unwrap()).unwrap();
    assert_eq!(set["strategies"][0]["spec"]["kind"], "gp");
    let listed = json(&tradebot(dir.path(), &["candidates", "list", "--json", "--db", "r.db"]));
    assert!(listed.as_array().unwrap().iter().any(|c| c["promoted_id"] == format!("gp-{id}")));
    let out = String::from_utf8(tradebot(dir.path(), &["demote", &id, "--db", "r.db", "--promoted", "p"]).stdout).unwrap();
    assert!(out.contains("version 2") && out.contains("holds 0 strategies"), "{out}");
}

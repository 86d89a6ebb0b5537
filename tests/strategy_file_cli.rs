//! End-to-end tests of strategy files (`.tbs`): `tradebot check`, `backtest --strategy-file`,
//! `sweep` and `evolve` over a file's params, and a file run as a research family and promoted
//! from it.

use std::path::Path;

use serde_json::Value;

#[path = "support/tb.rs"]
mod tb;
use tb::{ok, run as tradebot};

/// `sma_cross` written as a strategy file: the same rule as the built-in family.
const CROSS: &str = "; sma_cross as a file
(param fast int 10 2 100)
(param slow int 20 3 200)
(strategy
  (entry (cross-above (sma fast close) (sma slow close)))
  (exit (cross-below (sma fast close) (sma slow close))))
";

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn stderr_of(dir: &Path, args: &[&str]) -> String {
    let out = tradebot(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} must fail with exit 1");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn check_prints_params_and_the_simplified_rule_and_errors_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cross.tbs", CROSS);
    let out = ok(d, &["check", "cross.tbs", "--param", "fast=5"]);
    assert!(out.starts_with("cross.tbs: ok, 2 params, hash "), "{out}");
    assert!(out.contains("    fast                   an integer in 2..=100, default 10\n"), "{out}");
    assert!(
        out.contains(
            "simplified at fast=5 slow=20:\n(strategy\n  (entry (cross-above (sma 5 close) (sma 20 close)))"
        ),
        "{out}"
    );
    // Every shipped example checks.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/strategies/trend_pullback.tbs");
    assert!(ok(d, &["check", shipped]).contains("ok, 3 params"));

    write(d, "typo.tbs", &CROSS.replace("(sma slow close)))\n  (exit", "(smaa slow close)))\n  (exit"));
    let err = stderr_of(d, &["check", "typo.tbs"]);
    assert_eq!(err.trim(), "Error: typo.tbs:5:41: unknown numeric operator `smaa`; did you mean `sma`?");
    write(d, "bounds.tbs", &CROSS.replace("(param slow int 20 3 200)", "(param slow int 20 3 400)"));
    let err = stderr_of(d, &["check", "bounds.tbs"]);
    assert!(
        err.contains(
            "bounds.tbs:5:45: param `slow` ranges over 3..=400 but the window of `sma` takes 1..=250"
        ),
        "{err}"
    );
    let err = stderr_of(d, &["check", "cross.tbs", "--param", "fast=500"]);
    assert!(err.contains("parameter `fast` = 500 is invalid: expected an integer in 2..=100"), "{err}");
    // Hostile: 100,000 nested forms are refused, not a stack overflow.
    let deep =
        format!("(strategy (entry {}true{}) (exit true))", "(not ".repeat(100_000), ")".repeat(100_000));
    write(d, "deep.tbs", &deep);
    assert!(stderr_of(d, &["check", "deep.tbs"]).contains("deep.tbs:1:"));
}

/// `sma_cross` as a file gives the built-in family's trades and figures on GOOG, bit for bit.
#[test]
fn a_file_backtests_like_the_built_in_family_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cross.tbs", CROSS);
    let args = ["backtest", "--data", "sample:GOOG", "--param", "fast=10,slow=20", "--keep-open", "--json"];
    let file: Value =
        serde_json::from_str(&ok(d, &[&args[..], &["--strategy-file", "cross.tbs"]].concat())).unwrap();
    let family: Value =
        serde_json::from_str(&ok(d, &[&args[..], &["--strategy", "sma_cross"]].concat())).unwrap();
    assert_eq!(file["strategy"], "cross.tbs", "a file runs under its file name, never a family's");
    assert_eq!(file["trades"], 46);
    for key in ["trades", "final_equity", "sharpe", "max_drawdown_pct", "win_rate_pct", "exposure_pct"] {
        assert_eq!(file[key], family[key], "{key}");
    }
    // A file that writes its own stop refuses the command line's.
    write(d, "stopped.tbs", &CROSS.replace("(sma slow close))))", "(sma slow close)))\n  (stop-loss 0.05))"));
    let err = stderr_of(
        d,
        &["backtest", "--data", "sample:GOOG", "--strategy-file", "stopped.tbs", "--stop-loss", "0.1"],
    );
    assert!(err.contains("stopped.tbs writes its own stops"), "{err}");
    let stopped: Value = serde_json::from_str(&ok(
        d,
        &["backtest", "--data", "sample:GOOG", "--strategy-file", "stopped.tbs", "--json"],
    ))
    .unwrap();
    assert_ne!(stopped["final_equity"], file["final_equity"], "the file's stop-loss applies");
}

/// An experiment's `strategy_file` (relative to the experiment file) is swept and evolved over
/// the file's params; a broken file is named with its line and column.
#[test]
fn sweep_and_evolve_run_over_a_files_params() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "strategies/cross.tbs", CROSS);
    let sweep = "[experiment]\nname = \"cross_sweep\"\nstrategy_file = \"../strategies/cross.tbs\"\n\
                 [data]\nsample = \"GOOG\"\n[params]\nfast = { values = [5, 10] }\nslow = { values = [20, 50] }\n";
    write(d, "experiments/sweep.toml", sweep);
    let out: Value =
        serde_json::from_str(&ok(d, &["sweep", "experiments/sweep.toml", "--db", "r.db", "--json"])).unwrap();
    assert_eq!(out["strategy"], "cross.tbs");
    let swept: Vec<String> =
        out["results"].as_array().unwrap().iter().map(|r| r["params"].to_string()).collect();
    assert_eq!(swept.len(), 4, "{out}");
    assert!(swept.contains(&r#"{"fast":5,"slow":50}"#.to_string()), "{swept:?}");
    // The file's cross equals the built-in family's at the same params (GOOG, closed at the end).
    assert_eq!(out["results"][0]["params"].to_string(), r#"{"fast":10,"slow":20}"#);
    assert_eq!(out["results"][0]["metrics"]["final_equity"], 75_645.990_000_000_02);

    let evolve = sweep
        .replace("cross_sweep", "cross_evolve")
        .replace("[params]", "[evolve]\npopulation = 8\ngenerations = 2\nseed = 3\n[params]")
        .replace(
            "fast = { values = [5, 10] }\nslow = { values = [20, 50] }\n",
            "fast = { min = 2, max = 30 }\n",
        );
    write(d, "experiments/evolve.toml", &evolve);
    let out: Value =
        serde_json::from_str(&ok(d, &["evolve", "experiments/evolve.toml", "--db", "r.db", "--json"]))
            .unwrap();
    assert_eq!(out["strategy"], "cross.tbs", "{out}");

    // The run stores the strategy file's text with the experiment's; resuming after the file
    // changed is refused.
    let stopped = ok(d, &["evolve", "experiments/evolve.toml", "--db", "r.db", "--stop-after", "1"]);
    let id = stopped.split("--resume ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_string();
    let runs = ok(d, &["runs", "show", &id, "--db", "r.db"]);
    assert!(runs.contains("cross_evolve"), "{runs}");
    write(
        d,
        "strategies/cross.tbs",
        &CROSS.replace("(param slow int 20 3 200)", "(param slow int 30 3 200)"),
    );
    let err = stderr_of(d, &["evolve", "--resume", &id, "--db", "r.db"]);
    assert!(err.contains("strategies/cross.tbs changed since this experiment's text was stored"), "{err}");
    write(d, "strategies/cross.tbs", CROSS);
    ok(d, &["evolve", "--resume", &id, "--db", "r.db"]);

    write(
        d,
        "experiments/both.toml",
        &sweep.replace("strategy_file", "strategy = \"sma_cross\"\nstrategy_file"),
    );
    assert!(stderr_of(d, &["sweep", "experiments/both.toml"]).contains("give exactly one of `strategy`"));
    write(
        d,
        "strategies/cross.tbs",
        &CROSS.replace("(param fast int 10 2 100)", "(param fast float 10 2 100)"),
    );
    let err = stderr_of(d, &["sweep", "experiments/sweep.toml"]);
    assert!(err.contains("key `experiment.strategy_file`: strategies/cross.tbs:5:"), "{err}");
    assert!(err.contains("param `fast` is a float but the window of `sma` takes a whole number"), "{err}");
}

/// `[families.my_idea] strategy_file = "…"` runs the file as a research family: evolved,
/// validated and reported under the table's name beside a built-in family. `tradebot promote
/// --family my_idea` then stores it as a file entry — the file's text, hash and the parameters
/// the research validated — with its backtest on the research universe; loaded back as the live
/// bridge loads it, it reproduces that backtest bit for bit (the reproduction check), and its
/// equity over the in-sample bars is the research's in-sample curve, bit for bit.
#[test]
fn a_strategy_file_runs_as_a_research_family() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["data", "generate", "--symbols", "8", "--years", "3", "--store", "store"]);
    write(d, "strategies/cross.tbs", CROSS);
    let research = "[research]\nname = \"mine\"\n[families.my_idea]\nstrategy_file = \"strategies/cross.tbs\"\n\
                    params = { fast = { min = 2, max = 20 } }\n[families.sma_cross]\n\
                    [evolve]\npopulation = 8\ngenerations = 2\nseed = 1\n[validation]\nin_sample = 0.7\npbo_blocks = 4\n\
                    [fitness]\nmin_trades = 1\n";
    write(d, "mine.toml", research);
    let out = tradebot(
        d,
        &["research", "mine.toml", "--store", "store", "--db", "r.db", "--json", "--threads", "2"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let families = report["families"].as_array().unwrap();
    let mine = families.iter().find(|f| f["family"] == "my_idea").unwrap_or_else(|| panic!("{report}"));
    let builtin = families.iter().find(|f| f["family"] == "sma_cross").unwrap();
    assert!(["enable", "keep", "disable"].contains(&mine["verdict"].as_str().unwrap()), "{mine}");
    assert_eq!(mine["generations"], 2);
    assert!(!mine["reason"].as_str().unwrap().is_empty());
    assert!(builtin["verdict"].is_string());

    let promote = ["promote", "--family", "my_idea", "--research", "mine.toml", "--store", "store"];
    let said = ok(d, &[&promote[..], &["--db", "r.db", "--promoted", "p", "--allocation", "0.3"]].concat());
    assert!(
        said.starts_with("promoted research family my_idea as `my_idea` (allocation 0.3): version 1"),
        "{said}"
    );
    let set: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("p/v000001.json")).unwrap()).unwrap();
    let spec = &set["strategies"][0]["spec"];
    assert_eq!((spec["kind"].as_str(), spec["text"].as_str()), (Some("file"), Some(CROSS)));
    // The parameters are the research's validated winner's, exactly (its run's summary).
    let db = evolve::db::ResearchDb::open(&d.join("r.db")).unwrap();
    let night = db.latest_finished(evolve::db::RunKind::Research, "mine").unwrap().unwrap();
    let run = db.child_runs(night.id).unwrap().into_iter().find(|r| r.strategy == "my_idea").unwrap();
    let summary: Value = serde_json::from_str(run.summary.as_deref().unwrap()).unwrap();
    assert_eq!(spec["params"], summary["winner"]["params"]);

    let store = datasets::store::Store::open(d.join("store")).unwrap();
    let data = experiments::research::universe(&store, datasets::Timeframe::Day1, "SPY", None).unwrap();
    let loaded = promoted::PromotedDir::new(d.join("p")).current().unwrap().unwrap();
    let bt = loaded.get("my_idea").unwrap().reproduce(&data).unwrap();
    let curve = mine["in_sample_equity"].as_array().unwrap();
    assert!(curve.len() > 100, "{}", curve.len());
    let equity = bt.result.equity();
    for (k, point) in curve.iter().enumerate() {
        assert_eq!(point[1].as_f64().unwrap().to_bits(), equity[k].to_bits(), "in-sample bar {k}");
    }
    let unknown =
        ["promote", "--family", "nope", "--research", "mine.toml", "--store", "store", "--db", "r.db"];
    let err = stderr_of(d, &[&unknown[..], &["--promoted", "p"]].concat());
    let never = stderr_of(d, &[&promote[..], &["--db", "other.db", "--promoted", "p"]].concat());
    assert!(never.contains("the database holds no finished research run named `mine`"), "{never}");
    assert!(
        err.contains(
            "promoting family `nope`: not an enabled family of research `mine` (families: my_idea, sma_cross)"
        ),
        "{err}"
    );

    write(d, "clash.toml", &research.replace("[families.my_idea]", "[families.mean_reversion]"));
    let err = stderr_of(d, &["research", "clash.toml", "--store", "store", "--db", "r.db"]);
    assert!(err.contains("key `families.mean_reversion`: is a built-in family"), "{err}");
}

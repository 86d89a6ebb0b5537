//! The ground-truth tooling from the command line: null and planted universes
//! (`data generate --null / --effects`) and `bench truth`.

use std::path::Path;

#[path = "support/tb.rs"]
mod tb;
use tb::run as tradebot;

fn ok(cwd: &Path, args: &[&str]) -> String {
    let out = tradebot(cwd, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &stderr
}

fn failing(cwd: &Path, args: &[&str]) -> String {
    let out = tradebot(cwd, args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn generate_writes_null_and_planted_universes_and_notes_that_they_are_synthetic() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let small = ["data", "generate", "--symbols", "4", "--years", "1", "--seed", "3"];
    let said = ok(cwd, &[&small[..], &["--null", "--store", "null"]].concat());
    assert!(said.contains("planted effects: none"), "{said}");
    let said = ok(cwd, &[&small[..], &["--effects", "mean_reversion,premium", "--store", "two"]].concat());
    assert!(said.contains("planted effects: mean_reversion,premium"), "{said}");
    ok(cwd, &[&small[..], &["--store", "all"]].concat());
    let note = std::fs::read_to_string(cwd.join("null/SYNTHETIC.json")).unwrap();
    assert!(note.contains(r#""effects": "none""#), "{note}");
    let note = std::fs::read_to_string(cwd.join("all/SYNTHETIC.json")).unwrap();
    assert!(note.contains(r#""effects": "all""#), "{note}");
    // The same calendar and symbols, different bars.
    let bars = |store: &str| std::fs::read(cwd.join(store).join("MANIFEST.json")).unwrap();
    assert_ne!(bars("null"), bars("all"));

    let err =
        failing(cwd, &[&small[..], &["--effects", "mean_reversion,momentum", "--store", "bad"]].concat());
    assert!(err.contains("unknown planted effect `momentum`") && err.contains("sector_momentum"), "{err}");
    let err = failing(cwd, &[&small[..], &["--null", "--effects", "all", "--store", "bad"]].concat());
    assert!(err.contains("cannot be used with"), "{err}");
    let err = failing(cwd, &[&small[..], &["--strength", "0", "--store", "bad"]].concat());
    assert!(err.contains("must be a positive number") && err.contains("`0`"), "{err}");
    // A stronger universe says so, and its stocks carry dated fundamentals reports.
    let said = ok(cwd, &[&small[..], &["--strength", "4", "--store", "strong"]].concat());
    assert!(said.contains("planted effects: all at 4× strength"), "{said}");
    let note = std::fs::read_to_string(cwd.join("strong/SYNTHETIC.json")).unwrap();
    assert!(note.contains(r#""strength": 4.0"#), "{note}");
    // Named effects at their own strength, the rest at 1; bad entries name the flag and value.
    let said = ok(
        cwd,
        &[&small[..], &["--strength", "mean_reversion=3,premium=2.5", "--store", "two-strong"]].concat(),
    );
    assert!(
        said.contains(
            "planted effects: all with mean_reversion at 3× and premium at 2.5× strength (the rest at 1×)"
        ),
        "{said}"
    );
    let note = std::fs::read_to_string(cwd.join("two-strong/SYNTHETIC.json")).unwrap();
    assert!(note.contains(r#""strength": "mean_reversion=3,premium=2.5""#), "{note}");
    for (bad, says) in [
        ("momentum=2", "unknown planted effect `momentum`"),
        ("premium=0", "the strength of `premium` must be a positive number"),
        ("anchor=2", "`anchor` has no strength to scale"),
    ] {
        let err = failing(cwd, &[&small[..], &["--strength", bad, "--store", "bad"]].concat());
        assert!(err.contains("--strength") && err.contains(bad) && err.contains(says), "{err}");
    }
    let manifest = String::from_utf8(bars("strong")).unwrap();
    assert!(
        manifest.contains(r#""reports""#) && manifest.contains(r#""known""#),
        "dated reports in the manifest"
    );
    assert!(!cwd.join("bad").exists());
}

/// A small research file: two daily families, one on bars no synthetic store has, a tiny GA.
const TINY: &str = r#"
[research]
name = "truth"
[families.mean_reversion]
[families.quality_smallcap_value]
[families.sma_cross]
timeframe = "1Hour"
[evolve]
population = 6
generations = 2
seed = 1
"#;

#[test]
fn bench_truth_scores_null_and_planted_universes_and_says_what_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::write(cwd.join("tiny.toml"), TINY).unwrap();
    let args = [
        "bench",
        "truth",
        "--seeds",
        "1",
        "--first-seed",
        "5",
        "--symbols",
        "3",
        "--years",
        "2",
        "--strength",
        "2",
    ];
    let out = tradebot(cwd, &[&args[..], &["--config", "tiny.toml", "--json", "--threads", "2"]].concat());
    let table = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "bench truth --json failed: {table}");
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    let start = json.find('{').unwrap();
    let end = json.rfind('}').unwrap();
    let t: serde_json::Value = serde_json::from_str(&json[start..=end]).unwrap();
    assert_eq!(t["null_seeds"], serde_json::json!([5]));
    assert_eq!(t["planted_seeds"], serde_json::json!([6]));
    assert_eq!(t["strength"], 2.0);
    // Each night's trials and the effective number of independent ones the DSR deflated by.
    let nights = t["nights"].as_array().unwrap();
    assert_eq!(nights.len(), 2);
    for n in nights {
        let (trials, effective) = (n["trials"].as_u64().unwrap(), n["effective"].as_u64().unwrap());
        assert!(effective >= 1 && effective <= trials, "{n}");
    }
    let families = t["families"].as_array().unwrap();
    let names: Vec<&str> = families.iter().map(|f| f["family"].as_str().unwrap()).collect();
    assert_eq!(names, ["mean_reversion", "quality_smallcap_value", "sma_cross"]);
    assert_eq!(families[0]["effects"], serde_json::json!(["mean_reversion"]));
    assert_eq!(families[0]["null"]["runs"], 1);
    assert_eq!(families[0]["planted"]["runs"], 1);
    assert_eq!(families[2]["null"]["skipped"], 1);
    // Each run records the gates its winner failed and the oracle's strength and power: on two
    // years of three stocks nothing is strong enough; quality_smallcap_value reads the
    // synthetic stocks' dated reports, so it is point in time.
    let planted = &families[1]["planted_runs"][0];
    let failed: Vec<&str> =
        planted["failed"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(!failed.is_empty() && !failed.contains(&"point_in_time"), "{planted}");
    let oracle = &families[0]["null_runs"][0]["oracle"];
    assert!((0.0..=1.0).contains(&oracle["power"].as_f64().unwrap()), "{oracle}");
    assert!(oracle["oos_sharpe_for_80"].as_f64().unwrap() > 2.0, "{oracle}");
    let skips = t["skips"].as_array().unwrap();
    assert_eq!(skips.len(), 2, "{skips:?}");
    assert!(skips[0][2].as_str().unwrap().contains("no 1Hour universe"), "{skips:?}");
    assert!(t["false_enable_rate"].as_f64().is_some());
    // Each family's prediction is in the JSON, and the table on stderr prints the same reading.
    assert!(table.contains("| strength for 80 % power | binding gate | reading |"), "{table}");
    for f in families {
        let p = &f["prediction"];
        for field in ["power", "strength_for_80", "binding", "no_strength"] {
            assert!(p.get(field).is_some(), "{field}: {f}");
        }
        let row = format!("| {} |", f["family"].as_str().unwrap());
        let line = table.lines().rfind(|l| l.starts_with(&row)).unwrap_or_else(|| panic!("{table}"));
        assert!(line.ends_with(&format!("| {} |", p["reading"].as_str().unwrap())), "{line} vs {p}");
    }
    // Nothing is left behind in the working directory (discovery's candidates included).
    let left: Vec<_> = std::fs::read_dir(cwd).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["tiny.toml"]);

    let err = failing(cwd, &["bench", "truth", "--seeds", "0"]);
    assert!(
        err.contains("--seeds 0: the benchmark needs at least one null and one planted universe"),
        "{err}"
    );
}

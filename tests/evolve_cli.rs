//! End to end: `tradebot evolve` (resume, threads), `tradebot runs` and `tradebot research` on a
//! small generated universe — always with temporary stores and databases.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

#[path = "support/tb.rs"]
mod tb;
use tb::succeeds as tradebot;

const EXPERIMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/mean_reversion_goog_evolve.toml");

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `runs show --json` with the wall-clock figures removed, for comparing two runs.
fn history(dir: &Path, db: &str, id: &Value) -> Value {
    let mut shown =
        json(&tradebot(dir, &["runs", "show", &id.to_string(), "--json", "--top", "10", "--db", db]));
    for g in shown["generations"].as_array_mut().unwrap() {
        g.as_object_mut().unwrap().remove("elapsed_ms");
    }
    shown["events"].as_array_mut().unwrap().retain(|e| e["kind"] != "stopped" && e["kind"] != "resumed");
    for key in ["best", "generations", "events"] {
        assert!(shown[key].as_array().is_some(), "{key}");
    }
    Value::Array(vec![shown["generations"].clone(), shown["events"].clone(), shown["best"].clone()])
}

#[test]
fn evolve_validates_out_of_sample_and_records_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = tradebot(dir.path(), &["evolve", EXPERIMENT, "--json", "--threads", "2", "--db", "r.db"]);
    let v = json(&out);
    assert_eq!(v["status"], "finished");
    assert_eq!(v["generations"], 20);
    assert_eq!(v["strategy"], "mean_reversion");
    // GOOG has 2,148 bars: 70 % in sample.
    assert_eq!((v["in_sample_bars"].as_u64(), v["out_of_sample_bars"].as_u64()), (Some(1504), Some(644)));
    let trials = v["trials"].as_u64().unwrap();
    assert!(trials > 32 && trials <= 32 * 20, "distinct genomes evaluated: {trials}");
    let w = &v["winner"];
    assert!(w["in_sample"]["sharpe"].as_f64().unwrap() > 0.0, "{w}");
    assert!(w["out_of_sample"]["sharpe"].as_f64().is_some(), "out-of-sample figures sit next to in-sample");
    let dsr = w["deflated_sharpe"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&dsr), "{dsr}");
    // Capital at work is one of the winner's figures, in and out of sample, not a field beside them.
    for stage in ["in_sample", "out_of_sample"] {
        let at_work = w[stage]["capital_at_work"].as_f64().unwrap_or_else(|| panic!("{stage}: {w}"));
        assert!(at_work > 0.0 && at_work <= 1.0, "{stage}: {at_work}");
    }
    assert!(w.get("is_capital_at_work").is_none(), "{w}");
    let window = w["params"]["window"].as_i64().unwrap();
    assert!((5..=60).contains(&window), "the [params] range bounds the search: {window}");
    assert!([7, 14, 21].contains(&w["params"]["rsi_period"].as_i64().unwrap()));

    let list = json(&tradebot(dir.path(), &["runs", "list", "--json", "--db", "r.db"]));
    assert_eq!(list[0]["id"], v["run_id"]);
    assert_eq!(list[0]["status"], "finished");
    assert_eq!(list[0]["generations"], 20);
    let summary = &list[0]["summary"]["winner"];
    assert_eq!(summary["params"], w["params"], "the summary holds the validated winner");
    let fame = list[0]["summary"]["hall_of_fame"].as_array().unwrap();
    assert_eq!(fame.len(), 5, "hall_of_fame = 5 by default");
    // The best of the hall of fame is the winner; only the winner's capital at work is measured.
    let without_capital = |figures: &Value| {
        let mut figures = figures.clone();
        figures.as_object_mut().unwrap().remove("capital_at_work");
        figures
    };
    assert_eq!(without_capital(&fame[0]["in_sample"]), without_capital(&w["in_sample"]));
    assert!(fame[0]["in_sample"]["capital_at_work"].is_null(), "{}", fame[0]);
    assert!(fame.iter().all(|g| g["out_of_sample"]["sharpe"].is_f64()), "each with out-of-sample figures");
    // `runs show` reads the summary into the type the run wrote it with: the winner's figures in
    // and out of sample, the hall of fame's rows and the counts, no JSON.
    let shown = tradebot(dir.path(), &["runs", "show", &v["run_id"].to_string(), "--db", "r.db"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("best genomes (in-sample)"), "{text}");
    let params = format!("window={window} ");
    let selection =
        if w["selection"]["rule"] == "in_sample_best" { "in-sample best" } else { "plateau median" };
    assert!(
        text.contains(&format!("\nwinner ({selection}")) && text.contains(&format!("): {params}")),
        "{text}"
    );
    let sharpe = |stage: &str| format!("{:.2}", w[stage]["sharpe"].as_f64().unwrap());
    let row = format!("  sharpe         {:>12} {:>14}\n", sharpe("in_sample"), sharpe("out_of_sample"));
    assert!(text.contains(&row), "{row:?} in {text}");
    assert!(text.contains(&format!("  deflated Sharpe {dsr:.3}, PBO ")), "{text}");
    let fame_rows = text.split("hall of fame, in-sample | out-of-sample:\n").nth(1).unwrap();
    assert_eq!(fame_rows.lines().skip(1).take_while(|l| !l.is_empty()).count(), 5, "{text}");
    // Its returns read as the winner's table writes percentages ("51.1 %", not "51.1%").
    let ret = |stage: &str| format!("{:.1} %", fame[0][stage]["total_return"].as_f64().unwrap() * 100.0);
    let best = fame_rows.lines().nth(1).unwrap();
    assert!(
        best.contains(&format!(" {} ", ret("in_sample"))) && best.contains(&ret("out_of_sample")),
        "{text}"
    );
    assert!(text.contains(&format!(
        "  trials: {trials}\n  generations: 20\n  bars: 1504 in sample, 644 out of sample"
    )));
    assert!(!text.contains('{') && !text.contains("not readable"), "{text}");
}

#[test]
fn a_stopped_run_resumes_to_exactly_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let straight = json(&tradebot(d, &["evolve", EXPERIMENT, "--json", "--db", "a.db"]));

    let stopped = json(&tradebot(d, &["evolve", EXPERIMENT, "--json", "--db", "b.db", "--stop-after", "7"]));
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(stopped["generations"], 7);
    let id = stopped["run_id"].to_string();
    let listed = json(&tradebot(d, &["runs", "list", "--json", "--db", "b.db"]));
    assert_eq!(listed[0]["status"], "stopped");
    // Resume on another thread count too: neither may change the result.
    let resumed =
        json(&tradebot(d, &["evolve", "--resume", &id, "--json", "--threads", "1", "--db", "b.db"]));
    assert_eq!(resumed["status"], "finished");
    assert_eq!(resumed["run_id"], stopped["run_id"]);
    assert_eq!(resumed["winner"], straight["winner"], "same winner, figures and statistics");
    assert_eq!(resumed["trials"], straight["trials"]);
    assert_eq!(history(d, "b.db", &resumed["run_id"]), history(d, "a.db", &straight["run_id"]));
    let events = json(&tradebot(d, &["runs", "show", &id, "--json", "--db", "b.db"]))["events"].clone();
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"stopped") && kinds.contains(&"resumed"), "{kinds:?}");

    let again = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .current_dir(d)
        .args(["evolve", "--resume", &id, "--db", "b.db"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a finished run cannot be resumed");
    assert!(String::from_utf8_lossy(&again.stderr).contains("finished"));
}

#[test]
fn the_printed_resume_command_works_from_any_directory_and_an_edited_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An experiment whose data path is relative to its file, run from the directory above it.
    std::fs::create_dir_all(d.join("exp")).unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/samples/GOOG.csv"), d.join("GOOG.csv"))
        .unwrap();
    let text = std::fs::read_to_string(EXPERIMENT)
        .unwrap()
        .replace("sample = \"GOOG\"", "file = \"../GOOG.csv\"")
        .replace("population = 32", "population = 10")
        .replace("generations = 20", "generations = 4");
    std::fs::write(d.join("exp/e.toml"), &text).unwrap();
    let run = |cwd: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tradebot"))
            .current_dir(cwd)
            .args(args)
            .env_remove("TRADEBOT_DB")
            .output()
            .unwrap()
    };
    let stopped = tradebot(d, &["evolve", "exp/e.toml", "--db", "r.db", "--stop-after", "2"]);
    let stdout = String::from_utf8(stopped.stdout).unwrap();
    let hint = stdout.split("continue with: ").nth(1).unwrap().lines().next().unwrap().to_string();
    let db = d.join("r.db");
    assert_eq!(hint, format!("tradebot evolve --resume 1 --db {}", db.display()));

    // Edited since (commission 0.0005 → 0.001): refused, naming the change, with or without the file.
    let edited = text.replace("commission_rate = 0.0005", "commission_rate = 0.001");
    assert_ne!(edited, text);
    std::fs::write(d.join("exp/e.toml"), &edited).unwrap();
    for args in [
        vec!["evolve", "--resume", "1", "--db", "r.db"],
        vec!["evolve", "--resume", "1", "exp/e.toml", "--db", "r.db"],
    ] {
        let refused = run(d, &args);
        assert!(!refused.status.success());
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("changed since run 1 started: account.commission_rate 0.0005 → 0.001"), "{err}");
    }
    std::fs::write(d.join("exp/e.toml"), format!("# a comment is not a change\n{text}")).unwrap();

    // The hint as printed, from another directory: the data path still resolves against exp/.
    let elsewhere = tempfile::tempdir().unwrap();
    let args: Vec<&str> = hint.split(' ').skip(1).collect();
    let resumed = run(elsewhere.path(), &args);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(String::from_utf8_lossy(&resumed.stdout).contains("run #1 mean_reversion: 4 generations"));
}

#[test]
fn one_thread_and_two_threads_give_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let one = json(&tradebot(
        d,
        &["evolve", EXPERIMENT, "--json", "--threads", "1", "--seed", "3", "--db", "1.db"],
    ));
    let two = json(&tradebot(
        d,
        &["evolve", EXPERIMENT, "--json", "--threads", "2", "--seed", "3", "--db", "2.db"],
    ));
    assert_eq!(one["winner"], two["winner"]);
    assert_eq!(history(d, "1.db", &one["run_id"]), history(d, "2.db", &two["run_id"]));
    let other = json(&tradebot(d, &["evolve", EXPERIMENT, "--json", "--seed", "4", "--db", "3.db"]));
    assert_ne!(history(d, "3.db", &other["run_id"]), history(d, "1.db", &one["run_id"]), "the seed matters");
}

#[test]
fn a_sweep_file_is_not_an_evolution() {
    let dir = tempfile::tempdir().unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/sma_cross_goog.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .current_dir(dir.path())
        .args(["evolve", config, "--db", "r.db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [evolve] section"));
}

/// A research file over a 20-stock universe with a short GA.
const SMALL: &str = r#"
[research]
name = "small"
[families.sma_cross]
params = { fast = { min = 2, max = 30 }, slow = { min = 10, max = 120 } }
[families.mean_reversion]
[families.sector_rotation]
[families.vix_regime_rotation]
[families.gap_fill]
[families.pairs]
enabled = false
[evolve]
population = 12
generations = 4
seed = 1
[validation]
in_sample = 0.7
pbo_blocks = 4
[fitness]
min_trades = 3
"#;

#[test]
fn research_runs_every_family_on_a_small_universe_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tradebot(d, &["data", "generate", "--symbols", "20", "--years", "3", "--store", "store"]);
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    let out = tradebot(
        d,
        &["research", "small.toml", "--store", "store", "--db", "r.db", "--json", "--threads", "2"],
    );
    let report = json(&out);
    let families = report["families"].as_array().unwrap();
    let names: Vec<&str> = families.iter().map(|f| f["family"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for f in families {
        assert!(["enable", "keep", "disable"].contains(&f["verdict"].as_str().unwrap()), "{f}");
        assert!(!f["reason"].as_str().unwrap().is_empty());
        // A first night: `keep` leaves a family off as it started, not "unchanged".
        let state = match f["verdict"].as_str().unwrap() {
            "enable" => "enabled",
            "disable" => "disabled",
            _ => "disabled (new; keep = not enough evidence)",
        };
        assert_eq!(f["state"], state, "{f}");
        assert!(f["generations"].as_u64().unwrap() == 4, "{f}");
    }
    let skipped: Vec<&str> =
        report["skipped"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
    assert!(skipped.contains(&"gap_fill") && skipped.contains(&"pairs"), "{skipped:?}");
    assert!(report["evaluations"].as_u64().unwrap() > 0);
    // Three years train a regime model but are too short to score it out of sample: the
    // section carries the model's call and says so.
    let notes = report["regime"]["notes"].as_array().unwrap();
    assert!(notes[0].as_str().unwrap().starts_with("model v1 trained by this run"), "{notes:?}");
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("no out-of-sample scores")), "{notes:?}");
    assert_eq!(report["regime"]["outlook"]["model"]["version"], 1);

    for ext in ["md", "html", "json"] {
        let path = d.join(format!("results/small.{ext}"));
        assert!(path.exists(), "{}", path.display());
    }
    let html = std::fs::read_to_string(d.join("results/small.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("sma_cross"));

    let runs = json(&tradebot(d, &["runs", "list", "--json", "--db", "r.db"]));
    let research = runs.as_array().unwrap().iter().find(|r| r["kind"] == "research").unwrap();
    assert_eq!(research["status"], "finished");
    let children = runs.as_array().unwrap().iter().filter(|r| r["parent"] == research["id"]).count();
    assert_eq!(children, 4, "one evolve run per family that ran");

    // A second night on the same bars (issue 14 items 2 and 9): each family's OOS window has now
    // been looked at twice; `keep` leaves the first night's state; a family that is not enabled
    // cannot be enabled on the same OOS bars again.
    let again = json(&tradebot(
        d,
        &["research", "small.toml", "--store", "store", "--db", "r.db", "--json", "--threads", "2"],
    ));
    let runs = json(&tradebot(d, &["runs", "list", "--json", "--db", "r.db"]));
    let nights: Vec<&Value> = runs.as_array().unwrap().iter().filter(|r| r["kind"] == "research").collect();
    let (second, first) = (&nights[0]["summary"], &nights[1]["summary"]);
    let shown = tradebot(d, &["runs", "show", &nights[0]["id"].to_string(), "--db", "r.db"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    let night = format!("  night: {} trials (", second["night"]["trials"]);
    assert!(
        text.contains("families (verdict → state, out-of-sample looks):") && text.contains(&night),
        "{text}"
    );
    for f in again["families"].as_array().unwrap() {
        let name = f["family"].as_str().unwrap();
        assert_eq!(second["looks"][name]["looks"], 2, "{second}");
        assert_eq!(second["looks"][name]["oos_last_ns"], first["looks"][name]["oos_last_ns"]);
        let notes: Vec<&str> = f["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        assert!(notes.iter().any(|n| n.starts_with("out-of-sample window judged 2 times")), "{notes:?}");
        let was = &first["states"][name];
        let want = match f["verdict"].as_str().unwrap() {
            "keep" => was.as_str().unwrap(),
            "enable" => "enabled",
            _ => "disabled",
        };
        assert_eq!(second["states"][name], want, "{name}: {f}");
        if f["verdict"] == "keep" {
            assert_eq!(f["state"], format!("unchanged ({want})"), "{name}: {f}");
        }
        if was == "disabled" {
            assert_ne!(f["verdict"], "enable", "{name}: enabled on the bars it was judged on: {f}");
            if f["verdict"] == "keep" {
                assert!(f["reason"].as_str().unwrap().contains("re-enabling needs new data"), "{f}");
            }
        }
    }
}

/// PBO high: the research run deploys the plateau's median trial, not the in-sample peak — its
/// out-of-sample test, verdict and parameters are that trial's, and the report says which.
/// `plateau_pbo = 0` makes every PBO count as high; `1` keeps the in-sample best (short of a
/// PBO of exactly 1). The GA is the same in both runs (same seed, data and settings).
#[test]
fn research_deploys_the_plateau_median_when_pbo_is_high() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tradebot(d, &["data", "generate", "--symbols", "12", "--years", "4", "--store", "store"]);
    let file = |threshold: &str| {
        format!(
            "[research]\nname = \"p\"\n[families.sma_cross]\n[families.mean_reversion]\n\
             [evolve]\npopulation = 16\ngenerations = 5\nseed = 3\n\
             [validation]\nin_sample = 0.7\npbo_blocks = 4\nplateau_pbo = {threshold}\n\
             [fitness]\nmin_trades = 3\n"
        )
    };
    let mut reports = Vec::new();
    for threshold in ["1.0", "0.0"] {
        std::fs::write(d.join("p.toml"), file(threshold)).unwrap();
        let db = format!("r{threshold}.db");
        let out = tradebot(d, &["research", "p.toml", "--store", "store", "--db", &db, "--json"]);
        reports.push(json(&out));
    }
    let family = |r: &Value, name: &str| {
        r["families"].as_array().unwrap().iter().find(|f| f["family"] == name).unwrap().clone()
    };
    let mut moved = 0;
    for name in ["sma_cross", "mean_reversion"] {
        let (peak, plateau) = (family(&reports[0], name), family(&reports[1], name));
        assert_eq!(peak["selection"], "in-sample best", "{peak}");
        let pbo = plateau["pbo"].as_f64().unwrap();
        assert_eq!(peak["pbo"], plateau["pbo"], "the same search");
        assert_eq!(plateau["selection"], format!("plateau median (PBO {pbo:.2})"));
        let md = std::fs::read_to_string(d.join("results/p.md")).unwrap();
        assert!(md.contains(&format!("— plateau median (PBO {pbo:.2})")), "{md}");
        // On the plateau: no better in sample than the peak, within one standard error of it.
        let (peak_is, median_is) =
            (peak["in_sample"]["sharpe"].as_f64().unwrap(), plateau["in_sample"]["sharpe"].as_f64().unwrap());
        assert!(median_is <= peak_is, "{name}: {median_is} > {peak_is}");
        if plateau["params"] != peak["params"] {
            moved += 1;
            // Everything downstream is the median trial's: its own OOS record and verdict reason.
            assert_ne!(plateau["out_of_sample"], peak["out_of_sample"], "{name}");
            assert_ne!(plateau["in_sample"], peak["in_sample"], "{name}");
        }
    }
    assert!(moved > 0, "the plateau's median is not the peak for at least one family");
}

/// Trials (distinct genomes) of run `id` in `db`, from `runs show --json`.
fn runs_trials(d: &Path, db: &str, id: &serde_json::Value) -> u64 {
    let shown = json(&tradebot(d, &["runs", "show", &id.to_string(), "--json", "--db", db]));
    shown["run"]["summary"]["trials"].as_u64().unwrap_or_else(|| panic!("{shown}"))
}

#[test]
fn walk_forward_chains_folds_and_resumes_mid_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/sma_cross_goog_walk_forward.toml");
    let straight = json(&tradebot(d, &["evolve", config, "--json", "--db", "a.db"]));
    assert_eq!(straight["status"], "finished");
    let folds = straight["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 4);
    for pair in folds.windows(2) {
        assert_eq!(pair[0]["test"]["end"], pair[1]["test"]["start"], "test windows are consecutive");
        assert_eq!(pair[0]["test"]["end"], pair[1]["train"]["end"], "each fold trains up to its test");
    }
    // 4 folds × 12 % of 2,148 bars = 4 × 258 tested bars.
    assert_eq!(straight["out_of_sample_bars"], 4 * 258);
    assert_eq!(straight["winner"]["params"], folds[3]["winner"]["params"], "the last fold's winner");
    // The whole walk, not the last fold: the DSR deflates by every fold's trials, the in-sample
    // Sharpe compared with the chained OOS is the folds' mean, the refit window is named.
    let walk = &straight["winner"]["walk"];
    assert_eq!(walk["trials"], straight["trials"]);
    let fold_trials: u64 = (0..4).map(|k| runs_trials(d, "a.db", &folds[k]["run_id"])).sum();
    assert_eq!(walk["trials"].as_u64().unwrap(), fold_trials);
    let is: Vec<f64> = folds.iter().map(|f| f["winner"]["in_sample"]["sharpe"].as_f64().unwrap()).collect();
    let mean_is = walk["mean_is_sharpe"].as_f64().unwrap();
    assert!((mean_is - is.iter().sum::<f64>() / 4.0).abs() < 1e-12, "{walk}");
    let (dsr, last_dsr) = (
        straight["winner"]["deflated_sharpe"].as_f64().unwrap(),
        folds[3]["winner"]["deflated_sharpe"].as_f64().unwrap(),
    );
    assert!(dsr < last_dsr, "DSR over the walk's trials {dsr} vs the last fold's {last_dsr}");
    assert_eq!(walk["refit_window"], folds[3]["train"]);
    // The chained capital at work is the folds' averaged over their (equal) test windows.
    let at_work = |w: &Value| w["out_of_sample"]["capital_at_work"].as_f64().unwrap_or_else(|| panic!("{w}"));
    let folds_at_work = folds.iter().map(|f| at_work(&f["winner"])).sum::<f64>() / 4.0;
    assert!((at_work(&straight["winner"]) - folds_at_work).abs() < 1e-12, "{}", straight["winner"]);
    let runs = json(&tradebot(d, &["runs", "list", "--json", "--db", "a.db"]));
    let children = runs.as_array().unwrap().iter().filter(|r| r["parent"] == straight["run_id"]).count();
    assert_eq!(children, 4, "one run per fold, each with its own data hash");
    let shown = tradebot(d, &["runs", "show", &straight["run_id"].to_string(), "--db", "a.db"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("\nwalk-forward: 4 folds, "), "{text}");
    for (k, fold) in folds.iter().enumerate() {
        let line = format!("  fold {} (run #{}): train ", k + 1, fold["run_id"]);
        assert!(text.contains(&line), "{line} in {text}");
    }
    assert!(!text.contains('{') && !text.contains("not readable"), "{text}");

    let stopped = json(&tradebot(d, &["evolve", config, "--json", "--db", "b.db", "--stop-after", "5"]));
    assert_eq!(stopped["status"], "stopped");
    let id = stopped["run_id"].to_string();
    let resumed = json(&tradebot(d, &["evolve", "--resume", &id, "--json", "--db", "b.db"]));
    assert_eq!(resumed["status"], "finished");
    assert_eq!(resumed["winner"], straight["winner"]);
    assert_eq!(resumed["folds"], straight["folds"]);
}

#[test]
fn sigint_stops_after_a_checkpointed_generation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Long enough that the signal lands mid-run: 20,000 generations cannot finish in 1.5 s.
    let text = std::fs::read_to_string(EXPERIMENT)
        .unwrap()
        .replace("population = 32", "population = 64")
        .replace("generations = 20", "generations = 20000")
        .replace("pbo_blocks = 10", "pbo_blocks = 4");
    std::fs::write(d.join("long.toml"), text).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .current_dir(d)
        .args(["evolve", "long.toml", "--json", "--db", "r.db"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a clean stop exits 0: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopping after the current generation"));
    let stopped = json(&out);
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    let done = stopped["generations"].as_u64().unwrap();
    assert!((1..20_000).contains(&done), "{done}");
    let id = stopped["run_id"].to_string();
    let shown = json(&tradebot(d, &["runs", "show", &id, "--json", "--db", "r.db"]));
    assert_eq!(shown["run"]["status"], "stopped");
    assert_eq!(
        shown["generations"].as_array().unwrap().len() as u64,
        done,
        "every generation run is committed"
    );
}

/// Issue 16: a run killed by a signal does not stay `running`: the next command that opens the
/// database marks it `interrupted`, `runs list` shows it, and it resumes.
#[test]
fn a_killed_run_is_marked_interrupted_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = std::fs::read_to_string(EXPERIMENT)
        .unwrap()
        .replace("generations = 20", "generations = 20000")
        .replace("pbo_blocks = 10", "pbo_blocks = 4");
    std::fs::write(d.join("long.toml"), text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .current_dir(d)
        .args(["evolve", "long.toml", "--json", "--db", "r.db"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(d.join("evolve.err")).unwrap())
        .spawn()
        .unwrap();
    let list = || json(&tradebot(d, &["runs", "list", "--json", "--db", "r.db"]));
    let started = std::time::Instant::now();
    let alive = |child: &mut std::process::Child| {
        let err = || std::fs::read_to_string(d.join("evolve.err")).unwrap_or_default();
        assert!(child.try_wait().unwrap().is_none(), "evolve ended before its first generation:\n{}", err());
        assert!(started.elapsed().as_secs() < 60, "no generation recorded");
    };
    // `runs list` before the evolve has created its database would race it for the creation.
    while !d.join("r.db").exists() {
        alive(&mut child);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    while list().as_array().and_then(|a| a.first()).is_none_or(|r| r["generations"].as_u64() < Some(1)) {
        alive(&mut child);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(list()[0]["status"], "running", "its process is alive");
    child.kill().unwrap(); // SIGKILL: nothing of the process runs after it
    child.wait().unwrap();
    let run = &list()[0];
    assert_eq!(run["status"], "interrupted", "{run}");
    assert!(run["finished"].is_string(), "marked with the time: {run}");
    assert!(run["error"].as_str().unwrap().contains("ended without closing the run"), "{run}");
    let text = String::from_utf8(tradebot(d, &["runs", "list", "--db", "r.db"]).stdout).unwrap();
    assert!(text.contains(" interrupted "), "{text}");
    let id = run["id"].to_string();
    let resumed =
        json(&tradebot(d, &["evolve", "--resume", &id, "--json", "--db", "r.db", "--stop-after", "3"]));
    assert_eq!(resumed["status"], "stopped", "{resumed}");
}

//! What a new user sees: human output without Rust's Debug format, one meaning per flag, and
//! error messages that say what is wrong (and never a backtrace) — issue 15.

use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[path = "support/tb.rs"]
mod tb;

fn tradebot(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .current_dir(cwd)
        .args(args)
        .env_remove("TRADEBOT_DB")
        .env_remove("TRADEBOT_STORE")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

fn ok(cwd: &Path, args: &[&str]) -> String {
    let out = tradebot(cwd, args);
    assert!(out.status.success(), "tradebot {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The stderr of a command that must fail: the message only, never a backtrace.
fn failing(cwd: &Path, args: &[&str]) -> String {
    let out = tradebot(cwd, args);
    assert!(!out.status.success(), "tradebot {args:?} succeeded");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.to_lowercase().contains("backtrace"), "a user error with a backtrace: {stderr}");
    stderr
}

/// A decimal with more than 4 fractional digits: what `{:?}` and `{}` print for most reals.
fn long_decimal(text: &str) -> Option<&str> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| w.split_once('.').is_some_and(|(i, f)| !i.is_empty() && f.len() > 4))
}

#[test]
fn strategies_describe_parameter_spaces_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["strategies"]);
    assert!(out.contains("an integer in 2..=200, default 10"), "{out}");
    for debug in ["Integer {", "Int(", "Real {", "Choice("] {
        assert!(!out.contains(debug), "Debug format `{debug}`: {out}");
    }
}

#[test]
fn runs_show_names_parameters_and_puts_figures_under_their_heading() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let text = std::fs::read_to_string(format!("{ROOT}/experiments/mean_reversion_goog_evolve.toml"))
        .unwrap()
        .replace(
            "name = \"mean_reversion_goog_evolve\"",
            "name = \"a_rather_long_experiment_name_for_the_table\"",
        )
        .replace("population = 32", "population = 10")
        .replace("generations = 20", "generations = 3");
    std::fs::write(cwd.join("e.toml"), text).unwrap();
    ok(cwd, &["evolve", "e.toml", "--db", "r.db"]);
    let shown = ok(cwd, &["runs", "show", "1", "--db", "r.db"]);
    assert!(!shown.contains("{\"Int\"") && !shown.contains("\"in_sample\""), "raw JSON: {shown}");
    let genomes = shown.split("best genomes (in-sample):").nth(1).unwrap();
    assert!(genomes.lines().nth(1).unwrap().contains("window="), "{shown}");
    // "winner: …", or "winner (how it was selected): …" when it is not the in-sample best.
    let winner = shown.lines().find(|l| l.starts_with("winner")).unwrap_or_else(|| panic!("{shown}"));
    assert!(winner.contains(": window="), "{shown}");
    let table = shown.split(winner).nth(1).unwrap();
    assert!(
        table.contains("in-sample") && table.contains("out-of-sample") && table.contains("sharpe"),
        "{shown}"
    );
    if let Some(long) = long_decimal(&shown) {
        panic!("`{long}` in: {shown}");
    }

    let list = ok(cwd, &["runs", "list", "--db", "r.db"]);
    let (header, row) = (list.lines().next().unwrap(), list.lines().nth(1).unwrap());
    assert_eq!(header.find("strategy"), row.find("mean_reversion"), "aligned under a long name:\n{list}");
    assert_eq!(header.find("status"), row.find("finished"), "{list}");
    let started = row.rsplit("  ").next().unwrap();
    assert_eq!(started.len(), "2026-12-07 01:02".len(), "a local date to the minute: {started}");
    assert!(!row.contains('Z'), "not a UTC timestamp with nanoseconds: {row}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(cwd, &["runs", "list", "--json", "--db", "r.db"])).unwrap();
    assert!(json[0]["started"].as_str().unwrap().ends_with('Z'), "--json keeps the exact instant");
}

#[test]
fn random_sweep_parameters_print_at_sensible_precision() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let text = std::fs::read_to_string(format!("{ROOT}/experiments/mean_reversion_goog_random.toml"))
        .unwrap()
        .replace("samples = 300", "samples = 20");
    std::fs::write(cwd.join("r.toml"), text).unwrap();
    let out = ok(cwd, &["sweep", "r.toml", "--db", "r.db"]);
    assert!(out.contains("entry_z="), "{out}");
    let params: Vec<&str> = out.lines().skip(1).filter(|l| l.contains("entry_z=")).collect();
    for line in &params {
        assert!(long_decimal(line).is_none(), "{line}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(cwd, &["sweep", "r.toml", "--db", "r.db", "--json"])).unwrap();
    let z = json["results"][0]["params"]["entry_z"].as_f64().unwrap();
    assert!(long_decimal(&z.to_string()).is_some(), "--json keeps full precision: {z}");
}

#[test]
fn each_flag_has_one_meaning_and_old_spellings_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::create_dir(cwd.join("d")).unwrap();
    ok(cwd, &["runs", "list", "--db", "d/research.db"]);
    let help = |args: &[&str]| ok(cwd, args);
    let status = help(&["status", "--help"]);
    assert!(status.contains("--data-dir") && !status.contains("--data "), "{status}");
    assert!(help(&["db", "backup", "--help"]).contains("--data-dir"));
    let dashboard = help(&["dashboard", "--help"]);
    assert!(dashboard.contains("--live-dir") && !dashboard.contains("--data "), "{dashboard}");
    let regimes = help(&["regimes", "--help"]);
    assert!(regimes.contains("--store") && !regimes.contains("--data "), "{regimes}");
    assert!(ok(cwd, &["status", "--json", "--data-dir", "d"]).contains("\"disk\""));
    // The old spelling, hidden, kept for one release.
    assert!(ok(cwd, &["status", "--json", "--data", "d"]).contains("\"disk\""));
    let backup = ok(cwd, &["db", "backup", "--data-dir", "d", "--to", "b"]);
    assert!(backup.starts_with("backup "), "{backup}");
}

#[test]
fn errors_say_what_is_wrong_once_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    ok(cwd, &["data", "samples", "--store", "s"]);
    // EURUSD has hourly bars only: the timeframe is inferred, and a wrong one lists what exists.
    let csv = ok(cwd, &["data", "export", "--symbol", "EURUSD", "--store", "s"]);
    assert!(csv.lines().count() > 100, "{csv}");
    let err = failing(cwd, &["data", "export", "--symbol", "EURUSD", "--timeframe", "1Day", "--store", "s"]);
    assert!(err.contains("EURUSD 1Day: not in the store; it has EURUSD 1Hour"), "{err}");
    let err = failing(cwd, &["data", "export", "--symbol", "NOPE", "--store", "s"]);
    assert!(err.contains("NOPE: not in the store"), "{err}");

    let err = failing(cwd, &["db", "restore", "backups/2026-11-30/nope.db"]);
    assert!(err.contains("backups/2026-11-30/nope.db: no such file"), "{err}");

    let err = failing(cwd, &["sweep", "nope.toml"]);
    assert_eq!(err.matches("No such file or directory").count(), 1, "the OS error once: {err}");

    let discovery = format!("{ROOT}/experiments/discover_goog.toml");
    let err = failing(cwd, &["sweep", &discovery, "--db", "r.db"]);
    assert!(err.contains("is a discovery file") && err.contains("tradebot discover"), "{err}");
    let err = failing(cwd, &["evolve", &discovery, "--db", "r.db"]);
    assert!(err.contains("tradebot discover"), "{err}");
}

#[test]
fn promoting_the_same_candidate_twice_writes_no_identical_version() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    tb::quick_discover_experiment(cwd, "d.toml");
    ok(cwd, &["discover", "experiments/d.toml", "--db", "r.db"]);
    let listed: serde_json::Value =
        serde_json::from_str(&ok(cwd, &["candidates", "list", "--json", "--db", "r.db"])).unwrap();
    let id = listed[0]["id"].to_string();
    let first = ok(cwd, &["promote", &id, "--db", "r.db"]);
    assert!(first.contains("version 1"), "{first}");
    let again = ok(cwd, &["promote", &id, "--db", "r.db"]);
    assert!(again.contains("unchanged (v1)"), "{again}");
    assert!(!cwd.join("data/promoted/v000002.json").exists(), "nothing written");
    assert_eq!(std::fs::read_to_string(cwd.join("data/promoted/CURRENT")).unwrap(), "1\n");
}

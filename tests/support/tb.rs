//! The `tradebot` binary as the CLI tests run it: in a directory of the test's own, with the
//! variables that could point it at the user's store, database, models or log removed, so a
//! test sees only what it set up. Included with `#[path]` by each test file that needs it.
#![allow(dead_code)] // each test file uses the helpers it needs

use std::path::Path;
use std::process::{Command, Output};

/// Runs `tradebot ARGS` in `cwd` and returns what it did, whatever its exit status.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .args(args)
        .current_dir(cwd)
        .env_remove("TRADEBOT_STORE")
        .env_remove("TRADEBOT_DB")
        .env_remove("TRADEBOT_REGIME_MODELS")
        .env_remove("TRADEBOT_LOG")
        .output()
        .expect("run tradebot")
}

/// Runs `tradebot ARGS` in `cwd`, which must succeed (the test fails showing both streams).
pub fn succeeds(cwd: &Path, args: &[&str]) -> Output {
    let out = run(cwd, args);
    assert!(
        out.status.success(),
        "tradebot {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The standard output of `tradebot ARGS` in `cwd`, which must succeed.
pub fn ok(cwd: &Path, args: &[&str]) -> String {
    String::from_utf8(succeeds(cwd, args).stdout).expect("tradebot prints UTF-8")
}

/// `experiments/discover_goog.toml` made quick (population 40 × 6 generations) with its gates
/// open, written to `DIR/experiments/NAME` (its paths are relative to the file); returns that
/// path relative to `dir`.
pub fn quick_discover_experiment(dir: &Path, name: &str) -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/discover_goog.toml"))
            .expect("read experiments/discover_goog.toml")
            .replace("population = 120", "population = 40")
            .replace("generations = 25", "generations = 6")
            .replace("min_oos_sharpe = 0.5", "min_oos_sharpe = -100")
            .replace("min_dsr = 0.9", "min_dsr = 0")
            .replace("min_oos_trades = 10", "min_oos_trades = 1")
            .replace("max_drawdown = 0.35", "max_drawdown = 1\nbenchmark = \"absolute\"");
    std::fs::create_dir_all(dir.join("experiments")).expect("create experiments/");
    std::fs::write(dir.join("experiments").join(name), text).expect("write the experiment");
    format!("experiments/{name}")
}

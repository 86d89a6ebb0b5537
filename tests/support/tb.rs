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

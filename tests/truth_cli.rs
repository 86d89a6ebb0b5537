//! The ground-truth tooling from the command line: null and planted universes
//! (`data generate --null / --effects`) and `bench truth`.

use std::path::Path;
use std::process::{Command, Output};

fn tradebot(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .args(args)
        .current_dir(cwd)
        .env_remove("TRADEBOT_STORE")
        .env_remove("TRADEBOT_DB")
        .output()
        .unwrap()
}

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
    assert!(!cwd.join("bad").exists());
}

//! The systemd units under `deploy/systemd` pass `systemd-analyze verify` (unknown keys, bad
//! values, a missing binary), with ExecStart pointed at the binary under test.

use std::path::Path;
use std::process::Command;

#[test]
fn systemd_units_verify_cleanly() {
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let names: Vec<String> =
        std::fs::read_dir(&units).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    for expected in [
        "tradebot-live.service",
        "tradebot-live-paper.service",
        "tradebot-dashboard.service",
        "tradebot-research.service",
        "tradebot-research.timer",
        "tradebot-backup.service",
        "tradebot-backup.timer",
        "tradebot-failure@.service",
    ] {
        assert!(names.iter().any(|n| n == expected), "deploy/systemd/{expected} is missing");
    }
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("systemd-analyze not installed: unit syntax not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in &names {
        let text = std::fs::read_to_string(units.join(name)).unwrap();
        assert!(name.ends_with(".timer") || text.contains("ExecStart=/usr/local/bin/tradebot "), "{name}");
        std::fs::write(
            dir.path().join(name),
            text.replace("/usr/local/bin/tradebot", env!("CARGO_BIN_EXE_tradebot")),
        )
        .unwrap();
    }
    // The template is checked through an instance.
    let mut args: Vec<String> = names.iter().filter(|n| !n.contains('@')).cloned().collect();
    args.push("tradebot-failure@tradebot-live.service.service".into());
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "systemd-analyze verify:\n{report}");
    let calendar = Command::new("systemd-analyze")
        .args(["calendar", "Mon..Fri 18:30 America/New_York"])
        .output()
        .unwrap();
    assert!(calendar.status.success(), "{}", String::from_utf8_lossy(&calendar.stderr));
}

//! The systemd units under `deploy/systemd` pass `systemd-analyze verify` (unknown keys, bad
//! values, a missing binary), with ExecStart pointed at the binary under test; every service is
//! hardened (private files, broker keys for the live units only, `systemd-analyze security`
//! exposure at most 4.0).

use std::path::Path;
use std::process::Command;

/// The values of `key` in the unit `text`, in order.
fn values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines().filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('=')).collect()
}

#[test]
fn services_are_hardened_and_only_the_live_units_hold_the_broker_keys() {
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let mut services = 0;
    for entry in std::fs::read_dir(&units).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".service") {
            continue;
        }
        services += 1;
        let text = std::fs::read_to_string(units.join(&name)).unwrap();
        for (key, value) in [
            ("UMask", "0077"),
            ("NoNewPrivileges", "yes"),
            ("CapabilityBoundingSet", ""),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("ProtectKernelTunables", "yes"),
            ("ProtectKernelModules", "yes"),
            ("ProtectKernelLogs", "yes"),
            ("ProtectControlGroups", "yes"),
            ("SystemCallFilter", "@system-service"),
            ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ] {
            assert!(values(&text, key).contains(&value), "{name}: {key}={value} missing");
        }
        let env = values(&text, "EnvironmentFile");
        assert!(env.contains(&"-/etc/tradebot/alerts.env"), "{name}: alert tokens: {env:?}");
        let keys: Vec<&&str> = env.iter().filter(|f| f.contains("alpaca")).collect();
        match name.as_str() {
            "tradebot-live.service" => assert_eq!(keys, [&"/etc/tradebot/alpaca-live.env"], "{name}"),
            "tradebot-live-paper.service" => assert_eq!(keys, [&"/etc/tradebot/alpaca-paper.env"], "{name}"),
            _ => assert!(
                keys.is_empty() && !text.contains("APCA_"),
                "{name} must not hold broker keys: {keys:?}"
            ),
        }
        if name == "tradebot-dashboard.service" {
            assert_eq!(values(&text, "IPAddressDeny"), ["any"]);
            assert_eq!(values(&text, "IPAddressAllow"), ["localhost"]);
            let read_only = values(&text, "ReadOnlyPaths");
            assert_eq!(read_only, ["-/var/lib/tradebot/data/live"], "{name}");
        }
    }
    assert_eq!(services, 7);
}

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
        "tradebot-worker.service",
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
    // `systemd-analyze security` rates each service's exposure from 0 (locked down) to 10.
    for name in names.iter().filter(|n| n.ends_with(".service")) {
        let unit = if name.contains('@') { "tradebot-failure@tradebot-live.service.service" } else { name };
        if name.contains('@') {
            std::fs::copy(dir.path().join(name), dir.path().join(unit)).unwrap();
        }
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager", unit])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        let Some(level) = report.lines().find_map(|l| l.split("Overall exposure level for ").nth(1)) else {
            // systemd before 250 has no --offline: nothing to rate the files with.
            eprintln!(
                "systemd-analyze security --offline unavailable: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            break;
        };
        let score: f64 = level.split(": ").nth(1).and_then(|x| x.split(' ').next()).unwrap().parse().unwrap();
        assert!(score <= 4.0, "{unit}: exposure {score} > 4.0\n{report}");
    }
    let calendar = Command::new("systemd-analyze")
        .args(["calendar", "Mon..Fri 18:30 America/New_York"])
        .output()
        .unwrap();
    assert!(calendar.status.success(), "{}", String::from_utf8_lossy(&calendar.stderr));
}

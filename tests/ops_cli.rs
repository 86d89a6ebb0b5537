//! Operations through the binary: a failing command's error in the log file and the error
//! log, `db backup` while a service writes, `db restore` refused while it runs, `status`.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread;

use ops::lock::DbLock;
use ops::testing::{row_ids, service_db};
use rusqlite::Connection;

fn tradebot(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .args(args)
        .current_dir(cwd)
        .env_remove("TRADEBOT_LOG")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run tradebot")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_failing_research_run_is_in_its_log_file_and_the_error_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = tradebot(dir.path(), &["research", "no_such_file.toml"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    // stderr as before: anyhow's report, once.
    assert_eq!(stderr.matches("no_such_file.toml").count(), 1, "{stderr}");
    assert!(stderr.starts_with("Error: no_such_file.toml"), "{stderr}");

    let today = chrono::Utc::now().format("%Y-%m-%d");
    let log = std::fs::read_to_string(dir.path().join(format!("logs/research.{today}.log"))).unwrap();
    assert!(log.contains("INFO") && log.contains("research started"), "{log}");
    assert!(log.contains("ERROR") && log.contains("no_such_file.toml"), "{log}");

    let db = Connection::open(dir.path().join("data/ops.db")).unwrap();
    let (service, component, message): (String, String, String) = db
        .query_row("SELECT service, component, message FROM error_log", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((service.as_str(), component.as_str()), ("research", "research"));
    assert!(message.starts_with("no_such_file.toml: "), "{message}");
    // The run's health samples, at start and at exit, were recorded too.
    let samples: i64 =
        db.query_row("SELECT COUNT(*) FROM health WHERE service = 'research'", [], |r| r.get(0)).unwrap();
    assert_eq!(samples, 2);
}

#[test]
fn backup_while_a_service_writes_restore_refused_while_it_runs_then_every_row_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("data")).unwrap();
    let live = d.join("data/live.db");
    drop(service_db(&live));
    drop(service_db(&d.join("data/research.db")));

    // The "live service": holds its database lock and commits an order per transaction.
    let committed = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, s, path) = (Arc::clone(&committed), Arc::clone(&stop), live.clone());
    let service = thread::spawn(move || {
        let lock = DbLock::shared(&path).unwrap();
        let conn = service_db(&path);
        while !s.load(Ordering::Relaxed) {
            conn.execute("INSERT INTO rows (payload) VALUES ('order SPY')", []).unwrap();
            c.store(conn.last_insert_rowid(), Ordering::Release);
        }
        lock
    });
    while committed.load(Ordering::Acquire) < 100 {
        thread::yield_now();
    }

    let before = committed.load(Ordering::Acquire);
    let out = tradebot(d, &["db", "backup", "--to", "bk", "--keep", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("integrity check ok"), "{stdout}");
    for name in ["live.db", "ops.db", "research.db"] {
        assert!(stdout.contains(&format!("from data/{name}")), "{name}: {stdout}");
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let copy = d.join("bk").join(&today).join("live.db");
    let in_copy = row_ids(&copy);
    assert!(in_copy.len() as i64 >= before, "every row committed before the backup is in it");
    assert_eq!(in_copy, (1..=in_copy.len() as i64).collect::<Vec<_>>());

    // `status` sees the service through its lock.
    let out = tradebot(d, &["status"]);
    let status = text(&out.stdout);
    assert!(status.contains(&format!("live service: running (pid {})", std::process::id())), "{status}");

    let relative_copy = format!("bk/{today}/live.db");
    let out = tradebot(d, &["db", "restore", &relative_copy]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let pid = std::process::id();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "Error: refusing to restore: data/live.db is in use: data/live.db.lock is locked by a running service \
             (pid {pid}); stop the service first"
        )
    );

    stop.store(true, Ordering::Relaxed);
    drop(service.join().unwrap());
    let total = committed.load(Ordering::Acquire);
    let out = tradebot(d, &["db", "restore", &relative_copy]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("kept as data/live.db.before-restore"));
    assert_eq!(row_ids(&live), in_copy);
    assert_eq!(row_ids(&d.join("data/live.db.before-restore")).len() as i64, total);

    let out = tradebot(d, &["status", "--backups", "bk"]);
    let status = text(&out.stdout);
    assert!(status.contains("live service: not running"), "{status}");
    assert!(status.contains(&format!("(latest: bk/{today})")), "{status}");
}

#[test]
fn status_reports_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = tradebot(d, &["data", "generate", "--symbols", "3", "--years", "1", "--seed", "7"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tradebot(d, &["evolve", "missing.toml"]);
    assert!(!out.status.success());

    let out = tradebot(d, &["status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for expected in [
        "research   no research run recorded in data/research.db",
        "data       data/store",
        "  1Day ",
        "disk       logs logs/ ",
        "(evolve ",
        "data/ops.db ",
        "store ",
        "(latest: none yet)",
        "this machine now: memory ",
        "errors     1 in the last 24 h",
        " evolve evolve: missing.toml",
        "live       live service: not configured (no data/live.db)",
    ] {
        assert!(s.contains(expected), "missing {expected:?} in\n{s}");
    }
    let out = tradebot(d, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["live"]["state"], "not_configured");
    assert_eq!(v["errors"]["last_24h"], 1);
    assert_eq!(v["store"]["timeframes"][0]["timeframe"], "1Day");
    assert!(
        v["store"]["timeframes"][0]["sessions_behind"].as_u64().unwrap() > 0,
        "synthetic data ends in the past"
    );
    assert!(v["health"]["now"]["mem_total_bytes"].as_u64().unwrap() > 0);
    assert!(v["disk"]["databases"]["data/ops.db"].as_u64().unwrap() > 0);
    assert!(v["research"].is_null());
}

#[test]
fn alert_sends_through_the_configured_channels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = tradebot(d, &["alert", "hello"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no alert channel in config/ops.toml"), "{}", text(&out.stderr));

    let rx = ops::testing::Receiver::start();
    std::fs::create_dir(d.join("config")).unwrap();
    let config = format!("[[alerts.channels]]\nkind = \"slack\"\nurl = \"{}/slack\"\n", rx.base);
    std::fs::write(d.join("config/ops.toml"), config).unwrap();
    let args = [
        "alert",
        "--kind",
        "error",
        "--key",
        "tradebot-research.service",
        "--service",
        "systemd",
        "unit failed",
    ];
    let out = tradebot(d, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "sent to 1 channel(s)\n");
    let got = rx.wait_for(1);
    assert_eq!(got[0].path, "/slack");
    assert_eq!(got[0].body["text"], "[systemd] WARNING error tradebot-research.service: unit failed");

    let dead = ops::testing::refused_endpoint();
    std::fs::write(
        d.join("config/ops.toml"),
        format!("[[alerts.channels]]\nkind = \"webhook\"\nurl = \"{dead}\"\n"),
    )
    .unwrap();
    let out = tradebot(d, &["alert", "x", "--kind", "nonsense"]);
    assert!(text(&out.stderr).contains("unknown kind \"nonsense\""), "{}", text(&out.stderr));
    let out = tradebot(d, &["alert", "x"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("1 of 1 channels failed; last: alert to webhook: error sending request"),
        "{}",
        text(&out.stderr)
    );
}

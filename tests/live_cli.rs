//! `tradebot live` as a process against the fake Alpaca: kill -9 at many points of a replayed
//! day never duplicates an order, orphans a position or loses a signal; SIGTERM exits 0.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveTime;
use live_bridge::clock::SimulatedClock;
use live_bridge::db::{Db, OrderState};
use live_bridge::fake::{FakeAlpaca, Fault, Route, scenario};
use live_bridge::schedule::new_york;
use rust_decimal::Decimal;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_tradebot");

/// Runs until 10:15 only, to keep the day short.
const SHORT_DAY: &str = "[strategies.gap_fill]\nuntil = \"10:15\"\n";

/// A fake whose clock stands at 15:59 of the replay date (outside the close margin by Alpaca's
/// clock): it serves every bar the replay asks for (bars end at the request's `end`) and fills
/// at one price per symbol.
async fn fake(universe: &datasets::synth::Universe) -> FakeAlpaca {
    let late = new_york(scenario::replay_date(), NaiveTime::from_hms_opt(15, 59, 0).unwrap());
    let fake = FakeAlpaca::start(Arc::new(SimulatedClock::new(late)), Decimal::from(100_000)).await.unwrap();
    scenario::serve(&fake, universe);
    fake
}

/// A fresh data directory with `gap_fill` promoted, its fake broker and its config file.
async fn day() -> (tempfile::TempDir, FakeAlpaca, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let (universe, _, _) = scenario::promoted_gap_fill(root.path(), 4);
    let fake = fake(&universe).await;
    let config = root.path().join("live.toml");
    // Equity snapshots every 30 minutes (not 5) to 16:00: the kills stay spread over the
    // trading, and a few land on a snapshot.
    let text = scenario::config_toml(root.path(), &fake, SHORT_DAY).replacen(
        "[service]\n",
        "[service]\nequity_snapshot_minutes = 30\n",
        1,
    );
    std::fs::write(&config, text).unwrap();
    (root, fake, config)
}

/// Runs the service on `config`, in its directory (where the log files and the operations
/// database go).
fn spawn(config: &Path) -> Child {
    Command::new(BIN)
        .args(["live", "--paper", "--config"])
        .arg(config)
        .current_dir(config.parent().unwrap())
        .env("APCA_API_KEY_ID", "PKTEST")
        .env("APCA_API_SECRET_KEY", "secret")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// (client order id, symbol, side, filled qty) of every order the broker took, sorted.
fn broker_orders(fake: &FakeAlpaca) -> Vec<(String, String, &'static str, Decimal)> {
    let mut v: Vec<_> = fake
        .orders()
        .into_iter()
        .map(|o| (o.client_order_id, o.symbol, o.side.as_str(), o.filled_qty))
        .collect();
    v.sort();
    v
}

/// Every stored signal as comparable text.
fn signals(root: &Path) -> Vec<String> {
    let db = Db::open(&root.join("live/live.db")).unwrap();
    let mut v: Vec<_> = db
        .signals()
        .unwrap()
        .into_iter()
        .map(|s| {
            format!("{} {} {} {} {} {:?}", s.slot, s.symbol, s.side, s.action, s.detail, s.client_order_id)
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_many_points_never_duplicates_orphans_or_loses() {
    // The reference: the same day, uninterrupted.
    let (reference_root, reference_fake, config) = day().await;
    let out = spawn(&config).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected_orders = broker_orders(&reference_fake);
    let expected_signals = signals(reference_root.path());
    let requests = reference_fake.count(Route::Any);
    let order_posts = reference_fake.count(Route::CreateOrder);
    assert!(order_posts >= 6, "the day should trade: {expected_orders:?}");

    // The same day, killed with SIGKILL while the broker has acted on a request and the
    // service has not heard back: on order submissions and on requests spread over the day.
    let (root, fake, config) = day().await;
    // Alternately the second order submission from now, and a request a twelfth of a day on.
    let step = requests / 12 + 1;
    let mut kills = 0;
    for i in 0..24 {
        let point = if i % 2 == 0 {
            (Route::CreateOrder, fake.count(Route::CreateOrder) + 2)
        } else {
            (Route::Any, fake.count(Route::Any) + step)
        };
        fake.hang_at(Some(point));
        let mut child = spawn(&config);
        let started = Instant::now();
        let finished = loop {
            if fake.is_hanging() {
                child.kill().await.unwrap();
                kills += 1;
                break false;
            }
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success());
                break true;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the service hung");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if finished {
            break;
        }
    }
    fake.hang_at(None);
    let out = spawn(&config).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!(
        "killed {kills} times over {} requests ({order_posts} order submissions uninterrupted)",
        fake.count(Route::Any)
    );
    assert!(kills >= 10, "killed {kills} times");

    assert_eq!(fake.duplicate_submissions(), 0, "no client_order_id was ever sent twice");
    assert_eq!(broker_orders(&fake), expected_orders, "the same orders as the uninterrupted day");
    assert_eq!(signals(root.path()), expected_signals, "no signal lost or changed");
    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    assert!(db.orders().unwrap().iter().all(|o| o.state == OrderState::Filled), "every order resolved");
    let mut local = std::collections::BTreeMap::<String, Decimal>::new();
    for p in db.positions().unwrap() {
        assert_ne!(p.strategy, live_bridge::db::MANUAL, "no position adopted as unknown");
        *local.entry(p.symbol).or_default() += p.qty;
    }
    assert_eq!(local, fake.positions(), "local books equal the broker's positions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_request_finishes_it_and_exits_zero() {
    let (root, fake, config) = day().await;
    // The first bars request of the day takes a second: SIGTERM arrives while it is in flight.
    fake.inject(Route::Bars, Fault::Delay(Duration::from_millis(1000)));
    let mut child = spawn(&config);
    let started = Instant::now();
    while !fake.seen().iter().any(|s| s.path.starts_with("/v2/stocks")) {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = child.id().unwrap().to_string();
    let live_db = root.path().join("live/live.db");
    assert_eq!(ops::lock::holders(&live_db), [child.id().unwrap()], "the service holds live.db's lock");
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    let bars = fake.seen().into_iter().find(|s| s.path.starts_with("/v2/stocks")).unwrap();
    assert_eq!(bars.status, 200, "the request in flight was finished, not dropped");
    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    let (_, phase, _) = db.last_checkpoint().unwrap().unwrap();
    assert_eq!(phase, "stopped");
    assert!(fake.orders().is_empty(), "no entry after the signal");
    let first = db.run("gap_fill", "2025-12-31T09:31").unwrap().unwrap();
    assert_eq!(first.status, "planned", "the interrupted run stays unfinished");

    // A restart resumes the interrupted run and finishes the day.
    let out = spawn(&config).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(db.run("gap_fill", "2025-12-31T09:31").unwrap().unwrap().status, "done");
    assert!(!fake.orders().is_empty());
    assert_eq!(fake.duplicate_submissions(), 0);
    // Its own log file, through the operations crate.
    let logs: Vec<_> = std::fs::read_dir(root.path().join("logs")).unwrap().flatten().collect();
    assert!(logs.iter().any(|f| f.file_name().to_string_lossy().starts_with("live.")), "{logs:?}");
}

#[test]
fn halt_resume_and_status() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("live.toml");
    std::fs::write(&config, "[service]\ndata_dir = \"d\"\n").unwrap();
    let live = |args: &[&str]| {
        std::process::Command::new(BIN)
            .arg("live")
            .args(args)
            .arg("--config")
            .arg(&config)
            .current_dir(std::env::temp_dir())
            .env("APCA_API_KEY_ID", "AKTEST")
            .env("APCA_API_SECRET_KEY", "secret")
            .output()
            .unwrap()
    };
    let run = |args: &[&str]| {
        let out = live(args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // Nothing there yet: neither halt nor status nor resume invents a data directory or a database.
    for args in [&["halt"][..], &["status"], &["resume"]] {
        let out = live(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&root.path().join("d").display().to_string()), "{err}");
    }
    assert!(!root.path().join("d").exists());
    // The data directory is the config file's `d`, whatever the working directory.
    std::fs::create_dir(root.path().join("d")).unwrap();
    drop(Db::open(&root.path().join("d/live.db")).unwrap());
    let halted = run(&["halt", "--reason", "broker outage"]);
    assert!(
        halted.contains("halted: broker outage") && halted.contains("no live service is running"),
        "{halted}"
    );
    assert!(root.path().join("d/HALT").exists());
    assert!(run(&["status"]).contains("kill switch: ON (halted: broker outage)"));
    let db = Db::open(&root.path().join("d/live.db")).unwrap();
    db.trip("daily_loss", "equity down 4%", 1).unwrap();
    let json: serde_json::Value = serde_json::from_str(&run(&["status", "--json"])).unwrap();
    assert_eq!(json["breakers"][0][0], "daily_loss");
    // `tradebot status` reports the same, read-only, and knows the service is not running.
    let out = std::process::Command::new(BIN)
        .args(["status", "--live-db"])
        .arg(root.path().join("d/live.db"))
        .current_dir(root.path())
        .output()
        .unwrap();
    let status = String::from_utf8(out.stdout).unwrap();
    for line in [
        "live service: not running",
        "kill switch: ON (halted: broker outage)",
        "breaker:     daily_loss TRIPPED: equity down 4%",
        "reconcile:   never run",
    ] {
        assert!(status.contains(line), "{line}: {status}");
    }
    let resumed = run(&["resume"]);
    assert!(
        resumed.contains("kill switch removed") && resumed.contains("breaker daily_loss reset"),
        "{resumed}"
    );
    assert!(run(&["status"]).contains("kill switch: off"));
    let refused = live(&[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("alpaca.mode is not set"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_and_live_are_never_confused_at_start() {
    let (root, fake, config) = day().await;
    let text = std::fs::read_to_string(&config).unwrap();
    // The production config (mode = "live") run with --paper, and a paper key on it without.
    let live = text.replacen("[alpaca]\n", "[alpaca]\nmode = \"live\"\nallow_live = true\n", 1);
    std::fs::write(&config, live).unwrap();
    for (paper, why) in
        [(true, "--paper given but the config says mode = \"live\""), (false, "starts with `PK`, not `AK`")]
    {
        let out = std::process::Command::new(BIN)
            .arg("live")
            .args(if paper { &["--paper"][..] } else { &[] })
            .arg("--config")
            .arg(&config)
            .current_dir(root.path())
            .env("APCA_API_KEY_ID", "PKTEST")
            .env("APCA_API_SECRET_KEY", "secret")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(why), "{err}");
    }
    assert_eq!(fake.count(Route::Any), 0, "refused before any request");
    assert!(!root.path().join("live").exists(), "and before any database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_from_another_directory_reaches_the_running_service() {
    let (root, _fake, config) = day().await;
    // On the wall clock (no replay), nothing enabled: the service idles between its steps.
    let text = std::fs::read_to_string(&config).unwrap();
    let replay = text.find("[replay]").unwrap();
    let text = format!("{}[strategies.gap_fill]\nenabled = false\n", &text[..replay]);
    let data_dir = root.path().join("live").display().to_string();
    std::fs::write(&config, text.replace(&format!("data_dir = \"{data_dir}\""), "data_dir = \"live\""))
        .unwrap();
    let mut service = spawn(&config);
    let lock = root.path().join("live").join(live_bridge::lock::SERVICE_LOCK_FILE);
    let started = Instant::now();
    while live_bridge::lock::ServiceLock::running(&root.path().join("live")).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the service did not start ({})",
            lock.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A second service on the same data directory refuses to start.
    let second = spawn(&config).wait_with_output().await.unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && err.contains("another live service runs on"), "{err}");
    // `halt` from elsewhere writes the service's own HALT and waits for it to confirm.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["live", "halt", "--reason", "drill", "--wait", "20", "--config"])
        .arg(&config)
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("confirmed"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.path().join("live/HALT").exists());
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing written where halt ran");
    service.kill().await.unwrap();
}

/// Every protective order the broker took: (client order id, symbol, qty, type, status).
fn protective_orders(fake: &FakeAlpaca) -> Vec<(String, String, Decimal, String, String)> {
    let mut v: Vec<_> = fake
        .orders()
        .into_iter()
        .filter(|o| o.order_type != "market")
        .map(|o| (o.client_order_id, o.symbol, o.qty.unwrap(), o.order_type, o.status.as_str().to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_placing_protective_orders_never_doubles_them_and_keeps_positions_protected() {
    // `gap_fill` with a stop-loss far below (it never triggers): every entry gets a stop order.
    let setup = || async {
        let (root, fake, config) = day().await;
        let universe = scenario::universe(4);
        let mut strategy = scenario::gap_fill(&scenario::minute_data(&universe), 0.5);
        strategy.rules.exits.stop_loss = Some(0.5);
        scenario::promote(&root.path().join("promoted"), vec![strategy]);
        (root, fake, config)
    };
    let (_reference_root, reference, config) = setup().await;
    let out = spawn(&config).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = broker_orders(&reference);
    // The order submissions that placed protective orders (1-based among all submissions).
    let placements: Vec<usize> = reference
        .orders()
        .iter()
        .enumerate()
        .filter(|(_, o)| o.order_type == "stop")
        .map(|(i, _)| i + 1)
        .collect();
    assert!(placements.len() >= 3, "entries get protected: {expected:?}");
    let protected = protective_orders(&reference);

    // The same day, killed with SIGKILL on each protective order's submission after the broker
    // acted on it, before the service heard back; then restarted.
    let (root, fake, config) = setup().await;
    let mut kills = 0;
    for &n in &placements {
        fake.hang_at(Some((Route::CreateOrder, n)));
        let mut child = spawn(&config);
        let started = Instant::now();
        loop {
            if fake.is_hanging() {
                child.kill().await.unwrap();
                kills += 1;
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "the day ended before submission {n}");
            assert!(started.elapsed() < Duration::from_secs(60), "the service hung");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let db = Db::open(&root.path().join("live/live.db")).unwrap();
        let (_, phase, _) = db.last_checkpoint().unwrap().unwrap();
        assert_eq!(phase, "submit", "killed while submitting");
    }
    fake.hang_at(None);
    let out = spawn(&config).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(kills, placements.len());
    assert_eq!(fake.duplicate_submissions(), 0, "no protective order was sent twice");
    assert_eq!(broker_orders(&fake), expected, "the same orders as the uninterrupted day");
    assert_eq!(protective_orders(&fake), protected, "one resting stop per position");
    // Every held position is protected by exactly its quantity, and the books know the stops.
    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    for (symbol, qty) in fake.positions() {
        let stops: Vec<_> = protected.iter().filter(|o| o.1 == symbol).collect();
        assert_eq!(stops.len(), 1, "{symbol}: {stops:?}");
        assert_eq!((stops[0].2, stops[0].4.as_str()), (qty, "new"), "{symbol}: rests at the broker");
        assert_eq!(db.order(&stops[0].0).unwrap().unwrap().state, OrderState::Open);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_on_the_real_money_account_needs_allow_live_and_confirmation() {
    let (root, fake, config) = day().await;
    let e = fake.endpoints();
    // The production config: mode = "live", the live endpoints (here the fake's), no replay.
    let text = std::fs::read_to_string(&config).unwrap();
    let (head, tail) = text.split_once("[replay]\n").unwrap();
    let tail = &tail[tail.find("[strategies").unwrap()..];
    let live = format!(
        "{}{tail}[alpaca.live]\ntrading = \"{}\"\ndata = \"{}\"\nstream = \"{}\"\n",
        head.replacen("[alpaca]\n", "[alpaca]\nmode = \"live\"\n", 1),
        e.trading,
        e.data,
        e.stream
    );
    std::fs::write(&config, &live).unwrap();
    std::fs::create_dir_all(root.path().join("live")).unwrap();
    drop(Db::open(&root.path().join("live/live.db")).unwrap());
    fake.set_fill_mode(live_bridge::fake::FillMode::Never);
    let client = live_bridge::alpaca::Client::new(
        live_bridge::alpaca::ClientConfig::new(fake.endpoints()),
        live_bridge::alpaca::Credentials::new("AKTEST", "secret"),
    )
    .unwrap();
    let data = scenario::minute_data(&scenario::universe(4));
    let order = live_bridge::alpaca::model::OrderRequest::market(
        &data.symbols()[0].meta.symbol,
        Decimal::ONE,
        live_bridge::alpaca::model::OrderSide::Buy,
        "by-hand-1",
    );
    client.create_order(&order).await.unwrap();
    let cancel = |extra: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(["live", "cancel", "--config"])
            .arg(&config)
            .args(extra)
            .current_dir(root.path())
            .env("APCA_API_KEY_ID", "AKTEST")
            .env("APCA_API_SECRET_KEY", "secret")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let open = || fake.orders().iter().filter(|o| !o.status.is_terminal()).count();
    let (ok, _, err) = cancel(&["--yes"]);
    assert!(!ok && err.contains("allow_live"), "real money needs allow_live: {err}");
    std::fs::write(&config, live.replacen("[alpaca]\n", "[alpaca]\nallow_live = true\n", 1)).unwrap();
    let (ok, _, err) = cancel(&[]);
    assert!(!ok && err.contains("add --yes to confirm"), "{err}");
    assert_eq!(open(), 1, "nothing canceled without the confirmation");
    let (ok, out, err) = cancel(&["--yes"]);
    assert!(ok && out.contains("canceled by-hand-1"), "{out}{err}");
    assert_eq!(open(), 0);
}

#[test]
fn status_reads_live_db_on_a_read_only_file_system_with_no_service_running() {
    // The dashboard unit mounts the live data directory read-only. A WAL database closed cleanly
    // has no -wal/-shm files, which SQLite would have to create to read it there.
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("d");
    std::fs::create_dir(&data).unwrap();
    let db = Db::open(&data.join("live.db")).unwrap();
    db.set_state("reconcile", "ok").unwrap();
    drop(db);
    assert!(!data.join("live.db-wal").exists() && !data.join("live.db-shm").exists());
    let config = root.path().join("live.toml");
    std::fs::write(&config, "[service]\ndata_dir = \"d\"\n").unwrap();
    let mount =
        format!("mount --bind {0} {0} && mount -o remount,ro,bind {0} && exec \"$@\"", data.display());
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &mount, "sh", BIN, "live", "status", "--config"])
        .arg(&config)
        .output();
    let Ok(out) = out else {
        eprintln!("unshare not available: the read-only mount is not tested");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && (err.contains("unshare:") || err.contains("mount:")) {
        eprintln!("no mount namespace here ({}): the read-only mount is not tested", err.trim());
        return;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{err}");
    assert!(stdout.contains("reconcile") && stdout.contains("ok"), "{stdout}");
}

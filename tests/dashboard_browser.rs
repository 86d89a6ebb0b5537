//! `tradebot dashboard` in a real headless browser: Debian's `chromium` loads the page with
//! `?token=` (the redirect and the cookie), runs its refresh script, and shows the fixture's
//! figures; a screenshot is saved under `target/tmp/dashboard-browser/`.
//!
//! Skipped, saying why, when no chromium is installed, so the suite never depends on it;
//! `tests/browser/dashboard.sh` installs it and runs this test with `TRADEBOT_REQUIRE_CHROMIUM=1`
//! (then a missing browser fails). `TRADEBOT_CHROMIUM` names another binary.

#[path = "support/chromium.rs"]
mod chromium;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use chromium::browse;
use dashboard::fixture::{TOKEN, populate, write_token};

/// Kills the dashboard we started when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn headless_chromium_shows_equity_positions_and_the_kill_switch() {
    let Some(chromium) = chromium::chromium() else {
        eprintln!(
            "skipped: no chromium on PATH (apt-get install -y chromium, or run tests/browser/dashboard.sh)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sources = populate(dir.path());
    let token_file = dir.path().join("dashboard.token");
    write_token(&token_file);
    let child = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .arg("dashboard")
        .args(["--bind", "127.0.0.1:0", "--live-dir"])
        .arg(&sources.live_dir)
        .arg("--token-file")
        .arg(&token_file)
        .arg("--ops-db")
        .arg(&sources.ops_db)
        .arg("--log-dir")
        .arg(dir.path().join("logs"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tradebot dashboard");
    let mut running = Running(child);
    let mut line = String::new();
    BufReader::new(running.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    let url = format!("{base}/?token={TOKEN}");

    // Without the token the browser gets the 401 text, nothing of the books.
    let denied = browse(&chromium, &["--dump-dom"], &format!("{base}/"));
    let denied = String::from_utf8_lossy(&denied.stdout);
    assert!(denied.contains("401 unauthorized") && !denied.contains("GAPX"), "{denied}");

    // With it: the redirect sets the cookie, the page loads, and the script's refreshes (run
    // in virtual time) fetch /fragment with that cookie and swap the content in.
    let out = browse(&chromium, &["--dump-dom", "--virtual-time-budget=11000"], &url);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        r#"<b id="equity-value">100250.50</b>"#,
        r#"<td class="symbol">GAPX</td>"#,
        r#"<span id="kill-switch" class="bad">ON — halted: broker outage</span>"#,
        "TRIPPED: daily_loss",
        "order rejected: insufficient &lt;buying&gt; power",
        "<polyline",
        r#"<svg id="equity-intraday""#,
        "session 2025-12-31, 80 points",
        r#"<b id="unrealised-total" class="up">+40.00</b>"#,
    ] {
        assert!(dom.contains(needle), "the page in chromium lacks {needle:?}:\n{dom}");
    }
    assert!(dom.contains(r#"data-refreshes="2""#), "two refreshes in 11 s of virtual time:\n{dom}");
    assert!(dom.contains(r#"<span id="refresh-state"></span>"#), "a refresh failed:\n{dom}");

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-browser");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("dashboard.png");
    let _ = std::fs::remove_file(&png);
    let shot = format!("--screenshot={}", png.display());
    let out = browse(&chromium, &[&shot, "--window-size=1280,1600"], &url);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "{} bytes", bytes.len());
    eprintln!("screenshot: {}", png.display());
}

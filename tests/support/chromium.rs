//! Debian's `chromium`, headless, for the tests that look at a page as a person would
//! (`tests/dashboard_browser.rs`, `tests/report_browser.rs`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The browser to use: `TRADEBOT_CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`.
/// `None` (the caller skips, saying why) unless `TRADEBOT_REQUIRE_CHROMIUM` is set, when a
/// missing browser fails the test.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRADEBOT_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|p| p.is_file())
    });
    assert!(
        found.is_some() || std::env::var_os("TRADEBOT_REQUIRE_CHROMIUM").is_none(),
        "TRADEBOT_REQUIRE_CHROMIUM is set but no chromium is on PATH"
    );
    found
}

/// Runs chromium headless on `url` with `extra` flags and a new, empty profile; kills it after
/// 90 s. Its output is read while it runs (a page's `--dump-dom` fills a pipe's buffer).
pub fn browse(chromium: &Path, extra: &[&str], url: &str) -> Output {
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("chromium status");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

//! `tradebot dashboard` as a process, without a browser: the first start writes a private token
//! and prints the URL (the token itself only to a terminal), requests without it get 401, with
//! it the JSON; a token file others can read is refused; no database is created.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 GET on a fresh connection: the whole response as text.
fn get(addr: &str, path: &str, auth: Option<&str>) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = auth.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn dashboard(cwd: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tradebot"));
    c.args(["dashboard", "--bind", "127.0.0.1:0"]).current_dir(cwd).env_remove("TRADEBOT_LOG");
    c
}

#[test]
fn first_start_writes_a_private_token_prints_the_url_and_serves_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let child = dashboard(dir.path()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut running = Running(child);
    let mut out = BufReader::new(running.0.stdout.take().unwrap());
    let (mut first, mut second) = (String::new(), String::new());
    out.read_line(&mut first).unwrap();
    out.read_line(&mut second).unwrap();
    assert!(
        first.starts_with(
            "new dashboard token written to data/dashboard.token (mode 600); open http://127.0.0.1:"
        ),
        "{first}"
    );
    let token_path = dir.path().join("data/dashboard.token");
    let token = std::fs::read_to_string(&token_path).unwrap().trim().to_string();
    assert_eq!(token.len(), 64);
    // Not a terminal (under systemd: the journal): the URL names the file, not the token.
    assert!(first.trim_end().ends_with("/?token=<the token in data/dashboard.token>"), "{first}");
    assert!(!first.contains(&token), "{first}");
    assert_eq!(std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(second.starts_with("dashboard listening on http://127.0.0.1:"), "{second}");
    let addr = second.split("http://").nth(1).unwrap().split('/').next().unwrap().to_string();

    let denied = get(&addr, "/api/summary", None);
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    let denied = get(&addr, "/api/summary", Some("0".repeat(64).as_str()));
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    let ok = get(&addr, "/api/summary", Some(&token));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("no live database at data/live/live.db"), "{ok}");
    assert!(ok.contains("no operations database at data/ops.db"), "{ok}");
    drop(running);
    // It only reads: no database appeared.
    assert!(!dir.path().join("data/ops.db").exists() && !dir.path().join("data/live").exists());

    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dashboard(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data/dashboard.token has mode 644: only its owner may read it"), "{stderr}");
}

//! Test support (feature `testing`; helpers panic on failure): local HTTP endpoints for alert
//! channels — a receiver on 127.0.0.1 that records every POST, an endpoint that accepts and
//! never answers, an address nothing listens on — and a service-like WAL database for backup
//! tests. The live bridge's tests can use them too.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request path, e.g. `/hook`.
    pub path: String,
    /// The JSON body.
    pub body: Value,
}

/// A tiny HTTP/1.1 server on an ephemeral loopback port recording each POST.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    got: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    /// Starts the server on an ephemeral port.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&got);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let sink = Arc::clone(&sink);
                thread::spawn(move || serve(stream, &sink));
            }
        });
        Receiver { base, got }
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (bounded) until `n` requests arrived.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.requests().len() < n && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        self.requests()
    }
}

/// Reads requests off one connection (keep-alive) and answers each with 200.
fn serve(stream: TcpStream, sink: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        sink.lock().unwrap().push(Request { path, body: serde_json::from_slice(&body).unwrap() });
        out.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").unwrap();
    }
}

/// Accepts connections and holds them open without ever answering.
pub fn hanging_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    base
}

/// A loopback address with nothing listening: connections are refused.
pub fn refused_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    base
}

/// Opens (creating) a WAL database at `path` with a table `rows (id INTEGER PRIMARY KEY,
/// payload TEXT)`, set up like a service's (10 s busy timeout).
pub fn service_db(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)).unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        .unwrap();
    conn
}

/// The ids in the `rows` table of the database at `path`, ascending.
pub fn row_ids(path: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.prepare("SELECT id FROM rows ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

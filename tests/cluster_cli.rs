//! Scale-out over NATS JetStream (docs/scale-out.md): each test starts its own `nats-server -js`
//! on a free loopback port with its store in a temp directory, spawns `tradebot worker`s, runs
//! `tradebot research --nats` and compares the report's figures with a local run's — with two
//! workers, with a worker killed holding a task, with a worker whose store holds other bars, and
//! with the server restarted mid-run; a task failing on every delivery scores its genomes invalid
//! instead of hanging the run.
//!
//! Debian's `nats-server` is needed: `.ci/run` installs it, and these tests skip, saying so, only
//! when it is missing (CI sets `TRADEBOT_REQUIRE_NATS=1` once it is installed: then they fail).

#[path = "support/tb.rs"]
mod tb;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A research file small enough for a test: three families (single stock, two portfolios).
const RESEARCH: &str = r#"
[research]
name = "farm"
report = "results/farm"
[families.sma_cross]
params = { fast = { min = 2, max = 30 }, slow = { min = 10, max = 120 } }
[families.mean_reversion]
[families.sector_rotation]
[discover]
population = 12
generations = 2
[evolve]
population = 10
generations = 3
seed = 23
[validation]
in_sample = 0.7
pbo_blocks = 4
[fitness]
min_trades = 3
"#;

/// The queue settings every process of a test uses: a short ack wait, two deliveries.
const QUEUE: [&str; 4] = ["--ack-wait", "2", "--max-deliver", "2"];

/// The nats-server binary, or `None` (the test then skips, unless CI requires it).
fn nats_server() -> Option<PathBuf> {
    let found = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("TRADEBOT_REQUIRE_NATS").is_none(),
            "TRADEBOT_REQUIRE_NATS is set but nats-server is not installed"
        );
        eprintln!(
            "skipped: nats-server is not installed (apt-get install nats-server); the cluster is not tested"
        );
    }
    found
}

/// A nats-server with JetStream on a free loopback port, its store in `dir`; killed on drop.
struct Nats {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl Nats {
    fn start(dir: &Path) -> Option<Nats> {
        let binary = nats_server()?;
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = dir.join("jetstream");
        let child = Nats::spawn(&binary, &dir, port);
        Some(Nats { binary, dir, port, child })
    }

    fn spawn(binary: &Path, dir: &Path, port: u16) -> Child {
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server, waits `down`, starts it again on the same port and store.
    fn restart(&mut self, down: Duration) {
        signal(&self.child, "TERM");
        self.child.wait().unwrap();
        std::thread::sleep(down);
        self.child = Nats::spawn(&self.binary, &self.dir, self.port);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `SIGNAL` to `child`.
fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// A child process killed (if still running) when the test ends, passed or not.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `tradebot worker` on `nats` reading `store`, logging into `cwd/logs-NAME`.
fn worker(cwd: &Path, nats: &Nats, store: &str, name: &str, extra: &[&str]) -> Reaped {
    let child = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .args(["worker", "--nats", &nats.url(), "--store", store, "--threads", "1", "--name", name])
        .args(QUEUE)
        .args(extra)
        .args(["--log-dir", &format!("logs-{name}"), "--ops-db", &format!("ops-{name}.db")])
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        // A file, not a pipe nobody reads while the worker runs (a full pipe would block it).
        .stderr(std::fs::File::create(cwd.join(format!("{name}.stderr"))).unwrap())
        .spawn()
        .expect("start tradebot worker");
    Reaped(child)
}

/// Sends SIGTERM to worker `name` and checks that it exits 0 with its tally.
fn stops_cleanly(mut worker: Reaped, cwd: &Path, name: &str) {
    signal(&worker.0, "TERM");
    let status = worker.0.wait().unwrap();
    let err = worker_stderr(cwd, name);
    assert!(status.success() && err.contains("worker stopped: "), "{status}: {err}");
}

/// What worker `name` printed on stderr in `cwd`.
fn worker_stderr(cwd: &Path, name: &str) -> String {
    std::fs::read_to_string(cwd.join(format!("{name}.stderr"))).unwrap_or_default()
}

/// A directory with a generated store (16 symbols × 4 years, seed `seed`) and the research file.
fn setup(dir: &Path, seed: &str) {
    std::fs::create_dir_all(dir).unwrap();
    tb::succeeds(
        dir,
        &["data", "generate", "--symbols", "16", "--years", "4", "--seed", seed, "--store", "store"],
    );
    std::fs::write(dir.join("research.toml"), RESEARCH).unwrap();
}

/// A temp directory with a NATS server and `farm/` set up with the store of seed 23; `None`
/// when nats-server is missing (the test skips).
fn farm_only() -> Option<(tempfile::TempDir, Nats, PathBuf)> {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path())?;
    let cwd = dir.path().join("farm");
    setup(&cwd, "23");
    Some((dir, nats, cwd))
}

/// `dir/farm` set up with the store of seed 23, and `dir/other` with the other bars of seed 24.
fn farm_and_other(dir: &Path) -> PathBuf {
    let cwd = dir.join("farm");
    setup(&cwd, "23");
    setup(&dir.join("other"), "24");
    cwd
}

/// The research arguments (with `extra`) in `dir`, logging into `dir/logs`.
fn research_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["research", "research.toml", "--store", "store", "--db", "r.db", "--threads", "1"]
            .iter()
            .chain(["--json", "--log-dir", "logs", "--ops-db", "ops.db", "--models", "models"].iter())
            .map(|s| s.to_string())
            .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The research report's figures (timing fields aside) and the coordinator's stderr.
fn figures(out: &std::process::Output) -> (Value, String) {
    untimed(out, &["elapsed_s", "evals_per_s", "generated_utc"])
}

/// A successful command's JSON output without the `timing` keys, and its stderr.
fn untimed(out: &std::process::Output, timing: &[&str]) -> (Value, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "the coordinator failed:\n{stderr}");
    let mut json: Value = serde_json::from_slice(&out.stdout).expect("the output is JSON");
    for key in timing {
        json.as_object_mut().unwrap().remove(*key);
    }
    (json, stderr)
}

/// A local run's figures in `dir/local`.
fn local(dir: &Path) -> Value {
    let local = dir.join("local");
    setup(&local, "23");
    let args = research_args(&[]);
    figures(&tb::run(&local, &args.iter().map(String::as_str).collect::<Vec<_>>())).0
}

/// The farmed research run in `dir/farm` (set up already) on `nats`, started with `extra`
/// arguments; its output is collected with `wait_with_output`.
fn spawn_farmed(dir: &Path, nats: &Nats, extra: &[&str]) -> Child {
    let url = nats.url();
    let mut farm = vec!["--nats", url.as_str()];
    farm.extend(QUEUE);
    farm.extend(extra);
    Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .args(research_args(&farm))
        .current_dir(dir.join("farm"))
        .env_remove("TRADEBOT_STORE")
        .env_remove("TRADEBOT_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tradebot research")
}

/// The farmed run in `dir/farm` (set up already) on `nats`: its figures and stderr.
fn farmed(dir: &Path, nats: &Nats) -> (Value, String) {
    figures(&spawn_farmed(dir, nats, &[]).wait_with_output().unwrap())
}

/// Waits (up to 20 s) until a log file in `dir` contains `text`.
fn wait_for_log(dir: &Path, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|f| std::fs::read_to_string(f.path()).unwrap_or_default().contains(text))
    {
        assert!(Instant::now() < deadline, "no log in {} says `{text}`", dir.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number before `what` in the coordinator's cluster line ("45 tasks: 30 by 2 worker(s)…").
fn tally(stderr: &str, what: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("cluster "))
        .unwrap_or_else(|| panic!("no cluster line:\n{stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.trim_end_matches([',', ';']) == what)
        .unwrap_or_else(|| panic!("{what}: {line}"));
    words[at - 1].parse().unwrap_or_else(|_| panic!("{what}: {line}"))
}

#[test]
fn research_on_two_workers_matches_a_local_run_and_a_worker_stops_on_sigterm_mid_run() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start(dir.path()) else { return };
    let expected = local(dir.path());
    let cwd = farm_and_other(dir.path());
    // w2's store holds other bars: it fetches the coordinator's segments from the object store.
    let workers = [worker(&cwd, &nats, "store", "w1", &[]), worker(&cwd, &nats, "../other/store", "w2", &[])];
    let coordinator = spawn_farmed(dir.path(), &nats, &[]);
    // w1 is stopped mid-run: it finishes the task in hand and exits 0; the run goes on.
    wait_for_log(&cwd.join("logs"), "family 2/3");
    let [w1, w2] = workers;
    stops_cleanly(w1, &cwd, "w1");
    let (report, stderr) = figures(&coordinator.wait_with_output().unwrap());
    assert_eq!(report, expected, "the farmed report differs from the local one\n{stderr}");
    assert!(tally(&stderr, "by") > 0, "no task went to a worker:\n{stderr}");
    assert!(stderr.contains("shared through the object store"), "{stderr}");
    stops_cleanly(w2, &cwd, "w2");
    // Research hands its farm to its discovery (which runs after w1 has stopped): w2 evaluated
    // discovery tasks. Tasks name the symbol list by its hash: w2 fetched each list once for the
    // whole run — the universe's (if a family's task came its way) and discovery's (SPY, VIX).
    let tallied = worker_stderr(&cwd, "w2");
    let (tune, discover) = (worker_tasks(&tallied, "tune"), worker_tasks(&tallied, "discover"));
    assert!(discover > 0, "no discovery task went to w2: {tallied}");
    let lists = usize::from(tune > 0) + 1;
    assert!(tallied.contains(&format!("; {lists} symbol list(s) fetched")), "{tallied}");
    let w2 = logged(&cwd.join("logs-w2"));
    assert!(
        w2.contains("built a copy of the coordinator's store") && w2.contains("segment(s) fetched"),
        "{w2}"
    );
    assert!(!w2.contains("refusing"), "{w2}");
    // The copy holds the coordinator's segments: the farm's store verifies against its manifest.
    let cache = cwd.join("data/worker-cache");
    let copies: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("MANIFEST.json").exists())
        .collect();
    assert_eq!(copies.len(), 1, "{}", cache.display());
    let manifest = |dir: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join("MANIFEST.json")).unwrap()).unwrap()
    };
    assert_eq!(manifest(&copies[0].path())["segments"], manifest(&cwd.join("store"))["segments"]);
}

/// The number of tasks of `kind` ("tune" or "discover") a worker's stopping tally (its
/// stderr) says it did: "… 12 tasks done (9 tune, 3 discover), …".
fn worker_tasks(stderr: &str, kind: &str) -> usize {
    let line =
        stderr.lines().find(|l| l.contains(" tasks done (")).unwrap_or_else(|| panic!("no tally: {stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.trim_end_matches([',', ')']) == kind)
        .unwrap_or_else(|| panic!("{kind}: {line}"));
    words[at - 1].trim_start_matches('(').parse().unwrap_or_else(|_| panic!("{kind}: {line}"))
}

/// Everything the log files in `dir` say.
fn logged(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .collect()
}

#[test]
fn a_worker_killed_holding_a_task_and_one_with_other_bars_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start(dir.path()) else { return };
    let expected = local(dir.path());
    let cwd = farm_and_other(dir.path());
    let mut hung = worker(&cwd, &nats, "store", "hung", &["--fault", "hang"]);
    let mut other = worker(&cwd, &nats, "../other/store", "other", &["--no-fetch"]);
    let coordinator = spawn_farmed(dir.path(), &nats, &[]);
    // Killed once it holds a task (claimed, never answered): the task is taken back.
    wait_for_log(&cwd.join("logs-hung"), "fault injected: hanging");
    hung.0.kill().unwrap();
    hung.0.wait().unwrap();
    let (report, stderr) = figures(&coordinator.wait_with_output().unwrap());
    assert_eq!(report, expected, "the report differs from the local one\n{stderr}");
    assert!(tally(&stderr, "refusal(s)") > 0, "the worker with other bars refused nothing:\n{stderr}");
    signal(&other.0, "TERM");
    other.0.wait().unwrap();
    let err = worker_stderr(&cwd, "other");
    let logged = logged(&cwd.join("logs-other"));
    assert!(logged.contains("holds other bars than the task's"), "{err}\n{logged}");
}

#[test]
fn a_task_failing_on_every_delivery_scores_its_genomes_invalid_instead_of_hanging() {
    let Some((dir, nats, cwd)) = farm_only() else { return };
    let _failing = worker(&cwd, &nats, "store", "failing", &["--fault", "panic"]);
    let (_, stderr) = farmed(dir.path(), &nats);
    assert!(tally(&stderr, "failed") > 0, "no task failed for good:\n{stderr}");
    let db = cwd.join("r.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let reason: String = conn
        .query_row(
            "SELECT metrics FROM individuals WHERE metrics LIKE '%failed on the cluster%' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("an individual scored invalid with the cluster's reason");
    assert!(reason.contains("fault injected") && reason.contains("2 of 2"), "{reason}");
}

#[test]
fn the_server_restarting_mid_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut nats) = Nats::start(dir.path()) else { return };
    let expected = local(dir.path());
    let cwd = dir.path().join("farm");
    setup(&cwd, "23");
    let _worker = worker(&cwd, &nats, "store", "w1", &[]);
    let coordinator = spawn_farmed(dir.path(), &nats, &["--reconnect-wait", "5"]);
    // Restarted once the GA runs (the coordinator connected and farms its first family).
    wait_for_log(&cwd.join("logs"), "family 1/3");
    nats.restart(Duration::from_millis(300));
    let (report, stderr) = figures(&coordinator.wait_with_output().unwrap());
    assert_eq!(report, expected, "the report differs from the local one\n{stderr}");
    wait_for_log(&cwd.join("logs"), "event: disconnected");
}

#[test]
fn evolve_on_a_worker_without_the_bars_matches_a_local_run() {
    let Some((_dir, nats, cwd)) = farm_only() else { return };
    let experiment = "[experiment]\nname = \"e\"\nstrategy = \"sma_cross\"\n\
        [data]\nstore = \"store\"\nsymbols = [\"SPY\", \"S0001\", \"S0002\", \"S0003\", \"S0004\", \"S0005\"]\n\
        [evolve]\npopulation = 12\ngenerations = 3\nseed = 5\n[fitness]\nmin_trades = 3\n";
    std::fs::write(cwd.join("e.toml"), experiment).unwrap();
    let timing = ["seconds", "evals_per_s", "ga_overhead"];
    let evolve = |db: &str, farm: &[&str]| json_run(&cwd, &["evolve", "e.toml", "--db", db], farm, &timing);
    let (expected, _) = evolve("local.db", &[]);
    // The worker has no store at all: it fetches the coordinator's from the object store; a
    // damaged object left in its cache is replaced, not used.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(cwd.join("store/MANIFEST.json")).unwrap()).unwrap();
    let segment = &manifest["segments"][0];
    let (xxh3, bytes) = (segment["xxh3"].as_u64().unwrap(), segment["bytes"].as_u64().unwrap());
    let damaged = cwd.join(format!("data/worker-cache/objects/segment-{xxh3:016x}-{bytes}"));
    std::fs::create_dir_all(damaged.parent().unwrap()).unwrap();
    std::fs::write(&damaged, vec![7u8; bytes as usize]).unwrap();
    let _worker = worker(&cwd, &nats, "nostore", "w1", &[]);
    // The run starts once the worker pulls. Its tasks are small (six symbols), but the workers
    // have each batch to themselves for a claim's round trip before the coordinator takes the
    // tasks nobody claimed: the worker takes some.
    wait_for_log(&cwd.join("logs-w1"), "pulling tasks from");
    let farm = nats_args(&nats);
    let farm: Vec<&str> = farm.iter().map(String::as_str).collect();
    let (report, stderr) = evolve("farm.db", &farm);
    assert_eq!(report, expected, "the farmed evolution differs from the local one\n{stderr}");
    assert!(stderr.contains("shared through the object store"), "{stderr}");
    assert!(
        tally(&stderr, "by") > 0,
        "no task went to the worker:\n{stderr}\nthe worker:\n{}",
        logged(&cwd.join("logs-w1"))
    );
    assert_eq!(
        std::fs::read(&damaged).unwrap(),
        std::fs::read(cwd.join("store").join(segment["file"].as_str().unwrap())).unwrap()
    );
}

/// A discovery on two of the store's symbols, small enough for a test (novelty search on, the
/// gates open so candidates are recorded).
const DISCOVERY: &str = r#"
[experiment]
name = "farmed_discovery"
[data]
store = "store"
symbols = ["SPY", "TLT"]
[discover]
parsimony = 0.002
candidates = "candidates"
promoted = "promoted"
[discover.gp]
init_max_depth = 3
max_depth = 5
max_nodes = 24
protective_exits = true
[discover.gates]
min_oos_sharpe = -100
min_dsr = 0
min_oos_trades = 0
max_drawdown = 1
[evolve]
population = 24
generations = 3
seed = 11
hall_of_fame = 4
[fitness]
min_trades = 2
[validation]
in_sample = 0.7
"#;

/// `tradebot ARGS --json --threads 1` in `cwd` (with `farm` arguments when farmed): its JSON
/// without the `timing` keys, and its stderr.
fn json_run(cwd: &Path, args: &[&str], farm: &[&str], timing: &[&str]) -> (Value, String) {
    let mut all = args.to_vec();
    all.extend(["--json", "--threads", "1"]);
    all.extend(farm);
    untimed(&tb::run(cwd, &all), timing)
}

/// The `--nats` arguments of a coordinator on `nats`.
fn nats_args(nats: &Nats) -> Vec<String> {
    let mut args = vec!["--nats".to_string(), nats.url()];
    args.extend(QUEUE.iter().map(|s| s.to_string()));
    args
}

/// Discovery farmed to one worker, then to two, gives the local run's hall of fame, candidates
/// and figures; the workers evaluate GP genomes sent in their binary form.
#[test]
fn discover_on_one_and_two_workers_matches_a_local_run() {
    let Some((_dir, nats, cwd)) = farm_only() else { return };
    std::fs::write(cwd.join("discover.toml"), DISCOVERY).unwrap();
    // Timing, and structural sharing (a task shares subexpressions within itself only).
    let timing = ["seconds", "sharing", "novelty_cost", "generation_costs"];
    let discover =
        |db: &str, farm: &[&str]| json_run(&cwd, &["discover", "discover.toml", "--db", db], farm, &timing);
    let (expected, _) = discover("local.db", &[]);
    assert!(!expected["candidates"].as_array().unwrap().is_empty(), "{expected}");
    let farm = nats_args(&nats);
    let farm: Vec<&str> = farm.iter().map(String::as_str).collect();
    let mut workers = Vec::new();
    // The second run names the server in the file's `[cluster]` instead of `--nats`.
    let in_file =
        format!("{DISCOVERY}[cluster]\nnats = \"{}\"\nack_wait_s = 2\nmax_deliver = 2\n", nats.url());
    for (n, name, flags) in [(1, "w1", &farm[..]), (2, "w2", &[][..])] {
        if n == 2 {
            std::fs::write(cwd.join("discover.toml"), &in_file).unwrap();
        }
        workers.push(worker(&cwd, &nats, "store", name, &[]));
        // Pulling before the (short) run publishes its first generation.
        wait_for_log(&cwd.join(format!("logs-{name}")), "pulling tasks from");
        let (report, stderr) = discover(&format!("farm{n}.db"), flags);
        assert_eq!(report, expected, "discovery on {n} worker(s) differs from the local one\n{stderr}");
        assert!(tally(&stderr, "by") > 0, "no task went to a worker:\n{stderr}");
    }
}

/// The rows of a sweep's results in the research database at `db`, in order, as text.
fn sweep_rows(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut query = conn.prepare("SELECT * FROM sweep_results ORDER BY rowid").unwrap();
    let columns = query.column_count();
    query
        .query_map([], |row| {
            let values: Vec<rusqlite::types::Value> =
                (0..columns).map(|i| row.get(i)).collect::<Result<_, _>>()?;
            Ok(format!("{values:?}"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A sweep farmed to one worker, then to two, writes the local sweep's CSV and database rows,
/// in the same order (every scope on the general path: three symbols together, then each alone).
#[test]
fn sweep_on_one_and_two_workers_matches_a_local_run() {
    let Some((_dir, nats, cwd)) = farm_only() else { return };
    let experiment = "[experiment]\nname = \"s\"\nstrategy = \"mean_reversion\"\n\
        [data]\nstore = \"store\"\nsymbols = [\"SPY\", \"TLT\", \"GLD\"]\n\
        [sweep]\nmode = \"grid\"\nrank_by = \"sortino\"\nper_symbol = true\n\
        [params]\nwindow = { values = [10, 20, 30, 40] }\nentry_z = { values = [1.0, 1.5, 2.0] }\n\
        exit_z = { values = [0.0, 0.5] }\n\
        [output]\ncsv = \"out.csv\"\ntop = 5\n";
    std::fs::write(cwd.join("s.toml"), experiment).unwrap();
    let sweep = |db: &str, farm: &[&str]| {
        let out = json_run(&cwd, &["sweep", "s.toml", "--db", db], farm, &[]);
        (out, std::fs::read_to_string(cwd.join("out.csv")).unwrap(), sweep_rows(&cwd.join(db)))
    };
    let ((expected, _), csv, rows) = sweep("local.db", &[]);
    assert!(rows.len() > 50, "{rows:?}");
    let farm = nats_args(&nats);
    let farm: Vec<&str> = farm.iter().map(String::as_str).collect();
    let mut workers = Vec::new();
    for (n, name) in [(1, "w1"), (2, "w2")] {
        workers.push(worker(&cwd, &nats, "store", name, &[]));
        // Pulling before the (short) run publishes its first generation.
        wait_for_log(&cwd.join(format!("logs-{name}")), "pulling tasks from");
        let ((report, stderr), farmed_csv, farmed_rows) = sweep(&format!("farm{n}.db"), &farm);
        assert_eq!(report, expected, "the sweep on {n} worker(s) differs from the local one\n{stderr}");
        assert_eq!(farmed_csv, csv, "{stderr}");
        assert_eq!(farmed_rows, rows, "{stderr}");
        assert!(tally(&stderr, "by") > 0, "no task went to a worker:\n{stderr}");
    }
}

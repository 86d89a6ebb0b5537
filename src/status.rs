//! `tradebot status`: the health of everything on this machine, read without disturbing the
//! services (no database is created, no lock is taken).
//!
//! Sections: the last research run, data freshness per timeframe, disk use (logs, databases,
//! store, backups, free space), the latest health sample of each service plus a sample taken
//! now, recent errors, and the live service.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Args;
use datasets::Timestamp;
use datasets::actions::{StoreInfo, describe};
use datasets::store::Store;
use evolve::db::{ResearchDb, RunKind, RunRecord};
use experiments::research::ResearchSummary;
use live_bridge::status::Safety;
use ops::db::{ErrorRecord, HealthRecord, OpsDb};
use ops::disk::{self, human};
use ops::health;
use serde::Serialize;
use serde_json::{Value, json};

use crate::service::OpsArgs;

/// The live bridge's database by default. EXTENSION POINT (issue 6): the live bridge owns this
/// path; when its default differs, change it here (or pass `--live-db`).
pub const LIVE_DB: &str = "data/live.db";

/// Arguments of `tradebot status`.
#[derive(Args)]
pub struct StatusArgs {
    /// Data directory: every `*.db` in it is listed with its size (`--data` is the old
    /// spelling, kept for one release).
    #[arg(long, alias = "data", env = "TRADEBOT_DATA", default_value = crate::db::DEFAULT_DATA)]
    data_dir: PathBuf,
    /// Bar store directory.
    #[arg(long, env = "TRADEBOT_STORE", default_value = crate::data::DEFAULT_STORE)]
    store: PathBuf,
    /// Research database.
    #[arg(long, env = "TRADEBOT_DB", default_value = evolve::db::DEFAULT_PATH)]
    db: PathBuf,
    /// The live service's database.
    #[arg(long, env = "TRADEBOT_LIVE_DB", default_value = LIVE_DB)]
    live_db: PathBuf,
    /// Backup directory.
    #[arg(long, env = "TRADEBOT_BACKUPS", default_value = ops::backup::DEFAULT_DIR)]
    backups: PathBuf,
    /// Recent errors listed.
    #[arg(long, default_value_t = 5)]
    errors: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Freshness of one timeframe of the store.
#[derive(Serialize)]
struct Freshness {
    timeframe: String,
    symbols: usize,
    last_bar: String,
    /// Completed NYSE sessions after the newest bar (exchange-traded series).
    sessions_behind: Option<usize>,
    /// The series furthest behind, and by how many sessions.
    stalest: Option<(String, usize)>,
    age_days: i64,
}

/// The live service's section: whether it runs (its database lock), and its kill switch,
/// tripped breakers and last reconciliation, read from its database without writing.
#[derive(Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Live {
    /// No live database at the expected path.
    NotConfigured { looked_for: String },
    /// The database exists; `pids` hold its lock (empty: the service is not running).
    Present {
        db: String,
        bytes: u64,
        pids: Vec<u32>,
        /// Kill switch, breakers, last reconciliation; or why they could not be read.
        safety: Result<Safety, String>,
    },
}

/// Runs `tradebot status`.
pub fn run(args: StatusArgs, ops_args: &OpsArgs) -> Result<()> {
    let now = Timestamp::from_datetime(Utc::now()).context("clock out of range")?;
    let research = last_research(&args.db)?;
    let store = match Store::open(&args.store) {
        Ok(s) => Ok(describe(&s, now)),
        Err(e) => Err(e.to_string()),
    };
    let freshness = store.as_ref().map(freshness).map_err(Clone::clone);
    let ops_db = OpsDb::open_existing(&ops_args.ops_db)?;
    let (latest_health, errors, errors_24h) = match &ops_db {
        Some(db) => (
            db.latest_health()?,
            db.recent_errors(args.errors)?,
            db.errors_since(now.0 - 86_400_000_000_000)?,
        ),
        None => (Vec::new(), Vec::new(), 0),
    };
    let here = health::sample("status");
    let live = if args.live_db.exists() {
        Live::Present {
            db: args.live_db.display().to_string(),
            bytes: disk::database_size(&args.live_db),
            pids: ops::lock::holders(&args.live_db),
            safety: Safety::read(&args.live_db).map_err(|e| e.to_string()),
        }
    } else {
        Live::NotConfigured { looked_for: args.live_db.display().to_string() }
    };
    let disk = disk_use(&args, ops_args, store.as_ref().ok())?;

    if args.json {
        let value = json!({
            "time": now.to_string(),
            "research": research.as_ref().map(research_json),
            "store": match &freshness { Ok(f) => json!({"dir": args.store, "timeframes": f}), Err(e) => json!({"error": e}) },
            "disk": disk,
            "health": {"latest": latest_health, "now": here},
            "errors": {"last_24h": errors_24h, "recent": errors},
            "live": live,
        });
        return crate::emit(&serde_json::to_string_pretty(&value)?);
    }
    let mut out = String::new();
    writeln!(out, "status at {now}")?;
    write_research(&mut out, research.as_ref(), &args.db)?;
    write_store(&mut out, &args.store, &freshness)?;
    write_disk(&mut out, &disk)?;
    write_health(&mut out, &latest_health, &here)?;
    write_errors(&mut out, &errors, errors_24h)?;
    write_live(&mut out, &live)?;
    crate::emit(&out)
}

/// The newest research run, without creating the database.
fn last_research(path: &Path) -> Result<Option<RunRecord>> {
    if !path.exists() {
        return Ok(None);
    }
    let db = ResearchDb::open(path)?;
    Ok(db.runs(1000)?.into_iter().find(|r| r.kind == RunKind::Research))
}

/// Verdict counts (`enable` → 3, …) of a research run's summary, by the verdict's word.
fn verdicts(run: &RunRecord) -> BTreeMap<String, usize> {
    let summary = ResearchSummary::parse(run.summary.as_deref());
    summary.verdict_counts().into_iter().map(|(v, n)| (v.to_string(), n)).collect()
}

fn elapsed_s(run: &RunRecord) -> Option<f64> {
    run.finished_ns.map(|f| (f - run.started_ns) as f64 / 1e9)
}

fn research_json(run: &RunRecord) -> Value {
    json!({
        "id": run.id, "name": run.name, "status": run.status.as_str(),
        "started": Timestamp(run.started_ns).to_string(),
        "finished": run.finished_ns.map(|t| Timestamp(t).to_string()),
        "elapsed_s": elapsed_s(run), "verdicts": verdicts(run),
    })
}

fn write_research(out: &mut String, run: Option<&RunRecord>, db: &Path) -> Result<()> {
    let Some(run) = run else {
        writeln!(out, "research   no research run recorded in {}", db.display())?;
        return Ok(());
    };
    let mut line = format!(
        "research   run #{} {:?} {} (started {}",
        run.id,
        run.name,
        run.status,
        Timestamp(run.started_ns)
    );
    if let Some(s) = elapsed_s(run) {
        write!(line, ", took {s:.1} s")?;
    }
    line.push(')');
    let v = verdicts(run);
    if !v.is_empty() {
        let parts: Vec<String> = v.iter().map(|(k, n)| format!("{n} {k}")).collect();
        write!(line, "; verdicts: {}", parts.join(", "))?;
    }
    writeln!(out, "{line}")?;
    Ok(())
}

fn freshness(info: &StoreInfo) -> Vec<Freshness> {
    info.timeframes
        .iter()
        .map(|t| {
            let series = info.series.iter().filter(|s| s.timeframe == t.timeframe);
            let behind: Vec<(&str, usize)> =
                series.clone().filter_map(|s| s.sessions_behind.map(|b| (s.symbol.as_str(), b))).collect();
            Freshness {
                timeframe: t.timeframe.to_string(),
                symbols: t.symbols,
                last_bar: t.last.to_string(),
                sessions_behind: behind.iter().map(|&(_, b)| b).min(),
                stalest: behind
                    .iter()
                    .max_by_key(|&&(s, b)| (b, std::cmp::Reverse(s)))
                    .map(|&(s, b)| (s.to_string(), b)),
                age_days: series.map(|s| s.age_days).min().unwrap_or(0),
            }
        })
        .collect()
}

fn write_store(out: &mut String, dir: &Path, freshness: &Result<Vec<Freshness>, String>) -> Result<()> {
    let rows = match freshness {
        Ok(rows) => rows,
        Err(e) => {
            writeln!(out, "data       {e}")?;
            return Ok(());
        }
    };
    writeln!(out, "data       {}", dir.display())?;
    for f in rows {
        let mut line = format!(
            "  {:<6} {:>5} symbols, last bar {} ({} days ago",
            f.timeframe, f.symbols, f.last_bar, f.age_days
        );
        if let Some(b) = f.sessions_behind {
            write!(line, ", {b} sessions behind")?;
        }
        line.push(')');
        if let Some((symbol, b)) = &f.stalest
            && Some(*b) != f.sessions_behind
        {
            write!(line, "; stalest {symbol} {b} sessions behind")?;
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Bytes on disk of everything operations cares about.
#[derive(Serialize)]
struct DiskUse {
    logs_dir: String,
    /// Per service (the file name up to the first dot).
    logs: BTreeMap<String, u64>,
    /// Every database of the data directory (with its -wal and -shm files).
    databases: BTreeMap<String, u64>,
    store: u64,
    backups_dir: String,
    backups: u64,
    latest_backup: Option<String>,
    free: Option<u64>,
    filesystem: Option<u64>,
}

fn disk_use(args: &StatusArgs, ops_args: &OpsArgs, store: Option<&StoreInfo>) -> Result<DiskUse> {
    let mut logs = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir(&ops_args.log_dir) {
        for entry in dir.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let service = name.split('.').next().unwrap_or_default().to_string();
            *logs.entry(service).or_insert(0) += disk::size_of(&entry.path());
        }
    }
    let mut dbs: Vec<PathBuf> =
        if args.data_dir.is_dir() { ops::backup::discover(&args.data_dir)? } else { Vec::new() };
    for extra in [&args.db, &ops_args.ops_db, &args.live_db] {
        if extra.exists() && !dbs.iter().any(|d| same_file(d, extra)) {
            dbs.push(extra.clone());
        }
    }
    let databases = dbs.iter().map(|d| (d.display().to_string(), disk::database_size(d))).collect();
    let latest_backup = ops::backup::days(&args.backups).ok().and_then(|d| d.last().cloned());
    let space = disk::space(if args.data_dir.is_dir() { &args.data_dir } else { Path::new(".") });
    Ok(DiskUse {
        logs_dir: ops_args.log_dir.display().to_string(),
        logs,
        databases,
        store: store.map_or(0, |_| disk::size_of(&args.store)),
        backups_dir: args.backups.display().to_string(),
        backups: disk::size_of(&args.backups),
        latest_backup: latest_backup.map(|p| p.display().to_string()),
        free: space.map(|s| s.available),
        filesystem: space.map(|s| s.total),
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn write_disk(out: &mut String, d: &DiskUse) -> Result<()> {
    let logs: u64 = d.logs.values().sum();
    let per: Vec<String> = d.logs.iter().map(|(s, b)| format!("{s} {}", human(*b))).collect();
    let per = if per.is_empty() { String::new() } else { format!(" ({})", per.join(", ")) };
    writeln!(out, "disk       logs {}/ {}{per}", d.logs_dir.trim_end_matches('/'), human(logs))?;
    for (db, bytes) in &d.databases {
        writeln!(out, "           {db} {}", human(*bytes))?;
    }
    writeln!(out, "           store {}", human(d.store))?;
    let latest = d.latest_backup.as_deref().unwrap_or("none yet");
    writeln!(
        out,
        "           backups {}/ {} (latest: {latest})",
        d.backups_dir.trim_end_matches('/'),
        human(d.backups)
    )?;
    if let (Some(free), Some(total)) = (d.free, d.filesystem) {
        writeln!(out, "           free {} of {}", human(free), human(total))?;
    }
    Ok(())
}

/// A sample's pressure figures, led by the process's RSS when `rss`.
fn health_line(h: &HealthRecord, rss: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if rss {
        let mb = |b: Option<u64>| b.map_or("?".into(), human);
        parts.push(format!("RSS {} (peak {})", mb(h.rss_bytes), mb(h.rss_peak_bytes)));
    }
    parts.extend(health::pressures(h).into_iter().map(|(what, pct)| format!("{what} {pct:.0} %")));
    parts.join(", ")
}

fn write_health(out: &mut String, latest: &[HealthRecord], here: &HealthRecord) -> Result<()> {
    if latest.is_empty() {
        writeln!(out, "health     no sample recorded yet (services record one every 5 minutes)")?;
    }
    for (k, h) in latest.iter().enumerate() {
        let label = if k == 0 { "health" } else { "" };
        writeln!(
            out,
            "{label:<10} {} (pid {}) at {}: {}",
            h.service,
            h.pid,
            Timestamp(h.time_ns),
            health_line(h, true)
        )?;
    }
    writeln!(out, "           this machine now: {}", health_line(here, false))?;
    Ok(())
}

fn write_errors(out: &mut String, errors: &[ErrorRecord], last_24h: u64) -> Result<()> {
    writeln!(out, "errors     {last_24h} in the last 24 h")?;
    for e in errors {
        writeln!(out, "  {} {} {}: {}", Timestamp(e.time_ns), e.service, e.component, e.message)?;
    }
    Ok(())
}

fn write_live(out: &mut String, live: &Live) -> Result<()> {
    match live {
        Live::NotConfigured { looked_for } => {
            writeln!(out, "live       live service: not configured (no {looked_for})")?
        }
        Live::Present { db, bytes, pids, safety } => {
            let state = match pids.as_slice() {
                [] => "not running (nothing holds its database lock)".to_string(),
                p => format!("running (pid {})", p.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")),
            };
            writeln!(out, "live       live service: {state}; database {db} {}", human(*bytes))?;
            match safety {
                Ok(safety) => {
                    for line in safety.to_string().lines() {
                        writeln!(out, "           {line}")?;
                    }
                }
                Err(e) => writeln!(out, "           kill switch, breakers: unreadable ({e})")?,
            }
            // Broker connectivity is not probed: status makes no broker requests (no keys).
        }
    }
    Ok(())
}

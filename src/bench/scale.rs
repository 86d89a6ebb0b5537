//! `tradebot bench scale`: the research's time and memory as the universe grows.
//!
//! For each universe size it generates a synthetic daily store, runs `tradebot research` on it
//! as a child process and samples the child's `/proc/PID/status` every 5 ms (a small universe's
//! run takes a tenth of a second, so a coarser sampler misses its peak): the peak of RssAnon
//! (heap: what must stay bounded) and of RssFile (the mapped store: page cache, which the kernel
//! may evict), the wall and CPU time, and the CPU time per symbol-bar. Linux only.
//! See docs/performance.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use datasets::Timeframe;
use datasets::store::Store;
use datasets::synth::SynthConfig;
use serde::Serialize;

/// Arguments of `tradebot bench scale`.
#[derive(Args)]
pub struct ScaleArgs {
    /// Universe sizes to measure: stocks per universe, comma-separated (SPY, the sector ETFs,
    /// TLT, GLD, SHY and VIX come on top).
    #[arg(long, value_delimiter = ',', required = true)]
    symbols: Vec<usize>,
    /// Years of daily history per universe.
    #[arg(long, default_value_t = 20)]
    years: u32,
    /// Research file the runs use (default: experiments/nightly.toml, or the built-in copy of it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory for the universes, kept afterwards (default: a temporary one, removed).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Worker threads of each research run (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One universe's measurement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scale {
    /// Stocks generated.
    pub stocks: usize,
    /// Daily series in the store (the stocks and the funds, index and defensives).
    pub series: usize,
    /// Daily bars in the store, over every series.
    pub bars: u64,
    /// Store size on disk, MB.
    pub store_mb: f64,
    /// Wall time of the research run, seconds.
    pub wall_s: f64,
    /// CPU time (user + system) of the research run, seconds.
    pub cpu_s: f64,
    /// Peak anonymous resident memory (heap) of the run, MB.
    pub rss_anon_mb: f64,
    /// Peak file-backed resident memory (the mapped store and the binary), MB.
    pub rss_file_mb: f64,
    /// CPU time per symbol-bar of the store, nanoseconds.
    pub cpu_ns_per_bar: f64,
}

/// How often the child's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// Runs `tradebot bench scale`.
pub fn scale(args: ScaleArgs) -> Result<()> {
    if !Path::new("/proc/self/status").exists() {
        bail!("bench scale samples /proc/PID/status: it runs on Linux only");
    }
    if args.symbols.contains(&0) {
        bail!("--symbols: a universe needs at least one stock");
    }
    // The runs work in their universe's directory: paths given relative to here must not move.
    let args = ScaleArgs {
        config: args.config.map(std::path::absolute).transpose().context("resolving --config")?,
        dir: args.dir.map(std::path::absolute).transpose().context("resolving --dir")?,
        ..args
    };
    let temp;
    let root = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("creating the benchmark's temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let mut rows = Vec::new();
    for &stocks in &args.symbols {
        eprintln!("bench scale: {stocks} stocks × {} years", args.years);
        rows.push(measure(&args, &root.join(format!("{stocks}")), stocks)?);
    }
    if args.json { crate::emit(&serde_json::to_string_pretty(&rows)?) } else { crate::emit(&table(&rows)) }
}

/// Generates the universe of `stocks` under `dir` (daily bars only) and measures one research run on it.
fn measure(args: &ScaleArgs, dir: &Path, stocks: usize) -> Result<Scale> {
    let store = dir.join("store");
    if !store.exists() {
        let config =
            SynthConfig { symbols: stocks, years: args.years, minute_days: 0, ..SynthConfig::default() };
        datasets::actions::generate(&store, &config, datasets::actions::OnExisting::Refuse, |_, _| {})
            .with_context(|| format!("generating {stocks} stocks in {}", store.display()))?;
    }
    let (series, bars, store_mb) = {
        let opened = Store::open(&store)?;
        let daily: Vec<_> = opened.list().into_iter().filter(|i| i.timeframe == Timeframe::Day1).collect();
        (daily.len(), daily.iter().map(|i| i.rows).sum::<u64>(), opened.size_on_disk() as f64 / 1e6)
    };
    let db = dir.join("research.db");
    for stale in ["research.db", "research.db-wal", "research.db-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let mut command = Command::new(std::env::current_exe().context("finding the tradebot binary")?);
    command.arg("research");
    if let Some(config) = &args.config {
        command.arg(config);
    }
    command
        .arg("--store")
        .arg(&store)
        .arg("--db")
        .arg(&db)
        .arg("--models")
        .arg(dir.join("models"))
        .arg("--report")
        .arg(dir.join("report"))
        .arg("--json")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(threads) = args.threads {
        command.arg("--threads").arg(threads.to_string());
    }
    let started = Instant::now();
    let mut child = command.spawn().context("starting the research run")?;
    let status_path = format!("/proc/{}/status", child.id());
    let stat_path = format!("/proc/{}/stat", child.id());
    let (mut anon, mut file, mut cpu) = (0u64, 0u64, 0.0f64);
    loop {
        // Read before reaping: a finished child stays a zombie, its CPU times still readable.
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            anon = anon.max(kb(&status, "RssAnon:"));
            file = file.max(kb(&status, "RssFile:"));
        }
        if let Some(t) = std::fs::read_to_string(&stat_path).ok().as_deref().and_then(cpu_seconds) {
            cpu = t;
        }
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    let wall_s = started.elapsed().as_secs_f64();
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("the research run on {stocks} stocks failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(Scale {
        stocks,
        series,
        bars,
        store_mb,
        wall_s,
        cpu_s: cpu,
        rss_anon_mb: anon as f64 / 1024.0,
        rss_file_mb: file as f64 / 1024.0,
        cpu_ns_per_bar: cpu * 1e9 / bars.max(1) as f64,
    })
}

/// The kB value of the `key` line of a `/proc/PID/status` text (0 when absent).
fn kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU seconds from a `/proc/PID/stat` line (fields 14 and 15, in clock ticks
/// of 1/100 s: Linux's USER_HZ on every architecture it runs on).
fn cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) is parenthesised and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// The measurements as a Markdown table.
fn table(rows: &[Scale]) -> String {
    let mut out = String::from(
        "| stocks | series | bars | store MB | wall s | CPU s | RssAnon MB | RssFile MB | CPU ns / symbol-bar |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out += &format!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} |\n",
            r.stocks,
            r.series,
            r.bars,
            r.store_mb,
            r.wall_s,
            r.cpu_s,
            r.rss_anon_mb,
            r.rss_file_mb,
            r.cpu_ns_per_bar
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_parse() {
        let status = "Name:\ttradebot\nRssAnon:\t  123456 kB\nRssFile:\t    2048 kB\n";
        assert_eq!(kb(status, "RssAnon:"), 123_456);
        assert_eq!(kb(status, "RssFile:"), 2048);
        assert_eq!(kb(status, "RssShmem:"), 0);
        let stat = "4242 (trade bot) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(cpu_seconds(stat), Some(3.0));
    }
}

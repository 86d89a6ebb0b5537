//! `tradebot data …`: import, generate, inspect, verify, compact and export the bar store.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use datasets::ingest::{self, ImportOptions};
use datasets::ops::{self, ImportReport, StoreInfo};
use std::time::Instant;

use datasets::store::{Field, Store, WriteMode, Writer};
use datasets::synth::SynthConfig;
use datasets::{Timeframe, Timestamp};
use indicatif::{ProgressBar, ProgressStyle};

/// Default bar store directory, relative to the working directory.
pub const DEFAULT_STORE: &str = "data/store";

/// The `data` subcommands.
#[derive(Subcommand)]
pub enum DataCommand {
    /// Import CSV (Yahoo/backtesting.py or timestamp,open,…) or Alpaca v2 bars JSON files.
    Import {
        /// Files to import; all are validated before anything is written.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Symbol for single-series files (default: from the data, else the file name).
        #[arg(long)]
        symbol: Option<String>,
        /// Bar timeframe (default: inferred from the bar spacing).
        #[arg(long)]
        timeframe: Option<String>,
        /// Time zone of naive date-times in the files, e.g. America/New_York (default UTC).
        #[arg(long)]
        tz: Option<String>,
        /// Replace the stored history of each imported symbol instead of appending.
        #[arg(long)]
        replace: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
    /// Import the real samples shipped in the binary (GOOG daily, EURUSD hourly, BTCUSD monthly).
    Samples {
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
    /// Generate a deterministic synthetic universe (same seed, same bytes).
    Generate {
        /// Number of stocks (sector ETFs, SPY, defensives and VIX come on top).
        #[arg(long, default_value_t = SynthConfig::default().symbols)]
        symbols: usize,
        /// Years of daily history.
        #[arg(long, default_value_t = SynthConfig::default().years)]
        years: u32,
        /// `1Day` for daily bars only; `1Min` adds one-minute bars for recent sessions.
        #[arg(long, default_value = "1Day")]
        timeframe: String,
        /// Sessions of one-minute bars with `--timeframe 1Min`.
        #[arg(long, default_value_t = 20)]
        minute_days: usize,
        /// Random seed.
        #[arg(long, default_value_t = SynthConfig::default().seed)]
        seed: u64,
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
    /// Symbols, timeframes, date ranges, bar counts, freshness and size on disk.
    Info {
        /// Print as JSON (every series).
        #[arg(long)]
        json: bool,
        /// List every series, not only the first 20.
        #[arg(long)]
        all: bool,
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
    /// Write one symbol's bars as CSV or as an Arrow IPC file.
    Export {
        /// Symbol to export.
        #[arg(long)]
        symbol: String,
        /// Timeframe to export (default: the symbol's only timeframe in the store).
        #[arg(long)]
        timeframe: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Output file (default: standard output, CSV only).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
    /// Re-hash every store file and re-validate every bar.
    Verify {
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
    /// Read one field of every series (zero-copy) and report speed and memory: a health check
    /// that reads come straight from the mapping.
    Scan {
        /// Timeframe to scan.
        #[arg(long, default_value = "1Day")]
        timeframe: String,
        /// Passes over the data (the first pages it in).
        #[arg(long, default_value_t = 5)]
        passes: usize,
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
    /// Merge each timeframe's segments into one file.
    Compact {
        /// Bar store directory.
        #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },
}

/// Export file formats.
#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// `timestamp,open,high,low,close,volume[,vwap][,trade_count]`, RFC 3339 UTC times.
    Csv,
    /// An Arrow IPC file in the store's own column layout.
    Arrow,
}

/// Runs one `data` subcommand.
pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Import { files, symbol, timeframe, tz, replace, json, store } => {
            let opts = ImportOptions {
                symbol,
                timeframe: timeframe.map(|t| t.parse::<Timeframe>()).transpose()?,
                tz: tz.map(|z| z.parse().map_err(|e| anyhow::anyhow!("--tz {z}: {e}"))).transpose()?,
            };
            let mode = if replace { WriteMode::Replace } else { WriteMode::Append };
            let report = ops::import_files(&store, &files, &opts, mode)?;
            print_import(&report, json)
        }
        DataCommand::Samples { store } => print_import(&ops::import_samples(&store)?, false),
        DataCommand::Generate { symbols, years, timeframe, minute_days, seed, store } => {
            let minute_days = match timeframe.parse::<Timeframe>()? {
                Timeframe::Day1 => 0,
                Timeframe::Min1 => minute_days,
                other => bail!("--timeframe {other}: generate makes 1Day or 1Min bars"),
            };
            let config =
                SynthConfig { symbols, years, seed, minute_days, minute_symbols: None, ..Default::default() };
            generate(&store, &config)
        }
        DataCommand::Info { json, all, store } => print_info(&Store::open(&store)?, json, all),
        DataCommand::Export { symbol, timeframe, format, out, store } => {
            let tf = timeframe.map(|t| t.parse::<Timeframe>()).transpose()?;
            export(&store, &symbol, tf, format, out.as_deref())
        }
        DataCommand::Verify { store } => {
            let bars = Store::open(&store)?.verify()?;
            println!("{}: {bars} bars verified, every file matches its checksum", store.display());
            Ok(())
        }
        DataCommand::Scan { timeframe, passes, store } => scan(&store, timeframe.parse()?, passes),
        DataCommand::Compact { store } => {
            let done = Writer::open(&store)?.compact_all()?;
            println!("{}: compacted {}", store.display(), list_or_nothing(&done));
            Ok(())
        }
    }
}

/// The default research data: the default synthetic universe plus the embedded samples.
pub fn generate_default(store: &Path) -> Result<()> {
    generate(store, &SynthConfig::default())?;
    ops::import_samples(store)?;
    Ok(())
}

fn generate(store: &Path, config: &SynthConfig) -> Result<()> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} symbols ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("generating");
    let summary = ops::generate(store, config, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    eprintln!(
        "{}: generated {} symbols, {} daily and {} one-minute bars (seed {})",
        store.display(),
        summary.symbols,
        summary.daily_bars,
        summary.minute_bars,
        config.seed
    );
    Ok(())
}

fn print_import(report: &ImportReport, json: bool) -> Result<()> {
    if json {
        return crate::emit(&serde_json::to_string_pretty(report)?);
    }
    let mut out = String::new();
    for s in &report.series {
        writeln!(
            out,
            "{} {} {}: {} bars {} .. {}",
            s.file.display(),
            s.symbol,
            s.timeframe,
            s.bars,
            s.first,
            s.last
        )?;
        if s.missing_bars > 0 {
            let first = s.first_missing.map(|t| format!(", first at {t}")).unwrap_or_default();
            eprintln!(
                "warning: {} {}: {} bars missing against the NYSE calendar{first}",
                s.symbol, s.timeframe, s.missing_bars
            );
        }
    }
    writeln!(
        out,
        "imported {} series: {} bars written, {} already stored{}",
        report.series.len(),
        report.rows_written,
        report.rows_unchanged,
        if report.compacted.is_empty() {
            String::new()
        } else {
            format!(", compacted {}", list_or_nothing(&report.compacted))
        }
    )?;
    crate::emit(&out)
}

/// Prints `data info` as a table (first 20 series unless `all`) or as JSON.
pub fn print_info(store: &Store, json: bool, all: bool) -> Result<()> {
    let now = Timestamp::from_datetime(Utc::now()).context("clock out of range")?;
    let info: StoreInfo = ops::describe(store, now);
    if json {
        return crate::emit(&serde_json::to_string_pretty(&info)?);
    }
    let mut out = String::new();
    writeln!(
        out,
        "store {}: {} in {} segment files",
        info.store,
        human_bytes(info.size_bytes),
        info.segments
    )?;
    writeln!(out, "{:<10} {:>8} {:>12}  {:<10}  {:<10}", "timeframe", "symbols", "bars", "first", "last")?;
    for t in &info.timeframes {
        writeln!(
            out,
            "{:<10} {:>8} {:>12}  {:<10}  {:<10}",
            t.timeframe.as_str(),
            t.symbols,
            t.bars,
            t.first.utc_date(),
            t.last.utc_date()
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<8} {:<6} {:<7} {:>8}  {:<20}  {:<20}  {:>6}",
        "symbol", "tf", "class", "bars", "first", "last", "behind"
    )?;
    let shown = if all { info.series.len() } else { info.series.len().min(20) };
    for s in &info.series[..shown] {
        let behind = match s.sessions_behind {
            Some(n) => format!("{n} ses"),
            None => format!("{} d", s.age_days),
        };
        writeln!(
            out,
            "{:<8} {:<6} {:<7} {:>8}  {:<20}  {:<20}  {:>6}",
            s.symbol,
            s.timeframe.as_str(),
            format!("{:?}", s.asset_class).to_lowercase(),
            s.bars,
            s.first.to_string(),
            s.last.to_string(),
            behind
        )?;
    }
    if shown < info.series.len() {
        writeln!(out, "… {} more series (--all lists them, --json for scripts)", info.series.len() - shown)?;
    }
    crate::emit(&out)
}

fn export(
    store: &Path,
    symbol: &str,
    tf: Option<Timeframe>,
    format: ExportFormat,
    out: Option<&Path>,
) -> Result<()> {
    let store = Store::open(store)?;
    let tf = export_timeframe(&store, symbol, tf)?;
    let series = store.series(symbol, tf)?.with_context(|| format!("{symbol} {tf}: not in the store"))?;
    let bars = series.to_bars()?;
    match (format, out) {
        (ExportFormat::Csv, out) => {
            let sink: Box<dyn Write> = match out {
                Some(path) => Box::new(File::create(path).with_context(|| path.display().to_string())?),
                None => Box::new(io::stdout().lock()),
            };
            let mut w = BufWriter::new(sink);
            ingest::write_csv(&mut w, &bars)?;
            w.flush()?;
        }
        (ExportFormat::Arrow, Some(path)) => datasets::store::export_arrow(path, symbol, tf, &bars)?,
        (ExportFormat::Arrow, None) => bail!("--format arrow needs --out FILE"),
    }
    Ok(())
}

/// The timeframe `data export` reads: the one given when the store has it, else the symbol's
/// only one; an error that lists what the store has for the symbol otherwise.
fn export_timeframe(store: &Store, symbol: &str, given: Option<Timeframe>) -> Result<Timeframe> {
    let stored: Vec<Timeframe> =
        store.list().iter().filter(|s| s.symbol == symbol).map(|s| s.timeframe).collect();
    match (given, stored.as_slice()) {
        (Some(tf), _) if stored.contains(&tf) => Ok(tf),
        (None, [only]) => Ok(*only),
        (_, []) => {
            bail!("{symbol}: not in the store {} (`tradebot data info` lists it)", store.dir().display())
        }
        (Some(tf), _) => {
            bail!("{symbol} {tf}: not in the store; it has {symbol} {}", list_or_nothing(&stored))
        }
        (None, _) => bail!(
            "{symbol} has several timeframes ({}): choose one with --timeframe",
            list_or_nothing(&stored)
        ),
    }
}

fn scan(store: &Path, tf: Timeframe, passes: usize) -> Result<()> {
    let started = Instant::now();
    let store = Store::open(store)?;
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut out = String::new();
    writeln!(out, "open: {open_ms:.1} ms for {} symbols", store.metas().count())?;
    let mut best = f64::INFINITY;
    for pass in 1..=passes.max(1) {
        let t = Instant::now();
        let totals = ops::scan(&store, tf, Field::Close)?;
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        let rate = totals.values as f64 / secs / 1e9;
        writeln!(
            out,
            "pass {pass}: {} closes of {} series in {:.1} ms = {rate:.2} G values/s",
            totals.values,
            totals.series,
            secs * 1e3
        )?;
    }
    writeln!(out, "best pass: {:.1} ms", best * 1e3)?;
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status
            .lines()
            .filter(|l| l.starts_with("RssAnon") || l.starts_with("RssFile") || l.starts_with("VmHWM"))
        {
            writeln!(out, "{}", line.split_whitespace().collect::<Vec<_>>().join(" "))?;
        }
    }
    crate::emit(&out)
}

fn list_or_nothing(tfs: &[Timeframe]) -> String {
    if tfs.is_empty() {
        return "nothing".into();
    }
    tfs.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

//! `tradebot data …`: import, generate, inspect, verify, compact and export the bar store.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use datasets::actions::{self, ImportReport, OnExisting, StoreInfo};
use datasets::ingest::{self, ImportOptions};
use std::time::Instant;

use datasets::store::{Field, Store, WriteMode, Writer};
use datasets::synth::{Effects, Strengths, SynthConfig};
use datasets::{AssetClass, Timeframe, Timestamp};
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
        /// Asset class of the imported symbols: equity, etf, index, forex or crypto; it sets the
        /// annualisation of their statistics (default: forex or crypto when the bar times prove
        /// it, as 24-hour or weekend bars do; else the stored class, else equity).
        #[arg(long)]
        class: Option<AssetClass>,
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
        /// Replace series the store already holds (without it, generate refuses and names them).
        #[arg(long)]
        replace: bool,
        /// Planted effects: `all`, `none` (a null, martingale universe) or a comma-separated
        /// list of regime_drift, sector_momentum, mean_reversion, trending, premium, gap_fills,
        /// gap_continuation, anchor, convexity (see docs/ground-truth.md).
        #[arg(long, default_value = "all", conflicts_with = "null")]
        effects: Effects,
        /// Same as `--effects none`: every planted effect off.
        #[arg(long)]
        null: bool,
        /// How strongly the effects are planted: a multiplier `K` of every effect's size (1 = as
        /// documented), or a list `mean_reversion=3,premium=2.5` (the named effects at their
        /// `K`, the rest at 1; what it scales per effect is in docs/ground-truth.md).
        #[arg(long, default_value = "1")]
        strength: Strengths,
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
    /// Write one symbol's bars as CSV or as an Arrow IPC file, or with `--all` every series as
    /// one long table per timeframe (a `symbol` column first) in Parquet or Arrow.
    Export {
        /// Symbol to export.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        symbol: Option<String>,
        /// Every symbol: `DIR/<timeframe>.parquet` (or `.arrow`) for each timeframe, or only
        /// `--timeframe`'s.
        #[arg(long)]
        all: bool,
        /// Timeframe to export (default: the symbol's only timeframe in the store; with `--all`,
        /// every timeframe).
        #[arg(long)]
        timeframe: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Output file (default: standard output, CSV only); with `--all`, a directory.
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
    /// Fetch historical bars from Alpaca (stocks and crypto) into the store: paged, rate
    /// limited, resumable from the last stored bar of each series (docs/data.md).
    Fetch(crate::data_fetch::FetchArgs),
    /// Build a universe file from Alpaca's asset list (`--from-assets`), filtered by exchange
    /// and price.
    Universe(crate::data_fetch::UniverseArgs),
    /// Take a series out of the store (all its timeframes unless --timeframe is given).
    Remove {
        /// Symbol to remove.
        #[arg(long)]
        symbol: String,
        /// Only this timeframe (default: every timeframe, and the symbol's metadata).
        #[arg(long)]
        timeframe: Option<String>,
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
    /// An Arrow IPC file in the store's own column layout (with `--all`, plus `symbol`).
    Arrow,
    /// Apache Parquet (with `--all` only).
    Parquet,
}

/// Runs one `data` subcommand.
pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Import { files, symbol, timeframe, tz, class, replace, json, store } => {
            let opts = ImportOptions {
                symbol,
                timeframe: timeframe.map(|t| t.parse::<Timeframe>()).transpose()?,
                tz: tz.map(|z| z.parse().map_err(|e| anyhow::anyhow!("--tz {z}: {e}"))).transpose()?,
            };
            let mode = if replace { WriteMode::Replace } else { WriteMode::Append };
            let report = actions::import_files(&store, &files, &opts, class, mode)?;
            print_import(&report, json)
        }
        DataCommand::Samples { store } => print_import(&actions::import_samples(&store)?, false),
        DataCommand::Generate {
            symbols,
            years,
            timeframe,
            minute_days,
            seed,
            replace,
            effects,
            null,
            strength,
            store,
        } => {
            let minute_days = match timeframe.parse::<Timeframe>()? {
                Timeframe::Day1 => 0,
                Timeframe::Min1 => minute_days,
                other => bail!("--timeframe {other}: generate makes 1Day or 1Min bars"),
            };
            let effects = if null { Effects::NONE } else { effects };
            let config = SynthConfig {
                symbols,
                years,
                seed,
                minute_days,
                minute_symbols: None,
                effects,
                strength,
                ..Default::default()
            };
            generate(&store, &config, if replace { OnExisting::Replace } else { OnExisting::Refuse })
        }
        DataCommand::Info { json, all, store } => print_info(&Store::open(&store)?, json, all),
        DataCommand::Export { symbol, all, timeframe, format, out, store } => {
            let timeframe = timeframe.map(|t| t.parse::<Timeframe>()).transpose()?;
            match symbol {
                Some(symbol) => export(&store, &symbol, timeframe, format, out.as_deref()),
                None if all => export_all(&store, timeframe, format, out.as_deref()),
                None => bail!("name a --symbol, or --all for every series"),
            }
        }
        DataCommand::Verify { store } => verify(&store),
        DataCommand::Scan { timeframe, passes, store } => scan(&store, timeframe.parse()?, passes),
        DataCommand::Compact { store } => {
            let summary = Writer::open(&store)?.compact_all()?;
            print_warnings(&summary.warnings);
            println!("{}: compacted {}", store.display(), list_or_nothing(&summary.compacted));
            Ok(())
        }
        DataCommand::Fetch(args) => crate::data_fetch::fetch(args),
        DataCommand::Universe(args) => crate::data_fetch::universe(args),
        DataCommand::Remove { symbol, timeframe, store } => {
            let timeframe = timeframe.map(|t| t.parse::<Timeframe>()).transpose()?;
            let mut writer = Writer::open(&store)?;
            let removed = writer.remove(&symbol, timeframe)?;
            let summary = writer.commit()?;
            print_warnings(&summary.warnings);
            println!("{}: removed {symbol} {}", store.display(), list_or_nothing(&removed));
            Ok(())
        }
    }
}

/// `data verify`: checksums and bar checks (errors), then every file the manifest does not
/// account for (an error too: the manifest may be damaged, and those files may hold data).
fn verify(store: &Path) -> Result<()> {
    let report = Store::open(store)?.verify()?;
    for file in &report.retired {
        eprintln!("note: {}: superseded, deleted once no reader has the store open", file.display());
    }
    if !report.orphans.is_empty() {
        eprintln!(
            "note: {} file(s) in {}: segments an earlier write found unreferenced and moved aside",
            report.orphans.len(),
            store.join("orphans").display()
        );
    }
    let mut problems = String::new();
    for file in &report.unaccounted {
        writeln!(problems, "  {}: not in the manifest", file.display())?;
    }
    if let Some((generation, highest)) = report.generation_behind {
        writeln!(
            problems,
            "  MANIFEST.json: generation {generation} is behind its own segment files (up to {highest:06})"
        )?;
    }
    if !report.is_clean() {
        bail!(
            "{}: {} bars in {} files verified, but the manifest does not account for the store:\n{problems}\
             the manifest may be damaged; no data has been removed (the next write moves unlisted \
             segments to orphans/, never deletes them)",
            store.display(),
            report.bars,
            report.files
        );
    }
    println!(
        "{}: {} bars verified, {} files match their checksums, no other files",
        store.display(),
        report.bars,
        report.files
    );
    Ok(())
}

/// Prints post-commit warnings (the write itself succeeded).
fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// The default research data: the default synthetic universe plus the embedded samples.
pub fn generate_default(store: &Path) -> Result<()> {
    generate(store, &SynthConfig::default(), OnExisting::Refuse)?;
    actions::import_samples(store)?;
    Ok(())
}

fn generate(store: &Path, config: &SynthConfig, existing: OnExisting) -> Result<()> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} symbols ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("generating");
    let summary = actions::generate(store, config, existing, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    eprintln!(
        "{}: generated {} symbols, {} daily and {} one-minute bars (seed {}, planted effects: {}{})",
        store.display(),
        summary.symbols,
        summary.daily_bars,
        summary.minute_bars,
        config.seed,
        config.effects,
        config.strength.phrase()
    );
    Ok(())
}

fn print_import(report: &ImportReport, json: bool) -> Result<()> {
    print_warnings(&report.warnings);
    if json {
        return crate::emit(&serde_json::to_string_pretty(report)?);
    }
    let mut out = String::new();
    for s in &report.series {
        writeln!(
            out,
            "{} {} {}: {} bars {} .. {} ({})",
            s.file.display(),
            s.symbol,
            s.timeframe,
            s.bars,
            s.first,
            s.last,
            s.asset_class
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
    let info: StoreInfo = actions::describe(store, now);
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
        "{:<8} {:<6} {:<7} {:>8}  {:<20}  {:<20}  {:>6}  source",
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
            "{:<8} {:<6} {:<7} {:>8}  {:<20}  {:<20}  {:>6}  {}",
            s.symbol,
            s.timeframe.as_str(),
            s.asset_class.as_str(),
            s.bars,
            s.first.to_string(),
            s.last.to_string(),
            behind,
            s.source.as_ref().map_or("-".to_string(), |x| x.to_string())
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
        (ExportFormat::Parquet, _) => bail!("--format parquet exports every symbol: use --all --out DIR"),
    }
    Ok(())
}

/// `data export --all`: one long table per timeframe in `out`.
fn export_all(store: &Path, tf: Option<Timeframe>, format: ExportFormat, out: Option<&Path>) -> Result<()> {
    let format = match format {
        ExportFormat::Parquet => actions::TableFormat::Parquet,
        ExportFormat::Arrow => actions::TableFormat::Arrow,
        ExportFormat::Csv => bail!("--all writes tables: --format parquet or --format arrow"),
    };
    let out = out.context("--all needs --out DIR (one file per timeframe is written there)")?;
    let tables = actions::export_tables(&Store::open(store)?, tf, format, out)?;
    let mut text = String::new();
    for t in &tables {
        writeln!(text, "{}: {} bars of {} symbols at {}", t.path.display(), t.rows, t.symbols, t.timeframe)?;
    }
    crate::emit(&text)
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
        let totals = actions::scan(&store, tf, Field::Close)?;
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

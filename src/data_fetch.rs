//! `tradebot data fetch` and `tradebot data universe`: real market data from Alpaca into the
//! bar store, and universe files from Alpaca's asset list (docs/data.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::Args;
use datasets::universe::Universe;
use datasets::{Adjustment, Timeframe, Timestamp, calendar};
use indicatif::{ProgressBar, ProgressStyle};
use live_bridge::alpaca::{BarSource, Client, ClientConfig, Credentials, Endpoints, KEY_ID_VAR, SECRET_VAR};
use live_bridge::fetch::{FetchReport, FetchRequest, Progress};

use crate::data::DEFAULT_STORE;

/// Where the Alpaca client connects, and with which keys (shared by `fetch` and `universe`).
#[derive(Args)]
pub struct AlpacaArgs {
    /// Key file (`key_id`, `secret_key`; mode 600), as the live bridge's `key_file`; else the
    /// `APCA_API_KEY_ID` and `APCA_API_SECRET_KEY` variables.
    #[arg(long, env = "TRADEBOT_ALPACA_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Market-data API base URL (tests point it at the fake).
    #[arg(long, env = "TRADEBOT_ALPACA_DATA_URL", default_value = "https://data.alpaca.markets")]
    data_url: String,
    /// Trading API base URL, for the asset list.
    #[arg(long, env = "TRADEBOT_ALPACA_TRADING_URL", default_value = "https://paper-api.alpaca.markets")]
    trading_url: String,
    /// Requests per minute, in any minute (Alpaca's limit is 200 on the free plan).
    #[arg(long, default_value_t = live_bridge::alpaca::REQUESTS_PER_MINUTE)]
    rate: u32,
    /// Bars per page (Alpaca's largest is 10,000).
    #[arg(long, default_value_t = 10_000, hide = true)]
    page_limit: u32,
}

impl AlpacaArgs {
    /// The client, or an error naming the key variables.
    fn client(&self, feed: Option<String>) -> Result<Client> {
        let credentials = Credentials::load(self.key_file.as_deref()).with_context(|| {
            format!("Alpaca keys are needed: set {KEY_ID_VAR} and {SECRET_VAR}, or pass --key-file")
        })?;
        let endpoints = Endpoints {
            trading: self.trading_url.trim_end_matches('/').to_string(),
            data: self.data_url.trim_end_matches('/').to_string(),
            stream: String::new(),
        };
        let mut config = ClientConfig::new(endpoints);
        config.requests_per_minute = self.rate.max(1);
        // A tenth of the quota at once, and never more than `--rate` in any minute: room is left
        // for the live bridge on the same account.
        config.burst = Some((self.rate / 10).max(1));
        config.bar_page_limit = self.page_limit;
        config.feed = feed;
        // A long fetch rides out a rate limit or a bad minute rather than losing its place.
        config.retries = 8;
        config.max_backoff = Duration::from_secs(30);
        config.timeout = Duration::from_secs(60);
        Ok(Client::new(config, credentials)?)
    }
}

/// `tradebot data fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// Comma-separated symbols; crypto pairs are written with a slash (`BTC/USD`).
    #[arg(long, value_delimiter = ',', required_unless_present = "universe", conflicts_with = "universe")]
    symbols: Vec<String>,
    /// A universe file: one symbol per line, or TOML with `name` and `symbols`.
    #[arg(long)]
    universe: Option<PathBuf>,
    /// Bar timeframe: 1Min, 5Min, 15Min, 1Hour, 1Day, 1Week or 1Month.
    #[arg(long, default_value = "1Day")]
    timeframe: Timeframe,
    /// First date of a series the store does not hold yet (YYYY-MM-DD, New York).
    #[arg(long, default_value = "2016-01-01")]
    from: NaiveDate,
    /// Last date to fetch, inclusive (default: up to now).
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Price adjustment of stock bars (recorded per series; crypto is raw).
    #[arg(long, default_value = "split")]
    adjustment: Adjustment,
    /// Stock data feed: `iex` (free plan, the live config's default) or `sip` (all US exchanges,
    /// subscription); recorded per series, never mixed.
    #[arg(long, default_value = "iex", value_parser = ["iex", "sip"])]
    feed: String,
    /// Replace stored series instead of resuming them (needed to change their adjustment).
    #[arg(long)]
    replace: bool,
    /// Bar store directory.
    #[arg(long, env = "TRADEBOT_STORE", default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Symbols per request.
    #[arg(long, default_value_t = 100, hide = true)]
    symbols_per_request: usize,
    /// Bars per transaction (a commit happens at the first page boundary past it).
    #[arg(long, default_value_t = 500_000, hide = true)]
    batch_bars: usize,
    #[command(flatten)]
    alpaca: AlpacaArgs,
}

/// `tradebot data universe`.
#[derive(Args)]
pub struct UniverseArgs {
    /// Build the universe from Alpaca's asset list (`GET /v2/assets`, US equities).
    #[arg(long, required = true)]
    from_assets: bool,
    /// Only these listing exchanges (comma-separated: NYSE, NASDAQ, ARCA, AMEX, BATS, …).
    #[arg(long, value_delimiter = ',')]
    exchange: Vec<String>,
    /// Only symbols whose latest daily close (over the last two weeks) is at least this.
    #[arg(long)]
    min_price: Option<f64>,
    /// Keep delisted (inactive) assets the broker still lists: less survivorship bias.
    #[arg(long)]
    include_inactive: bool,
    /// The universe's name (default: the output file's stem, else `alpaca`).
    #[arg(long)]
    name: Option<String>,
    /// Write the universe (TOML) here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    alpaca: AlpacaArgs,
}

/// Runs `data fetch`.
pub fn fetch(args: FetchArgs) -> Result<()> {
    let symbols = match &args.universe {
        Some(path) => Universe::read(path)?.symbols,
        None => args.symbols.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    };
    for symbol in &symbols {
        datasets::symbol::validate_symbol(symbol).with_context(|| format!("--symbols: `{symbol}`"))?;
    }
    let mut seen = std::collections::BTreeSet::new();
    let symbols: Vec<String> = symbols.into_iter().filter(|s| seen.insert(s.clone())).collect();
    let now = Timestamp::from_datetime(Utc::now()).context("clock out of range")?;
    let to = match args.to {
        Some(date) => {
            calendar::daily_bar_timestamp(date.succ_opt().context("--to: date out of range")?).min(now)
        }
        None => now,
    };
    let from = calendar::daily_bar_timestamp(args.from);
    if from >= to {
        bail!("--from {} is not before --to", args.from);
    }
    let request = FetchRequest {
        symbols,
        timeframe: args.timeframe,
        from,
        to,
        adjustment: args.adjustment,
        feed: Some(args.feed.clone()),
        replace: args.replace,
        symbols_per_request: args.symbols_per_request.clamp(1, 1000),
        batch_bars: args.batch_bars.max(1),
    };
    let client = args.alpaca.client(Some(args.feed.clone()))?;
    let bar = ProgressBar::new(request.symbols.len() as u64).with_style(
        ProgressStyle::with_template("fetching [{bar:30}] {pos}/{len} symbols, {msg} ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut show = |p: &Progress| {
        bar.set_length(p.symbols_total as u64);
        bar.set_position(p.symbols_done as u64);
        bar.set_message(format!("{} bars, {} requests", p.bars, p.requests));
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(live_bridge::fetch::fetch(&client, &args.store, &request, &mut show));
    bar.finish_and_clear();
    let report = result.with_context(|| {
        format!("fetch stopped; every batch committed before this stays in {}", args.store.display())
    })?;
    crate::emit(&summary(&args.store, &request, &report))
}

/// The fetch summary: bars added per timeframe, series replaced after a revision, series skipped.
fn summary(store: &Path, request: &FetchRequest, report: &FetchReport) -> String {
    let mut out = String::new();
    for name in &report.refetched {
        out.push_str(&format!(
            "warning: {name} {}: the stored history differed from Alpaca's (a split or dividend since the \
             last fetch); the series was fetched again and replaced\n",
            request.timeframe
        ));
    }
    for s in &report.skipped {
        out.push_str(&format!("skipped {}: {}\n", s.symbol, s.reason));
    }
    if report.outside_session > 0 {
        out.push_str(&format!(
            "left out {} bars of the extended hours (the store keeps the regular session)\n",
            report.outside_session
        ));
    }
    let added: Vec<String> = if report.added.is_empty() {
        vec![format!("0 {} bars", request.timeframe)]
    } else {
        report.added.iter().map(|(tf, n)| format!("{n} {tf} bars")).collect()
    };
    out.push_str(&format!(
        "{}: added {} to {} series ({} up to date, {} skipped) in {} requests, {} transactions",
        store.display(),
        added.join(", "),
        report.series.len(),
        request.symbols.len().saturating_sub(report.series.len() + report.skipped.len()),
        report.skipped.len(),
        report.requests,
        report.commits
    ));
    out
}

/// Runs `data universe --from-assets`.
pub fn universe(args: UniverseArgs) -> Result<()> {
    let client = args.alpaca.client(None)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let status = if args.include_inactive { None } else { Some("active") };
    let mut assets = runtime.block_on(client.assets(status, None))?;
    let total = assets.len();
    if !args.exchange.is_empty() {
        assets.retain(|a| args.exchange.iter().any(|e| e.eq_ignore_ascii_case(&a.exchange)));
    }
    // Symbols the store could not hold (Alpaca lists some with spaces or odd punctuation).
    assets.retain(|a| datasets::symbol::validate_symbol(&a.symbol).is_ok());
    assets.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    let mut symbols: Vec<String> = assets.iter().map(|a| a.symbol.clone()).collect();
    if let Some(min) = args.min_price {
        let prices = runtime.block_on(latest_closes(&client, &symbols))?;
        symbols.retain(|s| prices.get(s).is_some_and(|&p| p >= min));
    }
    if symbols.is_empty() {
        bail!("no asset of the {total} listed passes the filters");
    }
    let inactive = assets.iter().filter(|a| a.status != "active" && symbols.contains(&a.symbol)).count();
    let name = args
        .name
        .clone()
        .or_else(|| args.out.as_ref().and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "alpaca".into());
    let universe = Universe { name, symbols };
    let note = format!(
        "{} symbols of {total} assets ({inactive} inactive){}",
        universe.symbols.len(),
        if args.include_inactive {
            ""
        } else {
            "; active assets only: a backtest on them has survivorship bias (see docs/data.md)"
        }
    );
    match &args.out {
        Some(path) => {
            std::fs::write(path, universe.to_toml())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{}: {note}", path.display());
            Ok(())
        }
        None => {
            eprintln!("{note}");
            crate::emit(&universe.to_toml())
        }
    }
}

/// Each symbol's latest daily close over the two weeks before the broker's clock (symbols
/// without one are absent).
async fn latest_closes(
    client: &Client,
    symbols: &[String],
) -> Result<std::collections::BTreeMap<String, f64>> {
    let clock = client.clock().await?;
    let now = chrono::DateTime::parse_from_rfc3339(&clock.timestamp)
        .ok()
        .and_then(|t| Timestamp::from_datetime(t.with_timezone(&Utc)))
        .with_context(|| format!("GET /v2/clock: bad timestamp `{}`", clock.timestamp))?;
    let start = Timestamp(now.0 - 14 * datasets::time::NANOS_PER_DAY);
    let mut out = std::collections::BTreeMap::new();
    for chunk in symbols.chunks(100) {
        let mut token = None;
        loop {
            let source = BarSource::Stocks(Adjustment::Split);
            let page = client.history_page(source, chunk, Timeframe::Day1, start, now, token).await?;
            for (symbol, bars) in page.series {
                if let (Some(symbol), Some(last)) = (symbol, bars.iter().last()) {
                    out.insert(symbol, last.close);
                }
            }
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

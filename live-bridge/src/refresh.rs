//! PRE_MARKET's data refresh into the bar store (`datasets::store`): the bars completed since
//! the last stored one are fetched from the data API and appended — so missed days are
//! backfilled by the same step — the 1-minute timeframe keeps a rolling window (older minute
//! bars are dropped by replacing the series, which makes the store rewrite that timeframe), and
//! every refreshed series is checked for staleness afterwards. Each series is fetched from its
//! last stored bar, inclusive: when the broker's split-adjusted copy of that bar differs from the
//! stored one (a split or a revision since), the whole series is fetched again and replaced, with
//! a warning, instead of appending post-split bars to pre-split history (a fake 50 % crash),
//! and recorded as the broker's split-adjusted bars. A series `tradebot data fetch` stored with
//! another adjustment (`raw`, `dividend`, `all`) is left alone and listed as refused.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Days, NaiveDate};
use datasets::store::{Store, StoreError, WriteMode, Writer};
use datasets::{Adjustment, Bar, Bars, SeriesSource, SymbolMeta, Timeframe, Timestamp, calendar};

use crate::alpaca::{AlpacaError, Client};
use crate::bars::BarCache;

/// Why the refresh could not write the store.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The bar store failed (open, lock, write).
    #[error("bar store {dir}: {source}")]
    Store {
        /// The store.
        dir: String,
        /// What failed.
        source: StoreError,
    },
    /// The data API failed.
    #[error(transparent)]
    Api(#[from] AlpacaError),
    /// A stored series could not be read back as bars.
    #[error("stored {symbol} {timeframe}: {source}")]
    Stored {
        /// The symbol.
        symbol: String,
        /// The timeframe.
        timeframe: Timeframe,
        /// What is wrong.
        source: datasets::BarsError,
    },
}

/// What to refresh and how far back.
#[derive(Clone, Debug, PartialEq)]
pub struct RefreshPlan {
    /// The symbols of each timeframe.
    pub symbols: BTreeMap<Timeframe, Vec<String>>,
    /// Calendar days of daily bars a symbol new to the store starts with.
    pub daily_days: i64,
    /// Calendar days of 1-minute bars the store keeps.
    pub minute_window_days: i64,
}

/// A series whose newest bar is not the last one completed.
#[derive(Clone, Debug, PartialEq)]
pub struct Stale {
    /// The symbol.
    pub symbol: String,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// Its newest stored bar, if any.
    pub last: Option<Timestamp>,
    /// The session whose bars it should have.
    pub expected: NaiveDate,
}

/// What a refresh did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RefreshReport {
    /// Bars appended per timeframe.
    pub appended: BTreeMap<Timeframe, u64>,
    /// 1-minute bars dropped for being older than the window.
    pub dropped: u64,
    /// Series refused by the store (a fetched bar differing from a stored one), with why.
    pub refused: Vec<String>,
    /// Series fetched again and replaced because the broker's adjusted history no longer
    /// matched the stored one (`SYMBOL TIMEFRAME`).
    pub replaced: Vec<String>,
    /// Series behind after the refresh.
    pub stale: Vec<Stale>,
}

/// The start of the 1-minute window on `today`: midnight New York `window_days` days before.
pub fn minute_cutoff(today: NaiveDate, window_days: i64) -> Timestamp {
    let first = today.checked_sub_days(Days::new(window_days.max(1) as u64)).unwrap_or(today);
    calendar::daily_bar_timestamp(first)
}

/// Refreshes the store at `dir` with the bars completed before `now`.
pub async fn refresh_store(
    client: &Client,
    dir: &Path,
    plan: &RefreshPlan,
    now: Timestamp,
) -> Result<RefreshReport, RefreshError> {
    let store_error = |source| RefreshError::Store { dir: dir.display().to_string(), source };
    let today = calendar::session_date(now);
    let cutoff = minute_cutoff(today, plan.minute_window_days);
    let stored = match Store::open(dir) {
        Ok(s) => Some(s),
        Err(StoreError::NotAStore(_)) => None,
        Err(e) => return Err(store_error(e)),
    };
    let last_of = |symbol: &str, tf| stored.as_ref().and_then(|s| s.info(symbol, tf)).map(|i| i.last);
    let mut report = RefreshReport::default();
    // What the refresh's bars are, recorded on the series it starts or replaces.
    let ours = SeriesSource {
        provider: crate::fetch::PROVIDER.into(),
        feed: client.feed().map(String::from),
        adjustment: Adjustment::Split,
    };
    // Fetch: every symbol from its last stored bar (one request per start).
    let mut fetched: BTreeMap<(Timeframe, String), Vec<Bar>> = BTreeMap::new();
    let mut revised: Vec<(Timeframe, String, Timestamp)> = Vec::new();
    let cutoff_of = |tf| if tf == Timeframe::Min1 { cutoff } else { Timestamp(i64::MIN) };
    for (&tf, symbols) in &plan.symbols {
        let first = match tf {
            Timeframe::Day1 => BarCache::history_start(tf, now, plan.daily_days, 1),
            _ => cutoff,
        };
        let mut by_start: BTreeMap<Timestamp, Vec<String>> = BTreeMap::new();
        for s in symbols {
            // A series `data fetch` stored with another adjustment or feed is not mixed with these.
            let source = stored.as_ref().and_then(|st| st.meta(s)).and_then(|m| m.sources.get(&tf));
            if let Some(source) = source.filter(|x| **x != ours) {
                let feed = source.feed.as_deref().map(|f| format!(" --feed {f}")).unwrap_or_default();
                let why = format!(
                    "stored bars are {source}; the refresh fetches {ours} ones and does not mix them (extend \
                     the series with `tradebot data fetch --adjustment {}{feed}`)",
                    source.adjustment
                );
                tracing::warn!("{s} {tf}: {why}");
                report.refused.push(format!("{s} {tf}: {why}"));
                continue;
            }
            // From the last stored bar itself, to compare it with the broker's copy.
            let from = last_of(s, tf).unwrap_or(first).max(first);
            by_start.entry(from).or_default().push(s.clone());
        }
        for (from, symbols) in by_start.into_iter().filter(|(from, _)| *from < now) {
            for (symbol, mut bars) in client.multi_bars(&symbols, tf, from, now).await? {
                // Only bars after the stored ones: the API's start has whole seconds, and a bar
                // fetched again may differ in its last digits from the stored one.
                let after = last_of(&symbol, tf).map_or(i64::MIN, |t| t.0);
                let stored_last = stored
                    .as_ref()
                    .and_then(|s| s.series(&symbol, tf).ok().flatten())
                    .and_then(|series| series.bar_at(Timestamp(after)));
                let again = bars.iter().find(|b| b.ts.0 == after);
                if let (Some(stored_bar), Some(again)) = (stored_last, again)
                    && crate::fetch::revised(&stored_bar, again)
                {
                    // Refetched below from the first stored bar (the window's for 1-minute).
                    let first = stored.as_ref().and_then(|s| s.info(&symbol, tf)).map_or(first, |i| i.first);
                    revised.push((tf, symbol, first.max(cutoff_of(tf))));
                    continue;
                }
                // After the stored ones, in the regular session (as `data fetch` stores them).
                bars.retain(|b| b.ts.0 > after && crate::fetch::in_regular_session(&symbol, tf, b.ts));
                conform(stored_last, &mut bars);
                fetched.insert((tf, symbol), bars);
            }
        }
    }
    let mut replaced: BTreeMap<(Timeframe, String), Vec<Bar>> = BTreeMap::new();
    for (tf, symbol, first) in revised {
        tracing::warn!(
            "{symbol} {tf}: the broker's split-adjusted history differs from the stored one (a split \
             or a revision); fetching the series again to replace it"
        );
        let mut bars = client.bars(&symbol, tf, first, now).await?;
        bars.retain(|b| crate::fetch::in_regular_session(&symbol, tf, b.ts));
        report.replaced.push(format!("{symbol} {tf}"));
        replaced.insert((tf, symbol), bars);
    }
    // Write: appends, and for 1-minute series reaching before the window, the window's bars.
    let mut writer = Writer::open(dir).map_err(store_error)?;
    let mut minute_symbols: Vec<String> = stored
        .as_ref()
        .map(|s| s.symbols(Timeframe::Min1).iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    minute_symbols.extend(fetched.keys().filter(|(tf, _)| *tf == Timeframe::Min1).map(|(_, s)| s.clone()));
    minute_symbols.sort();
    minute_symbols.dedup();
    minute_symbols.retain(|s| !replaced.contains_key(&(Timeframe::Min1, s.clone())));
    for symbol in &minute_symbols {
        let old = match stored.as_ref().map(|s| s.series(symbol, Timeframe::Min1)).transpose() {
            Ok(series) => series.flatten(),
            Err(e) => return Err(store_error(e)),
        };
        let new = fetched.remove(&(Timeframe::Min1, symbol.clone())).unwrap_or_default();
        let trim = old.as_ref().is_some_and(|o| o.info().first < cutoff);
        let outcome = if trim {
            let old = old.expect("checked").to_bars().map_err(|source| RefreshError::Stored {
                symbol: symbol.clone(),
                timeframe: Timeframe::Min1,
                source,
            })?;
            let keep = old.timestamps().partition_point(|&t| t < cutoff.0);
            report.dropped += keep as u64;
            let last = old.timestamps().last().copied().unwrap_or(i64::MIN);
            let bars = old.iter().skip(keep).chain(new.iter().copied().filter(|b| b.ts.0 > last));
            write(&mut writer, symbol, Timeframe::Min1, bars.collect(), WriteMode::Replace, &ours)
        } else {
            write(&mut writer, symbol, Timeframe::Min1, new, WriteMode::Append, &ours)
        };
        tally(&mut report, symbol, Timeframe::Min1, outcome);
    }
    for ((tf, symbol), bars) in fetched {
        let outcome = write(&mut writer, &symbol, tf, bars, WriteMode::Append, &ours);
        tally(&mut report, &symbol, tf, outcome);
    }
    for ((tf, symbol), mut bars) in replaced {
        let stored_first =
            stored.as_ref().and_then(|s| s.series(&symbol, tf).ok().flatten()).and_then(|series| {
                let first = series.info().first;
                series.bar_at(first)
            });
        conform(stored_first, &mut bars);
        // The whole series is now the broker's.
        record_source(&mut writer, &symbol, tf, &ours);
        let outcome = write(&mut writer, &symbol, tf, bars, WriteMode::Replace, &ours);
        tally(&mut report, &symbol, tf, outcome);
    }
    let summary = writer.commit().map_err(store_error)?;
    if !summary.compacted.is_empty() {
        tracing::info!("bar store compacted {:?}", summary.compacted);
    }
    report.stale = stale(&Store::open(dir).map_err(store_error)?, plan, now);
    Ok(report)
}

/// Gives `bars` the optional fields (`vwap`, `trade_count`) of the stored series they extend:
/// a series holds them on every bar or on none (a synthetic or CSV history has neither, the
/// data API sends both).
fn conform(stored: Option<Bar>, bars: &mut [Bar]) {
    let Some(stored) = stored else { return };
    for b in bars {
        if stored.vwap.is_none() {
            b.vwap = None;
        }
        if stored.trade_count.is_none() {
            b.trade_count = None;
        }
    }
}

/// Stages `bars` (nothing for none, unless replacing); the number of bars given, or why the
/// store refused them.
fn write(
    writer: &mut Writer,
    symbol: &str,
    tf: Timeframe,
    bars: Vec<Bar>,
    mode: WriteMode,
    source: &SeriesSource,
) -> Result<u64, String> {
    if bars.is_empty() && mode == WriteMode::Append {
        return Ok(0);
    }
    let n = bars.len() as u64;
    let bars = Bars::from_bars(bars).map_err(|e| e.to_string())?;
    // A series this refresh starts holds the broker's split-adjusted bars: recorded, so that
    // `tradebot data fetch` resumes it (a series imported or generated keeps no source).
    if writer.base().and_then(|s| s.info(symbol, tf)).is_none() {
        record_source(writer, symbol, tf, source);
    }
    writer.write(symbol, tf, &bars, mode).map_err(|e| e.to_string())?;
    Ok(n)
}

/// Records `symbol`'s `tf` series as `source`'s bars.
fn record_source(writer: &mut Writer, symbol: &str, tf: Timeframe, source: &SeriesSource) {
    let mut meta = writer
        .meta(symbol)
        .cloned()
        .unwrap_or_else(|| SymbolMeta { symbol: symbol.to_string(), ..SymbolMeta::default() });
    meta.sources.insert(tf, source.clone());
    writer.set_meta(meta);
}

fn tally(report: &mut RefreshReport, symbol: &str, tf: Timeframe, outcome: Result<u64, String>) {
    match outcome {
        Ok(n) => *report.appended.entry(tf).or_default() += n,
        Err(why) => {
            tracing::warn!("bar store refused {symbol} {tf}: {why}");
            report.refused.push(format!("{symbol} {tf}: {why}"));
        }
    }
}

/// The planned series whose newest bar is not in the last session closed before `now`.
pub fn stale(store: &Store, plan: &RefreshPlan, now: Timestamp) -> Vec<Stale> {
    let expected = calendar::session_date(BarCache::last_needed(Timeframe::Day1, now));
    let mut out = Vec::new();
    for (&tf, symbols) in &plan.symbols {
        for symbol in symbols {
            let last = store.info(symbol, tf).map(|i| i.last);
            let fresh = last.is_some_and(|t| match tf {
                Timeframe::Day1 => t >= calendar::daily_bar_timestamp(expected),
                _ => calendar::session_date(t) >= expected,
            });
            if !fresh {
                out.push(Stale { symbol: symbol.clone(), timeframe: tf, last, expected });
            }
        }
    }
    out
}

//! Historical bars from Alpaca into the bar store, for research (`tradebot data fetch`).
//!
//! Symbols are fetched many to a request (`GET /v2/stocks/bars?symbols=…`, or
//! `/v1beta3/crypto/us/bars` for a symbol with a `/`, e.g. `BTC/USD`), page after page through
//! `next_page_token`, within the client's rate limit (a 429 waits for its `Retry-After`). The
//! bars go through the store's normal write path: each batch (at most [`FetchRequest::batch_bars`]
//! bars, always whole pages) is validated and committed as one transaction, so a fetch killed at
//! any point leaves the store as it was after some batch, never half a batch.
//!
//! **Resuming.** A series already stored is fetched from its last stored bar, inclusive: the
//! bars after it are appended (no gap, no duplicate), and the stored last bar is compared with
//! the provider's copy. When they differ, the provider's adjusted history has changed under the
//! stored one (a split or a dividend since the last fetch): the series is fetched again from its
//! first stored bar and replaced, with a warning, so a backtest never reads a split as a crash.
//!
//! **Adjustment.** Each series records its provider, feed and adjustment in the manifest
//! ([`datasets::SeriesSource`]). A fetch asking another adjustment or feed than the stored one
//! (IEX volumes are a sliver of the consolidated `sip` ones), or for a series with no recorded
//! source (e.g. an imported CSV), skips it with the reason, unless [`FetchRequest::replace`]
//! says to replace the series.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use datasets::store::{Store, StoreError, WriteMode, Writer};
use datasets::time::NANOS_PER_DAY;
use datasets::{Adjustment, AssetClass, Bar, Bars, SeriesSource, SymbolMeta, Timeframe, Timestamp, calendar};

use crate::alpaca::{AlpacaError, BarSource, Client};

/// The provider name recorded in the manifest.
pub const PROVIDER: &str = "alpaca";

/// What to fetch.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchRequest {
    /// Symbols: stocks (`AAPL`) and crypto pairs (`BTC/USD`).
    pub symbols: Vec<String>,
    /// Bar timeframe.
    pub timeframe: Timeframe,
    /// First bar time of a series the store does not hold (or replaces).
    pub from: Timestamp,
    /// End of the fetch (exclusive).
    pub to: Timestamp,
    /// Price adjustment of stock bars (crypto has none: recorded `raw`).
    pub adjustment: Adjustment,
    /// Stock feed (`iex`, `sip`); `None` is the account's default.
    pub feed: Option<String>,
    /// Replace stored series instead of resuming them (needed to change their adjustment).
    pub replace: bool,
    /// Symbols per request.
    pub symbols_per_request: usize,
    /// Bars staged before a commit (at a page boundary).
    pub batch_bars: usize,
}

/// What a fetch reports as it goes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Symbols finished.
    pub symbols_done: usize,
    /// Symbols to fetch.
    pub symbols_total: usize,
    /// Bars received so far.
    pub bars: u64,
    /// Requests sent so far (pages; a retried request counts once).
    pub requests: u64,
}

/// A series not fetched, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The symbol.
    pub symbol: String,
    /// Why.
    pub reason: String,
}

/// What a fetch did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FetchReport {
    /// Bars written per timeframe.
    pub added: BTreeMap<Timeframe, u64>,
    /// Series that now hold bars, with their new bar counts.
    pub series: BTreeMap<String, u64>,
    /// Series skipped, with the reason.
    pub skipped: Vec<Skipped>,
    /// Series whose stored history disagreed with the provider's (a split or dividend since the
    /// last fetch) and were fetched again and replaced.
    pub refetched: Vec<String>,
    /// Stock bars left out for lying outside the regular session (Alpaca's extended hours).
    pub outside_session: u64,
    /// Requests sent.
    pub requests: u64,
    /// Transactions committed.
    pub commits: u64,
}

/// Why a fetch stopped. Every batch committed before it stays; nothing of the failed batch is
/// written.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The data API failed (after its retries), or answered something that is not bars.
    #[error(transparent)]
    Api(#[from] AlpacaError),
    /// The bar store failed or refused the bars.
    #[error("bar store {dir}: {source}")]
    Store {
        /// The store.
        dir: String,
        /// What failed.
        source: StoreError,
    },
    /// Bars of one symbol that are not a valid series (out of order, bad prices).
    #[error("{symbol} {timeframe} from Alpaca: {source}")]
    Bars {
        /// The symbol.
        symbol: String,
        /// The timeframe.
        timeframe: Timeframe,
        /// What is wrong.
        source: datasets::BarsError,
    },
}

/// True for a symbol of Alpaca's crypto endpoint (`BTC/USD`).
pub fn is_crypto(symbol: &str) -> bool {
    symbol.contains('/')
}

/// True when a stored bar and the provider's copy of it differ beyond rounding: the provider's
/// adjusted history has changed (a split or dividend since the bar was stored, or a revision).
pub fn revised(stored: &Bar, fetched: &Bar) -> bool {
    let off = |a: f64, b: f64| (a - b).abs() > 1e-6 * a.abs().max(b.abs()).max(1e-9);
    stored.ts != fetched.ts
        || off(stored.open, fetched.open)
        || off(stored.high, fetched.high)
        || off(stored.low, fetched.low)
        || off(stored.close, fetched.close)
}

/// True when a bar of `symbol` starting at `ts` covers a period that ended by `to`: a stock's
/// daily bar once its session closed, any other bar once its length passed (a month counted as
/// 31 days). A bar still in progress (today's daily bar during the session) is not stored: the
/// next fetch would find it changed and take it for a split.
pub fn complete(symbol: &str, timeframe: Timeframe, ts: Timestamp, to: Timestamp) -> bool {
    let end = match timeframe {
        Timeframe::Day1 if !is_crypto(symbol) => match calendar::session(calendar::session_date(ts)) {
            Some(session) => session.close.0,
            None => ts.0 + NANOS_PER_DAY,
        },
        Timeframe::Month1 => ts.0 + 31 * NANOS_PER_DAY,
        tf => ts.0 + tf.nominal_nanos(),
    };
    end <= to.0
}

/// True when a stock's intraday bar of `timeframe` starting at `ts` overlaps its day's regular
/// session (09:30-16:00 New York, or an early close). Alpaca's intraday stock bars include the
/// extended hours (04:00-20:00); the store keeps the regular session only, so a session's first
/// bar is its opening one (the gap families read it as the open). Daily and longer bars, and
/// crypto, are not filtered.
pub fn in_regular_session(symbol: &str, timeframe: Timeframe, ts: Timestamp) -> bool {
    if is_crypto(symbol) || timeframe.nominal_nanos() >= NANOS_PER_DAY {
        return true;
    }
    calendar::session(calendar::session_date(ts))
        .is_some_and(|s| ts.0 < s.close.0 && ts.0 + timeframe.nominal_nanos() > s.open.0)
}

/// A symbol of a request group, with its stored last bar to compare (when resuming).
type Member = (String, Option<Bar>);

/// How one series is fetched.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Plan {
    /// First bar asked for.
    start: Timestamp,
    /// Replace the stored series with what comes (else append after it).
    replace: bool,
    /// The stored last bar, to compare with the provider's copy (resuming only).
    check: Option<Bar>,
}

/// The fetch in progress: the store, the report and the staged bars.
struct Run<'a> {
    client: &'a Client,
    dir: &'a Path,
    request: &'a FetchRequest,
    report: FetchReport,
    progress: Progress,
    /// Bars staged per symbol since the last commit.
    staged: BTreeMap<String, Vec<Bar>>,
    /// Symbols still to be replaced by their next commit.
    to_replace: BTreeSet<String>,
}

/// Fetches `request` into the store at `dir`, calling `on_progress` after every page.
pub async fn fetch(
    client: &Client,
    dir: &Path,
    request: &FetchRequest,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<FetchReport, FetchError> {
    let mut run = Run {
        client,
        dir,
        request,
        report: FetchReport::default(),
        progress: Progress { symbols_total: request.symbols.len(), ..Progress::default() },
        staged: BTreeMap::new(),
        to_replace: BTreeSet::new(),
    };
    let plans = run.plan()?;
    // One request group per (endpoint, start, mode): symbols resuming from the same bar share
    // requests, as do new ones.
    let mut groups: BTreeMap<(bool, Timestamp, bool), Vec<Member>> = BTreeMap::new();
    for (symbol, plan) in plans {
        groups.entry((is_crypto(&symbol), plan.start, plan.replace)).or_default().push((symbol, plan.check));
    }
    let mut revised_series: Vec<(String, Timestamp)> = Vec::new();
    for ((_, start, replace), members) in groups {
        for chunk in members.chunks(request.symbols_per_request.max(1)) {
            revised_series.extend(run.group(chunk, start, replace, on_progress).await?);
        }
    }
    // A stored history the provider no longer agrees with is fetched again and replaced.
    for (symbol, first) in revised_series {
        tracing::warn!(
            "{symbol} {}: the stored history differs from Alpaca's {} one (a split or \
             dividend since the last fetch?); fetching the whole series again",
            request.timeframe,
            request.adjustment.describe()
        );
        run.report.refetched.push(symbol.clone());
        run.progress.symbols_total += 1;
        run.group(&[(symbol, None)], first, true, on_progress).await?;
    }
    Ok(run.report)
}

impl Run<'_> {
    fn store_error(&self, source: StoreError) -> FetchError {
        FetchError::Store { dir: self.dir.display().to_string(), source }
    }

    /// Decides each symbol's start, or skips it with the reason.
    fn plan(&mut self) -> Result<Vec<(String, Plan)>, FetchError> {
        let store = match Store::open(self.dir) {
            Ok(s) => Some(s),
            Err(StoreError::NotAStore(_)) => None,
            Err(e) => return Err(self.store_error(e)),
        };
        let tf = self.request.timeframe;
        let mut plans = Vec::new();
        for symbol in &self.request.symbols {
            let fresh = Plan { start: self.request.from, replace: self.request.replace, check: None };
            let Some((store, info)) = store.as_ref().and_then(|s| Some((s, s.info(symbol, tf)?))) else {
                plans.push((symbol.clone(), fresh));
                continue;
            };
            if self.request.replace {
                plans.push((symbol.clone(), fresh));
                continue;
            }
            let stored = store.meta(symbol).and_then(|m| m.sources.get(&tf));
            let wanted = self.provenance_for(symbol);
            match stored {
                Some(p) if *p == wanted => {
                    let check = store.series(symbol, tf).map_err(|e| self.store_error(e))?.and_then(|s| s.bar_at(info.last));
                    plans.push((symbol.clone(), Plan { start: info.last, replace: false, check }));
                }
                Some(p) if p.adjustment != wanted.adjustment || p.provider != wanted.provider => self.skip_planned(
                    symbol,
                    format!(
                        "stored {tf} bars are {p}; fetching {} would mix adjustments (pass --replace to replace the series)",
                        wanted.adjustment
                    ),
                ),
                Some(p) => self.skip_planned(
                    symbol,
                    format!(
                        "stored {tf} bars are {p}; fetching {} would mix feeds, whose volumes differ (pass --replace \
                         to replace the series)",
                        wanted.feed.as_deref().map_or("the account's default feed".to_string(), |f| format!("the {f} feed"))
                    ),
                ),
                None => self.skip_planned(
                    symbol,
                    format!(
                        "stored {tf} bars have no recorded source (imported or generated); pass --replace to replace them with Alpaca's"
                    ),
                ),
            }
        }
        Ok(plans)
    }

    /// Skips a symbol before any request (it counts as done).
    fn skip_planned(&mut self, symbol: &str, reason: String) {
        self.progress.symbols_done += 1;
        self.skip(symbol, reason);
    }

    fn skip(&mut self, symbol: &str, reason: String) {
        self.report.skipped.push(Skipped { symbol: symbol.to_string(), reason });
    }

    /// The provenance recorded for `symbol`'s fetched bars.
    fn provenance_for(&self, symbol: &str) -> SeriesSource {
        if is_crypto(symbol) {
            SeriesSource { provider: PROVIDER.into(), feed: None, adjustment: Adjustment::Raw }
        } else {
            SeriesSource {
                provider: PROVIDER.into(),
                feed: self.request.feed.clone(),
                adjustment: self.request.adjustment,
            }
        }
    }

    /// Fetches one request group (symbols of one endpoint from `start`), every page, committing
    /// every [`FetchRequest::batch_bars`] bars; returns the series found revised, with their
    /// first stored bar.
    async fn group(
        &mut self,
        members: &[Member],
        start: Timestamp,
        replace: bool,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<Vec<(String, Timestamp)>, FetchError> {
        let symbols: Vec<String> = members.iter().map(|(s, _)| s.clone()).collect();
        let source = if is_crypto(&symbols[0]) {
            BarSource::Crypto
        } else {
            BarSource::Stocks(self.request.adjustment)
        };
        if replace {
            self.to_replace.extend(symbols.iter().cloned());
        }
        let mut checks: BTreeMap<String, Bar> =
            members.iter().filter_map(|(s, check)| Some((s.clone(), (*check)?))).collect();
        let mut revised_series = Vec::new();
        let mut received: BTreeSet<String> = BTreeSet::new();
        let mut token = None;
        let tf = self.request.timeframe;
        loop {
            let page = self.client.history_page(source, &symbols, tf, start, self.request.to, token).await?;
            self.progress.requests += 1;
            self.report.requests += 1;
            for (symbol, bars) in page.series {
                let Some(symbol) = symbol.filter(|s| symbols.contains(s)) else { continue };
                self.progress.bars += bars.len() as u64;
                received.insert(symbol.clone());
                let mut bars: Vec<Bar> =
                    bars.iter().filter(|b| complete(&symbol, tf, b.ts, self.request.to)).collect();
                let whole = bars.len();
                bars.retain(|b| in_regular_session(&symbol, tf, b.ts));
                self.report.outside_session += (whole - bars.len()) as u64;
                if let Some(stored) = checks.remove(&symbol) {
                    // The first bar of a resumed series is the stored last one again.
                    if bars.first().is_some_and(|b| b.ts == stored.ts) {
                        let again = bars.remove(0);
                        if revised(&stored, &again) {
                            let first = self.first_stored(&symbol)?.unwrap_or(self.request.from);
                            revised_series.push((symbol.clone(), first));
                        }
                    }
                }
                if revised_series.iter().any(|(s, _)| *s == symbol) {
                    continue;
                }
                self.staged.entry(symbol).or_default().extend(bars);
            }
            // Pages come in symbol order: every symbol before the page's last is complete.
            let staged: usize = self.staged.values().map(Vec::len).sum();
            token = page.next_page_token;
            if token.is_none() || staged >= self.request.batch_bars {
                self.commit()?;
            }
            if token.is_none() {
                break;
            }
            on_progress(&self.progress);
        }
        for symbol in &symbols {
            self.progress.symbols_done += 1;
            let is_revised = revised_series.iter().any(|(s, _)| s == symbol);
            if !received.contains(symbol) && !self.report.series.contains_key(symbol) && !is_revised {
                let stored = members.iter().any(|(s, check)| s == symbol && check.is_some());
                if !stored {
                    let reason = "no bars from Alpaca in the range (unknown symbol, or no trading)";
                    self.skip(symbol, reason.into());
                }
            }
        }
        on_progress(&self.progress);
        Ok(revised_series)
    }

    /// The first stored bar time of `symbol`, if stored.
    fn first_stored(&self, symbol: &str) -> Result<Option<Timestamp>, FetchError> {
        match Store::open(self.dir) {
            Ok(s) => Ok(s.info(symbol, self.request.timeframe).map(|i| i.first)),
            Err(StoreError::NotAStore(_)) => Ok(None),
            Err(e) => Err(self.store_error(e)),
        }
    }

    /// Validates and writes the staged bars in one transaction.
    fn commit(&mut self) -> Result<(), FetchError> {
        let staged = std::mem::take(&mut self.staged);
        if staged.values().all(Vec::is_empty) {
            return Ok(());
        }
        let tf = self.request.timeframe;
        let mut writer = Writer::open(self.dir).map_err(|e| self.store_error(e))?;
        let mut written = Vec::new();
        for (symbol, bars) in staged {
            if bars.is_empty() {
                continue;
            }
            let mode = if self.to_replace.contains(&symbol) { WriteMode::Replace } else { WriteMode::Append };
            let n = bars.len() as u64;
            let bars = Bars::from_bars(bars).map_err(|source| FetchError::Bars {
                symbol: symbol.clone(),
                timeframe: tf,
                source,
            })?;
            let current = writer.meta(&symbol).cloned();
            let class = if is_crypto(&symbol) { AssetClass::Crypto } else { AssetClass::Equity };
            let mut meta = current.unwrap_or_else(|| SymbolMeta::new(&symbol, class));
            meta.sources.insert(tf, self.provenance_for(&symbol));
            writer.set_meta(meta);
            writer.write(&symbol, tf, &bars, mode).map_err(|e| self.store_error(e))?;
            written.push((symbol, mode, n));
        }
        let summary = writer.commit().map_err(|e| self.store_error(e))?;
        for w in summary.warnings {
            tracing::warn!("{w}");
        }
        self.report.commits += 1;
        for (symbol, mode, n) in written {
            if mode == WriteMode::Replace {
                self.to_replace.remove(&symbol);
            }
            *self.report.added.entry(tf).or_default() += n;
            *self.report.series.entry(symbol).or_default() += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use datasets::time::NANOS_PER_MIN;

    use super::*;

    #[test]
    fn a_bar_is_complete_once_its_period_has_ended() {
        let day = NaiveDate::from_ymd_opt(2024, 7, 3).unwrap(); // closes at 13:00 New York
        let session = calendar::session(day).unwrap();
        let bar = calendar::daily_bar_timestamp(day);
        let before_close = Timestamp(session.close.0 - 1);
        assert!(!complete("AAPL", Timeframe::Day1, bar, before_close), "today's bar during the session");
        assert!(complete("AAPL", Timeframe::Day1, bar, session.close));
        // Crypto trades around the clock: its daily bar is complete a day after it starts.
        assert!(!complete("BTC/USD", Timeframe::Day1, bar, session.close));
        assert!(complete("BTC/USD", Timeframe::Day1, bar, Timestamp(bar.0 + NANOS_PER_DAY)));
        let minute = Timestamp(session.open.0 + 5 * NANOS_PER_MIN);
        assert!(!complete("AAPL", Timeframe::Min1, minute, Timestamp(minute.0 + NANOS_PER_MIN - 1)));
        assert!(complete("AAPL", Timeframe::Min1, minute, Timestamp(minute.0 + NANOS_PER_MIN)));
        // A month bar waits for the longest month.
        let month = calendar::daily_bar_timestamp(NaiveDate::from_ymd_opt(2024, 1, 2).unwrap());
        assert!(!complete("AAPL", Timeframe::Month1, month, Timestamp(month.0 + 30 * NANOS_PER_DAY)));
        assert!(complete("AAPL", Timeframe::Month1, month, Timestamp(month.0 + 31 * NANOS_PER_DAY)));
    }

    #[test]
    fn intraday_stock_bars_are_kept_when_they_overlap_the_regular_session() {
        let day = NaiveDate::from_ymd_opt(2024, 7, 3).unwrap(); // closes at 13:00 New York
        let session = calendar::session(day).unwrap();
        let at = |minutes: i64| Timestamp(session.open.0 + minutes * NANOS_PER_MIN);
        assert!(!in_regular_session("AAPL", Timeframe::Min1, at(-1)), "09:29, pre-market");
        assert!(in_regular_session("AAPL", Timeframe::Min1, at(0)));
        assert!(in_regular_session("AAPL", Timeframe::Min1, at(209)), "12:59");
        assert!(!in_regular_session("AAPL", Timeframe::Min1, at(210)), "13:00, after the early close");
        // The 09:00 hour holds the open; the 13:00 one is after the close.
        assert!(in_regular_session("AAPL", Timeframe::Hour1, at(-30)));
        assert!(!in_regular_session("AAPL", Timeframe::Hour1, at(210)));
        // Crypto trades around the clock; daily bars are not filtered.
        assert!(in_regular_session("BTC/USD", Timeframe::Min1, at(-300)));
        assert!(in_regular_session("AAPL", Timeframe::Day1, calendar::daily_bar_timestamp(day)));
    }
}

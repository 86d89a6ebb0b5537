//! Bars the strategies run on: fetched from the data API, kept between runs, and only the new
//! ones fetched each time; assembled into the kernel's aligned [`MarketData`].

use std::collections::{BTreeMap, HashMap};

use chrono::Days;
use datasets::time::NANOS_PER_MIN;
use datasets::{AssetClass, Bar, Bars, SymbolMeta, Timeframe, Timestamp, calendar};
use kernel::strategy::{MarketData, SymbolData};

use crate::alpaca::{AlpacaError, Client};

/// Why a strategy's bars could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BarsError {
    /// The data API failed.
    #[error(transparent)]
    Api(#[from] AlpacaError),
    /// A symbol has no bars.
    #[error("no {timeframe} bars for {symbol}")]
    Missing {
        /// The symbol.
        symbol: String,
        /// The timeframe.
        timeframe: Timeframe,
    },
    /// The bars stop before the bar the run needs.
    #[error("stale data: the last common {timeframe} bar starts {last}, the run needs the bar of {needed}")]
    Stale {
        /// The timeframe.
        timeframe: Timeframe,
        /// Start of the last bar every symbol has.
        last: Timestamp,
        /// Start of the bar the run must see.
        needed: Timestamp,
    },
    /// No symbol of the strategy traded in the minute the run is for (a quiet minute on the
    /// IEX feed, which serves no bar for a minute without trades): the backtest's clock has no
    /// such bar either, so there is nothing to compute, and the bar before was the previous
    /// run's. Not an error; a gap longer than [`QUIET_MINUTES`] is [`BarsError::Stale`].
    #[error(
        "no trade in the {timeframe} bar of {needed} in any of its symbols (the last bar starts {last}): nothing new to run on"
    )]
    NoTrade {
        /// The timeframe.
        timeframe: Timeframe,
        /// Start of the last bar any symbol has.
        last: Timestamp,
        /// Start of the bar the run would have seen.
        needed: Timestamp,
    },
    /// Invalid bars from the API.
    #[error("{symbol}: {message}")]
    Invalid {
        /// The symbol.
        symbol: String,
        /// What is wrong.
        message: String,
    },
}

/// The longest run of session minutes without a bar in any of a strategy's symbols that is
/// taken for quiet trading ([`BarsError::NoTrade`]) rather than for a feed that stopped
/// ([`BarsError::Stale`]).
pub const QUIET_MINUTES: i64 = 15;

/// The bars fetched so far, per symbol and timeframe, and the symbols' metadata.
#[derive(Default)]
pub struct BarCache {
    bars: HashMap<(String, Timeframe), Vec<Bar>>,
    metas: BTreeMap<String, SymbolMeta>,
}

impl BarCache {
    /// A cache whose strategies see `metas` (asset class, sector, fundamentals) for their symbols.
    pub fn new(metas: impl IntoIterator<Item = SymbolMeta>) -> Self {
        BarCache { bars: HashMap::new(), metas: metas.into_iter().map(|m| (m.symbol.clone(), m)).collect() }
    }

    /// The bar a run at `now` must see last: the minute just completed, or the last session
    /// closed before `now`'s session for daily bars.
    pub fn last_needed(timeframe: Timeframe, now: Timestamp) -> Timestamp {
        match timeframe {
            Timeframe::Day1 => {
                let today = calendar::session_date(now);
                let closed_today = calendar::session(today).is_some_and(|s| s.close <= now);
                let day = if closed_today { today } else { calendar::previous_trading_day(today) };
                calendar::daily_bar_timestamp(day)
            }
            tf => Timestamp((now.0 / tf.nominal_nanos() - 1) * tf.nominal_nanos()),
        }
    }

    /// Where a strategy's history starts: `daily_days` calendar days back, or the open of the
    /// session `minute_sessions − 1` sessions before today's.
    pub fn history_start(
        timeframe: Timeframe,
        now: Timestamp,
        daily_days: i64,
        minute_sessions: usize,
    ) -> Timestamp {
        let today = calendar::session_date(now);
        if timeframe == Timeframe::Day1 {
            let first = today.checked_sub_days(Days::new(daily_days.max(1) as u64)).unwrap_or(today);
            return calendar::daily_bar_timestamp(first);
        }
        let mut day =
            if calendar::is_trading_day(today) { today } else { calendar::previous_trading_day(today) };
        for _ in 1..minute_sessions.max(1) {
            day = calendar::previous_trading_day(day);
        }
        calendar::session(day).expect("a trading day has a session").open
    }

    /// Fetches each symbol's bars from the last one held (from `start` for a new symbol) up to
    /// `now`, then drops the ones before `start`. The last bar held is fetched again: when the
    /// broker's copy differs (a split adjusted the whole history since, or the bar was revised
    /// after it was first served), the symbol's history is fetched anew from `start`, so a
    /// strategy never sees pre-split prices next to post-split ones.
    pub async fn refresh(
        &mut self,
        client: &Client,
        symbols: &[String],
        timeframe: Timeframe,
        start: Timestamp,
        now: Timestamp,
    ) -> Result<(), BarsError> {
        let last_held = |cache: &Self, s: &String| {
            cache.bars.get(&(s.clone(), timeframe)).and_then(|b| b.last()).copied()
        };
        let from = symbols
            .iter()
            .map(|s| last_held(self, s).map_or(start, |b| b.ts))
            .min()
            .unwrap_or(start)
            .max(start);
        if from < now {
            let fetched = client.multi_bars(symbols, timeframe, from, now).await?;
            let mut changed = Vec::new();
            for (symbol, new) in fetched {
                let held = self.bars.entry((symbol.clone(), timeframe)).or_default();
                let Some(last) = held.last().copied() else {
                    held.extend(new);
                    continue;
                };
                if new.iter().find(|b| b.ts == last.ts).is_some_and(|again| *again != last) {
                    changed.push(symbol);
                    continue;
                }
                held.extend(new.into_iter().filter(|b| b.ts > last.ts));
            }
            for symbol in changed {
                tracing::warn!(
                    "{symbol}: its {timeframe} history changed at the broker (a split or a revision): fetched anew"
                );
                let bars = client.bars(&symbol, timeframe, start, now).await?;
                self.bars.insert((symbol, timeframe), bars);
            }
        }
        for s in symbols {
            if let Some(held) = self.bars.get_mut(&(s.clone(), timeframe)) {
                held.retain(|b| b.ts >= start);
            }
        }
        Ok(())
    }

    /// The symbols' bars up to the bar `needed`, on one clock as the research loader puts them
    /// ([`MarketData::align`]: from the first instant every symbol has traded, a bar a symbol
    /// lacks filled flat at its previous close). Fails when the clock does not end at `needed`.
    pub fn market_data(
        &self,
        symbols: &[String],
        timeframe: Timeframe,
        needed: Timestamp,
    ) -> Result<MarketData, BarsError> {
        let mut series = Vec::with_capacity(symbols.len());
        for s in symbols {
            let bars = self.bars.get(&(s.clone(), timeframe)).filter(|b| !b.is_empty());
            let bars = bars.ok_or_else(|| BarsError::Missing { symbol: s.clone(), timeframe })?;
            let bars = Bars::from_bars(bars.iter().filter(|b| b.ts <= needed).copied())
                .map_err(|e| BarsError::Invalid { symbol: s.clone(), message: e.to_string() })?;
            let meta = self.metas.get(s).cloned().unwrap_or_else(|| default_meta(s));
            series.push(SymbolData { meta, bars });
        }
        let data = MarketData::align(timeframe, series)
            .map_err(|e| BarsError::Invalid { symbol: symbols[0].clone(), message: e.to_string() })?;
        let last = data.timestamps().last().copied().map_or(Timestamp(0), Timestamp);
        if last == needed {
            return Ok(data);
        }
        if quiet(timeframe, last, needed) {
            return Err(BarsError::NoTrade { timeframe, last, needed });
        }
        Err(BarsError::Stale { timeframe, last, needed })
    }
}

/// Whether intraday bars ending at `last` when the run needs the bar of `needed` are a quiet
/// stretch: at most [`QUIET_MINUTES`] minutes of `needed`'s session without a bar, counted from
/// its open when `last` is from the session before (the previous session's last bar is the one
/// a first quiet minute follows).
fn quiet(timeframe: Timeframe, last: Timestamp, needed: Timestamp) -> bool {
    if timeframe == Timeframe::Day1 || last >= needed {
        return false;
    }
    let Some(session) = calendar::session(calendar::session_date(needed)) else { return false };
    let since = if last >= session.open {
        last.0
    } else {
        let before = calendar::previous_trading_day(session.date);
        if calendar::session_date(last) != before {
            return false;
        }
        session.open.0 - timeframe.nominal_nanos()
    };
    needed.0 - since <= QUIET_MINUTES * NANOS_PER_MIN
}

/// Metadata when no store gives any: `VIX` is an index, everything else an equity.
fn default_meta(symbol: &str) -> SymbolMeta {
    let class = if symbol == "VIX" { AssetClass::Index } else { AssetClass::Equity };
    SymbolMeta::new(symbol, class)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(minute: i64, close: f64) -> Bar {
        let ts = Timestamp(1_767_191_400_000_000_000 + minute * 60_000_000_000);
        Bar { ts, open: close, high: close, low: close, close, volume: 10.0, vwap: None, trade_count: None }
    }

    #[test]
    fn missing_minutes_are_filled_flat_and_a_stale_clock_is_refused() {
        let mut cache = BarCache::default();
        let tf = Timeframe::Min1;
        cache.bars.insert(("A".into(), tf), vec![bar(0, 10.0), bar(1, 11.0), bar(2, 12.0), bar(3, 13.0)]);
        cache.bars.insert(("B".into(), tf), vec![bar(1, 20.0), bar(3, 23.0)]);
        let symbols = ["A".to_string(), "B".to_string()];
        let data = cache.market_data(&symbols, tf, bar(3, 0.0).ts).unwrap();
        assert_eq!(data.len(), 3, "from the first minute both have traded");
        assert_eq!(data.symbols()[1].bars.close(), [20.0, 20.0, 23.0]);
        assert_eq!(data.symbols()[1].bars.volume(), [10.0, 0.0, 10.0]);
        let err = cache.market_data(&symbols, tf, bar(4 + QUIET_MINUTES, 0.0).ts).unwrap_err();
        assert!(err.to_string().starts_with("stale data"), "{err}");
    }
    #[test]
    fn a_quiet_minute_is_no_trade_and_a_long_silence_is_stale() {
        let mut cache = BarCache::default();
        let tf = Timeframe::Min1;
        // 15:59 of the session before (2025-12-30), then 09:30–09:33 of 2025-12-31.
        let bars = vec![bar(-1051, 9.0), bar(0, 10.0), bar(1, 11.0), bar(2, 12.0), bar(3, 13.0)];
        cache.bars.insert(("A".into(), tf), bars);
        let symbols = ["A".to_string()];
        let kind = |cache: &BarCache, needed: i64| match cache.market_data(&symbols, tf, bar(needed, 0.0).ts)
        {
            Ok(_) => "ok",
            Err(BarsError::NoTrade { .. }) => "quiet",
            Err(BarsError::Stale { .. }) => "stale",
            Err(e) => panic!("{e}"),
        };
        assert_eq!(kind(&cache, 3), "ok");
        assert_eq!([kind(&cache, 4), kind(&cache, 3 + QUIET_MINUTES)], ["quiet", "quiet"]);
        assert_eq!(kind(&cache, 4 + QUIET_MINUTES), "stale");
        // No trade in the session's first minutes: quiet counted from the open.
        cache.bars.insert(("A".into(), tf), vec![bar(-1051, 9.0)]);
        assert_eq!([kind(&cache, 0), kind(&cache, QUIET_MINUTES - 1)], ["quiet", "quiet"]);
        assert_eq!(kind(&cache, QUIET_MINUTES), "stale");
        // A last bar two sessions old is a feed that stopped.
        cache.bars.insert(("A".into(), tf), vec![bar(-1051 - 1440, 9.0)]);
        assert_eq!(kind(&cache, 0), "stale");
        let err = cache.market_data(&symbols, Timeframe::Day1, bar(0, 0.0).ts);
        assert!(err.is_err(), "daily bars are never quiet");
    }

    use chrono::NaiveDate;

    #[test]
    fn the_bar_a_run_needs() {
        let s = calendar::session(NaiveDate::from_ymd_opt(2025, 12, 30).unwrap()).unwrap();
        let ten = Timestamp(s.open.0 + 30 * NANOS_PER_MIN);
        assert_eq!(BarCache::last_needed(Timeframe::Min1, ten), Timestamp(ten.0 - NANOS_PER_MIN));
        let daily = BarCache::last_needed(Timeframe::Day1, ten);
        assert_eq!(daily, calendar::daily_bar_timestamp(NaiveDate::from_ymd_opt(2025, 12, 29).unwrap()));
        let after_close = Timestamp(s.close.0 + NANOS_PER_MIN);
        assert_eq!(
            BarCache::last_needed(Timeframe::Day1, after_close),
            calendar::daily_bar_timestamp(s.date)
        );
        let start = BarCache::history_start(Timeframe::Min1, ten, 400, 2);
        assert_eq!(start, calendar::session(NaiveDate::from_ymd_opt(2025, 12, 29).unwrap()).unwrap().open);
    }
}

//! What a store holds and how fresh it is, for `tradebot data info`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bars::AssetClass;
use crate::calendar;
use crate::store::Store;
use crate::time::{Timeframe, Timestamp};

/// One series' extent and freshness.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesStatus {
    /// The symbol.
    pub symbol: String,
    /// Instrument kind.
    pub asset_class: AssetClass,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// Number of bars.
    pub bars: u64,
    /// First bar.
    pub first: Timestamp,
    /// Last bar.
    pub last: Timestamp,
    /// Segments the series spans (1 when compact).
    pub chunks: usize,
    /// Completed NYSE sessions after the last bar's session (exchange-traded assets only;
    /// `None` for forex and crypto, which trade around the clock).
    pub sessions_behind: Option<usize>,
    /// Whole days between the last bar and now.
    pub age_days: i64,
    /// Where the bars were fetched from (provider, feed, adjustment); `None` for imported or
    /// generated series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::provenance::SeriesSource>,
}

/// Totals for one timeframe.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeframeSummary {
    /// The timeframe.
    pub timeframe: Timeframe,
    /// Symbols with bars at this timeframe.
    pub symbols: usize,
    /// Bars at this timeframe.
    pub bars: u64,
    /// Earliest bar.
    pub first: Timestamp,
    /// Latest bar.
    pub last: Timestamp,
}

/// Everything `data info` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoreInfo {
    /// The store directory.
    pub store: String,
    /// Segment bytes on disk.
    pub size_bytes: u64,
    /// Segment files.
    pub segments: usize,
    /// Per-timeframe totals, shortest timeframe first.
    pub timeframes: Vec<TimeframeSummary>,
    /// Every series, by symbol then timeframe.
    pub series: Vec<SeriesStatus>,
}

/// Describes `store` as of `now`.
pub fn describe(store: &Store, now: Timestamp) -> StoreInfo {
    let mut totals: BTreeMap<Timeframe, TimeframeSummary> = BTreeMap::new();
    let series: Vec<SeriesStatus> = store
        .list()
        .into_iter()
        .map(|s| {
            let t = totals.entry(s.timeframe).or_insert(TimeframeSummary {
                timeframe: s.timeframe,
                symbols: 0,
                bars: 0,
                first: s.first,
                last: s.last,
            });
            t.symbols += 1;
            t.bars += s.rows;
            t.first = t.first.min(s.first);
            t.last = t.last.max(s.last);
            let meta = store.meta(&s.symbol);
            let asset_class = meta.map(|m| m.asset_class).unwrap_or_default();
            SeriesStatus {
                symbol: s.symbol.clone(),
                asset_class,
                timeframe: s.timeframe,
                bars: s.rows,
                first: s.first,
                last: s.last,
                chunks: s.chunks,
                sessions_behind: exchange_traded(asset_class).then(|| sessions_after(s.last, now)),
                age_days: (now.0 - s.last.0).div_euclid(crate::time::NANOS_PER_DAY),
                source: meta.and_then(|m| m.sources.get(&s.timeframe)).cloned(),
            }
        })
        .collect();
    StoreInfo {
        store: store.dir().display().to_string(),
        size_bytes: store.size_on_disk(),
        segments: store.manifest().segments.len(),
        timeframes: totals.into_values().collect(),
        series,
    }
}

fn exchange_traded(class: AssetClass) -> bool {
    matches!(class, AssetClass::Equity | AssetClass::Etf | AssetClass::Index)
}

/// NYSE sessions that closed after `last`'s session and no later than `now`.
fn sessions_after(last: Timestamp, now: Timestamp) -> usize {
    let from = calendar::session_date(last);
    let to = calendar::session_date(now);
    if to <= from {
        return 0;
    }
    calendar::trading_days(calendar::next_trading_day(from), to)
        .into_iter()
        .filter(|&d| calendar::session(d).is_some_and(|s| s.close <= now))
        .count()
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> Timestamp {
        Timestamp::from_datetime(Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()).unwrap()
    }

    #[test]
    fn sessions_behind_counts_only_closed_sessions() {
        // Last bar: Thursday 2024-03-28's daily bar. Good Friday is closed.
        let last = calendar::daily_bar_timestamp(NaiveDate::from_ymd_opt(2024, 3, 28).unwrap());
        assert_eq!(sessions_after(last, at(2024, 3, 29, 22)), 0, "Good Friday is no session");
        assert_eq!(sessions_after(last, at(2024, 4, 1, 15)), 0, "Monday still open");
        assert_eq!(sessions_after(last, at(2024, 4, 1, 20)), 1, "Monday closed at 20:00Z");
        assert_eq!(sessions_after(last, at(2024, 4, 3, 21)), 3);
    }
}

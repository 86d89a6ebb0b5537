//! Counting the bars a series lacks against the calendar, for ingest warnings.

use crate::time::{NANOS_PER_MIN, Timeframe, Timestamp};

use super::{daily_bar_timestamp, session, session_date, trading_days};

/// How many expected bars are absent from a series, and where the first gap is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GapReport {
    /// Number of expected bars with no bar in the series.
    pub missing: usize,
    /// The timestamp the earliest missing bar would have had.
    pub first_missing: Option<Timestamp>,
}

impl GapReport {
    fn record(&mut self, ts: Timestamp) {
        self.missing += 1;
        self.first_missing.get_or_insert(ts);
    }
}

/// Counts the bars missing from `timestamps` (strictly increasing UTC nanoseconds, as
/// [`crate::Bars::timestamps`] gives them) between its first and last bar.
///
/// * `1Day`: trading days with no bar stamped on that New York date (bars follow the
///   [`daily_bar_timestamp`] convention); `first_missing` is that day's daily-bar timestamp.
/// * `1Min`: regular-session minutes with no bar starting in them; bars outside the session
///   (pre- and post-market) are allowed and ignored, and minutes before the first bar or
///   after the last one are not counted, so a series may start or end mid-session.
/// * Other timeframes: no calendar expectation is defined, so the report is empty.
///
/// Runs in time linear in bars plus sessions (plus session minutes for `1Min`).
pub fn missing_sessions(timestamps: &[i64], tf: Timeframe) -> GapReport {
    let (Some(&first), Some(&last)) = (timestamps.first(), timestamps.last()) else {
        return GapReport::default();
    };
    match tf {
        Timeframe::Day1 => missing_days(timestamps, first, last),
        Timeframe::Min1 => missing_minutes(timestamps, first, last),
        Timeframe::Min5 | Timeframe::Min15 | Timeframe::Hour1 | Timeframe::Week1 | Timeframe::Month1 => {
            GapReport::default()
        }
    }
}

fn missing_days(timestamps: &[i64], first: i64, last: i64) -> GapReport {
    let mut report = GapReport::default();
    let mut bar_dates = timestamps.iter().map(|&t| session_date(Timestamp(t))).peekable();
    for day in trading_days(session_date(Timestamp(first)), session_date(Timestamp(last))) {
        while bar_dates.next_if(|&d| d < day).is_some() {}
        if bar_dates.peek() != Some(&day) {
            report.record(daily_bar_timestamp(day));
        }
    }
    report
}

fn missing_minutes(timestamps: &[i64], first: i64, last: i64) -> GapReport {
    let mut report = GapReport::default();
    let span_start = first - first.rem_euclid(NANOS_PER_MIN);
    let mut i = 0;
    for day in trading_days(session_date(Timestamp(first)), session_date(Timestamp(last))) {
        let s = session(day).expect("a trading day has a session");
        let mut minute = s.open.0.max(span_start);
        while minute < s.close.0 && minute <= last {
            while i < timestamps.len() && timestamps[i] < minute {
                i += 1;
            }
            if timestamps.get(i).is_none_or(|&t| t >= minute + NANOS_PER_MIN) {
                report.record(Timestamp(minute));
            }
            minute += NANOS_PER_MIN;
        }
    }
    report
}

//! The NYSE trading calendar: which New York dates are trading days, their session hours
//! as UTC [`Timestamp`]s, and gap counting against it.
//!
//! Built from rules, valid for 1990 through 2100 (a cached table; outside it the same
//! rules are evaluated on the spot, without pre-1990 history):
//!
//! * Full-day holidays: New Year's Day (Sunday → Monday; a Saturday New Year's Day is not
//!   made up on Friday December 31), Martin Luther King, Jr. Day (3rd Monday of January,
//!   since 1998), Washington's Birthday (3rd Monday of February), Good Friday, Memorial Day
//!   (last Monday of May), Juneteenth (June 19, since 2022), Independence Day, Labor Day
//!   (1st Monday of September), Thanksgiving (4th Thursday of November), Christmas.
//!   Fixed-date holidays falling on a Saturday close the Friday before, on a Sunday the
//!   Monday after.
//! * One-off closures (presidential funerals, 9/11, Hurricane Sandy) and a few sessions
//!   with unusual hours, listed with sources in `special.rs`.
//! * Early closes: the day after Thanksgiving (since 1992); Christmas Eve on a weekday
//!   trading day; July 3 on a Monday, Tuesday or Thursday since 1995 and on a Wednesday
//!   since 2013 (from 1995 to 2012 a Thursday Independence Day shortened Friday July 5
//!   instead). Early closes are at 13:00, at 14:00 before 1993.
//! * The regular session is 09:30–16:00 America/New_York, converted DST-correctly with
//!   chrono-tz. A session's open is inclusive and its close exclusive.
//!
//! Dates are New York calendar dates ([`NaiveDate`]); instants are UTC [`Timestamp`]s.
//! Functions that produce a [`Timestamp`] panic for dates outside its range (years
//! 1678–2261).

mod gaps;
mod rules;
mod special;
mod table;

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::America::New_York;
use chrono_tz::Tz;

use crate::time::{NANOS_PER_MIN, Timestamp};
use rules::{DayKind, Hours};

pub use gaps::{GapReport, missing_sessions};

/// One trading session: its New York date and its UTC open and close instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Session {
    /// The New York calendar date of the session.
    pub date: NaiveDate,
    /// First instant of trading (inclusive).
    pub open: Timestamp,
    /// End of trading (exclusive): 16:00 New York on a regular day.
    pub close: Timestamp,
    /// True when the session closes before 16:00 New York.
    pub early_close: bool,
}

impl Session {
    /// True when `ts` lies within the session: `open <= ts < close`.
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.open <= ts && ts < self.close
    }

    /// Length of the session in whole minutes (390 on a regular day, 210 on a 13:00 close).
    pub fn minutes(&self) -> i64 {
        (self.close.0 - self.open.0) / NANOS_PER_MIN
    }
}

/// True when the NYSE holds a session on `date`.
pub fn is_trading_day(date: NaiveDate) -> bool {
    matches!(table::day_kind(date), DayKind::Open(_))
}

/// The name of the holiday or closure that shuts the exchange on `date`, a weekday.
/// `None` on trading days and on weekends (a weekend holiday is named on its observed day).
pub fn holiday_name(date: NaiveDate) -> Option<&'static str> {
    match table::day_kind(date) {
        DayKind::Holiday(h) => Some(h.name()),
        DayKind::Weekend | DayKind::Open(_) => None,
    }
}

/// The session held on `date`, or `None` when the exchange is closed.
pub fn session(date: NaiveDate) -> Option<Session> {
    match table::day_kind(date) {
        DayKind::Open(hours) => Some(Session {
            date,
            open: new_york_instant(date, hours.open),
            close: new_york_instant(date, hours.close),
            early_close: hours.close < Hours::REGULAR.close,
        }),
        DayKind::Weekend | DayKind::Holiday(_) => None,
    }
}

/// True when `ts` falls inside a regular or early-close session (pre- and post-market
/// hours count as closed).
pub fn is_open(ts: Timestamp) -> bool {
    open_session(ts).is_some()
}

/// Whole minutes from the session open to `ts` (0 during the first minute), or `None`
/// when `ts` is outside a session.
pub fn minutes_since_open(ts: Timestamp) -> Option<i64> {
    open_session(ts).map(|s| (ts.0 - s.open.0) / NANOS_PER_MIN)
}

/// The session `ts` falls inside, if any.
fn open_session(ts: Timestamp) -> Option<Session> {
    session(session_date(ts)).filter(|s| s.contains(ts))
}

/// The first trading day strictly after `date`.
pub fn next_trading_day(date: NaiveDate) -> NaiveDate {
    date.iter_days()
        .skip(1)
        .find(|&d| is_trading_day(d))
        .expect("a trading day follows within chrono's range")
}

/// The last trading day strictly before `date`.
pub fn previous_trading_day(date: NaiveDate) -> NaiveDate {
    date.iter_days()
        .rev()
        .skip(1)
        .find(|&d| is_trading_day(d))
        .expect("a trading day precedes within chrono's range")
}

/// Every trading day from `first` to `last`, both inclusive, in order (empty when
/// `first > last`).
pub fn trading_days(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    table::days(first, last).filter_map(|(d, kind)| matches!(kind, DayKind::Open(_)).then_some(d)).collect()
}

/// The New York calendar date of the instant `ts`: the date of the session it belongs to.
pub fn session_date(ts: Timestamp) -> NaiveDate {
    to_new_york(ts).date_naive()
}

/// 00:00 New York on `date`, in UTC: the timestamp of that date's daily bar (the
/// convention of Alpaca's bars API, e.g. 2021-02-01 → 2021-02-01T05:00:00Z).
pub fn daily_bar_timestamp(date: NaiveDate) -> Timestamp {
    new_york_instant(date, 0)
}

/// `ts` in New York local time, for display and for calendar arithmetic.
pub fn to_new_york(ts: Timestamp) -> DateTime<Tz> {
    ts.to_datetime().with_timezone(&New_York)
}

/// The UTC instant of `minute` minutes after midnight New York time on `date`.
fn new_york_instant(date: NaiveDate, minute: u16) -> Timestamp {
    let local = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0).expect("minute < 24h");
    // New York changes clocks at 02:00, so midnight and trading hours are never skipped or repeated.
    let instant = New_York.from_local_datetime(&local).single().expect("unambiguous New York time");
    Timestamp::from_datetime(instant.to_utc()).expect("date within Timestamp's range")
}

#[cfg(test)]
mod tests;

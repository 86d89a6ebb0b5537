//! One-off days that no rule gives: unscheduled full closures and sessions with unusual
//! hours since 1990.
//!
//! Sources: NYSE closings history as transcribed in `pandas_market_calendars`
//! (`holidays_nyse.py`) and NYSE announcements. Intraday deviations of under 30 minutes
//! (the 09:31–09:33 openings after moments of silence in 1990–2006, the 15:56 close on
//! 2005-06-01) are deliberately not modelled: they are disruptions, not sessions.

use chrono::NaiveDate;

use super::rules::Hours;

/// A weekday on which the exchange did not open although no holiday rule applies.
pub(super) struct Closure {
    /// New York date of the closure.
    pub(super) date: NaiveDate,
    /// Why, as reported by [`super::holiday_name`].
    pub(super) name: &'static str,
}

/// A trading day whose hours differ from what the rules give.
pub(super) struct SpecialSession {
    /// New York date of the session.
    pub(super) date: NaiveDate,
    /// The hours traded that day.
    pub(super) hours: Hours,
}

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date")
}

const fn closure(year: i32, month: u32, day: u32, name: &'static str) -> Closure {
    Closure { date: date(year, month, day), name }
}

const fn special(year: i32, month: u32, day: u32, open: (u16, u16), close: (u16, u16)) -> SpecialSession {
    SpecialSession {
        date: date(year, month, day),
        hours: Hours { open: open.0 * 60 + open.1, close: close.0 * 60 + close.1 },
    }
}

const SEPT_11: &str = "September 11 attacks";
const SANDY: &str = "Hurricane Sandy";

/// Unscheduled full-day closures since 1990, oldest first.
pub(super) const CLOSURES: &[Closure] = &[
    closure(1994, 4, 27, "National Day of Mourning for President Richard Nixon"),
    closure(2001, 9, 11, SEPT_11),
    closure(2001, 9, 12, SEPT_11),
    closure(2001, 9, 13, SEPT_11),
    closure(2001, 9, 14, SEPT_11),
    closure(2004, 6, 11, "National Day of Mourning for President Ronald Reagan"),
    closure(2007, 1, 2, "National Day of Mourning for President Gerald R. Ford"),
    closure(2012, 10, 29, SANDY),
    closure(2012, 10, 30, SANDY),
    closure(2018, 12, 5, "National Day of Mourning for President George H. W. Bush"),
    closure(2025, 1, 9, "National Day of Mourning for President Jimmy Carter"),
];

/// Sessions since 1990 whose opening or closing time differs by 30 minutes or more from
/// the rule-derived hours, oldest first.
pub(super) const SESSIONS: &[SpecialSession] = &[
    // Snowstorm: closed early at 14:30.
    special(1994, 2, 11, (9, 30), (14, 30)),
    // Computer systems trouble: opened at 10:30.
    special(1995, 12, 18, (10, 30), (16, 0)),
    // Blizzard of 1996: opened at 11:00, closed at 14:00.
    special(1996, 1, 8, (11, 0), (14, 0)),
    // Circuit breaker after the 554-point drop: trading halted for the day at 15:30.
    special(1997, 10, 27, (9, 30), (15, 30)),
    // Day after Christmas, declared a 13:00 close.
    special(1997, 12, 26, (9, 30), (13, 0)),
    // First anniversary of the September 11 attacks: opened at 12:00.
    special(2002, 9, 11, (12, 0), (16, 0)),
    // Day after Christmas, declared a 13:00 close.
    special(2003, 12, 26, (9, 30), (13, 0)),
];

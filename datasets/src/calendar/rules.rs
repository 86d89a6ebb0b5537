//! The NYSE holiday and early-close rules, evaluated for one year at a time.
//!
//! Everything here works on New York calendar dates; turning them into UTC instants is
//! the parent module's job. The rules are those in force since 1990 (see the module docs
//! of [`super`] for the history they encode); [`super::special`] holds the one-off days.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::special;

/// Why the exchange is closed on a weekday.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Holiday {
    NewYearsDay,
    MartinLutherKingJrDay,
    WashingtonsBirthday,
    GoodFriday,
    MemorialDay,
    Juneteenth,
    IndependenceDay,
    LaborDay,
    Thanksgiving,
    Christmas,
    /// A closure no rule gives (funerals, 9/11, storms): an index into [`special::CLOSURES`].
    OneOff(u8),
}

impl Holiday {
    /// The holiday's name as the exchange publishes it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Holiday::NewYearsDay => "New Year's Day",
            Holiday::MartinLutherKingJrDay => "Martin Luther King, Jr. Day",
            Holiday::WashingtonsBirthday => "Washington's Birthday",
            Holiday::GoodFriday => "Good Friday",
            Holiday::MemorialDay => "Memorial Day",
            Holiday::Juneteenth => "Juneteenth National Independence Day",
            Holiday::IndependenceDay => "Independence Day",
            Holiday::LaborDay => "Labor Day",
            Holiday::Thanksgiving => "Thanksgiving Day",
            Holiday::Christmas => "Christmas Day",
            Holiday::OneOff(i) => special::CLOSURES[usize::from(i)].name,
        }
    }
}

/// Trading hours of one session, as minutes after midnight New York time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hours {
    /// Opening minute (570 = 09:30).
    pub(super) open: u16,
    /// Closing minute, exclusive (960 = 16:00).
    pub(super) close: u16,
}

impl Hours {
    /// The regular session, 09:30–16:00.
    pub(super) const REGULAR: Hours = Hours { open: 9 * 60 + 30, close: 16 * 60 };

    /// A session that opens at 09:30 and closes at `hour`:00.
    pub(super) const fn closing_at(hour: u16) -> Hours {
        Hours { open: Hours::REGULAR.open, close: hour * 60 }
    }
}

/// What the exchange does on one calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DayKind {
    /// Saturday or Sunday.
    Weekend,
    /// A weekday on which the exchange is closed.
    Holiday(Holiday),
    /// A trading day with these hours.
    Open(Hours),
}

/// The rule-derived holidays and early-close anchors of one year, computed once.
pub(super) struct YearRules {
    year: i32,
    holidays: Vec<(NaiveDate, Holiday)>,
    day_after_thanksgiving: NaiveDate,
}

impl YearRules {
    /// Evaluates every rule for `year`.
    pub(super) fn new(year: i32) -> Self {
        let fixed = |month, day| ymd(year, month, day);
        let rules = [
            (Holiday::NewYearsDay, new_years_day(year)),
            (Holiday::MartinLutherKingJrDay, (year >= 1998).then(|| nth_weekday(year, 1, Weekday::Mon, 3))),
            (Holiday::WashingtonsBirthday, Some(nth_weekday(year, 2, Weekday::Mon, 3))),
            (Holiday::GoodFriday, Some(easter_sunday(year) - Days::new(2))),
            (Holiday::MemorialDay, Some(last_weekday(year, 5, Weekday::Mon))),
            (Holiday::Juneteenth, (year >= 2022).then(|| observed(fixed(6, 19)))),
            (Holiday::IndependenceDay, Some(observed(fixed(7, 4)))),
            (Holiday::LaborDay, Some(nth_weekday(year, 9, Weekday::Mon, 1))),
            (Holiday::Thanksgiving, Some(thanksgiving(year))),
            (Holiday::Christmas, Some(observed(fixed(12, 25)))),
        ];
        let mut holidays: Vec<_> = rules.into_iter().filter_map(|(h, d)| Some((d?, h))).collect();
        holidays.extend(
            special::CLOSURES
                .iter()
                .zip(0..)
                .filter(|(c, _)| c.date.year() == year)
                .map(|(c, i)| (c.date, Holiday::OneOff(i))),
        );
        YearRules { year, holidays, day_after_thanksgiving: thanksgiving(year) + Days::new(1) }
    }

    /// Every day of `year`, January 1 first.
    pub(super) fn kinds_of_year(year: i32) -> Vec<DayKind> {
        let rules = YearRules::new(year);
        let jan_1 = NaiveDate::from_yo_opt(year, 1).expect("January 1 exists");
        jan_1.iter_days().take_while(|d| d.year() == year).map(|d| rules.kind(d)).collect()
    }

    /// What the exchange does on `date`, which must lie in this rule set's year.
    pub(super) fn kind(&self, date: NaiveDate) -> DayKind {
        debug_assert_eq!(date.year(), self.year);
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            return DayKind::Weekend;
        }
        if let Some(&(_, holiday)) = self.holidays.iter().find(|(d, _)| *d == date) {
            return DayKind::Holiday(holiday);
        }
        if let Some(s) = special::SESSIONS.iter().find(|s| s.date == date) {
            return DayKind::Open(s.hours);
        }
        if self.is_early_close(date) {
            // Early closes were at 14:00 until the end of 1992, 13:00 since.
            return DayKind::Open(Hours::closing_at(if self.year < 1993 { 14 } else { 13 }));
        }
        DayKind::Open(Hours::REGULAR)
    }

    /// The scheduled early closes, for a weekday that is not a holiday.
    fn is_early_close(&self, date: NaiveDate) -> bool {
        let (year, month, day) = (self.year, date.month(), date.day());
        let weekday = date.weekday();
        // Day after Thanksgiving: a short day since 1992.
        (date == self.day_after_thanksgiving && year >= 1992)
            // Christmas Eve on a trading day (Mon–Thu; a Friday 24th is the observed holiday).
            || (month == 12 && day == 24)
            // The day before Independence Day (Mon, Tue, Thu since 1995; Wed since 2013) ...
            || (month == 7 && day == 3 && year >= 1995 && (weekday != Weekday::Wed || year >= 2013))
            // ... and, from 1995 to 2012, Friday July 5 instead when July 4 was a Thursday.
            || (month == 7 && day == 5 && weekday == Weekday::Fri && (1995..2013).contains(&year))
    }
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date")
}

/// A fixed-date holiday moved off the weekend: Saturday to Friday, Sunday to Monday.
fn observed(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date - Days::new(1),
        Weekday::Sun => date + Days::new(1),
        _ => date,
    }
}

/// January 1, or Monday January 2 when it is a Sunday. A Saturday New Year's Day is not
/// made up on the Friday before, which would close the last day of the accounting year.
fn new_years_day(year: i32) -> Option<NaiveDate> {
    let date = ymd(year, 1, 1);
    (date.weekday() != Weekday::Sat).then(|| observed(date))
}

/// Fourth Thursday of November.
fn thanksgiving(year: i32) -> NaiveDate {
    nth_weekday(year, 11, Weekday::Thu, 4)
}

/// The `n`th (1-based) `weekday` of `month`.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).expect("n <= 4 always exists")
}

/// The last `weekday` of `month` (only used for months with 31 days).
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let last = ymd(year, month, 31);
    let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    last - Days::new(u64::from(back))
}

/// Western (Gregorian) Easter Sunday by the anonymous Gregorian computus (Meeus/Jones/Butcher).
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let (b, c) = (year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_matches_published_dates() {
        let known = [
            (1990, 4, 15),
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2038, 4, 25),
            (2100, 3, 28),
        ];
        for (y, m, d) in known {
            assert_eq!(easter_sunday(y), ymd(y, m, d), "Easter {y}");
        }
    }

    #[test]
    fn weekday_helpers_pick_the_right_day() {
        assert_eq!(last_weekday(2024, 5, Weekday::Mon), ymd(2024, 5, 27));
        assert_eq!(last_weekday(2021, 5, Weekday::Mon), ymd(2021, 5, 31));
        assert_eq!(nth_weekday(2024, 1, Weekday::Mon, 3), ymd(2024, 1, 15));
        assert_eq!(thanksgiving(2024), ymd(2024, 11, 28));
        assert_eq!(observed(ymd(2021, 12, 25)), ymd(2021, 12, 24));
        assert_eq!(observed(ymd(2022, 12, 25)), ymd(2022, 12, 26));
        assert_eq!(observed(ymd(2024, 12, 25)), ymd(2024, 12, 25));
        assert_eq!(new_years_day(2022), None);
        assert_eq!(new_years_day(2023), Some(ymd(2023, 1, 2)));
    }
}

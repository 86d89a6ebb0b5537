use chrono::{DateTime, Datelike, NaiveDate};
use proptest::strategy::Strategy;

use super::*;
use crate::time::{NANOS_PER_SEC, Timeframe};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn utc(s: &str) -> Timestamp {
    Timestamp::from_datetime(DateTime::parse_from_rfc3339(s).unwrap().to_utc()).unwrap()
}

fn closed(date: NaiveDate, name: &str) {
    assert!(!is_trading_day(date), "{date} should be closed");
    assert_eq!(holiday_name(date), Some(name), "{date}");
    assert_eq!(session(date), None);
}

#[test]
fn every_holiday_rule_closes_its_2024_date() {
    closed(d(2024, 1, 1), "New Year's Day");
    closed(d(2024, 1, 15), "Martin Luther King, Jr. Day");
    closed(d(2024, 2, 19), "Washington's Birthday");
    closed(d(2024, 3, 29), "Good Friday");
    closed(d(2024, 5, 27), "Memorial Day");
    closed(d(2024, 6, 19), "Juneteenth National Independence Day");
    closed(d(2024, 7, 4), "Independence Day");
    closed(d(2024, 9, 2), "Labor Day");
    closed(d(2024, 11, 28), "Thanksgiving Day");
    closed(d(2024, 12, 25), "Christmas Day");
}

#[test]
fn weekend_holidays_move_to_the_observed_weekday() {
    // Christmas 2021 on a Saturday: closed Friday the 24th.
    closed(d(2021, 12, 24), "Christmas Day");
    // New Year's Day 2022 on a Saturday: no make-up closure on Friday 2021-12-31.
    assert!(is_trading_day(d(2021, 12, 31)));
    assert_eq!(holiday_name(d(2022, 1, 1)), None);
    // New Year's Day 2023 on a Sunday: closed Monday January 2.
    closed(d(2023, 1, 2), "New Year's Day");
    // Independence Day 2020 on a Saturday: Friday July 3; 2021 on a Sunday: Monday July 5.
    closed(d(2020, 7, 3), "Independence Day");
    closed(d(2021, 7, 5), "Independence Day");
    // Juneteenth 2022 on a Sunday: Monday June 20; 2027 on a Saturday: Friday June 18.
    closed(d(2022, 6, 20), "Juneteenth National Independence Day");
    closed(d(2027, 6, 18), "Juneteenth National Independence Day");
    // Christmas 2022 on a Sunday: Monday the 26th.
    closed(d(2022, 12, 26), "Christmas Day");
}

#[test]
fn holidays_start_in_the_year_they_were_adopted() {
    closed(d(2023, 6, 19), "Juneteenth National Independence Day");
    assert!(is_trading_day(d(2021, 6, 18)), "no Juneteenth closure in 2021 (June 19 was a Saturday)");
    assert!(is_trading_day(d(2020, 6, 19)));
    // NYSE first closed for Martin Luther King, Jr. Day in 1998.
    assert!(is_trading_day(d(1997, 1, 20)));
    closed(d(1998, 1, 19), "Martin Luther King, Jr. Day");
}

#[test]
fn good_friday_follows_easter() {
    for date in
        [d(1990, 4, 13), d(2008, 3, 21), d(2015, 4, 3), d(2024, 3, 29), d(2025, 4, 18), d(2100, 3, 26)]
    {
        closed(date, "Good Friday");
    }
    assert!(is_trading_day(d(2025, 4, 17)), "the Thursday before Good Friday trades");
}

#[test]
fn one_off_closures_are_named() {
    closed(d(1994, 4, 27), "National Day of Mourning for President Richard Nixon");
    for day in 11..=14 {
        closed(d(2001, 9, day), "September 11 attacks");
    }
    assert!(is_trading_day(d(2001, 9, 17)));
    closed(d(2004, 6, 11), "National Day of Mourning for President Ronald Reagan");
    closed(d(2007, 1, 2), "National Day of Mourning for President Gerald R. Ford");
    closed(d(2012, 10, 29), "Hurricane Sandy");
    closed(d(2012, 10, 30), "Hurricane Sandy");
    closed(d(2018, 12, 5), "National Day of Mourning for President George H. W. Bush");
    closed(d(2025, 1, 9), "National Day of Mourning for President Jimmy Carter");
}

#[test]
fn weekends_are_closed_but_not_named() {
    assert!(!is_trading_day(d(2024, 3, 9)));
    assert!(!is_trading_day(d(2024, 3, 10)));
    assert_eq!(holiday_name(d(2024, 3, 9)), None);
    assert_eq!(holiday_name(d(2024, 3, 11)), None);
}

fn closes_at(date: NaiveDate, close: &str) {
    let s = session(date).unwrap_or_else(|| panic!("{date} should trade"));
    assert_eq!(s.close, utc(close), "{date}");
    assert!(s.early_close, "{date}");
}

#[test]
fn early_closes_end_at_one_pm_new_york() {
    closes_at(d(2024, 7, 3), "2024-07-03T17:00:00Z");
    closes_at(d(2024, 11, 29), "2024-11-29T18:00:00Z");
    closes_at(d(2024, 12, 24), "2024-12-24T18:00:00Z");
    closes_at(d(2023, 7, 3), "2023-07-03T17:00:00Z");
    closes_at(d(2019, 7, 3), "2019-07-03T17:00:00Z");
    let s = session(d(2024, 7, 3)).unwrap();
    assert_eq!(s.open, utc("2024-07-03T13:30:00Z"));
    assert_eq!(s.minutes(), 210);
}

#[test]
fn early_close_history_before_2013_and_1993() {
    // July 4 on a Thursday before 2013: Friday July 5 was short, Wednesday July 3 was not.
    closes_at(d(2002, 7, 5), "2002-07-05T17:00:00Z");
    assert!(!session(d(2002, 7, 3)).unwrap().early_close);
    // No July 3 early closes before 1995.
    assert!(!session(d(1991, 7, 3)).unwrap().early_close);
    // Before 1993 early closes were at 14:00.
    closes_at(d(1992, 11, 27), "1992-11-27T19:00:00Z");
    closes_at(d(1990, 12, 24), "1990-12-24T19:00:00Z");
    // And the day after Thanksgiving was a full day before 1992.
    assert!(!session(d(1991, 11, 29)).unwrap().early_close);
    // One-off sessions: 1997-12-26 closed at 13:00, 2002-09-11 opened at noon.
    closes_at(d(1997, 12, 26), "1997-12-26T18:00:00Z");
    let s = session(d(2002, 9, 11)).unwrap();
    assert_eq!(
        (s.open, s.close, s.early_close),
        (utc("2002-09-11T16:00:00Z"), utc("2002-09-11T20:00:00Z"), false)
    );
}

#[test]
fn no_early_close_when_the_eve_is_itself_closed_or_a_weekend() {
    // 2020: July 3 was the observed Independence Day.
    assert_eq!(session(d(2020, 7, 3)), None);
    // 2021: Christmas Eve was the observed Christmas, and July 2 (Friday) was a full day.
    assert_eq!(session(d(2021, 12, 24)), None);
    assert!(!session(d(2021, 7, 2)).unwrap().early_close);
    // 2022: July 4 on a Monday, Friday July 1 was a full day.
    assert!(!session(d(2022, 7, 1)).unwrap().early_close);
}

#[test]
fn sessions_convert_to_utc_across_daylight_saving_changes() {
    // US DST began 2024-03-10 and ended 2024-11-03.
    let before = session(d(2024, 3, 8)).unwrap();
    assert_eq!(before.open, utc("2024-03-08T14:30:00Z"));
    assert_eq!(before.close, utc("2024-03-08T21:00:00Z"));
    assert!(!before.early_close);
    assert_eq!(before.minutes(), 390);
    let after = session(d(2024, 3, 11)).unwrap();
    assert_eq!(after.open, utc("2024-03-11T13:30:00Z"));
    assert_eq!(after.close, utc("2024-03-11T20:00:00Z"));
    assert_eq!(session(d(2024, 11, 1)).unwrap().open, utc("2024-11-01T13:30:00Z"));
    assert_eq!(session(d(2024, 11, 4)).unwrap().open, utc("2024-11-04T14:30:00Z"));
    assert_eq!(session(d(2024, 11, 4)).unwrap().date, d(2024, 11, 4));
}

#[test]
fn is_open_includes_the_open_and_excludes_the_close() {
    assert!(!is_open(utc("2024-03-11T13:29:59Z")));
    assert!(is_open(utc("2024-03-11T13:30:00Z")));
    assert!(is_open(utc("2024-03-11T19:59:59Z")));
    assert!(!is_open(utc("2024-03-11T20:00:00Z")));
    assert!(!is_open(utc("2024-07-03T17:00:00Z")), "early close");
    assert!(!is_open(utc("2024-12-25T15:00:00Z")), "holiday");
    assert!(!is_open(utc("2024-03-09T15:00:00Z")), "Saturday");
}

#[test]
fn minutes_since_open_counts_whole_minutes_inside_the_session() {
    assert_eq!(minutes_since_open(utc("2024-03-11T13:30:00Z")), Some(0));
    assert_eq!(minutes_since_open(utc("2024-03-11T13:30:59Z")), Some(0));
    assert_eq!(minutes_since_open(utc("2024-03-11T13:31:00Z")), Some(1));
    assert_eq!(minutes_since_open(utc("2024-03-11T19:59:00Z")), Some(389));
    assert_eq!(minutes_since_open(utc("2024-03-08T15:45:00Z")), Some(75));
    assert_eq!(minutes_since_open(utc("2024-03-11T20:00:00Z")), None);
    assert_eq!(minutes_since_open(utc("2024-03-11T13:29:00Z")), None);
    assert_eq!(minutes_since_open(utc("2024-12-25T15:00:00Z")), None);
}

#[test]
fn next_and_previous_skip_weekends_and_holidays() {
    assert_eq!(next_trading_day(d(2024, 3, 8)), d(2024, 3, 11));
    assert_eq!(next_trading_day(d(2024, 3, 9)), d(2024, 3, 11));
    assert_eq!(next_trading_day(d(2024, 3, 27)), d(2024, 3, 28));
    assert_eq!(next_trading_day(d(2024, 3, 28)), d(2024, 4, 1), "Good Friday and the weekend");
    assert_eq!(previous_trading_day(d(2024, 4, 1)), d(2024, 3, 28));
    assert_eq!(previous_trading_day(d(2024, 3, 11)), d(2024, 3, 8));
    assert_eq!(next_trading_day(d(2001, 9, 10)), d(2001, 9, 17));
    assert_eq!(previous_trading_day(d(2001, 9, 17)), d(2001, 9, 10));
    assert_eq!(next_trading_day(d(2021, 12, 23)), d(2021, 12, 27));
    assert_eq!(previous_trading_day(d(2023, 1, 3)), d(2022, 12, 30));
}

#[test]
fn yearly_trading_day_counts() {
    let count = |y| trading_days(d(y, 1, 1), d(y, 12, 31)).len();
    assert_eq!(count(2023), 250);
    assert_eq!(count(2024), 252);
    // Published NYSE counts, which the shipped GOOG sample also confirms for 2005–2012.
    let published = [
        (2001, 248),
        (2004, 252),
        (2005, 252),
        (2006, 251),
        (2007, 251),
        (2008, 253),
        (2009, 252),
        (2010, 252),
        (2011, 252),
        (2012, 250),
        (2022, 251),
    ];
    for (year, n) in published {
        assert_eq!(count(year), n, "{year}");
    }
}

#[test]
fn trading_days_is_inclusive_and_ordered() {
    let days = trading_days(d(2024, 3, 28), d(2024, 4, 2));
    assert_eq!(days, vec![d(2024, 3, 28), d(2024, 4, 1), d(2024, 4, 2)]);
    assert_eq!(trading_days(d(2024, 3, 29), d(2024, 3, 29)), vec![]);
    assert_eq!(trading_days(d(2024, 3, 28), d(2024, 3, 28)), vec![d(2024, 3, 28)]);
    assert_eq!(trading_days(d(2024, 4, 2), d(2024, 3, 28)), vec![]);
    // Outside the cached table the same rules apply.
    assert_eq!(trading_days(d(2101, 1, 1), d(2101, 1, 7)).len(), 5, "New Year's Day 2101 is a Saturday");
    assert_eq!(trading_days(d(2101, 12, 23), d(2101, 12, 27)), vec![d(2101, 12, 23), d(2101, 12, 27)]);
    assert_eq!(holiday_name(d(2101, 12, 26)), Some("Christmas Day"));
    assert_eq!(holiday_name(d(1989, 12, 25)), Some("Christmas Day"));
}

#[test]
fn session_date_and_daily_bar_timestamp_use_new_york_dates() {
    // 02:00 UTC on March 12 is 22:00 on March 11 in New York.
    assert_eq!(session_date(utc("2024-03-12T02:00:00Z")), d(2024, 3, 11));
    assert_eq!(session_date(utc("2024-03-12T04:00:00Z")), d(2024, 3, 12));
    assert_eq!(session_date(utc("2024-01-12T04:59:59Z")), d(2024, 1, 11));
    assert_eq!(daily_bar_timestamp(d(2021, 2, 1)), utc("2021-02-01T05:00:00Z"));
    assert_eq!(daily_bar_timestamp(d(2021, 7, 1)), utc("2021-07-01T04:00:00Z"));
    assert_eq!(session_date(daily_bar_timestamp(d(2024, 3, 10))), d(2024, 3, 10));
    let shown = to_new_york(utc("2024-03-11T13:30:00Z"));
    assert_eq!(shown.to_rfc3339(), "2024-03-11T09:30:00-04:00");
}

#[test]
fn shipped_goog_dates_are_exactly_the_nyse_trading_days() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/GOOG.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let dates: Vec<NaiveDate> = text
        .lines()
        .skip(1)
        .map(|line| NaiveDate::parse_from_str(line.split(',').next().unwrap(), "%Y-%m-%d").unwrap())
        .collect();
    assert_eq!(dates.len(), 2148);
    let expected = trading_days(d(2004, 8, 19), d(2013, 3, 1));
    assert_eq!(dates, expected);
    assert_eq!(dates.iter().filter(|x| x.year() == 2008).count(), 253);
}

fn minute(s: &str) -> i64 {
    utc(s).0
}

#[test]
fn missing_daily_bars_are_trading_days_without_a_bar() {
    let bars: Vec<i64> = [d(2024, 3, 25), d(2024, 3, 26), d(2024, 3, 28), d(2024, 4, 1), d(2024, 4, 3)]
        .into_iter()
        .map(|x| daily_bar_timestamp(x).0)
        .collect();
    let report = missing_sessions(&bars, Timeframe::Day1);
    // Missing: 03-27 and 04-02; 03-29 is Good Friday, 03-30/31 a weekend.
    assert_eq!(report, GapReport { missing: 2, first_missing: Some(daily_bar_timestamp(d(2024, 3, 27))) });
    // A complete series has no gaps; a bar on a weekend is not an error.
    let mut full: Vec<i64> =
        trading_days(d(2024, 1, 1), d(2024, 12, 31)).into_iter().map(|x| daily_bar_timestamp(x).0).collect();
    assert_eq!(missing_sessions(&full, Timeframe::Day1), GapReport::default());
    full.insert(1, daily_bar_timestamp(d(2024, 1, 6)).0);
    full.sort_unstable();
    assert_eq!(missing_sessions(&full, Timeframe::Day1).missing, 0);
    assert_eq!(missing_sessions(&[], Timeframe::Day1), GapReport::default());
}

#[test]
fn missing_minute_bars_count_regular_session_minutes_only() {
    // Friday 2024-03-08 (EST, open 14:30Z, close 21:00Z) and Monday 2024-03-11 (EDT, 13:30Z–20:00Z).
    let mut bars = Vec::new();
    for day in [d(2024, 3, 8), d(2024, 3, 11)] {
        let s = session(day).unwrap();
        // Pre-market and post-market bars, which are not gaps and must not hide any.
        bars.push(s.open.0 - 30 * NANOS_PER_MIN);
        bars.extend((0..s.minutes()).map(|m| s.open.0 + m * NANOS_PER_MIN));
        bars.push(s.close.0 + 60 * NANOS_PER_MIN);
    }
    assert_eq!(missing_sessions(&bars, Timeframe::Min1), GapReport::default());
    // Remove 10:00 New York on Monday and three minutes on Friday afternoon.
    let drop = [
        minute("2024-03-11T14:00:00Z"),
        minute("2024-03-08T19:00:00Z"),
        minute("2024-03-08T19:01:00Z"),
        minute("2024-03-08T20:59:00Z"),
    ];
    bars.retain(|t| !drop.contains(t));
    let report = missing_sessions(&bars, Timeframe::Min1);
    assert_eq!(report, GapReport { missing: 4, first_missing: Some(utc("2024-03-08T19:00:00Z")) });
    // A bar stamped inside its minute (not at its start) still fills that minute.
    let at = bars.iter().position(|&t| t > minute("2024-03-11T14:00:00Z")).unwrap();
    bars.insert(at, minute("2024-03-11T14:00:00Z") + 30 * NANOS_PER_SEC);
    assert_eq!(missing_sessions(&bars, Timeframe::Min1).missing, 3);
}

#[test]
fn missing_minutes_are_clipped_to_the_series_span_and_skip_holidays() {
    // Starts at 15:00 New York on Thursday 2024-03-28 (EDT) and ends at 09:35 on Monday 04-01.
    let start = minute("2024-03-28T19:00:00Z");
    let end = minute("2024-04-01T13:35:00Z");
    let bars = [start, minute("2024-03-28T19:59:00Z"), end];
    // Thursday: 60 minutes, 2 present; Good Friday: none expected; Monday: 6 minutes, 1 present.
    let report = missing_sessions(&bars, Timeframe::Min1);
    assert_eq!(report, GapReport { missing: 58 + 5, first_missing: Some(utc("2024-03-28T19:01:00Z")) });
}

#[test]
fn other_timeframes_report_no_gaps() {
    let bars = [daily_bar_timestamp(d(2024, 1, 2)).0, daily_bar_timestamp(d(2024, 6, 3)).0];
    for tf in [Timeframe::Min5, Timeframe::Min15, Timeframe::Hour1, Timeframe::Week1, Timeframe::Month1] {
        assert_eq!(missing_sessions(&bars, tf), GapReport::default(), "{tf}");
    }
    assert!(missing_sessions(&bars, Timeframe::Day1).missing > 100);
}

/// A date in the cached range 1990–2100, or a few years either side of it.
fn any_date() -> impl proptest::strategy::Strategy<Value = NaiveDate> {
    (0u64..42_000).prop_map(|n| d(1988, 1, 1) + chrono::Days::new(n))
}

proptest::proptest! {
    #[test]
    fn next_and_previous_are_the_nearest_trading_days(date in any_date()) {
        let next = next_trading_day(date);
        let prev = previous_trading_day(date);
        proptest::prop_assert!(prev < date && date < next);
        proptest::prop_assert!(is_trading_day(next) && is_trading_day(prev));
        let between = trading_days(prev.succ_opt().unwrap(), next.pred_opt().unwrap());
        let expected = if is_trading_day(date) { vec![date] } else { vec![] };
        proptest::prop_assert_eq!(between, expected);
    }

    #[test]
    fn sessions_are_consistent_with_the_day_kind(date in any_date()) {
        match session(date) {
            Some(s) => {
                proptest::prop_assert!(is_trading_day(date) && holiday_name(date).is_none());
                proptest::prop_assert_eq!(session_date(s.open), date);
                proptest::prop_assert_eq!(session_date(s.close), date);
                let close = to_new_york(s.close).time();
                proptest::prop_assert_eq!(s.early_close, close < chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap());
                proptest::prop_assert_eq!(minutes_since_open(s.open), Some(0));
                let last = Timestamp(s.close.0 - 1);
                proptest::prop_assert_eq!(minutes_since_open(last), Some(s.minutes() - 1));
                proptest::prop_assert!(!is_open(s.close) && !is_open(Timestamp(s.open.0 - 1)));
            }
            None => proptest::prop_assert!(!is_trading_day(date)),
        }
        let midnight = daily_bar_timestamp(date);
        proptest::prop_assert_eq!(session_date(midnight), date);
        proptest::prop_assert_eq!(session_date(Timestamp(midnight.0 - 1)), date.pred_opt().unwrap());
    }
}

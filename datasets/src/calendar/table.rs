//! A lazily built, process-wide table of [`DayKind`] for every date in the supported range,
//! so look-ups cost an index instead of a rule evaluation.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};

use super::rules::{DayKind, YearRules};

/// First year held in the table.
const FIRST_YEAR: i32 = 1990;
/// Last year held in the table.
const LAST_YEAR: i32 = 2100;

fn jan_1(year: i32) -> NaiveDate {
    NaiveDate::from_yo_opt(year, 1).expect("January 1 exists")
}

/// One entry per day from January 1 of [`FIRST_YEAR`] to December 31 of [`LAST_YEAR`].
fn table() -> &'static [DayKind] {
    static TABLE: OnceLock<Vec<DayKind>> = OnceLock::new();
    TABLE.get_or_init(|| (FIRST_YEAR..=LAST_YEAR).flat_map(YearRules::kinds_of_year).collect())
}

/// Every day of `year`, January 1 first: borrowed from the table inside the supported
/// range, evaluated from the rules outside it.
fn year_kinds(year: i32) -> Cow<'static, [DayKind]> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
        let start = (jan_1(year) - jan_1(FIRST_YEAR)).num_days() as usize;
        let end = (jan_1(year + 1) - jan_1(FIRST_YEAR)).num_days() as usize;
        Cow::Borrowed(&table()[start..end])
    } else {
        Cow::Owned(YearRules::kinds_of_year(year))
    }
}

/// What the exchange does on `date`.
pub(super) fn day_kind(date: NaiveDate) -> DayKind {
    if (FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        table()[(date - jan_1(FIRST_YEAR)).num_days() as usize]
    } else {
        YearRules::new(date.year()).kind(date)
    }
}

/// Every date from `first` to `last` inclusive with its kind, evaluating the rules at most
/// once per year (empty when `first > last`).
pub(super) fn days(first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = (NaiveDate, DayKind)> {
    (first.year()..=last.year()).filter(move |_| first <= last).flat_map(move |year| {
        let kinds = year_kinds(year);
        let from = if year == first.year() { first.ordinal0() } else { 0 };
        let to = if year == last.year() { last.ordinal0() } else { kinds.len() as u32 - 1 };
        (from..=to).map(move |i| {
            let date = NaiveDate::from_yo_opt(year, i + 1).expect("day of a year with that many days");
            (date, kinds[i as usize])
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_day_of_the_range_and_agrees_with_the_rules() {
        let days_in_range = (jan_1(LAST_YEAR + 1) - jan_1(FIRST_YEAR)).num_days();
        assert_eq!(days_in_range, 40_542);
        assert_eq!(table().len() as i64, days_in_range);
        let last = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap();
        for date in [jan_1(FIRST_YEAR), last, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()] {
            assert_eq!(day_kind(date), YearRules::new(date.year()).kind(date));
        }
    }

    #[test]
    fn days_walks_across_years_and_the_table_edge() {
        let first = NaiveDate::from_ymd_opt(2100, 12, 30).unwrap();
        let last = NaiveDate::from_ymd_opt(2101, 1, 2).unwrap();
        let walked: Vec<_> = days(first, last).collect();
        let expected: Vec<_> = first.iter_days().take(4).map(|d| (d, day_kind(d))).collect();
        assert_eq!(walked, expected);
        assert_eq!(days(last, first).count(), 0);
        assert_eq!(days(first, first).count(), 1);
    }

    proptest::proptest! {
        #[test]
        fn cached_and_computed_kinds_agree(offset in 0u64..40_542) {
            let date = jan_1(FIRST_YEAR) + chrono::Days::new(offset);
            proptest::prop_assert_eq!(day_kind(date), YearRules::new(date.year()).kind(date));
        }
    }
}

//! A lazily built, process-wide table of [`DayKind`] for every date in the supported range,
//! so look-ups cost an index instead of a rule evaluation.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};

use super::rules::{DayKind, YearRules};

/// First year held in the table.
pub(super) const FIRST_YEAR: i32 = 1990;
/// Last year held in the table.
pub(super) const LAST_YEAR: i32 = 2100;

/// One entry per day from January 1 of [`FIRST_YEAR`] to December 31 of [`LAST_YEAR`].
fn table() -> &'static [DayKind] {
    static TABLE: OnceLock<Vec<DayKind>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut days = Vec::with_capacity(366 * (LAST_YEAR - FIRST_YEAR + 1) as usize);
        for year in FIRST_YEAR..=LAST_YEAR {
            let rules = YearRules::new(year);
            let first = NaiveDate::from_yo_opt(year, 1).expect("January 1 exists");
            days.extend(first.iter_days().take_while(|d| d.year() == year).map(|d| rules.kind(d)));
        }
        days
    })
}

fn table_start() -> NaiveDate {
    NaiveDate::from_yo_opt(FIRST_YEAR, 1).expect("January 1 exists")
}

/// What the exchange does on `date`: from the table inside the supported years, from the
/// same rules evaluated on the spot outside them.
pub(super) fn day_kind(date: NaiveDate) -> DayKind {
    let index = usize::try_from((date - table_start()).num_days()).ok();
    match index.and_then(|i| table().get(i)) {
        Some(&kind) => kind,
        None => YearRules::new(date.year()).kind(date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_day_of_the_range_and_agrees_with_the_rules() {
        let days = table();
        let last = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap();
        assert_eq!(days.len() as i64, (last - table_start()).num_days() + 1);
        assert_eq!(days.len(), 40_542);
        for date in [table_start(), last, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()] {
            assert_eq!(day_kind(date), YearRules::new(date.year()).kind(date));
        }
    }
}

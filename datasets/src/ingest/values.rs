//! Field-value parsers shared by the CSV and JSON readers, with located errors.

use chrono_tz::Tz;

use super::IngestError;
use super::timestamp::parse_timestamp;

/// Where a value came from, for error messages.
#[derive(Clone, Copy)]
pub(super) struct Site<'a> {
    /// File name as given by the caller.
    pub file: &'a str,
    /// 1-based line.
    pub line: usize,
}

impl Site<'_> {
    /// A [`IngestError::Parse`] for `value` in `field`.
    fn parse_error(self, field: &'static str, value: &str, expected: &'static str) -> IngestError {
        IngestError::Parse {
            file: self.file.to_string(),
            line: self.line,
            field,
            value: shorten(value),
            expected,
        }
    }

    /// A floating-point field (prices, volume, vwap); non-finite values pass here and are
    /// rejected by [`crate::Bars::push`] with the field named.
    pub fn number(self, field: &'static str, value: &str) -> Result<f64, IngestError> {
        value.parse().map_err(|_| self.parse_error(field, value, "a number"))
    }

    /// A trade count: a non-negative integer, also accepted as an integral float (`123.0`,
    /// as pandas writes integer columns that had gaps).
    pub fn count(self, field: &'static str, value: &str) -> Result<u64, IngestError> {
        value
            .parse()
            .ok()
            .or_else(|| {
                let x: f64 = value.parse().ok()?;
                // `as` is exact here: x is integral and within u64's range.
                (x.fract() == 0.0 && (0.0..1.8e19).contains(&x)).then_some(x as u64)
            })
            .ok_or_else(|| self.parse_error(field, value, "a non-negative integer"))
    }

    /// A timestamp, by the rules on [`crate::ingest`].
    pub fn timestamp(self, value: &str, tz: Option<Tz>, prev: Option<i64>) -> Result<i64, IngestError> {
        parse_timestamp(value, tz, prev).map_err(|problem| IngestError::Timestamp {
            file: self.file.to_string(),
            line: self.line,
            value: shorten(value),
            problem,
        })
    }

    /// A symbol, checked by [`crate::symbol::validate_symbol`].
    pub fn symbol(self, value: &str) -> Result<&str, IngestError> {
        crate::symbol::validate_symbol(value).map_err(|error| IngestError::InvalidSymbol {
            file: self.file.to_string(),
            line: Some(self.line),
            symbol: value.to_string(),
            error,
        })?;
        Ok(value)
    }
}

/// `value` as an error message shows it: at most 64 bytes, so a megabyte-long field does
/// not become a megabyte-long message.
fn shorten(value: &str) -> String {
    const SHOWN: usize = 64;
    if value.len() <= SHOWN {
        return value.to_string();
    }
    let end = (0..=SHOWN).rev().find(|&i| value.is_char_boundary(i)).unwrap_or(0);
    format!("{}… ({} bytes)", &value[..end], value.len())
}

//! The ingest error type: every variant names the file and, where there is one, the line
//! (1-based, as an editor shows it) and the field.

use std::io;

use super::timeframe::InferTimeframeError;
use super::timestamp::TimestampProblem;
use crate::bars::BarsError;
use crate::time::UnknownTimeframe;

/// Why a file could not be turned into validated bars.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// File name as given.
        file: String,
        /// The operating-system error.
        source: io::Error,
    },
    /// The bytes are not UTF-8 text.
    #[error("{file}:{line}: not valid UTF-8 text")]
    NotUtf8 {
        /// File name as given.
        file: String,
        /// Line of the first invalid byte.
        line: usize,
    },
    /// The file holds no bars (empty, header only, or an empty `bars` list).
    #[error("{file}: no bars")]
    Empty {
        /// File name as given.
        file: String,
    },
    /// The CSV header lacks a column every bar needs.
    #[error("{file}:{line}: missing required column `{column}`")]
    MissingColumn {
        /// File name as given.
        file: String,
        /// Line of the header.
        line: usize,
        /// Canonical name of the missing column.
        column: &'static str,
    },
    /// Two header names map to the same column (e.g. `Date` and `Timestamp`).
    #[error("{file}:{line}: column `{column}` appears more than once in the header")]
    DuplicateColumn {
        /// File name as given.
        file: String,
        /// Line of the header.
        line: usize,
        /// Canonical name of the repeated column.
        column: &'static str,
    },
    /// A CSV row whose field count differs from the header's.
    #[error("{file}:{line}: row has {found} fields but the header has {expected}")]
    FieldCount {
        /// File name as given.
        file: String,
        /// Line of the row.
        line: usize,
        /// Fields in the row.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A JSON bar object without a required key.
    #[error("{file}:{line}: field `{field}`: missing key `{key}`")]
    MissingField {
        /// File name as given.
        file: String,
        /// Line where the bar object starts.
        line: usize,
        /// Canonical field name.
        field: &'static str,
        /// The JSON key that was expected.
        key: &'static str,
    },
    /// A number (or symbol) that cannot be parsed.
    #[error("{file}:{line}: field `{field}`: cannot parse `{value}` as {expected}")]
    Parse {
        /// File name as given.
        file: String,
        /// Line of the value.
        line: usize,
        /// Canonical field name.
        field: &'static str,
        /// The text found.
        value: String,
        /// What was expected, e.g. "a number".
        expected: &'static str,
    },
    /// A timestamp that cannot be turned into a UTC instant.
    #[error("{file}:{line}: field `timestamp`: `{value}` {problem}")]
    Timestamp {
        /// File name as given.
        file: String,
        /// Line of the value.
        line: usize,
        /// The text found.
        value: String,
        /// What is wrong with it.
        problem: TimestampProblem,
    },
    /// A bar that breaks a [`crate::Bars`] invariant (OHLC range, volume, order, finiteness).
    #[error("{file}:{line}: field `{}`: {}", .error.field(), describe(.error))]
    InvalidBar {
        /// File name as given.
        file: String,
        /// Line of the bar.
        line: usize,
        /// The invariant broken (its `index` counts bars within the symbol's series).
        error: BarsError,
    },
    /// Malformed JSON or a JSON value of the wrong shape.
    #[error("{file}:{line}:{column}: {message}")]
    Json {
        /// File name as given.
        file: String,
        /// Line of the problem.
        line: usize,
        /// Column of the problem (1-based; 0 when unknown).
        column: usize,
        /// serde_json's description, without its own position.
        message: String,
    },
    /// No timeframe was given and none could be inferred from the bar spacing.
    #[error("{file}: {error}; pass the timeframe explicitly")]
    Timeframe {
        /// File name as given.
        file: String,
        /// Why inference failed.
        error: InferTimeframeError,
    },
    /// A timeframe name that is not one of the supported ones (from a caller's option string).
    #[error(transparent)]
    UnknownTimeframe(#[from] UnknownTimeframe),
    /// A caller-given symbol for a file that holds several symbols.
    #[error("{file}: holds {count} symbols, so the symbol option `{symbol}` cannot name it")]
    SymbolConflict {
        /// File name as given.
        file: String,
        /// The caller's symbol.
        symbol: String,
        /// How many symbols the file holds.
        count: usize,
    },
    /// A symbol (from the data, a JSON key, the caller or the file name) that is not a valid
    /// name; see [`crate::symbol`].
    #[error("{file}{}: symbol {}: {error}", line.map(|l| format!(":{l}")).unwrap_or_default(), crate::symbol::quoted_for_error(symbol))]
    InvalidSymbol {
        /// File name as given.
        file: String,
        /// Line of the value, for a CSV symbol column.
        line: Option<usize>,
        /// The rejected symbol.
        symbol: String,
        /// Why.
        error: crate::symbol::SymbolError,
    },
    /// A CSV line longer than any bar row can be: refused before it is split.
    #[error("{file}:{line}: line is {bytes} bytes long; a bar row is at most {max} bytes")]
    LineTooLong {
        /// File name as given.
        file: String,
        /// The line.
        line: usize,
        /// Its length.
        bytes: usize,
        /// The limit, [`super::MAX_LINE_BYTES`].
        max: usize,
    },
    /// The file ends inside a row (no newline after the last line, and the line does not end
    /// cleanly): the file looks truncated, and the row's last value may be cut short.
    #[error(
        "{file}:{line}: the file ends in the middle of this row (no newline after it), so it looks \
         truncated and its last value may be cut short; if the row is complete, end the file with a newline"
    )]
    Truncated {
        /// File name as given.
        file: String,
        /// The unterminated last line.
        line: usize,
    },
    /// No symbol option, no symbol in the data and no usable file name.
    #[error("{file}: no symbol in the data or the file name; pass one explicitly")]
    NoSymbol {
        /// File name as given.
        file: String,
    },
}

/// The problem in words, without [`BarsError`]'s bar index (the line replaces it).
fn describe(error: &BarsError) -> String {
    match error {
        BarsError::NotFinite { .. } => "not a finite number".to_string(),
        BarsError::NonPositivePrice { field, value, .. } => {
            format!("{field} {value} is not a positive price")
        }
        BarsError::HighBelowLow { high, low, .. } => format!("high {high} is below low {low}"),
        BarsError::OutsideRange { field, value, low, high, .. } => {
            format!("{field} {value} is outside [low {low}, high {high}]")
        }
        BarsError::NegativeVolume { volume, .. } => format!("volume {volume} is negative"),
        BarsError::NotIncreasing { prev, ts, .. } if prev == ts => {
            format!("duplicate timestamp {ts}")
        }
        BarsError::NotIncreasing { prev, ts, .. } => {
            format!("timestamp {ts} is not after the previous bar's {prev}")
        }
        BarsError::OptionalFieldMismatch { .. } => "must be given on every bar or on none".to_string(),
    }
}

/// 1-based line number of byte `offset` in `data`.
pub(super) fn line_of(data: &[u8], offset: usize) -> usize {
    1 + data[..offset.min(data.len())].iter().filter(|&&b| b == b'\n').count()
}

//! CSV and Alpaca-JSON ingest: files in, validated [`Bars`] per symbol out.
//!
//! The shape is detected from the first non-space character (after a UTF-8 BOM):
//! `{` or `[` is Alpaca v2 bars JSON, anything else is CSV with a header line.
//!
//! * CSV, Yahoo / backtesting.py: `,Open,High,Low,Close,Volume` (first column unnamed or
//!   `Date`/`Datetime`/`Timestamp`); `Adj Close` and unknown columns are ignored.
//! * CSV, `timestamp,open,high,low,close,volume[,vwap][,trade_count][,symbol]` in any order.
//!   With a `symbol` column one file may hold many symbols, interleaved, each in time order.
//!   Column names are case-insensitive; `o,h,l,c,v,vw,n,t` and `trades`, `ticker` also work.
//! * JSON: `{"bars":[...],"symbol":"AAPL"}`, `{"bars":{"AAPL":[...],...}}` or a bare `[...]`
//!   of bar objects with keys `t,o,h,l,c,v[,vw][,n]`; other keys are ignored.
//!
//! Timestamp rules:
//! * a date alone (`2004-08-19`) is that session date, stamped 00:00 America/New_York in UTC
//!   (the daily-bar convention: `2021-01-15` → `05:00Z`, `2021-07-15` → `04:00Z`), whatever
//!   [`ImportOptions::tz`] says;
//! * a naive date-time (`2017-04-19 09:00:00`, `2017-04-19T09:00`) is UTC, or local time in
//!   [`ImportOptions::tz`] when given (a time repeated by a DST fall-back resolves to the
//!   instant after the previous bar; a time skipped by spring-forward is an error);
//! * RFC 3339 with `Z` or an offset (`+05:30`, `+0530`, `+05`) is honoured, up to 9
//!   fractional-second digits;
//! * an integer is an epoch in seconds (below 1e11), milliseconds (below 1e14), microseconds
//!   (below 1e17) or nanoseconds; below 1e8 it is rejected as ambiguous (`20040819`).
//!
//! Symbol: [`ImportOptions::symbol`], else the `symbol` column / Alpaca key, else the file
//! stem upper-cased (`GOOG.csv` → `GOOG`); whatever its source, it must pass
//! [`crate::symbol::validate_symbol`].
//!
//! Robustness: a CSV line longer than [`MAX_LINE_BYTES`] is refused before it is split, and a
//! CSV whose last line has no newline is accepted only if that line ends cleanly (in a closing
//! quote); otherwise the file looks truncated mid-value and is refused naming the line. Timeframe: [`ImportOptions::timeframe`], else
//! inferred by [`infer_timeframe`] from the longest series (one timeframe per file).

mod alpaca;
mod csv;
mod error;
mod timeframe;
mod timestamp;
mod values;
mod write;

use std::path::Path;

use chrono_tz::Tz;

pub use alpaca::{AlpacaPage, parse_alpaca_page};
pub use error::IngestError;
pub use timeframe::{InferTimeframeError, infer_timeframe};
pub use timestamp::TimestampProblem;
pub use write::write_csv;

use crate::bars::Bars;
use crate::time::Timeframe;

/// Longest CSV line accepted: far more than any bar row (nine short fields) or header needs.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What the caller knows about a file; every field overrides what ingest would work out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOptions {
    /// Symbol for a single-series file (an error for a file holding several symbols).
    pub symbol: Option<String>,
    /// Bar timeframe; inferred from the bar spacing when `None`.
    pub timeframe: Option<Timeframe>,
    /// Zone of naive date-times in the file; UTC when `None`. Dates alone ignore it.
    pub tz: Option<Tz>,
}

/// One symbol's validated bars from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedSeries {
    /// The resolved symbol.
    pub symbol: String,
    /// The given or inferred timeframe.
    pub timeframe: Timeframe,
    /// The bars, oldest first, every invariant checked.
    pub bars: Bars,
}

/// A series as a reader produced it, before symbol and timeframe are resolved.
struct Collected {
    symbol: Option<String>,
    bars: Bars,
}

/// Reads and parses one file; errors name the path as given.
pub fn read_file(path: &Path, opts: &ImportOptions) -> Result<Vec<ParsedSeries>, IngestError> {
    let name = path.display().to_string();
    let data = std::fs::read(path).map_err(|source| IngestError::Io { file: name.clone(), source })?;
    parse_bytes(&name, &data, opts)
}

/// Parses a file's bytes; `name` is used in error messages and, via its stem, as the
/// fallback symbol. Series come out in order of first appearance in the file.
pub fn parse_bytes(name: &str, data: &[u8], opts: &ImportOptions) -> Result<Vec<ParsedSeries>, IngestError> {
    let text = std::str::from_utf8(data).map_err(|e| IngestError::NotUtf8 {
        file: name.to_string(),
        line: error::line_of(data, e.valid_up_to()),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let collected = match text.trim_ascii_start().as_bytes().first() {
        Some(b'{' | b'[') => alpaca::parse_json(name, text, opts.tz)?,
        _ => csv::parse_csv(name, text, opts.tz)?,
    };
    resolve(name, collected, opts)
}

/// Drops empty series and settles each series' symbol and the file's timeframe.
fn resolve(
    file: &str,
    mut collected: Vec<Collected>,
    opts: &ImportOptions,
) -> Result<Vec<ParsedSeries>, IngestError> {
    collected.retain(|c| !c.bars.is_empty());
    let Some(longest) = collected.iter().reduce(|a, b| if b.bars.len() > a.bars.len() { b } else { a })
    else {
        return Err(IngestError::Empty { file: file.to_string() });
    };
    if let (Some(symbol), count @ 2..) = (&opts.symbol, collected.len()) {
        return Err(IngestError::SymbolConflict { file: file.to_string(), symbol: symbol.clone(), count });
    }
    let timeframe = match opts.timeframe {
        Some(tf) => tf,
        None => infer_timeframe(longest.bars.timestamps())
            .map_err(|error| IngestError::Timeframe { file: file.to_string(), error })?,
    };
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).filter(|s| !s.is_empty());
    collected
        .into_iter()
        .map(|c| {
            let symbol = opts
                .symbol
                .clone()
                .or(c.symbol)
                .or_else(|| stem.map(str::to_uppercase))
                .ok_or_else(|| IngestError::NoSymbol { file: file.to_string() })?;
            crate::symbol::validate_symbol(&symbol).map_err(|error| IngestError::InvalidSymbol {
                file: file.to_string(),
                line: None,
                symbol: symbol.clone(),
                error,
            })?;
            Ok(ParsedSeries { symbol, timeframe, bars: c.bars })
        })
        .collect()
}

#[cfg(test)]
mod tests;

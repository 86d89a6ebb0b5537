//! Alpaca market-data v2 bars JSON: `{"bars":[...],"symbol":"AAPL"}`, the multi-symbol
//! `{"bars":{"AAPL":[...],"MSFT":[...]}}`, and a bare `[...]` list of bar objects.
//!
//! Each bar is kept as a borrowed raw slice of the input, so errors can name the line where
//! the offending bar object starts; unknown keys are ignored.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::line_of;
use super::values::Site;
use super::{Collected, IngestError};
use crate::bars::{Bar, Bars};
use crate::time::Timestamp;

/// One page of `GET /v2/stocks/bars` (or `/v2/stocks/{symbol}/bars`).
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    bars: &'a RawValue,
    symbol: Option<String>,
}

/// One bar object, each value still raw so that its own text appears in errors.
#[derive(Deserialize)]
struct RawBar<'a> {
    #[serde(borrow)]
    t: Option<&'a RawValue>,
    #[serde(borrow)]
    o: Option<&'a RawValue>,
    #[serde(borrow)]
    h: Option<&'a RawValue>,
    #[serde(borrow)]
    l: Option<&'a RawValue>,
    #[serde(borrow)]
    c: Option<&'a RawValue>,
    #[serde(borrow)]
    v: Option<&'a RawValue>,
    #[serde(borrow)]
    n: Option<&'a RawValue>,
    #[serde(borrow)]
    vw: Option<&'a RawValue>,
}

/// The whole document, for turning sub-slice positions into file lines.
struct Doc<'a> {
    file: &'a str,
    text: &'a str,
}

impl<'a> Doc<'a> {
    /// Byte offset of `part`, a slice of `self.text`.
    fn offset(&self, part: &str) -> usize {
        part.as_ptr() as usize - self.text.as_ptr() as usize
    }

    /// Deserializes `part` (a slice of the document), locating errors in the whole file.
    fn decode<T: Deserialize<'a>>(&self, part: &'a str) -> Result<T, IngestError> {
        serde_json::from_str(part).map_err(|e| {
            let base = self.offset(part);
            let line = line_of(self.text.as_bytes(), base) + e.line().saturating_sub(1);
            let column = if e.line() > 1 {
                e.column()
            } else {
                let line_start = self.text[..base].rfind('\n').map_or(0, |i| i + 1);
                base - line_start + e.column()
            };
            // serde_json appends its own (sub-slice relative) position; drop it.
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) if e.line() > 0 => message[..cut].to_string(),
                _ => message,
            };
            IngestError::Json { file: self.file.to_string(), line, column, message }
        })
    }

    fn json_error(&self, part: &str, message: &str) -> IngestError {
        IngestError::Json {
            file: self.file.to_string(),
            line: line_of(self.text.as_bytes(), self.offset(part)),
            column: 0,
            message: message.to_string(),
        }
    }
}

/// Counts lines forward through the document as bars are visited in document order.
struct LineCursor {
    offset: usize,
    line: usize,
}

impl LineCursor {
    fn advance(&mut self, text: &str, offset: usize) -> usize {
        let newlines = text.as_bytes()[self.offset..offset].iter().filter(|&&b| b == b'\n').count();
        self.line += newlines;
        self.offset = offset;
        self.line
    }
}

/// Parses Alpaca bars JSON (BOM already stripped) into one series per symbol, in document order.
pub(super) fn parse_json(file: &str, text: &str, tz: Option<Tz>) -> Result<Vec<Collected>, IngestError> {
    let doc = Doc { file, text };
    let (symbol, body) = if text.trim_ascii_start().starts_with('[') {
        (None, text)
    } else {
        let page: Page = doc.decode(text)?;
        (page.symbol, page.bars.get())
    };
    let mut lists: Vec<(Option<String>, Vec<&RawValue>)> = match body.as_bytes().first() {
        Some(b'[') => vec![(symbol, doc.decode(body)?)],
        Some(b'{') => {
            let map: BTreeMap<String, Vec<&RawValue>> = doc.decode(body)?;
            map.into_iter().map(|(symbol, list)| (Some(symbol), list)).collect()
        }
        _ if body == "null" => Vec::new(),
        _ => return Err(doc.json_error(body, "`bars` must be a list, an object of lists, or null")),
    };
    lists.retain(|(_, list)| !list.is_empty());
    lists.sort_by_key(|(_, list)| doc.offset(list[0].get()));
    let mut cursor = LineCursor { offset: 0, line: 1 };
    lists
        .into_iter()
        .map(|(symbol, list)| {
            let mut bars = Bars::with_capacity(list.len());
            for raw in list {
                let line = cursor.advance(text, doc.offset(raw.get()));
                let bar = read_bar(&doc, Site { file, line }, raw, &bars, tz)?;
                bars.push(bar).map_err(|error| IngestError::InvalidBar {
                    file: file.to_string(),
                    line,
                    error,
                })?;
            }
            Ok(Collected { symbol, bars })
        })
        .collect()
}

/// Reads one bar object; `bars` is the series so far (for DST disambiguation).
fn read_bar<'a>(
    doc: &Doc<'a>,
    site: Site<'_>,
    raw: &'a RawValue,
    bars: &Bars,
    tz: Option<Tz>,
) -> Result<Bar, IngestError> {
    let fields: RawBar<'a> = doc.decode(raw.get())?;
    let need = |value: Option<&'a RawValue>, field: &'static str, key: &'static str| {
        value.map(RawValue::get).ok_or_else(|| IngestError::MissingField {
            file: site.file.to_string(),
            line: site.line,
            field,
            key,
        })
    };
    let t = need(fields.t, "timestamp", "t")?;
    let t = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(t);
    Ok(Bar {
        ts: Timestamp(site.timestamp(t, tz, bars.timestamps().last().copied())?),
        open: site.number("open", need(fields.o, "open", "o")?)?,
        high: site.number("high", need(fields.h, "high", "h")?)?,
        low: site.number("low", need(fields.l, "low", "l")?)?,
        close: site.number("close", need(fields.c, "close", "c")?)?,
        volume: site.number("volume", need(fields.v, "volume", "v")?)?,
        vwap: fields.vw.map(|r| site.number("vwap", r.get())).transpose()?,
        trade_count: fields.n.map(|r| site.count("trade_count", r.get())).transpose()?,
    })
}

//! Alpaca market-data bars JSON: `{"bars":[...],"symbol":"AAPL"}`, the multi-symbol
//! `{"bars":{"AAPL":[...],"MSFT":[...]}}` (stocks v2 and crypto v1beta3 alike), the latest-bar
//! `{"bars":{"AAPL":{...}}}`, and a bare `[...]` list of bar objects; `next_page_token` is read.
//!
//! This is the one parser of Alpaca bars in the workspace: file import and the live bridge's
//! data client both call it ([`parse_alpaca_page`]). Each bar is kept as a borrowed raw slice of
//! the input, so errors can name the line where the offending bar object starts; unknown keys
//! are ignored.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::line_of;
use super::values::Site;
use super::{Collected, IngestError};
use crate::bars::{Bar, Bars};
use crate::time::Timestamp;

/// One page of `GET /v2/stocks/bars` (or `/v2/stocks/{symbol}/bars`, `/v1beta3/crypto/us/bars`).
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    bars: &'a RawValue,
    symbol: Option<String>,
    next_page_token: Option<String>,
}

/// One page of Alpaca bars, every bar validated.
#[derive(Clone, Debug, PartialEq)]
pub struct AlpacaPage {
    /// Each symbol's bars in document order (`None` for a bare list or a page without `symbol`).
    pub series: Vec<(Option<String>, Bars)>,
    /// The token for the next page; `None` (or absent, or empty) on the last page.
    pub next_page_token: Option<String>,
}

/// Parses one Alpaca bars document (a page of the data API or a saved file); `name` labels
/// errors (a file name, or the request). Empty symbols' lists are dropped; `"bars": null` is a
/// page without bars.
pub fn parse_alpaca_page(name: &str, data: &[u8]) -> Result<AlpacaPage, IngestError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| IngestError::NotUtf8 { file: name.to_string(), line: line_of(data, e.valid_up_to()) })?;
    parse_page(name, text.strip_prefix('\u{feff}').unwrap_or(text), None)
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
    let page = parse_page(file, text, tz)?;
    Ok(page.series.into_iter().map(|(symbol, bars)| Collected { symbol, bars }).collect())
}

/// The parser behind [`parse_json`] and [`parse_alpaca_page`].
fn parse_page(file: &str, text: &str, tz: Option<Tz>) -> Result<AlpacaPage, IngestError> {
    let doc = Doc { file, text };
    let (symbol, body, next_page_token) = if text.trim_ascii_start().starts_with('[') {
        (None, text, None)
    } else {
        let page: Page = doc.decode(text)?;
        (page.symbol, page.bars.get(), page.next_page_token.filter(|t| !t.is_empty()))
    };
    let mut lists: Vec<(Option<String>, Vec<&RawValue>)> = match body.as_bytes().first() {
        Some(b'[') => vec![(symbol, doc.decode(body)?)],
        Some(b'{') => {
            // A list per symbol (historical bars), or one bar object per symbol (latest bars).
            let map: BTreeMap<String, &RawValue> = doc.decode(body)?;
            let mut lists = Vec::with_capacity(map.len());
            for (symbol, value) in map {
                let list = match value.get().as_bytes().first() {
                    Some(b'[') => doc.decode(value.get())?,
                    Some(b'{') => vec![value],
                    _ => {
                        return Err(
                            doc.json_error(value.get(), "a symbol's bars must be a list or a bar object")
                        );
                    }
                };
                lists.push((Some(symbol), list));
            }
            lists
        }
        _ if body == "null" => Vec::new(),
        _ => return Err(doc.json_error(body, "`bars` must be a list, an object of lists, or null")),
    };
    lists.retain(|(_, list)| !list.is_empty());
    lists.sort_by_key(|(_, list)| doc.offset(list[0].get()));
    let mut cursor = LineCursor { offset: 0, line: 1 };
    let series = lists
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
            Ok((symbol, bars))
        })
        .collect::<Result<_, IngestError>>()?;
    Ok(AlpacaPage { series, next_page_token })
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

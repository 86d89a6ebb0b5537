//! Comma-separated bars: the Yahoo / backtesting.py shape (`,Open,High,Low,Close,Volume`)
//! and `timestamp,open,high,low,close,volume[,vwap][,trade_count][,symbol]` in any order.
//!
//! Lines are split on bytes with no per-row allocation. Fields are trimmed and may be
//! wrapped in double quotes, but quoted fields may not contain commas (no OHLCV source
//! writes them).

use std::collections::HashMap;

use chrono_tz::Tz;

use super::values::Site;
use super::{Collected, IngestError};
use crate::bars::{Bar, Bars};
use crate::time::Timestamp;

/// The columns ingest understands, in canonical-name order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Timestamp,
    Open,
    High,
    Low,
    Close,
    Volume,
    Vwap,
    TradeCount,
    Symbol,
}

impl Column {
    const REQUIRED: [Column; 6] =
        [Column::Timestamp, Column::Open, Column::High, Column::Low, Column::Close, Column::Volume];

    /// The canonical name, used in error messages.
    fn name(self) -> &'static str {
        match self {
            Column::Timestamp => "timestamp",
            Column::Open => "open",
            Column::High => "high",
            Column::Low => "low",
            Column::Close => "close",
            Column::Volume => "volume",
            Column::Vwap => "vwap",
            Column::TradeCount => "trade_count",
            Column::Symbol => "symbol",
        }
    }

    /// Maps a header name (case-insensitive) to a column; `None` for ignored columns such as
    /// `Adj Close`. An unnamed first column is the index pandas writes: the timestamp.
    fn from_header(name: &str, position: usize) -> Option<Column> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "" if position == 0 => Column::Timestamp,
            "timestamp" | "date" | "datetime" | "time" | "t" => Column::Timestamp,
            "open" | "o" => Column::Open,
            "high" | "h" => Column::High,
            "low" | "l" => Column::Low,
            "close" | "c" => Column::Close,
            "volume" | "v" => Column::Volume,
            "vwap" | "vw" => Column::Vwap,
            "trade_count" | "trades" | "n" => Column::TradeCount,
            "symbol" | "ticker" => Column::Symbol,
            _ => return None,
        })
    }
}

/// Field positions of each column in a row.
struct Layout {
    width: usize,
    ts: usize,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: usize,
    vwap: Option<usize>,
    trade_count: Option<usize>,
    symbol: Option<usize>,
}

impl Layout {
    fn from_header(site: Site<'_>, header: &str) -> Result<Layout, IngestError> {
        let mut slots = [None; 9];
        let mut width = 0;
        for (position, name) in header.split(',').map(clean).enumerate() {
            width += 1;
            let Some(column) = Column::from_header(name, position) else { continue };
            if slots[column as usize].replace(position).is_some() {
                let (file, line) = (site.file.to_string(), site.line);
                return Err(IngestError::DuplicateColumn { file, line, column: column.name() });
            }
        }
        let required = |column: Column| {
            slots[column as usize].ok_or_else(|| IngestError::MissingColumn {
                file: site.file.to_string(),
                line: site.line,
                column: column.name(),
            })
        };
        let [ts, open, high, low, close, volume] = Column::REQUIRED.map(required);
        Ok(Layout {
            width,
            ts: ts?,
            open: open?,
            high: high?,
            low: low?,
            close: close?,
            volume: volume?,
            vwap: slots[Column::Vwap as usize],
            trade_count: slots[Column::TradeCount as usize],
            symbol: slots[Column::Symbol as usize],
        })
    }
}

/// Trims ASCII whitespace and one pair of surrounding double quotes.
fn clean(field: &str) -> &str {
    let field = field.trim_ascii();
    field.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(field)
}

/// Where each row's bar goes: the single series, or one per value of the symbol column.
struct Sink<'a> {
    series: Vec<Collected>,
    by_symbol: HashMap<&'a str, usize>,
    last: Option<(&'a str, usize)>,
}

impl<'a> Sink<'a> {
    fn slot(&mut self, symbol: Option<&'a str>) -> usize {
        let Some(symbol) = symbol else {
            if self.series.is_empty() {
                self.series.push(Collected { symbol: None, bars: Bars::default() });
            }
            return 0;
        };
        if let Some((last, slot)) = self.last
            && last == symbol
        {
            return slot;
        }
        let next = self.series.len();
        let slot = *self.by_symbol.entry(symbol).or_insert(next);
        if slot == next {
            self.series.push(Collected { symbol: Some(symbol.to_string()), bars: Bars::default() });
        }
        self.last = Some((symbol, slot));
        slot
    }
}

/// Parses CSV text (BOM already stripped) into one series per symbol, in order of first appearance.
pub(super) fn parse_csv(file: &str, text: &str, tz: Option<Tz>) -> Result<Vec<Collected>, IngestError> {
    let last = text.split('\n').count();
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .map(|(line, row)| {
            if row.len() > super::MAX_LINE_BYTES {
                let (file, bytes, max) = (file.to_string(), row.len(), super::MAX_LINE_BYTES);
                return Err(IngestError::LineTooLong { file, line, bytes, max });
            }
            Ok((line, row))
        });
    let Some((header_line, header)) = lines.next().transpose()? else {
        return Err(IngestError::Empty { file: file.to_string() });
    };
    let layout = Layout::from_header(Site { file, line: header_line }, header)?;
    let mut sink = Sink { series: Vec::new(), by_symbol: HashMap::new(), last: None };
    let mut fields: Vec<&str> = Vec::with_capacity(layout.width);
    for next in lines {
        let (line, row) = next?;
        // The last piece of the split has no newline after it: the file ends there. Only a
        // row that ends in a closing quote is known to be whole; anything else may be a value
        // cut short by truncation (`2336` of `2336500`).
        if line == last && !row.trim_ascii_end().ends_with('"') {
            return Err(IngestError::Truncated { file: file.to_string(), line });
        }
        let site = Site { file, line };
        fields.clear();
        fields.extend(row.split(',').map(clean));
        if fields.len() != layout.width {
            let (file, found, expected) = (file.to_string(), fields.len(), layout.width);
            return Err(IngestError::FieldCount { file, line, found, expected });
        }
        let symbol = layout.symbol.map(|c| site.symbol(fields[c])).transpose()?;
        let slot = sink.slot(symbol);
        let bars = &mut sink.series[slot].bars;
        let prev = bars.timestamps().last().copied();
        let bar = Bar {
            ts: Timestamp(site.timestamp(fields[layout.ts], tz, prev)?),
            open: site.number("open", fields[layout.open])?,
            high: site.number("high", fields[layout.high])?,
            low: site.number("low", fields[layout.low])?,
            close: site.number("close", fields[layout.close])?,
            volume: site.number("volume", fields[layout.volume])?,
            vwap: layout.vwap.map(|c| site.number("vwap", fields[c])).transpose()?,
            trade_count: layout.trade_count.map(|c| site.count("trade_count", fields[c])).transpose()?,
        };
        bars.push(bar).map_err(|error| IngestError::InvalidBar { file: file.to_string(), line, error })?;
    }
    Ok(sink.series)
}

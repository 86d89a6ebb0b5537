//! Writes bars back out as `timestamp,open,high,low,close,volume[,vwap][,trade_count]` CSV.

use std::io::{self, Write};

use crate::bars::Bars;

/// Bytes buffered before each write to `w`, so an unbuffered file is not hit once per field.
const CHUNK: usize = 64 * 1024;

/// Writes `bars` as CSV with RFC 3339 UTC timestamps and shortest-round-trip floats, so
/// reading the output back with [`super::parse_bytes`] yields identical [`Bars`].
pub fn write_csv(w: &mut impl Write, bars: &Bars) -> io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK + 256);
    buf.extend_from_slice(b"timestamp,open,high,low,close,volume");
    if bars.vwap().is_some() {
        buf.extend_from_slice(b",vwap");
    }
    if bars.trade_count().is_some() {
        buf.extend_from_slice(b",trade_count");
    }
    buf.push(b'\n');
    for bar in bars.iter() {
        write!(buf, "{},{},{},{},{},{}", bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume)?;
        if let Some(vwap) = bar.vwap {
            write!(buf, ",{vwap}")?;
        }
        if let Some(n) = bar.trade_count {
            write!(buf, ",{n}")?;
        }
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

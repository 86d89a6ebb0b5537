//! Segment files: immutable Arrow IPC files holding one record batch per symbol.
//!
//! Writing streams one batch per symbol through arrow-rs' `FileWriter`, hashing the bytes as
//! they go, and records a per-batch index (symbol, rows, first and last timestamp) in the
//! footer's custom metadata. Reading maps the file, checks the footer and index, and decodes a
//! symbol's batch on first use with buffers that point straight into the mapping (zero copy).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, TimestampNanosecondArray, UInt64Array};
use arrow_buffer::{Buffer, ScalarBuffer};
use arrow_ipc::reader::{FileDecoder, read_footer_length};
use arrow_ipc::writer::FileWriter;
use arrow_ipc::{Block, root_as_footer};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use super::StoreError;
use crate::bars::{Bar, BarColumns, Bars};
use crate::time::{Timeframe, Timestamp};

/// Footer metadata key holding the JSON batch index.
const INDEX_KEY: &str = "tradebot.index";
/// Footer metadata key holding the timeframe.
const TIMEFRAME_KEY: &str = "tradebot.timeframe";
/// Smallest possible Arrow IPC file: magic, padding, footer length, magic.
const MIN_FILE_LEN: u64 = 8 + 10;

/// The column layout of every segment, in order.
pub(crate) fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let price = |name| Field::new(name, DataType::Float64, false);
            Arc::new(Schema::new(vec![
                Field::new("timestamp", DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), false),
                price("open"),
                price("high"),
                price("low"),
                price("close"),
                price("volume"),
                Field::new("vwap", DataType::Float64, true),
                Field::new("trade_count", DataType::UInt64, true),
            ]))
        })
        .clone()
}

/// What the footer index says about one batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BatchInfo {
    /// The batch's symbol.
    pub symbol: String,
    /// Number of bars.
    pub rows: u64,
    /// First bar's timestamp (ns).
    pub first: i64,
    /// Last bar's timestamp (ns).
    pub last: i64,
}

/// Streams symbols into a new segment file; nothing is visible until [`SegmentWriter::finish`]
/// moves the finished file into place, and a writer dropped before that (any error path)
/// removes its temp file.
pub(crate) struct SegmentWriter {
    tmp: PathBuf,
    path: PathBuf,
    timeframe: Timeframe,
    replace: bool,
    writer: Option<FileWriter<BufWriter<HashingFile>>>,
    index: Vec<BatchInfo>,
    rows: u64,
    published: bool,
}

impl SegmentWriter {
    /// Starts the store segment `path` (written first as `path.tmp`). Both are created new:
    /// a store file that exists is never written over, whatever the manifest says.
    pub fn create_new(path: PathBuf, timeframe: Timeframe) -> Result<Self, StoreError> {
        Self::start(path, timeframe, false)
    }

    /// Starts a standalone file at `path` that replaces whatever is there when finished
    /// (exports, outside any store).
    pub fn create_replacing(path: PathBuf, timeframe: Timeframe) -> Result<Self, StoreError> {
        Self::start(path, timeframe, true)
    }

    fn start(path: PathBuf, timeframe: Timeframe, replace: bool) -> Result<Self, StoreError> {
        if !replace && path.exists() {
            return Err(StoreError::from_io(path, std::io::ErrorKind::AlreadyExists.into()));
        }
        let tmp = path.with_extension("arrow.tmp");
        let file = if replace { File::create(&tmp) } else { File::create_new(&tmp) };
        let file = file.map_err(StoreError::io(&tmp))?;
        let mut out = SegmentWriter {
            tmp,
            path,
            timeframe,
            replace,
            writer: None,
            index: Vec::new(),
            rows: 0,
            published: false,
        };
        let hashing = HashingFile {
            file,
            hasher: Xxh3::new(),
            bytes: 0,
            #[cfg(test)]
            path: out.tmp.clone(),
        };
        let sink = BufWriter::with_capacity(1 << 20, hashing);
        out.writer = Some(FileWriter::try_new(sink, &schema()).map_err(StoreError::arrow(&out.tmp))?);
        Ok(out)
    }

    /// Appends one symbol's bars as a record batch. Empty series are skipped.
    pub fn write(&mut self, symbol: &str, bars: &Bars) -> Result<(), StoreError> {
        let Some((first, last)) = bars.span() else { return Ok(()) };
        let batch = to_record_batch(bars);
        let writer = self.writer.as_mut().expect("writer is open until finish");
        writer.write(&batch).map_err(StoreError::arrow(&self.tmp))?;
        self.index.push(BatchInfo {
            symbol: symbol.to_string(),
            rows: bars.len() as u64,
            first: first.0,
            last: last.0,
        });
        self.rows += bars.len() as u64;
        Ok(())
    }

    /// Writes the footer, fsyncs and moves the file into place.
    /// Returns `(path, bytes, xxh3, rows)` for the manifest.
    pub fn finish(mut self) -> Result<(PathBuf, u64, u64, u64), StoreError> {
        let mut writer = self.writer.take().expect("finish is called once");
        let index = serde_json::to_string(&self.index).expect("index serialises");
        writer.write_metadata(INDEX_KEY, index);
        writer.write_metadata(TIMEFRAME_KEY, self.timeframe.as_str());
        writer.finish().map_err(StoreError::arrow(&self.tmp))?;
        let sink = writer.into_inner().map_err(StoreError::arrow(&self.tmp))?;
        let hashing = sink.into_inner().map_err(|e| StoreError::from_io(self.tmp.clone(), e.into_error()))?;
        hashing.file.sync_all().map_err(StoreError::io(&self.tmp))?;
        if self.replace {
            fs::rename(&self.tmp, &self.path).map_err(StoreError::io(&self.path))?;
        } else {
            crate::fsio::publish_new(&self.tmp, &self.path)?;
        }
        self.published = true;
        Ok((self.path.clone(), hashing.bytes, hashing.hasher.digest(), self.rows))
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if !self.published {
            // Unfinished or failed: its temp file must not linger (and keep a full disk full).
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A file that hashes and counts every byte written through it.
struct HashingFile {
    file: File,
    hasher: Xxh3,
    bytes: u64,
    /// The file's path, for fault injection.
    #[cfg(test)]
    path: PathBuf,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        #[cfg(test)]
        crate::fsio::faults::charge(&self.path, buf.len())?;
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

pub(crate) fn to_record_batch(bars: &Bars) -> RecordBatch {
    let f64s = |v: &[f64]| Arc::new(Float64Array::from(v.to_vec())) as ArrayRef;
    let n = bars.len();
    let columns = vec![
        Arc::new(TimestampNanosecondArray::from(bars.timestamps().to_vec()).with_timezone("UTC")) as ArrayRef,
        f64s(bars.open()),
        f64s(bars.high()),
        f64s(bars.low()),
        f64s(bars.close()),
        f64s(bars.volume()),
        match bars.vwap() {
            Some(v) => f64s(v),
            None => Arc::new(Float64Array::new_null(n)),
        },
        match bars.trade_count() {
            Some(v) => Arc::new(UInt64Array::from(v.to_vec())),
            None => Arc::new(UInt64Array::new_null(n)),
        },
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}

/// Borrowed columns of one symbol's bars from one segment: slices into the file mapping.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    /// Bar start times, UTC epoch nanoseconds.
    pub timestamps: &'a [i64],
    /// Opening prices.
    pub open: &'a [f64],
    /// High prices.
    pub high: &'a [f64],
    /// Low prices.
    pub low: &'a [f64],
    /// Closing prices.
    pub close: &'a [f64],
    /// Volumes.
    pub volume: &'a [f64],
    /// Volume-weighted average prices, when stored.
    pub vwap: Option<&'a [f64]>,
    /// Trade counts, when stored.
    pub trade_count: Option<&'a [u64]>,
}

impl Chunk<'_> {
    /// The bar at row `i`.
    pub fn bar(&self, i: usize) -> Bar {
        Bar {
            ts: Timestamp(self.timestamps[i]),
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
            vwap: self.vwap.map(|v| v[i]),
            trade_count: self.trade_count.map(|v| v[i]),
        }
    }
}

/// An open, memory-mapped segment file.
pub(crate) struct Segment {
    path: PathBuf,
    timeframe: Timeframe,
    mapping: Buffer,
    decoder: FileDecoder,
    blocks: Vec<Block>,
    index: Vec<BatchInfo>,
    batches: Vec<OnceLock<RecordBatch>>,
}

impl Segment {
    /// Maps `path` and checks its footer, schema and index against what the manifest recorded.
    pub fn open(path: PathBuf, expected_bytes: u64, timeframe: Timeframe) -> Result<Self, StoreError> {
        let file = File::open(&path).map_err(StoreError::io(&path))?;
        let found = file.metadata().map_err(StoreError::io(&path))?.len();
        if found != expected_bytes {
            return Err(StoreError::SizeMismatch { path, expected: expected_bytes, found });
        }
        if found < MIN_FILE_LEN {
            return Err(StoreError::corrupt(&path, format!("{found} bytes is too short for an Arrow file")));
        }
        // SAFETY: segment files are immutable once renamed into place; writers only create new
        // files and unlink old ones (an unlinked file stays mapped intact), never modify in place.
        let mmap = unsafe { Mmap::map(&file) }.map_err(StoreError::io(&path))?;
        let ptr = NonNull::new(mmap.as_ptr() as *mut u8).expect("a non-empty mapping is not null");
        let len = mmap.len();
        // SAFETY: `ptr` is valid for `len` bytes for as long as the `Mmap` lives, and the buffer
        // owns the `Mmap` through the Arc.
        let mapping = unsafe { Buffer::from_custom_allocation(ptr, len, Arc::new(mmap)) };
        let (decoder, blocks, index) = read_footer(&path, &mapping, timeframe)?;
        let batches = blocks.iter().map(|_| OnceLock::new()).collect();
        Ok(Segment { path, timeframe, mapping, decoder, blocks, index, batches })
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The footer index, one entry per batch.
    pub fn index(&self) -> &[BatchInfo] {
        &self.index
    }

    /// Decodes batch `i` (once) and returns its columns as slices into the mapping.
    pub fn chunk(&self, i: usize) -> Result<Chunk<'_>, StoreError> {
        let batch = match self.batches[i].get() {
            Some(b) => b,
            None => {
                let decoded = self.decode(i)?;
                self.batches[i].get_or_init(|| decoded)
            }
        };
        Ok(columns(batch))
    }

    /// Batch `i`'s columns as shared buffers over the mapping (decoded once, copied never).
    pub fn shared(&self, i: usize) -> Result<BarColumns, StoreError> {
        self.chunk(i)?;
        let batch = self.batches[i].get().expect("decoded by chunk");
        let f64s = |c: usize| -> ScalarBuffer<f64> {
            batch.column(c).as_any().downcast_ref::<Float64Array>().expect("schema checked").values().clone()
        };
        let optional = |c: usize| batch.column(c).null_count() == 0;
        let ts = batch.column(0).as_any().downcast_ref::<TimestampNanosecondArray>().expect("schema checked");
        let trades = batch.column(7).as_any().downcast_ref::<UInt64Array>().expect("schema checked");
        Ok(BarColumns {
            timestamps: ts.values().clone(),
            open: f64s(1),
            high: f64s(2),
            low: f64s(3),
            close: f64s(4),
            volume: f64s(5),
            vwap: optional(6).then(|| f64s(6)),
            trade_count: optional(7).then(|| trades.values().clone()),
        })
    }

    fn decode(&self, i: usize) -> Result<RecordBatch, StoreError> {
        let block = &self.blocks[i];
        let info = &self.index[i];
        let corrupt = |reason: String| {
            StoreError::corrupt(
                &self.path,
                format!("batch {i} ({} {}): {reason}", info.symbol, self.timeframe),
            )
        };
        let start = block.offset() as usize;
        let len = block.metaDataLength() as usize + block.bodyLength() as usize;
        let data = self.mapping.slice_with_length(start, len);
        check_message(block, &data).map_err(corrupt)?;
        let batch = self.decoder.read_record_batch(block, &data).map_err(|e| corrupt(e.to_string()))?;
        let batch = batch.ok_or_else(|| corrupt("empty message".into()))?;
        if batch.num_rows() as u64 != info.rows {
            return Err(corrupt(format!("{} rows, the index says {}", batch.num_rows(), info.rows)));
        }
        for (c, name) in [(6, "vwap"), (7, "trade_count")] {
            let nulls = batch.column(c).null_count();
            if nulls != 0 && nulls != batch.num_rows() {
                return Err(corrupt(format!("column {name} is partly null")));
            }
        }
        let ts = columns(&batch).timestamps;
        if ts.first() != Some(&info.first) || ts.last() != Some(&info.last) {
            return Err(corrupt("first/last timestamp disagree with the index".into()));
        }
        Ok(batch)
    }
}

/// Checks a record-batch message's own claims (node lengths, buffer extents, no compression)
/// before arrow-rs decodes it: its decoder trusts them and panics on some impossible ones.
fn check_message(block: &Block, data: &[u8]) -> Result<(), String> {
    let meta = &data[..block.metaDataLength() as usize];
    let fb = match meta {
        [0xff, 0xff, 0xff, 0xff, _, _, _, _, rest @ ..] => rest,
        [_, _, _, _, rest @ ..] => rest,
        _ => return Err("message metadata too short".into()),
    };
    let message = arrow_ipc::root_as_message(fb).map_err(|e| format!("message: {e}"))?;
    let batch = message.header_as_record_batch().ok_or("message is not a record batch")?;
    if batch.compression().is_some() {
        return Err("compressed batches are not part of the store format".into());
    }
    let rows = batch.length();
    let nodes = batch.nodes().ok_or("batch has no field nodes")?;
    if nodes.len() != schema().fields().len() {
        return Err(format!("{} field nodes, expected {}", nodes.len(), schema().fields().len()));
    }
    if nodes.iter().any(|n| n.length() != rows || n.null_count() < 0 || n.null_count() > rows) {
        return Err("field node lengths disagree with the batch length".into());
    }
    let buffers = batch.buffers().ok_or("batch has no buffers")?;
    if buffers.len() != 2 * nodes.len() {
        return Err(format!("{} buffers, expected {}", buffers.len(), 2 * nodes.len()));
    }
    let body = block.bodyLength();
    let value_bytes = rows.checked_mul(8).ok_or("batch length overflows")?;
    for (i, b) in buffers.iter().enumerate() {
        let end = b.offset().checked_add(b.length());
        if b.offset() < 0 || b.length() < 0 || end.is_none_or(|e| e > body) {
            return Err(format!("buffer {i} lies outside the batch body"));
        }
        let is_values = i % 2 == 1;
        let nulls = nodes.get(i / 2).null_count();
        if is_values && b.length() < value_bytes || !is_values && nulls > 0 && b.length() < (rows + 7) / 8 {
            return Err(format!("buffer {i} is shorter than {rows} values need"));
        }
    }
    Ok(())
}

/// Column slices of a batch whose schema was checked at open.
fn columns(batch: &RecordBatch) -> Chunk<'_> {
    let f64s = |c: usize| -> &[f64] {
        batch.column(c).as_any().downcast_ref::<Float64Array>().expect("schema checked").values()
    };
    let optional = |c: usize| batch.column(c).null_count() == 0;
    let ts = batch.column(0).as_any().downcast_ref::<TimestampNanosecondArray>().expect("schema checked");
    let trades = batch.column(7).as_any().downcast_ref::<UInt64Array>().expect("schema checked");
    Chunk {
        timestamps: ts.values(),
        open: f64s(1),
        high: f64s(2),
        low: f64s(3),
        close: f64s(4),
        volume: f64s(5),
        vwap: optional(6).then(|| f64s(6)),
        trade_count: optional(7).then(|| trades.values().as_ref()),
    }
}

type Footer = (FileDecoder, Vec<Block>, Vec<BatchInfo>);

fn read_footer(path: &Path, buf: &Buffer, timeframe: Timeframe) -> Result<Footer, StoreError> {
    let corrupt = |reason: String| StoreError::corrupt(path, reason);
    let len = buf.len();
    if &buf[..6] != b"ARROW1" {
        return Err(corrupt("not an Arrow IPC file (bad leading magic)".into()));
    }
    let trailer: [u8; 10] = buf[len - 10..].try_into().expect("10 bytes");
    let footer_len = read_footer_length(trailer).map_err(|e| corrupt(e.to_string()))?;
    if footer_len > len - 10 - 8 {
        return Err(corrupt(format!("footer length {footer_len} exceeds the file")));
    }
    let footer =
        root_as_footer(&buf[len - 10 - footer_len..len - 10]).map_err(|e| corrupt(format!("footer: {e}")))?;
    let fb_schema = footer.schema().ok_or_else(|| corrupt("footer has no schema".into()))?;
    let file_schema = arrow_ipc::convert::try_fb_to_schema(fb_schema).map_err(|e| corrupt(e.to_string()))?;
    let expected = schema();
    if file_schema.fields() != expected.fields() {
        return Err(corrupt(format!("unexpected columns {:?}", file_schema.fields())));
    }
    let mut meta_index = None;
    let mut meta_tf = None;
    for kv in footer.custom_metadata().into_iter().flatten() {
        match kv.key() {
            Some(INDEX_KEY) => meta_index = kv.value(),
            Some(TIMEFRAME_KEY) => meta_tf = kv.value(),
            _ => {}
        }
    }
    if meta_tf != Some(timeframe.as_str()) {
        return Err(corrupt(format!("timeframe {meta_tf:?} in the file, {timeframe} in the manifest")));
    }
    let index: Vec<BatchInfo> =
        serde_json::from_str(meta_index.ok_or_else(|| corrupt("no tradebot index".into()))?)
            .map_err(|e| corrupt(format!("tradebot index: {e}")))?;
    let blocks: Vec<Block> = footer.recordBatches().map(|b| b.iter().copied().collect()).unwrap_or_default();
    if blocks.len() != index.len() {
        return Err(corrupt(format!("{} batches but {} index entries", blocks.len(), index.len())));
    }
    let body_end = (len - 10 - footer_len) as u64;
    for (i, b) in blocks.iter().enumerate() {
        let end = (b.offset() as u64).checked_add(b.metaDataLength() as u64 + b.bodyLength() as u64);
        if b.offset() < 8 || b.metaDataLength() < 0 || b.bodyLength() < 0 || end.is_none_or(|e| e > body_end)
        {
            return Err(corrupt(format!("batch {i} lies outside the file")));
        }
        let info = &index[i];
        if info.rows == 0 || info.first > info.last {
            return Err(corrupt(format!("index entry {i} ({}) is inconsistent", info.symbol)));
        }
    }
    if footer.dictionaries().is_some_and(|d| !d.is_empty()) {
        return Err(corrupt("unexpected dictionary batches".into()));
    }
    let decoder = FileDecoder::new(expected, footer.version()).with_require_alignment(true);
    Ok((decoder, blocks, index))
}

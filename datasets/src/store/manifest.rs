//! `MANIFEST.json`: the one mutable file of a store, replaced atomically on every write.
//!
//! It lists the immutable segment files (with size and xxh3 hash) and the per-symbol
//! metadata. A write is committed exactly when the new manifest is renamed into place.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::bars::SymbolMeta;
use crate::time::Timeframe;

/// File name of the manifest inside a store directory.
pub const MANIFEST: &str = "MANIFEST.json";
/// Identifies the manifest format; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "tradebot-bar-store";

/// One immutable segment file as recorded in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Path relative to the store directory, e.g. `segments/000003-1Day.arrow`.
    pub file: String,
    /// Timeframe of every batch in the file.
    pub timeframe: Timeframe,
    /// File size in bytes: a cheap truncation check at open.
    pub bytes: u64,
    /// xxh3-64 of the whole file, checked by `verify`.
    pub xxh3: u64,
    /// Number of bars in the file.
    pub rows: u64,
    /// Symbols whose batches here are superseded (replaced history); compaction removes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

/// The parsed manifest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `tradebot-bar-store`.
    pub format: String,
    /// [`FORMAT_VERSION`] at write time.
    pub version: u32,
    /// Incremented by every committed write; also names new segment files.
    pub generation: u64,
    /// Segments in write order (older first): a symbol's chunks concatenate in this order.
    pub segments: Vec<SegmentEntry>,
    /// Metadata per symbol, keyed by symbol (sorted, so the file is deterministic).
    pub symbols: BTreeMap<String, SymbolMeta>,
    /// Segment files superseded by compaction but still open in some reader: deleted by the
    /// first writer that finds no reader holding the store (never orphaned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<String>,
}

impl Manifest {
    /// An empty manifest for a new store.
    pub fn empty() -> Self {
        Manifest { format: FORMAT_NAME.into(), version: FORMAT_VERSION, ..Default::default() }
    }

    /// Reads and checks the manifest of the store at `dir`.
    pub fn load(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(MANIFEST);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotAStore(dir.to_path_buf()));
            }
            Err(e) => return Err(StoreError::io(&path)(e)),
        };
        let bad = |reason: String| StoreError::Manifest { path: path.clone(), reason };
        let m: Manifest = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        if m.format != FORMAT_NAME {
            return Err(bad(format!("format is `{}`, expected `{FORMAT_NAME}`", m.format)));
        }
        if m.version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} is not supported (this build reads {FORMAT_VERSION})",
                m.version
            )));
        }
        for file in m.segments.iter().map(|s| &s.file).chain(&m.retired) {
            let rel = Path::new(file);
            if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                return Err(bad(format!("segment path `{file}` leaves the store directory")));
            }
        }
        Ok(m)
    }

    /// Atomically replaces the manifest: write a temp file, fsync it, rename it over the old
    /// one, fsync the directory. A crash at any point leaves either the old or the new manifest.
    pub fn commit(&self, dir: &Path) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(self).expect("manifest serialises");
        write_atomic(dir, MANIFEST, &bytes)
    }
}

/// Writes `name` inside `dir` atomically (temp file, fsync, rename, directory fsync).
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    crate::fsio::write_atomic(&dir.join(name), bytes).map_err(StoreError::from)
}

/// Flushes a directory's entries so a rename inside it survives a power cut.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    crate::fsio::sync_dir(dir).map_err(StoreError::from)
}

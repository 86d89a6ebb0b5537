//! Streams a synthetic universe into a store without holding it all in memory.

use std::path::Path;

use rayon::prelude::*;

use crate::fsio::FsError;
use crate::store::{StoreError, WriteMode, Writer};
use crate::synth::{Provenance, SynthConfig, SynthError, Universe};
use crate::time::Timeframe;

/// Symbols generated in parallel per step: bounds memory to a few dozen series at a time.
const BATCH: usize = 64;

/// What `generate` wrote.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GenerateSummary {
    /// Symbols written.
    pub symbols: usize,
    /// Daily bars written.
    pub daily_bars: u64,
    /// One-minute bars written.
    pub minute_bars: u64,
}

/// Why generation failed; the store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The configuration is impossible.
    #[error(transparent)]
    Config(#[from] SynthError),
    /// The store refused the write.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The note saying the store's bars are synthetic could not be written.
    #[error("writing the store's synthetic-data note: {0}")]
    Note(#[from] FsError),
}

/// Generates `config`'s universe into the store at `store` (replacing any series of the
/// same symbols) in one transaction, then notes in the store that its bars are synthetic
/// ([`Provenance`]). `progress(done, total)` is called after each batch.
/// Output is identical for any thread count: symbols are generated from their own random
/// streams and written in symbol order.
pub fn generate(
    store: &Path,
    config: &SynthConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<GenerateSummary, GenerateError> {
    let universe = Universe::new(config)?;
    let mut writer = Writer::open(store)?;
    let total = universe.symbols().len();
    let mut summary = GenerateSummary { symbols: total, daily_bars: 0, minute_bars: 0 };
    for start in (0..total).step_by(BATCH) {
        let end = (start + BATCH).min(total);
        let batch: Vec<_> =
            (start..end).into_par_iter().map(|i| (universe.daily(i), universe.minute(i))).collect();
        for (i, (daily, minute)) in (start..end).zip(batch) {
            let meta = universe.symbols()[i].clone();
            writer.write(&meta.symbol, Timeframe::Day1, &daily, WriteMode::Replace)?;
            summary.daily_bars += daily.len() as u64;
            if let Some(minute) = minute {
                writer.write(&meta.symbol, Timeframe::Min1, &minute, WriteMode::Replace)?;
                summary.minute_bars += minute.len() as u64;
            }
            writer.set_meta(meta);
        }
        progress(end, total);
    }
    writer.commit()?;
    Provenance::of(config).write(store)?;
    Ok(summary)
}

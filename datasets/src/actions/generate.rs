//! Streams a synthetic universe into a store without holding it all in memory.

use std::path::Path;

use rayon::prelude::*;

use crate::fsio::FsError;
use crate::store::{StoreError, WriteMode, Writer};
use crate::synth::{Provenance, SynthConfig, SynthError, Universe};
use crate::time::Timeframe;

/// Series named in full by [`GenerateError::Exists`]; more are counted.
const NAMED: usize = 10;

/// What `generate` does with a series the store already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExisting {
    /// Write nothing and name them (the default: generated bars never silently replace real ones).
    Refuse,
    /// Replace their history with the generated bars.
    Replace,
}

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
    /// Series generate would write are already in the store, and replacing was not asked for.
    #[error(
        "the store already holds {} series this universe would overwrite: {}; nothing was written (`--replace` overwrites them)",
        .0.len(),
        list_series(.0)
    )]
    Exists(Vec<(String, Timeframe)>),
    /// The note saying the store's bars are synthetic could not be written.
    #[error("writing the store's synthetic-data note: {0}")]
    Note(#[from] FsError),
}

/// `SPY 1Day, XLK 1Day, …` with at most [`NAMED`] names and a count of the rest.
fn list_series(series: &[(String, Timeframe)]) -> String {
    let mut out: Vec<String> = series.iter().take(NAMED).map(|(s, tf)| format!("{s} {tf}")).collect();
    if series.len() > NAMED {
        out.push(format!("and {} more", series.len() - NAMED));
    }
    out.join(", ")
}

/// Generates `config`'s universe into the store at `store` in one transaction, then notes in
/// the store that its bars are synthetic ([`Provenance`]). A series the store already holds
/// is refused (naming every one, before anything is generated) or replaced, as `existing`
/// says. `progress(done, total)` is called after each batch.
/// Output is identical for any thread count: symbols are generated from their own random
/// streams and written in symbol order.
pub fn generate(
    store: &Path,
    config: &SynthConfig,
    existing: OnExisting,
    mut progress: impl FnMut(usize, usize),
) -> Result<GenerateSummary, GenerateError> {
    let universe = Universe::new(config)?;
    let mut writer = Writer::open(store)?;
    if let (OnExisting::Refuse, Some(base)) = (existing, writer.base()) {
        // Minute bars are written for the first `minute_symbols` symbols when asked for.
        let minute_cap = if config.minute_days > 0 { config.minute_symbols.unwrap_or(usize::MAX) } else { 0 };
        let held: Vec<(String, Timeframe)> = (universe.symbols().iter().enumerate())
            .flat_map(|(i, m)| {
                let tfs: &[Timeframe] =
                    if i < minute_cap { &[Timeframe::Day1, Timeframe::Min1] } else { &[Timeframe::Day1] };
                tfs.iter().map(move |&tf| (m.symbol.clone(), tf))
            })
            .filter(|(symbol, tf)| base.info(symbol, *tf).is_some())
            .collect();
        if !held.is_empty() {
            return Err(GenerateError::Exists(held));
        }
    }
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

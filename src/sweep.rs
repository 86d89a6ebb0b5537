//! `tradebot sweep` (being written).

use std::path::Path;

use anyhow::Result;

/// Runs the sweep described by `config`.
pub fn run(config: &Path, db: &Path, threads: Option<usize>, json: bool) -> Result<()> {
    let _ = (config, db, threads, json);
    anyhow::bail!("tradebot sweep is not implemented yet")
}

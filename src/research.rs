//! `tradebot research`: the main job. Until the evolution engine lands it makes sure the
//! default data exists (synthetic universe plus the real samples) and summarises the store.

use std::path::Path;

use anyhow::Result;
use datasets::store::Store;

use crate::data;

/// Builds the default store when `store` holds none, then prints its summary.
pub fn run(store: &Path) -> Result<()> {
    if matches!(Store::open(store), Err(datasets::store::StoreError::NotAStore(_))) {
        eprintln!("No store at {}: building the default research data.", store.display());
        data::generate_default(store)?;
    }
    data::print_info(&Store::open(store)?, false, false)
}

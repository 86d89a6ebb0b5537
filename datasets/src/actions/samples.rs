//! The real data samples shipped inside the binary, so a fresh machine has them.

use std::path::{Path, PathBuf};

use super::{ImportError, ImportReport, import_parsed};
use crate::bars::{AssetClass, SymbolMeta};
use crate::ingest::{self, ImportOptions};
use crate::store::WriteMode;

/// One embedded sample file.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Symbol it is stored under.
    pub symbol: &'static str,
    /// File name in `datasets/samples/`.
    pub file: &'static str,
    /// Instrument kind.
    pub asset_class: AssetClass,
    /// The CSV bytes.
    pub csv: &'static [u8],
}

/// GOOG daily 2004–2013, EURUSD hourly, BTCUSD monthly.
pub const SAMPLES: [Sample; 3] = [
    Sample {
        symbol: "GOOG",
        file: "GOOG.csv",
        asset_class: AssetClass::Equity,
        csv: include_bytes!("../../samples/GOOG.csv"),
    },
    Sample {
        symbol: "EURUSD",
        file: "EURUSD.csv",
        asset_class: AssetClass::Forex,
        csv: include_bytes!("../../samples/EURUSD.csv"),
    },
    Sample {
        symbol: "BTCUSD",
        file: "BTCUSD.csv",
        asset_class: AssetClass::Crypto,
        csv: include_bytes!("../../samples/BTCUSD.csv"),
    },
];

/// Imports every embedded sample into the store at `store` in one transaction. Importing
/// again is a no-op (identical bars are skipped).
pub fn import_samples(store: &Path) -> Result<ImportReport, ImportError> {
    let mut parsed = Vec::new();
    for sample in SAMPLES {
        let opts = ImportOptions { symbol: Some(sample.symbol.into()), ..Default::default() };
        let name = format!("samples/{}", sample.file);
        for series in ingest::parse_bytes(&name, sample.csv, &opts)? {
            let meta = SymbolMeta::new(sample.symbol, sample.asset_class);
            parsed.push((PathBuf::from(&name), series, Some(meta)));
        }
    }
    import_parsed(store, parsed, WriteMode::Append)
}

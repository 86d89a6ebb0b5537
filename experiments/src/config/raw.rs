//! The experiment file exactly as written: serde structs that refuse unknown keys and keep the
//! spans of every value validated later, so those errors can name the line too.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExperiment {
    pub(crate) experiment: RawHeader,
    pub(crate) data: Spanned<RawData>,
    #[serde(default)]
    pub(crate) sweep: RawSweep,
    #[serde(default)]
    pub(crate) params: BTreeMap<Spanned<String>, Spanned<RawRange>>,
    #[serde(default)]
    pub(crate) account: RawAccount,
    pub(crate) evolve: Option<evolve::ga::GaConfig>,
    pub(crate) fitness: Option<evolve::stats::FitnessConfig>,
    pub(crate) validation: Option<super::evolution::RawValidation>,
    #[serde(default)]
    pub(crate) output: RawOutput,
    pub(crate) cluster: Option<crate::research::Cluster>,
}

/// `[experiment]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeader {
    pub(crate) name: String,
    /// A built-in family's name; or `strategy_file`.
    pub(crate) strategy: Option<Spanned<String>>,
    /// A strategy file (`.tbs`), relative to the experiment file.
    pub(crate) strategy_file: Option<Spanned<String>>,
}

/// `[data]`: exactly one of `sample`, `file`, `store`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawData {
    pub(crate) sample: Option<Spanned<String>>,
    pub(crate) file: Option<Spanned<String>>,
    pub(crate) store: Option<Spanned<String>>,
    pub(crate) symbols: Option<Spanned<Vec<String>>>,
    pub(crate) timeframe: Option<Spanned<String>>,
}

/// How combinations are drawn.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawMode {
    #[default]
    Grid,
    Random,
}

/// `[sweep]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSweep {
    #[serde(default)]
    pub(crate) mode: RawMode,
    pub(crate) samples: Option<Spanned<usize>>,
    pub(crate) seed: Option<u64>,
    #[serde(default)]
    pub(crate) rank_by: crate::Metric,
    #[serde(default)]
    pub(crate) per_symbol: bool,
    /// Raises (or lowers) [`super::limits::DEFAULT_MAX_COMBINATIONS`].
    pub(crate) max_combinations: Option<Spanned<u64>>,
}

/// One parameter's range under `[params]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a range table such as { min = 2, max = 10 } or { values = [...] }")]
pub(crate) struct RawRange {
    pub(crate) min: Option<Spanned<toml::Value>>,
    pub(crate) max: Option<Spanned<toml::Value>>,
    pub(crate) step: Option<Spanned<toml::Value>>,
    pub(crate) values: Option<Spanned<Vec<Spanned<toml::Value>>>>,
}

/// `[account]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawAccount {
    pub(crate) cash: Spanned<f64>,
    pub(crate) commission_rate: Spanned<f64>,
    pub(crate) commission_per_share: Spanned<f64>,
    pub(crate) commission_per_order: Spanned<f64>,
    pub(crate) slippage_bps: Spanned<f64>,
    pub(crate) close_at_end: bool,
}

impl Default for RawAccount {
    fn default() -> Self {
        let zero = || Spanned::new(0..0, 0.0);
        RawAccount {
            cash: Spanned::new(0..0, 10_000.0),
            commission_rate: zero(),
            commission_per_share: zero(),
            commission_per_order: zero(),
            slippage_bps: zero(),
            close_at_end: true,
        }
    }
}

/// `[output]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawOutput {
    pub(crate) csv: Option<String>,
    pub(crate) json: Option<String>,
    pub(crate) top: usize,
}

impl Default for RawOutput {
    fn default() -> Self {
        RawOutput { csv: None, json: None, top: 20 }
    }
}

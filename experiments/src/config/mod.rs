//! Experiment files: parsing and validation into an [`Experiment`].
//!
//! Every error names the file, the line and the dotted key (see [`ConfigError`]); values are
//! validated against the strategy's parameter space and the simulator's rules here, so a
//! sweep that starts cannot fail on its configuration.

mod axes;
pub(crate) mod discover;
mod error;
pub(crate) mod evolution;
pub mod limits;
pub(crate) mod raw;

use std::path::{Path, PathBuf};

use datasets::Timeframe;
use datasets::actions::Sample;
use kernel::sim::{Commission, Costs, Slippage, TradeRules};
use kernel::strategy::{Strategy, by_name, registry};
use toml::Spanned;

pub use axes::Axis;
pub use discover::{DiscoverSettings, Discovery, DsrVariance, Gates, ResearchDiscover};
pub use error::ConfigError;
pub(crate) use error::Source;
pub use evolution::Evolution;
use raw::{RawData, RawExperiment, RawMode};

use crate::Metric;

/// Where a sweep's bars come from.
#[derive(Clone, Debug)]
pub enum DataSource {
    /// One of the samples embedded in the binary.
    Sample(&'static Sample),
    /// A CSV or Alpaca JSON file (path resolved against the experiment file's directory).
    File(PathBuf),
    /// Symbols of a bar store at one timeframe (the store path resolved like a file).
    Store {
        /// Store directory.
        dir: PathBuf,
        /// Symbols, in the order given.
        symbols: Vec<String>,
        /// Bar timeframe.
        timeframe: Timeframe,
    },
}

/// How combinations are drawn from the axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every combination of the axes' values (cartesian product, in the space's order).
    Grid,
    /// `samples` independent draws, each parameter uniform over its axis, from a PCG seeded with `seed`.
    Random {
        /// Number of draws.
        samples: usize,
        /// PCG seed.
        seed: u64,
    },
}

/// Where to write results besides the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// CSV of every result row (relative to the experiment file's directory).
    pub csv: Option<PathBuf>,
    /// JSON of every result row (relative to the experiment file's directory).
    pub json: Option<PathBuf>,
    /// Rows per ranking shown on the terminal (and fully evaluated on the fast path).
    pub top: usize,
}

/// A validated experiment: everything a sweep needs apart from the bars themselves.
#[derive(Clone)]
pub struct Experiment {
    /// Experiment name (`[experiment] name`).
    pub name: String,
    /// The strategy swept.
    pub strategy: &'static dyn Strategy,
    /// Bars to run on.
    pub data: DataSource,
    /// Grid or random.
    pub mode: Mode,
    /// Metric results are ranked by.
    pub rank_by: Metric,
    /// With several symbols, also run each tradable symbol on its own and rank those separately.
    pub per_symbol: bool,
    /// One axis per parameter of the strategy's space, in the space's order.
    pub axes: Vec<Axis>,
    /// Costs and fill rules of every backtest.
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// Result files and table size.
    pub output: Output,
    /// The evolution `tradebot evolve` runs (`[evolve]`, `[fitness]`, `[validation]`);
    /// `None` when the file has no `[evolve]` section.
    pub evolution: Option<Evolution>,
    /// The file's text, verbatim, and for a `strategy_file` its hash and text as comments
    /// (stored with the results).
    pub text: String,
    /// Where the backtests are farmed out (`[cluster]`, as in a research file), when set.
    pub cluster: Option<crate::research::Cluster>,
}

impl std::fmt::Debug for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Experiment")
            .field("name", &self.name)
            .field("strategy", &self.strategy.name())
            .field("data", &self.data)
            .field("mode", &self.mode)
            .field("rank_by", &self.rank_by)
            .field("axes", &self.axes)
            .finish_non_exhaustive()
    }
}

impl Experiment {
    /// Reads and validates the experiment file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Io { file: file.clone(), source })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Experiment::parse(&text, &file, base)
    }

    /// Validates `text`; `file` names it in errors and `base` is the directory every relative
    /// path in it (`[data]`, `[output]`) is resolved against: the file's own, as Cargo does.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Self, ConfigError> {
        let src = Source { file, text };
        let raw: RawExperiment = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        let mut stored = text.to_string();
        let strategy = match (&raw.experiment.strategy, &raw.experiment.strategy_file) {
            (Some(name), None) => builtin(&src, name, "experiment.strategy")?,
            (None, Some(path)) => {
                let key = "experiment.strategy_file";
                let file = strategy_file(
                    &src,
                    path,
                    key,
                    base,
                    &gp::FileStrategy::name_of(Path::new(path.get_ref())),
                )?;
                stored = with_strategy_file(text, file.file()).map_err(|m| src.error(path.span(), key, m))?;
                file
            }
            _ => {
                let message =
                    "give exactly one of `strategy` (a built-in family) or `strategy_file` (a .tbs file)";
                return Err(src.key_error("experiment", message));
            }
        };
        let data = data_source(&src, &raw.data, base)?;
        let max = max_combinations(&src, raw.sweep.max_combinations.as_ref())?;
        let mode = match raw.sweep.mode {
            RawMode::Grid => Mode::Grid,
            RawMode::Random => {
                let samples = raw.sweep.samples.as_ref().ok_or_else(|| {
                    src.error(0..0, "sweep.samples", "random mode needs `samples` (the number of draws)")
                })?;
                let n = *samples.get_ref();
                if n == 0 || n as u64 > max {
                    let message = format!("{n} must be from 1 to {max} (`[sweep] max_combinations`)");
                    return Err(src.error(samples.span(), "sweep.samples", message));
                }
                Mode::Random { samples: n, seed: raw.sweep.seed.unwrap_or(0) }
            }
        };
        // An evolution file may give a real range without a step, which a grid could not sweep.
        let axes_mode = if raw.evolve.is_some() { Mode::Random { samples: 1, seed: 0 } } else { mode };
        let axes = axes::build(&src, strategy, &raw.params, axes_mode, max)?;
        if axes_mode == Mode::Grid {
            check_grid(&src, &axes, max)?;
        }
        let (rules, cash) = account(&src, &raw.account)?;
        let evolution = match raw.evolve {
            Some(ga) => Some(Evolution {
                ga: evolution::ga(&src, ga)?,
                fitness: evolution::fitness(&src, raw.fitness.unwrap_or_default())?,
                validation: evolution::validation(&src, &raw.validation.unwrap_or_default())?,
                genes: evolution::genes(&src, strategy, &raw.params)?,
            }),
            None if raw.fitness.is_some() || raw.validation.is_some() => {
                return Err(
                    src.key_error("fitness", "`[fitness]` and `[validation]` need an `[evolve]` section")
                );
            }
            None => None,
        };
        let output = Output {
            csv: raw.output.csv.map(|p| resolve(base, &p)),
            json: raw.output.json.map(|p| resolve(base, &p)),
            top: raw.output.top,
        };
        Ok(Experiment {
            name: raw.experiment.name,
            strategy,
            data,
            mode,
            rank_by: raw.sweep.rank_by,
            per_symbol: raw.sweep.per_symbol,
            axes,
            rules,
            cash,
            output,
            evolution,
            text: stored,
            cluster: raw.cluster,
        })
    }
}

/// First line of the strategy file block an experiment's stored text ends with.
const STRATEGY_FILE_MARK: &str = "# tradebot: strategy file xxh3 ";

/// The text an experiment over a strategy file stores with its results: the experiment's text,
/// then the strategy file's hash and text as TOML comments, so a sweep or run records exactly
/// what it ran. Parsing stored text again (a resumed run) refuses a strategy file whose text
/// has changed since, as resuming refuses an edited experiment file.
fn with_strategy_file(text: &str, file: &gp::StrategyFile) -> Result<String, String> {
    let hash = format!("{:016x}", file.hash());
    if let Some(stored) = text.lines().find_map(|l| l.strip_prefix(STRATEGY_FILE_MARK)) {
        return if stored.trim() == hash {
            Ok(text.to_string())
        } else {
            Err(format!(
                "{} changed since this experiment's text was stored (xxh3 {} then, {hash} now): a resumed \
                 run continues the strategy as it was; undo the change, or start a new run",
                file.file(),
                stored.trim()
            ))
        };
    }
    let mut out = format!("{}\n{STRATEGY_FILE_MARK}{hash}\n", text.trim_end());
    for line in file.text().lines() {
        out.push_str("#| ");
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// The built-in family called `name`, or an error listing them (`key` names the place).
pub(crate) fn builtin(
    src: &Source<'_>,
    name: &Spanned<String>,
    key: &str,
) -> Result<&'static dyn Strategy, ConfigError> {
    by_name(name.get_ref()).ok_or_else(|| {
        let known = registry().iter().map(|s| s.name()).collect::<Vec<_>>().join(", ");
        let message = format!("unknown strategy `{}` (strategies: {known})", name.get_ref());
        src.error(name.span(), key, message)
    })
}

/// The strategy file at `path` (relative to `base`, the config's directory) as a family called
/// `name`; its errors name the strategy file's line and column after the config's key.
pub(crate) fn strategy_file(
    src: &Source<'_>,
    path: &Spanned<String>,
    key: &str,
    base: &Path,
    name: &str,
) -> Result<&'static gp::FileStrategy, ConfigError> {
    let file = gp::StrategyFile::read(&resolve(base, path.get_ref()))
        .map_err(|e| src.error(path.span(), key, e.to_string()))?;
    Ok(gp::FileStrategy::intern(name, file))
}

/// `[sweep] max_combinations`, or the default limit.
fn max_combinations(src: &Source<'_>, given: Option<&Spanned<u64>>) -> Result<u64, ConfigError> {
    match given {
        None => Ok(limits::DEFAULT_MAX_COMBINATIONS),
        Some(m) if *m.get_ref() >= 1 => Ok(*m.get_ref()),
        Some(m) => Err(src.error(m.span(), "sweep.max_combinations", "must be at least 1")),
    }
}

/// Refuses a grid of more than `max` combinations, computed from the axes' lengths before the
/// grid is expanded.
fn check_grid(src: &Source<'_>, axes: &[Axis], max: u64) -> Result<(), ConfigError> {
    let lengths: Vec<u64> =
        axes.iter().map(|a| if let Axis::Values(v) = a { v.len() as u64 } else { 1 }).collect();
    match limits::grid_size(lengths.iter().copied()) {
        Some(n) if n <= max => Ok(()),
        size => {
            let size = size.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
            let factors = lengths.iter().map(u64::to_string).collect::<Vec<_>>().join(" × ");
            let message = format!(
                "the grid has {size} combinations ({factors}), above the limit of {max}: narrow the \
                 ranges, raise `max_combinations`, or use mode = \"random\" with `samples`"
            );
            Err(src.key_error("sweep", message))
        }
    }
}

/// `path` as written in a file whose directory is `base`: relative paths are relative to the
/// file (as in Cargo manifests), joined and normalised lexically (`experiments/../results` is
/// `results`); absolute paths stay as they are.
pub fn resolve(base: &Path, path: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in base.join(path).components() {
        match part {
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() { PathBuf::from(".") } else { out }
}

pub(crate) fn data_source(
    src: &Source<'_>,
    data: &Spanned<RawData>,
    base: &Path,
) -> Result<DataSource, ConfigError> {
    let d = data.get_ref();
    let given = [("sample", d.sample.is_some()), ("file", d.file.is_some()), ("store", d.store.is_some())];
    let chosen: Vec<&str> = given.iter().filter(|(_, on)| *on).map(|(k, _)| *k).collect();
    if chosen.len() != 1 {
        let message = format!("give exactly one of `sample`, `file` or `store` (found {})", chosen.len());
        return Err(src.error(data.span(), "data", message));
    }
    let store_only = |key: &str, span: Option<std::ops::Range<usize>>| match span {
        Some(span) if d.store.is_none() => {
            Err(src.error(span, format!("data.{key}"), "only applies with `store`"))
        }
        _ => Ok(()),
    };
    store_only("symbols", d.symbols.as_ref().map(Spanned::span))?;
    store_only("timeframe", d.timeframe.as_ref().map(Spanned::span))?;
    if let Some(sample) = &d.sample {
        return crate::data::sample(sample.get_ref())
            .map(DataSource::Sample)
            .map_err(|e| src.error(sample.span(), "data.sample", e.to_string()));
    }
    if let Some(file) = &d.file {
        return Ok(DataSource::File(resolve(base, file.get_ref())));
    }
    let store = d.store.as_ref().expect("exactly one source is set");
    let symbols = d
        .symbols
        .as_ref()
        .ok_or_else(|| src.error(store.span(), "data.symbols", "a store needs `symbols`"))?;
    if symbols.get_ref().is_empty() {
        return Err(src.error(symbols.span(), "data.symbols", "list at least one symbol"));
    }
    let timeframe = match &d.timeframe {
        Some(tf) => {
            tf.get_ref().parse().map_err(|e| src.error(tf.span(), "data.timeframe", format!("{e}")))?
        }
        None => Timeframe::Day1,
    };
    Ok(DataSource::Store {
        dir: resolve(base, store.get_ref()),
        symbols: symbols.get_ref().clone(),
        timeframe,
    })
}

pub(crate) fn account(src: &Source<'_>, a: &raw::RawAccount) -> Result<(TradeRules, f64), ConfigError> {
    let cash = *a.cash.get_ref();
    kernel::sim::check_cash("account.cash", cash)
        .map_err(|e| src.error(a.cash.span(), "account.cash", format!("{cash} must be {}", e.expected)))?;
    let bps = *a.slippage_bps.get_ref();
    let slippage = if bps == 0.0 { Slippage::None } else { Slippage::Bps(bps) };
    let commission = Commission {
        per_share: *a.commission_per_share.get_ref(),
        per_order: *a.commission_per_order.get_ref(),
        rate: *a.commission_rate.get_ref(),
    };
    let rules = TradeRules {
        costs: Costs { commission, slippage },
        close_at_end: a.close_at_end,
        ..TradeRules::default()
    };
    rules.validate().map_err(|e| {
        let (key, span) = match e.field {
            "costs.commission.per_share" => ("commission_per_share", a.commission_per_share.span()),
            "costs.commission.per_order" => ("commission_per_order", a.commission_per_order.span()),
            "costs.commission.rate" => ("commission_rate", a.commission_rate.span()),
            _ => ("slippage_bps", a.slippage_bps.span()),
        };
        src.error(span, format!("account.{key}"), format!("{} must be {}", e.value, e.expected))
    })?;
    Ok((rules, cash))
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

//! Everything that can go wrong reading, checking, running or writing a promoted set.

use std::path::PathBuf;

use kernel::strategy::{BacktestError, ParamError, StrategyError};

/// A promoted set that cannot be read, trusted, run or written.
#[derive(Debug, thiserror::Error)]
pub enum PromotedError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file that is not a valid promoted set.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line of the problem (1-based).
        line: usize,
        /// Column of the problem (1-based).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A file written in another layout version.
    #[error("{}: format {found} is not supported (this build reads format {expected})", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The version the file declares.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// `CURRENT` names a version whose file is missing or that does not exist.
    #[error("promoted set version {version} does not exist in {}", dir.display())]
    NoSuchVersion {
        /// The promoted directory.
        dir: PathBuf,
        /// The version asked for.
        version: u64,
    },
    /// Demoting or looking up an id the set does not hold.
    #[error("the promoted set has no strategy `{0}`")]
    NoSuchStrategy(String),
    /// A strategy name the kernel does not know.
    #[error("strategy `{id}`: unknown strategy `{strategy}`")]
    UnknownStrategy {
        /// The promoted strategy's id.
        id: String,
        /// The unknown name.
        strategy: String,
    },
    /// A parameter that is missing, unknown, of the wrong kind or out of range.
    #[error("strategy `{id}`: parameter `{param}`: {why}")]
    Param {
        /// The promoted strategy's id.
        id: String,
        /// The parameter.
        param: String,
        /// What is wrong with it.
        why: String,
    },
    /// A set that breaks a rule of the format (ids, allocations, symbols, cash account).
    #[error("strategy `{id}`: {why}")]
    Invalid {
        /// The promoted strategy's id.
        id: String,
        /// The rule it breaks.
        why: String,
    },
    /// A GP genome whose text does not parse.
    #[error("strategy `{id}`: genome: {source}")]
    Genome {
        /// The promoted strategy's id.
        id: String,
        /// Where and why the text is wrong.
        source: gp::ParseError,
    },
    /// A promoted strategy file's text that is not a strategy, or its parameter values that
    /// do not bind (the file's own `file:line:column: message`).
    #[error("strategy `{id}`: {source}")]
    File {
        /// The promoted strategy's id.
        id: String,
        /// Where and why the file is wrong.
        source: gp::FileError,
    },
    /// A strategy file's text that is not the text it was promoted with.
    #[error(
        "strategy `{id}`: the text of strategy file {path} hashes to {found}, not the {recorded} it was promoted with"
    )]
    TextChanged {
        /// The promoted strategy's id.
        id: String,
        /// The file it was read from, as recorded.
        path: String,
        /// The hash recorded at promotion.
        recorded: crate::Hash64,
        /// The hash of the text now in the set.
        found: crate::Hash64,
    },
    /// The strategy rejected its parameters or data.
    #[error("strategy `{id}`: {source}")]
    Strategy {
        /// The promoted strategy's id.
        id: String,
        /// The kernel's reason.
        source: StrategyError,
    },
    /// The backtest could not run.
    #[error("strategy `{id}`: {source}")]
    Backtest {
        /// The promoted strategy's id.
        id: String,
        /// The kernel's reason.
        source: BacktestError,
    },
    /// Rerunning a strategy on its data did not give the backtest it was promoted on.
    #[error("strategy `{id}` does not reproduce its recorded backtest: {what}")]
    NotReproduced {
        /// The promoted strategy's id.
        id: String,
        /// The first figure that differs, with both values.
        what: String,
    },
}

impl PromotedError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PromotedError {
        let path = path.into();
        move |source| PromotedError::Io { path, source }
    }

    /// A parameter problem from the kernel's own check.
    pub(crate) fn param(id: &str, source: ParamError) -> PromotedError {
        match source {
            ParamError::Invalid { name, given, expected } => PromotedError::Param {
                id: id.to_string(),
                param: name.to_string(),
                why: format!("{given} is not allowed: expected {expected}"),
            },
            other => PromotedError::Invalid { id: id.to_string(), why: other.to_string() },
        }
    }
}

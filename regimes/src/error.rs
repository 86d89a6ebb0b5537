//! The errors of this crate.

use std::path::PathBuf;

use datasets::store::StoreError;

/// Anything that stops loading inputs, training, predicting, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum RegimeError {
    /// The bar store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A symbol the selection names is not in the store at the daily timeframe.
    #[error("the store has no daily bars for `{symbol}` ({role}); daily symbols: {available}")]
    MissingSymbol {
        /// The symbol asked for.
        symbol: String,
        /// What it was wanted for (market, index).
        role: &'static str,
        /// A short list of what the store has.
        available: String,
    },
    /// Inputs whose series differ in length or whose timestamps do not increase.
    #[error("market inputs are inconsistent: {0}")]
    Inputs(String),
    /// A feature the spec asks for that the inputs cannot provide.
    #[error("feature `{feature}` needs {needs}, which the inputs do not have")]
    Unavailable {
        /// The feature's name.
        feature: String,
        /// What is missing.
        needs: &'static str,
    },
    /// Labels that do not line up with the feature rows.
    #[error("{labels} labels for {rows} feature rows: one label per day is needed")]
    LabelLength {
        /// Labels given.
        labels: usize,
        /// Feature rows.
        rows: usize,
    },
    /// A baseline whose calls do not line up with the feature rows.
    #[error("baseline `{name}` has {calls} calls for {rows} days: one per day is needed")]
    BaselineLength {
        /// The baseline.
        name: String,
        /// Calls given.
        calls: usize,
        /// Feature rows.
        rows: usize,
    },
    /// Data computed with other features than the model was trained on.
    #[error("the model was trained on features [{model}] but the data gives [{data}]")]
    SpecMismatch {
        /// The model's feature names.
        model: String,
        /// The data's feature names.
        data: String,
    },
    /// No day has complete features and a known next-day label.
    #[error("no labelled day with complete features to train on ({days} days of data)")]
    NoTrainingRows {
        /// Days of data given.
        days: usize,
    },
    /// The forest library refused to fit or predict.
    #[error("random forest: {0}")]
    Forest(String),
    /// A model file or pointer could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A model file or pointer that is not what this build reads.
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl RegimeError {
    /// A closure turning an I/O error on `path` into [`RegimeError::Io`].
    pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> RegimeError + '_ {
        move |source| RegimeError::Io { path: path.to_path_buf(), source }
    }
}

//! Market regimes, learned: a random forest that predicts tomorrow's regime from what is known
//! at today's close, scored out of sample by walk-forward splits and saved as versioned models.
//!
//! The rule-based detector lives in [`kernel::regime`] (VIX and realised-volatility thresholds
//! with hysteresis); this crate keeps the ML dependency (`smartcore`) out of every kernel build.
//!
//! * [`MarketInputs`]: the market's closes, the VIX-like index, and the breadth members on the
//!   market's trading days, read from a bar store (all timestamps UTC nanoseconds).
//! * [`FeatureSpec`] / [`FeatureMatrix`]: returns over several horizons, realised volatility,
//!   drawdown, index level and changes, breadth, the rule regime; each row reads closes up to
//!   its own day only.
//! * [`train`]: walk-forward evaluation (expanding window, never shuffled, one-day purge so a
//!   training label never reaches the test period) against persistence and rule baselines,
//!   then a final fit on all labelled rows; class weighting for rare regimes and a warning per
//!   regime with fewer than `min_samples_per_regime` examples.
//! * [`outlook`]: today's rule regime and the model's call for tomorrow, as every report
//!   shows it; [`train_standard`], the rule-labelled training every caller uses.
//! * [`persist`]: `vNNNN.postcard` model files with a JSON model card and an atomically
//!   replaced `CURRENT` pointer; [`persist::load_latest`] for the research run and live bridge.
//!
//! Where it sits: datasets → kernel → **regimes** (beside gp, novelty, portfolio-fitness) →
//! evolve → experiments (the research run's outlook) → the `tradebot` binary; the live bridge
//! reads the saved model.
//!
//! # Example
//!
//! Walk-forward folds: training always ends a day before its test block starts:
//!
//! ```
//! use regimes::WalkForward;
//!
//! let walk = WalkForward { min_train: 100, test_len: 50 };
//! let folds = walk.folds(0, 260);
//! assert_eq!(folds.len(), 4);
//! assert_eq!((folds[0].train.clone(), folds[0].test.clone()), (0..100, 101..151));
//! assert_eq!(folds[3].test, 251..260);
//! assert!(folds.iter().all(|f| f.train.end < f.test.start));
//! ```

mod error;
mod features;
mod forest;
mod inputs;
mod outlook;
pub mod persist;
mod scores;
mod train;
mod walk;

pub use error::RegimeError;
pub use features::{Feature, FeatureMatrix, FeatureSpec};
pub use forest::{ClassWeight, Forest, ForestParams, majority};
pub use inputs::{MarketInputs, MemberCloses, Selection};
pub use outlook::{ModelCall, Outlook, outlook, train_standard};
pub use scores::{ClassStats, Scores};
pub use train::{
    Baseline, Evaluation, FoldInfo, LabelSource, ModelCard, NamedScores, TrainConfig, TrainOutcome,
    TrainWarning, TrainedModel, train,
};
pub use walk::{Fold, WalkForward};

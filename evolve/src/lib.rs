//! Evolution: the genetic-algorithm engine, the strategy-tuning problem, checkpointed runs,
//! fitness and overfitting statistics, and the research database where sweeps and runs persist.

pub mod db;
pub mod discovery;
pub mod ga;
pub mod genes;
pub mod problem;
pub mod run;
pub mod stats;

//! Evolution: the genetic-algorithm engine, fitness and overfitting statistics, and the
//! research database where sweeps and runs persist.

pub mod db;
pub mod ga;
pub mod genes;
pub mod stats;

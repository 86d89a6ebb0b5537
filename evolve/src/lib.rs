//! Genetic-algorithm engine (to come) and the research database, where sweeps and runs persist.

pub mod db;

//! Performance metrics (being written).

//! Market regimes (being written).

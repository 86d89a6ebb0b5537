//! Synthetic universes (being written).

//! Strategy library (being written).

//! Technical indicators (being written).

//! Cash-account simulation (being written).

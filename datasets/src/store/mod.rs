//! The memory-mapped bar store (being written).

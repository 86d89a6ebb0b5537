//! Placeholder crate: filled by its own issue; it exports nothing yet.

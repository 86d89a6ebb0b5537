//! The genetic-algorithm engine (in progress).

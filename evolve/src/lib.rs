//! Genetic-algorithm engine and the research database (being written).

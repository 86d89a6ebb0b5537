//! Experiment configs and the sweep runner (being written).

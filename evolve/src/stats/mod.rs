//! Fitness objectives and overfitting statistics (in progress).

//! NYSE trading calendar (being written).

//! Notable things that happen during a run, reported with the generation they happened in.

use serde::{Deserialize, Serialize};

/// One event of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Generation whose step emitted it.
    pub generation: u32,
    /// What happened.
    pub kind: EventKind,
    /// One human-readable line with the numbers behind it.
    pub detail: String,
}

/// The kinds of event; serialised as `{"name": "injection", "replaced": 10}` and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum EventKind {
    /// The best has not improved by more than epsilon for `patience` generations.
    Stagnation,
    /// The worst individuals were replaced by random immigrants.
    Injection {
        /// How many were replaced.
        replaced: usize,
    },
    /// The population was replaced by a fresh random one seeded with the hall of fame.
    Restart {
        /// How many hall-of-fame genomes seeded it.
        seeded: usize,
    },
    /// Individuals created in this generation had a non-finite fitness.
    Invalid {
        /// How many.
        count: usize,
    },
}

impl EventKind {
    /// Stable snake_case name, as serialised and as stored in the research database.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Stagnation => "stagnation",
            EventKind::Injection { .. } => "injection",
            EventKind::Restart { .. } => "restart",
            EventKind::Invalid { .. } => "invalid",
        }
    }
}

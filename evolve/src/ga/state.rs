//! The engine's checkpointable state: everything but the evaluation cache.

use serde::{Deserialize, Serialize};

use super::{GaConfig, Scored};

/// Where the stagnation response stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Phase {
    /// No response since the last improvement.
    Normal,
    /// Immigrants were injected and nothing has improved since; stagnating again restarts.
    Injected,
}

/// A checkpoint of an [`Engine`](super::Engine): serialise it (e.g. to JSON) after any step and
/// pass it to [`Engine::resume`](super::Engine::resume) with the run's evaluations to continue
/// exactly where it stopped.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "G: Serialize, M: Serialize",
    deserialize = "G: Deserialize<'de>, M: Deserialize<'de> + Default"
))]
pub struct GaState<G, M = ()> {
    pub(crate) config: GaConfig,
    /// Next generation to run (= generations done).
    pub(crate) generation: u32,
    /// Current population, best first.
    pub(crate) population: Vec<Scored<G>>,
    pub(crate) hall_of_fame: Vec<Scored<G>>,
    /// Best finite individual ever evaluated (first evaluated among equals).
    pub(crate) best: Option<Scored<G>>,
    /// Best fitness at the last counted improvement.
    pub(crate) reference: Option<f64>,
    pub(crate) mutation_rate: f64,
    pub(crate) stagnant_for: u32,
    pub(crate) phase: Phase,
    /// Distinct evaluations so far, to check the evaluation list given on resume.
    pub(crate) evaluations: usize,
    /// The problem's memory ([`Problem::Memory`](super::Problem::Memory)).
    #[serde(default)]
    pub(crate) memory: M,
    /// Selection scores of the population, slot by slot, when the problem gives them.
    #[serde(default)]
    pub(crate) selection: Option<Vec<f64>>,
}

impl<G, M> GaState<G, M> {
    /// Generations run so far (the next step runs this generation number).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Distinct evaluations so far: the length of the list [`Engine::resume`](super::Engine::resume) needs.
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }

    /// The configuration the run was started with.
    pub fn config(&self) -> &GaConfig {
        &self.config
    }

    /// The problem's memory as of this checkpoint.
    pub fn memory(&self) -> &M {
        &self.memory
    }
}

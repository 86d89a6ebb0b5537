//! Runs: the GA engine driven generation by generation, with every generation checkpointed to
//! the research database, so a run stopped by Ctrl-C, SIGTERM or a crash resumes to exactly
//! the result it would have had.
//!
//! Each generation is one transaction ([`ResearchDb::record_generation`]): its statistics,
//! the individuals it evaluated (genome, figures, fitness and provenance: the evaluation
//! period, the data hash and the config hash), its events and the engine's state. Resuming
//! rebuilds the evaluation cache from the stored individuals in order and continues from the
//! state; the per-individual random streams make the rest identical.
//!
//! One run evaluates one stage of the data. Its data hash is fixed when it starts: resuming on
//! different bars, or under a different configuration, is refused ([`RunError::DataChanged`],
//! [`RunError::ConfigChanged`]) rather than mixing fitness values measured on different data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{
    DbError, EventRecord, GenerationRecord, IndividualRecord, NewRun, ResearchDb, RunRecord, RunStatus,
};
use crate::ga::{Engine, GaConfig, GaError, GaState, GenerationReport, Problem};

/// What a run's fitness values were measured on, stored with every individual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// xxh3 of the bars of the stage.
    pub data_hash: u64,
    /// First bar of the stage (UTC ns).
    pub first_ns: i64,
    /// Last bar of the stage (UTC ns).
    pub last_ns: i64,
    /// xxh3 of the configuration text.
    pub config_hash: u64,
}

/// A run that could not start, continue or be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database refused a read or write.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The GA configuration is invalid.
    #[error(transparent)]
    Ga(#[from] GaError),
    /// A checkpoint or a stored individual could not be (de)serialised.
    #[error("run {run}: stored {what} is unreadable: {source}")]
    Corrupt {
        /// The run.
        run: i64,
        /// What was being read.
        what: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A run id the database does not hold.
    #[error("there is no run {0} in the research database")]
    NoSuchRun(i64),
    /// Resuming on bars other than the ones the run started on.
    #[error(
        "run {run} was evaluated on data with hash {stored:016x}, the data now has hash {now:016x}: \
         fitness values measured on different data cannot be mixed in one run (start a new run)"
    )]
    DataChanged {
        /// The run.
        run: i64,
        /// The hash recorded when it started.
        stored: u64,
        /// The hash of the data given now.
        now: u64,
    },
    /// Resuming under another configuration.
    #[error("run {run}: the configuration differs from the one it started with (config hash {stored:016x})")]
    ConfigChanged {
        /// The run.
        run: i64,
        /// The hash recorded when it started.
        stored: u64,
    },
    /// An individual evaluated on another stage's data showed up in the run.
    #[error("run {run}: an individual carries data hash {found:016x}, the run's stage is {expected:016x}")]
    MixedData {
        /// The run.
        run: i64,
        /// The stage's hash.
        expected: u64,
        /// The stray hash.
        found: u64,
    },
}

/// How a drive ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every generation ran (or the target was reached).
    Finished,
    /// A stop was requested; the last generation is checkpointed and the run can be resumed.
    Stopped,
}

/// Totals of a drive, for the evaluations-per-second and GA-overhead figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Wall time of the generations driven (engine plus evaluations plus checkpoints).
    pub total: Duration,
    /// Wall time inside the problem's evaluations.
    pub evaluating: Duration,
    /// Wall time writing checkpoints.
    pub recording: Duration,
    /// New evaluations.
    pub evaluations: usize,
}

impl std::ops::AddAssign for Timing {
    fn add_assign(&mut self, other: Timing) {
        self.total += other.total;
        self.evaluating += other.evaluating;
        self.recording += other.recording;
        self.evaluations += other.evaluations;
    }
}

/// A run in progress: its id, engine and provenance.
pub struct Run<'p, P: Problem> {
    /// The run's id in the research database.
    pub id: i64,
    /// The engine, positioned after the last checkpointed generation.
    pub engine: Engine<'p, P>,
    /// What its fitness values are measured on.
    pub provenance: Provenance,
}

impl<'p, P> Run<'p, P>
where
    P: Problem,
    P::Eval: Serialize + DeserializeOwned,
{
    /// Records a new run and builds its engine.
    pub fn start(
        db: &mut ResearchDb,
        run: &NewRun<'_>,
        problem: &'p P,
        config: GaConfig,
    ) -> Result<Self, RunError> {
        let engine = Engine::new(problem, config)?;
        let id = db.create_run(run)?;
        let provenance = Provenance {
            data_hash: run.data_hash,
            first_ns: run.data_first_ns,
            last_ns: run.data_last_ns,
            config_hash: run.config_hash,
        };
        Ok(Run { id, engine, provenance })
    }

    /// Reopens run `id` after a stop or crash: checks that the data and configuration are the
    /// ones it started with, then rebuilds the engine from its last checkpoint.
    pub fn resume(
        db: &mut ResearchDb,
        id: i64,
        problem: &'p P,
        config: GaConfig,
        provenance: Provenance,
    ) -> Result<Self, RunError> {
        let run = Run::load(db, id, problem, config, provenance)?;
        db.reopen_run(id)?;
        Ok(run)
    }

    /// Rebuilds run `id`'s engine from its last checkpoint without writing anything (a
    /// finished run's engine is done: its best genome and cache are as they were).
    pub fn load(
        db: &ResearchDb,
        id: i64,
        problem: &'p P,
        config: GaConfig,
        provenance: Provenance,
    ) -> Result<Self, RunError> {
        let stored = db.run(id)?.ok_or(RunError::NoSuchRun(id))?;
        provenance.check(&stored)?;
        let individuals = db.individuals(id)?;
        let mut evaluated = Vec::with_capacity(individuals.len());
        for ind in &individuals {
            if ind.data_hash != provenance.data_hash {
                return Err(RunError::MixedData {
                    run: id,
                    expected: provenance.data_hash,
                    found: ind.data_hash,
                });
            }
            let corrupt = |what| move |source| RunError::Corrupt { run: id, what, source };
            let genome: P::Genome = serde_json::from_str(&ind.genome).map_err(corrupt("genome"))?;
            let eval: P::Eval = serde_json::from_str(&ind.metrics).map_err(corrupt("evaluation"))?;
            evaluated.push((genome, eval));
        }
        let engine = match db.checkpoint(id)? {
            Some(text) => {
                let state: GaState<P::Genome, P::Memory> = serde_json::from_str(&text)
                    .map_err(|source| RunError::Corrupt { run: id, what: "checkpoint", source })?;
                Engine::resume(problem, config, state, evaluated)?
            }
            // Stopped before the first generation was recorded: start over.
            None => Engine::new(problem, config)?,
        };
        Ok(Run { id, engine, provenance })
    }

    /// Steps the engine until it is done or `stop` is set, checkpointing every generation
    /// and calling `observe` after each one. A stop leaves the run `Stopped` (resumable); the
    /// caller marks a finished run with [`ResearchDb::finish_run`] once it has validated it.
    pub fn drive(
        &mut self,
        db: &mut ResearchDb,
        stop: &AtomicBool,
        mut observe: impl FnMut(&GenerationReport<P::Genome, P::Eval>, &Engine<'p, P>),
    ) -> Result<(Ending, Timing), RunError> {
        let mut timing = Timing::default();
        while !self.engine.is_done() {
            let started = Instant::now();
            let report = self.engine.step();
            let recorded = Instant::now();
            self.record(db, &report, started.elapsed())?;
            timing.recording += recorded.elapsed();
            timing.total += started.elapsed();
            timing.evaluating += report.eval_time;
            timing.evaluations += report.evaluations;
            observe(&report, &self.engine);
            if stop.load(Ordering::SeqCst) && !self.engine.is_done() {
                let generation = report.generation;
                let detail =
                    format!("stopped after generation {generation}; resume with --resume {}", self.id);
                db.record_event(self.id, &EventRecord { generation, kind: "stopped".into(), detail })?;
                db.finish_run(self.id, RunStatus::Stopped, now_ns(), None)?;
                return Ok((Ending::Stopped, timing));
            }
        }
        Ok((Ending::Finished, timing))
    }

    /// One generation, its new individuals and events, and the checkpoint, in one transaction.
    fn record(
        &self,
        db: &mut ResearchDb,
        report: &GenerationReport<P::Genome, P::Eval>,
        elapsed: Duration,
    ) -> Result<(), RunError> {
        let p = &self.provenance;
        let individuals: Vec<IndividualRecord> = report
            .evaluated
            .iter()
            .map(|e| {
                let (fitness, fitness_raw) = IndividualRecord::fitness_fields(e.fitness);
                IndividualRecord {
                    generation: report.generation,
                    key: e.key,
                    genome: serde_json::to_string(&e.genome).expect("genomes serialise"),
                    fitness,
                    fitness_raw,
                    metrics: serde_json::to_string(&e.eval).expect("evaluations serialise"),
                    first_ns: p.first_ns,
                    last_ns: p.last_ns,
                    data_hash: p.data_hash,
                    config_hash: p.config_hash,
                }
            })
            .collect();
        let events: Vec<EventRecord> = report
            .events
            .iter()
            .map(|e| EventRecord {
                generation: e.generation,
                kind: e.kind.name().into(),
                detail: e.detail.clone(),
            })
            .collect();
        let generation = GenerationRecord {
            generation: report.generation,
            best: report.best,
            best_ever: report.best_ever,
            mean: report.mean,
            median: report.median,
            diversity: report.diversity,
            evaluations: report.evaluations as u64,
            cache_hits: report.cache_hits as u64,
            invalid: report.invalid as u64,
            mutation_rate: report.mutation_rate,
            stagnant_for: report.stagnant_for,
            elapsed_ms: elapsed.as_secs_f64() * 1e3,
        };
        let checkpoint = serde_json::to_string(self.engine.state()).expect("engine state serialises");
        db.record_generation(self.id, &generation, &individuals, &events, &checkpoint)?;
        Ok(())
    }
}

impl Provenance {
    /// Refuses to resume `stored` on other data or under another configuration.
    pub fn check(&self, stored: &RunRecord) -> Result<(), RunError> {
        if stored.data_hash != self.data_hash {
            return Err(RunError::DataChanged {
                run: stored.id,
                stored: stored.data_hash,
                now: self.data_hash,
            });
        }
        if stored.config_hash != self.config_hash {
            return Err(RunError::ConfigChanged { run: stored.id, stored: stored.config_hash });
        }
        Ok(())
    }
}

/// The current time as UTC nanoseconds.
pub fn now_ns() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

//! What travels between the coordinator and the workers: evaluation tasks on the JetStream work
//! queue, replies on the run's own subject. Both are postcard (floats as their exact bits, so a
//! worker's figures are the coordinator's bit for bit).

use datasets::Timeframe;
use evolve::discovery::{GpEval, GpEvalSpec, GpProblem};
use evolve::problem::StrategyEval;
use gp::Genome;
use kernel::sim::TradeRules;
use kernel::strategy::{MarketData, ParamValue, by_name, data_hash};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

/// The JetStream stream of evaluation tasks (work-queue retention: a task is gone once acked).
pub const TASKS_STREAM: &str = "TRADEBOT_TASKS";
/// The subject tasks are published on.
pub const TASKS_SUBJECT: &str = "tradebot.tasks";
/// The durable pull consumer every worker pulls from: JetStream hands each task to one of them.
pub const CONSUMER: &str = "workers";

/// The subject a run's replies (claims, results, refusals) are published on.
pub fn reply_subject(run: &str) -> String {
    format!("tradebot.replies.{run}")
}

/// The bars a task is evaluated on, by reference: the worker loads them from its own store and
/// checks their hash before it evaluates anything.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// Bar timeframe.
    pub timeframe: Timeframe,
    /// The symbols, in the data's order (the order the clock was built in), by reference: the
    /// list itself goes into the object store once ([`crate::data::put_symbols`]).
    pub symbols: SymbolsRef,
    /// First bar of the stage (UTC ns).
    pub first_ns: i64,
    /// Last bar of the stage (UTC ns).
    pub last_ns: i64,
    /// [`data_hash`] of the stage's bars: what the run's provenance records.
    pub hash: u64,
    /// The coordinator's store manifest in the object store ([`crate::data`]), for a worker
    /// whose own store gives other bars; `None` when the data does not come from a store.
    pub manifest: Option<u64>,
}

impl DataRef {
    /// The reference to `data` (one stage of a run), without a shared store.
    pub fn of(data: &MarketData) -> DataRef {
        let ts = data.timestamps();
        DataRef {
            timeframe: data.timeframe(),
            symbols: SymbolsRef::of(&symbols_of(data)),
            first_ns: ts.first().copied().unwrap_or(0),
            last_ns: ts.last().copied().unwrap_or(0),
            hash: data_hash(data),
            manifest: None,
        }
    }
}

/// The symbol names of `data`, in its order.
pub fn symbols_of(data: &MarketData) -> Vec<String> {
    data.symbols().iter().map(|s| s.meta.symbol.to_string()).collect()
}

/// A symbol list by its hash: a task names it instead of carrying it (~30 kB at 5,000 symbols),
/// and a worker fetches the list once, checks it against the hash and keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymbolsRef {
    /// xxh3 of the list's bytes ([`SymbolsRef::bytes`]).
    pub hash: u64,
    /// How many symbols the list has.
    pub count: u32,
}

impl SymbolsRef {
    /// The reference to `symbols`.
    pub fn of(symbols: &[String]) -> SymbolsRef {
        SymbolsRef { hash: xxh3_64(&SymbolsRef::bytes(symbols)), count: symbols.len() as u32 }
    }

    /// The bytes `symbols` are stored as (postcard), which the hash is taken of.
    pub fn bytes(symbols: &[String]) -> Vec<u8> {
        encode(&symbols)
    }

    /// The list in `bytes`, when they are the list this refers to; why not otherwise (a
    /// worker refuses the task then, never evaluates on another list).
    pub fn check(&self, bytes: &[u8]) -> Result<Vec<String>, String> {
        let hash = xxh3_64(bytes);
        if hash != self.hash {
            return Err(format!(
                "the symbol list fetched for {:016x} ({} symbols) hashes to {hash:016x}: not used",
                self.hash, self.count
            ));
        }
        let symbols: Vec<String> = decode("symbol list", bytes).map_err(|e| e.to_string())?;
        if symbols.len() != self.count as usize {
            return Err(format!(
                "the symbol list {:016x} has {} symbols, the task says {}: not used",
                self.hash,
                symbols.len(),
                self.count
            ));
        }
        Ok(symbols)
    }
}

/// Everything besides the genomes that an evaluation depends on: the strategy, the costs, the
/// cash and the bars ([`StrategyEval::of`]). The fitness is not here: the coordinator scores the
/// figures it gets back, as a local run does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Registry name of the strategy.
    pub strategy: String,
    /// Costs and fill rules.
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// The bars.
    pub data: DataRef,
}

/// One task: some of a generation's new genomes (or of a sweep's parameter sets), to be
/// evaluated together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The run (coordinator instance and run id): replies go to [`reply_subject`] of it.
    pub run: String,
    /// The GA generation the genomes belong to (a sweep's scope).
    pub generation: u32,
    /// The batch of the run (a generation with immigrants has two).
    pub batch: u32,
    /// Position of the task in its batch.
    pub index: u32,
    /// What to evaluate, with what the evaluation depends on.
    pub work: Work,
}

/// What a task evaluates: the kind of run it comes from decides the evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Work {
    /// Parameter vectors of a registry strategy (research, evolve, sweep), each backtested by
    /// [`StrategyEval::of`].
    Tune {
        /// What the evaluation depends on.
        context: Context,
        /// The parameter vectors.
        genomes: Vec<Vec<ParamValue>>,
    },
    /// GP genomes of a discovery run (each as [`gp::Genome::to_bytes`]), evaluated as one batch
    /// by [`GpProblem::figures_batch`] on a problem built from the bars and `spec`.
    Discover {
        /// The in-sample bars.
        data: DataRef,
        /// What the evaluation depends on besides the bars ([`GpProblem::eval_spec`]).
        spec: GpEvalSpec,
        /// The genomes' binary form.
        genomes: Vec<Vec<u8>>,
    },
}

impl Work {
    /// The genomes (parameter sets) it holds.
    pub fn len(&self) -> usize {
        match self {
            Work::Tune { genomes, .. } => genomes.len(),
            Work::Discover { genomes, .. } => genomes.len(),
        }
    }

    /// Whether it holds no genome.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bars it is evaluated on.
    pub fn data(&self) -> &DataRef {
        match self {
            Work::Tune { context, .. } => &context.data,
            Work::Discover { data, .. } => data,
        }
    }

    /// Evaluates it on `data` (checked against [`Work::data`] already) with the code a local
    /// run uses; `Err` says why this process cannot (an unknown strategy, an undecodable genome:
    /// another tradebot version), so the task is refused.
    pub fn evaluate(&self, data: &MarketData) -> Result<Evals, String> {
        match self {
            Work::Tune { context, genomes } => {
                let strategy = by_name(&context.strategy).ok_or_else(|| {
                    format!("unknown strategy `{}` (is this worker's tradebot older?)", context.strategy)
                })?;
                let (rules, cash) = (context.rules, context.cash);
                let evals =
                    genomes.par_iter().map(|g| StrategyEval::of(strategy, g, data, rules, cash)).collect();
                Ok(Evals::Tune(evals))
            }
            Work::Discover { spec, genomes, .. } => {
                let genomes = genomes
                    .iter()
                    .map(|bytes| Genome::from_bytes(bytes))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        format!("undecodable GP genome ({e}): is every machine on the same tradebot?")
                    })?;
                let problem = GpProblem::for_evaluation(data, spec)?;
                Ok(Evals::Discover(problem.figures_batch(&genomes.iter().collect::<Vec<_>>())))
            }
        }
    }
}

impl Task {
    /// The message id JetStream de-duplicates publications by (a re-publish after a lost
    /// acknowledgement is dropped).
    pub fn message_id(&self) -> String {
        format!("{}.{}.{}", self.run, self.batch, self.index)
    }

    /// xxh3 of the genomes as sent: a result names it, so it is only ever matched with them.
    pub fn genomes_hash(&self) -> u64 {
        let bytes = match &self.work {
            Work::Tune { genomes, .. } => postcard::to_stdvec(genomes),
            Work::Discover { genomes, .. } => postcard::to_stdvec(genomes),
        };
        xxh3_64(&bytes.unwrap_or_default())
    }
}

/// A task's evaluations, in its order, of the kind of its [`Work`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Evals {
    /// Of [`Work::Tune`].
    Tune(#[serde(with = "wire")] Vec<StrategyEval>),
    /// Of [`Work::Discover`].
    Discover(#[serde(with = "wire::gp")] Vec<GpEval>),
}

impl Evals {
    /// Whether these are evaluations of `work`: its kind, one per genome.
    pub fn fit(&self, work: &Work) -> bool {
        match (self, work) {
            (Evals::Tune(e), Work::Tune { genomes, .. }) => e.len() == genomes.len(),
            (Evals::Discover(e), Work::Discover { genomes, .. }) => e.len() == genomes.len(),
            _ => false,
        }
    }

    /// Every genome of `work` scored invalid, saying `why`.
    pub fn failed(work: &Work, why: String) -> Evals {
        match work {
            Work::Tune { genomes, .. } => Evals::Tune(vec![StrategyEval::Failed(why); genomes.len()]),
            Work::Discover { genomes, .. } => Evals::Discover(vec![GpEval::Failed(why); genomes.len()]),
        }
    }

    /// The strategy evaluations (none for discovery evaluations, which [`Evals::fit`] keeps
    /// from ever answering a [`Work::Tune`]).
    pub fn into_tune(self) -> Vec<StrategyEval> {
        match self {
            Evals::Tune(evals) => evals,
            Evals::Discover(_) => Vec::new(),
        }
    }

    /// The GP evaluations (none for strategy evaluations; see [`Evals::into_tune`]).
    pub fn into_discover(self) -> Vec<GpEval> {
        match self {
            Evals::Discover(evals) => evals,
            Evals::Tune(_) => Vec::new(),
        }
    }
}

/// A worker's word about one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The task's batch.
    pub batch: u32,
    /// The task's position in the batch.
    pub index: u32,
    /// The worker (its `--name`, default host and process id).
    pub worker: String,
    /// What it says.
    pub body: ReplyBody,
}

/// What a worker says about a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ReplyBody {
    /// It took the task (JetStream's delivery count: 1 the first time), or is still on it.
    Claimed {
        /// How many times JetStream has delivered the task.
        delivery: u64,
    },
    /// The evaluations, in the task's order.
    Done {
        /// [`Task::genomes_hash`] of the task evaluated.
        genomes: u64,
        /// One evaluation per genome.
        evals: Evals,
        /// Wall time of the evaluation (ns).
        eval_ns: u64,
    },
    /// It will not evaluate the task (its store holds other bars, an unknown strategy): the
    /// coordinator evaluates it instead.
    Refused {
        /// Why, for the coordinator's log.
        reason: String,
    },
    /// The evaluation failed on the worker (a panic); JetStream delivers it again until its
    /// max-deliver limit, then the coordinator scores the genomes invalid with this reason.
    Failed {
        /// How many times JetStream has delivered the task.
        delivery: u64,
        /// The failure.
        reason: String,
    },
}

/// A message body that could not be decoded (another version of tradebot on the subject).
#[derive(Debug, thiserror::Error)]
#[error("undecodable {what} ({len} bytes): {source} (is every machine running the same tradebot version?)")]
pub struct DecodeError {
    /// A task or a reply.
    pub what: &'static str,
    /// Its size.
    pub len: usize,
    /// The postcard error.
    pub source: postcard::Error,
}

/// Evaluations as postcard carries them. Evolve's [`evolve::problem::Evaluation`] is stored as one
/// flat JSON object (its figures' fields beside `returns`, `#[serde(flatten)]`), a map of unknown
/// length that postcard cannot write; on the wire its two parts are nested instead.
mod wire {
    use evolve::problem::{Evaluation, StrategyEval};
    use evolve::stats::ReturnStats;
    use kernel::metrics::Figures;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A [`StrategyEval`] with its evaluation's parts nested.
    #[derive(Serialize, Deserialize)]
    enum Wire {
        Ran(Figures, ReturnStats),
        Failed(String),
    }

    pub fn serialize<S: Serializer>(evals: &[StrategyEval], s: S) -> Result<S::Ok, S::Error> {
        let wire: Vec<Wire> = evals
            .iter()
            .map(|e| match e {
                StrategyEval::Ran(ev) => Wire::Ran(ev.figures, ev.returns),
                StrategyEval::Failed(why) => Wire::Failed(why.clone()),
            })
            .collect();
        wire.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<StrategyEval>, D::Error> {
        let wire = Vec::<Wire>::deserialize(d)?;
        Ok(wire
            .into_iter()
            .map(|w| match w {
                Wire::Ran(figures, returns) => StrategyEval::Ran(Evaluation { figures, returns }),
                Wire::Failed(why) => StrategyEval::Failed(why),
            })
            .collect())
    }

    /// GP evaluations as postcard carries them (their [`Evaluation`] nested likewise).
    pub mod gp {
        use evolve::discovery::{GpEval, GpFigures};
        use evolve::problem::Evaluation;
        use evolve::stats::ReturnStats;
        use kernel::metrics::Figures;
        use novelty::BehaviourDescriptor;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        /// A [`GpFigures`]' parts: figures, return moments, nodes, descriptor, parents, portfolio.
        type Parts = (Figures, ReturnStats, usize, Option<BehaviourDescriptor>, Vec<u64>, Option<f64>);

        /// A [`GpEval`] with its evaluation's parts nested.
        #[derive(Serialize, Deserialize)]
        enum Wire {
            Ran(Box<Parts>),
            Failed(String),
        }

        pub fn serialize<S: Serializer>(evals: &[GpEval], s: S) -> Result<S::Ok, S::Error> {
            let wire: Vec<Wire> = evals
                .iter()
                .map(|e| match e {
                    GpEval::Ran(f) => Wire::Ran(Box::new((
                        f.figures.figures,
                        f.figures.returns,
                        f.nodes,
                        f.descriptor,
                        f.parents.clone(),
                        f.portfolio,
                    ))),
                    GpEval::Failed(why) => Wire::Failed(why.clone()),
                })
                .collect();
            wire.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<GpEval>, D::Error> {
            let wire = Vec::<Wire>::deserialize(d)?;
            Ok(wire
                .into_iter()
                .map(|w| match w {
                    Wire::Ran(parts) => {
                        let (figures, returns, nodes, descriptor, parents, portfolio) = *parts;
                        GpEval::Ran(Box::new(GpFigures {
                            figures: Evaluation { figures, returns },
                            nodes,
                            descriptor,
                            parents,
                            portfolio,
                        }))
                    }
                    Wire::Failed(why) => GpEval::Failed(why),
                })
                .collect())
        }
    }
}

/// The postcard bytes of `value`.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("tasks and replies serialise (no maps with non-string keys)")
}

/// `bytes` decoded as a `what`.
pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, DecodeError> {
    postcard::from_bytes(bytes).map_err(|source| DecodeError { what, len: bytes.len(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use evolve::problem::Evaluation;
    use evolve::stats::ReturnStats;

    /// Evaluations go through a reply bit for bit, NaN moments included; genomes, rules and the data
    /// reference come back equal.
    #[test]
    fn tasks_and_replies_round_trip_exactly() {
        let task = Task {
            run: "00ff-7".into(),
            generation: 3,
            batch: 4,
            index: 1,
            work: Work::Tune {
                context: Context {
                    strategy: "sma_cross".into(),
                    rules: TradeRules::default(),
                    cash: 10_000.0,
                    data: DataRef {
                        timeframe: Timeframe::Day1,
                        symbols: SymbolsRef::of(&["SPY".into(), "QQQ".into()]),
                        first_ns: 1,
                        last_ns: 2,
                        hash: 0xdead_beef,
                        manifest: Some(7),
                    },
                },
                genomes: vec![vec![ParamValue::Int(5), ParamValue::Real(0.1 + 0.2)]],
            },
        };
        let back: Task = decode("task", &encode(&task)).unwrap();
        assert_eq!(back, task);
        assert_eq!(back.genomes_hash(), task.genomes_hash());
        assert_eq!(task.message_id(), "00ff-7.4.1");

        let returns = ReturnStats::of(&[0.01, -0.02, 0.003]);
        let figures = Evaluation::with_returns(&kernel::metrics::Metrics::default(), 1.0 / 3.0, returns);
        let reply = Reply {
            batch: 4,
            index: 1,
            worker: "w".into(),
            body: ReplyBody::Done {
                genomes: 9,
                evals: Evals::Tune(vec![StrategyEval::Ran(figures.clone())]),
                eval_ns: 5,
            },
        };
        let ReplyBody::Done { evals: Evals::Tune(evals), .. } =
            decode::<Reply>("reply", &encode(&reply)).unwrap().body
        else {
            panic!("not a result")
        };
        let StrategyEval::Ran(back) = &evals[0] else { panic!("not a figure set") };
        assert_eq!(back.figures.final_equity.to_bits(), figures.figures.final_equity.to_bits());
        assert_eq!(back.returns.sharpe.to_bits(), figures.returns.sharpe.to_bits());
        let error = decode::<Task>("task", b"\x01").unwrap_err();
        assert!(error.to_string().contains("undecodable task"), "{error}");
    }

    /// A discovery task (genomes in binary form, novelty and portfolio inputs) and its GP
    /// evaluations go through the wire exactly; evaluations of another kind do not fit it.
    #[test]
    fn discovery_tasks_and_their_evaluations_round_trip_exactly() {
        use evolve::discovery::{GpFigures, PortfolioInput};
        use portfolio_fitness::{DailyReturns, PortfolioFitnessConfig, PortfolioMember};
        let genome: Genome = "(strategy (entry (cross-above (ema 10 close) (ema 40 close))) (exit (cross-above (ema 40 close) (ema 10 close))) (size 1))"
            .parse()
            .unwrap();
        let returns = DailyReturns::new(vec![1, 2], vec![0.01, -0.003]).unwrap();
        let promoted = vec![PortfolioMember { name: "p".into(), allocation: 0.5, returns }];
        let spec = GpEvalSpec {
            rules: TradeRules::default(),
            cash: 10_000.0,
            cache_bytes: Some(1 << 20),
            novelty: Some(novelty::NoveltyConfig::default()),
            portfolio: Some(PortfolioInput {
                config: PortfolioFitnessConfig::default(),
                promoted,
                weight: 0.5,
            }),
        };
        let data = DataRef {
            timeframe: Timeframe::Day1,
            symbols: SymbolsRef::of(&["SPY".into()]),
            first_ns: 1,
            last_ns: 2,
            hash: 3,
            manifest: None,
        };
        let work = Work::Discover { data, spec, genomes: vec![genome.to_bytes()] };
        let task = Task { run: "r".into(), generation: 1, batch: 1, index: 0, work };
        let back: Task = decode("task", &encode(&task)).unwrap();
        assert_eq!(back, task);
        let Work::Discover { genomes, .. } = &back.work else { panic!("not a discovery task") };
        assert_eq!(Genome::from_bytes(&genomes[0]).unwrap(), genome);

        let figures = Evaluation::with_returns(
            &kernel::metrics::Metrics::default(),
            1.0 / 3.0,
            ReturnStats::of(&[0.01, 0.02]),
        );
        let ran = GpFigures {
            figures,
            nodes: 7,
            descriptor: None,
            parents: vec![4, 5],
            portfolio: Some(0.1 + 0.2),
        };
        let evals = Evals::Discover(vec![GpEval::Ran(Box::new(ran))]);
        let back: Evals = decode("evaluations", &encode(&evals)).unwrap();
        assert_eq!(back, evals);
        assert!(back.fit(&task.work));
        assert!(!Evals::failed(&task.work, "x".into()).fit(&Work::Tune {
            context: Context {
                strategy: "s".into(),
                rules: TradeRules::default(),
                cash: 1.0,
                data: task.work.data().clone()
            },
            genomes: vec![vec![]],
        }));
    }

    /// A symbol list is accepted only as the bytes its reference hashes: another list (or a
    /// damaged one) is refused with both hashes.
    #[test]
    fn a_symbol_list_is_checked_against_its_reference() {
        let list: Vec<String> = vec!["SPY".into(), "QQQ".into(), "IWM".into()];
        let reference = SymbolsRef::of(&list);
        assert_eq!(reference.count, 3);
        assert_eq!(reference.check(&SymbolsRef::bytes(&list)).unwrap(), list);
        let other = SymbolsRef::bytes(&list[..2]);
        let error = reference.check(&other).unwrap_err();
        assert!(error.contains(&format!("{:016x}", reference.hash)) && error.contains("not used"), "{error}");
        let lying = SymbolsRef { count: 2, ..reference };
        assert!(lying.check(&SymbolsRef::bytes(&list)).unwrap_err().contains("has 3 symbols"));
    }
}

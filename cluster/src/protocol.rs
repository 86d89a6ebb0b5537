//! What travels between the coordinator and the workers: evaluation tasks on the JetStream work
//! queue, replies on the run's own subject. Both are postcard (floats as their exact bits, so a
//! worker's figures are the coordinator's bit for bit).

use datasets::Timeframe;
use evolve::problem::StrategyEval;
use kernel::sim::TradeRules;
use kernel::strategy::{MarketData, ParamValue, data_hash};
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

/// One task: some of a generation's new genomes, to be evaluated together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The run (coordinator instance and run id): replies go to [`reply_subject`] of it.
    pub run: String,
    /// The GA generation the genomes belong to.
    pub generation: u32,
    /// The batch of the run (a generation with immigrants has two).
    pub batch: u32,
    /// Position of the task in its batch.
    pub index: u32,
    /// What the evaluation depends on.
    pub context: Context,
    /// The parameter vectors.
    pub genomes: Vec<Vec<ParamValue>>,
}

impl Task {
    /// The message id JetStream de-duplicates publications by (a re-publish after a lost
    /// acknowledgement is dropped).
    pub fn message_id(&self) -> String {
        format!("{}.{}.{}", self.run, self.batch, self.index)
    }

    /// xxh3 of the genomes as sent: a result names it, so it is only ever matched with them.
    pub fn genomes_hash(&self) -> u64 {
        xxh3_64(&postcard::to_stdvec(&self.genomes).unwrap_or_default())
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
        #[serde(with = "wire")]
        evals: Vec<StrategyEval>,
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
            body: ReplyBody::Done { genomes: 9, evals: vec![StrategyEval::Ran(figures.clone())], eval_ns: 5 },
        };
        let ReplyBody::Done { evals, .. } = decode::<Reply>("reply", &encode(&reply)).unwrap().body else {
            panic!("not a result")
        };
        let StrategyEval::Ran(back) = &evals[0] else { panic!("not a figure set") };
        assert_eq!(back.figures.final_equity.to_bits(), figures.figures.final_equity.to_bits());
        assert_eq!(back.returns.sharpe.to_bits(), figures.returns.sharpe.to_bits());
        let error = decode::<Task>("task", b"\x01").unwrap_err();
        assert!(error.to_string().contains("undecodable task"), "{error}");
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

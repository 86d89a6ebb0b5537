//! GA engine overhead per generation: a strategy-like genome with a near-free evaluation, then
//! with an evaluation that busy-waits a fixed time, so the engine's share can be quoted.
//!
//! `cargo run -p evolve --release --example ga_overhead`

use std::hint::black_box;
use std::time::{Duration, Instant};

use evolve::ga::{Engine, GaConfig, Pcg64, Problem};
use evolve::genes::{Gene, ParamGenes};
use kernel::strategy::ParamValue;

/// Six parameters of mixed kinds; the evaluation costs `work` (zero: a few nanoseconds).
struct Trivial {
    genes: ParamGenes,
    work: Duration,
}

impl Problem for Trivial {
    type Genome = Vec<ParamValue>;
    type Eval = f64;
    type Memory = ();

    fn random(&self, rng: &mut Pcg64) -> Self::Genome {
        self.genes.random(rng)
    }
    fn crossover(&self, a: &Self::Genome, b: &Self::Genome, rng: &mut Pcg64) -> Self::Genome {
        self.genes.crossover(a, b, rng)
    }
    fn mutate(&self, genome: &mut Self::Genome, rate: f64, rng: &mut Pcg64) {
        self.genes.mutate(genome, rate, rng)
    }
    fn distance(&self, a: &Self::Genome, b: &Self::Genome) -> f64 {
        self.genes.distance(a, b)
    }
    fn key(&self, genome: &Self::Genome) -> u64 {
        self.genes.key(genome)
    }
    fn evaluate(&self, genome: &Self::Genome) -> f64 {
        let start = Instant::now();
        while start.elapsed() < self.work {
            black_box(0);
        }
        genome
            .iter()
            .map(|v| match *v {
                ParamValue::Int(x) => -(x as f64 - 20.0).abs(),
                ParamValue::Real(x) => -x * x,
                ParamValue::Choice(i) => -(i as f64),
            })
            .sum()
    }
    fn fitness(&self, eval: &f64) -> f64 {
        *eval
    }
}

fn main() {
    let genes = ParamGenes::new(vec![
        Gene::Int { min: 2, max: 200 },
        Gene::Int { min: 5, max: 400 },
        Gene::Real { min: 0.5, max: 5.0 },
        Gene::Real { min: -1.0, max: 1.0 },
        Gene::Choice { n: 3 },
        Gene::Listed(vec![ParamValue::Real(0.01), ParamValue::Real(0.02), ParamValue::Real(0.05)]),
    ])
    .expect("valid genes");
    let threads = rayon::current_num_threads();
    let cases = [(Duration::ZERO, 2000), (Duration::from_micros(50), 200), (Duration::from_micros(200), 100)];
    for (work, generations) in cases {
        let problem = Trivial { genes: genes.clone(), work };
        // The fastest of five runs: the least disturbed by whatever else the machine is doing.
        let (total, eval_time) = (0..5)
            .map(|_| {
                let config = GaConfig { generations, ..GaConfig::default() };
                let mut engine = Engine::new(&problem, config).expect("valid config");
                let mut eval_time = Duration::ZERO;
                let start = Instant::now();
                while !engine.is_done() {
                    eval_time += engine.step().eval_time;
                }
                (start.elapsed(), eval_time)
            })
            .min()
            .expect("five runs");
        let per_gen = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(generations);
        println!(
            "evaluate {work:?}, population 40, {threads} threads: {:.1} µs/generation, evaluation {:.1} µs, \
             engine {:.1} µs ({:.1}%)",
            per_gen(total),
            per_gen(eval_time),
            per_gen(total - eval_time),
            100.0 * (total - eval_time).as_secs_f64() / total.as_secs_f64()
        );
    }
}

//! The parameter genome: one kind-aware gene per strategy parameter, with the GA's variation
//! operators over `Vec<ParamValue>`.
//!
//! A [`Gene`] is the domain a value may take: an integer or real range, a choice among `n`
//! options, an explicit ordered list (from an experiment file) or a fixed value. [`ParamGenes`]
//! implements random sampling, crossover, mutation, distance and a stable key over genomes;
//! a strategy's `Problem` implementation delegates to it.

use kernel::strategy::{ParamKind, ParamSpace, ParamValue};
use rand::Rng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

/// Mutation step (integers and reals) as a share of the gene's range.
const STEP_SHARE: f64 = 0.1;

/// Largest index step of a listed gene's mutation.
const LIST_STEP: usize = 2;

/// The domain of one gene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Gene {
    /// A whole number in `min..=max`.
    Int {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// A real number in `[min, max]`.
    Real {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
    },
    /// One of `n` options, as an index (no order between options).
    Choice {
        /// Number of options.
        n: usize,
    },
    /// One of an explicit ordered list of values; mutation steps to a neighbouring index.
    Listed(Vec<ParamValue>),
    /// Always this value.
    Fixed(ParamValue),
}

/// A gene domain that cannot be searched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeneError {
    /// An empty or reversed range, a non-finite real bound, no options or an empty list.
    #[error("gene {index}: {reason}")]
    Invalid {
        /// Position of the gene.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A genome layout: one [`Gene`] per parameter, in the parameter space's order. Serialised as
/// the plain list of genes, checked again when deserialised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Gene>", into = "Vec<Gene>")]
pub struct ParamGenes {
    genes: Vec<Gene>,
    /// Per gene, what scales a raw difference into [0, 1] for [`ParamGenes::distance`]:
    /// 1 / range (1 for a choice), 0 where values cannot differ.
    inverse_range: Vec<f64>,
}

impl ParamGenes {
    /// Checks every gene's domain.
    pub fn new(genes: Vec<Gene>) -> Result<Self, GeneError> {
        for (index, gene) in genes.iter().enumerate() {
            let reason = match gene {
                Gene::Int { min, max } if min > max => format!("integer range {min}..={max} is empty"),
                Gene::Real { min, max } if !(min.is_finite() && max.is_finite() && min <= max) => {
                    format!("real range [{min}, {max}] is not a finite interval")
                }
                Gene::Choice { n: 0 } => "a choice needs at least one option".to_string(),
                Gene::Listed(values) if values.is_empty() => "the list of values is empty".to_string(),
                Gene::Listed(values)
                    if values.iter().any(|v| matches!(v, ParamValue::Real(x) if !x.is_finite())) =>
                {
                    "the list holds a non-finite real".to_string()
                }
                _ => continue,
            };
            return Err(GeneError::Invalid { index, reason });
        }
        let inverse = |range: f64| if range > 0.0 { 1.0 / range } else { 0.0 };
        let inverse_range = genes
            .iter()
            .map(|gene| match gene {
                Gene::Int { min, max } => inverse(max.abs_diff(*min) as f64),
                Gene::Real { min, max } => inverse(max - min),
                Gene::Choice { .. } => 1.0,
                Gene::Listed(values) => inverse((values.len() - 1) as f64),
                Gene::Fixed(_) => 0.0,
            })
            .collect();
        Ok(ParamGenes { genes, inverse_range })
    }

    /// The genes of a strategy's whole parameter space, each over its full declared domain.
    pub fn from_space(space: &ParamSpace) -> Result<Self, GeneError> {
        let gene = |kind: ParamKind| match kind {
            ParamKind::Integer { min, max } => Gene::Int { min, max },
            ParamKind::Real { min, max } => Gene::Real { min, max },
            ParamKind::Choice(options) => Gene::Choice { n: options.len() },
        };
        ParamGenes::new(space.specs().iter().map(|s| gene(s.kind)).collect())
    }

    /// The genes in order.
    pub fn genes(&self) -> &[Gene] {
        &self.genes
    }

    /// Whether `genome` has one value per gene, each of the gene's kind and inside its domain.
    pub fn contains(&self, genome: &[ParamValue]) -> bool {
        genome.len() == self.genes.len()
            && self.genes.iter().zip(genome).all(|(gene, &v)| match (gene, v) {
                (Gene::Int { min, max }, ParamValue::Int(x)) => (*min..=*max).contains(&x),
                (Gene::Real { min, max }, ParamValue::Real(x)) => x >= *min && x <= *max,
                (Gene::Choice { n }, ParamValue::Choice(i)) => i < *n,
                (Gene::Listed(values), v) => values.contains(&v),
                (Gene::Fixed(f), v) => *f == v,
                _ => false,
            })
    }

    /// A uniformly random genome.
    pub fn random(&self, rng: &mut Pcg64) -> Vec<ParamValue> {
        self.genes
            .iter()
            .map(|gene| match gene {
                Gene::Int { min, max } => ParamValue::Int(rng.random_range(*min..=*max)),
                Gene::Real { min, max } => ParamValue::Real(uniform(*min, *max, rng)),
                Gene::Choice { n } => ParamValue::Choice(rng.random_range(0..*n)),
                Gene::Listed(values) => values[rng.random_range(0..values.len())],
                Gene::Fixed(v) => *v,
            })
            .collect()
    }

    /// A child of `a` and `b`, uniform per gene: each gene from either parent with probability
    /// ½, except that a real gene is, with probability ½, a BLX-0.5 blend instead (uniform on
    /// the parents' interval widened by half its length each side, clipped to the range).
    pub fn crossover(&self, a: &[ParamValue], b: &[ParamValue], rng: &mut Pcg64) -> Vec<ParamValue> {
        self.check_len(a);
        self.check_len(b);
        self.genes
            .iter()
            .zip(a.iter().zip(b))
            .map(|(gene, (&x, &y))| match (gene, x, y) {
                (Gene::Real { min, max }, ParamValue::Real(x), ParamValue::Real(y))
                    if rng.random_bool(0.5) =>
                {
                    let spread = (x - y).abs() / 2.0;
                    let v = uniform(x.min(y) - spread, x.max(y) + spread, rng);
                    ParamValue::Real(v.clamp(*min, *max))
                }
                _ if rng.random_bool(0.5) => x,
                _ => y,
            })
            .collect()
    }

    /// Mutates each gene with probability `rate`: an integer by a Gaussian step (σ = 10% of its
    /// range, at least 1, never 0, clipped; the other way when at that bound), a real by a
    /// Gaussian step (σ = 10% of its range, clipped), a choice to a different option, a listed
    /// value to an index 1 or 2 away. Fixed genes and one-value domains never change.
    pub fn mutate(&self, genome: &mut [ParamValue], rate: f64, rng: &mut Pcg64) {
        self.check_len(genome);
        for (gene, value) in self.genes.iter().zip(genome.iter_mut()) {
            if !rng.random_bool(rate.clamp(0.0, 1.0)) {
                continue;
            }
            *value = match (gene, *value) {
                (Gene::Int { min, max }, ParamValue::Int(x)) => {
                    ParamValue::Int(mutate_int(x, *min, *max, rng))
                }
                (Gene::Real { min, max }, ParamValue::Real(x)) => {
                    let step = normal(rng) * STEP_SHARE * (max - min);
                    ParamValue::Real((x + step).clamp(*min, *max))
                }
                (Gene::Choice { n }, ParamValue::Choice(i)) => {
                    ParamValue::Choice(other_index(i, 0, n - 1, rng))
                }
                (Gene::Listed(values), v) => {
                    let i = list_index(values, v);
                    let lo = i.saturating_sub(LIST_STEP);
                    values[other_index(i, lo, (i + LIST_STEP).min(values.len() - 1), rng)]
                }
                (Gene::Fixed(v), _) => *v,
                (gene, v) => mismatch(gene, v),
            };
        }
    }

    /// Mean over genes of the normalised per-gene distance: |a − b| / range for integers, reals
    /// and listed indices, 0 or 1 for choices, 0 for fixed genes. In [0, 1]; 0 for equal genomes.
    pub fn distance(&self, a: &[ParamValue], b: &[ParamValue]) -> f64 {
        self.check_len(a);
        self.check_len(b);
        if self.genes.is_empty() {
            return 0.0;
        }
        let total: f64 = self
            .genes
            .iter()
            .zip(&self.inverse_range)
            .zip(a.iter().zip(b))
            .map(|((gene, &inverse_range), (&x, &y))| {
                if x == y {
                    return 0.0;
                }
                let raw = match (gene, x, y) {
                    (Gene::Int { .. }, ParamValue::Int(x), ParamValue::Int(y)) => x.abs_diff(y) as f64,
                    (Gene::Real { .. }, ParamValue::Real(x), ParamValue::Real(y)) => (x - y).abs(),
                    (Gene::Choice { .. }, ParamValue::Choice(_), ParamValue::Choice(_)) => 1.0,
                    (Gene::Listed(values), x, y) => {
                        list_index(values, x).abs_diff(list_index(values, y)) as f64
                    }
                    (Gene::Fixed(_), _, _) => 0.0,
                    (gene, x, _) => mismatch(gene, x),
                };
                (raw * inverse_range).min(1.0)
            })
            .sum();
        total / self.genes.len() as f64
    }

    /// The coordinate-wise median of `genomes` (at least one): per gene the lower median of the
    /// values (of the list indices for a listed gene) — a value some genome has, so the median
    /// of whole numbers stays whole — and the most common option of a choice (the lowest of
    /// equally common ones), which is what minimises the summed [`distance`](Self::distance)
    /// along that gene.
    pub fn median(&self, genomes: &[&[ParamValue]]) -> Vec<ParamValue> {
        assert!(!genomes.is_empty(), "the median of no genomes");
        genomes.iter().for_each(|g| self.check_len(g));
        let lower_median = |mut xs: Vec<ParamValue>, order: &dyn Fn(&ParamValue) -> f64| {
            xs.sort_by(|a, b| order(a).total_cmp(&order(b)));
            xs[(xs.len() - 1) / 2]
        };
        self.genes
            .iter()
            .enumerate()
            .map(|(k, gene)| {
                let column: Vec<ParamValue> = genomes.iter().map(|g| g[k]).collect();
                match gene {
                    Gene::Int { .. } | Gene::Real { .. } => lower_median(column, &|v| match *v {
                        ParamValue::Int(x) => x as f64,
                        ParamValue::Real(x) => x,
                        other => mismatch(gene, other),
                    }),
                    Gene::Listed(values) => lower_median(column, &|v| list_index(values, *v) as f64),
                    Gene::Choice { n } => {
                        let mut counts = vec![0usize; *n];
                        for v in &column {
                            match *v {
                                ParamValue::Choice(i) if i < *n => counts[i] += 1,
                                other => mismatch(gene, other),
                            }
                        }
                        let most = counts.iter().copied().max().unwrap_or(0);
                        ParamValue::Choice(counts.iter().position(|&c| c == most).unwrap_or(0))
                    }
                    Gene::Fixed(v) => *v,
                }
            })
            .collect()
    }

    /// A stable 64-bit identity: xxh3 of each value's kind tag and bit pattern (−0.0 as 0.0),
    /// so equal genomes give equal keys on every platform and run.
    pub fn key(&self, genome: &[ParamValue]) -> u64 {
        let mut buf = Vec::with_capacity(9 * genome.len());
        for v in genome {
            let (tag, bits) = match *v {
                ParamValue::Int(x) => (b'i', x as u64),
                ParamValue::Real(x) => (b'r', if x == 0.0 { 0 } else { x.to_bits() }),
                ParamValue::Choice(i) => (b'c', i as u64),
            };
            buf.push(tag);
            buf.extend_from_slice(&bits.to_le_bytes());
        }
        xxhash_rust::xxh3::xxh3_64(&buf)
    }

    fn check_len(&self, genome: &[ParamValue]) {
        assert_eq!(
            genome.len(),
            self.genes.len(),
            "genome length does not match its {} genes",
            self.genes.len()
        );
    }
}

impl TryFrom<Vec<Gene>> for ParamGenes {
    type Error = GeneError;

    fn try_from(genes: Vec<Gene>) -> Result<Self, GeneError> {
        ParamGenes::new(genes)
    }
}

impl From<ParamGenes> for Vec<Gene> {
    fn from(genes: ParamGenes) -> Self {
        genes.genes
    }
}

/// A uniform draw in `[lo, hi)` (`lo` when the interval is empty).
fn uniform(lo: f64, hi: f64, rng: &mut Pcg64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Pcg64) -> f64 {
    let u = 1.0 - rng.random::<f64>();
    let v = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// An integer mutation: a non-zero Gaussian step, clipped to the range, or taken the other way
/// if the value sits at the bound it would be clipped to.
fn mutate_int(x: i64, min: i64, max: i64, rng: &mut Pcg64) -> i64 {
    if min == max {
        return x;
    }
    let sigma = (STEP_SHARE * max.abs_diff(min) as f64).max(1.0);
    let z = normal(rng) * sigma;
    let step = match z.round() as i128 {
        0 if z < 0.0 => -1,
        0 => 1,
        s => s,
    };
    let (x, lo, hi) = (i128::from(x), i128::from(min), i128::from(max));
    let forward = (x + step).clamp(lo, hi);
    let moved = if forward == x { (x - step).clamp(lo, hi) } else { forward };
    moved as i64
}

/// A uniformly chosen index in `lo..=hi` other than `i` (`i` itself if there is no other).
fn other_index(i: usize, lo: usize, hi: usize, rng: &mut Pcg64) -> usize {
    if hi <= lo {
        return i;
    }
    let j = rng.random_range(lo..hi);
    if j >= i { j + 1 } else { j }
}

/// Position of `v` in a listed gene's values.
fn list_index(values: &[ParamValue], v: ParamValue) -> usize {
    values.iter().position(|&x| x == v).unwrap_or_else(|| panic!("genome value {v:?} is not in {values:?}"))
}

/// A genome value of the wrong kind for its gene: a caller bug, not an input error.
fn mismatch(gene: &Gene, v: ParamValue) -> ! {
    panic!("genome value {v:?} does not fit gene {gene:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::strategy::ParamSpec;
    use rand::SeedableRng;

    fn genes() -> ParamGenes {
        ParamGenes::new(vec![
            Gene::Int { min: -3, max: 40 },
            Gene::Int { min: 5, max: 6 },
            Gene::Real { min: -2.5, max: 7.0 },
            Gene::Choice { n: 4 },
            Gene::Listed(vec![
                ParamValue::Int(5),
                ParamValue::Int(10),
                ParamValue::Int(20),
                ParamValue::Int(50),
            ]),
            Gene::Listed(vec![ParamValue::Real(0.5), ParamValue::Real(1.5)]),
            Gene::Fixed(ParamValue::Real(0.25)),
            Gene::Int { min: 7, max: 7 },
            Gene::Choice { n: 1 },
        ])
        .unwrap()
    }

    #[test]
    fn operators_stay_inside_every_domain() {
        let g = genes();
        let mut rng = Pcg64::seed_from_u64(1);
        let mut seen_blend = false;
        for _ in 0..3000 {
            let a = g.random(&mut rng);
            let b = g.random(&mut rng);
            assert!(g.contains(&a), "{a:?}");
            let c = g.crossover(&a, &b, &mut rng);
            assert!(g.contains(&c), "{c:?}");
            for (k, (&v, (&x, &y))) in c.iter().zip(a.iter().zip(&b)).enumerate() {
                if k != 2 {
                    assert!(v == x || v == y, "gene {k}: {v:?} from neither parent");
                } else if v != x && v != y {
                    seen_blend = true;
                }
            }
            let mut m = a.clone();
            g.mutate(&mut m, 1.0, &mut rng);
            assert!(g.contains(&m), "{m:?}");
            assert_ne!(m[0], a[0], "an integer mutation always moves");
            assert_ne!(m[1], a[1], "even in a two-value range");
            assert_ne!(m[3], a[3], "a choice mutates to another option");
            let index =
                |v: ParamValue| [5, 10, 20, 50].iter().position(|&x| ParamValue::Int(x) == v).unwrap();
            let step = index(m[4]).abs_diff(index(a[4]));
            assert!((1..=2).contains(&step), "listed step {step}");
            assert_ne!(m[5], a[5]);
            assert_eq!(m[6..], a[6..], "fixed and one-value genes never change");
            let mut same = a.clone();
            g.mutate(&mut same, 0.0, &mut rng);
            assert_eq!(same, a);
        }
        assert!(seen_blend, "reals are blended, not only swapped");
    }

    #[test]
    fn mutation_steps_are_about_a_tenth_of_the_range() {
        let g = ParamGenes::new(vec![Gene::Real { min: 0.0, max: 100.0 }, Gene::Int { min: 0, max: 1000 }])
            .unwrap();
        let mut rng = Pcg64::seed_from_u64(2);
        let (mut real, mut int) = (0.0, 0.0);
        let n = 4000;
        for _ in 0..n {
            let mut m = vec![ParamValue::Real(50.0), ParamValue::Int(500)];
            g.mutate(&mut m, 1.0, &mut rng);
            let (ParamValue::Real(x), ParamValue::Int(i)) = (m[0], m[1]) else { unreachable!() };
            real += (x - 50.0).powi(2);
            int += ((i - 500) as f64).powi(2);
        }
        let (sd_real, sd_int) = ((real / n as f64).sqrt(), (int / n as f64).sqrt());
        assert!((sd_real - 10.0).abs() < 0.5, "{sd_real}");
        assert!((sd_int - 100.0).abs() < 5.0, "{sd_int}");
        // At the bound, a step out of range is taken the other way.
        let g = ParamGenes::new(vec![Gene::Int { min: 0, max: 3 }]).unwrap();
        for _ in 0..200 {
            let mut m = vec![ParamValue::Int(3)];
            g.mutate(&mut m, 1.0, &mut rng);
            assert!(matches!(m[0], ParamValue::Int(0..=2)), "{m:?}");
        }
    }

    #[test]
    fn distance_is_a_normalised_mean() {
        let g = genes();
        let mut rng = Pcg64::seed_from_u64(3);
        for _ in 0..2000 {
            let a = g.random(&mut rng);
            let b = g.random(&mut rng);
            let d = g.distance(&a, &b);
            assert!((0.0..=1.0).contains(&d), "{d}");
            assert_eq!(d.to_bits(), g.distance(&b, &a).to_bits());
            assert_eq!(g.distance(&a, &a), 0.0);
        }
        let lo = vec![
            ParamValue::Int(-3),
            ParamValue::Int(5),
            ParamValue::Real(-2.5),
            ParamValue::Choice(0),
            ParamValue::Int(5),
            ParamValue::Real(0.5),
            ParamValue::Real(0.25),
            ParamValue::Int(7),
            ParamValue::Choice(0),
        ];
        let mut hi = lo.clone();
        hi[..6].copy_from_slice(&[
            ParamValue::Int(40),
            ParamValue::Int(6),
            ParamValue::Real(7.0),
            ParamValue::Choice(3),
            ParamValue::Int(50),
            ParamValue::Real(1.5),
        ]);
        assert_eq!(g.distance(&lo, &hi), 6.0 / 9.0, "six genes at full distance, three that cannot differ");
        let mut near = lo.clone();
        near[0] = ParamValue::Int(18); // 21 of 43 steps from -3
        near[4] = ParamValue::Int(10); // one index of three
        assert!((g.distance(&lo, &near) - (21.0 / 43.0 + 1.0 / 3.0) / 9.0).abs() < 1e-15);
    }

    #[test]
    fn keys_identify_values() {
        let g = genes();
        let mut rng = Pcg64::seed_from_u64(4);
        let a = g.random(&mut rng);
        assert_eq!(g.key(&a), g.key(&a.clone()));
        let mut b = a.clone();
        b[2] = match b[2] {
            ParamValue::Real(x) => ParamValue::Real(f64::from_bits(x.to_bits() + 1)),
            v => v,
        };
        assert_ne!(g.key(&a), g.key(&b), "one ulp apart");
        let z = ParamGenes::new(vec![Gene::Real { min: -1.0, max: 1.0 }]).unwrap();
        assert_eq!(z.key(&[ParamValue::Real(0.0)]), z.key(&[ParamValue::Real(-0.0)]));
        assert_ne!(z.key(&[ParamValue::Int(1)]), z.key(&[ParamValue::Choice(1)]), "kinds are tagged");
        // Pinned: keys identify cached evaluations across runs and builds.
        assert_eq!(
            z.key(&[ParamValue::Int(1), ParamValue::Real(0.5), ParamValue::Choice(2)]),
            1000615502730457650
        );
    }

    #[test]
    fn genes_are_checked_and_follow_the_space() {
        let bad = |gene: Gene| ParamGenes::new(vec![Gene::Choice { n: 2 }, gene]).unwrap_err().to_string();
        assert_eq!(bad(Gene::Int { min: 3, max: 2 }), "gene 1: integer range 3..=2 is empty");
        assert_eq!(
            bad(Gene::Real { min: 0.0, max: f64::INFINITY }),
            "gene 1: real range [0, inf] is not a finite interval"
        );
        assert_eq!(bad(Gene::Choice { n: 0 }), "gene 1: a choice needs at least one option");
        assert_eq!(bad(Gene::Listed(vec![])), "gene 1: the list of values is empty");
        static SPACE: ParamSpace = ParamSpace::new(&[
            ParamSpec { name: "n", kind: ParamKind::Integer { min: 2, max: 9 }, default: ParamValue::Int(3) },
            ParamSpec {
                name: "k",
                kind: ParamKind::Real { min: 0.5, max: 5.0 },
                default: ParamValue::Real(2.0),
            },
            ParamSpec {
                name: "m",
                kind: ParamKind::Choice(&["a", "b", "c"]),
                default: ParamValue::Choice(0),
            },
        ]);
        let g = ParamGenes::from_space(&SPACE).unwrap();
        assert_eq!(
            g.genes(),
            [Gene::Int { min: 2, max: 9 }, Gene::Real { min: 0.5, max: 5.0 }, Gene::Choice { n: 3 }]
        );
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, r#"[{"Int":{"min":2,"max":9}},{"Real":{"min":0.5,"max":5.0}},{"Choice":{"n":3}}]"#);
        assert_eq!(serde_json::from_str::<ParamGenes>(&json).unwrap(), g);
        let err = serde_json::from_str::<ParamGenes>(r#"[{"Choice":{"n":0}}]"#).unwrap_err();
        assert!(err.to_string().contains("gene 0: a choice needs at least one option"), "{err}");
    }
}

//! What to deploy when choosing the in-sample peak overfits: the plateau's median trial.
//!
//! A high probability of backtest overfitting ([`pbo()`](super::pbo())) says the in-sample best
//! of a search is no likelier than another of its trials to be best out of sample: its lead
//! over its neighbours is noise. The robust choice is then the centre of the region of the
//! parameter space that does about as well in sample — the plateau — not its peak.
//!
//! * **The plateau**: the feasible trials (finite fitness within the feasible range, see
//!   [`fitness()`](super::fitness())) whose in-sample per-bar Sharpe ratio is at least the
//!   best's minus one standard error of the best's — the one-standard-error rule (Hastie,
//!   Tibshirani & Friedman, *The Elements of Statistical Learning*, §7.10): Sharpe ratios that
//!   close cannot be told apart on the in-sample bars. The standard error is
//!   [`sharpe_standard_error`](super::sharpe_standard_error) of the best's returns (the PSR's
//!   `√((1 − γ₃·SR + (γ₄ − 1)/4·SR²)/(T − 1))`), so the band widens with fewer bars and fatter
//!   tails. It is defined on the Sharpe ratio whatever the objective, because that is the
//!   figure whose standard error is known.
//! * **The median trial**: the plateau trial nearest, in the GA's normalised gene distance
//!   ([`ParamGenes::distance`]), to the plateau's coordinate-wise median
//!   ([`ParamGenes::median`]); among equally near ones the fitter, then the earlier. It is
//!   snapped to an evaluated trial rather than deployed as the raw median because the median
//!   vector may never have been evaluated, may break a rule between parameters (a fast window
//!   below a slow one) or fall in a hole of a plateau that is not convex; the nearest plateau
//!   trial was run in sample and lies on the plateau by construction.
//!
//! Deterministic: the same trials in the same order give the same choice.

use kernel::metrics::RATIO_CAP;
use kernel::strategy::ParamValue;

use super::dsr::sharpe_standard_error;
use super::moments::ReturnStats;
use crate::genes::ParamGenes;

/// One trial of a search: its parameters, fitness and in-sample return moments.
#[derive(Clone, Copy, Debug)]
pub struct PlateauTrial<'a> {
    /// The genome (one value per gene).
    pub genome: &'a [ParamValue],
    /// Its in-sample fitness (NaN or infeasible: never on the plateau).
    pub fitness: f64,
    /// Its in-sample per-bar return moments.
    pub returns: ReturnStats,
}

/// The plateau around a search's in-sample best, and its median trial.
#[derive(Clone, Debug, PartialEq)]
pub struct Plateau {
    /// The members, as indices into the trials, in trial order (the best among them).
    pub members: Vec<usize>,
    /// The median trial, an index into the trials.
    pub median: usize,
    /// The lowest per-bar Sharpe ratio on the plateau: the best's minus one standard error.
    pub floor: f64,
}

/// Whether `fitness` is that of a trial meeting every constraint: finite and not moved below
/// the feasible range (see [`fitness()`](super::fitness())).
fn feasible(fitness: f64) -> bool {
    fitness.is_finite() && fitness >= -RATIO_CAP
}

/// The plateau of `trials` around the in-sample best `best` (an index into `trials`) and its
/// median trial, as the module describes. `None` when `best` is out of range or infeasible, or
/// its Sharpe ratio has no standard error (fewer than two returns, flat equity).
pub fn plateau_median(genes: &ParamGenes, trials: &[PlateauTrial<'_>], best: usize) -> Option<Plateau> {
    let top = trials.get(best).filter(|t| feasible(t.fitness))?;
    let se = sharpe_standard_error(&top.returns);
    if !se.is_finite() {
        return None;
    }
    let floor = top.returns.sharpe - se;
    let members: Vec<usize> = (0..trials.len())
        .filter(|&i| {
            let t = &trials[i];
            i == best || (feasible(t.fitness) && t.returns.sharpe.is_finite() && t.returns.sharpe >= floor)
        })
        .collect();
    let genomes: Vec<&[ParamValue]> = members.iter().map(|&i| trials[i].genome).collect();
    let centre = genes.median(&genomes);
    let median = members
        .iter()
        .copied()
        .min_by(|&a, &b| {
            let (da, db) =
                (genes.distance(&centre, trials[a].genome), genes.distance(&centre, trials[b].genome));
            da.total_cmp(&db).then(trials[b].fitness.total_cmp(&trials[a].fitness)).then(a.cmp(&b))
        })
        .expect("the best is on the plateau");
    Some(Plateau { members, median, floor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genes::Gene;

    fn moments(sharpe: f64, n: usize) -> ReturnStats {
        ReturnStats { n, mean: sharpe * 0.01, std: 0.01, sharpe, skew: 0.0, kurtosis: 3.0 }
    }

    /// One integer gene `window` in 5..=40: a broad plateau over 14..=26 (Sharpe 0.09–0.10 per
    /// bar), a narrow in-sample peak at 26 (0.105), and poor trials elsewhere; T = 1,000, so one
    /// standard error is √((1 + 0.105²/2)/999) = 0.0317 and the floor 0.0733.
    #[test]
    fn the_median_of_a_broad_plateau_not_its_edge_peak() {
        let genes = ParamGenes::new(vec![Gene::Int { min: 5, max: 40 }]).unwrap();
        let mut rows: Vec<(i64, f64, f64)> =
            (14..=25).map(|w| (w, 0.09 + 0.0008 * (w - 14) as f64, 1.0)).collect();
        rows.push((26, 0.105, 2.0));
        rows.extend([(5, 0.01, 0.1), (8, 0.03, 0.4), (33, 0.07, 1.0), (40, 0.0, 0.0)]);
        // A trial with a plateau Sharpe that breaks a constraint stays off it.
        rows.push((6, 0.1, -(2.0 * RATIO_CAP + 1.0)));
        let genomes: Vec<Vec<ParamValue>> = rows.iter().map(|r| vec![ParamValue::Int(r.0)]).collect();
        let trials: Vec<PlateauTrial<'_>> = rows
            .iter()
            .zip(&genomes)
            .map(|(r, g)| PlateauTrial { genome: g, fitness: r.2 + r.1, returns: moments(r.1, 1000) })
            .collect();
        let best = 12;
        let p = plateau_median(&genes, &trials, best).unwrap();
        let se = ((1.0 + 0.105f64 * 0.105 / 2.0) / 999.0).sqrt();
        assert!((p.floor - (0.105 - se)).abs() < 1e-15, "{}", p.floor);
        let on: Vec<i64> = p.members.iter().map(|&i| rows[i].0).collect();
        assert_eq!(on, (14..=26).collect::<Vec<_>>(), "33 (0.07) is below the floor; 6 is infeasible");
        assert_eq!(genomes[p.median], [ParamValue::Int(20)], "the median of 14..=26");
        // Deterministic, and the trials' order does not move the choice.
        assert_eq!(plateau_median(&genes, &trials, best), Some(p));
        let mut reversed = trials.clone();
        reversed.reverse();
        let q = plateau_median(&genes, &reversed, trials.len() - 1 - best).unwrap();
        assert_eq!(reversed[q.median].genome, [ParamValue::Int(20)]);
    }

    /// Two genes, one an unordered choice: the median takes the most common option, then snaps
    /// to the nearest evaluated trial (the raw median (15, option 1) was never run); an even
    /// count takes the lower median and equally near trials go to the fitter.
    #[test]
    fn snaps_to_the_nearest_evaluated_trial() {
        let genes = ParamGenes::new(vec![Gene::Int { min: 0, max: 100 }, Gene::Choice { n: 3 }]).unwrap();
        let g = |w: i64, c: usize| vec![ParamValue::Int(w), ParamValue::Choice(c)];
        let genomes = [g(10, 1), g(14, 0), g(16, 1), g(20, 1), g(12, 2), g(18, 0)];
        let fitness = [1.0, 1.2, 1.1, 1.3, 0.9, 1.25];
        let trials: Vec<PlateauTrial<'_>> = genomes
            .iter()
            .zip(fitness)
            .map(|(genome, f)| PlateauTrial { genome, fitness: f, returns: moments(0.1, 500) })
            .collect();
        // Widths 10 12 14 16 18 20 → lower median 14; options 1,0,1,1,2,0 → 1. (14, 1) was not
        // run: (16, 1) and (14, 0) and (12, 2)… are at distances 1/100, 1/2, … → (16, 1).
        let p = plateau_median(&genes, &trials, 3).unwrap();
        assert_eq!(p.members.len(), 6);
        assert_eq!(genomes[p.median], g(16, 1));
        // Equally near (12, 1) and (16, 1) around (14, 1): the fitter.
        let near = [g(12, 1), g(14, 0), g(16, 1)];
        let t = |f: [f64; 3]| -> Vec<PlateauTrial<'_>> {
            near.iter()
                .zip(f)
                .map(|(genome, f)| PlateauTrial { genome, fitness: f, returns: moments(0.1, 500) })
                .collect()
        };
        assert_eq!(plateau_median(&genes, &t([1.0, 1.5, 2.0]), 2).unwrap().median, 2);
        assert_eq!(plateau_median(&genes, &t([2.0, 1.5, 1.0]), 0).unwrap().median, 0);
    }

    #[test]
    fn no_plateau_without_a_feasible_best_or_a_standard_error() {
        let genes = ParamGenes::new(vec![Gene::Int { min: 0, max: 10 }]).unwrap();
        let genome = [ParamValue::Int(3)];
        let trial = |fitness: f64, returns: ReturnStats| PlateauTrial { genome: &genome, fitness, returns };
        assert!(plateau_median(&genes, &[trial(f64::NAN, moments(0.1, 100))], 0).is_none());
        assert!(plateau_median(&genes, &[trial(-500.0, moments(0.1, 100))], 0).is_none());
        assert!(plateau_median(&genes, &[trial(1.0, moments(0.1, 1))], 0).is_none());
        assert!(plateau_median(&genes, &[trial(1.0, moments(0.1, 100))], 1).is_none());
        let alone = plateau_median(&genes, &[trial(1.0, moments(0.1, 100))], 0).unwrap();
        assert_eq!((alone.members, alone.median), (vec![0], 0));
    }
}

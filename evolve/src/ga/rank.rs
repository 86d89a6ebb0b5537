//! Ranking, tournament selection and the hall of fame.

use std::cmp::Ordering;

use rand::Rng;
use rand_pcg::Pcg64;

use super::Scored;

/// Order of two fitness values, better first: finite values descending, every non-finite
/// value (NaN, ±inf) after them and equal to each other (and −0.0 equal to 0.0).
fn better_first(a: f64, b: f64) -> Ordering {
    match (a.is_finite(), b.is_finite()) {
        (true, true) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => Ordering::Equal,
    }
}

/// Sorts a population best first; the sort is stable, so ties keep their slot order.
pub(crate) fn rank<G>(population: &mut [Scored<G>]) {
    population.sort_by(|a, b| better_first(a.fitness, b.fitness));
}

/// The winner of one tournament of `size` draws (with replacement) over a ranked population
/// of `n`: the best-ranked contestant, i.e. the smallest index drawn.
pub(crate) fn tournament(n: usize, size: usize, rng: &mut Pcg64) -> usize {
    (0..size).map(|_| rng.random_range(0..n)).min().unwrap_or(0)
}

/// Offers a new evaluation to a hall of fame of at most `capacity` distinct genomes, best first.
/// Invalid fitness is refused; an equal fitness goes after the ones already there, so ties keep
/// first-evaluation order. `alike(member)` says whether a member behaves like the candidate: a fitter (or equally fit, earlier) alike member keeps the candidate out, and a
/// less fit one makes room for it.
pub(crate) fn offer<G: Clone>(
    hall: &mut Vec<Scored<G>>,
    capacity: usize,
    candidate: &Scored<G>,
    alike: impl Fn(&Scored<G>) -> bool,
) {
    if !candidate.fitness.is_finite() || hall.iter().any(|h| h.key == candidate.key) {
        return;
    }
    let at = hall.partition_point(|h| h.fitness >= candidate.fitness);
    if at >= capacity || hall[..at].iter().any(&alike) {
        return;
    }
    hall.retain(|h| h.fitness >= candidate.fitness || !alike(h));
    hall.insert(at, candidate.clone());
    hall.truncate(capacity);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn s(key: u64, fitness: f64) -> Scored<()> {
        Scored { genome: (), key, fitness }
    }

    #[test]
    fn rank_puts_invalid_last_and_keeps_ties_in_slot_order() {
        let mut p = vec![
            s(0, f64::NAN),
            s(1, 1.0),
            s(2, f64::INFINITY),
            s(3, 2.0),
            s(4, 1.0),
            s(5, f64::NEG_INFINITY),
        ];
        rank(&mut p);
        assert_eq!(p.iter().map(|x| x.key).collect::<Vec<_>>(), [3, 1, 4, 0, 2, 5]);
    }

    #[test]
    fn tournament_returns_the_best_index_drawn() {
        let mut rng = Pcg64::seed_from_u64(7);
        let wins: Vec<usize> = (0..2000).map(|_| tournament(10, 3, &mut rng)).collect();
        assert!(wins.iter().all(|&w| w < 10));
        // P(winner = 0) = 1 - 0.9^3 = 0.271; P(winner = 9) = 0.1^3 = 0.001.
        let zeros = wins.iter().filter(|&&w| w == 0).count() as f64 / 2000.0;
        assert!((zeros - 0.271).abs() < 0.03, "{zeros}");
        assert!(wins.iter().filter(|&&w| w == 9).count() < 10);
        let mut one = Pcg64::seed_from_u64(7);
        assert!((0..100).all(|_| tournament(5, 1, &mut one) < 5));
    }

    #[test]
    fn hall_of_fame_keeps_distinct_best_with_first_come_ties() {
        let mut hall = Vec::new();
        for c in [s(1, 1.0), s(2, f64::NAN), s(3, 3.0), s(4, 1.0), s(3, 3.0), s(5, f64::INFINITY), s(6, 2.0)]
        {
            offer(&mut hall, 3, &c, |_| false);
        }
        assert_eq!(hall.iter().map(|x| x.key).collect::<Vec<_>>(), [3, 6, 1]);
        offer(&mut hall, 3, &s(7, 1.0), |_| false);
        assert_eq!(hall.iter().map(|x| x.key).collect::<Vec<_>>(), [3, 6, 1], "a tie comes after");
        offer(&mut hall, 3, &s(8, 2.5), |_| false);
        assert_eq!(hall.iter().map(|x| x.key).collect::<Vec<_>>(), [3, 8, 6]);
        let mut none = Vec::new();
        offer(&mut none, 0, &s(1, 1.0), |_| false);
        assert!(none.is_empty());
    }

    #[test]
    fn hall_of_fame_keeps_the_fittest_of_genomes_that_behave_alike() {
        // Keys with the same tens digit behave alike.
        let offer_to = |hall: &mut Vec<Scored<()>>, c: Scored<()>| {
            let group = c.key / 10;
            offer(hall, 3, &c, |h: &Scored<()>| h.key / 10 == group);
        };
        let mut hall = Vec::new();
        for c in [s(11, 2.0), s(21, 1.0), s(12, 1.5), s(31, 0.5), s(41, 0.2)] {
            offer_to(&mut hall, c);
        }
        assert_eq!(hall.iter().map(|x| x.key).collect::<Vec<_>>(), [11, 21, 31], "12 behaves like fitter 11");
        offer_to(&mut hall, s(22, 3.0));
        assert_eq!(hall.iter().map(|x| x.key).collect::<Vec<_>>(), [22, 11, 31], "22 replaces less fit 21");
        offer_to(&mut hall, s(13, 2.0));
        assert_eq!(hall.iter().map(|x| x.key).collect::<Vec<_>>(), [22, 11, 31], "an alike tie stays out");
    }
}

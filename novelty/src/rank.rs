//! Combining fitness and novelty by rank: `fitness' = (1 − w)·fitness_rank + w·novelty_rank`.
//!
//! Ranks make the two scales comparable whatever their units. An individual is *valid* when
//! both its fitness and its novelty are finite; ranks are taken over the valid individuals
//! only, normalised to [0, 1] (0 the lowest value, 1 the highest). Equal values share the mean
//! of the ranks they span (so the result does not depend on slot order); a single valid
//! individual reads ½. An invalid individual's combined fitness is NaN, which the GA engine
//! ranks below every finite value: it is never placed above a valid one.

/// Normalised ranks of the finite values of `values` (see the module docs); NaN where the
/// value is not finite.
pub fn normalised_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_finite()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![f64::NAN; values.len()];
    let m = order.len();
    let mut start = 0;
    while start < m {
        // `==` (not `total_cmp`) so that −0.0 and 0.0 tie.
        let end = start + order[start..].iter().take_while(|&&i| values[i] == values[order[start]]).count();
        let mean_rank = (start + end - 1) as f64 / 2.0;
        let rank = if m > 1 { mean_rank / (m - 1) as f64 } else { 0.5 };
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// `(1 − weight)·fitness_rank + weight·novelty_rank` per individual, NaN for invalid ones
/// (see the module docs).
///
/// # Panics
/// When `fitness` and `novelty` differ in length.
pub fn combined_fitness(fitness: &[f64], novelty: &[f64], weight: f64) -> Vec<f64> {
    assert_eq!(fitness.len(), novelty.len(), "one novelty score per fitness");
    let valid = |i: usize| fitness[i].is_finite() && novelty[i].is_finite();
    let masked = |xs: &[f64]| -> Vec<f64> {
        xs.iter().enumerate().map(|(i, &x)| if valid(i) { x } else { f64::NAN }).collect()
    };
    let fitness_rank = normalised_ranks(&masked(fitness));
    let novelty_rank = normalised_ranks(&masked(novelty));
    fitness_rank.iter().zip(&novelty_rank).map(|(f, n)| (1.0 - weight) * f + weight * n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!(a.is_nan() && e.is_nan() || (a - e).abs() < 1e-12, "{actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn ranks_share_ties_and_skip_invalid() {
        let nan = f64::NAN;
        assert_close(&normalised_ranks(&[3.0, 1.0, nan, 2.0, 2.0]), &[1.0, 0.0, nan, 0.5, 0.5]);
        assert_close(&normalised_ranks(&[0.0, -0.0, f64::INFINITY]), &[0.5, 0.5, nan]);
        assert_close(&normalised_ranks(&[7.0]), &[0.5]);
        assert!(normalised_ranks(&[]).is_empty());
    }

    #[test]
    fn combined_rank_on_a_hand_computed_case() {
        let nan = f64::NAN;
        let fitness = [3.0, 1.0, nan, 2.0, 2.0];
        let novelty = [0.1, 0.9, 0.5, 0.3, 0.2];
        // Valid: 0, 1, 3, 4. Fitness ranks 1, 0, –, ½, ½; novelty ranks 0, 1, –, ⅔, ⅓.
        let combined = combined_fitness(&fitness, &novelty, 0.3);
        assert_close(&combined, &[0.7, 0.3, nan, 0.55, 0.45]);
        // An individual with valid fitness but no novelty is invalid too, and drops out of the
        // others' ranks.
        let combined = combined_fitness(&[3.0, 1.0, 2.0], &[0.1, nan, 0.5], 0.5);
        assert_close(&combined, &[0.5, nan, 0.5]);
        // Weight 0 is the fitness rank alone, weight 1 the novelty rank alone.
        assert_close(&combined_fitness(&fitness, &novelty, 0.0), &[1.0, 0.0, nan, 0.5, 0.5]);
        assert_close(&combined_fitness(&fitness, &novelty, 1.0), &[0.0, 1.0, nan, 2.0 / 3.0, 1.0 / 3.0]);
    }

    #[test]
    fn an_invalid_individual_never_outranks_a_valid_one_in_the_engines_order() {
        // NaN combined fitness sorts after every finite one under the engine's rule.
        let combined = combined_fitness(&[f64::NAN, 0.0], &[100.0, 0.0], 1.0);
        assert!(combined[0].is_nan() && combined[1].is_finite());
    }
}

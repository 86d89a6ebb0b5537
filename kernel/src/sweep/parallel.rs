//! Deterministic parallel evaluation of a parameter list, shared by sweeps and the GA engine.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

/// Evaluates `f` on every element of `params` in parallel; results come back in input order.
///
/// Each result depends only on its own parameters, so the output is identical at any thread
/// count (set `RAYON_NUM_THREADS` to choose one).
pub fn evaluate_all<P: Sync, R: Send>(params: &[P], f: impl Fn(&P) -> R + Sync) -> Vec<R> {
    params.par_iter().map(&f).collect()
}

/// Like [`evaluate_all`], calling `progress(done, total)` after each evaluation, from whichever
/// worker finished it: `done` counts up from 1 to `total`, each value exactly once, though calls
/// may arrive out of order (a progress bar only needs the largest).
pub fn evaluate_all_with_progress<P: Sync, R: Send>(
    params: &[P],
    f: impl Fn(&P) -> R + Sync,
    progress: impl Fn(usize, usize) + Sync,
) -> Vec<R> {
    let done = AtomicUsize::new(0);
    let total = params.len();
    evaluate_all(params, |p| {
        let r = f(p);
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
        r
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn results_keep_input_order_and_progress_counts_every_item() {
        let params: Vec<u64> = (0..1000).collect();
        let seen = Mutex::new(Vec::new());
        let out = evaluate_all_with_progress(
            &params,
            |&p| p * p,
            |done, total| {
                assert_eq!(total, 1000);
                seen.lock().unwrap().push(done);
            },
        );
        assert_eq!(out, params.iter().map(|p| p * p).collect::<Vec<_>>());
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (1..=1000).collect::<Vec<_>>());
    }

    #[test]
    fn same_results_on_one_thread_and_many() {
        let params: Vec<f64> = (0..500).map(|i| i as f64 * 0.37).collect();
        let f = |x: &f64| (0..100).fold(*x, |acc, k| (acc * 1.000_1 + k as f64).sqrt());
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let four = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let a = one.install(|| evaluate_all(&params, f));
        let b = four.install(|| evaluate_all(&params, f));
        assert_eq!(
            a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(evaluate_all(&[] as &[f64], f).is_empty());
    }
}

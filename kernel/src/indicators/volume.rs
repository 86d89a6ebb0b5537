//! Volume: typical price, intraday VWAP and relative volume.

use super::rolling::{Roll, Sum, finite};
use super::{IndicatorError, Resumable, check_len, check_stretch, check_window, collect};

/// Typical price `(high + low + close) / 3` into `out`, the usual per-bar price for VWAP.
///
/// No warm-up; NaN where any input is missing.
pub fn typical_price_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    check_len("typical_price", "low", high.len(), low.len())?;
    check_len("typical_price", "close", high.len(), close.len())?;
    check_len("typical_price", "out", high.len(), out.len())?;
    for (((o, h), l), c) in out.iter_mut().zip(high).zip(low).zip(close) {
        let p = (h + l + c) / 3.0;
        *o = if p.is_finite() { p } else { f64::NAN };
    }
    Ok(())
}

/// Typical price; see [`typical_price_into`].
pub fn typical_price(high: &[f64], low: &[f64], close: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    collect(high.len(), |out| typical_price_into(high, low, close, out))
}

/// Intraday VWAP into `out`: `Σ priceₖ·volumeₖ / Σ volumeₖ` over the bars of the current
/// session up to and including bar `i`.
///
/// `price` is the per-bar price to weight: the [`typical_price`], or the bar's own VWAP when
/// the feed provides it (more exact). `session` holds one key per bar identifying its
/// session, e.g. the session date's daily-bar timestamp in nanoseconds: a new session (and a
/// reset of the sums) starts wherever the key differs from the previous bar's, so bars
/// missing at the open cannot hide a session change.
///
/// No warm-up; NaN until the session has traded some volume. A missing price or volume
/// poisons the rest of its session (every later VWAP of that session would include it); the
/// next session starts clean. Callers who know a missing bar means "no trades" should pass
/// a volume of 0 for it instead.
pub fn vwap_into(
    price: &[f64],
    volume: &[f64],
    session: &[i64],
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    check_len("vwap", "volume", price.len(), volume.len())?;
    check_len("vwap", "session", price.len(), session.len())?;
    check_len("vwap", "out", price.len(), out.len())?;
    let (mut value, mut shares, mut poisoned) = (0.0, 0.0, false);
    for (i, o) in out.iter_mut().enumerate() {
        if i == 0 || session[i] != session[i - 1] {
            (value, shares, poisoned) = (0.0, 0.0, false);
        }
        match (finite(price[i]), finite(volume[i])) {
            (Some(p), Some(v)) => {
                value += p * v;
                shares += v;
            }
            _ => poisoned = true,
        }
        *o = if !poisoned && shares > 0.0 { value / shares } else { f64::NAN };
    }
    Ok(())
}

/// Intraday VWAP; see [`vwap_into`].
pub fn vwap(price: &[f64], volume: &[f64], session: &[i64]) -> Result<Vec<f64>, IndicatorError> {
    collect(price.len(), |out| vwap_into(price, volume, session, out))
}

/// Relative volume into `out`: `volumeᵢ` over the mean volume of the `n` bars before it
/// (bar `i` itself excluded); NaN where that mean is 0.
///
/// Warm-up: first value at index `n`. NaN wherever bars `i − n ..= i` hold a missing volume.
pub fn relative_volume_into(volume: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    let mut rvol = RelativeVolume::new(n)?;
    check_len("relative_volume", "out", volume.len(), out.len())?;
    rvol.extend_into(volume, out)
}

/// [`relative_volume_into`] a stretch at a time ([`Resumable`]): the running sum of the window
/// of the bars before the next one.
#[derive(Debug, Clone, Copy)]
pub struct RelativeVolume {
    /// The window sliding over the volumes, one bar behind.
    prior: Roll<Sum>,
    /// Volumes seen.
    seen: usize,
}

impl RelativeVolume {
    /// Relative volume against the `n >= 1` bars before, before the series' first volume.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        check_window("relative_volume", n, 1)?;
        Ok(RelativeVolume { prior: Roll::new(Sum::default(), n), seen: 0 })
    }
}

impl Resumable for RelativeVolume {
    fn seen(&self) -> usize {
        self.seen
    }

    fn extend_into(&mut self, volume: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
        let from = self.seen;
        check_stretch("relative_volume", from, volume.len(), out.len())?;
        ratio_to_prior_mean(&mut self.prior, from, volume.len(), |k| volume[k], |k, v| out[k - from] = v);
        self.seen = volume.len();
        Ok(())
    }
}

/// Relative volume; see [`relative_volume_into`].
pub fn relative_volume(volume: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(volume.len(), |out| relative_volume_into(volume, n, out))
}

/// Reusable working memory for [`relative_volume_by_slot_into`]: keep one per thread and
/// pass it to every call so that repeated calls allocate nothing once it has grown.
#[derive(Debug, Default, Clone)]
pub struct SlotScratch {
    /// Bar indices grouped by slot, in time order within each slot.
    order: Vec<usize>,
    /// For each slot, one past the end of its group in `order`.
    ends: Vec<usize>,
}

/// Intraday relative volume by time of day into `out`: `volumeᵢ` over the mean volume of the
/// previous `n` bars with the same `slot` (e.g. minute of the session, so 09:35 is compared
/// with the 09:35 bars of the previous `n` sessions); NaN where that mean is 0.
///
/// `slot` gives each bar's slot (`0` = the session's first bar period). A session that has
/// no bar in a slot (a half day, a minute without trades) is skipped for that slot, so on a
/// complete grid this is exactly "the same minute over the previous `n` sessions".
///
/// Warm-up: a bar's first value comes at its slot's `n + 1`-th occurrence. NaN wherever the
/// bar or any of those `n` same-slot bars has a missing volume. `scratch` is resized as
/// needed; the computation itself allocates nothing.
pub fn relative_volume_by_slot_into(
    volume: &[f64],
    slot: &[u16],
    n: usize,
    out: &mut [f64],
    scratch: &mut SlotScratch,
) -> Result<(), IndicatorError> {
    check_window("relative_volume_by_slot", n, 1)?;
    check_len("relative_volume_by_slot", "slot", volume.len(), slot.len())?;
    check_len("relative_volume_by_slot", "out", volume.len(), out.len())?;
    // Counting sort of bar indices by slot (stable, so each group stays in time order).
    let SlotScratch { order, ends } = scratch;
    let slots = slot.iter().map(|&s| usize::from(s) + 1).max().unwrap_or(0);
    ends.clear();
    ends.resize(slots, 0);
    for &s in slot {
        ends[usize::from(s)] += 1;
    }
    let mut start = 0;
    for e in ends.iter_mut() {
        (start, *e) = (start + *e, start);
    }
    order.clear();
    order.resize(volume.len(), 0);
    for (i, &s) in slot.iter().enumerate() {
        let cursor = &mut ends[usize::from(s)];
        order[*cursor] = i;
        *cursor += 1;
    }
    let mut begin = 0;
    for &end in ends.iter() {
        let group = &order[begin..end];
        let prior = &mut Roll::new(Sum::default(), n);
        ratio_to_prior_mean(prior, 0, group.len(), |k| volume[group[k]], |k, v| out[group[k]] = v);
        begin = end;
    }
    Ok(())
}

/// Relative volume by time of day; see [`relative_volume_by_slot_into`].
pub fn relative_volume_by_slot(volume: &[f64], slot: &[u16], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(volume.len(), |out| {
        relative_volume_by_slot_into(volume, slot, n, out, &mut SlotScratch::default())
    })
}

/// For the sequence of volumes `volume(0), …, volume(count − 1)`: puts `(k, ratio)` for each
/// `k` in `from..count`, the ratio of `volume(k)` to the mean of `volume(k − n) ..= volume(k −
/// 1)` (NaN for `k < n`, a missing volume among them, or a mean of 0). `prior` is the window of
/// `n` that has slid over the volumes before `from − 1` (none when `from` is 0), one behind.
fn ratio_to_prior_mean(
    prior: &mut Roll<Sum>,
    from: usize,
    count: usize,
    volume: impl Fn(usize) -> f64,
    mut put: impl FnMut(usize, f64),
) {
    let nf = prior.window() as f64;
    if from == 0 && count > 0 {
        put(0, f64::NAN);
    }
    prior.run(
        count.saturating_sub(1),
        |k| finite(volume(k)),
        |k, prior| {
            let mean = prior.map_or(f64::NAN, |w| w.mean(nf));
            let v = volume(k + 1);
            put(k + 1, if mean > 0.0 { finite(v / mean).unwrap_or(f64::NAN) } else { f64::NAN });
        },
    );
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicators::test_util::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn vwap_resets_each_session_and_poisons_only_the_rest_of_one() {
        let price = [10.0, 11.0, 12.0, 20.0, 22.0, NAN, 30.0, 31.0];
        let volume = [100.0, 300.0, 0.0, 0.0, 50.0, 10.0, 10.0, 30.0];
        let session = [1, 1, 1, 2, 2, 2, 3, 3];
        let got = vwap(&price, &volume, &session).unwrap();
        // Session 1: 10; (1000 + 3300) / 400 = 10.75; unchanged by a zero-volume bar.
        // Session 2: no volume yet → NaN; then 22; then poisoned. Session 3: 30; 30.75.
        assert_close(&got, &[10.0, 10.75, 10.75, NAN, 22.0, NAN, 30.0, 30.75], 1e-15);
        let tp = typical_price(&[12.0, 9.0], &[9.0, 6.0], &[12.0, 9.0]).unwrap();
        assert_eq!(tp, [11.0, 8.0]);
        assert!(matches!(
            vwap(&price, &volume, &session[..7]),
            Err(IndicatorError::LengthMismatch { name: "session", .. })
        ));
    }

    #[test]
    fn relative_volume_small_cases_by_hand() {
        let v = [100.0, 200.0, 300.0, 500.0, 0.0, NAN, 100.0, 100.0, 100.0];
        // Index 2: 300 / mean(100, 200); 3: 500 / 250; 4: 0 / 400; 5–7 see the NaN; 8: 100/100.
        let got = relative_volume(&v, 2).unwrap();
        assert_close(&got, &[NAN, NAN, 2.0, 2.0, 0.0, NAN, NAN, NAN, 1.0], 1e-15);
        assert_eq!(leading_nans(&relative_volume(&[1.0; 10], 4).unwrap()), 4);
        // Two sessions of three slots plus a third: slot 1 of session 3 compares with the
        // slot-1 bars of sessions 1 and 2 (20 and 60), not with its neighbours.
        let volume = [10.0, 20.0, 30.0, 50.0, 60.0, 70.0, 1.0, 80.0, 2.0];
        let slot = [0, 1, 2, 0, 1, 2, 0, 1, 2];
        let got = relative_volume_by_slot(&volume, &slot, 2).unwrap();
        assert_close(&got, &[NAN, NAN, NAN, NAN, NAN, NAN, 1.0 / 30.0, 2.0, 2.0 / 50.0], 1e-15);
    }

    #[test]
    fn slot_scratch_is_reusable_across_calls_of_different_shapes() {
        let mut scratch = SlotScratch::default();
        let mut out = vec![0.0; 4];
        relative_volume_by_slot_into(&[1.0, 2.0, 3.0, 4.0], &[0, 5, 0, 5], 1, &mut out, &mut scratch)
            .unwrap();
        assert_close(&out, &[NAN, NAN, 3.0, 2.0], 1e-15);
        let mut out = vec![0.0; 3];
        relative_volume_by_slot_into(&[4.0, 2.0, 1.0], &[0, 0, 0], 1, &mut out, &mut scratch).unwrap();
        assert_close(&out, &[NAN, 0.5, 0.5], 1e-15);
    }

    proptest! {
        /// Run a stretch at a time, relative volume gives the one-shot values bit for bit.
        #[test]
        fn relative_volume_resumes_to_the_bit(v in series(200), n in 1usize..30, cuts in cuts(200)) {
            let want = relative_volume(&v, n).unwrap();
            assert_same_bits(&in_stretches(RelativeVolume::new(n).unwrap(), &v, &cuts), &want);
        }

        #[test]
        fn relative_volume_matches_from_scratch(v in series(150), n in 1usize..15, slots in 1u16..6) {
            // Plain: volume over the mean of the n bars before it.
            let miss = |i: usize| !v[i].is_finite();
            let prior_ratio = |bars: &[usize]| -> Vec<f64> {
                (0..bars.len()).map(|k| {
                    if k < n || bars[k - n..=k].iter().any(|&i| miss(i)) { return NAN; }
                    let mean = bars[k - n..k].iter().map(|&i| v[i]).sum::<f64>() / n as f64;
                    if mean > 0.0 { v[bars[k]] / mean } else { NAN }
                }).collect()
            };
            let all: Vec<usize> = (0..v.len()).collect();
            assert_close(&relative_volume(&v, n).unwrap(), &prior_ratio(&all), 1e-12);
            // By slot, with slots cycling as in a session grid.
            let slot: Vec<u16> = (0..v.len()).map(|i| (i % usize::from(slots)) as u16).collect();
            let mut want = vec![NAN; v.len()];
            for s in 0..slots {
                let bars: Vec<usize> = (0..v.len()).filter(|&i| slot[i] == s).collect();
                for (&i, r) in bars.iter().zip(prior_ratio(&bars)) { want[i] = r; }
            }
            assert_close(&relative_volume_by_slot(&v, &slot, n).unwrap(), &want, 1e-12);
        }
    }
}

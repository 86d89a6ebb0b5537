//! The heap a portfolio backtest holds beyond its own results.
//!
//! A per-symbol family over a large universe records what its legs did (trade records, signal
//! runs, refusals): memory that grows with the symbols and how often they trade, held by the
//! result. The research runs one such backtest per thread, so what the backtest holds *beside*
//! that — a second copy of every trade to sort them for the metrics, room left from growing
//! each leg's signal column — multiplies the peak heap of a 10,000-symbol run. These tests count
//! every allocation (their own global allocator) and bound the peak by what is kept.
//!
//! The research also slices its universe into stages (in-sample, out-of-sample, each
//! out-of-sample test of a hall-of-fame genome): a stage must share the symbols' metadata, not
//! copy it — a stock's dated fundamentals reports (one a quarter) copied into every stage cost
//! 45 MB a copy at 10,000 stocks × 20 years.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use datasets::Timeframe;
use datasets::synth::{SynthConfig, Universe};
use kernel::sim::{Refusal, Trade};
use kernel::strategy::{MarketData, ParamValue, Params, RunResult, SymbolData, backtest, by_name};

/// The system allocator, counting the bytes live now and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only the counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held by each test from its start: the counters are the process's, and tests run in parallel
/// (another test building its fixture would count in this one's peak).
static ALONE: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ALONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The peak of the bytes allocated while `f` runs, beyond those live before it, and its result.
fn peak_of<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let out = f();
    (PEAK.load(Relaxed) - before, out)
}

/// `stocks` synthetic stocks (plus the funds and VIX) over `years` of daily bars.
fn universe(stocks: usize, years: u32) -> MarketData {
    let config = SynthConfig { symbols: stocks, years, seed: 3, minute_days: 0, ..SynthConfig::default() };
    let u = Universe::new(&config).unwrap();
    let daily = (0..u.symbols().len()).map(|i| SymbolData { meta: u.symbols()[i].clone(), bars: u.daily(i) });
    MarketData::new(Timeframe::Day1, daily.collect()).unwrap()
}

#[test]
fn a_fast_trading_universe_holds_little_beside_its_trades_and_signals() {
    let _alone = alone();
    let data = universe(400, 4);
    let sma = by_name("sma_cross").unwrap();
    // Fast windows: a crossing every few bars on every symbol, the GA's most trade-heavy corner.
    let mut params = Params::defaults(sma.space());
    params.set("fast", ParamValue::Int(3)).unwrap();
    params.set("slow", ParamValue::Int(8)).unwrap();

    let (peak, bt) = peak_of(|| backtest(sma, &params, &data, Default::default(), 100_000.0).unwrap());

    let RunResult::Portfolio(result) = &bt.result else { panic!("a universe runs as a portfolio") };
    let activity = || result.sleeves.iter().flat_map(|s| &s.legs).map(|l| &l.activity);
    let trades: usize = activity().map(|a| a.trades.capacity()).sum();
    let refusals: usize = activity().map(|a| a.refusals.capacity()).sum();
    let signals: usize = bt.signals.legs.iter().map(|l| l.signals.heap_bytes()).sum();
    let held = trades * size_of::<Trade>() + refusals * size_of::<Refusal>() + signals;
    assert!(trades > 20_000, "the fixture trades too little to measure: {trades} trades");
    // What the result holds, plus a quarter for the per-bar equity, the desk and sorting the
    // trades by reference (it was ×2.1: a copy of every trade, sorted with a buffer of half
    // of them, and signal columns with up to half their room unused).
    let ratio = peak as f64 / held as f64;
    assert!(
        ratio < 1.25,
        "the backtest peaked at {:.1} MB for {:.1} MB of results ({trades} trades, {:.1} MB of signals): ×{ratio:.2}",
        peak as f64 / 1e6,
        held as f64 / 1e6,
        signals as f64 / 1e6
    );
}

#[test]
fn a_stage_shares_its_universes_fundamentals_reports() {
    let _alone = alone();
    let data = universe(400, 4);
    let n = data.symbols().len();
    let reports: usize = data.symbols().iter().map(|s| s.meta.reports.len()).sum();
    assert!(reports > 400 * 12, "the fixture's stocks carry too few dated reports: {reports}");
    let (peak, stage) = peak_of(|| data.slice(data.len() / 3..data.len()));
    // A stage holds per symbol its entry (metadata and views of the bars), its ticker and
    // sector, and its listed span: nothing that grows with the history, such as its reports
    // (≥ 12 of 56 bytes here, 80 at 20 years; they were copied into every stage).
    let per_symbol = peak as f64 / n as f64;
    let own = (size_of::<SymbolData>() + size_of::<std::ops::Range<usize>>() + 64) as f64;
    assert!(
        per_symbol < own,
        "a stage allocated {per_symbol:.0} bytes per symbol, more than its own {own:.0} \
         ({reports} reports in the universe, {} bytes each)",
        size_of::<datasets::DatedFundamentals>()
    );
    assert_eq!(stage.symbols()[0].meta, data.symbols()[0].meta);
}

//! `tradebot bench scale`: the research's heap stays flat as the universe grows.
//!
//! The bar store is memory-mapped so that a large universe costs page cache, not heap: a change
//! that copies the universe's bars (a loader that materialises them, a stage that copies its
//! slice) makes RssAnon grow with the symbols, and this test fail.

use std::path::Path;
use std::process::Command;

/// Daily families whose traded legs do not grow with the universe, on a tiny GA: what grows
/// with the symbols is then only what the research holds per symbol of the universe.
const FLAT: &str = r#"
[research]
name = "scale"
[families.sector_rotation]
[families.vix_regime_rotation]
[evolve]
population = 4
generations = 2
seed = 1
"#;

fn bench_scale(cwd: &Path, symbols: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .args(["bench", "scale", "--symbols", symbols, "--years", "4", "--config", "flat.toml"])
        .args(["--threads", "2", "--json", "--dir", "universes"])
        .current_dir(cwd)
        .env_remove("TRADEBOT_STORE")
        .env_remove("TRADEBOT_DB")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench scale failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn research_heap_stays_flat_from_200_to_1000_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::write(cwd.join("flat.toml"), FLAT).unwrap();
    let rows = bench_scale(cwd, "200,1000");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let field = |r: usize, k: &str| rows[r][k].as_f64().unwrap();
    assert_eq!(rows[1]["stocks"], 1000);
    // 800 more stocks × 4 years: ~0.8 M more bars, 38 MB per copy of their OHLCV columns.
    assert!(field(1, "bars") - field(0, "bars") > 750_000.0, "{rows:?}");
    let growth = field(1, "rss_anon_mb") - field(0, "rss_anon_mb");
    assert!(growth < 16.0, "RssAnon grew {growth:.1} MB from 200 to 1000 stocks: {rows:?}");
    // The mapped store is read, as page cache: RssFile grows instead.
    assert!(field(1, "rss_file_mb") > field(0, "rss_file_mb"), "{rows:?}");
}

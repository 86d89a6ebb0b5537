//! Health checks: process RSS, available memory, swap (zram included), the process's cgroup
//! against its systemd `MemoryMax=`, and memory pressure stall information (PSI).
//!
//! [`sample`] reads `/proc/self/status`, `/proc/meminfo`, `/proc/pressure/memory`, the cgroup v2
//! files of the process's own cgroup and `/sys/block/zram*/mm_stat`, each when present (a
//! missing file is a `None` figure, not an error). [`HealthMonitor`] takes a sample every
//! interval (default 5 minutes), records it in the operations database and raises a
//! `memory_pressure` alert for each figure above its threshold.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Notifier};
use crate::db::{HealthRecord, OpsDb};
use crate::now_ns;

/// Health samples older than this many days are deleted by the monitor.
const KEEP_DAYS: i64 = 30;

/// The `[health]` section of the operations config.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Seconds between samples.
    pub interval_secs: u64,
    /// Alert when memory, swap or the cgroup is used above this percentage.
    pub threshold_pct: f64,
    /// Alert when some task stalled on memory more than this percentage of the last 10 s
    /// (PSI `some avg10`); sustained stalls mean thrashing long before memory is "full".
    pub psi_threshold_pct: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig { interval_secs: 300, threshold_pct: 80.0, psi_threshold_pct: 10.0 }
    }
}

/// The figures of `/proc/meminfo` the check uses, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemInfo {
    /// `MemTotal`.
    pub total: Option<u64>,
    /// `MemAvailable`.
    pub available: Option<u64>,
    /// `SwapTotal`.
    pub swap_total: Option<u64>,
    /// `SwapFree`.
    pub swap_free: Option<u64>,
}

/// The value in bytes of a `Name:   123 kB` line.
fn kb_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// Parses `/proc/meminfo`.
pub fn parse_meminfo(text: &str) -> MemInfo {
    MemInfo {
        total: kb_field(text, "MemTotal"),
        available: kb_field(text, "MemAvailable"),
        swap_total: kb_field(text, "SwapTotal"),
        swap_free: kb_field(text, "SwapFree"),
    }
}

/// `VmRSS` and `VmHWM` (peak) of a `/proc/PID/status` text, in bytes.
pub fn parse_rss(status: &str) -> (Option<u64>, Option<u64>) {
    (kb_field(status, "VmRSS"), kb_field(status, "VmHWM"))
}

/// `avg10` of the `some` and `full` lines of `/proc/pressure/memory`.
pub fn parse_psi(text: &str) -> (Option<f64>, Option<f64>) {
    let avg10 = |kind: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(kind)?;
            rest.split_whitespace().find_map(|kv| kv.strip_prefix("avg10=")?.parse().ok())
        })
    };
    (avg10("some "), avg10("full "))
}

/// The cgroup v2 directory of a `/proc/self/cgroup` text (the `0::/path` line).
pub fn parse_cgroup(text: &str) -> Option<PathBuf> {
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/')))
}

/// The `anon` line of a cgroup's `memory.stat`: memory that cannot be reclaimed without swap.
/// (`memory.current` also counts the page cache of the memory-mapped bar store, which the
/// kernel reclaims before `MemoryMax=` kills anything, so it would raise false alarms.)
pub fn parse_cgroup_anon(stat: &str) -> Option<u64> {
    stat.lines().find_map(|l| l.strip_prefix("anon ")?.trim().parse().ok())
}

/// `mem_used_total` (third field) of a zram `mm_stat`: the RAM the device uses.
pub fn parse_zram_mm_stat(text: &str) -> Option<u64> {
    text.split_whitespace().nth(2)?.parse().ok()
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn read_u64(path: impl AsRef<Path>) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// Takes a sample of this process and the machine now.
pub fn sample(service: &str) -> HealthRecord {
    let mem = read("/proc/meminfo").map(|t| parse_meminfo(&t)).unwrap_or_default();
    let (psi_some, psi_full) = read("/proc/pressure/memory").map(|t| parse_psi(&t)).unwrap_or((None, None));
    let cgroup = read("/proc/self/cgroup").and_then(|t| parse_cgroup(&t));
    // `memory.max` reads `max` when unlimited: no figure.
    let cgroup_max = cgroup.as_ref().and_then(|c| read_u64(c.join("memory.max")));
    let cgroup_now =
        cgroup.as_ref().and_then(|c| read(c.join("memory.stat"))).and_then(|t| parse_cgroup_anon(&t));
    let zram = std::fs::read_dir("/sys/block").ok().map(|dir| {
        dir.filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("zram"))
            .filter_map(|e| read(e.path().join("mm_stat")).and_then(|t| parse_zram_mm_stat(&t)))
            .sum::<u64>()
    });
    let (rss, rss_peak) = read("/proc/self/status").map(|t| parse_rss(&t)).unwrap_or((None, None));
    let mut record = HealthRecord {
        time_ns: now_ns(),
        service: service.to_string(),
        pid: std::process::id(),
        rss_bytes: rss,
        rss_peak_bytes: rss_peak,
        mem_total_bytes: mem.total,
        mem_avail_bytes: mem.available,
        swap_total_bytes: mem.swap_total,
        swap_free_bytes: mem.swap_free,
        cgroup_bytes: cgroup_now,
        cgroup_max_bytes: cgroup_max,
        psi_some_avg10: psi_some,
        psi_full_avg10: psi_full,
        zram_bytes: zram.filter(|&b| b > 0),
        worst_pct: 0.0,
        worst: String::new(),
    };
    let (worst, pct) =
        pressures(&record).into_iter().fold(("none", 0.0), |a, b| if b.1 > a.1 { b } else { a });
    record.worst = worst.to_string();
    record.worst_pct = pct;
    record
}

/// The percentage figures of a sample: `memory` (used of total), `swap` (used of total, zram
/// included), `cgroup` (anonymous memory of `MemoryMax`), `psi` (some avg10).
pub fn pressures(h: &HealthRecord) -> Vec<(&'static str, f64)> {
    let used = |free: Option<u64>, total: Option<u64>| match (free, total) {
        (Some(f), Some(t)) if t > 0 => Some(100.0 * (1.0 - f as f64 / t as f64)),
        _ => None,
    };
    let mut out = Vec::new();
    if let Some(p) = used(h.mem_avail_bytes, h.mem_total_bytes) {
        out.push(("memory", p));
    }
    if let Some(p) = used(h.swap_free_bytes, h.swap_total_bytes) {
        out.push(("swap", p));
    }
    if let (Some(now), Some(max)) = (h.cgroup_bytes, h.cgroup_max_bytes)
        && max > 0
    {
        out.push(("cgroup", 100.0 * now as f64 / max as f64));
    }
    if let Some(p) = h.psi_some_avg10 {
        out.push(("psi", p));
    }
    out
}

/// The alerts a sample calls for under `config`.
pub fn alerts(h: &HealthRecord, config: &HealthConfig) -> Vec<Alert> {
    let gib =
        |b: Option<u64>| b.map_or("?".to_string(), |b| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64));
    pressures(h)
        .into_iter()
        .filter(|&(what, pct)| {
            pct > if what == "psi" { config.psi_threshold_pct } else { config.threshold_pct }
        })
        .map(|(what, pct)| {
            let detail = match what {
                "memory" => format!("{} available of {}", gib(h.mem_avail_bytes), gib(h.mem_total_bytes)),
                "swap" => format!(
                    "{} free of {} swap (zram {})",
                    gib(h.swap_free_bytes),
                    gib(h.swap_total_bytes),
                    gib(h.zram_bytes)
                ),
                "cgroup" => format!("{} of MemoryMax {}", gib(h.cgroup_bytes), gib(h.cgroup_max_bytes)),
                _ => format!("tasks stalled on memory {pct:.1} % of the last 10 s"),
            };
            Alert::memory_pressure(what, pct, &format!("{detail}; process RSS {}", gib(h.rss_bytes)))
        })
        .collect()
}

/// The periodic check: a background thread that samples, records and alerts. Dropping it
/// takes a last sample (so a run shorter than the interval still records its peak RSS) and
/// stops the thread.
pub struct HealthMonitor {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HealthMonitor {
    /// Starts checking now and then every `config.interval_secs`; samples go to the operations
    /// database at `ops_db`, alerts to `notifier`.
    pub fn spawn(service: &str, ops_db: &Path, notifier: Notifier, config: HealthConfig) -> HealthMonitor {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (service, path) = (service.to_string(), ops_db.to_path_buf());
        let interval = Duration::from_secs(config.interval_secs.max(1));
        let thread = std::thread::Builder::new()
            .name("health".into())
            .spawn(move || {
                let mut db = None;
                loop {
                    check(&service, &path, &mut db, &notifier, &config);
                    if !matches!(stopped.recv_timeout(interval), Err(RecvTimeoutError::Timeout)) {
                        record(&service, &path, &mut db);
                        return;
                    }
                }
            })
            .expect("spawning the health thread");
        HealthMonitor { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for HealthMonitor {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One check: sample, alert, record.
fn check(service: &str, path: &Path, db: &mut Option<OpsDb>, notifier: &Notifier, config: &HealthConfig) {
    for alert in alerts(&record(service, path, db), config) {
        tracing::warn!(component = "health", "{}: {}", alert.title, alert.detail);
        notifier.notify(alert);
    }
}

/// Takes a sample and records it (opening the database on first use); returns the sample.
fn record(service: &str, path: &Path, db: &mut Option<OpsDb>) -> HealthRecord {
    let h = sample(service);
    if db.is_none() {
        match OpsDb::open(path) {
            Ok(opened) => *db = Some(opened),
            Err(e) => {
                tracing::warn!(component = "health", "health sample not recorded: {e}");
                return h;
            }
        }
    }
    if let Some(db) = db {
        let recorded =
            db.insert_health(&h).and_then(|()| db.prune_health(h.time_ns - KEEP_DAYS * 86_400_000_000_000));
        if let Err(e) = recorded {
            tracing::warn!(component = "health", "health sample not recorded: {e}");
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:        3982400 kB\nMemFree:          101200 kB\nMemAvailable:     597360 kB\n\
                           SwapCached:         1024 kB\nSwapTotal:       2097148 kB\nSwapFree:         1048574 kB\n";

    #[test]
    fn parses_the_proc_files() {
        let m = parse_meminfo(MEMINFO);
        assert_eq!(m.total, Some(3_982_400 * 1024));
        assert_eq!(m.available, Some(597_360 * 1024));
        assert_eq!(m.swap_total, Some(2_097_148 * 1024));
        assert_eq!(m.swap_free, Some(1_048_574 * 1024));
        let status = "Name:\ttradebot\nVmHWM:\t  9000 kB\nVmRSS:\t    1692 kB\n";
        assert_eq!(parse_rss(status), (Some(1692 * 1024), Some(9000 * 1024)));
        let psi = "some avg10=12.50 avg60=3.10 avg300=0.80 total=123\nfull avg10=4.00 avg60=1.00 avg300=0.20 total=45\n";
        assert_eq!(parse_psi(psi), (Some(12.5), Some(4.0)));
        assert_eq!(
            parse_cgroup("0::/system.slice/tradebot-live.service\n"),
            Some(PathBuf::from("/sys/fs/cgroup/system.slice/tradebot-live.service"))
        );
        assert_eq!(parse_cgroup("4:memory:/x\n"), None, "cgroup v1 has no unified line");
        assert_eq!(parse_cgroup_anon("anon 1048576\nfile 900000000\nanon_thp 0\n"), Some(1 << 20));
        assert_eq!(parse_zram_mm_stat("  8192  2048  4096  0  4096  0  0  0  0\n"), Some(4096));
    }

    #[test]
    fn alerts_above_the_thresholds_only() {
        let m = parse_meminfo(MEMINFO);
        let h = HealthRecord {
            rss_bytes: Some(300 << 20),
            mem_total_bytes: m.total,
            mem_avail_bytes: m.available, // 85 % used
            swap_total_bytes: m.swap_total,
            swap_free_bytes: m.swap_free, // 50 % used
            cgroup_bytes: Some(900 << 20),
            cgroup_max_bytes: Some(1 << 30), // 87.9 %
            psi_some_avg10: Some(2.0),
            ..HealthRecord::default()
        };
        let got = alerts(&h, &HealthConfig::default());
        let titles: Vec<&str> = got.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["memory at 85 %", "cgroup at 88 %"]);
        assert_eq!(got[0].key, "memory");
        assert_eq!(got[0].detail, "0.57 GiB available of 3.80 GiB; process RSS 0.29 GiB");
        let stalled = HealthRecord { psi_some_avg10: Some(25.0), ..h };
        assert_eq!(alerts(&stalled, &HealthConfig::default()).len(), 3);
    }

    #[test]
    fn a_real_sample_has_this_process_and_the_machine() {
        let h = sample("test");
        assert_eq!(h.pid, std::process::id());
        assert!(h.rss_bytes.unwrap() > 1 << 20, "{h:?}");
        assert!(h.mem_total_bytes.unwrap() >= h.mem_avail_bytes.unwrap());
        assert!(pressures(&h).iter().any(|&(w, _)| w == "memory"));
        assert!((0.0..=100.0).contains(&h.worst_pct));
    }

    #[test]
    fn the_monitor_records_a_sample_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.db");
        let monitor =
            HealthMonitor::spawn("research", &path, Notifier::disabled("research"), HealthConfig::default());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let latest = loop {
            let got = OpsDb::open_existing(&path).ok().flatten().and_then(|db| db.latest_health().ok());
            match got {
                Some(rows) if !rows.is_empty() => break rows,
                _ if std::time::Instant::now() > deadline => panic!("no sample recorded"),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        drop(monitor);
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].service, "research");
        assert_eq!(latest[0].pid, std::process::id());
        assert!(latest[0].rss_peak_bytes >= latest[0].rss_bytes);
        // Stopping took a last sample.
        let rows: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM health", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }
}

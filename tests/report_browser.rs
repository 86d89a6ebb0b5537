//! The research report as a person sees it (issue 22): a small research run (three families and
//! GP discovery on a generated 12-stock universe, a few seconds) writes `results/small.html`;
//! headless chromium lays it out at 1,400 px and at 400 px (a phone) and a probe script checks
//! that the main column never overflows sideways and that every chart labels both axes; the
//! page stays under 2 MB. Screenshots are saved under `target/tmp/report-browser/`.
//!
//! Headless chromium's window is at least 500 px wide, so the page is shown in an `<iframe>` of
//! the width under test; the probe inside it reports to the outer page by `postMessage`.
//!
//! Skipped, saying why, when no chromium is installed; `tests/browser/report.sh` installs it and
//! runs this test with `TRADEBOT_REQUIRE_CHROMIUM=1` (then a missing browser fails), as CI does.

#[path = "support/chromium.rs"]
mod chromium;

use std::path::{Path, PathBuf};

use chromium::browse;

#[path = "support/tb.rs"]
mod tb;
use tb::succeeds as tradebot;

/// A research file small enough to run in seconds that still fills every part of the report.
const SMALL: &str = r#"
[research]
name = "small"
[families.sma_cross]
params = { fast = { min = 2, max = 30 }, slow = { min = 10, max = 120 } }
[families.mean_reversion]
[families.sector_rotation]
[discover]
population = 24
generations = 3
[evolve]
population = 12
generations = 6
seed = 1
[evolve.stagnation]
patience = 2
[validation]
in_sample = 0.7
[fitness]
min_trades = 3
"#;

/// Appended to a copy of the page: measures what a reader would see and posts it to the outer
/// page (see [`frame`]).
const PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  var main = document.querySelector('main'), vw = window.innerWidth, wide = [];
  document.querySelectorAll('main *').forEach(function (el) {
    if (el.closest('.scroll') && !el.classList.contains('scroll')) return;
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1) wide.push(el.tagName.toLowerCase() + '.' + el.className);
  });
  var charts = document.querySelectorAll('svg.chart'), labelled = 0;
  charts.forEach(function (svg) {
    var labels = [].filter.call(svg.querySelectorAll('text.axis-label'), function (t) { return t.textContent.trim().length > 0; });
    if (labels.length === 2) labelled++;
  });
  parent.postMessage('viewport=' + vw + ' scroll=' + document.documentElement.scrollWidth + ' main=' + main.scrollWidth +
    '/' + main.clientWidth + ' charts=' + charts.length + ' labelled=' + labelled + ' wide=' + JSON.stringify(wide.slice(0, 5)), '*');
});
</script>"#;

/// Writes `dir/NAME` (name from the size), an outer page showing `src` in an iframe `width` ×
/// `height` px that writes any message it gets into a `<pre id="probe">`; returns its URL.
fn frame(dir: &Path, src: &str, width: u32, height: u32) -> String {
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\">\
         <iframe src=\"{src}\" style=\"width:{width}px;height:{height}px;border:0;display:block\"></iframe>\
         <script>window.addEventListener('message', function (e) {{ var p = document.createElement('pre'); \
         p.id = 'probe'; p.textContent = e.data; document.body.appendChild(p); }});</script></body></html>"
    );
    let path = dir.join(format!("frame-{width}x{height}-{}.html", src.len()));
    std::fs::write(&path, page).unwrap();
    format!("file://{}", path.display())
}

/// The value of `key=` in the probe's line.
fn field<'a>(probe: &'a str, key: &str) -> &'a str {
    let start =
        probe.find(&format!("{key}=")).unwrap_or_else(|| panic!("no {key} in {probe}")) + key.len() + 1;
    probe[start..].split(' ').next().unwrap()
}

#[test]
fn the_report_reads_at_desktop_and_phone_widths() {
    let Some(chromium) = chromium::chromium() else {
        eprintln!(
            "skipped: no chromium on PATH (apt-get install -y chromium, or run tests/browser/report.sh)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tradebot(d, &["data", "generate", "--symbols", "12", "--years", "3", "--store", "store"]);
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    tradebot(d, &["research", "small.toml", "--store", "store", "--db", "r.db", "--threads", "2"]);
    let html = std::fs::read_to_string(d.join("results/small.html")).unwrap();
    assert!(html.len() < 2_000_000, "the page weighs {} bytes", html.len());
    for part in
        ["<h2 id=\"summary\">", "<h2 id=\"discovery\">", "Monthly returns", "GA convergence", "Drawdown"]
    {
        assert!(html.contains(part), "the report lacks {part:?}");
    }
    std::fs::write(d.join("results/probed.html"), html.replace("</body>", &format!("{PROBE}</body>")))
        .unwrap();

    for width in [1400, 400] {
        let url = frame(&d.join("results"), "probed.html", width, 3000);
        let size = format!("--window-size={},3100", width.max(500));
        let out = browse(&chromium, &["--dump-dom", "--virtual-time-budget=5000", &size], &url);
        assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
        let dom = String::from_utf8_lossy(&out.stdout);
        let start =
            dom.find("<pre id=\"probe\">").unwrap_or_else(|| panic!("no probe output at {width} px: {dom}"));
        let probe = &dom[start + 16..start + dom[start..].find("</pre>").unwrap()];
        eprintln!("{width} px: {probe}");
        assert_eq!(field(probe, "viewport"), width.to_string(), "{probe}");
        let scroll: u32 = field(probe, "scroll").parse().unwrap();
        assert!(scroll <= width, "the page scrolls sideways at {width} px: {probe}");
        let (inner, outer) = field(probe, "main").split_once('/').unwrap();
        assert_eq!(inner, outer, "the main column overflows at {width} px: {probe}");
        assert_eq!(field(probe, "wide"), "[]", "elements wider than the window at {width} px: {probe}");
        let charts: usize = field(probe, "charts").parse().unwrap();
        assert!(charts >= 10, "{probe}");
        assert_eq!(field(probe, "labelled"), charts.to_string(), "a chart without both axis labels: {probe}");
    }

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, width, height, anchor) in [
        ("desktop-top", 1400, 1800, ""),
        ("desktop-family", 1400, 1800, "#family-1"),
        ("desktop-discovery", 1400, 1400, "#discovery"),
        ("phone-top", 400, 1600, ""),
        ("phone-family", 400, 2400, "#family-1"),
    ] {
        let png = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let shot = format!("--screenshot={}", png.display());
        let size = format!("--window-size={},{height}", width.max(500));
        let url = frame(&d.join("results"), &format!("small.html{anchor}"), width, height);
        let out = browse(&chromium, &[&shot, &size, "--virtual-time-budget=3000"], &url);
        assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "{name}: {} bytes", bytes.len());
        eprintln!("screenshot: {}", png.display());
    }
}

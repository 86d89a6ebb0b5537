//! The generation progress bar shared by `tradebot evolve` and `tradebot research`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use evolve::ga::GenerationReport;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over generations showing best fitness, diversity, the stagnation counter and the
/// evaluation rate; hidden when stdout carries JSON for a script.
pub struct GenerationBar {
    bar: ProgressBar,
    started: Instant,
    evaluations: AtomicUsize,
}

impl GenerationBar {
    /// A bar for `generations` generations labelled `name`.
    pub fn new(name: &str, generations: u32, hidden: bool) -> Self {
        let bar = ProgressBar::new(u64::from(generations)).with_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] gen {pos}/{len} {msg} ({elapsed})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        if hidden {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_prefix(name.to_string());
        GenerationBar { bar, started: Instant::now(), evaluations: AtomicUsize::new(0) }
    }

    /// Starts over for another family.
    pub fn restart(&mut self, name: &str, generations: u32) {
        self.bar.reset();
        self.bar.set_length(u64::from(generations));
        self.bar.set_prefix(name.to_string());
        self.started = Instant::now();
        self.evaluations.store(0, Ordering::Relaxed);
    }

    /// Shows one finished generation; its events (stagnation, injection, restart, invalid
    /// fitness) go to the run log on stderr above the bar.
    pub fn update<G, E>(&self, g: &GenerationReport<G, E>) {
        for e in &g.events {
            let detail = crate::runs::round_numbers(&e.detail);
            let line = format!("{} gen {}: {}: {detail}", self.bar.prefix(), e.generation, e.kind.name());
            tracing::info!("{line}");
            if self.bar.is_hidden() {
                eprintln!("{line}");
            } else {
                self.bar.println(line);
            }
        }
        let done = self.evaluations.fetch_add(g.evaluations, Ordering::Relaxed) + g.evaluations;
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let best = g.best_ever.map_or("–".into(), |b| format!("{b:.4}"));
        self.bar.set_position(u64::from(g.generation) + 1);
        self.bar.set_message(format!(
            "best {best} diversity {:.3} stagnant {} {rate:.0} evals/s",
            g.diversity, g.stagnant_for
        ));
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

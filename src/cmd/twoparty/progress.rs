//! The progress bar of long sessions and the timeout arguments.

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

/// A progress bar on standard error that appears once a run passes one second.
pub(super) struct Progress {
    start: Instant,
    total: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(super) fn new(total: u64) -> Progress {
        Progress {
            start: Instant::now(),
            total,
            bar: None,
        }
    }
    pub(super) fn update(&mut self, done: u64) {
        if self.bar.is_none() && self.start.elapsed() > Duration::from_secs(1) {
            let bar = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:40}] {percent}% {per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message("gates");
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }
    pub(super) fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

pub(super) fn timeout(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && secs > 0.0) {
        bail!("timeout must be a positive number of seconds, got {secs}");
    }
    Ok(Duration::from_secs_f64(secs))
}

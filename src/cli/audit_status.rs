//! An audit's overall progress on standard error: a bar of samples
//! finished on a terminal, otherwise one status line every few seconds.

use std::time::{Duration, Instant};

use adr_onnx::audit::progress::{AuditProgress, AuditStatus};
use indicatif::{ProgressBar, ProgressStyle};

pub enum AuditWatcher {
    Quiet,
    Bar(ProgressBar),
    /// One line per `every`, and one when the last sample is finished.
    Log {
        every: Duration,
        started: Instant,
        last: Option<Instant>,
    },
}

impl AuditWatcher {
    /// A bar on a terminal, a line every `every` elsewhere, nothing when `quiet`.
    pub fn new(quiet: bool, terminal: bool, every: Duration) -> Self {
        match (quiet, terminal) {
            (true, _) => AuditWatcher::Quiet,
            (false, true) => {
                let bar = ProgressBar::new(0);
                let template = "audit [{bar:30}] {pos}/{len} samples, {msg} ({elapsed}, ETA {eta})";
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                AuditWatcher::Bar(bar)
            }
            (false, false) => AuditWatcher::Log { every, started: Instant::now(), last: None },
        }
    }

    pub fn finish(&self) {
        if let AuditWatcher::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// `robust 35 of 40 finished (87.5%)`.
fn robust_so_far(s: &AuditStatus) -> String {
    let share = if s.finished == 0 { 0.0 } else { 100.0 * s.robust as f64 / s.finished as f64 };
    format!("robust {} of {} finished ({share:.1}%)", s.robust, s.finished)
}

/// The time left if each remaining sample takes as long as an attack of
/// this run took so far (with `--epsilons`, an overestimate early on).
fn eta(s: &AuditStatus, elapsed: Duration) -> Option<Duration> {
    let left = s.total - s.finished;
    (s.attacked_by_this_run > 0).then(|| elapsed.mul_f64(left as f64 / s.attacked_by_this_run as f64))
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The status line logged off a terminal.
pub fn status_line(s: &AuditStatus, elapsed: Duration) -> String {
    format!(
        "audit: {}/{} samples finished, {}, elapsed {}, ETA {}",
        s.finished,
        s.total,
        robust_so_far(s),
        clock(elapsed),
        eta(s, elapsed).map_or("unknown".into(), clock)
    )
}

impl AuditProgress for AuditWatcher {
    fn status(&mut self, s: &AuditStatus) {
        match self {
            AuditWatcher::Quiet => {}
            AuditWatcher::Bar(bar) => {
                bar.set_length(s.total as u64);
                bar.set_position(s.finished as u64);
                bar.set_message(robust_so_far(s));
            }
            AuditWatcher::Log { every, started, last } => {
                let now = Instant::now();
                let due = last.is_none_or(|t| now.duration_since(t) >= *every) || s.finished == s.total;
                if due {
                    eprintln!("{}", status_line(s, now.duration_since(*started)));
                    *last = Some(now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_says_done_robust_and_eta() {
        let s = AuditStatus { finished: 10, total: 40, robust: 8, attacked_by_this_run: 6 };
        assert_eq!(
            status_line(&s, Duration::from_secs(60)),
            "audit: 10/40 samples finished, robust 8 of 10 finished (80.0%), elapsed 0:01:00, ETA 0:05:00"
        );
        let s = AuditStatus { attacked_by_this_run: 0, ..s };
        assert!(status_line(&s, Duration::from_secs(1)).ends_with("ETA unknown"));
    }
}

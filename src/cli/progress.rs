//! The progress bar on standard error (indicatif), shown only on a terminal.

use adr_onnx::optim::Progress;
use indicatif::{ProgressBar, ProgressStyle};

pub struct Bar {
    show: bool,
    bar: Option<ProgressBar>,
}

impl Bar {
    pub fn new(show: bool) -> Self {
        Bar { show, bar: None }
    }
}

impl Progress for Bar {
    fn begin(&mut self, phase: &str, total: usize) {
        if !self.show {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = ProgressStyle::with_template("{prefix:>4} [{bar:30}] {pos}/{len} {msg} ({elapsed})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(phase.to_string());
        self.bar = Some(bar);
    }

    fn tick(&mut self, done: usize, best: Option<f64>) {
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
            if let Some(v) = best {
                b.set_message(format!("best {v:.6}"));
            }
        }
    }

    fn end(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

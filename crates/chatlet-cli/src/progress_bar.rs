//! A progress bar on stderr for training: redrawn in place on a terminal, silent otherwise (so
//! that logs and pipes get no control characters).

use std::io::{IsTerminal, Write};

/// Draws `label [#####.....] 50%` and updates it when the percentage changes.
pub(crate) struct ProgressBar {
    label: String,
    shown: Option<usize>,
    terminal: bool,
}

const WIDTH: usize = 30;

impl ProgressBar {
    pub(crate) fn new(label: &str) -> ProgressBar {
        ProgressBar {
            label: label.to_owned(),
            shown: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    pub(crate) fn show(&mut self, done: usize, total: usize) {
        let percent = (done * 100).checked_div(total).unwrap_or(100).min(100);
        if !self.terminal || self.shown == Some(percent) {
            return;
        }
        self.shown = Some(percent);
        let filled = percent * WIDTH / 100;
        let mut err = std::io::stderr().lock();
        // A failed write to stderr is not worth failing the training for.
        let _ = write!(
            err,
            "\r{} [{}{}] {percent:>3}%",
            self.label,
            "#".repeat(filled),
            ".".repeat(WIDTH - filled)
        );
        let _ = err.flush();
    }

    pub(crate) fn finish(&mut self) {
        if self.terminal && self.shown.is_some() {
            eprintln!();
        }
    }
}

//! Progress bars of save and restore (§8): bytes, files, rate and ETA on stderr, only
//! when stderr is a terminal and `--quiet` is not given; nothing at all when piped.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use s3keep::backup::{Progress, ProgressFn};

/// A progress bar fed by the core's progress callback; inert when not shown.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar labelled `verb` (`saving`, `restoring`), drawn on stderr if it is a terminal
    /// and `quiet` is false.
    pub fn new(verb: &str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()).with_style(style);
        bar.set_prefix(verb.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar: Some(bar) }
    }

    /// The callback to hand to the core (`None` when no bar is shown).
    pub fn callback(&self) -> Option<Arc<dyn ProgressFn>> {
        let bar = self.bar.clone()?;
        Some(Arc::new(move |p: Progress| {
            if bar.length() != Some(p.bytes_total) {
                bar.set_length(p.bytes_total);
            }
            bar.set_position(p.bytes_done);
            bar.set_message(format!("{}/{} files", p.files_done, p.files_total));
        }))
    }

    /// Removes the bar from the terminal (before the summary line is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

//! The words of a ceremony's progress: each event the ceremony crate reports becomes the
//! line the people at the table read on standard error.

use std::io::Write;

use quorum_ceremony::progress::{Event, Progress};

/// The screen everyone at the table reads: ceremony events, worded, on standard error.
pub(crate) struct Screen;

impl Progress for Screen {
    fn tell(&mut self, event: Event) {
        let mut err = std::io::stderr().lock();
        // Output errors are not fatal: the ceremony goes on and its result is still returned.
        let _ = writeln!(err, "{}", line(&event));
        let _ = err.flush();
    }
}

/// The line for one event.
pub(crate) fn line(event: &Event) -> String {
    match event {
        Event::Line(text) => text.clone(),
        _ => format!("{event:?}"),
    }
}

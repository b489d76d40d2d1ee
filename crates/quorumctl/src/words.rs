//! The words of a ceremony's progress: each event the ceremony crate reports becomes the
//! line the people at the table read on standard error.

use std::io::Write;

mod add_card;
mod change_pin;
pub(crate) mod dry_run;
pub(crate) mod enroll;
pub(crate) mod files;
pub(crate) mod init;
pub(crate) mod log;
mod pin_step;
mod presence;
mod recover;
mod reset;
pub(crate) mod reshare;
pub(crate) mod share;
pub(crate) mod token;
pub(crate) mod verify;

use quorum_ceremony::progress::{Event, Progress};
use quorum_ceremony::CeremonyError;

pub(crate) use reset::confirm_prompt as confirm_reset_prompt;

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
        Event::Presence(told) => presence::line(told),
        Event::Pin(told) => pin_step::line(told),
        Event::Init(told) => init::line(told),
        Event::Reset(told) => reset::line(told),
        Event::Enroll(told) => enroll::line(told),
        Event::Reshare(told) => reshare::line(told),
        Event::Recover(told) => recover::line(told),
        Event::Verify(told) => verify::line(told),
        Event::AddCard(told) => add_card::line(told),
        Event::Share(told) => share::line(told),
    }
}

/// The message for a ceremony's error: the CLI's own words where a module of `words` has
/// them (what to do, naming quorumctl's options and commands), else the library's account.
pub(crate) fn error_message(e: &CeremonyError) -> String {
    const WORDED_BY: [fn(&CeremonyError) -> Option<String>; 11] = [
        presence::error,
        init::error,
        pin_step::error,
        change_pin::error,
        reset::error,
        enroll::error,
        reshare::error,
        recover::error,
        verify::error,
        add_card::error,
        files::error,
    ];
    WORDED_BY
        .iter()
        .find_map(|words| words(e))
        .unwrap_or_else(|| e.to_string())
}

//! PINs typed on this computer: the terminal prompt without echo, re-asking after an
//! entry that breaks the PIN rules and confirming every new PIN.
//!
//! rpassword's own internal line buffer is outside our control; its result is moved into a
//! zeroizing string at once.

use std::io;

use quorum_ceremony::pins::{PinProvider, PinSourceError};
use quorum_protocol::pin::{PinBlock, PIN_MAX_DIGITS, PIN_MIN_DIGITS};
use zeroize::Zeroizing;

/// How many times an interactive prompt re-asks after an invalid entry before giving up.
const PROMPT_ATTEMPTS: usize = 3;

/// The custodian at this computer's keyboard, as the ceremonies' [`PinProvider`].
#[derive(Debug)]
pub struct Keyboard;

impl PinProvider for Keyboard {
    fn current_pin(&self, fingerprint: &str) -> Result<PinBlock, PinSourceError> {
        prompt_pin(&format!("PIN of card {fingerprint}: "))
    }

    fn new_pin(&self, fingerprint: &str) -> Result<PinBlock, PinSourceError> {
        prompt_new_pin(&format!(
            "New PIN for card {fingerprint} ({PIN_MIN_DIGITS}-{PIN_MAX_DIGITS} digits): "
        ))
    }

    fn interactive(&self) -> bool {
        true
    }

    fn origin(&self) -> String {
        "typed on this computer (no echo)".to_owned()
    }
}

/// Asks for an existing PIN on the terminal without echo; re-asks after an invalid entry.
pub fn prompt_pin(prompt: &str) -> Result<PinBlock, PinSourceError> {
    ask_pin_with(&mut terminal_entry, prompt, &mut complain_on_stderr)
}

/// Asks for a new PIN twice on the terminal without echo, so a typo cannot lock the card.
pub fn prompt_new_pin(prompt: &str) -> Result<PinBlock, PinSourceError> {
    ask_new_pin_with(&mut terminal_entry, prompt, &mut complain_on_stderr)
}

/// One line typed without echo; the result lives in a zeroizing string from the start.
type Entry<'a> = dyn FnMut(&str) -> io::Result<Zeroizing<String>> + 'a;

fn terminal_entry(prompt: &str) -> io::Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt).map(Zeroizing::new)
}

fn complain_on_stderr(error: &PinSourceError) {
    eprintln!("{error}; try again");
}

fn ask_pin_with(
    ask: &mut Entry<'_>,
    prompt: &str,
    complain: &mut dyn FnMut(&PinSourceError),
) -> Result<PinBlock, PinSourceError> {
    for attempt in 1..=PROMPT_ATTEMPTS {
        let entry = ask(prompt).map_err(PinSourceError::Terminal)?;
        match PinBlock::new(entry.trim()) {
            Ok(pin) => return Ok(pin),
            Err(error) if attempt < PROMPT_ATTEMPTS => complain(&error.into()),
            Err(_) => break,
        }
    }
    Err(PinSourceError::TooManyAttempts {
        attempts: PROMPT_ATTEMPTS,
    })
}

fn ask_new_pin_with(
    ask: &mut Entry<'_>,
    prompt: &str,
    complain: &mut dyn FnMut(&PinSourceError),
) -> Result<PinBlock, PinSourceError> {
    for attempt in 1..=PROMPT_ATTEMPTS {
        let outcome = ask_pin_with(ask, prompt, complain).and_then(|first| {
            let again = ask("Repeat the new PIN: ").map_err(PinSourceError::Terminal)?;
            match PinBlock::new(again.trim()) {
                Ok(second) if second.same_pin(&first) => Ok(first),
                _ => Err(PinSourceError::Mismatch),
            }
        });
        match outcome {
            Err(PinSourceError::Mismatch) if attempt < PROMPT_ATTEMPTS => {
                complain(&PinSourceError::Mismatch)
            }
            Err(PinSourceError::Mismatch) => break,
            other => return other,
        }
    }
    Err(PinSourceError::TooManyAttempts {
        attempts: PROMPT_ATTEMPTS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A scripted terminal: answers the prompts in order and records them.
    fn scripted(entries: &[&str]) -> (VecDeque<String>, Vec<String>) {
        (entries.iter().map(|s| s.to_string()).collect(), Vec::new())
    }

    fn run_new_pin(entries: &[&str]) -> (Result<PinBlock, PinSourceError>, Vec<String>, usize) {
        let (mut queue, mut prompts) = scripted(entries);
        let mut complaints = 0;
        let mut ask = |prompt: &str| -> io::Result<Zeroizing<String>> {
            prompts.push(prompt.to_owned());
            Ok(Zeroizing::new(
                queue
                    .pop_front()
                    .expect("prompted more often than scripted"),
            ))
        };
        let result = ask_new_pin_with(&mut ask, "New PIN: ", &mut |_| complaints += 1);
        assert!(queue.is_empty(), "not every scripted entry was asked for");
        (result, prompts, complaints)
    }

    #[test]
    fn new_pin_is_confirmed() {
        let (result, prompts, complaints) = run_new_pin(&["246810", "246810"]);
        assert_eq!(result.unwrap().as_bytes()[..6], *b"246810");
        assert_eq!(prompts, ["New PIN: ", "Repeat the new PIN: "]);
        assert_eq!(complaints, 0);
    }

    #[test]
    fn new_pin_mismatch_asks_again_then_gives_up() {
        let (result, _, complaints) = run_new_pin(&["246810", "246811", "135790", "135790"]);
        assert_eq!(result.unwrap().as_bytes()[..6], *b"135790");
        assert_eq!(complaints, 1);

        let (result, _, complaints) =
            run_new_pin(&["111111", "111112", "222222", "222223", "333333", "333334"]);
        assert!(matches!(
            result,
            Err(PinSourceError::TooManyAttempts { .. })
        ));
        assert_eq!(complaints, 2);
    }

    #[test]
    fn invalid_entries_are_reasked() {
        let mut queue: VecDeque<&str> = ["12", "abcdef", "135790"].into();
        let mut complaints = Vec::new();
        let mut ask = |_: &str| -> io::Result<Zeroizing<String>> {
            Ok(Zeroizing::new(queue.pop_front().unwrap().to_owned()))
        };
        let pin = ask_pin_with(&mut ask, "PIN: ", &mut |e| complaints.push(e.to_string())).unwrap();
        assert_eq!(pin.as_bytes()[..6], *b"135790");
        assert_eq!(complaints.len(), 2);
        assert!(complaints.iter().all(|c| !c.contains("abcdef")));
    }

    #[test]
    fn terminal_failure_suggests_the_non_interactive_sources() {
        let mut ask = |_: &str| -> io::Result<Zeroizing<String>> {
            Err(io::Error::new(io::ErrorKind::NotFound, "no tty"))
        };
        let error = ask_pin_with(&mut ask, "PIN: ", &mut |_| {}).unwrap_err();
        assert!(error.to_string().contains("--pin-file"));
    }
}

//! The custodian's side of the pad: key presses queued by tests over the control
//! channel, one PIN entry at a time with its timeout and validation rules, and what the
//! display showed.
//!
//! Semantics of the queue: keys form one stream per reader. Each prompt of a PIN
//! operation (VERIFY: one; MODIFY: up to three) takes keys from the front until the
//! entry ends (OK, cancel, the maximum length when that validates, or the timeout); keys
//! after that stay for the next prompt or the next operation. When the queue is empty a
//! prompt waits for keys to arrive until its timeout. `Nothing` stands for a custodian
//! who does not touch the pad during that prompt: the prompt consumes it and waits out
//! its whole timeout, ignoring the queue.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::pin_structure::{VALIDATE_ON_KEY, VALIDATE_ON_MAX, VALIDATE_ON_TIMEOUT};
use crate::secret::PinDigits;

/// One key of the pad, or the "custodian does nothing" marker.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A digit key, 0..=9.
    Digit(u8),
    /// The validation (OK / enter) key.
    Ok,
    /// The cancel key: the whole operation ends with 64 01.
    Cancel,
    /// The clear (correction) key: erases the digits of the current prompt.
    Clear,
    /// No key at all for the prompt that reaches it: it times out.
    Nothing,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never show which digit: queues end up in panic messages and logs.
        match self {
            Key::Digit(_) => f.write_str("Digit"),
            Key::Ok => f.write_str("Ok"),
            Key::Cancel => f.write_str("Cancel"),
            Key::Clear => f.write_str("Clear"),
            Key::Nothing => f.write_str("Nothing"),
        }
    }
}

/// Parses the control channel's key words: runs of digits ("123456"), `ok`, `cancel`,
/// `clear`, `nothing` (case-insensitive).
pub fn parse_keys<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Vec<Key>, String> {
    let mut keys = Vec::new();
    for word in words {
        match word.to_ascii_lowercase().as_str() {
            "ok" | "enter" => keys.push(Key::Ok),
            "cancel" => keys.push(Key::Cancel),
            "clear" => keys.push(Key::Clear),
            "nothing" => keys.push(Key::Nothing),
            w if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
                keys.extend(w.bytes().map(|b| Key::Digit(b - b'0')));
            }
            _ => {
                return Err(format!(
                    "unknown key {word:?}: use runs of digits, ok, cancel, clear or nothing"
                ))
            }
        }
    }
    Ok(keys)
}

/// How the last PIN operation ended, for tests that assert the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No PIN operation since the last reset.
    None,
    /// Entry finished, the APDU went to the card, which answered with this status word.
    Sent(u16),
    /// A prompt timed out: 64 00.
    Timeout,
    /// The cancel key: 64 01.
    Cancelled,
    /// New PIN and confirmation differ: 64 02.
    Mismatch,
    /// Too few or too many digits: 64 03.
    LengthOutOfRange,
    /// The structure was refused before any prompt (driver or firmware check).
    Rejected(String),
    /// The card was missing or its link failed.
    CardError(String),
    /// The reader was unplugged during the operation (or before it): IFD_NO_SUCH_DEVICE.
    Unplugged,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::None => f.write_str("none"),
            Outcome::Sent(sw) => write!(f, "sent {sw:04X}"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::Cancelled => f.write_str("cancelled"),
            Outcome::Mismatch => f.write_str("mismatch"),
            Outcome::LengthOutOfRange => f.write_str("length"),
            Outcome::Rejected(why) => write!(f, "rejected {why}"),
            Outcome::CardError(why) => write!(f, "card-error {why}"),
            Outcome::Unplugged => f.write_str("unplugged"),
        }
    }
}

/// Why a prompt ended without a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryEnd {
    /// The timeout expired (and did not validate the entry).
    Timeout,
    /// The cancel key.
    Cancelled,
    /// The entry was validated with fewer than min or more than max digits.
    LengthOutOfRange,
    /// The prompt's stop condition held: the reader was unplugged, the pad went dark.
    Stopped,
}

/// The rules for one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRules {
    /// How long the prompt waits in total.
    pub timeout: Duration,
    /// bEntryValidationCondition bits.
    pub validation: u8,
    /// Fewest digits accepted.
    pub min_digits: u8,
    /// Most digits accepted.
    pub max_digits: u8,
}

struct State {
    queue: VecDeque<Key>,
    display: Vec<String>,
    outcome: Outcome,
    prompting: bool,
}

/// The keypad and display of one reader, shared by pcscd's calls and the control channel.
pub struct Keypad {
    state: Mutex<State>,
    keys_arrived: Condvar,
}

impl Default for Keypad {
    fn default() -> Self {
        Keypad::new()
    }
}

impl Keypad {
    /// A pad with no keys queued and a blank display.
    pub fn new() -> Keypad {
        Keypad {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                display: Vec::new(),
                outcome: Outcome::None,
                prompting: false,
            }),
            keys_arrived: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the pad down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends keys for the next prompts; returns how many keys are queued now.
    pub fn queue(&self, keys: &[Key]) -> usize {
        let mut s = self.lock();
        s.queue.extend(keys.iter().copied());
        self.keys_arrived.notify_all();
        s.queue.len()
    }

    /// Forgets queued keys, the display log and the last outcome.
    pub fn reset(&self) {
        let mut s = self.lock();
        s.queue.clear();
        s.display.clear();
        s.outcome = Outcome::None;
    }

    /// Every message the display showed since the last reset, oldest first.
    pub fn display_log(&self) -> Vec<String> {
        self.lock().display.clone()
    }

    /// Puts a message on the display (and in its log).
    pub fn show(&self, message: &str) {
        self.lock().display.push(message.to_owned());
    }

    /// How the last PIN operation ended.
    pub fn outcome(&self) -> Outcome {
        self.lock().outcome.clone()
    }

    /// Records how a PIN operation ended.
    pub fn set_outcome(&self, outcome: Outcome) {
        self.lock().outcome = outcome;
    }

    /// Whether a prompt is waiting for keys now, and how many keys are queued.
    pub fn status(&self) -> (bool, usize) {
        let s = self.lock();
        (s.prompting, s.queue.len())
    }

    /// Runs one prompt: shows `prompt` (if any), takes keys until the entry ends under
    /// `rules`, and returns the keyed digits or why there are none.
    pub fn read_pin(
        &self,
        prompt: Option<&str>,
        rules: &EntryRules,
    ) -> Result<PinDigits, EntryEnd> {
        self.read_pin_unless(prompt, rules, &|| false)
    }

    /// Like [`Keypad::read_pin`], but the prompt ends with [`EntryEnd::Stopped`] as soon
    /// as `stop` holds (checked before each key and whenever [`Keypad::wake`] is called),
    /// keeping the keys that are still queued.
    pub fn read_pin_unless(
        &self,
        prompt: Option<&str>,
        rules: &EntryRules,
        stop: &dyn Fn() -> bool,
    ) -> Result<PinDigits, EntryEnd> {
        let mut s = self.lock();
        if let Some(p) = prompt {
            s.display.push(p.to_owned());
        }
        s.prompting = true;
        let (mut s, result) = self.collect(s, rules, stop);
        s.prompting = false;
        result
    }

    /// Makes a waiting prompt look at its stop condition again (call it after changing
    /// what the condition reads, e.g. after pulling the reader's cable).
    pub fn wake(&self) {
        // Taking the lock orders this with a prompt that checked its condition and is
        // about to wait, so the wake-up cannot fall between the two.
        let _s = self.lock();
        self.keys_arrived.notify_all();
    }

    /// Waits for a key (or anything that wakes the pad) until `deadline`.
    fn wait_until<'a>(&self, s: MutexGuard<'a, State>, deadline: Instant) -> MutexGuard<'a, State> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return s;
        }
        match self.keys_arrived.wait_timeout(s, left) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    fn collect<'a>(
        &self,
        mut s: MutexGuard<'a, State>,
        rules: &EntryRules,
        stop: &dyn Fn() -> bool,
    ) -> (MutexGuard<'a, State>, Result<PinDigits, EntryEnd>) {
        let deadline = Instant::now() + rules.timeout;
        let mut pin = PinDigits::new();
        loop {
            if stop() {
                return (s, Err(EntryEnd::Stopped));
            }
            let Some(key) = s.queue.pop_front() else {
                if Instant::now() >= deadline {
                    return (s, timed_out(pin, rules));
                }
                s = self.wait_until(s, deadline);
                continue;
            };
            match key {
                Key::Digit(d) => {
                    // A full buffer ignores further digits, like a pad that beeps.
                    pin.push(d);
                    if rules.validation & VALIDATE_ON_MAX != 0
                        && pin.len() >= usize::from(rules.max_digits)
                    {
                        return (s, checked(pin, rules));
                    }
                }
                Key::Ok => {
                    if rules.validation & VALIDATE_ON_KEY != 0 {
                        return (s, checked(pin, rules));
                    }
                }
                Key::Clear => pin.clear(),
                Key::Cancel => return (s, Err(EntryEnd::Cancelled)),
                Key::Nothing => {
                    // The custodian walks away: wait out the prompt, ignore the queue.
                    while Instant::now() < deadline {
                        if stop() {
                            return (s, Err(EntryEnd::Stopped));
                        }
                        s = self.wait_until(s, deadline);
                    }
                    return (s, timed_out(pin, rules));
                }
            }
        }
    }
}

fn checked(pin: PinDigits, rules: &EntryRules) -> Result<PinDigits, EntryEnd> {
    let n = pin.len();
    if n < usize::from(rules.min_digits) || n > usize::from(rules.max_digits) {
        Err(EntryEnd::LengthOutOfRange)
    } else {
        Ok(pin)
    }
}

fn timed_out(pin: PinDigits, rules: &EntryRules) -> Result<PinDigits, EntryEnd> {
    if rules.validation & VALIDATE_ON_TIMEOUT != 0 && !pin.is_empty() {
        checked(pin, rules)
    } else {
        Err(EntryEnd::Timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    fn rules(timeout_ms: u64, validation: u8, min: u8, max: u8) -> EntryRules {
        EntryRules {
            timeout: Duration::from_millis(timeout_ms),
            validation,
            min_digits: min,
            max_digits: max,
        }
    }

    fn pad_with(words: &str) -> Keypad {
        let pad = Keypad::new();
        pad.queue(&parse_keys(words.split_whitespace()).expect("keys"));
        pad
    }

    #[test]
    fn key_words_become_keys_and_unknown_words_are_refused() {
        let keys = parse_keys("12 OK cancel clear nothing 0".split_whitespace()).expect("keys");
        assert_eq!(
            keys,
            [
                Key::Digit(1),
                Key::Digit(2),
                Key::Ok,
                Key::Cancel,
                Key::Clear,
                Key::Nothing,
                Key::Digit(0)
            ]
        );
        let err = parse_keys(["12a"]).unwrap_err();
        assert!(err.contains("\"12a\""), "{err}");
        assert_eq!(format!("{:?}", Key::Digit(7)), "Digit");
    }

    #[test]
    fn digits_then_ok_give_the_pin_and_leave_later_keys_queued() {
        let pad = pad_with("123456 ok 9");
        let pin = pad
            .read_pin(Some("enter PIN"), &rules(1000, 0x02, 6, 12))
            .expect("pin");
        assert_eq!(pin.digits(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(pad.status(), (false, 1));
        assert_eq!(pad.display_log(), ["enter PIN"]);
    }

    #[test]
    fn cancel_ends_the_entry_at_once() {
        let pad = pad_with("12 cancel 34 ok");
        let start = Instant::now();
        assert_eq!(
            pad.read_pin(None, &rules(5000, 0x02, 1, 8)).unwrap_err(),
            EntryEnd::Cancelled
        );
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(pad.status().1, 3);
    }

    #[test]
    fn an_empty_queue_times_out_after_the_timeout() {
        let pad = Keypad::new();
        let start = Instant::now();
        assert_eq!(
            pad.read_pin(None, &rules(150, 0x02, 1, 8)).unwrap_err(),
            EntryEnd::Timeout
        );
        assert!(start.elapsed() >= Duration::from_millis(150));
    }

    #[test]
    fn nothing_waits_out_the_prompt_even_with_keys_behind_it() {
        let pad = pad_with("nothing 1234 ok");
        let start = Instant::now();
        assert_eq!(
            pad.read_pin(None, &rules(150, 0x02, 4, 8)).unwrap_err(),
            EntryEnd::Timeout
        );
        assert!(start.elapsed() >= Duration::from_millis(150));
        // The keys after the marker serve the next prompt.
        let pin = pad.read_pin(None, &rules(1000, 0x02, 4, 8)).expect("pin");
        assert_eq!(pin.len(), 4);
    }

    #[test]
    fn too_few_or_too_many_digits_are_a_length_error() {
        let pad = pad_with("12345 ok 1234567890123 ok");
        let r = rules(1000, 0x02, 6, 12);
        assert_eq!(
            pad.read_pin(None, &r).unwrap_err(),
            EntryEnd::LengthOutOfRange
        );
        assert_eq!(
            pad.read_pin(None, &r).unwrap_err(),
            EntryEnd::LengthOutOfRange
        );
    }

    #[test]
    fn reaching_the_maximum_validates_when_asked_to() {
        let pad = pad_with("12345 ok");
        let pin = pad.read_pin(None, &rules(1000, 0x03, 4, 4)).expect("pin");
        assert_eq!(pin.digits(), &[1, 2, 3, 4]);
        assert_eq!(pad.status().1, 2, "the fifth digit and OK stay queued");
    }

    #[test]
    fn the_ok_key_is_ignored_unless_it_validates() {
        let pad = pad_with("12 ok 34");
        let pin = pad.read_pin(None, &rules(1000, 0x01, 4, 4)).expect("pin");
        assert_eq!(pin.digits(), &[1, 2, 3, 4]);
    }

    #[test]
    fn a_timeout_validates_the_digits_when_asked_to() {
        let pad = pad_with("1234");
        let pin = pad.read_pin(None, &rules(100, 0x04, 4, 8)).expect("pin");
        assert_eq!(pin.len(), 4);
        // With nothing keyed a timeout stays a timeout.
        assert_eq!(
            pad.read_pin(None, &rules(50, 0x04, 0, 8)).unwrap_err(),
            EntryEnd::Timeout
        );
    }

    #[test]
    fn clear_erases_what_was_keyed_so_far() {
        let pad = pad_with("99 clear 1234 ok");
        let pin = pad.read_pin(None, &rules(1000, 0x02, 4, 8)).expect("pin");
        assert_eq!(pin.digits(), &[1, 2, 3, 4]);
    }

    #[test]
    fn keys_queued_while_a_prompt_waits_are_taken() {
        let pad = Arc::new(Keypad::new());
        let typist = {
            let pad = Arc::clone(&pad);
            thread::spawn(move || {
                while !pad.status().0 {
                    thread::sleep(Duration::from_millis(5));
                }
                pad.queue(&parse_keys(["654321", "ok"]).expect("keys"));
            })
        };
        let pin = pad
            .read_pin(Some("enter PIN"), &rules(5000, 0x02, 6, 8))
            .expect("pin");
        assert_eq!(pin.digits(), &[6, 5, 4, 3, 2, 1]);
        typist.join().expect("typist");
    }

    #[test]
    fn a_stop_condition_ends_a_waiting_prompt_at_once_and_keeps_the_queue() {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Already true: no key is taken.
        let pad = pad_with("1234 ok");
        assert_eq!(
            pad.read_pin_unless(None, &rules(5000, 0x02, 4, 8), &|| true)
                .unwrap_err(),
            EntryEnd::Stopped
        );
        assert_eq!(pad.status(), (false, 5));

        // Becomes true while the prompt waits for keys (or waits out `nothing`).
        for words in ["", "nothing"] {
            let pad = Arc::new(pad_with(words));
            let stop = Arc::new(AtomicBool::new(false));
            let puller = {
                let (pad, stop) = (Arc::clone(&pad), Arc::clone(&stop));
                thread::spawn(move || {
                    while !pad.status().0 {
                        thread::sleep(Duration::from_millis(5));
                    }
                    thread::sleep(Duration::from_millis(50));
                    stop.store(true, Ordering::SeqCst);
                    pad.wake();
                })
            };
            let start = Instant::now();
            let end = pad
                .read_pin_unless(Some("enter PIN"), &rules(10_000, 0x02, 4, 8), &|| {
                    stop.load(Ordering::SeqCst)
                })
                .unwrap_err();
            assert_eq!(end, EntryEnd::Stopped, "{words:?}");
            assert!(start.elapsed() < Duration::from_secs(5), "{words:?}");
            assert!(!pad.status().0, "the prompt is over");
            puller.join().expect("puller");
        }
    }

    #[test]
    fn reset_forgets_keys_display_and_outcome() {
        let pad = pad_with("1 2 3");
        pad.show("enter PIN");
        pad.set_outcome(Outcome::Sent(0x9000));
        assert_eq!(pad.outcome().to_string(), "sent 9000");
        pad.reset();
        assert_eq!(pad.status(), (false, 0));
        assert!(pad.display_log().is_empty());
        assert_eq!(pad.outcome(), Outcome::None);
    }

    #[test]
    fn outcomes_print_as_the_control_channel_words() {
        assert_eq!(Outcome::None.to_string(), "none");
        assert_eq!(Outcome::Sent(0x63C4).to_string(), "sent 63C4");
        assert_eq!(Outcome::Timeout.to_string(), "timeout");
        assert_eq!(Outcome::Cancelled.to_string(), "cancelled");
        assert_eq!(Outcome::Mismatch.to_string(), "mismatch");
        assert_eq!(Outcome::LengthOutOfRange.to_string(), "length");
        assert_eq!(Outcome::Rejected("x".into()).to_string(), "rejected x");
        assert_eq!(Outcome::CardError("y".into()).to_string(), "card-error y");
        assert_eq!(Outcome::Unplugged.to_string(), "unplugged");
    }
}

//! PINs typed on this computer: the terminal prompt without echo, re-asking after an
//! entry that breaks the rule of the card it is for (the quorum applet's 6 to 12 digits,
//! an OpenPGP card's 6 to 127 characters) and confirming every new PIN.
//!
//! The prompt is quorumctl's own, on `/dev/tty`: echo is turned off for the entry and the
//! terminal's previous state is restored on every way out (a PIN, an error, Ctrl-C, a
//! panic), by a guard. The entry is read into a zeroizing buffer, a bounded chunk at a
//! time; while it waits, a Ctrl-C or SIGTERM (see `signals`) ends it with
//! [`PinSourceError::Interrupted`] within one poll slice.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use quorum_ceremony::pins::{PinFor, PinOrigin, PinProvider, PinSourceError};
use quorum_protocol::pin::{Pin, PinError, PinRule};
use zeroize::Zeroizing;

/// How many times an interactive prompt re-asks after an invalid entry before giving up.
const PROMPT_ATTEMPTS: usize = 3;

/// The custodian at this computer's keyboard, as the ceremonies' [`PinProvider`].
#[derive(Debug)]
pub struct Keyboard;

impl PinProvider for Keyboard {
    fn current_pin(&self, card: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError> {
        prompt_pin(&pin_prompt(card), rule)
    }

    fn new_pin(&self, card: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError> {
        prompt_new_pin(&new_pin_prompt(card, rule), rule)
    }

    fn interactive(&self) -> bool {
        true
    }

    fn origin(&self) -> PinOrigin {
        PinOrigin::Keyboard
    }
}

/// Whose card and which reader, as a prompt names them: `Alice (card F, reader "R")`,
/// `card F (reader "R")`, or `the card in reader "R"` when neither is known yet.
fn whose(card: &PinFor<'_>) -> String {
    let reader = card.reader;
    match (card.custodian, card.fingerprint) {
        (Some(name), Some(fp)) => format!("{name} (card {fp}, reader \"{reader}\")"),
        (Some(name), None) => format!("{name} (the card in reader \"{reader}\")"),
        (None, Some(fp)) => format!("card {fp} (reader \"{reader}\")"),
        (None, None) => format!("the card in reader \"{reader}\""),
    }
}

/// The prompt for a card's current PIN, naming the custodian and the reader.
fn pin_prompt(card: &PinFor<'_>) -> String {
    format!("PIN of {}: ", whose(card))
}

/// The prompt for a new PIN, saying what the card's rule allows (`6-12 digits`).
fn new_pin_prompt(card: &PinFor<'_>, rule: PinRule) -> String {
    format!("New PIN ({}) for {}: ", rule.hint(), whose(card))
}

/// Asks for an existing PIN on the terminal without echo; re-asks after an entry that
/// breaks `rule`.
pub fn prompt_pin(prompt: &str, rule: PinRule) -> Result<Pin, PinSourceError> {
    ask_pin_with(&mut terminal_entry, prompt, rule, &mut complain_on_stderr)
}

/// Asks for a new PIN twice on the terminal without echo, so a typo cannot lock the card.
pub fn prompt_new_pin(prompt: &str, rule: PinRule) -> Result<Pin, PinSourceError> {
    ask_new_pin_with(&mut terminal_entry, prompt, rule, &mut complain_on_stderr)
}

/// Asks for a secret line other than a card PIN (a token's user PIN, whose rules are the
/// token's own) on the terminal without echo.
pub fn prompt_hidden_line(prompt: &str) -> Result<Zeroizing<String>, PinSourceError> {
    terminal_entry(prompt).map_err(entry_error)
}

/// One line typed without echo; the result lives in a zeroizing string from the start.
type Entry<'a> = dyn FnMut(&str) -> Result<Zeroizing<String>, EntryEnd> + 'a;

/// The PIN source's error for an entry that gave no line.
fn entry_error(end: EntryEnd) -> PinSourceError {
    match end {
        EntryEnd::Io(e) => PinSourceError::Terminal(e),
        EntryEnd::Interrupted => PinSourceError::Interrupted,
    }
}

/// How long one wait for a key press lasts before the stop flag is looked at again.
const POLL_SLICE_MS: libc::c_int = 200;

/// Longest entry kept; anything longer is read and dropped (a PIN has at most 127
/// characters, so a longer entry is refused by the rule, not cut to fit).
const ENTRY_MAX: usize = 256;

/// Why a hidden entry gave no line.
#[derive(Debug)]
enum EntryEnd {
    /// The terminal failed.
    Io(io::Error),
    /// Ctrl-C or SIGTERM (the stop flag), or the end of input (Ctrl-D).
    Interrupted,
}

fn terminal_entry(prompt: &str) -> Result<Zeroizing<String>, EntryEnd> {
    let path = c"/dev/tty";
    // SAFETY: open with a NUL-terminated path; the result is checked.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(EntryEnd::Io(io::Error::last_os_error()));
    }
    // SAFETY: fd was just opened and is owned here alone.
    let tty = unsafe { OwnedFd::from_raw_fd(fd) };
    read_hidden(tty.as_raw_fd(), prompt, &crate::signals::interrupted)
}

/// The terminal's state before echo was turned off, put back when the guard goes, however
/// the entry ends (also by a panic, which unwinds through it).
struct EchoOff {
    fd: RawFd,
    saved: libc::termios,
}

impl EchoOff {
    /// Turns echo off on `fd` (a newline is still echoed), remembering the state to restore.
    fn new(fd: RawFd) -> io::Result<EchoOff> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: fd is a terminal (tcgetattr succeeded); quiet is a valid termios.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EchoOff { fd, saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the state read from the same descriptor, which is still open.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Writes all of `bytes` to `fd`, retrying after a signal.
fn write_all(fd: RawFd, bytes: &[u8]) -> io::Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: the pointer and length describe `rest`, which outlives the call.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        rest = &rest[n as usize..];
    }
    Ok(())
}

/// Shows `prompt` on the terminal `fd` and reads one line without echo. The wait is cut in
/// slices so `stop` is seen even when a signal lands between two reads.
fn read_hidden(
    fd: RawFd,
    prompt: &str,
    stop: &dyn Fn() -> bool,
) -> Result<Zeroizing<String>, EntryEnd> {
    write_all(fd, prompt.as_bytes()).map_err(EntryEnd::Io)?;
    let echo_off = EchoOff::new(fd).map_err(EntryEnd::Io)?;
    let mut line: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(ENTRY_MAX));
    let mut chunk = Zeroizing::new([0u8; 64]);
    let ended = loop {
        if stop() {
            break Err(EntryEnd::Interrupted);
        }
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, POLL_SLICE_MS) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break Err(EntryEnd::Io(e));
        }
        if ready == 0 {
            continue;
        }
        // SAFETY: reads at most the chunk's length into it.
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break Err(EntryEnd::Io(e));
        }
        if n == 0 {
            break Err(EntryEnd::Interrupted);
        }
        let got = &chunk[..n as usize];
        let end = got.iter().position(|&b| b == b'\n');
        let take = &got[..end.unwrap_or(got.len())];
        let room = ENTRY_MAX.saturating_sub(line.len());
        line.extend_from_slice(&take[..take.len().min(room)]);
        if end.is_some() {
            break Ok(());
        }
    };
    drop(echo_off);
    match ended {
        Ok(()) => {
            let text = std::str::from_utf8(&line).map_err(|_| {
                EntryEnd::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the entry is not UTF-8 text",
                ))
            })?;
            Ok(Zeroizing::new(text.trim_end_matches('\r').to_owned()))
        }
        Err(e) => {
            // The cursor stays after the prompt: end its line.
            let _ = write_all(fd, b"\n");
            Err(e)
        }
    }
}

fn complain_on_stderr(error: &PinSourceError) {
    eprintln!("{error}; try again");
}

/// A typed entry as a PIN meeting `rule`, or the rule's own words for what is wrong.
fn typed_pin(entry: &str, rule: PinRule) -> Result<Pin, PinError> {
    let pin = Pin::new(entry.trim())?;
    pin.check(rule)?;
    Ok(pin)
}

fn ask_pin_with(
    ask: &mut Entry<'_>,
    prompt: &str,
    rule: PinRule,
    complain: &mut dyn FnMut(&PinSourceError),
) -> Result<Pin, PinSourceError> {
    for attempt in 1..=PROMPT_ATTEMPTS {
        let entry = ask(prompt).map_err(entry_error)?;
        match typed_pin(&entry, rule) {
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
    rule: PinRule,
    complain: &mut dyn FnMut(&PinSourceError),
) -> Result<Pin, PinSourceError> {
    for attempt in 1..=PROMPT_ATTEMPTS {
        let outcome = ask_pin_with(ask, prompt, rule, complain).and_then(|first| {
            let again = ask("Repeat the new PIN: ").map_err(entry_error)?;
            match typed_pin(&again, rule) {
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

    fn run_new_pin(entries: &[&str]) -> (Result<Pin, PinSourceError>, Vec<String>, usize) {
        run_new_pin_by(entries, PinRule::Applet)
    }

    fn run_new_pin_by(
        entries: &[&str],
        rule: PinRule,
    ) -> (Result<Pin, PinSourceError>, Vec<String>, usize) {
        let (mut queue, mut prompts) = scripted(entries);
        let mut complaints = 0;
        let mut ask = |prompt: &str| -> Result<Zeroizing<String>, EntryEnd> {
            prompts.push(prompt.to_owned());
            Ok(Zeroizing::new(
                queue
                    .pop_front()
                    .expect("prompted more often than scripted"),
            ))
        };
        let result = ask_new_pin_with(&mut ask, "New PIN: ", rule, &mut |_| complaints += 1);
        assert!(queue.is_empty(), "not every scripted entry was asked for");
        (result, prompts, complaints)
    }

    #[test]
    fn new_pin_is_confirmed() {
        let (result, prompts, complaints) = run_new_pin(&["246810", "246810"]);
        assert_eq!(result.unwrap().as_bytes(), b"246810");
        assert_eq!(prompts, ["New PIN: ", "Repeat the new PIN: "]);
        assert_eq!(complaints, 0);
    }

    #[test]
    fn new_pin_mismatch_asks_again_then_gives_up() {
        let (result, _, complaints) = run_new_pin(&["246810", "246811", "135790", "135790"]);
        assert_eq!(result.unwrap().as_bytes(), b"135790");
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
        let mut ask = |_: &str| -> Result<Zeroizing<String>, EntryEnd> {
            Ok(Zeroizing::new(queue.pop_front().unwrap().to_owned()))
        };
        let pin = ask_pin_with(&mut ask, "PIN: ", PinRule::Applet, &mut |e| {
            complaints.push(e.to_string())
        })
        .unwrap();
        assert_eq!(pin.as_bytes(), b"135790");
        assert_eq!(
            complaints,
            [
                "a PIN must have 6 to 12 digits; choose one of that length",
                "a PIN may contain only the digits 0-9 (pinpad readers have digit keys only)"
            ]
        );
    }

    #[test]
    fn an_openpgp_cards_passphrase_is_taken_and_a_short_one_asked_again() {
        let mut queue: VecDeque<&str> = ["abc12", "tr0ub 4dor", "tr0ub4dor-passphrase"].into();
        let mut complaints = Vec::new();
        let mut ask = |_: &str| -> Result<Zeroizing<String>, EntryEnd> {
            Ok(Zeroizing::new(queue.pop_front().unwrap().to_owned()))
        };
        let pin = ask_pin_with(&mut ask, "PIN: ", PinRule::OpenPgpUser, &mut |e| {
            complaints.push(e.to_string())
        })
        .unwrap();
        assert_eq!(pin.as_bytes(), b"tr0ub4dor-passphrase");
        assert_eq!(complaints.len(), 2);
        assert!(
            complaints[0].contains("6 to 127 characters"),
            "{complaints:?}"
        );
        assert!(complaints[1].contains("no spaces"), "{complaints:?}");
        assert!(complaints
            .iter()
            .all(|c| !c.contains("abc12") && !c.contains("tr0ub")));

        let thirteen = "1234567890123";
        let (result, _, complaints) = run_new_pin_by(&[thirteen, thirteen], PinRule::OpenPgpUser);
        assert_eq!(result.unwrap().as_bytes(), thirteen.as_bytes());
        assert_eq!(complaints, 0);
        let (result, _, complaints) =
            run_new_pin_by(&[thirteen, "246810", "246810"], PinRule::Applet);
        assert_eq!(result.unwrap().as_bytes(), b"246810");
        assert_eq!(complaints, 1);
    }

    #[test]
    fn the_new_pin_prompt_says_the_cards_rule() {
        let card = PinFor::card("a1b2-c3d4-e5f6-0718", "Quorum Sim A 00 00");
        assert_eq!(
            new_pin_prompt(&card, PinRule::Applet),
            "New PIN (6-12 digits) for card a1b2-c3d4-e5f6-0718 (reader \"Quorum Sim A 00 00\"): "
        );
        assert_eq!(
            new_pin_prompt(&card.named(Some("Alice")), PinRule::OpenPgpUser),
            "New PIN (6-127 characters) for Alice (card a1b2-c3d4-e5f6-0718, reader \"Quorum Sim A 00 00\"): "
        );
        let blank = PinFor {
            custodian: None,
            fingerprint: None,
            reader: "Quorum Sim A 00 00",
        };
        assert_eq!(
            new_pin_prompt(&blank, PinRule::Applet),
            "New PIN (6-12 digits) for the card in reader \"Quorum Sim A 00 00\": "
        );
    }

    #[test]
    fn the_pin_prompt_names_the_custodian_and_the_reader() {
        let card = PinFor::card("51d4-77cb-be13-c565", "Quorum Sim A 00 00");
        assert_eq!(
            pin_prompt(&card.named(Some("Alice"))),
            "PIN of Alice (card 51d4-77cb-be13-c565, reader \"Quorum Sim A 00 00\"): "
        );
        assert_eq!(
            pin_prompt(&card),
            "PIN of card 51d4-77cb-be13-c565 (reader \"Quorum Sim A 00 00\"): "
        );
        assert_eq!(pin_prompt(&card.named(Some("  "))), pin_prompt(&card));
    }

    #[test]
    fn terminal_failure_suggests_the_non_interactive_sources() {
        let mut ask = |_: &str| -> Result<Zeroizing<String>, EntryEnd> {
            Err(EntryEnd::Io(io::Error::new(
                io::ErrorKind::NotFound,
                "no tty",
            )))
        };
        let error = ask_pin_with(&mut ask, "PIN: ", PinRule::Applet, &mut |_| {}).unwrap_err();
        assert!(matches!(error, PinSourceError::Terminal(_)), "{error}");
        let message = crate::words::error_message(&error.into());
        assert!(message.contains("--pin-file"), "{message}");
    }

    #[test]
    fn an_interrupted_entry_is_an_interrupted_pin_source() {
        let mut ask =
            |_: &str| -> Result<Zeroizing<String>, EntryEnd> { Err(EntryEnd::Interrupted) };
        assert!(matches!(
            ask_new_pin_with(&mut ask, "New PIN: ", PinRule::Applet, &mut |_| {}),
            Err(PinSourceError::Interrupted)
        ));
    }

    /// A pseudo-terminal pair: (controller, terminal side), both closed on drop.
    fn pty() -> (OwnedFd, OwnedFd) {
        let (mut controller, mut terminal) = (-1, -1);
        // SAFETY: openpty fills two descriptors; name, termios and winsize may be null.
        let rc = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here alone.
        unsafe {
            (
                OwnedFd::from_raw_fd(controller),
                OwnedFd::from_raw_fd(terminal),
            )
        }
    }

    fn lflag(fd: RawFd) -> libc::tcflag_t {
        // SAFETY: termios is plain data; tcgetattr fills it.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t.c_lflag
    }

    fn read_all(fd: RawFd) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // The first byte may take a while on a loaded machine (the test suites run in
            // parallel); after it, a short pause means the prompt said all it had to say.
            let wait_ms = if out.is_empty() { 5000 } else { 200 };
            // SAFETY: one valid pollfd; the buffer outlives the read.
            if unsafe { libc::poll(&mut p, 1, wait_ms) } <= 0 {
                break;
            }
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn the_terminal_gets_its_echo_back_after_a_pin_and_after_an_interruption() {
        let (controller, terminal) = pty();
        let before = lflag(terminal.as_raw_fd());
        assert_ne!(before & libc::ECHO, 0, "a fresh pty echoes");

        // The custodian types once the prompt has turned echo off, as a person would: input
        // that reaches the line discipline before that would be echoed.
        let (ctl, term) = (controller.as_raw_fd(), terminal.as_raw_fd());
        let typist = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while lflag(term) & libc::ECHO != 0 {
                assert!(std::time::Instant::now() < deadline, "echo never went off");
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            write_all(ctl, b"246810\n").unwrap();
        });
        let pin = read_hidden(terminal.as_raw_fd(), "PIN: ", &|| false).unwrap();
        typist.join().unwrap();
        assert_eq!(pin.as_str(), "246810");
        assert_eq!(lflag(terminal.as_raw_fd()), before);
        let shown = read_all(controller.as_raw_fd());
        assert!(shown.starts_with("PIN: "), "{shown:?}");
        assert!(!shown.contains("246810"), "the PIN was echoed: {shown:?}");

        // Nobody types; the stop flag comes up while the prompt waits.
        let started = std::time::Instant::now();
        let stop = || started.elapsed() > std::time::Duration::from_millis(300);
        let end = read_hidden(terminal.as_raw_fd(), "PIN: ", &stop).unwrap_err();
        assert!(matches!(end, EntryEnd::Interrupted), "{end:?}");
        assert_eq!(
            lflag(terminal.as_raw_fd()),
            before,
            "echo restored after Ctrl-C"
        );
        assert!(read_all(controller.as_raw_fd()).ends_with("\r\n"));

        // A panic inside the entry unwinds through the guard too.
        let fd = terminal.as_raw_fd();
        let panicked = std::panic::catch_unwind(|| {
            read_hidden(fd, "PIN: ", &|| {
                assert_eq!(lflag(fd) & libc::ECHO, 0, "echo is off while waiting");
                panic!("boom")
            })
        });
        assert!(panicked.is_err());
        assert_eq!(
            lflag(terminal.as_raw_fd()),
            before,
            "echo restored after a panic"
        );
    }
}

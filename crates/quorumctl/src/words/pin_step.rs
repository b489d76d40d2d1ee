//! The words for PIN entry on a keypad or from this computer, and the advice quorumctl
//! adds to card, reader and PIN-source errors (the options that help: `--no-pinpad`,
//! `--pin-file`, `--pin-fd`).

use quorum_card::card::CardError;
use quorum_card::transport::TransportError;
use quorum_ceremony::pin_step::{AskedAgain, KeypadSlip, NewPinRefusal, Told};
use quorum_ceremony::pins::{PinOrigin, PinPath, PinSourceError};
use quorum_ceremony::CeremonyError;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::pin::{PIN_MAX_DIGITS, PIN_MIN_DIGITS};

/// The line for one event of PIN entry on a keypad or from this computer.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Entry { path } => format!("PIN entry: {}.", pin_path(path)),
        Told::TypeOnKeypad {
            card,
            custodian,
            reader,
            timeout,
        } => format!(
            "Type the PIN of {} on the keypad of reader \"{reader}\" and press OK{}.",
            holder(custodian.as_deref(), card),
            within(*timeout)
        ),
        Told::TypeNewOnKeypad { reader } => format!(
            "Type the new PIN ({PIN_MIN_DIGITS}-{PIN_MAX_DIGITS} digits) on the keypad of reader \"{reader}\", twice, pressing OK after each."
        ),
        Told::ChangeOnKeypad {
            card,
            custodian,
            reader,
            timeout,
        } => format!(
            "On the keypad of reader \"{reader}\", type the current PIN of {}, then the new PIN \
             ({PIN_MIN_DIGITS}-{PIN_MAX_DIGITS} digits) twice, pressing OK after each{}.",
            holder(custodian.as_deref(), card),
            within(*timeout)
        ),
        Told::Accepted { card, path } => {
            format!("Card {card}: PIN accepted ({}).", pin_path(path))
        }
        Told::WrongPin {
            card,
            reader,
            tries_left,
            again,
        } => format!(
            "Card {card} in \"{reader}\": wrong PIN, {tries_left} tries left; {}.",
            match again {
                AskedAgain::OnKeypad => "type it again on the reader's keypad",
                AskedAgain::Here => "type it again",
            }
        ),
        Told::KeypadTimedOut {
            card,
            reader,
            seconds,
        } => format!(
            "Card {card} in \"{reader}\": nothing was typed on the keypad within {seconds} seconds (no try was used); it waits once more."
        ),
        Told::NewPinAgainOnKeypad { reader, slip } => format!(
            "The new PIN was not taken: {}; the card is unchanged. Type the new PIN again, twice, on the keypad of reader \"{reader}\".",
            match slip {
                KeypadSlip::Length => format!("it needs {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"),
                KeypadSlip::Mismatch => "the two entries differ".to_owned(),
            }
        ),
    }
}

/// A card by its custodian's name when known: `Alice (card F)`, or `card F`.
fn holder(custodian: Option<&str>, card: &str) -> String {
    match custodian {
        Some(name) => format!("{name} (card {card})"),
        None => format!("card {card}"),
    }
}

/// Where the PIN of a card is expected, as the custodian reads it.
pub(crate) fn pin_path(path: &PinPath) -> String {
    match path {
        PinPath::Pinpad => "PIN typed on the reader's pinpad".to_owned(),
        PinPath::Host {
            origin,
            pinpad_bypassed,
        } => {
            let from = format!("PIN {}", pin_origin(origin));
            match pinpad_bypassed {
                true => format!("{from}; the reader's pinpad is not used (--no-pinpad)"),
                false => from,
            }
        }
    }
}

/// Where the PINs of this computer come from, after "PIN".
fn pin_origin(origin: &PinOrigin) -> String {
    match origin {
        PinOrigin::Keyboard => "typed on this computer, without echo".to_owned(),
        PinOrigin::File(path) => format!("from file {}", path.display()),
        PinOrigin::Fd(fd) => format!("from file descriptor {fd}"),
    }
}

/// " (within N seconds)", or nothing when the reader keeps its own limit.
fn within(timeout_secs: u8) -> String {
    match timeout_secs {
        0 => String::new(),
        n => format!(" (within {n} seconds)"),
    }
}

/// What quorumctl adds to a card error: the option that helps, where one does (for the
/// messages of other steps that quote a card's error).
pub(crate) fn card_advice(e: &CardError) -> Option<&'static str> {
    match e {
        CardError::PinpadCannotChange => {
            Some(". Add --no-pinpad to type the current and the new PIN on this computer")
        }
        CardError::PinpadBlockRejected { .. } => {
            Some(", and if it happens again add --no-pinpad to type the PIN on this computer")
        }
        CardError::PinpadRefused => Some(". Add --no-pinpad to type the PIN on this computer"),
        CardError::RecordInBundle { .. } => Some(" with --bundle FILE"),
        CardError::Transport(t) => transport_advice(t),
        // the card's state could not be read, or is not one the card's answer explains
        CardError::WrongState { command, state } => match (state, *command) {
            (Some(LifeCycle::Blank | LifeCycle::Personalised), _) | (Some(_), "INITIALISE") => None,
            _ => Some(" with `quorumctl status`"),
        },
        _ => None,
    }
}

/// What quorumctl adds to a transport error (see [`card_advice`]).
fn transport_advice(e: &TransportError) -> Option<&'static str> {
    match e {
        TransportError::MalformedFeatures(_) => {
            Some(", or add --no-pinpad to type the PIN on this computer")
        }
        TransportError::UnknownReader(_) => Some("; run `quorumctl readers` to list the readers"),
        TransportError::ReaderGone(_) => Some(
            ". Plug it in again, check that `quorumctl readers` lists it, and repeat the command",
        ),
        _ => None,
    }
}

/// A PIN-source error as quorumctl words it, when it names the options that give PINs
/// without a terminal.
pub(crate) fn pin_source_error(e: &PinSourceError) -> Option<String> {
    match e {
        PinSourceError::Terminal(_) => Some(format!(
            "{e}; run in a terminal, or give PINs with --pin-file PATH or --pin-fd N"
        )),
        PinSourceError::ConflictingSources => {
            Some("give either --pin-file or --pin-fd, not both".to_owned())
        }
        PinSourceError::FdUnsupported => {
            Some("--pin-fd is available on Unix-like systems only; use --pin-file PATH".to_owned())
        }
        PinSourceError::TooManyAttempts { .. } => Some(format!("{e}; start the command again")),
        _ => None,
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::Card { source, .. } => card_advice(source).map(|a| format!("{e}{a}")),
        CeremonyError::Transport(t) => transport_advice(t).map(|a| format!("{e}{a}")),
        CeremonyError::Pin(p) => pin_source_error(p),
        CeremonyError::NewPinRefused(NewPinRefusal::NoSource) => Some(
            "the current PIN comes from a file: give the new one with --new-pin-file (or type both on a terminal)".to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_host(origin: PinOrigin, pinpad_bypassed: bool) -> PinPath {
        PinPath::Host {
            origin,
            pinpad_bypassed,
        }
    }

    #[test]
    fn every_pin_event_reads_as_before() {
        let card = "a1b2-c3d4-e5f6-0718".to_owned();
        let pad = "Quorum Pinpad A 00 00".to_owned();
        let cases = [
            (
                Told::Entry {
                    path: on_host(PinOrigin::Keyboard, false),
                },
                "PIN entry: PIN typed on this computer, without echo.",
            ),
            (
                Told::TypeOnKeypad {
                    card: card.clone(),
                    custodian: Some("Alice".into()),
                    reader: pad.clone(),
                    timeout: 30,
                },
                "Type the PIN of Alice (card a1b2-c3d4-e5f6-0718) on the keypad of reader \"Quorum Pinpad A 00 00\" and press OK (within 30 seconds).",
            ),
            (
                Told::TypeOnKeypad {
                    card: card.clone(),
                    custodian: None,
                    reader: pad.clone(),
                    timeout: 0,
                },
                "Type the PIN of card a1b2-c3d4-e5f6-0718 on the keypad of reader \"Quorum Pinpad A 00 00\" and press OK.",
            ),
            (
                Told::TypeNewOnKeypad { reader: pad.clone() },
                "Type the new PIN (6-12 digits) on the keypad of reader \"Quorum Pinpad A 00 00\", twice, pressing OK after each.",
            ),
            (
                Told::ChangeOnKeypad {
                    card: card.clone(),
                    custodian: None,
                    reader: pad.clone(),
                    timeout: 0,
                },
                "On the keypad of reader \"Quorum Pinpad A 00 00\", type the current PIN of card a1b2-c3d4-e5f6-0718, then the new PIN (6-12 digits) twice, pressing OK after each.",
            ),
            (
                Told::ChangeOnKeypad {
                    card: card.clone(),
                    custodian: Some("Bob".into()),
                    reader: pad.clone(),
                    timeout: 20,
                },
                "On the keypad of reader \"Quorum Pinpad A 00 00\", type the current PIN of Bob (card a1b2-c3d4-e5f6-0718), then the new PIN (6-12 digits) twice, pressing OK after each (within 20 seconds).",
            ),
            (
                Told::Accepted {
                    card: card.clone(),
                    path: PinPath::Pinpad,
                },
                "Card a1b2-c3d4-e5f6-0718: PIN accepted (PIN typed on the reader's pinpad).",
            ),
            (
                Told::WrongPin {
                    card: card.clone(),
                    reader: "Pad".into(),
                    tries_left: 4,
                    again: AskedAgain::OnKeypad,
                },
                "Card a1b2-c3d4-e5f6-0718 in \"Pad\": wrong PIN, 4 tries left; type it again on the reader's keypad.",
            ),
            (
                Told::WrongPin {
                    card: card.clone(),
                    reader: "R".into(),
                    tries_left: 3,
                    again: AskedAgain::Here,
                },
                "Card a1b2-c3d4-e5f6-0718 in \"R\": wrong PIN, 3 tries left; type it again.",
            ),
            (
                Told::KeypadTimedOut {
                    card,
                    reader: "Pad".into(),
                    seconds: 30,
                },
                "Card a1b2-c3d4-e5f6-0718 in \"Pad\": nothing was typed on the keypad within 30 seconds (no try was used); it waits once more.",
            ),
            (
                Told::NewPinAgainOnKeypad {
                    reader: "Pad".into(),
                    slip: KeypadSlip::Length,
                },
                "The new PIN was not taken: it needs 6 to 12 digits; the card is unchanged. Type the new PIN again, twice, on the keypad of reader \"Pad\".",
            ),
        ];
        for (told, text) in cases {
            assert_eq!(line(&told), text);
        }
    }

    #[test]
    fn each_pin_path_names_where_the_pin_is_expected() {
        assert_eq!(
            pin_path(&PinPath::Pinpad),
            "PIN typed on the reader's pinpad"
        );
        assert_eq!(
            pin_path(&on_host(PinOrigin::Keyboard, true)),
            "PIN typed on this computer, without echo; the reader's pinpad is not used (--no-pinpad)"
        );
        assert_eq!(
            pin_path(&on_host(PinOrigin::File("/tmp/pins".into()), true)),
            "PIN from file /tmp/pins; the reader's pinpad is not used (--no-pinpad)"
        );
        assert_eq!(
            pin_path(&on_host(PinOrigin::File("/tmp/pins".into()), false)),
            "PIN from file /tmp/pins"
        );
        assert_eq!(
            pin_path(&on_host(PinOrigin::Fd(3), false)),
            "PIN from file descriptor 3"
        );
    }

    #[test]
    fn pinpad_errors_recommend_typing_the_pin_here() {
        for (card_err, advice) in [
            (
                CardError::PinpadRefused,
                ". Add --no-pinpad to type the PIN on this computer",
            ),
            (
                CardError::PinpadCannotChange,
                "nothing was changed. Add --no-pinpad to type the current and the new PIN on this computer",
            ),
            (
                CardError::PinpadBlockRejected { command: "VERIFY" },
                "type 6 to 12 digits, and if it happens again add --no-pinpad to type the PIN on this computer",
            ),
            (
                CardError::Transport(TransportError::MalformedFeatures(
                    quorum_protocol::apdu::FeatureError::Truncated { len: 7 },
                )),
                "update the reader driver, or add --no-pinpad to type the PIN on this computer",
            ),
        ] {
            assert!(!card_err.to_string().contains("--"), "the card crate names no option: {card_err}");
            assert!(advice.ends_with(card_advice(&card_err).unwrap()));
            let e = CeremonyError::card("Pad", card_err);
            let message = error(&e).expect("worded here");
            assert!(message.starts_with("card in \"Pad\": "), "{message}");
            assert!(message.ends_with(advice), "{message}");
            assert_eq!(crate::words::error_message(&e), message);
        }
        assert_eq!(
            error(&CeremonyError::card("Pad", CardError::PinpadRefused)).unwrap(),
            "card in \"Pad\": the reader refused quorum's PIN entry request (6B80): its firmware does not support quorum's PIN format (6 to 12 ASCII digits in a 12-byte block); nothing was sent to the card. Add --no-pinpad to type the PIN on this computer"
        );
        let e = CeremonyError::Transport(TransportError::MalformedFeatures(
            quorum_protocol::apdu::FeatureError::Truncated { len: 7 },
        ));
        assert!(error(&e)
            .unwrap()
            .ends_with("or add --no-pinpad to type the PIN on this computer"));
        // Errors without advice read as the card crate words them.
        let e = CeremonyError::card("R", CardError::WrongPin { tries_left: 4 });
        assert_eq!(error(&e), None);
        assert_eq!(crate::words::error_message(&e), e.to_string());
    }

    #[test]
    fn reader_and_state_errors_name_the_command_that_shows_more() {
        let gone = CeremonyError::Transport(TransportError::ReaderGone("Pinpad 00 00".into()));
        let message = crate::words::error_message(&gone);
        assert!(
            message.starts_with("reader \"Pinpad 00 00\" disappeared")
                && message.contains("Plug it in again, check that `quorumctl readers` lists it"),
            "{message}"
        );
        assert!(!gone.to_string().contains("quorumctl"), "{gone}");
        let unknown = CeremonyError::Transport(TransportError::UnknownReader("X".into()));
        assert!(crate::words::error_message(&unknown)
            .ends_with("run `quorumctl readers` to list the readers"));
        let unread = CeremonyError::card(
            "R",
            CardError::WrongState {
                command: "GET RECORD",
                state: None,
            },
        );
        assert!(crate::words::error_message(&unread)
            .ends_with("check the card's state with `quorumctl status`"));
        let blank = CardError::WrongState {
            command: "GET RECORD",
            state: Some(LifeCycle::Blank),
        };
        assert_eq!(card_advice(&blank), None, "the state explains itself");
    }

    #[test]
    fn pin_source_errors_name_the_options_that_give_pins() {
        let terminal = PinSourceError::Terminal(std::io::Error::other("no tty"));
        assert!(!terminal.to_string().contains("--"), "{terminal}");
        assert_eq!(
            error(&CeremonyError::Pin(terminal)).unwrap(),
            "cannot read a PIN from the terminal (no tty); run in a terminal, or give PINs with --pin-file PATH or --pin-fd N"
        );
        for (e, text) in [
            (
                PinSourceError::ConflictingSources,
                "give either --pin-file or --pin-fd, not both",
            ),
            (
                PinSourceError::FdUnsupported,
                "--pin-fd is available on Unix-like systems only; use --pin-file PATH",
            ),
            (
                PinSourceError::TooManyAttempts { attempts: 3 },
                "no valid PIN after 3 attempts; start the command again",
            ),
        ] {
            assert!(!e.to_string().contains("--"), "{e}");
            assert_eq!(error(&CeremonyError::Pin(e)).unwrap(), text);
        }
        let e = CeremonyError::Pin(PinSourceError::Mismatch);
        assert_eq!(error(&e), None);
    }

    #[test]
    fn a_new_pin_without_a_source_names_the_option_that_gives_it() {
        let e = CeremonyError::NewPinRefused(NewPinRefusal::NoSource);
        assert!(!e.to_string().contains("--"), "{e}");
        assert_eq!(
            error(&e).unwrap(),
            "the current PIN comes from a file: give the new one with --new-pin-file (or type both on a terminal)"
        );
        let same = CeremonyError::NewPinRefused(NewPinRefusal::SameAsCurrent);
        assert_eq!(error(&same), None);
        assert_eq!(
            crate::words::error_message(&same),
            "the new PIN is the same as the current one; nothing was changed"
        );
    }
}

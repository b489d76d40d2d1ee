//! The words for personalising a card: a quorum-applet card's PIN and key, an OpenPGP
//! card's decryption key.

use quorum_ceremony::init::openpgp::{Told as PgpTold, Why};
use quorum_ceremony::init::{OpenPgpInitialised, Question, Refusal, Told};
use quorum_ceremony::pin_step::AskedAgain;
use quorum_ceremony::pins::PinPath;
use quorum_ceremony::CeremonyError;

/// The line for one event of personalising a card.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Personalising {
            reader,
            retry_limit,
        } => {
            format!("Personalising the blank card in \"{reader}\" (PIN retry limit {retry_limit}).")
        }
        Told::OpenPgp(told) => openpgp_line(told),
    }
}

/// The line for one event of init on an OpenPGP card.
fn openpgp_line(told: &PgpTold) -> String {
    let openpgp_fp = |fp: &Option<String>| {
        fp.as_ref()
            .map(|f| format!(", OpenPGP fingerprint {f}"))
            .unwrap_or_default()
    };
    match told {
        PgpTold::Card {
            reader,
            manufacturer,
            serial,
            version,
        } => format!(
            "The card in \"{reader}\" is an OpenPGP card: {manufacturer}, serial {serial}, OpenPGP application {version}."
        ),
        PgpTold::HasKey { card, fingerprint } => format!(
            "It has a cv25519 decryption key quorum can use: fingerprint {card}{}.",
            openpgp_fp(fingerprint)
        ),
        PgpTold::KeepsKey { card } => format!(
            "Using its decryption key {card} as it is; nothing was written to the card."
        ),
        PgpTold::Destroys {
            card,
            fingerprint,
            algorithm,
        } => {
            let names: Vec<String> = card
                .iter()
                .cloned()
                .chain(fingerprint.iter().map(|f| format!("OpenPGP fingerprint {f}")))
                .collect();
            let named = if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            };
            format!(
                "Replacing its {algorithm} decryption key{named} DESTROYS that key: whatever was encrypted to it can no longer be decrypted."
            )
        }
        PgpTold::Generating { why } => format!(
            "Generating a cv25519 decryption key on the card ({}), with the card's admin PIN.",
            match why {
                Why::SlotEmpty => "its decryption slot is empty".to_owned(),
                Why::OtherAlgorithm { algorithm } =>
                    format!("its decryption slot is set to {algorithm} and holds no key"),
                Why::Replacing => "replacing the key there, as confirmed".to_owned(),
            }
        ),
        PgpTold::AdminPinOnKeypad { reader, timeout } => format!(
            "Type the card's ADMIN PIN on the keypad of reader \"{reader}\" ({timeout} s); it never enters this computer."
        ),
        PgpTold::AdminPinWrong { tries_left, again } => format!(
            "Wrong admin PIN, {tries_left} tries left; type it again {}.",
            match again {
                AskedAgain::OnKeypad => "on the reader's keypad",
                AskedAgain::Here => "here",
            }
        ),
        PgpTold::AdminPinBreaksRule { rule } => {
            format!("That admin PIN was not sent: {rule}. Type it again.")
        }
        PgpTold::AdminPinAccepted { path } => match path {
            PinPath::Pinpad => "The card accepted its admin PIN (typed on the reader's keypad).".to_owned(),
            PinPath::Host { origin, .. } => format!("The card accepted its admin PIN (from {origin})."),
        },
        PgpTold::Generated { card } => format!(
            "The key was generated on the card; its private key never leaves it. Fingerprint {card}."
        ),
        PgpTold::Pins {
            user_tries,
            admin_tries,
        } => format!(
            "This card keeps its own PINs; quorum set none. Its user PIN (PW1, {user_tries} tries left) is the PIN quorum asks at every ceremony; its admin PIN (PW3, {admin_tries} tries left) only to generate a key. Change them with the card vendor's tool (or gpg --card-edit) if they are still the factory PINs."
        ),
    }
}

/// The question init asks on the terminal.
pub(crate) fn question(question: &Question) -> String {
    match question {
        Question::UseKey { card } => {
            format!("Use this key ({card}) as the card's quorum key? Type yes to confirm: ")
        }
        Question::ReplaceKey { name } => {
            format!("Type the fingerprint of the key to DESTROY ({name}) to confirm: ")
        }
    }
}

/// The result line of init on an OpenPGP card (ends with the fingerprint, as the applet's).
pub(crate) fn openpgp_done(done: &OpenPgpInitialised) -> String {
    format!(
        "OpenPGP card {} serial {} in \"{}\" {}. Fingerprint: {}",
        done.manufacturer,
        done.serial,
        done.reader,
        if done.generated {
            "has a new cv25519 decryption key"
        } else {
            "keeps its cv25519 decryption key"
        },
        done.key.fingerprint()
    )
}

/// The CLI's words for init's refusals that the custodian answers with an option.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    let CeremonyError::InitRefused { why, .. } = e else {
        return None;
    };
    let advice = match why {
        Refusal::RetryLimitOnOpenPgp => "leave out --retries",
        Refusal::OpenPgpOptionsOnApplet => {
            "--admin-pin-file, --use-existing-key, --replace-key and --confirm-replace are for OpenPGP cards; leave them out"
        }
        Refusal::UseNotConfirmed => {
            "confirm on a terminal, or give --use-existing-key; to replace the key instead, give --replace-key"
        }
        Refusal::OtherKeyPresent { .. } => {
            "to replace it by a cv25519 key, give --replace-key and confirm with its OpenPGP fingerprint (on a terminal, or --confirm-replace FINGERPRINT)"
        }
        Refusal::ReplaceNotConfirmed { .. } => {
            "copy the fingerprint as shown above into --confirm-replace, or type it at the prompt"
        }
        Refusal::AdminPinNotGiven => {
            "give it with --admin-pin-file FILE, type it on a terminal, or use a reader with a keypad"
        }
        Refusal::HoldsShare { .. } => {
            "its share is given up by a reshare that leaves it out of the set (which wipes it)"
        }
        _ => return None,
    };
    let mut advice = advice.to_owned();
    advice[..1].make_ascii_uppercase();
    Some(format!("{e}. {advice}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::init::Refusal;

    #[test]
    fn personalising_names_the_reader_and_the_limit() {
        assert_eq!(
            line(&Told::Personalising {
                reader: "Reader 0".into(),
                retry_limit: 3
            }),
            "Personalising the blank card in \"Reader 0\" (PIN retry limit 3)."
        );
    }

    #[test]
    fn openpgp_refusals_name_the_option_that_answers_them() {
        let refused = |why| quorum_ceremony::CeremonyError::InitRefused {
            card: Some("a1b2-c3d4-e5f6-0718".into()),
            reader: "R".into(),
            why,
        };
        assert_eq!(
            crate::words::error_message(&refused(Refusal::RetryLimitOnOpenPgp)),
            "card a1b2-c3d4-e5f6-0718 in \"R\" is an OpenPGP card: its PIN retry counters are the card's own, so quorum sets no PIN retry limit on it; nothing was changed. Leave out --retries"
        );
        let message = crate::words::error_message(&refused(Refusal::ReplaceNotConfirmed {
            typed: "x".into(),
            names: "a1b2-c3d4-e5f6-0718".into(),
        }));
        assert!(message.ends_with("Copy the fingerprint as shown above into --confirm-replace, or type it at the prompt"), "{message}");
        for why in [Refusal::UseNotConfirmed, Refusal::AdminPinNotGiven] {
            let e = refused(why);
            assert!(!e.to_string().contains("--"), "{e}");
            assert!(crate::words::error_message(&e).contains("--"), "{e}");
        }
        assert_eq!(
            line(&Told::OpenPgp(PgpTold::Destroys {
                card: Some("a1b2-c3d4-e5f6-0718".into()),
                fingerprint: None,
                algorithm: "cv25519".into()
            })),
            "Replacing its cv25519 decryption key (a1b2-c3d4-e5f6-0718) DESTROYS that key: whatever was encrypted to it can no longer be decrypted."
        );
    }

    #[test]
    fn an_admin_pin_slip_says_where_to_type_it_again() {
        assert_eq!(
            line(&Told::OpenPgp(PgpTold::AdminPinWrong {
                tries_left: 2,
                again: AskedAgain::Here
            })),
            "Wrong admin PIN, 2 tries left; type it again here."
        );
        assert_eq!(
            line(&Told::OpenPgp(PgpTold::AdminPinWrong {
                tries_left: 2,
                again: AskedAgain::OnKeypad
            })),
            "Wrong admin PIN, 2 tries left; type it again on the reader's keypad."
        );
        assert_eq!(
            line(&Told::OpenPgp(PgpTold::AdminPinOnKeypad {
                reader: "Quorum Pinpad A 00 00".into(),
                timeout: 30
            })),
            "Type the card's ADMIN PIN on the keypad of reader \"Quorum Pinpad A 00 00\" (30 s); it never enters this computer."
        );
        assert_eq!(
            line(&Told::OpenPgp(PgpTold::AdminPinBreaksRule {
                rule: "an admin PIN has 8 to 127 characters".into()
            })),
            "That admin PIN was not sent: an admin PIN has 8 to 127 characters. Type it again."
        );
    }

    #[test]
    fn refusals_read_as_before() {
        let e = quorum_ceremony::CeremonyError::InitRefused {
            card: Some("a1b2-c3d4-e5f6-0718".into()),
            reader: "R".into(),
            why: Refusal::AlreadyPersonalised { state: "ENROLLED" },
        };
        assert_eq!(
            crate::words::error_message(&e),
            "card a1b2-c3d4-e5f6-0718 in \"R\" is already personalised (state: ENROLLED); a card is initialised once, and only a factory reset (which erases its key and record) makes it blank again"
        );
        let e = quorum_ceremony::CeremonyError::InitRefused {
            card: None,
            reader: "R".into(),
            why: Refusal::Faulty,
        };
        assert_eq!(
            crate::words::error_message(&e),
            "card (blank, no key yet) in \"R\" does not report the key and PIN limit it was just given; the card is faulty"
        );
    }
}

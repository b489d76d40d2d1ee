//! quorumctl's exit statuses: one per kind of outcome a script must tell apart (retry with
//! more cards, fix the options, wait for the custodian, check the log, ...). The numbers
//! are documented in the README and never change meaning.

use quorum_card::card::CardError;
use quorum_card::transport::TransportError;
use quorum_ceremony::pins::PinSourceError;
use quorum_ceremony::reset::Stop as ResetStop;
use quorum_ceremony::secret_io::SecretIoError;
use quorum_ceremony::CeremonyError;
use quorum_protocol::pin::PinError;
use quorum_protocol::sharing::{AddCardError, EnrollError, RecoverError};

/// The kind of outcome, with its exit code and its name in `--json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done.
    Ok,
    /// 1: failed for a reason no other status names.
    Failed,
    /// 2: bad or missing options; nothing was done.
    Usage,
    /// 3: fewer usable cards than needed (no card present, fewer than n shares opened).
    NotEnoughCards,
    /// 4: a card refused, failed or does not belong (wrong, damaged, faulty card).
    Card,
    /// 5: a PIN was wrong, is blocked, or its entry was cancelled or timed out.
    Pin,
    /// 6: nobody inserted or removed a card in time.
    Timeout,
    /// 7: PC/SC is unavailable: pcscd not running, no reader, reader unknown or unplugged.
    Pcsc,
    /// 8: a file: the output exists, an input or the bundle is missing, unreadable or corrupt.
    File,
    /// 9: the ceremony log is damaged or cannot be extended.
    Log,
    /// 10: cards were changed but the ceremony did not finish; the message says where things stand.
    Incomplete,
    /// 11: stopped on request (Ctrl-C, SIGTERM) after the card step in progress; the
    /// message says where things stand. Not 130 (128 + SIGINT): the shell reports that for
    /// a process the signal killed, which had no chance to finish its card step or log.
    Interrupted,
    /// 12: the HSM end: the PKCS#11 module, token or key refused or failed (module missing,
    /// unknown token, key label taken or absent, key not extractable, no wrap path, check differs).
    Token,
}

impl ExitStatus {
    /// Every status, in code order (for the tests that hold the numbers to the README).
    #[cfg(test)]
    pub const ALL: [ExitStatus; 13] = [
        ExitStatus::Ok,
        ExitStatus::Failed,
        ExitStatus::Usage,
        ExitStatus::NotEnoughCards,
        ExitStatus::Card,
        ExitStatus::Pin,
        ExitStatus::Timeout,
        ExitStatus::Pcsc,
        ExitStatus::File,
        ExitStatus::Log,
        ExitStatus::Incomplete,
        ExitStatus::Interrupted,
        ExitStatus::Token,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::NotEnoughCards => 3,
            ExitStatus::Card => 4,
            ExitStatus::Pin => 5,
            ExitStatus::Timeout => 6,
            ExitStatus::Pcsc => 7,
            ExitStatus::File => 8,
            ExitStatus::Log => 9,
            ExitStatus::Incomplete => 10,
            ExitStatus::Interrupted => 11,
            ExitStatus::Token => 12,
        }
    }

    /// The name `--json` output gives it.
    pub fn name(self) -> &'static str {
        match self {
            ExitStatus::Ok => "ok",
            ExitStatus::Failed => "failed",
            ExitStatus::Usage => "usage",
            ExitStatus::NotEnoughCards => "not-enough-cards",
            ExitStatus::Card => "card",
            ExitStatus::Pin => "pin",
            ExitStatus::Timeout => "timeout",
            ExitStatus::Pcsc => "pcsc",
            ExitStatus::File => "file",
            ExitStatus::Log => "log",
            ExitStatus::Incomplete => "incomplete",
            ExitStatus::Interrupted => "interrupted",
            ExitStatus::Token => "token",
        }
    }

    /// The status of a transport failure.
    pub fn of_transport(e: &TransportError) -> ExitStatus {
        match e {
            TransportError::NoService { .. }
            | TransportError::NoReaders
            | TransportError::UnknownReader(_)
            | TransportError::ReaderGone(_) => ExitStatus::Pcsc,
            // no card in the reader named: as with no card in any reader
            TransportError::NoCard(_) => ExitStatus::NotEnoughCards,
            TransportError::CardRemoved
            | TransportError::CardReset
            | TransportError::CardInUse(_)
            | TransportError::ExchangeFailed
            | TransportError::CardUnresponsive
            | TransportError::MalformedResponse(_) => ExitStatus::Card,
            _ => ExitStatus::Failed,
        }
    }

    /// The status of a token step's failure: a PIN is the custodian's kind of fault, a key
    /// type that does not fit is the options', a key left in the token is unfinished.
    pub fn of_token(e: &quorum_hsm::HsmError) -> ExitStatus {
        use quorum_hsm::HsmError;
        match e {
            HsmError::WrongPin { .. } | HsmError::PinLocked | HsmError::PinNotInitialised => {
                ExitStatus::Pin
            }
            HsmError::SecretLength { .. }
            | HsmError::SecretNotKeyType { .. }
            | HsmError::NotForKeyType { .. } => ExitStatus::Usage,
            HsmError::AfterImport { .. } => ExitStatus::Incomplete,
            _ => ExitStatus::Token,
        }
    }

    /// The status of a card operation's failure.
    pub fn of_card(e: &CardError) -> ExitStatus {
        match e {
            CardError::Transport(t) => ExitStatus::of_transport(t),
            e if e.is_pin_failure() => ExitStatus::Pin,
            _ => ExitStatus::Card,
        }
    }
}

/// How quorumctl exits when a ceremony stops with an error.
pub trait Exit {
    /// The exit status of this error.
    fn exit_status(&self) -> ExitStatus;
}

impl Exit for crate::failure::Failure {
    fn exit_status(&self) -> ExitStatus {
        use crate::failure::Failure;
        match self {
            Failure::Ceremony(e) => e.exit_status(),
            Failure::Usage(_) => ExitStatus::Usage,
            Failure::Unfinished(_) => ExitStatus::Incomplete,
            Failure::DryRunShort(_) => ExitStatus::NotEnoughCards,
            Failure::Token(t) => ExitStatus::of_token(&t.error),
            Failure::Also(first, _) => first.exit_status(),
        }
    }
}

impl Exit for CeremonyError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            CeremonyError::Transport(t) => ExitStatus::of_transport(t),
            CeremonyError::Card { source, .. } => ExitStatus::of_card(source),
            CeremonyError::Pin(PinSourceError::Read { .. } | PinSourceError::TooLarge { .. }) => {
                ExitStatus::File
            }
            CeremonyError::Pin(PinSourceError::Rule(
                PinError::RetryLimit(_) | PinError::RetryLimitSyntax,
            )) => ExitStatus::Usage,
            CeremonyError::Pin(PinSourceError::Interrupted) | CeremonyError::Interrupted => {
                ExitStatus::Interrupted
            }
            CeremonyError::StartNotLogged(_) => ExitStatus::Log,
            CeremonyError::ReaderKeepsFailing { .. } => ExitStatus::Card,
            CeremonyError::Pin(_) => ExitStatus::Pin,
            CeremonyError::SecretIo(
                SecretIoError::StdinIsTerminal | SecretIoError::StdoutIsTerminal,
            ) => ExitStatus::Usage,
            CeremonyError::SecretIo(_) | CeremonyError::Bundle { .. } => ExitStatus::File,
            CeremonyError::Enroll(
                EnrollError::MasterLength(_)
                | EnrollError::CardCount(_)
                | EnrollError::Threshold { .. }
                | EnrollError::Record(_),
            ) => ExitStatus::Usage,
            CeremonyError::Enroll(EnrollError::DuplicateCard { .. }) => ExitStatus::Card,
            CeremonyError::Enroll(_) => ExitStatus::Failed,
            CeremonyError::Recover(r) | CeremonyError::AddCard(AddCardError::Quorum(r)) => {
                match r {
                    RecoverError::NoShares | RecoverError::NotEnoughShares { .. } => {
                        ExitStatus::NotEnoughCards
                    }
                    RecoverError::Forged { card: None, .. } => ExitStatus::File,
                    _ => ExitStatus::Card,
                }
            }
            CeremonyError::AddCard(AddCardError::Record(_)) => ExitStatus::Usage,
            CeremonyError::AddCard(AddCardError::BaseOutdated { .. }) => ExitStatus::File,
            CeremonyError::AddCard(_) => ExitStatus::Card,
            CeremonyError::NoCards => ExitStatus::NotEnoughCards,
            CeremonyError::NoSuchReader(_) => ExitStatus::Pcsc,
            CeremonyError::AmbiguousReader { .. }
            | CeremonyError::WhichCard(_)
            | CeremonyError::Record(_)
            | CeremonyError::CountNeeded(_) => ExitStatus::Usage,
            CeremonyError::WaitTimedOut { .. } => ExitStatus::Timeout,
            CeremonyError::BadCardKey { .. } | CeremonyError::CardsBundle(_) => ExitStatus::Card,
            CeremonyError::BundleNotUpdated { .. } | CeremonyError::WrittenUnchecked { .. } => {
                ExitStatus::Incomplete
            }
            CeremonyError::Output(_) => ExitStatus::Failed,
            // New variants of presence, PINs, init, change-pin and reset go below this line.
            CeremonyError::InitRefused { why, .. } => {
                use quorum_ceremony::init::Refusal;
                match why {
                    Refusal::RetryLimitOnOpenPgp
                    | Refusal::OpenPgpOptionsOnApplet
                    | Refusal::UseNotConfirmed
                    | Refusal::OtherKeyPresent { .. }
                    | Refusal::ReplaceNotConfirmed { .. }
                    | Refusal::AdminPinNotGiven => ExitStatus::Usage,
                    Refusal::AdminPinRefused { .. } => ExitStatus::Pin,
                    Refusal::AlreadyPersonalised { .. }
                    | Refusal::Faulty
                    | Refusal::HoldsShare { .. }
                    | Refusal::AttributesFixed
                    | Refusal::KeyNotAfterGeneration => ExitStatus::Card,
                }
            }
            CeremonyError::ChangePinRefused { .. } => ExitStatus::Card,
            CeremonyError::NewPinRefused(_) => ExitStatus::Usage,
            CeremonyError::ResetStopped { why, .. } => match why {
                ResetStop::NotConfirmed { .. } => ExitStatus::Usage,
                ResetStop::ErasedUnchecked => ExitStatus::Incomplete,
                ResetStop::AlreadyBlank
                | ResetStop::PulledBefore
                | ResetStop::PulledDuring
                | ResetStop::NotBlankAfter => ExitStatus::Card,
            },
            // New variants of enroll go below this line.
            CeremonyError::EnrollPlan(quorum_ceremony::enroll::PlanRefused::SharesNotPresent {
                ..
            }) => ExitStatus::Card,
            CeremonyError::EnrollPlan(_) => ExitStatus::Usage,
            CeremonyError::CardsRefused(_)
            | CeremonyError::RegistrationFailed { .. }
            | CeremonyError::RecordTooLarge { .. }
            | CeremonyError::WrittenWrong { .. } => ExitStatus::Card,
            CeremonyError::EnrollWriteFailed(failure) if failure.cards_changed() => {
                ExitStatus::Incomplete
            }
            CeremonyError::EnrollWriteFailed(_) => ExitStatus::Card,
            CeremonyError::EnrollStopped(_) => ExitStatus::Interrupted,
            // New variants of reshare go below this line.
            CeremonyError::ReshareDeclined(
                quorum_ceremony::reshare::Declined::SetNotTheBundles { .. },
            ) => ExitStatus::Usage,
            CeremonyError::ReshareDeclined(
                quorum_ceremony::reshare::Declined::NoShareOpened { .. }
                | quorum_ceremony::reshare::Declined::NotEnoughShares { .. },
            ) => ExitStatus::NotEnoughCards,
            CeremonyError::ReshareDeclined(_) | CeremonyError::ReshareNotMade(_) => {
                ExitStatus::Card
            }
            CeremonyError::ReshareStopped(stopped) => match (&stopped.cause, &stopped.standing) {
                (quorum_ceremony::reshare::Cause::StopRequested, _) => ExitStatus::Interrupted,
                // phase 0, nothing written: the gathering's own error is the outcome
                (quorum_ceremony::reshare::Cause::Failed(e), None) => e.exit_status(),
                _ => ExitStatus::Incomplete,
            },
            // New variants of recover, verify, add-card, export-bundle, log and files go below this line.
            CeremonyError::RecoverStopped(stopped) => {
                use quorum_ceremony::recover::Stopped;
                match stopped {
                    Stopped::TooFewPresent { .. }
                    | Stopped::NoneOpened { .. }
                    | Stopped::TooFewOpened { .. } => ExitStatus::NotEnoughCards,
                    Stopped::SeveralSets { .. } | Stopped::Unfit { .. } => ExitStatus::Usage,
                }
            }
            CeremonyError::AddCardStopped(stopped) => {
                use quorum_ceremony::add_card::Stopped;
                match stopped {
                    Stopped::TwoNewCards { .. } => ExitStatus::Usage,
                    Stopped::QuorumShort { .. } => ExitStatus::NotEnoughCards,
                    Stopped::NoNewCard { .. } | Stopped::NotWritten { .. } => ExitStatus::Card,
                    Stopped::Unchecked { .. } => ExitStatus::Incomplete,
                }
            }
            CeremonyError::NoCardOfSet { .. } => ExitStatus::Card,
            CeremonyError::ChecksFailed {
                pins_only: true, ..
            } => ExitStatus::Pin,
            CeremonyError::ChecksFailed { .. } => ExitStatus::Card,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        for (i, s) in ExitStatus::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.code()), i);
        }
        let names: std::collections::HashSet<&str> =
            ExitStatus::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), ExitStatus::ALL.len());
    }

    #[test]
    fn the_readme_documents_every_status() {
        let readme = include_str!("../../../README.md");
        for s in ExitStatus::ALL {
            let row = format!("| {} | `{}` |", s.code(), s.name());
            assert!(readme.contains(&row), "README's exit table lacks {row}");
        }
    }

    #[test]
    fn the_cli_s_own_refusals_have_their_statuses() {
        use crate::failure::Failure;
        assert_eq!(
            Failure::Usage("bad".into()).exit_status(),
            ExitStatus::Usage
        );
        assert_eq!(
            Failure::Unfinished("bundle".into()).exit_status(),
            ExitStatus::Incomplete
        );
        assert_eq!(
            Failure::from(CeremonyError::NoCards).exit_status(),
            ExitStatus::NotEnoughCards
        );
    }

    #[test]
    fn each_kind_of_failure_has_its_status() {
        let cases: Vec<(CeremonyError, ExitStatus)> = vec![
            (CeremonyError::NoCards, ExitStatus::NotEnoughCards),
            (
                CeremonyError::Transport(TransportError::NoReaders),
                ExitStatus::Pcsc,
            ),
            (
                CeremonyError::card("r", CardError::WrongPin { tries_left: 2 }),
                ExitStatus::Pin,
            ),
            (
                CeremonyError::card("r", CardError::PinBlocked),
                ExitStatus::Pin,
            ),
            (
                CeremonyError::card("r", CardError::Transport(TransportError::CardRemoved)),
                ExitStatus::Card,
            ),
            (
                CeremonyError::Transport(TransportError::ReaderGone("r".into())),
                ExitStatus::Pcsc,
            ),
            (
                CeremonyError::card(
                    "r",
                    CardError::Transport(TransportError::ReaderGone("r".into())),
                ),
                ExitStatus::Pcsc,
            ),
            (
                CeremonyError::WaitTimedOut {
                    what: quorum_ceremony::presence::Awaited::Insertion,
                    reader: Some("r".into()),
                    secs: 3,
                },
                ExitStatus::Timeout,
            ),
            (
                CeremonyError::SecretIo(SecretIoError::Exists("x".into())),
                ExitStatus::File,
            ),
            (
                CeremonyError::SecretIo(SecretIoError::StdoutIsTerminal),
                ExitStatus::Usage,
            ),
            (
                CeremonyError::from(PinError::RetryLimit(20)),
                ExitStatus::Usage,
            ),
            (
                CeremonyError::card(
                    "r",
                    CardError::Transport(TransportError::NoCard("r".into())),
                ),
                ExitStatus::NotEnoughCards,
            ),
            (
                CeremonyError::Recover(RecoverError::Forged {
                    card: None,
                    version: 2,
                    unlisted: vec![],
                }),
                ExitStatus::File,
            ),
            (
                CeremonyError::Recover(RecoverError::Forged {
                    card: Some(3),
                    version: 2,
                    unlisted: vec![],
                }),
                ExitStatus::Card,
            ),
            (
                CeremonyError::Recover(RecoverError::SharesDoNotMatch),
                ExitStatus::Card,
            ),
            (
                CeremonyError::WrittenUnchecked {
                    card: "a1b2-c3d4-e5f6-0718".into(),
                    reader: "r".into(),
                },
                ExitStatus::Incomplete,
            ),
            (CeremonyError::Interrupted, ExitStatus::Interrupted),
            (
                CeremonyError::Pin(PinSourceError::Interrupted),
                ExitStatus::Interrupted,
            ),
            (
                CeremonyError::StartNotLogged("disk full".into()),
                ExitStatus::Log,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.exit_status(), want, "{e}");
        }
    }

    #[test]
    fn recover_add_card_export_and_verify_stops_keep_their_statuses() {
        use quorum_ceremony::add_card::Stopped as AddStopped;
        use quorum_ceremony::recover::{SetName, Stopped};
        use quorum_protocol::crypto::SetDigest;
        let set = SetName {
            label: "vault".into(),
            digest: SetDigest([0; 32]),
        };
        let cases: Vec<(CeremonyError, ExitStatus)> = vec![
            (
                CeremonyError::RecoverStopped(Stopped::TooFewPresent {
                    present: 1,
                    need: 2,
                    set: set.clone(),
                    in_bundle: 0,
                }),
                ExitStatus::NotEnoughCards,
            ),
            (
                CeremonyError::RecoverStopped(Stopped::NoneOpened {
                    cards: vec![],
                    disagreeing: 0,
                }),
                ExitStatus::NotEnoughCards,
            ),
            (
                CeremonyError::RecoverStopped(Stopped::TooFewOpened {
                    opened: 1,
                    need: 2,
                    set,
                    cards: vec![],
                    disagreeing: 0,
                }),
                ExitStatus::NotEnoughCards,
            ),
            (
                CeremonyError::RecoverStopped(Stopped::SeveralSets {
                    named: None,
                    opened: false,
                    sets: vec![],
                }),
                ExitStatus::Usage,
            ),
            (
                CeremonyError::AddCardStopped(AddStopped::TwoNewCards {
                    first: "a".into(),
                    second: "b".into(),
                }),
                ExitStatus::Usage,
            ),
            (
                CeremonyError::AddCardStopped(AddStopped::QuorumShort {
                    opened: 0,
                    need: 2,
                    label: "vault".into(),
                    cards: vec![],
                }),
                ExitStatus::NotEnoughCards,
            ),
            (
                CeremonyError::AddCardStopped(AddStopped::NoNewCard { cards: vec![] }),
                ExitStatus::Card,
            ),
            (
                CeremonyError::AddCardStopped(AddStopped::NotWritten {
                    card: "a".into(),
                    reader: "r".into(),
                    cause: Box::new(CeremonyError::Interrupted),
                }),
                ExitStatus::Card,
            ),
            (
                CeremonyError::AddCardStopped(AddStopped::Unchecked {
                    cause: Box::new(CeremonyError::WrittenUnchecked {
                        card: "a".into(),
                        reader: "r".into(),
                    }),
                    index: 4,
                    label: "vault".into(),
                    version: 2,
                    reader: "r".into(),
                }),
                ExitStatus::Incomplete,
            ),
            (
                CeremonyError::NoCardOfSet {
                    set_id: None,
                    skipped: vec![],
                },
                ExitStatus::Card,
            ),
            (
                CeremonyError::ChecksFailed {
                    failed: 1,
                    checked: 1,
                    pins_only: true,
                },
                ExitStatus::Pin,
            ),
            (
                CeremonyError::ChecksFailed {
                    failed: 1,
                    checked: 2,
                    pins_only: false,
                },
                ExitStatus::Card,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.exit_status(), want, "{e}");
        }
    }
}

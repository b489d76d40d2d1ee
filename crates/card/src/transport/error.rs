//! Failures below the card protocol, each worded with what the custodian can do about it.

/// What went wrong between the host and the card, before any status word was read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// pcscd is not running or its socket cannot be reached.
    #[error("cannot reach the PC/SC service (pcscd): it is not running or its socket is not reachable. {advice}")]
    NoService {
        /// How to start it, including the private-socket variable currently in effect.
        advice: String,
    },
    /// pcscd runs but knows no reader.
    #[error("no smart-card reader found: connect a reader (for tests: start the simulated card farm) and try again")]
    NoReaders,
    /// The reader name is not known to pcscd (mistyped, or unplugged before the command).
    #[error("reader \"{0}\" not found (unplugged?)")]
    UnknownReader(String),
    /// A reader in use went away: unplugged, or its driver stopped answering (pcsc-lite
    /// then reports it unavailable, or forgets it).
    #[error("reader \"{0}\" disappeared: it was unplugged or its driver stopped answering")]
    ReaderGone(String),
    /// No card in the reader.
    #[error("no card in reader \"{0}\": insert a custodian card")]
    NoCard(String),
    /// The card left the reader during an operation.
    #[error("the card was removed during the operation; insert it again and repeat the command (an interrupted record write keeps the card's previous record)")]
    CardRemoved,
    /// The card was reset during an operation; its PIN state is gone.
    #[error("the card was reset during the operation (by another program or by the reader); repeat the command, the PIN will be asked again")]
    CardReset,
    /// Another program holds the card.
    #[error("the card in reader \"{0}\" is in use by another program; close other smart-card programs (a browser, `gpgconf --kill scdaemon`, other quorumctl runs) and try again")]
    CardInUse(String),
    /// The reader could not complete an exchange with the card (pcsc-lite reports
    /// SCARD_E_NOT_TRANSACTED when the card vanishes mid-command or the driver fails).
    #[error("the reader could not exchange the command with the card (it was pulled out, or the reader failed); insert it again and repeat the command (an interrupted record write keeps the card's previous record)")]
    ExchangeFailed,
    /// The card does not answer.
    #[error("the card does not respond; take it out, check its orientation and contacts, and insert it again")]
    CardUnresponsive,
    /// The transport has no way to send reader control commands (SCardControl).
    #[error(
        "this connection cannot send control commands to the reader, so it cannot use a PIN pad"
    )]
    ControlNotSupported,
    /// The reader's PC/SC Part 10 feature list does not have the documented layout.
    #[error("the reader's PC/SC feature list is malformed ({0}); its driver is faulty: update the reader driver")]
    MalformedFeatures(#[source] quorum_protocol::apdu::part10::FeatureError),
    /// A response too short to hold a status word.
    #[error("the reader returned {0} bytes, too few for a status word; the reader or its driver is faulty")]
    MalformedResponse(usize),
    /// Any other failure of the reader backend, with the call that failed.
    #[error("{backend} error while {operation}: {detail}")]
    Backend {
        /// Which backend (for example "PC/SC").
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
        /// The backend's own description of the failure.
        detail: String,
    },
}

impl TransportError {
    /// Whether the connection to the card is gone (as opposed to one request being refused),
    /// so that nothing more can be sent without reconnecting.
    pub fn ends_connection(&self) -> bool {
        matches!(
            self,
            TransportError::NoService { .. }
                | TransportError::NoReaders
                | TransportError::UnknownReader(_)
                | TransportError::ReaderGone(_)
                | TransportError::NoCard(_)
                | TransportError::CardRemoved
                | TransportError::CardReset
                | TransportError::CardUnresponsive
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_told_apart_from_refused_requests() {
        for lost in [
            TransportError::ReaderGone("r".into()),
            TransportError::CardRemoved,
            TransportError::CardReset,
            TransportError::NoCard("r".into()),
            TransportError::NoService {
                advice: String::new(),
            },
        ] {
            assert!(lost.ends_connection(), "{lost}");
        }
        for refused in [
            TransportError::ControlNotSupported,
            TransportError::ExchangeFailed,
            TransportError::Backend {
                backend: "PC/SC",
                operation: "testing",
                detail: "not supported".into(),
            },
        ] {
            assert!(!refused.ends_connection(), "{refused}");
        }
    }

    #[test]
    fn a_vanished_reader_is_named_with_what_happened_and_what_to_do() {
        let message = TransportError::ReaderGone("Pinpad 00 00".into()).to_string();
        for part in ["\"Pinpad 00 00\" disappeared", "unplugged"] {
            assert!(message.contains(part), "{part:?} missing: {message}");
        }
    }
}

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
    #[error("reader \"{0}\" not found (unplugged?); run `quorumctl readers` to list the readers")]
    UnknownReader(String),
    /// A reader in use went away: unplugged, or its driver stopped answering (pcsc-lite
    /// then reports it unavailable, or forgets it).
    #[error("reader \"{0}\" disappeared: it was unplugged or its driver stopped answering. Plug it in again, check that `quorumctl readers` lists it, and repeat the command")]
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
    #[error("the reader's PC/SC feature list is malformed ({0}); its driver is faulty: update the reader driver, or add --no-pinpad to type the PIN on this computer")]
    MalformedFeatures(#[source] crate::protocol::part10::FeatureError),
    /// A response too short to hold a status word.
    #[error("the reader returned {0} bytes, too few for a status word; the reader or its driver is faulty")]
    MalformedResponse(usize),
    /// Any other PC/SC failure, with the call that failed.
    #[error("PC/SC error while {operation}: {source}")]
    Pcsc {
        /// What was being done.
        operation: &'static str,
        /// pcsc-lite's error.
        #[source]
        source: ::pcsc::Error,
    },
}

impl TransportError {
    /// The error for an unreachable pcscd, with advice for the system and private daemons.
    pub fn no_service() -> TransportError {
        let socket = match std::env::var("PCSCLITE_CSOCK_NAME") {
            Ok(path) => format!(
                "PCSCLITE_CSOCK_NAME is set to {path}: check that a pcscd listens there \
                 (for example `systemd-socket-activate -l {path} pcscd -f`), or unset it to use \
                 the system daemon."
            ),
            Err(_) => {
                "To use a private daemon, set PCSCLITE_CSOCK_NAME to its socket path.".to_owned()
            }
        };
        TransportError::NoService {
            advice: format!(
                "Start it with `sudo systemctl start pcscd.socket` (Debian/Ubuntu: install it \
                 with `sudo apt install pcscd`), or run `sudo pcscd -f` in another terminal. {socket}"
            ),
        }
    }

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

    /// Maps a pcsc-lite error met while `operation`, with the reader for messages that need it.
    pub fn from_pcsc(
        error: ::pcsc::Error,
        operation: &'static str,
        reader: &str,
    ) -> TransportError {
        use ::pcsc::Error as E;
        match error {
            E::NoService | E::ServiceStopped => TransportError::no_service(),
            E::NoReadersAvailable => TransportError::NoReaders,
            // pcsc-lite: the reader is listed but its driver answers IFD_NO_SUCH_DEVICE
            // (unplugged) or fails its presence poll.
            E::ReaderUnavailable if !reader.is_empty() => {
                TransportError::ReaderGone(reader.to_owned())
            }
            E::UnknownReader | E::ReaderUnavailable => {
                TransportError::UnknownReader(reader.to_owned())
            }
            E::NoSmartcard => TransportError::NoCard(reader.to_owned()),
            E::RemovedCard => TransportError::CardRemoved,
            E::ResetCard => TransportError::CardReset,
            E::NotTransacted => TransportError::ExchangeFailed,
            E::SharingViolation => TransportError::CardInUse(reader.to_owned()),
            E::UnresponsiveCard | E::UnpoweredCard | E::UnsupportedCard => {
                TransportError::CardUnresponsive
            }
            source => TransportError::Pcsc { operation, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_errors_map_to_actionable_variants() {
        let map = |e| TransportError::from_pcsc(e, "testing", "Reader 00 00");
        assert!(matches!(
            map(::pcsc::Error::NoService),
            TransportError::NoService { .. }
        ));
        assert!(matches!(
            map(::pcsc::Error::ResetCard),
            TransportError::CardReset
        ));
        assert!(matches!(
            map(::pcsc::Error::RemovedCard),
            TransportError::CardRemoved
        ));
        assert!(matches!(
            map(::pcsc::Error::NotTransacted),
            TransportError::ExchangeFailed
        ));
        assert!(
            matches!(map(::pcsc::Error::NoSmartcard), TransportError::NoCard(r) if r == "Reader 00 00")
        );
        assert!(matches!(
            map(::pcsc::Error::SharingViolation),
            TransportError::CardInUse(_)
        ));
        assert!(matches!(
            map(::pcsc::Error::NoReadersAvailable),
            TransportError::NoReaders
        ));
        assert!(
            matches!(map(::pcsc::Error::ReaderUnavailable), TransportError::ReaderGone(r) if r == "Reader 00 00")
        );
        assert!(
            matches!(map(::pcsc::Error::UnknownReader), TransportError::UnknownReader(r) if r == "Reader 00 00")
        );
        // Without a reader to name (listing readers), it stays a plain unknown reader.
        assert!(matches!(
            TransportError::from_pcsc(::pcsc::Error::ReaderUnavailable, "listing readers", ""),
            TransportError::UnknownReader(_)
        ));
        assert!(matches!(
            map(::pcsc::Error::CommError),
            TransportError::Pcsc {
                operation: "testing",
                source: ::pcsc::Error::CommError
            }
        ));
    }

    #[test]
    fn lost_connections_are_told_apart_from_refused_requests() {
        for lost in [
            TransportError::ReaderGone("r".into()),
            TransportError::CardRemoved,
            TransportError::CardReset,
            TransportError::NoCard("r".into()),
            TransportError::no_service(),
        ] {
            assert!(lost.ends_connection(), "{lost}");
        }
        for refused in [
            TransportError::ControlNotSupported,
            TransportError::ExchangeFailed,
            TransportError::Pcsc {
                operation: "testing",
                source: ::pcsc::Error::UnsupportedFeature,
            },
        ] {
            assert!(!refused.ends_connection(), "{refused}");
        }
    }

    #[test]
    fn a_vanished_reader_is_named_with_what_happened_and_what_to_do() {
        let message = TransportError::ReaderGone("Pinpad 00 00".into()).to_string();
        for part in [
            "\"Pinpad 00 00\" disappeared",
            "unplugged",
            "Plug it in again",
            "quorumctl readers",
        ] {
            assert!(message.contains(part), "{part:?} missing: {message}");
        }
    }

    #[test]
    fn no_service_advice_says_how_to_start_pcscd() {
        let message = TransportError::no_service().to_string();
        assert!(message.contains("systemctl start pcscd"), "{message}");
        assert!(message.contains("PCSCLITE_CSOCK_NAME"), "{message}");
    }
}

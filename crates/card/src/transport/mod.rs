//! Moving APDU bytes to a card and back, behind a trait so that everything above it can be
//! tested without PC/SC.
//!
//! - [`Transport`]: transmit one raw command APDU, get the response data and status word;
//!   reconnect after a reset; send a reader control command (SCardControl), such as the
//!   PC/SC Part 10 feature request that `card::Card::pinpad` traces like any APDU;
//! - `quorum-pcsc` implements it over PC/SC (pcscd); `scripted` (feature `testkit`)
//!   plays a scripted exchange for tests;
//! - [`TransportError`]: what went wrong below the card protocol, each with what to do.

mod error;
#[cfg(any(test, feature = "testkit"))]
pub mod scripted;

use std::fmt;

use zeroize::Zeroizing;

use quorum_protocol::apdu::part10::ReaderFeatures;

pub use error::TransportError;

/// The card's answer to one command APDU, split into data and status word.
///
/// The data sits in a zeroizing buffer: it may be a sealed share or a DH output.
pub struct RawResponse {
    data: Zeroizing<Vec<u8>>,
    sw: u16,
}

impl RawResponse {
    /// Builds a response from its parts (transports, tests).
    pub fn new(data: Zeroizing<Vec<u8>>, sw: u16) -> RawResponse {
        RawResponse { data, sw }
    }

    /// Splits a response APDU `data ‖ SW1 SW2` as a reader returns it.
    pub fn from_apdu(apdu: &[u8]) -> Result<RawResponse, TransportError> {
        let split = apdu
            .len()
            .checked_sub(2)
            .ok_or(TransportError::MalformedResponse(apdu.len()))?;
        let (data, sw) = apdu.split_at(split);
        let mut buffer = Zeroizing::new(Vec::with_capacity(data.len()));
        buffer.extend_from_slice(data);
        Ok(RawResponse {
            data: buffer,
            sw: u16::from_be_bytes([sw[0], sw[1]]),
        })
    }

    /// The response data (without the status word).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// SW1 SW2 as one number.
    pub fn sw(&self) -> u16 {
        self.sw
    }

    /// Hands the zeroizing data buffer over without copying it.
    pub fn into_data(self) -> Zeroizing<Vec<u8>> {
        self.data
    }
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RawResponse({} data bytes, SW {:04X})",
            self.data.len(),
            self.sw
        )
    }
}

/// A channel to one card: what `card::Card` needs from PC/SC, and what tests script.
pub trait Transport {
    /// Sends one command APDU and returns the card's answer; no 61xx handling here.
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError>;

    /// Re-establishes the connection after the card was reset (its session state is gone).
    fn reconnect(&mut self) -> Result<(), TransportError>;

    /// Sends a control command to the reader (SCardControl) and returns its answer, so that
    /// a PIN pad can collect the PIN itself; transports without reader controls refuse.
    fn control(&mut self, code: u32, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        let _ = (code, input);
        Err(TransportError::ControlNotSupported)
    }

    /// The control code of CM_IOCTL_GET_FEATURE_REQUEST on this platform, or `None` when
    /// the transport has no reader controls (and so no PIN pad).
    fn feature_request_code(&self) -> Option<u32> {
        None
    }

    /// Told once, when the card session over this connection ends, what it cost (its
    /// [`crate::card::ApduStats`]): whoever opened the connection can report it (`--stats`)
    /// without the ceremony that used the card knowing. Nothing happens by default.
    fn session_ended(&mut self, stats: &crate::card::ApduStats) {
        let _ = stats;
    }
}

/// Reads the outcome of a feature request: a refusal (unsupported, driver error) means the
/// reader has no features; a lost connection is an error; a malformed list is an error too,
/// so that a PIN pad is never silently skipped.
pub fn features_from_answer(
    answer: Result<Zeroizing<Vec<u8>>, TransportError>,
) -> Result<ReaderFeatures, TransportError> {
    match answer {
        Ok(bytes) => ReaderFeatures::parse(&bytes).map_err(TransportError::MalformedFeatures),
        Err(error) if error.ends_connection() => Err(error),
        Err(_) => Ok(ReaderFeatures::default()),
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        (**self).transmit(command)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        (**self).reconnect()
    }

    fn control(&mut self, code: u32, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        (**self).control(code, input)
    }

    fn feature_request_code(&self) -> Option<u32> {
        (**self).feature_request_code()
    }

    fn session_ended(&mut self, stats: &crate::card::ApduStats) {
        (**self).session_ended(stats)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        (**self).transmit(command)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        (**self).reconnect()
    }

    fn control(&mut self, code: u32, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        (**self).control(code, input)
    }

    fn feature_request_code(&self) -> Option<u32> {
        (**self).feature_request_code()
    }

    fn session_ended(&mut self, stats: &crate::card::ApduStats) {
        (**self).session_ended(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_apdu_is_split_into_data_and_status_word() {
        let response = RawResponse::from_apdu(&[0xAB, 0xCD, 0x61, 0x10]).unwrap();
        assert_eq!(response.data(), &[0xAB, 0xCD]);
        assert_eq!(response.sw(), 0x6110);
        let bare = RawResponse::from_apdu(&[0x90, 0x00]).unwrap();
        assert!(bare.data().is_empty());
        assert_eq!(bare.sw(), 0x9000);
        assert!(matches!(
            RawResponse::from_apdu(&[0x90]),
            Err(TransportError::MalformedResponse(1))
        ));
    }

    /// A transport that implements only the two required methods, like a test double or a
    /// remote channel without reader controls.
    struct ApduOnly;

    impl Transport for ApduOnly {
        fn transmit(&mut self, _: &[u8]) -> Result<RawResponse, TransportError> {
            RawResponse::from_apdu(&[0x90, 0x00])
        }

        fn reconnect(&mut self) -> Result<(), TransportError> {
            Ok(())
        }
    }

    #[test]
    fn transports_without_reader_controls_have_no_features() {
        let mut transport = ApduOnly;
        assert!(matches!(
            transport.control(0x4200_0D48, &[]),
            Err(TransportError::ControlNotSupported)
        ));
        assert_eq!(transport.feature_request_code(), None);
        // Forwarding through &mut and Box keeps the defaults.
        let boxed: Box<dyn Transport> = Box::new(ApduOnly);
        assert_eq!(boxed.feature_request_code(), None);
    }

    #[test]
    fn feature_answers_read_present_absent_and_malformed_lists() {
        use super::scripted::ScriptedTransport;
        const GET_FEATURES: u32 = 0x4200_0D48;
        let features =
            |t: &mut ScriptedTransport| features_from_answer(t.control(GET_FEATURES, &[]));

        // A feature list with a 2-byte value is the driver's fault: refused, not ignored.
        let mut malformed = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control(GET_FEATURES, "", "06 04 42330006 07 02 4233");
        assert!(matches!(
            features(&mut malformed),
            Err(TransportError::MalformedFeatures(_))
        ));

        let mut present = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control(GET_FEATURES, "", "06 04 42330006 07 04 42330007");
        let listed = features(&mut present).unwrap();
        assert_eq!(listed.verify_pin_direct, Some(0x4233_0006));
        assert_eq!(listed.modify_pin_direct, Some(0x4233_0007));

        let mut empty = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control(GET_FEATURES, "", "");
        assert_eq!(features(&mut empty).unwrap().pinpad(), None);

        let refused = TransportError::Backend {
            backend: "PC/SC",
            operation: "sending a reader control command",
            detail: "not supported".into(),
        };
        let mut refusing = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control_failure(GET_FEATURES, "", refused);
        assert!(features(&mut refusing).unwrap().is_empty());

        let mut pulled = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control_failure(GET_FEATURES, "", TransportError::CardRemoved);
        assert!(matches!(
            features(&mut pulled),
            Err(TransportError::CardRemoved)
        ));
    }

    #[test]
    fn debug_shows_no_response_data() {
        let response = RawResponse::from_apdu(&[0x5A, 0x5A, 0x90, 0x00]).unwrap();
        assert_eq!(
            format!("{response:?}"),
            "RawResponse(2 data bytes, SW 9000)"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever a reader returns is split into data and the last two bytes, or refused by length.
        #[test]
        fn any_response_apdu_is_split_or_refused(apdu in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            match RawResponse::from_apdu(&apdu) {
                Ok(r) => {
                    let n = apdu.len();
                    proptest::prop_assert!(n >= 2);
                    proptest::prop_assert_eq!(r.data(), &apdu[..n - 2]);
                    proptest::prop_assert_eq!(r.sw(), u16::from_be_bytes([apdu[n - 2], apdu[n - 1]]));
                }
                Err(TransportError::MalformedResponse(len)) => {
                    proptest::prop_assert!(len < 2 && len == apdu.len());
                }
                Err(other) => proptest::prop_assert!(false, "unexpected error {}", other),
            }
        }
    }
}

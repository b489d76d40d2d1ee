//! PIN pad readers (PC/SC Part 10, apdu-spec/pinpad.md): the reader collects the digits on
//! its keypad and inserts them into an all-`FF` template, so the PIN never passes through
//! this computer.

use zeroize::Zeroizing;

use super::{no_data, Card, CardError};
use crate::transport::{features_from_answer, Transport};
use quorum_protocol::apdu::part10::{
    PinModify, PinSizes, PinVerify, PinpadFeatures, ReaderFeatures,
};
use quorum_protocol::apdu::{parse_public_key, ParseError, StatusWord, POINT_LEN};
use quorum_protocol::pin::RetryLimit;

/// What readers answer when their firmware refuses a PIN pad structure (OpenSC maps it to
/// SC_ERROR_READER); outside quorum's status words, so kept as `StatusWord::Other`.
pub(crate) const SW_PINPAD_REQUEST_REFUSED: u16 = 0x6B80;

impl<T: Transport> Card<T> {
    /// The reader's PIN pad, if it has one quorum can use (PC/SC Part 10 VERIFY PIN DIRECT);
    /// asked once per `Card` with a traced feature request, then cached.
    pub fn pinpad(&mut self) -> Result<Option<PinpadFeatures>, CardError> {
        if let Some(known) = self.pinpad {
            return Ok(known);
        }
        let features = match self.transport.feature_request_code() {
            None => ReaderFeatures::default(),
            Some(code) => {
                let answer = self.control_exchange(code, "GET FEATURE REQUEST", &[], false);
                features_from_answer(answer)?
            }
        };
        let pinpad = features.pinpad();
        self.pinpad = Some(pinpad);
        Ok(pinpad)
    }

    /// The PIN lengths the reader's keypad takes, from FEATURE_GET_TLV_PROPERTIES at `code`
    /// (traced, counted); a reader that answers with an error states none.
    pub fn pinpad_pin_sizes(&mut self, code: u32) -> Result<PinSizes, CardError> {
        match self.control_exchange(code, "GET TLV PROPERTIES", &[], false) {
            Ok(answer) => Ok(PinSizes::parse(&answer)),
            Err(error) if error.ends_connection() => Err(error.into()),
            Err(_) => Ok(PinSizes { min: 0, max: None }),
        }
    }

    /// VERIFY with the PIN typed on the reader's keypad (never seen by this computer);
    /// `timeout_secs` is how long the reader waits (0 = its own default).
    pub fn verify_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        let pinpad = self.pinpad()?.ok_or(CardError::NoPinpad)?;
        let structure = PinVerify::quorum(timeout_secs)
            .encode()
            .expect("quorum's verify structure is well formed");
        self.pinpad_operation(
            pinpad.verify_pin_direct,
            "VERIFY PIN DIRECT",
            "VERIFY",
            &structure,
            timeout_secs,
        )
        .and_then(|data| no_data("VERIFY", "VERIFY PIN DIRECT", &data))
    }

    /// CHANGE REFERENCE DATA with the current PIN and the new one (twice) typed on the
    /// reader's keypad; afterwards the new PIN counts as verified on this connection.
    pub fn change_pin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        let pinpad = self.pinpad()?.ok_or(CardError::NoPinpad)?;
        let code = pinpad
            .modify_pin_direct
            .ok_or(CardError::PinpadCannotChange)?;
        let structure = PinModify::quorum(timeout_secs)
            .encode()
            .expect("quorum's modify structure is well formed");
        self.pinpad_operation(
            code,
            "MODIFY PIN DIRECT",
            "CHANGE REFERENCE DATA",
            &structure,
            timeout_secs,
        )
        .and_then(|data| no_data("CHANGE REFERENCE DATA", "MODIFY PIN DIRECT", &data))
    }

    /// INITIALISE with the first PIN typed twice on the reader's keypad (it never passes
    /// through this computer); returns the card's new public key like [`Card::initialise`].
    pub fn initialise_on_pinpad(
        &mut self,
        retry_limit: RetryLimit,
        timeout_secs: u8,
    ) -> Result<[u8; POINT_LEN], CardError> {
        let pinpad = self.pinpad()?.ok_or(CardError::NoPinpad)?;
        let code = pinpad
            .modify_pin_direct
            .ok_or(CardError::PinpadCannotChange)?;
        let structure = PinModify::quorum_initialise(retry_limit.get(), timeout_secs)
            .encode()
            .expect("quorum's initialise structure is well formed");
        let data = self.pinpad_operation(
            code,
            "MODIFY PIN DIRECT",
            "INITIALISE",
            &structure,
            timeout_secs,
        )?;
        parse_public_key(&data).map_err(|source| CardError::MalformedResponse {
            command: "INITIALISE",
            source,
        })
    }

    /// Sends a PIN pad structure and maps the reader's or the card's status word; returns
    /// the card's response data.
    fn pinpad_operation(
        &mut self,
        code: u32,
        feature: &'static str,
        command: &'static str,
        structure: &[u8],
        timeout_secs: u8,
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        // The keypad's command changes the card's PIN state: a SELECT's status is old now.
        self.fresh_status = None;
        let (answer, sw) = self.pinpad_exchange(code, feature, command, structure)?;
        match sw {
            StatusWord::Success => Ok(answer),
            StatusWord::PinpadTimeout => Err(CardError::PinpadTimeout {
                seconds: timeout_secs,
            }),
            StatusWord::PinpadCancelled => Err(CardError::PinpadCancelled),
            StatusWord::PinpadMismatch => Err(CardError::PinpadMismatch),
            StatusWord::PinpadLength => Err(CardError::PinpadLength),
            StatusWord::IncorrectData => Err(CardError::PinpadBlockRejected { command }),
            StatusWord::Other(SW_PINPAD_REQUEST_REFUSED) => Err(CardError::PinpadRefused),
            sw => Err(self.status_error(command, sw)),
        }
    }

    /// The one Part 10 path: sends a PIN pad structure (traced, counted) and splits the
    /// answer into the card's data and the status word, leaving its meaning to the card kind
    /// (the quorum applet here, an OpenPGP card in [`crate::openpgp`]).
    pub(crate) fn pinpad_exchange(
        &mut self,
        code: u32,
        feature: &'static str,
        command: &'static str,
        structure: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, StatusWord), CardError> {
        let mut answer = self.control_exchange(code, feature, structure, true)?;
        if answer.len() < 2 {
            return Err(CardError::MalformedResponse {
                command,
                source: ParseError::WrongLength {
                    what: feature,
                    expected: 2,
                    got: answer.len(),
                },
            });
        }
        let sw = StatusWord::from_bytes(answer[answer.len() - 2], answer[answer.len() - 1]);
        let data_len = answer.len() - 2;
        answer.truncate(data_len);
        Ok((answer, sw))
    }
}

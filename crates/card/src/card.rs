//! Typed card operations over a [`Transport`], through one transmit path.
//!
//! [`Card::transmit`] is the only place an APDU leaves the host. It
//! - follows `61xx` with GET RESPONSE (bounded), collecting the output in a zeroizing buffer;
//! - traces each exchange to stderr when tracing is on (`QUORUM_TRACE=1` or the
//!   constructor flag), one line per APDU:
//!   `>>> CLA INS P1 P2 [Lc DATA] [Le]` and `<<< [DATA] SW`, with PIN blocks, the sealed
//!   record part and UNSEAL points and answers shown as `<REDACTED n bytes>`;
//! - counts round trips in [`ApduStats`] (commands and GET RESPONSE continuations apart).
//!
//! The operations map every status word the protocol defines to a [`CardError`] a
//! custodian can act on. A `6985` answer costs one extra GET STATUS so that the error can
//! name the card's life-cycle state.
//!
//! The PIN's validated state lives only as long as the connection: run VERIFY and the
//! command it guards on the same `Card` without reconnecting in between.
//!
//! On a PIN pad reader (PC/SC Part 10, apdu-spec/pinpad.md) [`Card::verify_on_pinpad`] and
//! [`Card::change_pin_on_pinpad`] send a structure with an all-`FF` APDU template through
//! a reader control command; the reader collects the digits on its keypad and inserts them,
//! so the PIN never passes through this computer. These control exchanges are traced
//! (`>>> CONTROL code name structure` / `<<< answer`: neither holds a secret) and counted
//! in [`ApduStats::controls`].

use std::io::Write;

use zeroize::Zeroizing;

use crate::transport::Transport;
use quorum_protocol::apdu::part10::PinpadFeatures;
use quorum_protocol::apdu::{
    parse_dh_output, parse_public_key, Capabilities, CardStatus, CommandApdu, LifeCycle,
    ParseError, Pieces, PutRecordStream, RecordHeader, RecordKey, RecordPart, SelectAnswer,
    SelectInfo, StatusWord, DH_LEN, POINT_LEN, PROTOCOL_MAJOR,
};
use quorum_protocol::pin::{PinBlock, RetryLimit};

mod error;
pub(crate) mod pinpad;
mod wire;

pub use error::{CardError, PinState, Unsuitable};
pub use wire::{ApduStats, Response, MAX_CONTINUATIONS, TRACE_ENV};

/// A pinpad VERIFY or CHANGE REFERENCE DATA answers with a status word alone.
pub(crate) fn no_data(
    command: &'static str,
    feature: &'static str,
    data: &[u8],
) -> Result<(), CardError> {
    if data.is_empty() {
        return Ok(());
    }
    Err(CardError::MalformedResponse {
        command,
        source: ParseError::WrongLength {
            what: feature,
            expected: 2,
            got: data.len() + 2,
        },
    })
}

/// One custodian card behind a transport; every APDU goes through [`Card::transmit`].
pub struct Card<T: Transport> {
    transport: T,
    trace: Option<Box<dyn Write + Send>>,
    stats: ApduStats,
    /// The reader's PIN pad once asked for (`None` = not asked yet).
    pinpad: Option<Option<PinpadFeatures>>,
    /// The status a 1.2 card gave in its SELECT answer, until any other command: the first
    /// [`Card::status`] after the SELECT answers with it instead of a GET STATUS.
    fresh_status: Option<CardStatus>,
    /// The record header of the last SELECT answer (a 1.2 card holding a record).
    header: Option<RecordHeader>,
    /// The capabilities the last SELECT answered.
    capabilities: Option<Capabilities>,
    /// The reader refused an extended-length APDU on this connection (T=0, or a reader that
    /// exchanges short APDUs only): PUT RECORD goes in short APDUs from then on.
    short_apdus_only: bool,
}

/// Whether the reader carried a PUT RECORD chain: an extended first APDU that it (or the
/// runtime) refused is sent again in short APDUs.
enum Carried {
    /// The chain ran: the record is committed.
    Yes,
    /// The first, extended-length APDU was refused (why, for the trace); nothing was staged.
    No(String),
}

/// A protocol 1.2 card's answer to UNSEAL P1 = 01: both are secret to the host's share.
pub struct Unsealed {
    /// X of d·P, big-endian (the card's DH step on the blinded point).
    pub x: Zeroizing<[u8; DH_LEN]>,
    /// The sealed part after its `enc`: the HPKE ciphertext of the share.
    pub ct: Zeroizing<Vec<u8>>,
}

impl<T: Transport> Card<T> {
    /// Wraps a transport; traces to stderr if `QUORUM_TRACE=1` is set.
    pub fn new(transport: T) -> Card<T> {
        let on = matches!(
            std::env::var(TRACE_ENV).as_deref(),
            Ok("1") | Ok("true") | Ok("yes")
        );
        Card::with_trace(transport, on)
    }

    /// Wraps a transport; traces to stderr when `trace` is true (the CLI's `--trace`).
    pub fn with_trace(transport: T, trace: bool) -> Card<T> {
        let sink: Option<Box<dyn Write + Send>> = if trace {
            Some(Box::new(std::io::stderr()))
        } else {
            None
        };
        Card {
            transport,
            trace: sink,
            stats: ApduStats::default(),
            pinpad: None,
            fresh_status: None,
            header: None,
            capabilities: None,
            short_apdus_only: false,
        }
    }

    /// Wraps a transport and traces into `writer` (a log file, a test's buffer).
    pub fn with_trace_writer(transport: T, writer: Box<dyn Write + Send>) -> Card<T> {
        Card {
            transport,
            trace: Some(writer),
            stats: ApduStats::default(),
            pinpad: None,
            fresh_status: None,
            header: None,
            capabilities: None,
            short_apdus_only: false,
        }
    }

    /// APDU counts since creation or the last [`Card::reset_stats`].
    pub fn stats(&self) -> ApduStats {
        self.stats
    }

    /// Starts counting from zero (per-phase figures).
    pub fn reset_stats(&mut self) {
        self.stats = ApduStats::default();
    }

    /// The transport, for reader details.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably: a test reaches its in-memory card, or sends a raw APDU past
    /// the 61xx handling to see the status word exactly as the card sent it.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back (the connection stays open).
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// SELECT the applet; refuses a card without it or with another major protocol version.
    pub fn select(&mut self) -> Result<SelectInfo, CardError> {
        self.header = None;
        self.capabilities = None;
        let response = self.transmit(&CommandApdu::select())?;
        match response.sw() {
            StatusWord::Success => {
                let info = SelectInfo::parse(response.data()).map_err(|source| {
                    CardError::MalformedResponse {
                        command: "SELECT",
                        source,
                    }
                })?;
                if info.version.major != PROTOCOL_MAJOR {
                    return Err(CardError::UnsupportedProtocol {
                        major: info.version.major,
                        minor: info.version.minor,
                    });
                }
                let answer = SelectAnswer::parse(response.data()).map_err(|source| {
                    CardError::MalformedResponse {
                        command: "SELECT",
                        source,
                    }
                })?;
                self.fresh_status = answer.status;
                self.header = answer.header;
                self.capabilities = Some(info.capabilities);
                Ok(info)
            }
            StatusWord::AppletNotFound => Err(CardError::AppletNotFound),
            sw => Err(self.status_error("SELECT", sw)),
        }
    }

    /// GET STATUS: state, PIN counters, record sizes, public key; needs no PIN.
    pub fn status(&mut self) -> Result<CardStatus, CardError> {
        if let Some(status) = self.fresh_status.take() {
            return Ok(status);
        }
        let data = self.run("GET STATUS", &CommandApdu::get_status())?;
        CardStatus::parse(&data).map_err(|source| CardError::MalformedResponse {
            command: "GET STATUS",
            source,
        })
    }

    /// INITIALISE a BLANK card: it generates its key pair and takes the first PIN.
    pub fn initialise(
        &mut self,
        retry_limit: RetryLimit,
        pin: &PinBlock,
    ) -> Result<[u8; POINT_LEN], CardError> {
        let data = self.run("INITIALISE", &CommandApdu::initialise(retry_limit, pin))?;
        parse_public_key(&data).map_err(|source| CardError::MalformedResponse {
            command: "INITIALISE",
            source,
        })
    }

    /// VERIFY the PIN for the commands that follow on this connection.
    pub fn verify(&mut self, pin: &PinBlock) -> Result<(), CardError> {
        self.run("VERIFY", &CommandApdu::verify(pin)).map(drop)
    }

    /// Asks whether the PIN is validated and how many tries are left, using no try.
    pub fn pin_tries_left(&mut self) -> Result<PinState, CardError> {
        let response = self.transmit(&CommandApdu::verify_query())?;
        match response.sw() {
            StatusWord::Success => Ok(PinState::Validated),
            StatusWord::WrongPin { tries_left } => Ok(PinState::NotValidated { tries_left }),
            StatusWord::PinBlocked => Ok(PinState::Blocked),
            sw => Err(self.status_error("VERIFY", sw)),
        }
    }

    /// Drops the PIN's validated state when the host is done with the card.
    pub fn clear_pin(&mut self) -> Result<(), CardError> {
        self.run("VERIFY", &CommandApdu::verify_clear()).map(drop)
    }

    /// Changes the PIN; afterwards the new PIN counts as verified on this connection.
    pub fn change_pin(&mut self, old: &PinBlock, new: &PinBlock) -> Result<(), CardError> {
        let command = CommandApdu::change_reference_data(old, new);
        self.run("CHANGE REFERENCE DATA", &command).map(drop)
    }

    /// Writes a PUT RECORD stream, in one extended-length APDU when the card (capability bit 6)
    /// and the reader carry it, else as a chain of short ones; the card replaces its record only
    /// at the end.
    pub fn put_record(&mut self, stream: &[u8]) -> Result<(), CardError> {
        self.put_record_for(stream, RecordKey::Present)
    }

    /// PUT RECORD P1 = 01 (protocol 1.1): the record and the key PREPARE KEY made pending
    /// become active in one commit, and the card's previous key is destroyed.
    pub fn put_record_renewing_key(&mut self, stream: &[u8]) -> Result<(), CardError> {
        self.put_record_for(stream, RecordKey::Pending)
    }

    /// PREPARE KEY (protocol 1.1): a new key pair, pending until PUT RECORD P1 = 01; needs the PIN.
    pub fn prepare_key(&mut self) -> Result<[u8; POINT_LEN], CardError> {
        let data = self.run("PREPARE KEY", &CommandApdu::prepare_key())?;
        parse_public_key(&data).map_err(|source| CardError::MalformedResponse {
            command: "PREPARE KEY",
            source,
        })
    }

    fn put_record_for(&mut self, stream: &[u8], key: RecordKey) -> Result<(), CardError> {
        let stream = PutRecordStream::parse(stream)?;
        let extended =
            !self.short_apdus_only && self.capabilities.is_some_and(|c| c.extended_put_record());
        let mut pieces = if extended {
            Pieces::Extended
        } else {
            Pieces::Short
        };
        // Ends at the latest with short pieces, which the reader never refuses as extended ones.
        loop {
            match self.put_record_in(&stream, key, pieces)? {
                Carried::Yes => return Ok(()),
                Carried::No(why) => {
                    // Nothing was staged: the first APDU never reached the applet, or its
                    // error status aborted the chain (put-record.md). Send it again, short.
                    self.short_apdus_only = true;
                    pieces = Pieces::Short;
                    self.trace_line(|| {
                        format!("--- the reader did not carry an extended-length APDU ({why}); PUT RECORD again in short APDUs")
                    });
                }
            }
        }
    }

    /// Sends the stream as one chain of `pieces`; an extended first APDU that the reader or the
    /// runtime refuses (a transport failure that leaves the connection up, or `6700`) is told
    /// apart from every other failure.
    fn put_record_in(
        &mut self,
        stream: &PutRecordStream<'_>,
        key: RecordKey,
        pieces: Pieces,
    ) -> Result<Carried, CardError> {
        for (index, link) in stream.commands(key, pieces).iter().enumerate() {
            let probe = index == 0 && link.is_extended();
            let response = match self.transmit(link) {
                Err(CardError::Transport(error)) if probe && !error.ends_connection() => {
                    return Ok(Carried::No(error.to_string()))
                }
                other => other?,
            };
            match response.sw() {
                StatusWord::Success => {}
                StatusWord::NotEnoughMemory => {
                    return Err(CardError::RecordTooLarge {
                        size: stream.record_len(),
                    })
                }
                StatusWord::WrongLength if probe => return Ok(Carried::No("status 6700".into())),
                sw => return Err(self.status_error("PUT RECORD", sw)),
            }
        }
        Ok(Carried::Yes)
    }

    /// GET RECORD of the public part (set description and wrapped master); no PIN.
    pub fn get_record_public(&mut self) -> Result<Vec<u8>, CardError> {
        let mut data = self.run("GET RECORD", &CommandApdu::get_record(RecordPart::Public))?;
        Ok(std::mem::take(&mut *data))
    }

    /// GET RECORD of the sealed part (this card's HPKE-sealed share); needs the PIN.
    pub fn get_record_sealed(&mut self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        self.run("GET RECORD", &CommandApdu::get_record(RecordPart::Sealed))
    }

    /// UNSEAL: the card's DH step on a blinded point; needs the PIN.
    pub fn unseal(
        &mut self,
        point: &[u8; POINT_LEN],
    ) -> Result<Zeroizing<[u8; DH_LEN]>, CardError> {
        let data = self.run("UNSEAL", &CommandApdu::unseal(point))?;
        parse_dh_output(&data).map_err(|source| CardError::MalformedResponse {
            command: "UNSEAL",
            source,
        })
    }

    /// The record header the last SELECT answered (protocol 1.2, an ENROLLED card): its set,
    /// version, index and the sealed part's `enc`, known before any PIN.
    pub fn record_header(&self) -> Option<RecordHeader> {
        self.header
    }

    /// The capabilities the last SELECT answered (`None` before a SELECT succeeded).
    pub fn capabilities(&self) -> Option<Capabilities> {
        self.capabilities
    }

    /// UNSEAL P1 = 01 (protocol 1.2): the DH step on a blinded point, and the sealed part
    /// after its `enc`; needs the PIN. Only for a card whose SELECT set capability bit 4.
    pub fn unseal_with_sealed(&mut self, point: &[u8; POINT_LEN]) -> Result<Unsealed, CardError> {
        let data = self.run("UNSEAL", &CommandApdu::unseal_with_sealed(point))?;
        let dh = parse_dh_output(data.get(..DH_LEN).unwrap_or(&data)).map_err(|source| {
            CardError::MalformedResponse {
                command: "UNSEAL",
                source,
            }
        })?;
        Ok(Unsealed {
            x: dh,
            ct: Zeroizing::new(data[DH_LEN..].to_vec()),
        })
    }

    /// FACTORY RESET: erases key, PIN and record; works in any state, without the PIN.
    pub fn factory_reset(&mut self) -> Result<(), CardError> {
        self.run("FACTORY RESET", &CommandApdu::factory_reset())
            .map(drop)
    }

    /// Reconnects after a reset and selects the applet again (the PIN must be verified again).
    pub fn reconnect(&mut self) -> Result<SelectInfo, CardError> {
        self.transport.reconnect()?;
        self.select()
    }

    /// Transmits and demands 9000, mapping any other status word to its error.
    fn run(
        &mut self,
        name: &'static str,
        command: &CommandApdu,
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let response = self.transmit(command)?;
        match response.sw() {
            StatusWord::Success => Ok(response.into_data()),
            sw => Err(self.status_error(name, sw)),
        }
    }

    /// The error for a status word answered to `command`.
    fn status_error(&mut self, command: &'static str, sw: StatusWord) -> CardError {
        match sw {
            StatusWord::WrongPin { tries_left } => CardError::WrongPin { tries_left },
            StatusWord::PinBlocked => CardError::PinBlocked,
            StatusWord::PinNotVerified => CardError::PinNotVerified { command },
            StatusWord::ConditionsNotSatisfied => CardError::WrongState {
                command,
                state: self.state_for_error(),
            },
            StatusWord::IncorrectData => CardError::InvalidData { command },
            StatusWord::WrongLength => CardError::WrongLength { command },
            StatusWord::ChainAborted => CardError::ChainAborted { command },
            StatusWord::AppletNotFound => CardError::AppletNotFound,
            sw => CardError::UnexpectedStatus { command, sw },
        }
    }

    /// The card's state for a 6985 error message; `None` if it cannot be read.
    fn state_for_error(&mut self) -> Option<LifeCycle> {
        let response = self.transmit(&CommandApdu::get_status()).ok()?;
        if response.sw() != StatusWord::Success {
            return None;
        }
        CardStatus::parse(response.data()).ok().map(|s| s.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::scripted::{unhex, ScriptedTransport};
    use crate::transport::TransportError;
    use proptest::prelude::*;
    use quorum_protocol::apdu::StreamError;
    use std::sync::{Arc, Mutex};

    const SELECT: &str = "00A4040009F051554F52554D010100";
    const GET_STATUS: &str = "8010000000";
    const VERIFY_123456: &str = "002000810C313233343536FFFFFFFFFFFF";
    const GET_RECORD_PUBLIC: &str = "8016000000";
    const GET_RECORD_SEALED: &str = "8016010000";

    /// Collects trace lines so that tests can read what would have gone to stderr.
    #[derive(Clone, Default)]
    struct TraceBuffer(Arc<Mutex<Vec<u8>>>);

    impl Write for TraceBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl TraceBuffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn scripted_card(script: ScriptedTransport) -> Card<ScriptedTransport> {
        Card::with_trace(script, false)
    }

    fn traced(script: ScriptedTransport) -> (Card<ScriptedTransport>, TraceBuffer) {
        let buffer = TraceBuffer::default();
        (
            Card::with_trace_writer(script, Box::new(buffer.clone())),
            buffer,
        )
    }

    fn pin(digits: &str) -> PinBlock {
        PinBlock::new(digits).unwrap()
    }

    fn key() -> [u8; POINT_LEN] {
        let mut key = [0x3Cu8; POINT_LEN];
        key[0] = 0x04;
        key
    }

    /// A GET STATUS answer (with 9000) for `state`, capacity 8192, tries 5 of 5.
    fn status_answer(state: u8) -> String {
        let key_part = if state == 0 {
            "00".to_owned()
        } else {
            format!("41{}", hex::encode_upper(key()))
        };
        let tries = if state == 0 { "0000" } else { "0505" };
        // capacity 2000, public length 0000, sealed length 0000
        format!("{state:02X}00{tries}200000000000{key_part}9000")
    }

    /// Scripts the card's output chaining of `data` for `command`: each answer carries
    /// min(Ne, remaining) bytes and 61xx (xx = remaining, 00 for 256 or more) while more remain.
    fn chained(mut script: ScriptedTransport, command: &str, data: &[u8]) -> ScriptedTransport {
        let mut command = unhex(command);
        let mut offset = 0;
        loop {
            let le = *command.last().unwrap();
            let ne = if le == 0 { 256 } else { usize::from(le) };
            let end = (offset + ne).min(data.len());
            let mut answer = data[offset..end].to_vec();
            offset = end;
            let remaining = data.len() - offset;
            let sw2 = if remaining >= 256 { 0 } else { remaining as u8 };
            let sw = if remaining == 0 {
                [0x90, 0x00]
            } else {
                [0x61, sw2]
            };
            answer.extend_from_slice(&sw);
            script = script.expect_bytes(command, answer);
            if remaining == 0 {
                return script;
            }
            command = vec![0x00, 0xC0, 0x00, 0x00, sw2];
        }
    }

    #[test]
    fn status_answer_helper_has_the_documented_layout() {
        let bytes = unhex(&status_answer(2));
        assert_eq!(bytes.len(), 11 + 65 + 2);
        assert_eq!(
            CardStatus::parse(&bytes[..bytes.len() - 2])
                .unwrap()
                .capacity,
            8192
        );
    }

    #[test]
    fn select_reads_the_applet_info() {
        let mut card =
            scripted_card(ScriptedTransport::new().expect(SELECT, "010007 01 2000 9000"));
        let info = card.select().unwrap();
        assert_eq!(info.state, LifeCycle::Personalised);
        assert_eq!(info.record_capacity, 8192);
        // SELECT is counted apart: the figures are after SELECT.
        assert_eq!(card.stats().round_trips(), 0);
        assert_eq!(card.stats().selects, 1);
        assert_eq!(card.stats().bytes_sent + card.stats().bytes_received, 0);
    }

    #[test]
    fn bytes_after_select_leave_out_selects_own_bytes() {
        let answer = status_answer(1);
        let mut card = scripted_card(
            ScriptedTransport::new()
                .expect(SELECT, "010007 01 2000 9000")
                .expect(GET_STATUS, &answer)
                .expect(SELECT, "010007 01 2000 9000"),
        );
        card.select().unwrap();
        card.status().unwrap();
        card.select().unwrap();
        let stats = card.stats();
        assert_eq!(
            (stats.selects, stats.commands, stats.round_trips()),
            (2, 1, 1)
        );
        // GET STATUS alone: its command bytes out, its answer and status word back.
        assert_eq!(stats.bytes_sent, GET_STATUS.len() as u64 / 2);
        assert_eq!(
            stats.bytes_received,
            answer.replace(' ', "").len() as u64 / 2
        );
    }

    #[test]
    fn select_refuses_a_card_without_the_applet_or_with_another_major() {
        let mut card = scripted_card(ScriptedTransport::new().expect(SELECT, "6A82"));
        assert!(matches!(card.select(), Err(CardError::AppletNotFound)));
        let mut card = card_with(SELECT, "020007012000 9000");
        let error = card.select().unwrap_err();
        assert!(matches!(
            error,
            CardError::UnsupportedProtocol { major: 2, minor: 0 }
        ));
        assert!(error.to_string().contains("2.0"));
        let mut card = card_with(SELECT, "0100 07 01 20 9000");
        assert!(matches!(
            card.select(),
            Err(CardError::MalformedResponse {
                command: "SELECT",
                ..
            })
        ));
    }

    fn card_with(command: &str, answer: &str) -> Card<ScriptedTransport> {
        scripted_card(ScriptedTransport::new().expect(command, answer))
    }

    #[test]
    fn status_reads_the_card_status() {
        let mut card = card_with(GET_STATUS, &status_answer(2));
        let status = card.status().unwrap();
        assert_eq!(status.state, LifeCycle::Enrolled);
        assert_eq!((status.tries_left, status.retry_limit), (5, 5));
        assert_eq!(status.public_key, Some(key()));
    }

    #[test]
    fn initialise_returns_the_card_key() {
        let answer = format!("{}9000", hex::encode_upper(key()));
        let mut card = card_with("801200000D05313233343536FFFFFFFFFFFF00", &answer);
        let public_key = card
            .initialise(RetryLimit::default(), &pin("123456"))
            .unwrap();
        assert_eq!(public_key, key());
    }

    #[test]
    fn initialise_on_an_initialised_card_names_its_state() {
        let script = ScriptedTransport::new()
            .expect("801200000D03313233343536FFFFFFFFFFFF00", "6985")
            .expect(GET_STATUS, &status_answer(1));
        let mut card = scripted_card(script);
        let error = card
            .initialise(RetryLimit::new(3).unwrap(), &pin("123456"))
            .unwrap_err();
        assert!(matches!(
            error,
            CardError::WrongState {
                command: "INITIALISE",
                state: Some(LifeCycle::Personalised)
            }
        ));
        assert!(error.to_string().contains("PERSONALISED"), "{error}");
        assert!(error.to_string().contains("factory reset"), "{error}");
        // The refused command plus the GET STATUS that named the state.
        assert_eq!(card.stats().commands, 2);
    }

    #[test]
    fn wrong_state_without_a_readable_status_still_reports() {
        let script = ScriptedTransport::new()
            .expect(GET_RECORD_PUBLIC, "6985")
            .expect(GET_STATUS, "6F00");
        let error = scripted_card(script).get_record_public().unwrap_err();
        assert!(matches!(error, CardError::WrongState { state: None, .. }));
        assert!(error.to_string().contains("could not be read"), "{error}");
    }

    #[test]
    fn verify_maps_every_pin_answer() {
        assert!(card_with(VERIFY_123456, "9000")
            .verify(&pin("123456"))
            .is_ok());

        let error = card_with(VERIFY_123456, "63C2")
            .verify(&pin("123456"))
            .unwrap_err();
        assert!(matches!(error, CardError::WrongPin { tries_left: 2 }));
        assert!(error.to_string().contains("2 tries left"), "{error}");

        let error = card_with(VERIFY_123456, "63C0")
            .verify(&pin("123456"))
            .unwrap_err();
        assert!(matches!(error, CardError::WrongPin { tries_left: 0 }));
        assert!(error.to_string().contains("now blocked"), "{error}");

        let error = card_with(VERIFY_123456, "6983")
            .verify(&pin("123456"))
            .unwrap_err();
        assert!(matches!(error, CardError::PinBlocked));
        assert!(error.to_string().contains("factory-reset"), "{error}");

        let error = card_with(VERIFY_123456, "6A80")
            .verify(&pin("123456"))
            .unwrap_err();
        assert!(matches!(
            error,
            CardError::InvalidData { command: "VERIFY" }
        ));

        let script = ScriptedTransport::new()
            .expect(VERIFY_123456, "6985")
            .expect(GET_STATUS, &status_answer(0));
        let error = scripted_card(script).verify(&pin("123456")).unwrap_err();
        assert!(matches!(
            error,
            CardError::WrongState {
                state: Some(LifeCycle::Blank),
                ..
            }
        ));
        assert!(error.to_string().contains("initialise it first"), "{error}");
    }

    #[test]
    fn pin_tries_left_reads_the_pin_state_without_using_a_try() {
        assert_eq!(
            card_with("00200081", "9000").pin_tries_left().unwrap(),
            PinState::Validated
        );
        assert_eq!(
            card_with("00200081", "63C3").pin_tries_left().unwrap(),
            PinState::NotValidated { tries_left: 3 }
        );
        assert_eq!(
            card_with("00200081", "6983").pin_tries_left().unwrap(),
            PinState::Blocked
        );
    }

    #[test]
    fn clear_pin_and_factory_reset_send_their_fixed_apdus() {
        card_with("0020FF81", "9000").clear_pin().unwrap();
        card_with("801EAA55", "9000").factory_reset().unwrap();
    }

    #[test]
    fn change_pin_sends_both_blocks() {
        let command = "0024008118313233343536FFFFFFFFFFFF393837363534FFFFFFFFFFFF";
        card_with(command, "9000")
            .change_pin(&pin("123456"), &pin("987654"))
            .unwrap();
        let error = card_with(command, "63C1")
            .change_pin(&pin("123456"), &pin("987654"))
            .unwrap_err();
        assert!(matches!(error, CardError::WrongPin { tries_left: 1 }));
        assert!(error.to_string().contains("1 try left"), "{error}");
    }

    /// The chain a card must see for `stream`, built independently of the codec.
    fn expected_links(stream: &[u8]) -> Vec<Vec<u8>> {
        let count = stream.chunks(255).count();
        stream
            .chunks(255)
            .enumerate()
            .map(|(i, chunk)| {
                let cla = if i + 1 == count { 0x80 } else { 0x90 };
                let mut apdu = vec![cla, 0x14, 0x00, 0x00, chunk.len() as u8];
                apdu.extend_from_slice(chunk);
                apdu
            })
            .collect()
    }

    #[test]
    fn key_renewal_prepares_a_key_then_writes_every_link_with_p1_01() {
        let stream = PutRecordStream::encode(&[0x11; 400], &[0xA5; 81]).unwrap();
        let mut answer = key().to_vec();
        answer.extend_from_slice(&[0x90, 0x00]);
        let mut script = ScriptedTransport::new().expect_bytes(unhex("801C000000"), answer);
        for mut link in expected_links(&stream) {
            link[2] = 0x01;
            script = script.expect_bytes(link, vec![0x90, 0x00]);
        }
        let mut card = scripted_card(script);
        assert_eq!(card.prepare_key().unwrap(), key());
        card.put_record_renewing_key(&stream).unwrap();
        assert_eq!(card.stats().commands, 1 + 2);
        // a card without the command (protocol 1.0) says so with 6D00
        let mut old = scripted_card(ScriptedTransport::new().expect("801C000000", "6D00"));
        assert!(matches!(
            old.prepare_key(),
            Err(CardError::UnexpectedStatus {
                command: "PREPARE KEY",
                ..
            })
        ));
    }

    #[test]
    fn put_record_of_4_kib_is_a_chain_of_17_apdus_with_the_sealed_part_redacted() {
        let stream = PutRecordStream::encode(&vec![0x11; 4096 - 81], &[0xA5; 81]).unwrap();
        let mut script = ScriptedTransport::new();
        for link in expected_links(&stream) {
            script = script.expect_bytes(link, vec![0x90, 0x00]);
        }
        let (mut card, trace) = traced(script);
        card.put_record(&stream).unwrap();
        assert_eq!(card.stats().commands, 17);
        assert_eq!(card.stats().continuations, 0);
        assert_eq!(card.stats().bytes_sent, 4100 + 17 * 5);
        let text = trace.text();
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with(">>> 90 14 00 00 FF "))
                .count(),
            16
        );
        assert!(text.contains(">>> 80 14 00 00 14 "));
        assert!(
            !text.contains("A5A5"),
            "sealed bytes leaked into the trace:\n{text}"
        );
        // The sealed part starts 194 bytes into link 15 and fills link 16: 61 + 20 bytes.
        assert!(text.contains("<REDACTED 61 bytes>"), "{text}");
        assert!(
            text.contains(">>> 80 14 00 00 14 <REDACTED 20 bytes>"),
            "{text}"
        );
    }

    #[test]
    fn put_record_stops_at_the_first_refusal() {
        let stream = PutRecordStream::encode(&vec![0x11; 600], &[0xA5; 81]).unwrap();
        let links = expected_links(&stream);
        let script = ScriptedTransport::new().expect_bytes(links[0].clone(), vec![0x6A, 0x84]);
        let mut card = scripted_card(script);
        let error = card.put_record(&stream).unwrap_err();
        assert!(matches!(error, CardError::RecordTooLarge { size: 681 }));
        assert!(error.to_string().contains("previous record"), "{error}");
        assert_eq!(card.stats().commands, 1);

        let script = ScriptedTransport::new()
            .expect_bytes(links[0].clone(), vec![0x90, 0x00])
            .expect_bytes(links[1].clone(), vec![0x69, 0x82]);
        let error = scripted_card(script).put_record(&stream).unwrap_err();
        assert!(matches!(
            error,
            CardError::PinNotVerified {
                command: "PUT RECORD"
            }
        ));

        let script = ScriptedTransport::new().expect_bytes(links[0].clone(), vec![0x67, 0x00]);
        let error = scripted_card(script).put_record(&stream).unwrap_err();
        assert!(matches!(
            error,
            CardError::WrongLength {
                command: "PUT RECORD"
            }
        ));
    }

    #[test]
    fn malformed_stream_never_reaches_the_card() {
        let mut card = scripted_card(ScriptedTransport::new());
        let error = card
            .put_record(&[0x00, 0x05, 0x00, 0x01, 0xAA])
            .unwrap_err();
        assert!(matches!(
            error,
            CardError::InvalidRecordStream(StreamError::LengthMismatch { .. })
        ));
        assert_eq!(card.stats().round_trips(), 0);
    }

    #[test]
    fn get_record_public_follows_61xx_and_counts_continuations() {
        let public: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        let mut card = scripted_card(chained(
            ScriptedTransport::new(),
            GET_RECORD_PUBLIC,
            &public,
        ));
        assert_eq!(card.get_record_public().unwrap(), public);
        // 256 bytes with the command, then 3744 bytes in 15 GET RESPONSEs (14 × 256 + 160).
        assert_eq!(card.stats().commands, 1);
        assert_eq!(card.stats().continuations, 15);
        assert_eq!(card.stats().round_trips(), 16);
    }

    #[test]
    fn sealed_record_is_returned_but_never_traced() {
        let sealed = [0xA5u8; 300];
        let (mut card, trace) = traced(chained(
            ScriptedTransport::new(),
            GET_RECORD_SEALED,
            &sealed,
        ));
        let data = card.get_record_sealed().unwrap();
        assert_eq!(&data[..], &sealed[..]);
        let text = trace.text();
        assert_eq!(
            text,
            ">>> 80 16 01 00 00\n<<< <REDACTED 256 bytes> 612C\n\
             >>> 00 C0 00 00 2C\n<<< <REDACTED 44 bytes> 9000\n"
        );
    }

    #[test]
    fn unseal_returns_the_dh_output_and_redacts_both_ways() {
        let mut point = [0x77u8; POINT_LEN];
        point[0] = 0x04;
        let command = format!("8018000041{}00", hex::encode_upper(point));
        let answer = format!("{}9000", "C3".repeat(32));
        let (mut card, trace) = traced(ScriptedTransport::new().expect(&command, &answer));
        assert_eq!(*card.unseal(&point).unwrap(), [0xC3; 32]);
        let text = trace.text();
        assert!(!text.contains("7777") && !text.contains("C3C3"), "{text}");
        assert_eq!(
            text,
            ">>> 80 18 00 00 41 <REDACTED 65 bytes> 00\n<<< <REDACTED 32 bytes> 9000\n"
        );

        let error = card_with(&command, "6A80").unseal(&point).unwrap_err();
        assert!(matches!(
            error,
            CardError::InvalidData { command: "UNSEAL" }
        ));
        let error = card_with(&command, "6982").unseal(&point).unwrap_err();
        assert!(matches!(
            error,
            CardError::PinNotVerified { command: "UNSEAL" }
        ));
        let error = card_with(&command, &format!("{}9000", "C3".repeat(31)))
            .unseal(&point)
            .unwrap_err();
        assert!(matches!(
            error,
            CardError::MalformedResponse {
                command: "UNSEAL",
                ..
            }
        ));
    }

    #[test]
    fn trace_of_a_whole_session_shows_no_pin_digits() {
        let change = "0024008118313335373930FFFFFFFFFFFF323436383032FFFFFFFFFFFF";
        let script = ScriptedTransport::new()
            .expect(SELECT, "010007012000 9000")
            .expect(
                "801200000D05313335373930FFFFFFFFFFFF00",
                &format!("{}9000", hex::encode_upper(key())),
            )
            .expect("002000810C313335373930FFFFFFFFFFFF", "63C4")
            .expect("002000810C313335373930FFFFFFFFFFFF", "9000")
            .expect(change, "9000")
            .expect("0020FF81", "9000");
        let (mut card, trace) = traced(script);
        card.select().unwrap();
        card.initialise(RetryLimit::default(), &pin("135790"))
            .unwrap();
        assert!(card.verify(&pin("135790")).is_err());
        card.verify(&pin("135790")).unwrap();
        card.change_pin(&pin("135790"), &pin("246802")).unwrap();
        card.clear_pin().unwrap();
        let text = trace.text();
        for secret in ["3133353739", "3234363830", "135790", "246802"] {
            assert!(
                !text.contains(secret),
                "{secret} leaked into the trace:\n{text}"
            );
        }
        assert_eq!(text.matches("<REDACTED 12 bytes>").count(), 3);
        assert!(text.contains(">>> 00 24 00 81 18 <REDACTED 24 bytes>"));
        assert!(text.contains("<<< 63C4"));
        assert_eq!(text.lines().filter(|l| l.starts_with(">>> ")).count(), 6);
        assert_eq!(text.lines().filter(|l| l.starts_with("<<< ")).count(), 6);
    }

    #[test]
    fn transport_failures_surface_typed_and_traced() {
        let script = ScriptedTransport::new().expect_failure(GET_STATUS, TransportError::CardReset);
        let (mut card, trace) = traced(script);
        let error = card.status().unwrap_err();
        assert!(matches!(
            error,
            CardError::Transport(TransportError::CardReset)
        ));
        assert!(
            error.to_string().contains("PIN will be asked again"),
            "{error}"
        );
        assert!(trace.text().contains("<<< no response: the card was reset"));

        let script = ScriptedTransport::new().expect_failure(SELECT, TransportError::CardRemoved);
        let error = scripted_card(script).select().unwrap_err();
        assert!(matches!(
            error,
            CardError::Transport(TransportError::CardRemoved)
        ));
    }

    #[test]
    fn reconnect_reselects_the_applet() {
        let script = ScriptedTransport::new()
            .expect_reconnect()
            .expect(SELECT, "010007022000 9000");
        let mut card = scripted_card(script);
        assert_eq!(card.reconnect().unwrap().state, LifeCycle::Enrolled);
    }

    #[test]
    fn a_broken_output_chain_is_reported_as_such() {
        let script = ScriptedTransport::new()
            .expect(GET_RECORD_PUBLIC, &format!("{}6110", "11".repeat(256)))
            .expect("00C0000010", "6985");
        let error = scripted_card(script).get_record_public().unwrap_err();
        assert!(matches!(
            error,
            CardError::UnexpectedStatus {
                command: "GET RESPONSE",
                sw: StatusWord::ConditionsNotSatisfied
            }
        ));
    }

    #[test]
    fn endless_61xx_is_cut_off() {
        let mut script = ScriptedTransport::new().expect(GET_RECORD_PUBLIC, "AA6100");
        for _ in 0..MAX_CONTINUATIONS {
            script = script.expect("00C0000000", "AA6100");
        }
        let mut card = scripted_card(script);
        let error = card.get_record_public().unwrap_err();
        assert!(matches!(
            error,
            CardError::ResponseTooLong {
                command: "GET RECORD",
                ..
            }
        ));
        assert_eq!(card.stats().continuations, MAX_CONTINUATIONS as u64);
    }

    #[test]
    fn unknown_status_words_are_kept_raw() {
        let error = card_with(GET_STATUS, "6F00").status().unwrap_err();
        assert!(matches!(
            error,
            CardError::UnexpectedStatus {
                command: "GET STATUS",
                sw: StatusWord::Other(0x6F00)
            }
        ));
        assert!(error.to_string().contains("6F00"), "{error}");
        let error = card_with("801EAA55", "6883").factory_reset().unwrap_err();
        assert!(matches!(
            error,
            CardError::ChainAborted {
                command: "FACTORY RESET"
            }
        ));
    }

    #[test]
    fn apdu_counts_per_operation() {
        // (operation, commands, continuations) for a typical answer to each operation.
        let sealed = [0xA5u8; 81];
        let public = vec![0x11u8; 700];
        let stream = PutRecordStream::encode(&public, &sealed).unwrap();
        let mut script = ScriptedTransport::new()
            .expect(SELECT, "010007012000 9000")
            .expect(GET_STATUS, &status_answer(1))
            .expect(VERIFY_123456, "9000")
            .expect("00200081", "9000");
        for link in expected_links(&stream) {
            script = script.expect_bytes(link, vec![0x90, 0x00]);
        }
        script = chained(script, GET_RECORD_PUBLIC, &public);
        script = chained(script, GET_RECORD_SEALED, &sealed);
        let mut point = [0x77u8; POINT_LEN];
        point[0] = 0x04;
        script = script
            .expect(
                &format!("8018000041{}00", hex::encode_upper(point)),
                &format!("{}9000", "C3".repeat(32)),
            )
            .expect("0020FF81", "9000")
            .expect("801EAA55", "9000");
        let mut card = scripted_card(script);
        let measure = |card: &mut Card<ScriptedTransport>,
                       run: &dyn Fn(&mut Card<ScriptedTransport>)| {
            let before = card.stats();
            run(card);
            let delta = card.stats().since(&before);
            (delta.commands, delta.continuations)
        };
        // SELECT is no command after SELECT.
        assert_eq!(
            measure(&mut card, &|c| {
                c.select().unwrap();
            }),
            (0, 0)
        );
        assert_eq!(card.stats().selects, 1);
        assert_eq!(
            measure(&mut card, &|c| {
                c.status().unwrap();
            }),
            (1, 0)
        );
        assert_eq!(
            measure(&mut card, &|c| c.verify(&pin("123456")).unwrap()),
            (1, 0)
        );
        assert_eq!(
            measure(&mut card, &|c| {
                c.pin_tries_left().unwrap();
            }),
            (1, 0)
        );
        // 4 + 700 + 81 = 785 bytes = 3 × 255 + 20.
        assert_eq!(
            measure(&mut card, &|c| c.put_record(&stream).unwrap()),
            (4, 0)
        );
        // 700 bytes = 256 with the command, then 256 + 188.
        assert_eq!(
            measure(&mut card, &|c| {
                c.get_record_public().unwrap();
            }),
            (1, 2)
        );
        assert_eq!(
            measure(&mut card, &|c| {
                c.get_record_sealed().unwrap();
            }),
            (1, 0)
        );
        assert_eq!(
            measure(&mut card, &|c| {
                c.unseal(&point).unwrap();
            }),
            (1, 0)
        );
        assert_eq!(measure(&mut card, &|c| c.clear_pin().unwrap()), (1, 0));
        assert_eq!(measure(&mut card, &|c| c.factory_reset().unwrap()), (1, 0));
        assert_eq!(card.stats().round_trips(), 14);
        assert_eq!(card.transport().exchanged(), 15, "SELECT went out too");
        assert!(card
            .stats()
            .to_string()
            .starts_with("14 APDU round trips (12 commands + 2 GET RESPONSE)"));
        card.reset_stats();
        assert_eq!(card.stats(), ApduStats::default());
    }

    #[test]
    fn tracing_off_installs_no_sink() {
        let mut card = Card::with_trace(ScriptedTransport::new().expect("801EAA55", "9000"), false);
        card.factory_reset().unwrap();
        assert!(card.trace.is_none());
    }

    use crate::transport::scripted::{
        pinpad_reader, GET_FEATURES, MODIFY_DIRECT, VERIFY_DIRECT, VERIFY_STRUCTURE_30S,
    };
    /// PIN_MODIFY_STRUCTURE for quorum with a 30 s timeout, written out field by field.
    const MODIFY_STRUCTURE_30S: &str = "1E 00 82 0C 00 00 0C 0C06 03 02 03 0904 000102 000000 \
         1D000000 00240081 18 FFFFFFFFFFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFFFFFFFFFF";

    fn verify_on_pinpad_answering(
        answer: &str,
    ) -> (Card<ScriptedTransport>, Result<(), CardError>) {
        let script = pinpad_reader().expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, answer);
        let mut card = scripted_card(script);
        let result = card.verify_on_pinpad(30);
        (card, result)
    }

    fn change_on_pinpad_answering(answer: &str) -> Result<(), CardError> {
        let script = pinpad_reader().expect_control(MODIFY_DIRECT, MODIFY_STRUCTURE_30S, answer);
        scripted_card(script).change_pin_on_pinpad(30)
    }

    /// PIN_MODIFY_STRUCTURE for INITIALISE (limit 5, 30 s): no current PIN, the new one
    /// inserted after the retry-limit byte and confirmed, case-4 template.
    const INITIALISE_STRUCTURE_30S: &str = "1E 00 82 0C 00 00 01 0C06 01 02 02 0904 010200 000000 \
         13000000 80120000 0D 05 FFFFFFFFFFFFFFFFFFFFFFFF 00";

    #[test]
    fn initialise_on_pinpad_returns_the_key_and_maps_reader_answers() {
        let key = format!("04{}", "11".repeat(64));
        let script = pinpad_reader().expect_control(
            MODIFY_DIRECT,
            INITIALISE_STRUCTURE_30S,
            &format!("{key}9000"),
        );
        let mut card = scripted_card(script);
        let point = card
            .initialise_on_pinpad(RetryLimit::new(5).unwrap(), 30)
            .unwrap();
        assert_eq!(hex::encode_upper(point), key.to_uppercase());
        assert_eq!(
            card.stats().commands,
            0,
            "the PIN went through the reader only"
        );

        for (answer, check) in [
            ("6401", "cancelled on the reader"),
            ("6402", ""),
            ("6400", ""),
        ] {
            let script =
                pinpad_reader().expect_control(MODIFY_DIRECT, INITIALISE_STRUCTURE_30S, answer);
            let error = scripted_card(script)
                .initialise_on_pinpad(RetryLimit::new(5).unwrap(), 30)
                .unwrap_err();
            match answer {
                "6401" => assert!(matches!(error, CardError::PinpadCancelled)),
                "6402" => assert!(matches!(error, CardError::PinpadMismatch)),
                _ => assert!(matches!(error, CardError::PinpadTimeout { seconds: 30 })),
            }
            assert!(error.to_string().contains(check), "{error}");
        }
    }

    #[test]
    fn pinpad_discovery_is_traced_counted_and_asked_once() {
        let (mut card, trace) = traced(pinpad_reader());
        let pinpad = card.pinpad().unwrap().unwrap();
        assert_eq!(pinpad.verify_pin_direct, VERIFY_DIRECT);
        assert_eq!(pinpad.modify_pin_direct, Some(MODIFY_DIRECT));
        // Cached: the script holds a single feature request.
        assert_eq!(card.pinpad().unwrap(), Some(pinpad));
        // The reader answers the feature request itself: no card round trip, no card bytes.
        assert_eq!(card.stats().reader_queries, 1);
        assert_eq!(card.stats().controls, 0);
        assert_eq!(card.stats().round_trips(), 0);
        assert_eq!(card.stats().bytes_received, 0);
        assert_eq!(
            trace.text(),
            ">>> CONTROL 42000D48 GET FEATURE REQUEST\n\
             <<< 060442330006070442330007\
             0A044233000A120442330012\n"
        );
    }

    #[test]
    fn readers_without_a_usable_pinpad_report_none() {
        // No reader controls at all (the transport has no feature-request code): nothing sent.
        let mut card = scripted_card(ScriptedTransport::new());
        assert_eq!(card.pinpad().unwrap(), None);
        assert_eq!(card.stats().round_trips(), 0);
        assert!(matches!(
            card.verify_on_pinpad(30),
            Err(CardError::NoPinpad)
        ));
        assert!(matches!(
            card.change_pin_on_pinpad(30),
            Err(CardError::NoPinpad)
        ));

        // An empty list, or a list without VERIFY PIN DIRECT.
        for answer in ["", "07044233 0007 13044233 0013"] {
            let script = ScriptedTransport::new()
                .with_reader_controls()
                .expect_control(GET_FEATURES, "", answer);
            assert_eq!(scripted_card(script).pinpad().unwrap(), None, "{answer}");
        }

        // A reader that refuses the request (vpcd answers "not supported").
        let refused = TransportError::Backend {
            backend: "PC/SC",
            operation: "sending a reader control command",
            detail: "not supported".into(),
        };
        let script = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control_failure(GET_FEATURES, "", refused);
        let (mut card, trace) = traced(script);
        assert_eq!(card.pinpad().unwrap(), None);
        assert!(matches!(
            card.verify_on_pinpad(30),
            Err(CardError::NoPinpad)
        ));
        assert!(
            trace.text().contains("<<< no response: PC/SC error"),
            "{}",
            trace.text()
        );
        let error = CardError::NoPinpad.to_string();
        assert!(error.contains("typed on this computer"), "{error}");
    }

    #[test]
    fn a_malformed_feature_list_or_a_lost_card_is_an_error_not_a_missing_pinpad() {
        let script = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control(GET_FEATURES, "", "06 04 4233 0006 07");
        let error = scripted_card(script).pinpad().unwrap_err();
        assert!(matches!(
            error,
            CardError::Transport(TransportError::MalformedFeatures(
                quorum_protocol::apdu::FeatureError::Truncated { len: 7 }
            ))
        ));
        assert!(error.to_string().contains("driver is faulty"), "{error}");
        assert!(!error.to_string().contains("--"), "{error}");

        let script = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control_failure(GET_FEATURES, "", TransportError::CardRemoved);
        assert!(matches!(
            scripted_card(script).verify_on_pinpad(30),
            Err(CardError::Transport(TransportError::CardRemoved))
        ));
    }

    #[test]
    fn verify_on_pinpad_maps_every_reader_and_card_answer() {
        let (card, result) = verify_on_pinpad_answering("9000");
        result.unwrap();
        // The feature query is the reader's; the PIN entry carries VERIFY to the card.
        assert_eq!(card.stats().reader_queries, 1);
        assert_eq!(card.stats().controls, 1);
        assert_eq!(card.stats().round_trips(), 1);
        assert_eq!(card.stats().commands, 0);

        let (_, result) = verify_on_pinpad_answering("63C2");
        let error = result.unwrap_err();
        assert!(matches!(error, CardError::WrongPin { tries_left: 2 }));
        assert!(error.to_string().contains("2 tries left"), "{error}");

        let (_, result) = verify_on_pinpad_answering("63C0");
        assert!(matches!(result, Err(CardError::WrongPin { tries_left: 0 })));

        let (_, result) = verify_on_pinpad_answering("6983");
        assert!(matches!(result, Err(CardError::PinBlocked)));

        let (_, result) = verify_on_pinpad_answering("6401");
        let error = result.unwrap_err();
        assert!(matches!(error, CardError::PinpadCancelled));
        assert!(
            error
                .to_string()
                .starts_with("the PIN entry was cancelled on the reader"),
            "{error}"
        );
        assert!(error.to_string().contains("nothing was changed"), "{error}");

        let (_, result) = verify_on_pinpad_answering("6400");
        let error = result.unwrap_err();
        assert!(matches!(error, CardError::PinpadTimeout { seconds: 30 }));
        assert!(error.to_string().contains("within 30 seconds"), "{error}");

        let (_, result) = verify_on_pinpad_answering("6403");
        let error = result.unwrap_err();
        assert!(matches!(error, CardError::PinpadLength));
        assert!(error.to_string().contains("6 to 12 digits"), "{error}");

        let (_, result) = verify_on_pinpad_answering("6A80");
        let error = result.unwrap_err();
        assert!(matches!(
            error,
            CardError::PinpadBlockRejected { command: "VERIFY" }
        ));
        assert!(error.to_string().contains("no try was used"), "{error}");

        let (_, result) = verify_on_pinpad_answering("6B80");
        let error = result.unwrap_err();
        assert!(matches!(error, CardError::PinpadRefused));
        assert!(error.to_string().contains("nothing was sent"), "{error}");
        assert!(!error.to_string().contains("--"), "{error}");

        // A status word without a pinpad meaning goes through the common mapping.
        let (_, result) = verify_on_pinpad_answering("6F00");
        assert!(matches!(
            result,
            Err(CardError::UnexpectedStatus {
                command: "VERIFY",
                sw: StatusWord::Other(0x6F00)
            })
        ));

        // An answer that is not exactly a status word.
        let (_, result) = verify_on_pinpad_answering("019000");
        assert!(matches!(
            result,
            Err(CardError::MalformedResponse {
                command: "VERIFY",
                source: ParseError::WrongLength {
                    expected: 2,
                    got: 3,
                    ..
                }
            })
        ));
    }

    #[test]
    fn verify_on_pinpad_in_a_blank_card_names_the_state() {
        let script = pinpad_reader()
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6985")
            .expect(GET_STATUS, &status_answer(0));
        let error = scripted_card(script).verify_on_pinpad(30).unwrap_err();
        assert!(matches!(
            error,
            CardError::WrongState {
                command: "VERIFY",
                state: Some(LifeCycle::Blank)
            }
        ));
    }

    #[test]
    fn the_timeout_goes_into_the_structure_and_the_message() {
        let mut structure = unhex(VERIFY_STRUCTURE_30S);
        structure[0] = 0x00;
        let script =
            pinpad_reader().expect_control(VERIFY_DIRECT, &hex::encode_upper(&structure), "6400");
        let error = scripted_card(script).verify_on_pinpad(0).unwrap_err();
        assert!(matches!(error, CardError::PinpadTimeout { seconds: 0 }));
        assert!(
            error.to_string().contains("within the reader's time limit"),
            "{error}"
        );
    }

    #[test]
    fn change_pin_on_pinpad_maps_every_reader_and_card_answer() {
        change_on_pinpad_answering("9000").unwrap();

        let error = change_on_pinpad_answering("63C1").unwrap_err();
        assert!(matches!(error, CardError::WrongPin { tries_left: 1 }));

        let error = change_on_pinpad_answering("6402").unwrap_err();
        assert!(matches!(error, CardError::PinpadMismatch));
        assert!(error.to_string().contains("PIN was not changed"), "{error}");

        assert!(matches!(
            change_on_pinpad_answering("6401"),
            Err(CardError::PinpadCancelled)
        ));
        assert!(matches!(
            change_on_pinpad_answering("6400"),
            Err(CardError::PinpadTimeout { seconds: 30 })
        ));
        assert!(matches!(
            change_on_pinpad_answering("6403"),
            Err(CardError::PinpadLength)
        ));
        assert!(matches!(
            change_on_pinpad_answering("6983"),
            Err(CardError::PinBlocked)
        ));
        assert!(matches!(
            change_on_pinpad_answering("6A80"),
            Err(CardError::PinpadBlockRejected {
                command: "CHANGE REFERENCE DATA"
            })
        ));
    }

    #[test]
    fn a_pinpad_that_only_verifies_cannot_change_the_pin() {
        let script = ScriptedTransport::new()
            .with_reader_controls()
            .expect_control(GET_FEATURES, "", "06044233 0006")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "9000");
        let mut card = scripted_card(script);
        let error = card.change_pin_on_pinpad(30).unwrap_err();
        assert!(matches!(error, CardError::PinpadCannotChange));
        assert!(error.to_string().contains("nothing was changed"), "{error}");
        // Verifying still works on that reader.
        card.verify_on_pinpad(30).unwrap();
        assert_eq!((card.stats().reader_queries, card.stats().controls), (1, 1));
    }

    #[test]
    fn a_pinpad_session_traces_structures_and_status_words_only() {
        let sealed = [0xA5u8; 81];
        let script = chained(
            pinpad_reader()
                .expect(SELECT, "010007022000 9000")
                .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "9000"),
            GET_RECORD_SEALED,
            &sealed,
        );
        let (mut card, trace) = traced(script);
        assert!(card.pinpad().unwrap().is_some());
        card.select().unwrap();
        card.verify_on_pinpad(30).unwrap();
        assert_eq!(&card.get_record_sealed().unwrap()[..], &sealed[..]);
        let text = trace.text();
        let verify_line = format!(
            ">>> CONTROL 42330006 VERIFY PIN DIRECT {}",
            VERIFY_STRUCTURE_30S.replace(' ', "")
        );
        assert!(text.contains(&verify_line), "{text}");
        assert!(text.contains("<<< 9000\n"), "{text}");
        assert!(!text.contains("A5A5"), "{text}");
        let stats = card.stats();
        // SELECT and the feature query are apart: GET RECORD and the keypad's VERIFY remain.
        assert_eq!(
            (
                stats.commands,
                stats.controls,
                stats.round_trips(),
                stats.selects,
                stats.reader_queries
            ),
            (1, 1, 2, 1, 1)
        );
        assert!(
            stats.to_string().starts_with(
                "2 APDU round trips (1 commands + 0 GET RESPONSE + 1 PIN pad entries)"
            ),
            "{stats}"
        );
        assert_eq!(card.transport().exchanged(), 4);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_output_chain_is_reassembled_with_the_expected_round_trips(len in 1usize..9000) {
            let public: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let mut card = scripted_card(chained(ScriptedTransport::new(), GET_RECORD_PUBLIC, &public));
            prop_assert_eq!(card.get_record_public().unwrap(), public);
            let expected_continuations = len.saturating_sub(256).div_ceil(256) as u64;
            prop_assert_eq!(card.stats().commands, 1);
            prop_assert_eq!(card.stats().continuations, expected_continuations);
        }
    }
}

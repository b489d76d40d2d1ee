//! One pinpad reader: its card slot, its keypad and display, its control channel, and
//! what it does with SCardControl — answer the Part 10 feature queries and run secure
//! PIN verification and modification like a CCID pinpad.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::cable::Cable;
use crate::card_link::{CardLink, LinkError, Power};
use crate::control::ControlServer;
use crate::device_name::Ports;
use crate::features::{
    self, CM_IOCTL_GET_FEATURE_REQUEST, FEATURE_REQUEST_MIN_BUFFER, IOCTL_GET_TLV_PROPERTIES,
    IOCTL_IFD_PIN_PROPERTIES, IOCTL_MODIFY_PIN_DIRECT, IOCTL_VERIFY_PIN_DIRECT,
    WINDOWS_GET_FEATURE_REQUEST,
};
use crate::ifd::{
    ResponseCode, IFD_COMMUNICATION_ERROR, IFD_ERROR_INSUFFICIENT_BUFFER, IFD_ERROR_NOT_SUPPORTED,
    IFD_ICC_NOT_PRESENT, IFD_ICC_PRESENT, IFD_NOT_SUPPORTED, IFD_NO_SUCH_DEVICE,
};
use crate::keypad::{EntryEnd, EntryRules, Keypad, Outcome};
use crate::pin_block;
use crate::pin_structure::{self, PinFormat, Prompting};
use crate::secret::PinDigits;

/// How long a prompt waits when bTimerOut is 0 (the "reader default").
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The display's message table, by bMsgIndex.
pub const MESSAGES: [&str; 3] = ["enter PIN", "enter new PIN", "confirm new PIN"];

/// Which PIN a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The PIN to verify, or the current PIN of a change.
    Current,
    /// The new PIN.
    New,
    /// The new PIN again.
    Confirm,
}

impl Phase {
    /// What the display shows when the caller asks for the default messages (FF).
    fn default_message(self) -> &'static str {
        match self {
            Phase::Current => MESSAGES[0],
            Phase::New => MESSAGES[1],
            Phase::Confirm => MESSAGES[2],
        }
    }
}

/// A reader instance (one reader.conf entry).
pub struct Reader {
    ports: Ports,
    link: Arc<Mutex<CardLink>>,
    keypad: Arc<Keypad>,
    cable: Arc<Cable>,
    _control: ControlServer,
}

impl Reader {
    /// Opens both ports: the farm's card slot and the control channel.
    pub fn open(ports: Ports) -> io::Result<Reader> {
        let link = CardLink::listen(ports.card).map_err(|e| {
            io::Error::new(e.kind(), format!("card port 127.0.0.1:{}: {e}", ports.card))
        })?;
        let keypad = Arc::new(Keypad::new());
        let cable = Arc::new(Cable::new());
        let control = ControlServer::start(ports, Arc::clone(&keypad), Arc::clone(&cable))
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("control port 127.0.0.1:{}: {e}", ports.control),
                )
            })?;
        log(ports, "listening for the card farm and the control channel");
        Ok(Reader {
            ports,
            link: Arc::new(Mutex::new(link)),
            keypad,
            cable,
            _control: control,
        })
    }

    fn link(&self) -> MutexGuard<'_, CardLink> {
        self.link.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The keypad, for tests that drive a reader without the control channel.
    pub fn keypad(&self) -> &Keypad {
        &self.keypad
    }

    /// The reader's cable, for tests that drive a reader without the control channel.
    pub fn cable(&self) -> &Cable {
        &self.cable
    }

    /// IFDHICCPresence's answer: a card, no card, or no reader at all while unplugged
    /// (then the slot is not even looked at, as a CCID driver cannot reach it).
    pub fn presence(&self) -> ResponseCode {
        if !self.cable.plugged() {
            IFD_NO_SUCH_DEVICE
        } else if self.poll_presence() {
            IFD_ICC_PRESENT
        } else {
            IFD_ICC_NOT_PRESENT
        }
    }

    /// pcscd's presence poll.
    pub fn poll_presence(&self) -> bool {
        let mut link = self.link();
        let before = link.has_card();
        let present = link.poll_presence();
        if present != before {
            log(
                self.ports,
                if present {
                    "presence: a card was inserted"
                } else {
                    "presence: the card is gone"
                },
            );
        }
        present
    }

    /// The ATR of the card in the reader, empty when there is none.
    pub fn atr(&self) -> Vec<u8> {
        self.link().atr().to_vec()
    }

    /// Powers the card up or down, or resets it; returns the ATR.
    pub fn power(&self, action: Power) -> Result<Vec<u8>, LinkError> {
        if !self.cable.plugged() {
            return Err(LinkError::Unplugged);
        }
        self.link().power(action)
    }

    /// Sends an APDU from SCardTransmit to the card.
    pub fn transmit(&self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        if !self.cable.plugged() {
            return Err(LinkError::Unplugged);
        }
        self.link().transmit(apdu)
    }

    /// SCardControl: the answer bytes, or the IFD code pcscd turns into an error.
    /// `capacity` is the size of the caller's receive buffer.
    pub fn control(&self, code: u32, tx: &[u8], capacity: usize) -> Result<Vec<u8>, ResponseCode> {
        if !self.cable.plugged() {
            return Err(IFD_NO_SUCH_DEVICE);
        }
        let fits = |answer: Vec<u8>, need: usize| {
            if capacity < need {
                Err(IFD_ERROR_INSUFFICIENT_BUFFER)
            } else {
                Ok(answer)
            }
        };
        match code {
            CM_IOCTL_GET_FEATURE_REQUEST | WINDOWS_GET_FEATURE_REQUEST => {
                fits(features::feature_list(), FEATURE_REQUEST_MIN_BUFFER)
            }
            IOCTL_IFD_PIN_PROPERTIES => {
                let p = features::pin_properties();
                let n = p.len();
                fits(p, n)
            }
            IOCTL_GET_TLV_PROPERTIES => {
                let p = features::tlv_properties();
                let n = p.len();
                fits(p, n)
            }
            IOCTL_VERIFY_PIN_DIRECT => self.verify(tx, capacity),
            IOCTL_MODIFY_PIN_DIRECT => self.modify(tx, capacity),
            _ => Err(IFD_ERROR_NOT_SUPPORTED),
        }
    }

    fn verify(&self, tx: &[u8], capacity: usize) -> Result<Vec<u8>, ResponseCode> {
        let req =
            pin_structure::parse_verify(tx).map_err(|e| self.refuse("verify", &e.to_string()))?;
        self.secure(
            "verify",
            &req.format,
            &req.prompting,
            &req.apdu,
            &[Phase::Current],
            &[0],
            capacity,
        )
    }

    fn modify(&self, tx: &[u8], capacity: usize) -> Result<Vec<u8>, ResponseCode> {
        let req =
            pin_structure::parse_modify(tx).map_err(|e| self.refuse("modify", &e.to_string()))?;
        let mut phases = Vec::new();
        let mut offsets = Vec::new();
        if req.enter_old {
            phases.push(Phase::Current);
            offsets.push(usize::from(req.offset_old));
        }
        phases.push(Phase::New);
        offsets.push(usize::from(req.offset_new));
        if req.confirm_new {
            phases.push(Phase::Confirm);
        }
        self.secure(
            "modify",
            &req.format,
            &req.prompting,
            &req.apdu,
            &phases,
            &offsets,
            capacity,
        )
    }

    /// The driver refused the structure: IFD_NOT_SUPPORTED, as the CCID driver does.
    fn refuse(&self, op: &str, why: &str) -> ResponseCode {
        log(self.ports, &format!("{op}: structure refused: {why}"));
        self.keypad.set_outcome(Outcome::Rejected(why.to_owned()));
        IFD_NOT_SUPPORTED
    }

    /// Runs the prompts, builds the APDU and sends it: what the reader firmware does
    /// with PC_to_RDR_Secure.
    #[allow(clippy::too_many_arguments)]
    fn secure(
        &self,
        op: &str,
        format: &PinFormat,
        prompting: &Prompting,
        apdu: &[u8],
        phases: &[Phase],
        offsets: &[usize],
        capacity: usize,
    ) -> Result<Vec<u8>, ResponseCode> {
        let plan = pin_block::plan(format, apdu, offsets).map_err(|e| {
            // A CCID reader rejects the command with a slot error; the CCID driver
            // reports that as a communication error.
            log(
                self.ports,
                &format!("{op}: the reader refuses the format: {e}"),
            );
            self.keypad.set_outcome(Outcome::Rejected(e.to_string()));
            IFD_COMMUNICATION_ERROR
        })?;
        if capacity < 2 {
            self.keypad.set_outcome(Outcome::Rejected(format!(
                "a {capacity}-byte response buffer cannot hold a status word"
            )));
            return Err(IFD_ERROR_INSUFFICIENT_BUFFER);
        }
        if !self.cable.plugged() {
            return Err(self.unplugged(op));
        }
        if !self.link().has_card() {
            self.keypad
                .set_outcome(Outcome::CardError("no card in the reader".to_owned()));
            return Err(IFD_ICC_NOT_PRESENT);
        }

        let rules = EntryRules {
            timeout: match prompting.timeout_seconds {
                0 => DEFAULT_TIMEOUT,
                s => Duration::from_secs(u64::from(s)),
            },
            validation: prompting.validation,
            min_digits: format.min_digits,
            max_digits: format.max_digits,
        };
        log(
            self.ports,
            &format!(
                "{op}: waiting for the custodian ({} prompt(s), {} s each)",
                phases.len(),
                rules.timeout.as_secs()
            ),
        );
        let mut entered: Vec<(Phase, PinDigits)> = Vec::with_capacity(phases.len());
        let unplugged = || !self.cable.plugged();
        for (i, phase) in phases.iter().enumerate() {
            let message = message_for(prompting, i, *phase);
            match self
                .keypad
                .read_pin_unless(message.as_deref(), &rules, &unplugged)
            {
                Ok(pin) => entered.push((*phase, pin)),
                Err(end) => return self.entry_failed(op, end),
            }
        }
        let new = entered
            .iter()
            .find(|(p, _)| *p == Phase::New)
            .map(|(_, pin)| pin);
        let confirm = entered
            .iter()
            .find(|(p, _)| *p == Phase::Confirm)
            .map(|(_, pin)| pin);
        if let (Some(new), Some(confirm)) = (new, confirm) {
            if !new.same_as(confirm) {
                log(
                    self.ports,
                    &format!("{op}: the new PIN and its confirmation differ: 64 02"),
                );
                self.keypad.set_outcome(Outcome::Mismatch);
                return Ok(vec![0x64, 0x02]);
            }
        }
        let pins: Vec<&PinDigits> = entered
            .iter()
            .filter(|(p, _)| *p != Phase::Confirm)
            .map(|(_, pin)| pin)
            .collect();
        let command = plan.build(&pins).map_err(|e| {
            log(self.ports, &format!("{op}: cannot format the PIN: {e}"));
            self.keypad.set_outcome(Outcome::Rejected(e.to_string()));
            IFD_COMMUNICATION_ERROR
        })?;
        drop(entered);

        let response = self.transmit(command.as_slice()).map_err(|e| match e {
            LinkError::Unplugged => self.unplugged(op),
            e => {
                log(self.ports, &format!("{op}: {e}"));
                self.keypad.set_outcome(Outcome::CardError(e.to_string()));
                match e {
                    LinkError::NoCard => IFD_ICC_NOT_PRESENT,
                    _ => IFD_COMMUNICATION_ERROR,
                }
            }
        })?;
        drop(command);
        let sw = u16::from_be_bytes([response[response.len() - 2], response[response.len() - 1]]);
        log(
            self.ports,
            &format!("{op}: PIN sent, the card answered {sw:04X}"),
        );
        self.keypad.set_outcome(Outcome::Sent(sw));
        if response.len() > capacity {
            return Err(IFD_ERROR_INSUFFICIENT_BUFFER);
        }
        Ok(response)
    }

    /// A prompt ended without a PIN: the status word a CCID pinpad returns instead of
    /// the card's, or no answer at all when the reader was unplugged meanwhile.
    fn entry_failed(&self, op: &str, end: EntryEnd) -> Result<Vec<u8>, ResponseCode> {
        let (outcome, sw2, what) = match end {
            EntryEnd::Timeout => (Outcome::Timeout, 0x00, "timed out"),
            EntryEnd::Cancelled => (Outcome::Cancelled, 0x01, "cancelled"),
            EntryEnd::LengthOutOfRange => {
                (Outcome::LengthOutOfRange, 0x03, "PIN length out of range")
            }
            EntryEnd::Stopped => return Err(self.unplugged(op)),
        };
        log(self.ports, &format!("{op}: entry {what}: 64 {sw2:02X}"));
        self.keypad.set_outcome(outcome);
        Ok(vec![0x64, sw2])
    }

    /// A PIN operation met an unplugged reader: nothing reached the card.
    fn unplugged(&self, op: &str) -> ResponseCode {
        log(
            self.ports,
            &format!("{op}: the reader is unplugged: IFD_NO_SUCH_DEVICE"),
        );
        self.keypad.set_outcome(Outcome::Unplugged);
        IFD_NO_SUCH_DEVICE
    }
}

/// The display text for prompt number `index` of an operation: none (bNumberMessage 0),
/// the default for the phase (FF), or bMsgIndex(index+1) looked up in `MESSAGES` when
/// the caller asked for at least index+1 messages.
fn message_for(prompting: &Prompting, index: usize, phase: Phase) -> Option<String> {
    match prompting.number_message {
        0 => None,
        0xFF => Some(phase.default_message().to_owned()),
        n if index < usize::from(n) => {
            let msg = prompting.msg_index.get(index).copied().unwrap_or(0);
            Some(
                MESSAGES
                    .get(usize::from(msg))
                    .map(|m| (*m).to_owned())
                    .unwrap_or_else(|| format!("message {msg:02X}")),
            )
        }
        _ => None,
    }
}

/// Logs to pcscd's standard error (the sim's pcscd.log). Never called with PIN digits,
/// PIN lengths or APDUs that carry a PIN.
pub fn log(ports: Ports, message: &str) {
    eprintln!("quorum-pinpad {}: {message}", ports.card);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{self, GET_ATR};
    use crate::keypad::parse_keys;
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::thread;
    use std::time::Instant;

    fn free_port() -> u16 {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port()
    }

    /// A reader on free ports with a fake card in it that answers every APDU with
    /// 90 00 and reports the APDUs it received.
    fn reader_with_card() -> (Reader, mpsc::Receiver<Vec<u8>>) {
        let ports = Ports {
            card: free_port(),
            control: free_port(),
        };
        let reader = Reader::open(ports).expect("open");
        let (seen, apdus) = mpsc::channel();
        thread::spawn(move || {
            let mut conn = TcpStream::connect((Ipv4Addr::LOCALHOST, ports.card)).expect("connect");
            while let Ok(Some(frame)) = frames::read_frame(&mut conn) {
                match frame.as_slice() {
                    [GET_ATR] => frames::write_frame(&mut conn, &[0x3B, 0x00]).expect("atr"),
                    [_] => {}
                    apdu => {
                        let _ = seen.send(apdu.to_vec());
                        frames::write_frame(&mut conn, &[0x90, 0x00]).expect("sw");
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        while !reader.poll_presence() {
            assert!(Instant::now() < deadline, "the fake card never arrived");
            thread::sleep(Duration::from_millis(10));
        }
        (reader, apdus)
    }

    fn type_keys(reader: &Reader, words: &str) {
        reader
            .keypad()
            .queue(&parse_keys(words.split_whitespace()).expect("keys"));
    }

    /// quorum's VERIFY structure: ASCII, left, 12-byte block, 6..12 digits, 1 s timeout.
    fn quorum_verify() -> Vec<u8> {
        let mut tx = vec![
            0x01, 0x00, 0x82, 0x0C, 0x00, 0x0C, 0x06, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00,
            0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x81, 0x0C,
        ];
        tx.extend_from_slice(&[0xFF; 12]);
        tx
    }

    /// quorum's CHANGE REFERENCE DATA: old block at 0, new at 12, old + new twice.
    fn quorum_modify() -> Vec<u8> {
        let mut tx = vec![
            0x01, 0x00, 0x82, 0x0C, 0x00, 0x00, 0x0C, 0x0C, 0x06, 0x03, 0x02, 0xFF, 0x09, 0x04,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x81,
            0x18,
        ];
        tx.extend_from_slice(&[0xFF; 24]);
        tx
    }

    #[test]
    fn verify_sends_the_formatted_pin_and_returns_the_card_answer() {
        let (reader, apdus) = reader_with_card();
        type_keys(&reader, "123456 ok");
        let answer = reader
            .control(IOCTL_VERIFY_PIN_DIRECT, &quorum_verify(), 258)
            .expect("verify");
        assert_eq!(answer, [0x90, 0x00]);
        let mut expected = vec![
            0x00, 0x20, 0x00, 0x81, 0x0C, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36,
        ];
        expected.extend_from_slice(&[0xFF; 6]);
        assert_eq!(
            apdus.recv_timeout(Duration::from_secs(5)).expect("apdu"),
            expected
        );
        assert_eq!(reader.keypad().display_log(), ["enter PIN"]);
        assert_eq!(reader.keypad().outcome(), Outcome::Sent(0x9000));
    }

    #[test]
    fn an_unplugged_reader_answers_no_such_device_and_comes_back_with_its_card() {
        let (reader, apdus) = reader_with_card();
        assert!(reader.cable().unplug());
        assert_eq!(reader.presence(), IFD_NO_SUCH_DEVICE);
        assert!(matches!(
            reader.transmit(&[0x00, 0xA4, 0x04, 0x00]),
            Err(LinkError::Unplugged)
        ));
        assert!(matches!(reader.power(Power::Up), Err(LinkError::Unplugged)));
        assert_eq!(
            reader.control(CM_IOCTL_GET_FEATURE_REQUEST, &[], 258),
            Err(IFD_NO_SUCH_DEVICE)
        );
        type_keys(&reader, "123456 ok");
        assert_eq!(
            reader.control(IOCTL_VERIFY_PIN_DIRECT, &quorum_verify(), 258),
            Err(IFD_NO_SUCH_DEVICE)
        );
        assert!(
            reader.keypad().display_log().is_empty(),
            "a dark pad prompts for nothing"
        );
        assert!(apdus.try_recv().is_err(), "no APDU reached the card");

        // Plugged back: the card is still in, answers, and the queued keys still count.
        assert!(reader.cable().plug());
        assert_eq!(reader.presence(), IFD_ICC_PRESENT);
        assert_eq!(
            reader.transmit(&[0x00, 0xA4, 0x04, 0x00]).expect("apdu"),
            [0x90, 0x00]
        );
        assert_eq!(
            apdus.recv_timeout(Duration::from_secs(5)).expect("apdu"),
            [0x00, 0xA4, 0x04, 0x00]
        );
        assert_eq!(
            reader.control(IOCTL_VERIFY_PIN_DIRECT, &quorum_verify(), 258),
            Ok(vec![0x90, 0x00])
        );
    }

    #[test]
    fn unplugging_during_a_prompt_ends_it_at_once_and_sends_nothing() {
        let (reader, apdus) = reader_with_card();
        let reader = Arc::new(reader);
        let mut slow = quorum_verify();
        slow[0] = 20; // bTimerOut: 20 s
        let verify = {
            let reader = Arc::clone(&reader);
            thread::spawn(move || reader.control(IOCTL_VERIFY_PIN_DIRECT, &slow, 258))
        };
        while !reader.keypad().status().0 {
            thread::sleep(Duration::from_millis(5));
        }
        type_keys(&reader, "123");
        let start = Instant::now();
        let ports = reader.ports;
        assert_eq!(
            crate::control::answer("unplug", ports, reader.keypad(), reader.cable()),
            ["ok unplugged"]
        );
        assert_eq!(verify.join().expect("verify"), Err(IFD_NO_SUCH_DEVICE));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(reader.keypad().outcome(), Outcome::Unplugged);
        assert_eq!(reader.keypad().display_log(), ["enter PIN"]);
        assert!(apdus.try_recv().is_err(), "no APDU reached the card");
    }

    #[test]
    fn timeout_cancel_and_length_answer_64xx_without_reaching_the_card() {
        let (reader, apdus) = reader_with_card();
        let start = Instant::now();
        let answer = reader.control(IOCTL_VERIFY_PIN_DIRECT, &quorum_verify(), 258);
        assert_eq!(answer, Ok(vec![0x64, 0x00]));
        assert!(start.elapsed() >= Duration::from_secs(1));
        assert_eq!(reader.keypad().outcome(), Outcome::Timeout);

        type_keys(&reader, "12 cancel");
        let answer = reader.control(IOCTL_VERIFY_PIN_DIRECT, &quorum_verify(), 258);
        assert_eq!(answer, Ok(vec![0x64, 0x01]));
        assert_eq!(reader.keypad().outcome(), Outcome::Cancelled);

        type_keys(&reader, "12345 ok");
        let answer = reader.control(IOCTL_VERIFY_PIN_DIRECT, &quorum_verify(), 258);
        assert_eq!(answer, Ok(vec![0x64, 0x03]));
        assert_eq!(reader.keypad().outcome(), Outcome::LengthOutOfRange);
        assert!(apdus.try_recv().is_err(), "no APDU reached the card");
    }

    #[test]
    fn modify_asks_three_times_and_catches_a_mismatch() {
        let (reader, apdus) = reader_with_card();
        type_keys(&reader, "123456 ok 654321 ok 654321 ok");
        let answer = reader
            .control(IOCTL_MODIFY_PIN_DIRECT, &quorum_modify(), 258)
            .expect("modify");
        assert_eq!(answer, [0x90, 0x00]);
        let apdu = apdus.recv_timeout(Duration::from_secs(5)).expect("apdu");
        assert_eq!(&apdu[..5], &[0x00, 0x24, 0x00, 0x81, 0x18]);
        assert_eq!(&apdu[5..11], b"123456");
        assert_eq!(&apdu[11..17], &[0xFF; 6]);
        assert_eq!(&apdu[17..23], b"654321");
        assert_eq!(
            reader.keypad().display_log(),
            ["enter PIN", "enter new PIN", "confirm new PIN"]
        );

        type_keys(&reader, "123456 ok 654321 ok 654320 ok");
        let answer = reader.control(IOCTL_MODIFY_PIN_DIRECT, &quorum_modify(), 258);
        assert_eq!(answer, Ok(vec![0x64, 0x02]));
        assert_eq!(reader.keypad().outcome(), Outcome::Mismatch);
        assert!(apdus.try_recv().is_err(), "no APDU reached the card");
    }

    #[test]
    fn structures_are_refused_as_the_ccid_driver_and_firmware_do() {
        let (reader, _apdus) = reader_with_card();
        // Wrong ulDataLength: the driver says not supported.
        let mut bad = quorum_verify();
        bad[15] = 0x10;
        assert_eq!(
            reader.control(IOCTL_VERIFY_PIN_DIRECT, &bad, 258),
            Err(IFD_NOT_SUPPORTED)
        );
        assert!(matches!(reader.keypad().outcome(), Outcome::Rejected(_)));
        // A frame too small for the maximum: the reader refuses the command.
        let mut bad = quorum_verify();
        bad[5] = 13;
        assert_eq!(
            reader.control(IOCTL_VERIFY_PIN_DIRECT, &bad, 258),
            Err(IFD_COMMUNICATION_ERROR)
        );
        // No room for a status word.
        assert_eq!(
            reader.control(IOCTL_VERIFY_PIN_DIRECT, &quorum_verify(), 1),
            Err(IFD_ERROR_INSUFFICIENT_BUFFER)
        );
        assert!(
            reader.keypad().display_log().is_empty(),
            "nothing was prompted"
        );
    }

    #[test]
    fn feature_queries_and_unknown_codes() {
        let (reader, _apdus) = reader_with_card();
        assert_eq!(
            reader.control(CM_IOCTL_GET_FEATURE_REQUEST, &[], 258),
            Ok(features::feature_list())
        );
        assert_eq!(
            reader.control(CM_IOCTL_GET_FEATURE_REQUEST, &[], 24),
            Err(IFD_ERROR_INSUFFICIENT_BUFFER)
        );
        assert_eq!(
            reader.control(IOCTL_IFD_PIN_PROPERTIES, &[], 4),
            Ok(features::pin_properties())
        );
        assert_eq!(
            reader.control(IOCTL_GET_TLV_PROPERTIES, &[], 258),
            Ok(features::tlv_properties())
        );
        assert_eq!(
            reader.control(features::scard_ctl_code(1), &[], 258),
            Err(IFD_ERROR_NOT_SUPPORTED)
        );
    }

    fn prompting(number: u8, idx: [u8; 3]) -> Prompting {
        Prompting {
            timeout_seconds: 0,
            validation: 2,
            number_message: number,
            msg_index: idx,
        }
    }

    #[test]
    fn no_messages_means_a_blank_display() {
        assert_eq!(
            message_for(&prompting(0, [0, 1, 2]), 0, Phase::Current),
            None
        );
    }

    #[test]
    fn ff_shows_the_default_message_of_each_phase() {
        let p = prompting(0xFF, [7, 7, 7]);
        assert_eq!(
            message_for(&p, 0, Phase::Current).as_deref(),
            Some("enter PIN")
        );
        assert_eq!(
            message_for(&p, 1, Phase::New).as_deref(),
            Some("enter new PIN")
        );
        assert_eq!(
            message_for(&p, 2, Phase::Confirm).as_deref(),
            Some("confirm new PIN")
        );
    }

    #[test]
    fn numbered_messages_come_from_the_table_in_prompt_order() {
        let p = prompting(3, [0, 1, 2]);
        assert_eq!(
            message_for(&p, 0, Phase::Current).as_deref(),
            Some("enter PIN")
        );
        assert_eq!(
            message_for(&p, 1, Phase::New).as_deref(),
            Some("enter new PIN")
        );
        assert_eq!(
            message_for(&p, 2, Phase::Confirm).as_deref(),
            Some("confirm new PIN")
        );
        // Fewer messages than prompts: the later prompts show nothing.
        let p = prompting(1, [0, 1, 2]);
        assert_eq!(message_for(&p, 1, Phase::Confirm), None);
        // An index outside the table is shown by number.
        let p = prompting(1, [9, 0, 0]);
        assert_eq!(
            message_for(&p, 0, Phase::Current).as_deref(),
            Some("message 09")
        );
    }
}

//! A scripted transport for unit tests: a list of expected command → response pairs (and
//! reader control exchanges) that fails the test on any command it did not expect, and on
//! any step left unused.

use std::collections::VecDeque;

use zeroize::Zeroizing;

use super::{RawResponse, Transport, TransportError};

/// CM_IOCTL_GET_FEATURE_REQUEST as pcsc-lite numbers it: SCARD_CTL_CODE(3400).
pub const PCSC_LITE_FEATURE_REQUEST: u32 = 0x4200_0D48;

enum Step {
    Exchange {
        command: Vec<u8>,
        reply: Result<Vec<u8>, TransportError>,
    },
    Control {
        code: u32,
        input: Vec<u8>,
        reply: Result<Vec<u8>, TransportError>,
    },
    Reconnect,
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::Exchange { command, .. } => format!("command {}", hex::encode_upper(command)),
            Step::Control { code, input, .. } => {
                format!("control {code:08X} {}", hex::encode_upper(input))
            }
            Step::Reconnect => "a reconnect".to_owned(),
        }
    }
}

/// Plays a fixed conversation with a card; panics (failing the test) on any deviation.
pub struct ScriptedTransport {
    steps: VecDeque<Step>,
    exchanged: usize,
    feature_request: Option<u32>,
}

/// Hex with optional spaces, for readable scripts.
pub fn unhex(text: &str) -> Vec<u8> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).unwrap_or_else(|e| panic!("bad hex in script {text:?}: {e}"))
}

/// pcsc-lite's CM_IOCTL_GET_FEATURE_REQUEST.
pub const GET_FEATURES: u32 = 0x4200_0D48;
/// FEATURE_VERIFY_PIN_DIRECT's control code on the virtual pinpad.
pub const VERIFY_DIRECT: u32 = 0x4233_0006;
/// FEATURE_MODIFY_PIN_DIRECT's control code on the virtual pinpad.
pub const MODIFY_DIRECT: u32 = 0x4233_0007;
/// A PIN pad reader's feature list: VERIFY, MODIFY, IFD_PIN_PROPERTIES, GET_TLV_PROPERTIES.
pub const PINPAD_FEATURES: &str = "06044233 0006 07044233 0007 0A044233 000A 12044233 0012";
/// PIN_VERIFY_STRUCTURE for quorum with a 30 s timeout, written out field by field.
pub const VERIFY_STRUCTURE_30S: &str = "1E 00 82 0C 00 0C06 02 01 0904 00 000000 11000000 \
     00200081 0C FFFFFFFFFFFFFFFFFFFFFFFF";

/// A PIN pad reader whose feature list is asked for first.
pub fn pinpad_reader() -> ScriptedTransport {
    ScriptedTransport::new()
        .with_reader_controls()
        .expect_control(GET_FEATURES, "", PINPAD_FEATURES)
}

impl Default for ScriptedTransport {
    fn default() -> Self {
        ScriptedTransport::new()
    }
}

impl ScriptedTransport {
    /// An empty script.
    pub fn new() -> Self {
        ScriptedTransport {
            steps: VecDeque::new(),
            exchanged: 0,
            feature_request: None,
        }
    }

    /// Behaves like a PC/SC reader connection: it has the pcsc-lite feature-request code.
    pub fn with_reader_controls(mut self) -> Self {
        self.feature_request = Some(PCSC_LITE_FEATURE_REQUEST);
        self
    }

    /// Expects a control command `code` with `input` (hex) next and answers `output` (hex).
    pub fn expect_control(mut self, code: u32, input: &str, output: &str) -> Self {
        self.steps.push_back(Step::Control {
            code,
            input: unhex(input),
            reply: Ok(unhex(output)),
        });
        self
    }

    /// Expects a control command `code` with `input` (hex) next and fails it.
    pub fn expect_control_failure(mut self, code: u32, input: &str, error: TransportError) -> Self {
        self.steps.push_back(Step::Control {
            code,
            input: unhex(input),
            reply: Err(error),
        });
        self
    }

    /// Expects `command` (hex) next and answers `response` (hex, data ‖ SW).
    pub fn expect(self, command: &str, response: &str) -> Self {
        self.expect_bytes(unhex(command), unhex(response))
    }

    /// Expects `command` next and answers `response` (data ‖ SW).
    pub fn expect_bytes(mut self, command: Vec<u8>, response: Vec<u8>) -> Self {
        self.steps.push_back(Step::Exchange {
            command,
            reply: Ok(response),
        });
        self
    }

    /// Expects `command` (hex) next and fails it with a transport error.
    pub fn expect_failure(mut self, command: &str, error: TransportError) -> Self {
        self.steps.push_back(Step::Exchange {
            command: unhex(command),
            reply: Err(error),
        });
        self
    }

    /// Expects a reconnect next.
    pub fn expect_reconnect(mut self) -> Self {
        self.steps.push_back(Step::Reconnect);
        self
    }

    /// How many command and control exchanges have been played.
    pub fn exchanged(&self) -> usize {
        self.exchanged
    }
}

impl Transport for ScriptedTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        let got = hex::encode_upper(command);
        match self.steps.pop_front() {
            Some(Step::Exchange {
                command: want,
                reply,
            }) => {
                assert_eq!(
                    got,
                    hex::encode_upper(&want),
                    "exchange {} sent an unexpected command",
                    self.exchanged
                );
                self.exchanged += 1;
                RawResponse::from_apdu(&reply?)
            }
            Some(other) => panic!("expected {}, got command {got}", other.describe()),
            None => panic!("unexpected command {got}: the script is finished"),
        }
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        match self.steps.pop_front() {
            Some(Step::Reconnect) => Ok(()),
            Some(other) => panic!(
                "unexpected reconnect: the script expects {}",
                other.describe()
            ),
            None => panic!("unexpected reconnect: the script is finished"),
        }
    }

    fn control(&mut self, code: u32, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        let got = format!("control {code:08X} {}", hex::encode_upper(input));
        match self.steps.pop_front() {
            Some(Step::Control {
                code: want_code,
                input: want_input,
                reply,
            }) => {
                assert_eq!(
                    got,
                    format!("control {want_code:08X} {}", hex::encode_upper(want_input)),
                    "exchange {} sent an unexpected control command",
                    self.exchanged
                );
                self.exchanged += 1;
                reply.map(Zeroizing::new)
            }
            Some(other) => panic!("expected {}, got {got}", other.describe()),
            None => panic!("unexpected {got}: the script is finished"),
        }
    }

    fn feature_request_code(&self) -> Option<u32> {
        self.feature_request
    }
}

impl Drop for ScriptedTransport {
    fn drop(&mut self) {
        if !std::thread::panicking() && !self.steps.is_empty() {
            panic!("{} scripted step(s) were never played", self.steps.len());
        }
    }
}

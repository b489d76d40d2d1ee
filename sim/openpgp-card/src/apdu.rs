//! The card's transport layer around opcard: ISO 7816 command chaining in, 61xx output
//! chaining (GET RESPONSE) out, and the answer to reset. opcard itself wants whole
//! commands and writes whole responses.

use iso7816::command::{Command, CommandView};
use iso7816::Status;

/// Largest command APDU, command data after chaining, and response data: what opcard's
/// extended length information (DO 7F66) announces, 7609 bytes, as a Nitrokey 3 does.
/// opcard checks no length of its own for private-use DOs 0103 and 0104, so this is
/// their limit too.
pub const MAX_MESSAGE: usize = 7609;

/// Largest response chunk of a short command (Le = 00 means 256).
const SHORT_RESPONSE: usize = 256;

const INS_GET_RESPONSE: u8 = 0xC0;

/// Historical bytes as opcard answers them in DO 5F52 (§ 6 of the OpenPGP card spec:
/// category 00, card capabilities 73 C0 01 60 (command chaining, extended Lc/Le),
/// status: life cycle 05 (operational), 90 00).
const HISTORICAL_BYTES: [u8; 10] = [0x00, 0x31, 0xF5, 0x73, 0xC0, 0x01, 0x60, 0x05, 0x90, 0x00];

/// The answer to reset: T=1 only, IFSC 254, then the historical bytes and the check byte.
pub fn atr() -> Vec<u8> {
    let k = u8::try_from(HISTORICAL_BYTES.len()).expect("at most 15 historical bytes");
    // TS, T0 (TD1 follows, K historical bytes), TD1 (TD2 follows, T=1),
    // TD2 (TA3 and TB3 follow, T=1), TA3 (IFSC 254), TB3 (BWI 4, CWI 5).
    let mut atr = vec![0x3B, 0x80 | k, 0x81, 0x31, 0xFE, 0x45];
    atr.extend_from_slice(&HISTORICAL_BYTES);
    let check = atr[1..].iter().fold(0u8, |x, b| x ^ b);
    atr.push(check);
    atr
}

/// Something that runs one complete command APDU: opcard, or a stand-in in tests.
pub trait Application {
    fn handle(
        &mut self,
        command: CommandView<'_>,
        reply: &mut heapless::VecView<u8>,
    ) -> Result<(), Status>;
    fn reset(&mut self);
}

impl<C: opcard::Client> Application for opcard::Card<C> {
    fn handle(
        &mut self,
        command: CommandView<'_>,
        reply: &mut heapless::VecView<u8>,
    ) -> Result<(), Status> {
        opcard::Card::handle(self, command, reply)
    }

    fn reset(&mut self) {
        opcard::Card::reset(self)
    }
}

/// An application behind the card's transport layer.
pub struct Transport<A> {
    app: A,
    /// The chained command received so far.
    chain: Option<Box<Command<MAX_MESSAGE>>>,
    /// Response bytes not yet fetched with GET RESPONSE.
    output: Vec<u8>,
}

impl<A: Application> Transport<A> {
    pub fn new(app: A) -> Self {
        Transport {
            app,
            chain: None,
            output: Vec::new(),
        }
    }

    /// Power off, power on or reset: the application forgets its session (PINs
    /// verified, selection) and the transport its half-done exchanges.
    pub fn reset(&mut self) {
        self.chain = None;
        self.output.clear();
        self.app.reset();
    }

    /// Answers one command APDU with one response APDU (data then SW1 SW2).
    pub fn execute(&mut self, apdu: &[u8]) -> Vec<u8> {
        if apdu.len() > MAX_MESSAGE {
            self.chain = None;
            self.output.clear();
            return status_only(Status::WrongLength);
        }
        let command = match CommandView::try_from(apdu) {
            Ok(c) => c,
            Err(_) => {
                self.chain = None;
                self.output.clear();
                return status_only(Status::WrongLength);
            }
        };
        if command.instruction() == INS_GET_RESPONSE.into() && self.chain.is_none() {
            return self.get_response(command.expected());
        }
        self.output.clear();
        if command.class().chain().not_the_last() {
            return status_only(self.add_to_chain(command));
        }
        match self.chain.take() {
            None => self.run(command),
            Some(mut whole) => {
                if whole.instruction() != command.instruction() {
                    return status_only(Status::CommandChainingNotSupported);
                }
                if whole.extend_from_command_view(command).is_err() {
                    return status_only(Status::WrongLength);
                }
                self.run(whole.as_view())
            }
        }
    }

    fn add_to_chain(&mut self, command: CommandView<'_>) -> Status {
        match &mut self.chain {
            Some(whole) if whole.instruction() == command.instruction() => {
                if whole.extend_from_command_view(command).is_err() {
                    self.chain = None;
                    return Status::WrongLength;
                }
            }
            _ => match command.to_owned::<MAX_MESSAGE>() {
                Ok(first) => self.chain = Some(Box::new(first)),
                Err(_) => {
                    self.chain = None;
                    return Status::WrongLength;
                }
            },
        }
        Status::Success
    }

    fn run(&mut self, command: CommandView<'_>) -> Vec<u8> {
        let mut reply = heapless::Vec::<u8, MAX_MESSAGE>::new();
        let status = match self.app.handle(command, reply.as_mut_view()) {
            Ok(()) => Status::Success,
            Err(status) => status,
        };
        if status != Status::Success {
            // An error carries no data.
            return status_only(status);
        }
        let limit = if command.extended {
            MAX_MESSAGE
        } else {
            SHORT_RESPONSE
        };
        self.output = reply.to_vec();
        self.next_chunk(limit)
    }

    fn get_response(&mut self, expected: usize) -> Vec<u8> {
        if self.output.is_empty() {
            return status_only(Status::ConditionsOfUseNotSatisfied);
        }
        let limit = match expected {
            0 => SHORT_RESPONSE,
            n => n.min(MAX_MESSAGE),
        };
        self.next_chunk(limit)
    }

    /// Up to `limit` bytes of the pending output, then 9000 or 61xx (xx = bytes left,
    /// 00 for 256 or more).
    fn next_chunk(&mut self, limit: usize) -> Vec<u8> {
        let take = self.output.len().min(limit);
        let mut response: Vec<u8> = self.output.drain(..take).collect();
        match self.output.len() {
            0 => response.extend_from_slice(&[0x90, 0x00]),
            left => response.extend_from_slice(&[0x61, u8::try_from(left).unwrap_or(0)]),
        }
        response
    }
}

fn status_only(status: Status) -> Vec<u8> {
    <[u8; 2]>::from(status).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every command with its own data repeated `times` times, and counts resets.
    struct Echo {
        times: usize,
        resets: usize,
        seen: Vec<Vec<u8>>,
    }

    impl Application for Echo {
        fn handle(
            &mut self,
            command: CommandView<'_>,
            reply: &mut heapless::VecView<u8>,
        ) -> Result<(), Status> {
            self.seen.push(command.data().to_vec());
            if command.instruction() == 0xEEu8.into() {
                return Err(Status::SecurityStatusNotSatisfied);
            }
            for _ in 0..self.times {
                reply
                    .extend_from_slice(command.data())
                    .map_err(|_| Status::NotEnoughMemory)?;
            }
            Ok(())
        }

        fn reset(&mut self) {
            self.resets += 1;
        }
    }

    fn echo(times: usize) -> Transport<Echo> {
        Transport::new(Echo {
            times,
            resets: 0,
            seen: Vec::new(),
        })
    }

    fn short(ins: u8, data: &[u8]) -> Vec<u8> {
        let mut apdu = vec![0x00, ins, 0x00, 0x00, u8::try_from(data.len()).unwrap()];
        apdu.extend_from_slice(data);
        apdu.push(0x00);
        apdu
    }

    #[test]
    fn atr_check_byte_makes_the_xor_zero() {
        let atr = atr();
        assert_eq!(atr[0], 0x3B);
        assert_eq!(atr[1] & 0x0F, 10);
        assert_eq!(atr[1..].iter().fold(0u8, |x, b| x ^ b), 0);
        assert_eq!(&atr[6..16], &HISTORICAL_BYTES);
    }

    #[test]
    fn a_short_answer_comes_whole() {
        let mut card = echo(1);
        assert_eq!(
            card.execute(&short(0x10, &[1, 2, 3])),
            vec![1, 2, 3, 0x90, 0x00]
        );
    }

    #[test]
    fn a_long_answer_comes_through_get_response() {
        let mut card = echo(3);
        let data: Vec<u8> = (0..200).map(|i| i as u8).collect();
        let first = card.execute(&short(0x10, &data));
        assert_eq!(first.len(), 256 + 2);
        // 344 bytes left: 61 00 says "256 or more".
        assert_eq!(&first[256..], &[0x61, 0x00]);
        let second = card.execute(&[0x00, 0xC0, 0x00, 0x00, 0x00]);
        assert_eq!(second.len(), 258);
        assert_eq!(&second[256..], &[0x61, (600 - 512) as u8]);
        let third = card.execute(&[0x00, 0xC0, 0x00, 0x00, 0x58]);
        assert_eq!(third.len(), 88 + 2);
        assert_eq!(&third[88..], &[0x90, 0x00]);
        let mut all = first[..256].to_vec();
        all.extend_from_slice(&second[..256]);
        all.extend_from_slice(&third[..88]);
        let mut expected = data.clone();
        expected.extend_from_slice(&data);
        expected.extend_from_slice(&data);
        assert_eq!(all, expected);
        // Nothing left: GET RESPONSE is refused.
        assert_eq!(
            card.execute(&[0x00, 0xC0, 0x00, 0x00, 0x00]),
            vec![0x69, 0x85]
        );
    }

    #[test]
    fn an_extended_command_gets_its_answer_at_once() {
        let mut card = echo(3);
        let data = [7u8; 300];
        let mut apdu = vec![0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x2C];
        apdu.extend_from_slice(&data);
        apdu.extend_from_slice(&[0x00, 0x00]);
        let answer = card.execute(&apdu);
        assert_eq!(answer.len(), 900 + 2);
        assert_eq!(&answer[900..], &[0x90, 0x00]);
    }

    #[test]
    fn chained_commands_reach_the_application_as_one() {
        let mut card = echo(1);
        let mut first = short(0x10, &[1, 2]);
        first[0] = 0x10;
        assert_eq!(card.execute(&first), vec![0x90, 0x00]);
        assert!(card.app.seen.is_empty());
        assert_eq!(card.execute(&short(0x10, &[3])), vec![1, 2, 3, 0x90, 0x00]);
        assert_eq!(card.app.seen, vec![vec![1, 2, 3]]);
    }

    #[test]
    fn a_chain_broken_by_another_instruction_is_refused() {
        let mut card = echo(1);
        let mut first = short(0x10, &[1, 2]);
        first[0] = 0x10;
        card.execute(&first);
        assert_eq!(card.execute(&short(0x12, &[3])), vec![0x68, 0x84]);
        assert!(card.app.seen.is_empty());
        assert_eq!(card.execute(&short(0x12, &[4])), vec![4, 0x90, 0x00]);
    }

    #[test]
    fn errors_carry_no_data_and_reset_forgets_everything() {
        let mut card = echo(2);
        assert_eq!(card.execute(&short(0xEE, &[1])), vec![0x69, 0x82]);
        card.execute(&short(0x10, &[9u8; 200]));
        card.reset();
        assert_eq!(card.app.resets, 1);
        assert_eq!(
            card.execute(&[0x00, 0xC0, 0x00, 0x00, 0x00]),
            vec![0x69, 0x85]
        );
        assert_eq!(card.execute(&[0x00]), vec![0x67, 0x00]);
    }

    #[test]
    fn longer_commands_than_announced_are_refused() {
        let mut card = echo(1);
        let mut apdu = vec![0x00, 0x10, 0x00, 0x00, 0x00];
        let fits = MAX_MESSAGE - 7 - 2;
        apdu.extend_from_slice(&u16::try_from(fits).unwrap().to_be_bytes());
        apdu.extend_from_slice(&vec![1u8; fits]);
        apdu.extend_from_slice(&[0x00, 0x00]);
        assert_eq!(apdu.len(), MAX_MESSAGE);
        assert_eq!(&card.execute(&apdu)[fits..], &[0x90, 0x00]);
        apdu.insert(7, 1);
        apdu[5..7].copy_from_slice(&u16::try_from(fits + 1).unwrap().to_be_bytes());
        assert_eq!(card.execute(&apdu), vec![0x67, 0x00]);
    }
}

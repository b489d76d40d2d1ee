//! The reader's card slot: a TCP listener on 127.0.0.1 that the card farm connects to
//! when it inserts a card, exactly as it does with a vpcd slot. A card is present while
//! that connection is open; pulling the card closes it.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::frames::{self, GET_ATR, POWER_OFF, POWER_ON, RESET};
use crate::ifd::MAX_ATR_SIZE;

/// How long a card may take to answer one frame (jcardsim generating a key pair takes
/// well under a second; this only stops a hung farm from hanging pcscd).
const CARD_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the slot reads empty after a card is lost, whenever that is noticed (in a
/// presence poll or in the middle of a command): longer than pcscd's 400 ms poll, so
/// its event thread always sees the removal even when another call to the presence
/// poll came first. No hand re-inserts a card faster.
const MIN_ABSENCE: Duration = Duration::from_millis(1500);

/// What went wrong talking to the card.
#[derive(Debug)]
pub enum LinkError {
    /// No card in the reader.
    NoCard,
    /// The connection to the farm failed; the card counts as pulled.
    Lost(io::Error),
    /// The card answered something that is not a valid ATR or response.
    BadAnswer(String),
    /// The reader itself is unplugged (see `cable`); the card was not reached.
    Unplugged,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::NoCard => f.write_str("no card in the reader"),
            LinkError::Lost(e) => write!(f, "connection to the card farm lost: {e}"),
            LinkError::BadAnswer(what) => write!(f, "the card answered badly: {what}"),
            LinkError::Unplugged => f.write_str("the reader is unplugged"),
        }
    }
}

/// Power actions pcscd asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Cold reset.
    Up,
    /// Cut the power.
    Down,
    /// Warm reset.
    Reset,
}

/// The slot: the listener and, while a card is in, its connection.
pub struct CardLink {
    listener: TcpListener,
    card: Option<TcpStream>,
    atr: Vec<u8>,
    /// When the last card was lost: the slot stays empty for [`MIN_ABSENCE`] after it.
    gone_at: Option<Instant>,
}

impl CardLink {
    /// Listens on 127.0.0.1:`port` for the farm.
    pub fn listen(port: u16) -> io::Result<CardLink> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        Ok(CardLink {
            listener,
            card: None,
            atr: Vec::new(),
            gone_at: None,
        })
    }

    /// pcscd's presence poll. A card that was pulled is reported absent once before a
    /// newly inserted one is taken, so pcscd sees every removal.
    pub fn poll_presence(&mut self) -> bool {
        if let Some(conn) = &self.card {
            if still_open(conn) {
                return true;
            }
            self.drop_card();
        }
        if self.gone_at.is_some_and(|t| t.elapsed() < MIN_ABSENCE) {
            return false;
        }
        match self.listener.accept() {
            Ok((conn, _)) => {
                if configure(&conn).is_err() {
                    return false;
                }
                self.card = Some(conn);
                match self.exchange_atr() {
                    Ok(_) => true,
                    Err(_) => {
                        self.drop_card();
                        false
                    }
                }
            }
            Err(_) => false,
        }
    }

    /// Whether a card is in (without polling).
    pub fn has_card(&self) -> bool {
        self.card.is_some()
    }

    /// The ATR of the card in the reader (empty when there is none).
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Powers the card up, down or resets it; returns the ATR (empty after power down).
    pub fn power(&mut self, action: Power) -> Result<Vec<u8>, LinkError> {
        let code = match action {
            Power::Up => POWER_ON,
            Power::Down => POWER_OFF,
            Power::Reset => RESET,
        };
        self.send(&[code])?;
        if action == Power::Down {
            return Ok(Vec::new());
        }
        self.exchange_atr()
    }

    /// Sends one command APDU and returns the card's response APDU.
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        if apdu.len() < 4 {
            return Err(LinkError::BadAnswer(format!(
                "refusing to send a {}-byte APDU (at least 4 bytes)",
                apdu.len()
            )));
        }
        self.send(apdu)?;
        let response = self.receive()?;
        if response.len() < 2 {
            self.drop_card();
            return Err(LinkError::BadAnswer(format!(
                "a {}-byte response has no status word",
                response.len()
            )));
        }
        Ok(response)
    }

    fn exchange_atr(&mut self) -> Result<Vec<u8>, LinkError> {
        self.send(&[GET_ATR])?;
        let atr = self.receive()?;
        if atr.is_empty() || atr.len() > MAX_ATR_SIZE {
            self.drop_card();
            return Err(LinkError::BadAnswer(format!(
                "an ATR of {} bytes (1..{MAX_ATR_SIZE})",
                atr.len()
            )));
        }
        self.atr = atr.clone();
        Ok(atr)
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        let conn = self.card.as_mut().ok_or(LinkError::NoCard)?;
        if let Err(e) = frames::write_frame(conn, payload) {
            self.drop_card();
            return Err(LinkError::Lost(e));
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<u8>, LinkError> {
        let conn = self.card.as_mut().ok_or(LinkError::NoCard)?;
        match frames::read_frame(conn) {
            Ok(Some(payload)) => Ok(payload),
            Ok(None) => {
                self.drop_card();
                Err(LinkError::Lost(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the card farm closed the connection (card pulled)",
                )))
            }
            Err(e) => {
                self.drop_card();
                Err(LinkError::Lost(e))
            }
        }
    }

    fn drop_card(&mut self) {
        if self.card.take().is_some() {
            self.gone_at = Some(Instant::now());
        }
        self.atr.clear();
    }
}

fn configure(conn: &TcpStream) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(CARD_TIMEOUT))?;
    conn.set_write_timeout(Some(CARD_TIMEOUT))
}

/// True unless the farm closed the connection (a non-blocking peek sees EOF or an error).
fn still_open(conn: &TcpStream) -> bool {
    if conn.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let open = match conn.peek(&mut byte) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == ErrorKind::WouldBlock,
    };
    open && conn.set_nonblocking(false).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener as StdListener;
    use std::thread;
    use std::time::Instant;

    const ATR: [u8; 4] = [0x3B, 0x80, 0x80, 0x01];

    /// A free port: bind to 0, note the port, let it go.
    fn free_port() -> u16 {
        StdListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port()
    }

    /// A fake farm card: answers GET_ATR with ATR, power codes with nothing, and every
    /// APDU with its own bytes reversed plus 90 00; records the frames it saw.
    fn fake_card(port: u16, frames_seen: usize) -> thread::JoinHandle<Vec<Vec<u8>>> {
        thread::spawn(move || {
            let mut conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
            let mut seen = Vec::new();
            while seen.len() < frames_seen {
                let Some(frame) = frames::read_frame(&mut conn).expect("read") else {
                    break;
                };
                match frame.as_slice() {
                    [GET_ATR] => frames::write_frame(&mut conn, &ATR).expect("atr"),
                    [_] => {}
                    apdu => {
                        let mut r: Vec<u8> = apdu.iter().rev().copied().collect();
                        r.extend_from_slice(&[0x90, 0x00]);
                        frames::write_frame(&mut conn, &r).expect("response");
                    }
                }
                seen.push(frame);
            }
            conn.flush().expect("flush");
            seen
        })
    }

    fn poll_until(link: &mut CardLink, present: bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while link.poll_presence() != present {
            assert!(Instant::now() < deadline, "presence never became {present}");
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn an_empty_slot_reports_no_card_and_refuses_commands() {
        let mut link = CardLink::listen(free_port()).expect("listen");
        assert!(!link.poll_presence());
        assert!(matches!(
            link.transmit(&[0, 0xA4, 4, 0]),
            Err(LinkError::NoCard)
        ));
        assert!(matches!(link.power(Power::Up), Err(LinkError::NoCard)));
    }

    #[test]
    fn a_connecting_card_is_present_with_its_atr_and_answers_apdus() {
        let port = free_port();
        let mut link = CardLink::listen(port).expect("listen");
        // presence ATR, power up + ATR, one APDU, power down
        let card = fake_card(port, 5);
        poll_until(&mut link, true);
        assert_eq!(link.atr(), ATR);
        assert_eq!(link.power(Power::Up).expect("power up"), ATR);
        assert_eq!(
            link.transmit(&[0x00, 0xB0, 0x00, 0x01]).expect("apdu"),
            [0x01, 0x00, 0xB0, 0x00, 0x90, 0x00]
        );
        assert!(link.power(Power::Down).expect("power down").is_empty());
        let seen = card.join().expect("card");
        assert_eq!(
            seen,
            [
                vec![GET_ATR],
                vec![POWER_ON],
                vec![GET_ATR],
                vec![0x00, 0xB0, 0x00, 0x01],
                vec![POWER_OFF],
            ]
        );
    }

    #[test]
    fn a_pulled_card_is_reported_absent_once_before_the_next_one() {
        let port = free_port();
        let mut link = CardLink::listen(port).expect("listen");
        let first = fake_card(port, 1);
        poll_until(&mut link, true);
        first.join().expect("first card");
        // The first card's connection is closed; a second card is already waiting.
        let second = fake_card(port, 1);
        thread::sleep(Duration::from_millis(50));
        assert!(!link.poll_presence(), "the removal is reported first");
        poll_until(&mut link, true);
        second.join().expect("second card");
    }

    #[test]
    fn a_card_lost_in_the_middle_of_a_command_is_reported_absent_once() {
        let port = free_port();
        let mut link = CardLink::listen(port).expect("listen");
        let first = fake_card(port, 1);
        poll_until(&mut link, true);
        first.join().expect("first card");
        // The next card is already waiting when the command finds the first one gone.
        let second = fake_card(port, 1);
        thread::sleep(Duration::from_millis(50));
        assert!(matches!(
            link.transmit(&[0, 0xA4, 4, 0]),
            Err(LinkError::Lost(_))
        ));
        assert!(!link.poll_presence(), "pcscd must see the removal");
        poll_until(&mut link, true);
        second.join().expect("second card");
    }
}

//! A card in a vpcd reader: the card connects to the reader's port (vpcd's server mode)
//! and answers vpcd's frames until it is pulled out. vsmartcard's wire protocol: each
//! frame is a 2-byte big-endian length then the payload; a 1-byte payload is a control
//! code (0 power off, 1 power on, 2 reset, 4 get ATR), anything longer a command APDU.
//!
//! The `vpicc` crate speaks the same protocol; this loop is written out because a pull
//! has to interrupt a blocking read, the card reconnects when vpcd drops it (pcscd
//! restarted), and every frame is acknowledged at once (see `quick_ack`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::apdu::{Application, Transport};
use crate::log;

const POWER_OFF: u8 = 0;
const POWER_ON: u8 = 1;
const RESET: u8 = 2;
const GET_ATR: u8 = 4;

/// Link states, as `readers` shows them.
pub const EMPTY: u8 = 0;
pub const CONNECTING: u8 = 1;
pub const CONNECTED: u8 = 2;

pub fn state_word(state: u8) -> &'static str {
    match state {
        CONNECTING => "connecting",
        CONNECTED => "connected",
        _ => "empty",
    }
}

/// Shared between a card's thread and whoever pulls the card out.
#[derive(Default)]
pub struct Link {
    pulled: AtomicBool,
    state: AtomicU8,
    stream: Mutex<Option<TcpStream>>,
}

impl Link {
    pub fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    /// Pulls the card: its thread stops at once, even in the middle of a read.
    pub fn pull(&self) {
        self.pulled.store(true, Ordering::SeqCst);
        if let Some(stream) = self.lock_stream().as_ref() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn pulled(&self) -> bool {
        self.pulled.load(Ordering::SeqCst)
    }

    fn lock_stream(&self) -> std::sync::MutexGuard<'_, Option<TcpStream>> {
        self.stream.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves vpcd at `addr` with `card` until `link` is pulled. Reconnects (every 20 ms at
/// first, backing off to 250 ms) while vpcd does not listen or after it hung up; every
/// new connection starts from a reset, as a card taken out and put back would.
pub fn serve<A: Application>(addr: SocketAddr, label: &str, card: &mut Transport<A>, link: &Link) {
    let mut wait = Duration::from_millis(20);
    let mut said_waiting = false;
    while !link.pulled() {
        link.state.store(CONNECTING, Ordering::SeqCst);
        let stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => s,
            Err(e) => {
                if !said_waiting {
                    log(&format!(
                        "{label}: vpcd at {addr} not reachable ({e}); retrying"
                    ));
                    said_waiting = true;
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(250));
                continue;
            }
        };
        wait = Duration::from_millis(20);
        said_waiting = false;
        let _ = stream.set_nodelay(true);
        match stream.try_clone() {
            Ok(clone) => *link.lock_stream() = Some(clone),
            Err(e) => {
                log(&format!("{label}: cannot keep the vpcd socket: {e}"));
                continue;
            }
        }
        // A pull between the check above and storing the socket must still end the read.
        if link.pulled() {
            break;
        }
        card.reset();
        link.state.store(CONNECTED, Ordering::SeqCst);
        log(&format!("{label}: connected to vpcd at {addr}"));
        let outcome = frames(stream, card);
        *link.lock_stream() = None;
        card.reset();
        if !link.pulled() {
            log(&format!(
                "{label}: vpcd closed the connection ({}); reconnecting",
                outcome
                    .err()
                    .map_or_else(|| "end of stream".to_owned(), |e| e.to_string())
            ));
        }
    }
    link.state.store(EMPTY, Ordering::SeqCst);
}

/// Answers frames until the connection ends.
fn frames<A: Application>(mut stream: TcpStream, card: &mut Transport<A>) -> io::Result<()> {
    loop {
        quick_ack(&stream);
        let mut header = [0u8; 2];
        stream.read_exact(&mut header)?;
        let len = usize::from(u16::from_be_bytes(header));
        quick_ack(&stream);
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload)?;
        match payload.as_slice() {
            [] => return Err(io::Error::new(io::ErrorKind::InvalidData, "empty frame")),
            [POWER_OFF] | [POWER_ON] | [RESET] => card.reset(),
            [GET_ATR] => send(&mut stream, &crate::apdu::atr())?,
            [code] => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unknown control code {code}"),
                ))
            }
            apdu => {
                let response = card.execute(apdu);
                send(&mut stream, &response)?;
            }
        }
    }
}

fn send(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "response longer than 65535 bytes",
        )
    })?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    // One write per frame: split writes would wait on Nagle and delayed ACKs.
    stream.write_all(&frame)
}

/// vpcd writes a frame's length and payload with two calls and has Nagle's algorithm on,
/// so its payload waits until the length is acknowledged. Acknowledge at once instead of
/// after Linux's delayed-ACK timer (about 40 ms per APDU otherwise). TCP_QUICKACK is not
/// sticky, so it is set again before every read.
fn quick_ack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor, a c_int option value and its exact length.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

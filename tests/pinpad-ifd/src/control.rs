//! The control channel: where test code plays the custodian's fingers and reads the
//! display. TCP on 127.0.0.1 (the control port of the reader's DEVICENAME), UTF-8 text,
//! one request per line, words separated by spaces, like the card farm's channel:
//!
//! | request | reply |
//! | --- | --- |
//! | `ping` | `ok quorum-pinpad 0.1.0 port=CARDPORT` |
//! | `keys WORD...` | `ok N` (N keys queued now); WORD = digits (`123456`), `ok`, `cancel`, `clear`, `nothing` |
//! | `reset` | `ok` (forgets queued keys, the display log and the last outcome) |
//! | `display` | `ok N`, then the N messages the display showed, oldest first |
//! | `outcome` | `ok none`, `ok sent SW`, `ok timeout`, `ok cancelled`, `ok mismatch`, `ok length`, `ok rejected REASON`, `ok card-error REASON` |
//! | `status` | `ok idle queued=N` or `ok prompting queued=N` |
//! | `help` | `ok N`, then N lines |
//! | `quit` | `ok`, then the connection closes |
//!
//! Refusals are `err REASON`. Key words are never logged or echoed.

use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::device_name::Ports;
use crate::keypad::{parse_keys, Keypad};

/// Longest request line accepted.
const MAX_LINE: usize = 4096;
/// How often an idle connection checks whether the reader is closing.
const POLL: Duration = Duration::from_millis(250);

const HELP: [&str; 8] = [
    "ping                 -> ok quorum-pinpad VERSION port=CARDPORT",
    "keys WORD...         -> ok N   (WORD: digits, ok, cancel, clear, nothing)",
    "reset                -> ok     (forget keys, display log, outcome)",
    "display              -> ok N, then N display messages",
    "outcome              -> ok none|sent SW|timeout|cancelled|mismatch|length|rejected R|card-error R",
    "status               -> ok idle|prompting queued=N",
    "help                 -> this text",
    "quit                 -> ok, then close",
];

/// The running control channel of one reader; stops when dropped.
pub struct ControlServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Listens on 127.0.0.1:`ports.control` and serves each connection on its own thread.
    pub fn start(ports: Ports, keypad: Arc<Keypad>) -> io::Result<ControlServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, ports.control))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name(format!("pinpad-control-{}", ports.control))
                .spawn(move || accept_loop(listener, ports, keypad, stop))?
        };
        Ok(ControlServer {
            port: ports.control,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, ports: Ports, keypad: Arc<Keypad>, stop: Arc<AtomicBool>) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        let keypad = Arc::clone(&keypad);
        let stop = Arc::clone(&stop);
        let _ = thread::Builder::new()
            .name(format!("pinpad-client-{}", ports.control))
            .spawn(move || {
                let _ = serve(conn, ports, &keypad, &stop);
            });
    }
}

fn serve(conn: TcpStream, ports: Ports, keypad: &Keypad, stop: &AtomicBool) -> io::Result<()> {
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(POLL))?;
    let mut out = conn.try_clone()?;
    let mut input = BufReader::new(conn);
    let mut line = String::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let read = input.read_line(&mut line);
        if line.len() > MAX_LINE {
            let refusal = format!("err request longer than {MAX_LINE} characters\n");
            return out.write_all(refusal.as_bytes());
        }
        match read {
            Ok(0) => return Ok(()),
            Ok(_) if !line.ends_with('\n') => {
                // The peer closed after a last line without a newline.
                let reply = answer(line.trim(), ports, keypad);
                out.write_all(reply.join("\n").as_bytes())?;
                return out.write_all(b"\n");
            }
            Ok(_) => {
                let request = std::mem::take(&mut line);
                let reply = answer(request.trim(), ports, keypad);
                // One write per reply: split writes would wait on Nagle and delayed ACKs.
                let mut text = reply.join("\n");
                text.push('\n');
                out.write_all(text.as_bytes())?;
                if request.trim().eq_ignore_ascii_case("quit") {
                    return Ok(());
                }
            }
            // No complete line yet: keep what arrived and look at `stop` again.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::InvalidData => {
                out.write_all(b"err requests are UTF-8 text\n")?;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
}

/// The reply lines to one request.
pub fn answer(request: &str, ports: Ports, keypad: &Keypad) -> Vec<String> {
    let mut words = request.split_whitespace();
    let Some(command) = words.next() else {
        return vec!["err empty request; try help".to_owned()];
    };
    let rest: Vec<&str> = words.collect();
    let command = command.to_ascii_lowercase();
    const NO_ARGUMENTS: [&str; 7] = [
        "ping", "reset", "display", "outcome", "status", "help", "quit",
    ];
    if NO_ARGUMENTS.contains(&command.as_str()) && !rest.is_empty() {
        return vec![format!("err {command} takes no arguments")];
    }
    match command.as_str() {
        "ping" => vec![format!(
            "ok quorum-pinpad {} port={}",
            env!("CARGO_PKG_VERSION"),
            ports.card
        )],
        "keys" => {
            if rest.is_empty() {
                return vec![
                    "err keys needs at least one key word: digits, ok, cancel, clear or nothing"
                        .to_owned(),
                ];
            }
            match parse_keys(rest.iter().copied()) {
                Ok(keys) => vec![format!("ok {}", keypad.queue(&keys))],
                Err(why) => vec![format!("err {why}")],
            }
        }
        "reset" => {
            keypad.reset();
            vec!["ok".to_owned()]
        }
        "display" => {
            let log = keypad.display_log();
            let mut reply = vec![format!("ok {}", log.len())];
            reply.extend(log);
            reply
        }
        "outcome" => vec![format!("ok {}", keypad.outcome())],
        "status" => {
            let (prompting, queued) = keypad.status();
            vec![format!(
                "ok {} queued={queued}",
                if prompting { "prompting" } else { "idle" }
            )]
        }
        "help" => {
            let mut reply = vec![format!("ok {}", HELP.len())];
            reply.extend(HELP.iter().map(|l| (*l).to_owned()));
            reply
        }
        "quit" => vec!["ok".to_owned()],
        other => vec![format!("err unknown request {other:?}; try help")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypad::Outcome;
    use std::io::Read;

    fn ports() -> Ports {
        Ports {
            card: 36108,
            control: 37108,
        }
    }

    #[test]
    fn keys_are_queued_and_counted_without_echo() {
        let pad = Keypad::new();
        assert_eq!(answer("keys 123456 ok", ports(), &pad), ["ok 7"]);
        assert_eq!(answer("KEYS cancel", ports(), &pad), ["ok 8"]);
        assert_eq!(answer("status", ports(), &pad), ["ok idle queued=8"]);
        let refused = answer("keys 12x4", ports(), &pad);
        assert!(refused[0].starts_with("err unknown key"), "{refused:?}");
        assert_eq!(answer("status", ports(), &pad), ["ok idle queued=8"]);
        assert!(answer("keys", ports(), &pad)[0].starts_with("err"));
    }

    #[test]
    fn display_outcome_and_reset() {
        let pad = Keypad::new();
        pad.show("enter PIN");
        pad.show("enter new PIN");
        pad.set_outcome(Outcome::Sent(0x63C4));
        assert_eq!(
            answer("display", ports(), &pad),
            ["ok 2", "enter PIN", "enter new PIN"]
        );
        assert_eq!(answer("outcome", ports(), &pad), ["ok sent 63C4"]);
        assert_eq!(answer("reset", ports(), &pad), ["ok"]);
        assert_eq!(answer("display", ports(), &pad), ["ok 0"]);
        assert_eq!(answer("outcome", ports(), &pad), ["ok none"]);
    }

    #[test]
    fn ping_help_and_errors() {
        let pad = Keypad::new();
        assert_eq!(
            answer("ping", ports(), &pad),
            ["ok quorum-pinpad 0.1.0 port=36108"]
        );
        let help = answer("help", ports(), &pad);
        assert_eq!(help[0], format!("ok {}", help.len() - 1));
        assert!(answer("frobnicate", ports(), &pad)[0].starts_with("err unknown request"));
        assert!(answer("", ports(), &pad)[0].starts_with("err empty"));
        assert_eq!(
            answer("reset now", ports(), &pad),
            ["err reset takes no arguments"]
        );
    }

    #[test]
    fn the_server_answers_over_tcp_and_stops_when_dropped() {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let ports = Ports {
            card: 1,
            control: port,
        };
        let pad = Arc::new(Keypad::new());
        let server = ControlServer::start(ports, Arc::clone(&pad)).expect("start");
        let mut conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        conn.write_all(b"keys 1234 ok\r\nstatus\nquit\n")
            .expect("send");
        let mut text = String::new();
        conn.read_to_string(&mut text).expect("read");
        assert_eq!(text, "ok 5\nok idle queued=5\nok\n");
        assert_eq!(pad.status().1, 5);
        // An overlong request is refused and the connection closed.
        let mut conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        let mut long = vec![b'k'; MAX_LINE + 10];
        long.push(b'\n');
        conn.write_all(&long).expect("send");
        let mut text = String::new();
        conn.read_to_string(&mut text).expect("read");
        assert_eq!(
            text,
            format!("err request longer than {MAX_LINE} characters\n")
        );
        drop(server);
        // The port is free again.
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("port released");
    }
}

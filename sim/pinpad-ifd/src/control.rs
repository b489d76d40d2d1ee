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
//! | `unplug` | `ok unplugged`: the reader leaves the bus (every pcscd call answers IFD_NO_SUCH_DEVICE; a waiting prompt ends) |
//! | `plug` | `ok plugged`: the reader is back; pcscd's next presence poll finds it (and the card still in it) |
//! | `cable` | `ok plugged` or `ok unplugged` |
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

use crate::cable::Cable;
use crate::device_name::Ports;
use crate::keypad::{parse_keys, Keypad};
use crate::reader::log;

/// Longest request line accepted.
const MAX_LINE: usize = 4096;
/// How often an idle connection checks whether the reader is closing.
const POLL: Duration = Duration::from_millis(250);

const HELP: [&str; 11] = [
    "ping                 -> ok quorum-pinpad VERSION port=CARDPORT",
    "keys WORD...         -> ok N   (WORD: digits, ok, cancel, clear, nothing)",
    "reset                -> ok     (forget keys, display log, outcome)",
    "display              -> ok N, then N display messages",
    "outcome              -> ok none|sent SW|timeout|cancelled|mismatch|length|rejected R|card-error R",
    "status               -> ok idle|prompting queued=N",
    "unplug               -> ok unplugged (the reader leaves the bus: IFD_NO_SUCH_DEVICE)",
    "plug                 -> ok plugged   (the reader is back, with the card left in it)",
    "cable                -> ok plugged|unplugged",
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
    pub fn start(
        ports: Ports,
        keypad: Arc<Keypad>,
        cable: Arc<Cable>,
    ) -> io::Result<ControlServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, ports.control))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name(format!("pinpad-control-{}", ports.control))
                .spawn(move || accept_loop(listener, ports, keypad, cable, stop))?
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

/// What a request can act on: the reader's keypad and cable.
struct Pad<'a> {
    keypad: &'a Keypad,
    cable: &'a Cable,
}

fn accept_loop(
    listener: TcpListener,
    ports: Ports,
    keypad: Arc<Keypad>,
    cable: Arc<Cable>,
    stop: Arc<AtomicBool>,
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        let keypad = Arc::clone(&keypad);
        let cable = Arc::clone(&cable);
        let stop = Arc::clone(&stop);
        let _ = thread::Builder::new()
            .name(format!("pinpad-client-{}", ports.control))
            .spawn(move || {
                let pad = Pad {
                    keypad: &keypad,
                    cable: &cable,
                };
                let _ = serve(conn, ports, &pad, &stop);
            });
    }
}

fn serve(conn: TcpStream, ports: Ports, pad: &Pad<'_>, stop: &AtomicBool) -> io::Result<()> {
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
                let reply = answer(line.trim(), ports, pad.keypad, pad.cable);
                out.write_all(reply.join("\n").as_bytes())?;
                return out.write_all(b"\n");
            }
            Ok(_) => {
                let request = std::mem::take(&mut line);
                let reply = answer(request.trim(), ports, pad.keypad, pad.cable);
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
pub fn answer(request: &str, ports: Ports, keypad: &Keypad, cable: &Cable) -> Vec<String> {
    let mut words = request.split_whitespace();
    let Some(command) = words.next() else {
        return vec!["err empty request; try help".to_owned()];
    };
    let rest: Vec<&str> = words.collect();
    let command = command.to_ascii_lowercase();
    const NO_ARGUMENTS: [&str; 10] = [
        "ping", "reset", "display", "outcome", "status", "unplug", "plug", "cable", "help", "quit",
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
        "unplug" => {
            if cable.unplug() {
                log(
                    ports,
                    "the reader was unplugged: every call answers IFD_NO_SUCH_DEVICE",
                );
            }
            // A prompt waiting for keys ends now, as the pad went dark.
            keypad.wake();
            vec![format!("ok {}", cable.word())]
        }
        "plug" => {
            if cable.plug() {
                log(ports, "the reader was plugged in again");
            }
            vec![format!("ok {}", cable.word())]
        }
        "cable" => vec![format!("ok {}", cable.word())],
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
        let cable = Cable::new();
        assert_eq!(answer("keys 123456 ok", ports(), &pad, &cable), ["ok 7"]);
        assert_eq!(answer("KEYS cancel", ports(), &pad, &cable), ["ok 8"]);
        assert_eq!(
            answer("status", ports(), &pad, &cable),
            ["ok idle queued=8"]
        );
        let refused = answer("keys 12x4", ports(), &pad, &cable);
        assert!(refused[0].starts_with("err unknown key"), "{refused:?}");
        assert_eq!(
            answer("status", ports(), &pad, &cable),
            ["ok idle queued=8"]
        );
        assert!(answer("keys", ports(), &pad, &cable)[0].starts_with("err"));
    }

    #[test]
    fn display_outcome_and_reset() {
        let pad = Keypad::new();
        let cable = Cable::new();
        pad.show("enter PIN");
        pad.show("enter new PIN");
        pad.set_outcome(Outcome::Sent(0x63C4));
        assert_eq!(
            answer("display", ports(), &pad, &cable),
            ["ok 2", "enter PIN", "enter new PIN"]
        );
        assert_eq!(answer("outcome", ports(), &pad, &cable), ["ok sent 63C4"]);
        assert_eq!(answer("reset", ports(), &pad, &cable), ["ok"]);
        assert_eq!(answer("display", ports(), &pad, &cable), ["ok 0"]);
        assert_eq!(answer("outcome", ports(), &pad, &cable), ["ok none"]);
    }

    #[test]
    fn ping_help_and_errors() {
        let pad = Keypad::new();
        let cable = Cable::new();
        assert_eq!(
            answer("ping", ports(), &pad, &cable),
            ["ok quorum-pinpad 0.1.0 port=36108"]
        );
        let help = answer("help", ports(), &pad, &cable);
        assert_eq!(help[0], format!("ok {}", help.len() - 1));
        assert!(answer("frobnicate", ports(), &pad, &cable)[0].starts_with("err unknown request"));
        assert!(answer("", ports(), &pad, &cable)[0].starts_with("err empty"));
        assert_eq!(
            answer("reset now", ports(), &pad, &cable),
            ["err reset takes no arguments"]
        );
    }

    #[test]
    fn unplug_and_plug_toggle_the_cable_and_take_no_arguments() {
        let pad = Keypad::new();
        let cable = Cable::new();
        assert_eq!(answer("cable", ports(), &pad, &cable), ["ok plugged"]);
        assert_eq!(answer("unplug", ports(), &pad, &cable), ["ok unplugged"]);
        assert!(!cable.plugged());
        assert_eq!(answer("UNPLUG", ports(), &pad, &cable), ["ok unplugged"]);
        assert_eq!(answer("cable", ports(), &pad, &cable), ["ok unplugged"]);
        assert_eq!(
            answer("plug now", ports(), &pad, &cable),
            ["err plug takes no arguments"]
        );
        assert!(!cable.plugged(), "a refused request changes nothing");
        assert_eq!(answer("plug", ports(), &pad, &cable), ["ok plugged"]);
        assert_eq!(answer("plug", ports(), &pad, &cable), ["ok plugged"]);
        assert!(cable.plugged());
        assert_eq!(
            answer("unplug 9", ports(), &pad, &cable),
            ["err unplug takes no arguments"]
        );
        let help = answer("help", ports(), &pad, &cable);
        assert!(help.iter().any(|l| l.starts_with("unplug")), "{help:?}");
    }

    #[test]
    fn unplug_ends_a_prompt_that_waits_for_keys() {
        use crate::keypad::{EntryEnd, EntryRules};
        use std::time::Instant;
        let pad = Arc::new(Keypad::new());
        let cable = Arc::new(Cable::new());
        let prompt = {
            let (pad, cable) = (Arc::clone(&pad), Arc::clone(&cable));
            thread::spawn(move || {
                let rules = EntryRules {
                    timeout: Duration::from_secs(20),
                    validation: 0x02,
                    min_digits: 6,
                    max_digits: 12,
                };
                pad.read_pin_unless(Some("enter PIN"), &rules, &|| !cable.plugged())
            })
        };
        while !pad.status().0 {
            thread::sleep(Duration::from_millis(5));
        }
        let start = Instant::now();
        assert_eq!(answer("unplug", ports(), &pad, &cable), ["ok unplugged"]);
        let end = prompt.join().expect("prompt");
        assert_eq!(end.err(), Some(EntryEnd::Stopped));
        assert!(start.elapsed() < Duration::from_secs(5));
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
        let server =
            ControlServer::start(ports, Arc::clone(&pad), Arc::new(Cable::new())).expect("start");
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

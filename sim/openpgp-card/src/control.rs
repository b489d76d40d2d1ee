//! The control channel: TCP on 127.0.0.1, one request per line, replies in the card
//! farm's style (`ok`, `ok VALUE`, `ok N` then N lines, `err REASON`). See README.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::link::state_word;
use crate::registry::{card_id, serial_hex, Registry};
use crate::{log, log_verbose, Options};

pub const NAME: &str = concat!("quorum-openpgp-card ", env!("CARGO_PKG_VERSION"));

/// The longest request line accepted.
const MAX_LINE: usize = 1024;

const HELP: &[&str] = &[
    "ping                  -> ok quorum-openpgp-card VERSION readers=N",
    "new                   -> ok CARD   (a new OpenPGP card, out of every reader; ids o1, o2, ...)",
    "insert CARD READER    -> ok       (READER 0..N-1, one of this program's readers)",
    "remove READER         -> ok CARD | ok -",
    "clear                 -> ok N      (pulls every card; N were in)",
    "list                  -> ok N, then N lines: CARD READER|- SERIAL",
    "readers               -> ok N, then N lines: INDEX PORT empty|connecting|connected CARD|- NAME",
    "help                  -> ok N, then this text",
    "quit                  -> ok, then the connection closes",
    "shutdown              -> ok, then every card is pulled and the program exits",
];

/// What happens after a reply.
#[derive(PartialEq)]
enum After {
    Continue,
    Close,
    Shutdown,
}

struct Reply {
    lines: Vec<String>,
    after: After,
}

impl Reply {
    fn ok(value: &str) -> Reply {
        let line = if value.is_empty() {
            "ok".to_owned()
        } else {
            format!("ok {value}")
        };
        Reply {
            lines: vec![line],
            after: After::Continue,
        }
    }

    fn listing(rows: Vec<String>) -> Reply {
        let mut lines = vec![format!("ok {}", rows.len())];
        lines.extend(rows);
        Reply {
            lines,
            after: After::Continue,
        }
    }

    fn err(reason: &str) -> Reply {
        Reply {
            lines: vec![format!("err {}", one_line(reason))],
            after: After::Continue,
        }
    }
}

/// Answers one request line. Bad input is an `err` reply, never a panic.
fn handle(sim: &Mutex<Registry>, line: &str) -> Reply {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Reply::err("empty request; try: help");
    };
    let command = first.to_ascii_lowercase();
    let args = &words[1..];
    let usage = |u: &str| Reply::err(&format!("usage: {u}"));
    let mut sim = sim.lock().unwrap_or_else(|p| p.into_inner());
    let outcome = match (command.as_str(), args) {
        ("ping", []) => Ok(Reply::ok(&format!("{NAME} readers={}", sim.readers.len()))),
        ("ping", _) => Ok(usage("ping")),
        ("new", []) => sim.new_card().map(|id| Reply::ok(&id)),
        ("new", _) => Ok(usage("new")),
        ("insert", [card, reader]) => reader_index(&sim, reader)
            .and_then(|r| sim.insert(card, r))
            .map(|()| Reply::ok("")),
        ("insert", _) => Ok(usage("insert CARD READER")),
        ("remove", [reader]) => reader_index(&sim, reader)
            .and_then(|r| sim.remove(r))
            .map(|pulled| Reply::ok(pulled.as_deref().unwrap_or("-"))),
        ("remove", _) => Ok(usage("remove READER")),
        ("clear", []) => Ok(Reply::ok(&sim.clear().to_string())),
        ("clear", _) => Ok(usage("clear")),
        ("list", []) => Ok(Reply::listing(
            sim.cards
                .values()
                .map(|c| {
                    let reader = c.reader.map_or_else(|| "-".to_owned(), |r| r.to_string());
                    format!("{} {reader} {}", c.id, serial_hex(&c.serial))
                })
                .collect(),
        )),
        ("list", _) => Ok(usage("list")),
        ("readers", []) => Ok(Reply::listing(
            sim.readers
                .iter()
                .map(|r| {
                    let card = r.card().map_or_else(|| "-".to_owned(), card_id);
                    format!(
                        "{} {} {} {card} {}",
                        r.index,
                        r.port,
                        state_word(r.link_state()),
                        r.name
                    )
                })
                .collect(),
        )),
        ("readers", _) => Ok(usage("readers")),
        ("help", []) => Ok(Reply::listing(
            HELP.iter().map(|s| (*s).to_owned()).collect(),
        )),
        ("help", _) => Ok(usage("help")),
        ("quit", []) => Ok(Reply {
            lines: vec!["ok".to_owned()],
            after: After::Close,
        }),
        ("quit", _) => Ok(usage("quit")),
        ("shutdown", []) => Ok(Reply {
            lines: vec!["ok".to_owned()],
            after: After::Shutdown,
        }),
        ("shutdown", _) => Ok(usage("shutdown")),
        _ => Ok(Reply::err(&format!("unknown command '{first}'; try: help"))),
    };
    outcome.unwrap_or_else(|reason| Reply::err(&reason))
}

fn reader_index(sim: &Registry, word: &str) -> Result<usize, String> {
    let max = sim.readers.len().saturating_sub(1);
    let n: usize = word
        .parse()
        .ok()
        .filter(|_| word.len() <= 9 && word.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("reader must be a number 0..{max}, got '{}'", one_line(word)))?;
    sim.reader(n)?;
    Ok(n)
}

fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    if flat.chars().count() > 200 {
        format!("{}...", flat.chars().take(200).collect::<String>())
    } else {
        flat
    }
}

/// Listens on 127.0.0.1, writes the port and pid files, and answers requests until a
/// `shutdown`.
pub fn serve(sim: Registry, options: &Options) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", options.control_port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", options.control_port))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?
        .port();
    let readers = sim.readers.len();
    let sim = Arc::new(Mutex::new(sim));
    if let Some(pid_file) = &options.pid_file {
        write_atomically(pid_file, &std::process::id().to_string())?;
    }
    // The port file last: whoever waits for it may send requests at once.
    if let Some(port_file) = &options.port_file {
        write_atomically(port_file, &port.to_string())?;
    }
    log(&format!(
        "{NAME}: {readers} readers, control on 127.0.0.1:{port}"
    ));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                log(&format!("control: accept failed: {e}"));
                continue;
            }
        };
        let sim = Arc::clone(&sim);
        let port_file = options.port_file.clone();
        let pid_file = options.pid_file.clone();
        std::thread::spawn(move || {
            if session(&sim, stream) == After::Shutdown {
                let pulled = sim.lock().unwrap_or_else(|p| p.into_inner()).clear();
                log(&format!("shutdown: {pulled} card(s) pulled"));
                for file in [port_file, pid_file].into_iter().flatten() {
                    let _ = std::fs::remove_file(file);
                }
                std::process::exit(0);
            }
        });
    }
    Ok(())
}

/// One client connection; returns how it ended.
fn session(sim: &Mutex<Registry>, stream: TcpStream) -> After {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return After::Close;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        // Read at most one line longer than the limit, so a huge line cannot fill memory.
        match (&mut reader).take(MAX_LINE as u64 + 2).read_line(&mut line) {
            Ok(0) | Err(_) => return After::Close,
            Ok(_) => {}
        }
        let request = line.trim_end_matches(['\r', '\n']);
        let reply = if !line.ends_with('\n') && line.len() > MAX_LINE {
            // Skip the rest of the over-long line before answering.
            let mut rest = Vec::new();
            let _ = reader.read_until(b'\n', &mut rest);
            Reply::err(&format!("request longer than {MAX_LINE} characters"))
        } else {
            log_verbose(&format!("control: {request}"));
            handle(sim, request)
        };
        let text: String = reply.lines.iter().map(|l| format!("{l}\n")).collect();
        if writer.write_all(text.as_bytes()).is_err() {
            return After::Close;
        }
        if reply.after != After::Continue {
            return reply.after;
        }
    }
}

fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{text}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(readers: usize) -> (Mutex<Registry>, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "quorum-openpgp-card-test-{}-{readers}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let table: String = (0..readers)
            .map(|i| format!("{i}\t{}\tQuorum Sim OpenPGP A 00 0{i}\n", 1 + i))
            .collect();
        std::fs::write(dir.join("readers.tsv"), table).unwrap();
        let options = Options {
            readers: dir.join("readers.tsv"),
            state_dir: dir.join("cards"),
            vpcd_host: "127.0.0.1".to_owned(),
            control_port: 0,
            port_file: None,
            pid_file: None,
        };
        (Mutex::new(Registry::open(&options).unwrap()), dir)
    }

    fn ask(sim: &Mutex<Registry>, line: &str) -> Vec<String> {
        handle(sim, line).lines
    }

    use std::path::PathBuf;

    #[test]
    fn requests_and_refusals() {
        let (sim, dir) = registry(2);
        assert_eq!(ask(&sim, "ping"), vec![format!("ok {NAME} readers=2")]);
        assert_eq!(ask(&sim, "NEW"), vec!["ok o1"]);
        assert_eq!(ask(&sim, "new"), vec!["ok o2"]);
        assert_eq!(ask(&sim, "new 5"), vec!["err usage: new"]);
        assert_eq!(
            ask(&sim, "list"),
            vec!["ok 2", "o1 - 51530001", "o2 - 51530002"]
        );
        assert_eq!(
            ask(&sim, "insert o9 0"),
            vec!["err no card 'o9' (see: list)"]
        );
        assert_eq!(
            ask(&sim, "insert o1 2"),
            vec!["err no reader 2; readers are 0..1"]
        );
        assert_eq!(
            ask(&sim, "insert o1 x"),
            vec!["err reader must be a number 0..1, got 'x'"]
        );
        assert_eq!(ask(&sim, "remove 1"), vec!["ok -"]);
        assert_eq!(ask(&sim, ""), vec!["err empty request; try: help"]);
        assert_eq!(
            ask(&sim, "fly"),
            vec!["err unknown command 'fly'; try: help"]
        );
        assert_eq!(ask(&sim, "help")[0], format!("ok {}", HELP.len()));
        assert_eq!(
            ask(&sim, "readers"),
            vec![
                "ok 2",
                "0 1 empty - Quorum Sim OpenPGP A 00 00",
                "1 2 empty - Quorum Sim OpenPGP A 00 01"
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_inserted_card_is_busy_until_removed() {
        let (sim, dir) = registry(2);
        ask(&sim, "new");
        // Nothing listens on the reader ports: the card keeps trying to connect.
        assert_eq!(ask(&sim, "insert o1 0"), vec!["ok"]);
        assert_eq!(
            ask(&sim, "insert o1 1"),
            vec!["err card o1 is already in reader 0; remove it first"]
        );
        ask(&sim, "new");
        assert_eq!(
            ask(&sim, "insert o2 0"),
            vec!["err reader 0 already holds card o1; remove it first"]
        );
        assert_eq!(ask(&sim, "list")[1], "o1 0 51530001");
        assert_eq!(ask(&sim, "remove 0"), vec!["ok o1"]);
        assert_eq!(ask(&sim, "insert o1 1"), vec!["ok"]);
        assert_eq!(ask(&sim, "clear"), vec!["ok 1"]);
        assert_eq!(ask(&sim, "list")[1], "o1 - 51530001");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn cards_outlive_the_program() {
        let (sim, dir) = registry(1);
        ask(&sim, "new");
        ask(&sim, "new");
        drop(sim);
        let options = Options {
            readers: dir.join("readers.tsv"),
            state_dir: dir.join("cards"),
            vpcd_host: "127.0.0.1".to_owned(),
            control_port: 0,
            port_file: None,
            pid_file: None,
        };
        let sim = Mutex::new(Registry::open(&options).unwrap());
        assert_eq!(
            ask(&sim, "list"),
            vec!["ok 2", "o1 - 51530001", "o2 - 51530002"]
        );
        assert_eq!(ask(&sim, "new"), vec!["ok o3"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

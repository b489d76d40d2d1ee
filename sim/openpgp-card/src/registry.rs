//! The cards and readers of this program: which card is in which reader, each card's
//! directory, the threads of the cards that are in.

use std::collections::BTreeMap;
use std::fs;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::apdu::Transport;
use crate::link::{self, Link};
use crate::{log, platform, Options};

/// Manufacturer in the card's AID: FFFF is reserved for test cards (OpenPGP card
/// specification 3.4, § 4.2.1), so no tool mistakes these for real ones.
pub const MANUFACTURER: [u8; 2] = [0xFF, 0xFF];

/// Serial numbers are this prefix ("QS", quorum sim) and the card's number.
const SERIAL_PREFIX: u32 = 0x5153_0000;

/// The largest card number: the serial keeps it in its lower 16 bits.
const MAX_CARDS: u32 = 0xFFFF;

/// The name of the file that marks a directory as a card's and holds its serial.
const SERIAL_FILE: &str = "serial";

pub struct Card {
    pub id: String,
    pub serial: [u8; 4],
    dir: PathBuf,
    pub reader: Option<usize>,
}

pub struct Reader {
    pub index: usize,
    pub port: u16,
    pub name: String,
    addr: SocketAddr,
    inserted: Option<Inserted>,
}

struct Inserted {
    card: u32,
    link: Arc<Link>,
    thread: JoinHandle<()>,
}

impl Reader {
    pub fn card(&self) -> Option<u32> {
        self.inserted.as_ref().map(|i| i.card)
    }

    pub fn link_state(&self) -> u8 {
        self.inserted
            .as_ref()
            .map_or(link::EMPTY, |i| i.link.state())
    }
}

pub struct Registry {
    state_dir: PathBuf,
    pub cards: BTreeMap<u32, Card>,
    pub readers: Vec<Reader>,
}

pub fn card_id(number: u32) -> String {
    format!("o{number}")
}

pub fn serial_hex(serial: &[u8; 4]) -> String {
    serial.iter().map(|b| format!("{b:02X}")).collect()
}

impl Registry {
    /// Reads the reader table and the cards already in the state directory (a card's
    /// state outlives this program, as a real card outlives its reader).
    pub fn open(options: &Options) -> Result<Registry, String> {
        let readers = read_readers(&options.readers, &options.vpcd_host)?;
        fs::create_dir_all(&options.state_dir)
            .map_err(|e| format!("cannot create {}: {e}", options.state_dir.display()))?;
        let mut cards = BTreeMap::new();
        let entries = fs::read_dir(&options.state_dir)
            .map_err(|e| format!("cannot read {}: {e}", options.state_dir.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(number) = name.strip_prefix('o').and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if card_id(number) != name {
                continue;
            }
            let dir = entry.path();
            let Ok(text) = fs::read_to_string(dir.join(SERIAL_FILE)) else {
                continue;
            };
            let serial = parse_serial(text.trim())
                .ok_or_else(|| format!("{}: not 8 hex digits", dir.join(SERIAL_FILE).display()))?;
            cards.insert(
                number,
                Card {
                    id: name,
                    serial,
                    dir,
                    reader: None,
                },
            );
        }
        if !cards.is_empty() {
            log(&format!(
                "{} card(s) kept from an earlier run in {}",
                cards.len(),
                options.state_dir.display()
            ));
        }
        Ok(Registry {
            state_dir: options.state_dir.clone(),
            cards,
            readers,
        })
    }

    /// A new card, out of every reader: its directory with its serial number; its
    /// flash is made at its first power-up.
    pub fn new_card(&mut self) -> Result<String, String> {
        let number = self.cards.keys().next_back().map_or(1, |n| n + 1);
        if number > MAX_CARDS {
            return Err(format!(
                "at most {MAX_CARDS} cards; start with an empty state directory"
            ));
        }
        let id = card_id(number);
        let serial = (SERIAL_PREFIX | number).to_be_bytes();
        let dir = self.state_dir.join(&id);
        // Left over from a card whose serial file was never written: start it afresh.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let tmp = dir.join("serial.tmp");
        fs::write(&tmp, format!("{}\n", serial_hex(&serial)))
            .and_then(|()| fs::rename(&tmp, dir.join(SERIAL_FILE)))
            .map_err(|e| format!("cannot write the serial of {id} in {}: {e}", dir.display()))?;
        log(&format!("{id}: new card, serial {}", serial_hex(&serial)));
        self.cards.insert(
            number,
            Card {
                id: id.clone(),
                serial,
                dir,
                reader: None,
            },
        );
        Ok(id)
    }

    fn card_number(&self, id: &str) -> Result<u32, String> {
        id.strip_prefix('o')
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| self.cards.contains_key(n) && card_id(*n) == id)
            .ok_or_else(|| format!("no card '{id}' (see: list)"))
    }

    pub fn reader(&self, index: usize) -> Result<&Reader, String> {
        self.readers.get(index).ok_or_else(|| self.no_reader(index))
    }

    fn no_reader(&self, index: usize) -> String {
        match self.readers.len() {
            0 => "this program serves no readers".to_owned(),
            n => format!("no reader {index}; readers are 0..{}", n - 1),
        }
    }

    /// Puts a card into a reader: the card powers up and connects to vpcd.
    pub fn insert(&mut self, id: &str, index: usize) -> Result<(), String> {
        let number = self.card_number(id)?;
        let reader = self.reader(index)?;
        if let Some(occupant) = reader.card() {
            return Err(format!(
                "reader {index} already holds card {}; remove it first",
                card_id(occupant)
            ));
        }
        let card = &self.cards[&number];
        if let Some(current) = card.reader {
            return Err(format!(
                "card {id} is already in reader {current}; remove it first"
            ));
        }
        let link = Arc::new(Link::default());
        let thread = {
            let link = Arc::clone(&link);
            let dir = card.dir.clone();
            let serial = card.serial;
            let addr = reader.addr;
            let label = format!("{id} in reader {index}");
            std::thread::Builder::new()
                .name(format!("{id}@{index}"))
                .spawn(move || run_card(&dir, serial, addr, &label, &link))
                .map_err(|e| format!("cannot start a thread for card {id}: {e}"))?
        };
        self.readers[index].inserted = Some(Inserted {
            card: number,
            link,
            thread,
        });
        self.cards
            .get_mut(&number)
            .expect("the card was looked up above")
            .reader = Some(index);
        log(&format!(
            "{id}: inserted into reader {index} ({})",
            self.readers[index].name
        ));
        Ok(())
    }

    /// Pulls the card out of a reader (power lost, socket closed); returns its id, or
    /// None when the reader was empty. Returns once the card's flash is unmounted, so
    /// it can go into another reader at once.
    pub fn remove(&mut self, index: usize) -> Result<Option<String>, String> {
        if index >= self.readers.len() {
            return Err(self.no_reader(index));
        }
        let Some(inserted) = self.readers[index].inserted.take() else {
            return Ok(None);
        };
        inserted.link.pull();
        if inserted.thread.join().is_err() {
            log(&format!("reader {index}: the card's thread had panicked"));
        }
        let card = self
            .cards
            .get_mut(&inserted.card)
            .expect("an inserted card is in the registry");
        card.reader = None;
        log(&format!("{}: removed from reader {index}", card.id));
        Ok(Some(card.id.clone()))
    }

    /// Pulls every card; returns how many were in.
    pub fn clear(&mut self) -> usize {
        let mut pulled = 0;
        for index in 0..self.readers.len() {
            if let Ok(Some(_)) = self.remove(index) {
                pulled += 1;
            }
        }
        pulled
    }
}

/// A card's life in one reader: powered from insertion to removal.
fn run_card(dir: &Path, serial: [u8; 4], addr: SocketAddr, label: &str, link: &Link) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        platform::with_powered_card(dir, |client| {
            let mut options = opcard::Options::default();
            options.manufacturer = MANUFACTURER;
            options.serial = serial;
            // What this build's trussed implements; opcard's default list also names
            // curves (secp256k1, brainpool) whose keys trussed 0.2 cannot make.
            let algorithms = opcard::AllowedAlgorithms::P_256
                | opcard::AllowedAlgorithms::X_25519
                | opcard::AllowedAlgorithms::ED_25519;
            options.allowed_generation = algorithms;
            options.allowed_imports = algorithms;
            let mut card = Transport::new(opcard::Card::new(client, options));
            link::serve(addr, label, &mut card, link);
        })
    }));
    if let Err(panic) = outcome {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        log(&format!(
            "{label}: the card failed ({what}); it stays out of service until removed"
        ));
    }
}

fn parse_serial(text: &str) -> Option<[u8; 4]> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok().map(u32::to_be_bytes)
}

/// The reader table: `INDEX<TAB>PORT<TAB>PC/SC NAME` per line, indexes 0, 1, ... in order
/// (the card farm's format).
fn read_readers(path: &Path, host: &str) -> Result<Vec<Reader>, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut readers = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let mut fields = line.splitn(3, '\t');
        let (Some(index), Some(port), Some(name)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("{}: want INDEX<TAB>PORT<TAB>NAME", at()));
        };
        if index.parse::<usize>().ok() != Some(readers.len()) {
            return Err(format!(
                "{}: index {index} out of order (want {})",
                at(),
                readers.len()
            ));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{}: port must be 1..65535, got '{port}'", at()))?;
        let addr = (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| format!("cannot resolve vpcd host '{host}'"))?;
        readers.push(Reader {
            index: readers.len(),
            port,
            name: name.to_owned(),
            addr,
            inserted: None,
        });
    }
    Ok(readers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_round_trip_and_differ() {
        let a = (SERIAL_PREFIX | 1).to_be_bytes();
        let b = (SERIAL_PREFIX | 2).to_be_bytes();
        assert_ne!(a, b);
        assert_eq!(serial_hex(&a), "51530001");
        assert_eq!(parse_serial("51530001"), Some(a));
        assert_eq!(parse_serial("5153001"), None);
        assert_eq!(parse_serial("5153000g"), None);
    }
}

//! [`MemoryReaders`]: named in-memory readers whose cards a test inserts, removes and
//! pulls, with waits that play a queue of scripted card movements instead of blocking.
//!
//! Waiting: [`Readers::wait_for_card`], [`Readers::wait_for_removal`] and
//! [`Readers::wait_for_change`] return at once when the readers already are as awaited;
//! otherwise they apply the queued [`Movement`]s one after another until they are, and time
//! out (`None` / `false`) when the queue runs dry. So a one-reader "insert the next card"
//! flow or an any-reader flow runs deterministically from a script, and a wait that nobody
//! scripted is a timeout, not a hang.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::applet::MemoryApplet;
use crate::readers::{Connection, ReaderInfo, Readers};
use crate::transport::{RawResponse, Transport, TransportError};

/// A card shared between the readers and the test, which inspects it afterwards.
pub type SharedCard = Rc<RefCell<MemoryApplet>>;

/// Wraps an applet so that readers and test share it.
pub fn shared(applet: MemoryApplet) -> SharedCard {
    Rc::new(RefCell::new(applet))
}

/// The ATR every in-memory card answers with (a plausible T=1 JavaCard ATR).
pub const MEMORY_ATR: [u8; 6] = [0x3B, 0x80, 0x80, 0x01, 0x01, 0x01];

/// One scripted movement of a card, played by the next wait that needs it.
#[derive(Clone)]
pub enum Movement {
    /// A custodian puts this card into the reader (which must be empty).
    Insert {
        /// The reader.
        reader: String,
        /// The card.
        card: SharedCard,
    },
    /// A custodian takes the card out of the reader (which must hold one).
    Remove {
        /// The reader.
        reader: String,
    },
}

impl std::fmt::Debug for Movement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Movement::Insert { reader, card } => {
                write!(
                    f,
                    "insert {:?} into {reader:?}",
                    card.borrow().fingerprint()
                )
            }
            Movement::Remove { reader } => write!(f, "remove from {reader:?}"),
        }
    }
}

/// A card to be pulled out in the middle of a ceremony.
struct Pull {
    /// APDUs still let through before the pull.
    after: usize,
    /// What the transmit that meets the pull fails with.
    error: TransportError,
    /// Whether the card executes that APDU before it leaves (its answer is lost).
    executes: bool,
}

struct Slot {
    name: String,
    card: Option<SharedCard>,
    /// Bumped at every insertion and removal: [`ReaderInfo::baseline`].
    events: u64,
    /// Open connections to the card in this reader (connections are exclusive).
    connected: bool,
    pull: Option<Pull>,
}

#[derive(Default)]
struct State {
    slots: Vec<Slot>,
    script: VecDeque<Movement>,
    /// Every wait the ceremony made, in order, for tests that check the prompting.
    waits: Vec<String>,
}

impl State {
    fn slot(&mut self, reader: &str) -> Result<&mut Slot, TransportError> {
        self.slots
            .iter_mut()
            .find(|s| s.name == reader)
            .ok_or_else(|| TransportError::UnknownReader(reader.to_owned()))
    }

    fn infos(&self) -> Vec<ReaderInfo> {
        self.slots
            .iter()
            .map(|s| ReaderInfo {
                atr: if s.card.is_some() {
                    MEMORY_ATR.to_vec()
                } else {
                    Vec::new()
                },
                baseline: s.events,
                ..ReaderInfo::new(&s.name, s.card.is_some())
            })
            .collect()
    }

    /// Applies the next scripted movement; `false` when there is none.
    fn play(&mut self) -> bool {
        let Some(movement) = self.script.pop_front() else {
            return false;
        };
        match movement {
            Movement::Insert { reader, card } => self.insert(&reader, card),
            Movement::Remove { reader } => {
                self.remove(&reader);
            }
        }
        true
    }

    fn insert(&mut self, reader: &str, card: SharedCard) {
        let slot = self
            .slot(reader)
            .unwrap_or_else(|_| panic!("no reader {reader:?} to insert a card into"));
        assert!(
            slot.card.is_none(),
            "the script inserts a card into {reader:?}, which holds one"
        );
        card.borrow_mut().power_up();
        slot.card = Some(card);
        slot.events += 1;
        slot.connected = false;
        slot.pull = None;
    }

    fn remove(&mut self, reader: &str) -> Option<SharedCard> {
        let slot = self
            .slot(reader)
            .unwrap_or_else(|_| panic!("no reader {reader:?} to remove a card from"));
        let card = slot.card.take();
        if card.is_some() {
            slot.events += 1;
        }
        slot.connected = false;
        slot.pull = None;
        if let Some(card) = &card {
            // Out of the reader, the card has no power: its session is gone.
            card.borrow_mut().power_up();
        }
        card
    }
}

/// Named in-memory readers for tests: cards come and go as the test (or its script) says.
#[derive(Clone, Default)]
pub struct MemoryReaders {
    state: Rc<RefCell<State>>,
}

impl MemoryReaders {
    /// Readers with these names, all empty.
    pub fn new(names: &[&str]) -> MemoryReaders {
        let readers = MemoryReaders::default();
        readers.state.borrow_mut().slots = names
            .iter()
            .map(|n| Slot {
                name: (*n).to_owned(),
                card: None,
                events: 0,
                connected: false,
                pull: None,
            })
            .collect();
        readers
    }

    /// One reader per card, named "Reader 0", "Reader 1", …, each card inserted: the
    /// every-reader setting.
    pub fn with_cards(cards: &[SharedCard]) -> MemoryReaders {
        let names: Vec<String> = (0..cards.len()).map(|i| format!("Reader {i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let readers = MemoryReaders::new(&refs);
        for (name, card) in names.iter().zip(cards) {
            readers.insert(name, card);
        }
        readers
    }

    /// Puts a card into a reader now (the reader must be empty).
    pub fn insert(&self, reader: &str, card: &SharedCard) {
        self.state.borrow_mut().insert(reader, Rc::clone(card));
    }

    /// Takes the card out of a reader now; returns it (`None` if the reader was empty).
    pub fn remove(&self, reader: &str) -> Option<SharedCard> {
        self.state.borrow_mut().remove(reader)
    }

    /// The card in a reader now.
    pub fn card_in(&self, reader: &str) -> Option<SharedCard> {
        self.state
            .borrow_mut()
            .slot(reader)
            .ok()
            .and_then(|s| s.card.clone())
    }

    /// Queues a movement for the next wait that needs one.
    pub fn then(&self, movement: Movement) -> &Self {
        self.state.borrow_mut().script.push_back(movement);
        self
    }

    /// Queues: this card is inserted into `reader`.
    pub fn then_insert(&self, reader: &str, card: &SharedCard) -> &Self {
        self.then(Movement::Insert {
            reader: reader.to_owned(),
            card: Rc::clone(card),
        })
    }

    /// Queues: the card in `reader` is taken out.
    pub fn then_remove(&self, reader: &str) -> &Self {
        self.then(Movement::Remove {
            reader: reader.to_owned(),
        })
    }

    /// Queues the custodians of a one-reader ceremony: each card is inserted into `reader`
    /// when a card is asked for, and taken out when its removal is awaited.
    pub fn then_present_in_turn(&self, reader: &str, cards: &[&SharedCard]) -> &Self {
        for card in cards {
            self.then_insert(reader, card);
            self.then_remove(reader);
        }
        self
    }

    /// Movements queued and not yet played.
    pub fn script_left(&self) -> usize {
        self.state.borrow().script.len()
    }

    /// The waits the ceremony made, in order ("card in R", "removal from R", "change").
    pub fn waits(&self) -> Vec<String> {
        self.state.borrow().waits.clone()
    }

    /// The card in `reader` is pulled out after `after` more APDUs: the next transmit fails
    /// with `error` (the card never sees that APDU) and the reader is empty afterwards.
    pub fn pull_after(&self, reader: &str, after: usize, error: TransportError) {
        self.set_pull(reader, after, error, false);
    }

    /// Like [`MemoryReaders::pull_after`], but the card executes that APDU before it
    /// leaves; only its answer is lost (a card pulled after its commit point).
    pub fn pull_after_executing(&self, reader: &str, after: usize, error: TransportError) {
        self.set_pull(reader, after, error, true);
    }

    fn set_pull(&self, reader: &str, after: usize, error: TransportError, executes: bool) {
        let mut state = self.state.borrow_mut();
        let slot = state.slot(reader).expect("a known reader");
        assert!(slot.card.is_some(), "no card in {reader:?} to pull");
        slot.pull = Some(Pull {
            after,
            error,
            executes,
        });
    }
}

impl Readers for MemoryReaders {
    fn reader_names(&self) -> Result<Vec<String>, TransportError> {
        Ok(self
            .state
            .borrow()
            .slots
            .iter()
            .map(|s| s.name.clone())
            .collect())
    }

    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError> {
        Ok(self.state.borrow().infos())
    }

    fn connect(&self, reader: &str) -> Result<Connection, TransportError> {
        let mut state = self.state.borrow_mut();
        let slot = state.slot(reader)?;
        let Some(card) = slot.card.clone() else {
            return Err(TransportError::NoCard(reader.to_owned()));
        };
        if slot.connected {
            return Err(TransportError::CardInUse(reader.to_owned()));
        }
        slot.connected = true;
        card.borrow_mut().power_up();
        Ok(Box::new(MemoryConnection {
            state: Rc::clone(&self.state),
            reader: reader.to_owned(),
            card,
            lost: false,
        }))
    }

    fn wait_for_card(
        &self,
        reader: &str,
        _timeout: Option<Duration>,
    ) -> Result<Option<ReaderInfo>, TransportError> {
        let mut state = self.state.borrow_mut();
        state.waits.push(format!("card in {reader}"));
        state.slot(reader)?;
        loop {
            if let Some(info) = state
                .infos()
                .into_iter()
                .find(|i| i.name == reader && i.card_present)
            {
                return Ok(Some(info));
            }
            if !state.play() {
                return Ok(None);
            }
        }
    }

    fn wait_for_removal(
        &self,
        reader: &str,
        _timeout: Option<Duration>,
    ) -> Result<bool, TransportError> {
        let mut state = self.state.borrow_mut();
        state.waits.push(format!("removal from {reader}"));
        loop {
            if state.slot(reader)?.card.is_none() {
                return Ok(true);
            }
            if !state.play() {
                return Ok(false);
            }
        }
    }

    fn wait_for_change(
        &self,
        known: &[ReaderInfo],
        _timeout: Option<Duration>,
    ) -> Result<Option<Vec<ReaderInfo>>, TransportError> {
        let mut state = self.state.borrow_mut();
        state.waits.push("change".to_owned());
        let same = |now: &[ReaderInfo]| {
            now.len() == known.len()
                && now.iter().zip(known).all(|(a, b)| {
                    a.name == b.name && a.card_present == b.card_present && a.baseline == b.baseline
                })
        };
        loop {
            let now = state.infos();
            if !same(&now) {
                return Ok(Some(now));
            }
            if !state.play() {
                return Ok(None);
            }
        }
    }
}

/// An exclusive connection to the card in one in-memory reader.
struct MemoryConnection {
    state: Rc<RefCell<State>>,
    reader: String,
    card: SharedCard,
    /// The card left the reader (or was swapped) since this connection opened.
    lost: bool,
}

impl MemoryConnection {
    /// Whether this connection's card is still the one in the reader.
    fn still_there(&mut self) -> bool {
        if self.lost {
            return false;
        }
        let mut state = self.state.borrow_mut();
        let here = state
            .slot(&self.reader)
            .ok()
            .and_then(|s| s.card.as_ref().map(|c| Rc::ptr_eq(c, &self.card)))
            .unwrap_or(false);
        self.lost = !here;
        here
    }
}

impl Transport for MemoryConnection {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        if !self.still_there() {
            return Err(TransportError::CardRemoved);
        }
        let pulled = {
            let mut state = self.state.borrow_mut();
            let slot = state.slot(&self.reader)?;
            match slot.pull.as_mut() {
                Some(pull) if pull.after == 0 => slot.pull.take(),
                Some(pull) => {
                    pull.after -= 1;
                    None
                }
                None => None,
            }
        };
        if let Some(pull) = pulled {
            if pull.executes {
                self.card.borrow_mut().process(command);
            }
            self.state.borrow_mut().remove(&self.reader);
            self.lost = true;
            return Err(pull.error);
        }
        let (data, sw): (Zeroizing<Vec<u8>>, u16) = self.card.borrow_mut().process(command);
        Ok(RawResponse::new(data, sw))
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        if !self.still_there() {
            return Err(TransportError::CardRemoved);
        }
        self.card.borrow_mut().power_up();
        Ok(())
    }
}

impl Drop for MemoryConnection {
    fn drop(&mut self) {
        if self.still_there() {
            // Disconnecting resets the card, as quorumctl's PC/SC connections do.
            self.card.borrow_mut().power_up();
            if let Ok(slot) = self.state.borrow_mut().slot(&self.reader) {
                slot.connected = false;
            }
        }
    }
}

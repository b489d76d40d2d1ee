//! [`MemoryReaders`]: named in-memory readers whose cards a test inserts, removes and
//! pulls, with waits that play a queue of scripted card movements instead of blocking.
//!
//! A reader holds an applet card ([`SharedCard`]) or an OpenPGP card ([`SharedOpenPgp`]):
//! both are [`Insertable`], so every way of putting a card in takes either kind, and each
//! card answers its own ATR (the ceremonies decide the kind by SELECT, not by ATR).
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
use super::openpgp::MemoryOpenPgp;
use crate::readers::{Connection, ReaderInfo, Readers};
use crate::transport::{RawResponse, Transport, TransportError};

/// A card shared between the readers and the test, which inspects it afterwards.
pub type SharedCard = Rc<RefCell<MemoryApplet>>;

/// Wraps an applet so that readers and test share it.
pub fn shared(applet: MemoryApplet) -> SharedCard {
    Rc::new(RefCell::new(applet))
}

/// An OpenPGP card shared between the readers and the test, which inspects it afterwards.
pub type SharedOpenPgp = Rc<RefCell<MemoryOpenPgp>>;

/// Wraps an OpenPGP card so that readers and test share it.
pub fn shared_openpgp(card: MemoryOpenPgp) -> SharedOpenPgp {
    Rc::new(RefCell::new(card))
}

/// The ATR every in-memory applet card answers with (a plausible T=1 JavaCard ATR).
pub const MEMORY_ATR: [u8; 6] = [0x3B, 0x80, 0x80, 0x01, 0x01, 0x01];

/// The ATR an in-memory OpenPGP card answers with: opcard's in the simulator
/// (sim/openpgp-card/README.md), T=1 with the historical bytes of DO 5F52, so a reader
/// listing tells the two kinds apart as it would with real cards.
pub const OPENPGP_ATR: [u8; 17] = [
    0x3B, 0x8A, 0x81, 0x31, 0xFE, 0x45, 0x00, 0x31, 0xF5, 0x73, 0xC0, 0x01, 0x60, 0x05, 0x90, 0x00,
    0x02,
];

/// A card a reader holds, of either kind, so one set of readers may mix them as a
/// ceremony's table does.
#[derive(Clone)]
pub enum HeldCard {
    /// A quorum-applet card.
    Applet(SharedCard),
    /// An OpenPGP card.
    OpenPgp(SharedOpenPgp),
}

impl HeldCard {
    /// The applet card, if this is one: what [`MemoryReaders::card_in`] returns.
    pub fn applet(&self) -> Option<&SharedCard> {
        match self {
            HeldCard::Applet(card) => Some(card),
            HeldCard::OpenPgp(_) => None,
        }
    }

    /// The OpenPGP card, if this is one: what [`MemoryReaders::openpgp_in`] returns.
    pub fn openpgp(&self) -> Option<&SharedOpenPgp> {
        match self {
            HeldCard::OpenPgp(card) => Some(card),
            HeldCard::Applet(_) => None,
        }
    }

    /// Whether both hold the very same card (not an equal one).
    pub fn same_card(&self, other: &HeldCard) -> bool {
        match (self, other) {
            (HeldCard::Applet(a), HeldCard::Applet(b)) => Rc::ptr_eq(a, b),
            (HeldCard::OpenPgp(a), HeldCard::OpenPgp(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The card's own ATR: a reader shows it while the card is in.
    pub fn atr(&self) -> Vec<u8> {
        match self {
            HeldCard::Applet(_) => MEMORY_ATR.to_vec(),
            HeldCard::OpenPgp(_) => OPENPGP_ATR.to_vec(),
        }
    }

    /// A reset (insertion, disconnect, removal): the card's session is gone.
    fn power_up(&self) {
        match self {
            HeldCard::Applet(card) => card.borrow_mut().power_up(),
            HeldCard::OpenPgp(card) => card.borrow_mut().power_up(),
        }
    }

    /// Runs one command APDU on the card.
    fn process(&self, command: &[u8]) -> (Zeroizing<Vec<u8>>, u16) {
        match self {
            HeldCard::Applet(card) => card.borrow_mut().process(command),
            HeldCard::OpenPgp(card) => card.borrow_mut().process(command),
        }
    }
}

impl std::fmt::Debug for HeldCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeldCard::Applet(card) => write!(f, "applet {:?}", card.borrow().fingerprint()),
            HeldCard::OpenPgp(card) => write!(
                f,
                "OpenPGP card {:?}",
                card.borrow().card_key().map(|k| k.fingerprint())
            ),
        }
    }
}

/// A card a test can put into a reader, whichever kind it is, so that `insert`,
/// `then_insert`, `then_present_in_turn` and `with_cards` take either kind unchanged.
pub trait Insertable {
    /// The card as a reader holds it (shared with the test, not copied).
    fn held(&self) -> HeldCard;
}

impl Insertable for SharedCard {
    fn held(&self) -> HeldCard {
        HeldCard::Applet(Rc::clone(self))
    }
}

impl Insertable for SharedOpenPgp {
    fn held(&self) -> HeldCard {
        HeldCard::OpenPgp(Rc::clone(self))
    }
}

impl Insertable for HeldCard {
    fn held(&self) -> HeldCard {
        self.clone()
    }
}

impl<C: Insertable + ?Sized> Insertable for &C {
    fn held(&self) -> HeldCard {
        (**self).held()
    }
}

/// One scripted movement of a card, played by the next wait that needs it.
#[derive(Clone)]
pub enum Movement {
    /// A custodian puts this card into the reader (which must be empty).
    Insert {
        /// The reader.
        reader: String,
        /// The card, of either kind.
        card: HeldCard,
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
            Movement::Insert { reader, card } => write!(f, "insert {card:?} into {reader:?}"),
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
    card: Option<HeldCard>,
    /// Bumped at every insertion and removal: [`ReaderInfo::baseline`].
    events: u64,
    /// Open connections to the card in this reader (connections are exclusive).
    connected: bool,
    pull: Option<Pull>,
    /// Every command with this INS fails with this error and the card stays in the reader
    /// (a reader or card that keeps failing one exchange).
    failing: Option<(u8, TransportError)>,
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
                atr: s.card.as_ref().map(HeldCard::atr).unwrap_or_default(),
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

    fn insert(&mut self, reader: &str, card: HeldCard) {
        let slot = self
            .slot(reader)
            .unwrap_or_else(|_| panic!("no reader {reader:?} to insert a card into"));
        assert!(
            slot.card.is_none(),
            "the script inserts a card into {reader:?}, which holds one"
        );
        card.power_up();
        slot.card = Some(card);
        slot.events += 1;
        slot.connected = false;
        slot.pull = None;
    }

    fn remove(&mut self, reader: &str) -> Option<HeldCard> {
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
            card.power_up();
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
                failing: None,
            })
            .collect();
        readers
    }

    /// One reader per card, named "Reader 0", "Reader 1", …, each card inserted: the
    /// every-reader setting (a mixed table: a slice of [`HeldCard`]s).
    pub fn with_cards<C: Insertable>(cards: &[C]) -> MemoryReaders {
        let names: Vec<String> = (0..cards.len()).map(|i| format!("Reader {i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let readers = MemoryReaders::new(&refs);
        for (name, card) in names.iter().zip(cards) {
            readers.insert(name, card);
        }
        readers
    }

    /// Puts a card of either kind into a reader now (the reader must be empty).
    pub fn insert<C: Insertable + ?Sized>(&self, reader: &str, card: &C) {
        self.state.borrow_mut().insert(reader, card.held());
    }

    /// Takes the card out of a reader now; returns it (`None` if the reader was empty).
    pub fn remove(&self, reader: &str) -> Option<HeldCard> {
        self.state.borrow_mut().remove(reader)
    }

    /// The card in a reader now, whichever kind it is.
    pub fn held_in(&self, reader: &str) -> Option<HeldCard> {
        self.state
            .borrow_mut()
            .slot(reader)
            .ok()
            .and_then(|s| s.card.clone())
    }

    /// The applet card in a reader now (`None` if empty or an OpenPGP card is there).
    pub fn card_in(&self, reader: &str) -> Option<SharedCard> {
        self.held_in(reader).and_then(|c| c.applet().cloned())
    }

    /// The OpenPGP card in a reader now (`None` if empty or an applet card is there).
    pub fn openpgp_in(&self, reader: &str) -> Option<SharedOpenPgp> {
        self.held_in(reader).and_then(|c| c.openpgp().cloned())
    }

    /// Queues a movement for the next wait that needs one.
    pub fn then(&self, movement: Movement) -> &Self {
        self.state.borrow_mut().script.push_back(movement);
        self
    }

    /// Queues: this card (of either kind) is inserted into `reader`.
    pub fn then_insert<C: Insertable + ?Sized>(&self, reader: &str, card: &C) -> &Self {
        self.then(Movement::Insert {
            reader: reader.to_owned(),
            card: card.held(),
        })
    }

    /// Queues: the card in `reader` is taken out.
    pub fn then_remove(&self, reader: &str) -> &Self {
        self.then(Movement::Remove {
            reader: reader.to_owned(),
        })
    }

    /// Queues the custodians of a one-reader ceremony: each card is inserted into `reader`
    /// when a card is asked for, and taken out when its removal is awaited (a mixed turn:
    /// `&[&dyn Insertable]` or [`HeldCard`]s).
    pub fn then_present_in_turn<C: Insertable + ?Sized>(
        &self,
        reader: &str,
        cards: &[&C],
    ) -> &Self {
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

    /// Makes every command with instruction byte `ins` sent to the card in `reader` fail
    /// with `error` while the card stays in the reader, as a reader that keeps failing one
    /// exchange does (not a card pulled out).
    pub fn fail_every(&self, reader: &str, ins: u8, error: TransportError) {
        let mut state = self.state.borrow_mut();
        let slot = state.slot(reader).expect("a known reader");
        slot.failing = Some((ins, error));
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
        card.power_up();
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
    card: HeldCard,
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
            .and_then(|s| s.card.as_ref().map(|c| c.same_card(&self.card)))
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
            if let Some((ins, error)) = &slot.failing {
                if command.get(1) == Some(ins) {
                    return Err(error.clone());
                }
            }
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
                self.card.process(command);
            }
            self.state.borrow_mut().remove(&self.reader);
            self.lost = true;
            return Err(pull.error);
        }
        let (data, sw): (Zeroizing<Vec<u8>>, u16) = self.card.process(command);
        Ok(RawResponse::new(data, sw))
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        if !self.still_there() {
            return Err(TransportError::CardRemoved);
        }
        self.card.power_up();
        Ok(())
    }
}

impl Drop for MemoryConnection {
    fn drop(&mut self) {
        if self.still_there() {
            // Disconnecting resets the card, as quorumctl's PC/SC connections do.
            self.card.power_up();
            if let Ok(slot) = self.state.borrow_mut().slot(&self.reader) {
                slot.connected = false;
            }
        }
    }
}

//! Where a ceremony's cards come from: every reader at once, or one reader with the cards
//! swapped through it. Waiting uses pcscd's status-change events, never busy polling.

use crate::progress::Progress;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use quorum_card::any::AnyCard;
use quorum_card::card::Card;
use quorum_card::custodian::CustodianCard;
use quorum_card::openpgp::RecordSource;
use quorum_card::readers::{Connection, Readers};
use quorum_card::transport::TransportError;
use quorum_protocol::crypto::CardKey;

use super::interrupt::{sliced, Interrupt, WaitEnd};
use super::CeremonyError;
use crate::progress::Event;

/// How the operator presents cards.
#[derive(Debug, Clone)]
pub enum CardsFrom {
    /// Every card that is in a reader when the ceremony starts.
    EveryReader {
        /// How long to wait for a card pulled out in the middle of its step to come back;
        /// `None`: without a limit.
        put_back: Option<Duration>,
    },
    /// One reader; quorumctl asks for each card in turn and waits for it.
    OneReader {
        /// The reader's full name.
        reader: String,
        /// How long to wait for each insertion or removal; `None`: without a limit.
        timeout: Option<Duration>,
    },
    /// A mix: the cards present first, then each card inserted into any reader.
    AnyReader {
        /// How long to wait for each insertion; `None`: without a limit.
        timeout: Option<Duration>,
    },
}

/// What a wait for a card was waiting for, when it timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Awaited {
    /// A card to be put in.
    Insertion,
    /// The card to be taken out.
    Removal,
}

impl std::fmt::Display for Awaited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Awaited::Insertion => "a card to be inserted",
            Awaited::Removal => "the card to be removed",
        })
    }
}

/// How long pcscd may take to notice that a card left its reader (it polls every 400 ms).
const PCSC_NOTICE: Duration = Duration::from_secs(2);

/// How long a card pulled out too early is waited for with every reader, unless the caller
/// says otherwise (quorumctl passes `--timeout`).
pub const PUT_BACK_TIMEOUT: Duration = Duration::from_secs(300);

/// A card presented for the ceremony, connected exclusively.
pub struct Presented {
    /// The reader it is in.
    pub reader: String,
    /// The open session.
    pub card: Box<dyn CustodianCard>,
}

/// Hands out cards one by one according to [`CardsFrom`].
pub struct Presenter<'a> {
    ctx: &'a dyn Readers,
    from: CardsFrom,
    queue: VecDeque<String>,
    trace: bool,
    /// Any-reader mode: readers whose current card was already handed out in this pass.
    handed: HashSet<String>,
    /// Consulted before each card is handed out and throughout every wait.
    interrupt: &'a dyn Interrupt,
    /// Every-reader mode: the sessions kept for a later pass, in the order they were kept.
    kept: VecDeque<(Presented, CardKey)>,
    /// The public records OpenPGP cards do not store (a bundle's, or those being written).
    records: RecordSource,
    /// Failures in a row after which the card never left its reader (see [`Presenter::put_back`]).
    stayed: u8,
}

/// How often a card that never left its reader is used again after a failed exchange before
/// the ceremony stops: a reader hiccup is forgiven, a reader that always fails is not.
const STAYED_LIMIT: u8 = 3;

/// A card handed back by [`Presenter::recall`].
pub struct Recalled {
    /// The card, connected.
    pub presented: Presented,
    /// Which of the wanted cards it is (the index `judge` gave it).
    pub index: usize,
    /// The session is new (the card was inserted again), so its PIN state is gone.
    pub fresh: bool,
}

impl<'a> Presenter<'a> {
    /// Lists the readers that hold a card now (every-reader mode) or checks the one reader;
    /// `interrupt` stops the hand-out and the waits when the operator asks.
    pub fn new(
        ctx: &'a dyn Readers,
        from: CardsFrom,
        trace: bool,
        interrupt: &'a dyn Interrupt,
    ) -> Result<Self, CeremonyError> {
        let mut queue = VecDeque::new();
        match &from {
            CardsFrom::EveryReader { .. } => {
                let mut names: Vec<String> = ctx
                    .readers()?
                    .into_iter()
                    .filter(|r| r.card_present)
                    .map(|r| r.name)
                    .collect();
                names.sort();
                queue.extend(names);
                if queue.is_empty() {
                    return Err(CeremonyError::NoCards);
                }
            }
            CardsFrom::OneReader { reader, .. } => {
                if !ctx.reader_names()?.iter().any(|n| n == reader) {
                    return Err(CeremonyError::NoSuchReader(reader.clone()));
                }
            }
            CardsFrom::AnyReader { .. } => {
                if ctx.reader_names()?.is_empty() {
                    return Err(TransportError::NoReaders.into());
                }
            }
        }
        Ok(Presenter {
            ctx,
            from,
            queue,
            trace,
            handed: HashSet::new(),
            interrupt,
            kept: VecDeque::new(),
            records: RecordSource::new(),
            stayed: 0,
        })
    }

    /// Serves OpenPGP cards their public records from `records` (apdu-spec/openpgp.md: the
    /// public record lives in the bundle), instead of the empty source.
    pub fn with_records(mut self, records: RecordSource) -> Self {
        self.records = records;
        self
    }

    /// The public records known to this ceremony (shared, not copied, by cloning): the
    /// same store judges applet cards by their public digest.
    pub fn records(&self) -> &RecordSource {
        &self.records
    }

    /// Whether the operator asked to stop: ceremonies check it between card steps.
    pub fn interrupted(&self) -> bool {
        self.interrupt.requested()
    }

    /// Stops with [`CeremonyError::Interrupted`] when the operator asked to; call it between
    /// card steps.
    pub fn check_interrupt(&self) -> Result<(), CeremonyError> {
        if self.interrupted() {
            return Err(CeremonyError::Interrupted);
        }
        Ok(())
    }

    /// How long to wait for a card that was pulled out too early to come back: the
    /// swapping timeout, or [`PUT_BACK_TIMEOUT`] with every reader.
    pub fn put_back_timeout(&self) -> Option<Duration> {
        match &self.from {
            CardsFrom::EveryReader { put_back } => *put_back,
            CardsFrom::OneReader { timeout, .. } | CardsFrom::AnyReader { timeout } => *timeout,
        }
    }

    /// Waits until a card is in `reader`, in slices so a stop request is seen; `false`
    /// when `timeout` passes (`None`: no limit).
    pub fn wait_card(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<bool, CeremonyError> {
        match sliced(self.interrupt, timeout, |slice| {
            self.ctx.wait_for_card(reader, Some(slice))
        })? {
            Ok(_) => Ok(true),
            Err(WaitEnd::TimedOut) => Ok(false),
            Err(WaitEnd::Interrupted) => Err(CeremonyError::Interrupted),
        }
    }

    /// Waits until `reader` is empty, in slices so a stop request is seen; `false` when
    /// `timeout` passes (`None`: no limit).
    pub fn wait_removal(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<bool, CeremonyError> {
        match sliced(self.interrupt, timeout, |slice| {
            self.ctx
                .wait_for_removal(reader, Some(slice))
                .map(|gone| gone.then_some(()))
        })? {
            Ok(()) => Ok(true),
            Err(WaitEnd::TimedOut) => Ok(false),
            Err(WaitEnd::Interrupted) => Err(CeremonyError::Interrupted),
        }
    }

    /// A card pulled out in the middle of its step: asks for it back in `reader` (the
    /// reader it was in) and returns a new session with it once the card in the reader is
    /// the one `is_it` accepts (another card is named and asked out). `None` when nobody
    /// put it back within [`Presenter::put_back_timeout`].
    pub fn put_back(
        &mut self,
        out: &mut dyn Progress,
        reader: &str,
        wanted: &Wanted,
        is_it: &dyn Fn(&mut dyn CustodianCard) -> Result<bool, CeremonyError>,
    ) -> Result<Option<Presented>, CeremonyError> {
        let deadline = self.put_back_timeout().map(|t| Instant::now() + t);
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let over = |left: Option<Duration>| left.is_some_and(|l| l.is_zero());
        // pcscd notices a pulled card within one poll; a card that never left (a reader
        // hiccup) is used again at once.
        if self.wait_removal(reader, Some(PCSC_NOTICE))? {
            self.stayed = 0;
        } else {
            self.stayed += 1;
            if self.stayed >= STAYED_LIMIT {
                return Err(CeremonyError::ReaderKeepsFailing {
                    reader: reader.to_owned(),
                    times: self.stayed,
                });
            }
        }
        out.tell(Event::Presence(Told::PutBack {
            wanted: wanted.clone(),
            reader: reader.to_owned(),
        }));
        loop {
            let wait = left();
            if over(wait) || !self.wait_card(reader, wait)? {
                return Ok(None);
            }
            match self.open(reader) {
                Ok(mut p) => match is_it(&mut p.card) {
                    Ok(true) => return Ok(Some(p)),
                    Ok(false) => {
                        drop(p);
                        out.tell(Event::Presence(Told::NotTheOne {
                            wanted: wanted.clone(),
                            reader: reader.to_owned(),
                        }));
                    }
                    Err(e) if super::share::LeftTheReader::card_left(&e) => {}
                    Err(e) => return Err(e),
                },
                Err(e) if super::share::LeftTheReader::card_left(&e) => {}
                Err(e) => return Err(e),
            }
            let wait = left();
            if over(wait) || !self.wait_removal(reader, wait)? {
                return Ok(None);
            }
        }
    }

    /// A card that left its reader in the middle of a step that changed nothing on it (its
    /// PIN, opening its share): with every reader it is asked back into the reader it was
    /// in, and `p` gets a new session with it (the step is then redone from its start, PIN
    /// included); `false` when it did not come back in time. When cards are swapped it is
    /// not waited for here: it is asked for in turn, like any card (`false` at once).
    pub fn take_back(
        &mut self,
        out: &mut dyn Progress,
        p: &mut Presented,
        fingerprint: &str,
    ) -> Result<bool, CeremonyError> {
        if self.swapping() {
            return Ok(false);
        }
        p.card = closed_card();
        let is_it = |c: &mut dyn CustodianCard| -> Result<bool, CeremonyError> {
            let reader = p.reader.clone();
            let key = super::identify(c, &reader)?.key;
            Ok(key.is_some_and(|k| k.fingerprint() == fingerprint))
        };
        let wanted = Wanted::Card {
            fingerprint: fingerprint.to_owned(),
        };
        let reader = p.reader.clone();
        match self.put_back(out, &reader, &wanted, &is_it)? {
            Some(back) => {
                *p = back;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Whether cards may come and go during the ceremony (one reader, or a mix), so the
    /// operator is asked for each card and a card's session does not outlast its step.
    pub fn swapping(&self) -> bool {
        !matches!(self.from, CardsFrom::EveryReader { .. })
    }

    /// Whether every card goes through a single reader, so only one is in at a time.
    pub fn one_reader(&self) -> bool {
        matches!(self.from, CardsFrom::OneReader { .. })
    }

    /// Starts a new pass over the cards (for example writing after registering): in
    /// any-reader mode the cards still in their readers are handed out again.
    pub fn again(&mut self) {
        self.handed.clear();
    }

    /// Readers with a card, in every-reader mode, in the order they will be handed out.
    pub fn pending_readers(&self) -> Vec<String> {
        self.queue.iter().cloned().collect()
    }

    /// The cards of the next step: every card present at once in every-reader mode (then
    /// none), else the next card presented, asked for with `ask`. A ceremony that reads
    /// every card of a batch before asking any PIN works the same in every mode.
    pub fn batch(
        &mut self,
        out: &mut dyn Progress,
        wanted: &Wanted,
    ) -> Result<Vec<Presented>, CeremonyError> {
        let mut batch = Vec::new();
        if matches!(self.from, CardsFrom::EveryReader { .. }) {
            while let Some(reader) = self.queue.pop_front() {
                batch.push(self.open(&reader)?);
            }
        } else {
            batch.extend(self.next(out, wanted)?);
        }
        Ok(batch)
    }

    /// How many cards one pass hands out: every card present (every-reader mode), else the
    /// `count` the operator announced (at least one).
    pub fn pass_size(&self, count: usize) -> usize {
        match self.from {
            CardsFrom::EveryReader { .. } => self.queue.len(),
            _ => count.max(1),
        }
    }

    /// Whether no card will come after those handed out (every-reader mode, once every
    /// occupied reader was handed out), so a ceremony can say at once that they are too few.
    pub fn exhausted(&self) -> bool {
        matches!(self.from, CardsFrom::EveryReader { .. }) && self.queue.is_empty()
    }

    /// The next card: in every-reader mode the next occupied reader (`None` when all were
    /// handed out); with one reader, asks for a card with `ask` and waits for it.
    pub fn next(
        &mut self,
        out: &mut dyn Progress,
        wanted: &Wanted,
    ) -> Result<Option<Presented>, CeremonyError> {
        self.check_interrupt()?;
        match &self.from {
            CardsFrom::EveryReader { .. } => match self.queue.pop_front() {
                Some(reader) => self.open(&reader).map(Some),
                None => Ok(None),
            },
            CardsFrom::OneReader { reader, timeout } => {
                let (reader, timeout) = (reader.clone(), *timeout);
                let present = self
                    .ctx
                    .readers()?
                    .iter()
                    .any(|r| r.name == reader && r.card_present);
                if !present {
                    out.tell(Event::Presence(Told::Insert {
                        wanted: wanted.clone(),
                        reader: Some(reader.clone()),
                    }));
                    if !self.wait_card(&reader, timeout)? {
                        return Err(CeremonyError::WaitTimedOut {
                            what: Awaited::Insertion,
                            reader: Some(reader),
                            secs: timeout.map_or(0, |t| t.as_secs()),
                        });
                    }
                }
                self.open(&reader).map(Some)
            }
            CardsFrom::AnyReader { timeout } => {
                let timeout = *timeout;
                self.next_any(out, wanted, timeout).map(Some)
            }
        }
    }

    /// Any-reader mode: a card present and not yet handed out in this pass, else the next
    /// card inserted into any reader.
    fn next_any(
        &mut self,
        out: &mut dyn Progress,
        wanted: &Wanted,
        timeout: Option<Duration>,
    ) -> Result<Presented, CeremonyError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut asked = false;
        // The list a wait for a change returns is read again after it, so it serves the
        // next round as is.
        let mut readers = self.ctx.readers()?;
        loop {
            self.handed
                .retain(|h| readers.iter().any(|r| &r.name == h && r.card_present));
            let fresh = readers
                .iter()
                .filter(|r| r.card_present && !self.handed.contains(&r.name))
                .map(|r| r.name.clone())
                .min();
            if let Some(reader) = fresh {
                self.handed.insert(reader.clone());
                return self.open(&reader);
            }
            if !asked {
                out.tell(Event::Presence(Told::Insert {
                    wanted: wanted.clone(),
                    reader: None,
                }));
                asked = true;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let changed = sliced(self.interrupt, left, |slice| {
                self.ctx.wait_for_change(&readers, Some(slice))
            })?;
            match changed {
                Ok(now) if !left.is_some_and(|l| l.is_zero()) => readers = now,
                Err(WaitEnd::Interrupted) => return Err(CeremonyError::Interrupted),
                _ => {
                    return Err(CeremonyError::WaitTimedOut {
                        what: Awaited::Insertion,
                        reader: None,
                        secs: timeout.map_or(0, |t| t.as_secs()),
                    })
                }
            }
        }
    }

    /// How many cards one pass needs: those present with every reader, else the `count` the
    /// operator must give (`what` names it in the refusal) since cards come one by one.
    pub fn count_needed(
        &self,
        count: Option<usize>,
        what: CountOf,
    ) -> Result<usize, CeremonyError> {
        match (count, &self.from) {
            (Some(count), _) => Ok(count),
            (None, CardsFrom::EveryReader { .. }) => Ok(self.queue.len()),
            (None, _) => Err(CeremonyError::CountNeeded(what)),
        }
    }

    /// Tells `event` when the custodians bring their cards one by one (with every reader the
    /// cards are already in, so there is nothing to announce).
    pub fn announce(&self, out: &mut dyn Progress, event: Event) {
        if self.swapping() {
            out.tell(event);
        }
    }

    /// Keeps a card for a later pass of this ceremony: with every reader its session stays
    /// open (so its PIN stays accepted) until [`Presenter::recall`] hands it back; otherwise
    /// the card is released as with [`Presenter::release`] and asked for again later.
    pub fn keep(
        &mut self,
        out: &mut dyn Progress,
        presented: Presented,
        key: CardKey,
        why: Done,
    ) -> Result<(), CeremonyError> {
        match self.from {
            CardsFrom::EveryReader { .. } => {
                self.kept.push_back((presented, key));
                Ok(())
            }
            _ => self.release(out, presented, why),
        }
    }

    /// Starts a later pass over kept cards, telling `event` (what the custodians do) when
    /// they must bring their cards again; nothing is told when every card is still in.
    pub fn begin_recall(&mut self, out: &mut dyn Progress, event: Event) {
        self.handed.clear();
        self.announce(out, event);
    }

    /// Hands back a kept card that `judge` still wants (it gives the card's index, or why it
    /// is not wanted now): with every reader the next kept session; otherwise the next card
    /// inserted (asked for with `ask`), identified, and released with the reason when it is
    /// not wanted. `None` when no card is left to hand back.
    pub fn recall(
        &mut self,
        out: &mut dyn Progress,
        wanted: &Wanted,
        judge: &dyn Fn(&CardKey) -> Result<usize, Unwanted>,
    ) -> Result<Option<Recalled>, CeremonyError> {
        self.check_interrupt()?;
        if let CardsFrom::EveryReader { .. } = self.from {
            // The first kept card wanted now; the others stay kept for later.
            let found = self
                .kept
                .iter()
                .enumerate()
                .find_map(|(at, (_, key))| judge(key).ok().map(|index| (at, index)));
            return Ok(found.and_then(|(at, index)| {
                self.kept.remove(at).map(|(presented, _)| Recalled {
                    presented,
                    index,
                    fresh: false,
                })
            }));
        }
        loop {
            let Some(mut p) = self.next(out, wanted)? else {
                return Ok(None);
            };
            let id = match super::identify(&mut p.card, &p.reader) {
                Ok(id) => id,
                Err(e) => {
                    out.tell(Event::Presence(Told::Unreadable {
                        problem: crate::progress::Shared::new(e),
                    }));
                    self.release(out, p, Done::NotUsable)?;
                    continue;
                }
            };
            match id.key.ok_or(Unwanted::NoKey).and_then(|k| judge(&k)) {
                Ok(index) => {
                    return Ok(Some(Recalled {
                        presented: p,
                        index,
                        fresh: true,
                    }))
                }
                Err(why) => {
                    out.tell(Event::Presence(Told::Unwanted {
                        card: id.name(),
                        why,
                    }));
                    self.release(out, p, Done::Unwanted(why))?;
                }
            }
        }
    }

    /// Done with a card: with one reader, asks for its removal and waits until it is out.
    pub fn release(
        &mut self,
        out: &mut dyn Progress,
        presented: Presented,
        why: Done,
    ) -> Result<(), CeremonyError> {
        let reader = presented.reader.clone();
        drop(presented);
        if self.already_out(&reader) {
            // pulled out during its step: nothing to ask the custodian
            return Ok(());
        }
        if let CardsFrom::AnyReader { .. } = &self.from {
            out.tell(Event::Presence(Told::DoneWith {
                reader: reader.clone(),
                why: why.clone(),
            }));
        }
        if let CardsFrom::OneReader { timeout, .. } = &self.from {
            let timeout = *timeout;
            out.tell(Event::Presence(Told::Remove {
                reader: reader.clone(),
                why,
            }));
            if !self.wait_removal(&reader, timeout)? {
                return Err(CeremonyError::WaitTimedOut {
                    what: Awaited::Removal,
                    reader: Some(reader),
                    secs: timeout.map_or(0, |t| t.as_secs()),
                });
            }
        }
        Ok(())
    }

    /// Done with the last card of a ceremony (`why` says how it went): nothing more is
    /// needed from the reader, so the card may stay until its custodian takes it.
    pub fn finish(&mut self, out: &mut dyn Progress, presented: Presented, why: Done) {
        let reader = presented.reader.clone();
        drop(presented);
        if self.swapping() && !self.already_out(&reader) {
            out.tell(Event::Presence(Told::LastCard { reader, why }));
        }
    }

    /// Whether the card of `reader` has already left it (pulled out during its step), so
    /// that nobody is asked to take out a card that is not there. A reader that cannot be
    /// read counts as holding its card.
    fn already_out(&self, reader: &str) -> bool {
        self.ctx.readers().is_ok_and(|all| {
            all.iter()
                .find(|r| r.name == reader)
                .is_some_and(|r| !r.card_present)
        })
    }

    pub(crate) fn open(&self, reader: &str) -> Result<Presented, CeremonyError> {
        Ok(Presented {
            reader: reader.to_owned(),
            card: open_card_with(self.ctx, reader, self.trace, &self.records)?,
        })
    }
}

/// A connection that was closed because its card left: every exchange fails as removed.
struct Closed;

impl quorum_card::transport::Transport for Closed {
    fn transmit(
        &mut self,
        _: &[u8],
    ) -> Result<quorum_card::transport::RawResponse, TransportError> {
        Err(TransportError::CardRemoved)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        Err(TransportError::CardRemoved)
    }
}

/// A stand-in for the session of a card that left its reader: the old connection must be
/// closed before the card can be connected again (pcscd keeps it exclusive until then).
pub(crate) fn closed_card() -> Box<dyn CustodianCard> {
    Box::new(Card::with_trace(Closed, false))
}

/// The custodian card in `reader`, connected exclusively, for a step that needs no public
/// record an OpenPGP card does not store (init, status, change-pin, reset).
pub fn open_card(
    ctx: &dyn Readers,
    reader: &str,
    trace: bool,
) -> Result<Box<dyn CustodianCard>, CeremonyError> {
    open_card_with(ctx, reader, trace, &RecordSource::new())
}

/// The custodian card in `reader`, connected exclusively: the one place a card's kind is
/// decided (the quorum applet, else an OpenPGP card, at its first SELECT; see
/// [`AnyCard`]), so every ceremony holds it as a [`CustodianCard`]. `records` serves an
/// OpenPGP card's public record.
pub fn open_card_with(
    ctx: &dyn Readers,
    reader: &str,
    trace: bool,
    records: &RecordSource,
) -> Result<Box<dyn CustodianCard>, CeremonyError> {
    Ok(Box::new(AnyCard::new(
        Card::with_trace(connect_settled(ctx, reader)?, trace),
        records.clone(),
    )))
}

/// Connects to a just-inserted card, retrying briefly while pcscd is still powering it up.
pub fn connect_settled(ctx: &dyn Readers, reader: &str) -> Result<Connection, CeremonyError> {
    let mut last = None;
    for _ in 0..20 {
        match ctx.connect(reader) {
            Ok(t) => return Ok(t),
            Err(
                e @ (TransportError::CardReset
                | TransportError::CardRemoved
                | TransportError::CardUnresponsive
                | TransportError::NoCard(_)),
            ) => {
                last = Some(e);
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.expect("the loop ran").into())
}

/// What inserting, removing and putting back cards tells the people at the table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// A card is asked for: in `reader`, or in any free reader when `None`.
    Insert {
        /// The card asked for.
        wanted: Wanted,
        /// The reader it goes into, or any free one.
        reader: Option<String>,
    },
    /// A card pulled out in the middle of its step is asked back into the reader it was in.
    PutBack {
        /// The card.
        wanted: Wanted,
        /// Its reader.
        reader: String,
    },
    /// Another card came in where a pulled card was asked back.
    NotTheOne {
        /// The card asked back.
        wanted: Wanted,
        /// Its reader.
        reader: String,
    },
    /// A card inserted for a later pass could not be read; it is left out.
    Unreadable {
        /// What failed.
        problem: crate::progress::Shared<CeremonyError>,
    },
    /// A card inserted for a later pass is not one that pass wants now.
    Unwanted {
        /// The card's fingerprint (or a description of a card without key).
        card: String,
        /// Why it is not wanted.
        why: Unwanted,
    },
    /// Any-reader mode: the ceremony is done with a card (it may stay in its reader).
    DoneWith {
        /// Its reader.
        reader: String,
        /// What happened to it.
        why: Done,
    },
    /// One-reader mode: the card must come out before the next goes in.
    Remove {
        /// The reader.
        reader: String,
        /// What happened to it.
        why: Done,
    },
    /// The last card of the ceremony was handled; its custodian may take it.
    LastCard {
        /// Its reader.
        reader: String,
        /// How it went (a failed check is said so).
        why: Done,
    },
}

/// Which card the people at the table are asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Wanted {
    /// Enroll: the next custodian card to register.
    Custodian {
        /// Its place among the cards registered (1-based).
        n: usize,
        /// The cards the set will have.
        of: usize,
        /// The custodians named for the set whose cards are not registered yet (empty
        /// when no names were given).
        still: Vec<String>,
    },
    /// Enroll's write pass: a card registered for the set.
    Registered {
        /// Cards written so far.
        written: usize,
        /// Cards to write.
        of: usize,
        /// The custodians (or cards, when unnamed) whose cards are still to be written.
        still: Vec<String>,
    },
    /// Verify: the next card to check.
    ToCheck {
        /// Its place among the cards checked (1-based).
        n: usize,
        /// The cards to check.
        of: usize,
    },
    /// Recover: a custodian card of the set being recovered (`None` until a card shows it).
    OfSet {
        /// The set's label, shares opened and shares needed, once known.
        set: Option<(String, usize, usize)>,
        /// The custodians whose shares are not opened yet, any of whom will do (empty
        /// until a card shows the set, or when none of them is named).
        any_of: Vec<String>,
    },
    /// add-card: a custodian card of the set the new card joins.
    Quorum {
        /// Its place among the shares needed (1-based).
        n: usize,
        /// The shares needed.
        need: usize,
        /// The set's label.
        label: String,
        /// The custodians whose shares are not opened yet, any of whom will do (empty
        /// when none of them is named).
        any_of: Vec<String>,
    },
    /// add-card: the new card.
    NewCard,
    /// Reshare: a custodian card of the old set (`need` once its threshold is known).
    OldSet {
        /// Its place among the shares needed (1-based).
        n: usize,
        /// The shares needed, once a card told.
        need: Option<usize>,
        /// The old set's custodians whose shares are not opened yet, any of whom will do
        /// (empty until a card shows the set, or when none of them is named).
        any_of: Vec<String>,
    },
    /// Reshare: the next card of the new set to register.
    NewSet {
        /// Its place (1-based).
        n: usize,
        /// The new set's cards.
        of: usize,
    },
    /// Reshare's write pass: a card registered for the new set.
    RegisteredNewSet {
        /// Cards written so far.
        written: usize,
        /// Cards to write.
        of: usize,
    },
    /// Reshare's wipe pass: one of the old cards the new set does not use.
    ToWipe {
        /// The fingerprints still to wipe.
        left: Vec<String>,
    },
    /// One particular card (asked back).
    Card {
        /// Its fingerprint.
        fingerprint: String,
    },
    /// Any card (nothing particular is asked).
    Any,
}

/// Why the presenter is done with a card.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Done {
    /// Refused for this ceremony (the reason was told).
    Refused,
    /// Registered; it comes back for the write pass.
    Registered,
    /// Its share was written.
    ShareWritten,
    /// Checked.
    Checked,
    /// Its check failed (the reason was told).
    CheckFailed,
    /// Its share was opened.
    ShareOpened,
    /// Not used.
    Skipped,
    /// Written.
    Written,
    /// Wiped.
    Wiped,
    /// An old card whose share a reshare did not need: it comes back to be wiped.
    ToWipe,
    /// Could not be read.
    NotUsable,
    /// Not wanted by the pass it came for.
    Unwanted(Unwanted),
}

impl Done {
    /// A card whose share was opened, or one that was skipped.
    pub fn opened(used: bool) -> Done {
        if used {
            Done::ShareOpened
        } else {
            Done::Skipped
        }
    }
}

/// Why a later pass does not want a card it was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unwanted {
    /// The card has no key.
    NoKey,
    /// It was not registered for this set.
    NotRegistered,
    /// It already holds its share.
    AlreadyWritten,
    /// It was not registered for the new set.
    NotRegisteredNewSet,
    /// It already holds its new share.
    AlreadyWrittenNewSet,
    /// An old card whose overwriting now would leave no complete set.
    WouldLeaveNoCompleteSet,
    /// It is not one of the old cards to wipe.
    NotToWipe,
}

/// What a one-by-one pass needs to be told up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountOf {
    /// Enroll: the set's number of cards.
    Cards,
    /// Reshare: the new set's number of cards.
    NewSetCards,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_memory_kit::{fresh_cards, one_reader, Said};
    use quorum_card::memory::MemoryReaders;

    #[test]
    fn a_card_already_out_is_not_asked_out() {
        let cards = fresh_cards(1);
        let readers = MemoryReaders::new(&["Pad"]);
        readers.insert("Pad", &cards[0]);
        let mut presenter =
            Presenter::new(&readers, one_reader("Pad"), false, &crate::Never).expect("one reader");
        let presented = presenter.open("Pad").expect("a card");
        readers.remove("Pad");
        let mut said = Said::default();
        presenter
            .release(&mut said, presented, Done::Checked)
            .expect("no wait for a removal that happened");
        assert!(said.presence().is_empty(), "{said}");
        readers.insert("Pad", &cards[0]);
        let presented = presenter.open("Pad").expect("a card");
        readers.remove("Pad");
        presenter.finish(&mut said, presented, Done::Checked);
        assert!(said.presence().is_empty(), "{said}");
        readers.insert("Pad", &cards[0]);
        let presented = presenter.open("Pad").expect("a card");
        presenter.finish(&mut said, presented, Done::Checked);
        assert_eq!(
            said.presence(),
            [&Told::LastCard {
                reader: "Pad".into(),
                why: Done::Checked
            }],
            "{said}"
        );
    }
}

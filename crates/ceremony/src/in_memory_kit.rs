//! What the ceremonies' in-memory tests share: custodian cards, readers, PIN sources and
//! a set enrolled by the enroll ceremony itself, over quorum-card's `memory` test doubles.

use std::time::Duration;

use quorum_card::memory::{
    shared, shared_openpgp, HeldCard, Insertable, MemoryApplet, MemoryOpenPgp, MemoryReaders,
    SharedCard, SharedOpenPgp, DEFAULT_USER_PIN,
};
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::bundle::Bundle;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::EnrolledCard;

use crate::enroll::{enroll, EnrollOutcome, EnrollRequest};
use crate::pins::{PinProvider, PinTable};
use crate::{CardsFrom, PinPolicy};

/// Every custodian's PIN in these tests (unless a test says otherwise).
pub(crate) const PIN: &str = "123456";

/// A master secret to back up.
pub(crate) const MASTER: &[u8] = b"the organisation's master key, 32";

/// `n` fresh custodian cards: personalised with [`PIN`], no record, empty logs.
pub(crate) fn fresh_cards(n: usize) -> Vec<SharedCard> {
    (0..n)
        .map(|_| shared(MemoryApplet::new().personalised(PIN)))
        .collect()
}

/// A PIN file that gives every card [`PIN`].
pub(crate) fn pin_file() -> PinTable {
    PinTable::parse(PIN.as_bytes(), crate::pins::tests::test_file()).unwrap()
}

/// PINs from `source`, never through a keypad (the memory readers have none anyway).
pub(crate) fn policy(source: &dyn PinProvider) -> PinPolicy<'_> {
    PinPolicy {
        source,
        no_pinpad: false,
        pinpad_timeout: 30,
    }
}

/// A PIN table from PIN-file lines (`FINGERPRINT PIN`, or a PIN for every card).
pub(crate) fn pin_table(lines: &[String]) -> PinTable {
    PinTable::parse(lines.join("\n").as_bytes(), crate::pins::tests::test_file()).unwrap()
}

/// A recovery anchored by `anchor`, cards as `from` brings them, PINs from `pins`.
pub(crate) fn recover_request(
    anchor: crate::recover::Anchor,
    from: CardsFrom,
    pins: &dyn PinProvider,
) -> crate::recover::RecoverRequest<'_> {
    crate::recover::RecoverRequest {
        fits: None,
        interrupt: &crate::Never,
        anchor,
        from,
        pins: policy(pins),
        trace: false,
        stats: false,
    }
}

/// Runs a recovery against `readers` and keeps what it told.
pub(crate) fn run_recover(
    readers: &MemoryReaders,
    req: &crate::recover::RecoverRequest<'_>,
) -> (
    Result<crate::recover::Recovered, crate::CeremonyError>,
    Said,
) {
    let mut said = Said::default();
    let result = crate::recover::recover(readers, req, &mut said);
    (result, said)
}

/// Every card in a reader; a card pulled out is not waited for (nobody puts it back).
pub(crate) fn every_reader() -> CardsFrom {
    CardsFrom::EveryReader {
        put_back: Some(Duration::ZERO),
    }
}

/// Every card in a reader; a card pulled out is waited for (the test puts it back).
pub(crate) fn every_reader_put_back() -> CardsFrom {
    CardsFrom::EveryReader {
        put_back: Some(Duration::from_secs(5)),
    }
}

/// One reader, cards swapped through it.
pub(crate) fn one_reader(reader: &str) -> CardsFrom {
    CardsFrom::OneReader {
        reader: reader.to_owned(),
        timeout: Some(Duration::from_secs(60)),
    }
}

/// Any reader, cards inserted as they come.
pub(crate) fn any_reader() -> CardsFrom {
    CardsFrom::AnyReader {
        timeout: Some(Duration::from_secs(60)),
    }
}

/// A progress sink whose events a test reads.
#[derive(Default)]
pub(crate) struct Said(pub Vec<crate::progress::Event>);

impl Said {
    /// The presence events told so far (cards asked for, put back, removed).
    pub(crate) fn presence(&self) -> Vec<&crate::presence::Told> {
        self.0
            .iter()
            .filter_map(|e| match e {
                crate::progress::Event::Presence(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Whether a wrong PIN was asked again at this computer's prompt with `tries_left`
    /// tries left (on any card).
    pub(crate) fn asked_again(&self, tries_left: u8) -> bool {
        self.0.iter().any(|e| {
            matches!(e, crate::progress::Event::Pin(crate::pin_step::Told::WrongPin {
                tries_left: t,
                again: crate::pin_step::AskedAgain::Here,
                ..
            }) if *t == tries_left)
        })
    }

    /// Whether a pulled card was asked back into `reader`.
    pub(crate) fn asked_back_into(&self, reader: &str) -> bool {
        self.presence()
            .iter()
            .any(|t| matches!(t, crate::presence::Told::PutBack { reader: r, .. } if r == reader))
    }

    /// Whether `event` was told.
    pub(crate) fn told(&self, event: &crate::progress::Event) -> bool {
        self.0.contains(event)
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for event in &self.0 {
            writeln!(f, "{event:?}")?;
        }
        Ok(())
    }
}

impl crate::progress::Progress for Said {
    fn tell(&mut self, event: crate::progress::Event) {
        self.0.push(event);
    }
}

/// An enroll request for `threshold`-of-(cards present), PINs from `source`.
pub(crate) fn enroll_request<'a>(
    threshold: u8,
    label: &'a str,
    from: CardsFrom,
    source: &'a dyn PinProvider,
) -> EnrollRequest<'a> {
    EnrollRequest {
        replace_unfinished: None,
        interrupt: &crate::Never,
        master: MASTER,
        threshold,
        count: None,
        label,
        names: &[],
        planned: None,
        from,
        pins: policy(source),
        trace: false,
        stats: false,
    }
}

/// A set enrolled by the enroll ceremony on `m` fresh cards (every-reader mode), with
/// the cards' logs cleared so that a test sees only what its own ceremony sent.
pub(crate) struct EnrolledSet {
    pub(crate) cards: Vec<SharedCard>,
    pub(crate) outcome: EnrollOutcome,
}

impl EnrolledSet {
    /// An `n`-of-`m` set labelled `label`.
    pub(crate) fn new(threshold: u8, m: usize, label: &str) -> EnrolledSet {
        EnrolledSet::named(threshold, label, &vec![""; m])
    }

    /// A set labelled `label` on one fresh card per name, each custodian named so (an empty
    /// name: the default "custodian K").
    pub(crate) fn named(threshold: u8, label: &str, names: &[&str]) -> EnrolledSet {
        EnrolledSet::enroll(threshold, label, fresh_cards(names.len()), names)
    }

    /// A set labelled `label` on these personalised cards (custodians with default names).
    pub(crate) fn on(threshold: u8, label: &str, cards: &[SharedCard]) -> EnrolledSet {
        EnrolledSet::enroll(threshold, label, cards.to_vec(), &vec![""; cards.len()])
    }

    fn enroll(threshold: u8, label: &str, cards: Vec<SharedCard>, names: &[&str]) -> EnrolledSet {
        let readers = MemoryReaders::with_cards(&cards);
        let pins = pin_file();
        let given: Vec<(String, String)> = cards
            .iter()
            .zip(names)
            .filter(|(_, name)| !name.is_empty())
            .map(|(card, name)| (fingerprint(card), (*name).to_owned()))
            .collect();
        let mut req = enroll_request(
            threshold,
            label,
            CardsFrom::EveryReader {
                put_back: Some(std::time::Duration::ZERO),
            },
            &pins,
        );
        req.names = &given;
        let outcome = enroll(&readers, &req, &mut crate::NoJournal, &mut Said::default())
            .expect("enrollment");
        drop(readers);
        for card in &cards {
            assert_eq!(card.borrow().state(), LifeCycle::Enrolled);
            card.borrow_mut().clear_log();
        }
        EnrolledSet { cards, outcome }
    }

    /// The set's first record (every card's description is the same but for its index).
    pub(crate) fn record(&self) -> &quorum_protocol::record::PublicRecord {
        &self.outcome.enrollment.cards[0].record
    }
}

/// A card's key as the ceremonies see it.
pub(crate) fn key_of(card: &SharedCard) -> CardKey {
    CardKey::from_card_point(&card.borrow().public_key().expect("a key")).unwrap()
}

/// A card's fingerprint.
pub(crate) fn fingerprint(card: &SharedCard) -> String {
    key_of(card).fingerprint()
}

/// Clears the logs of every card (a test's own ceremony starts from here).
pub(crate) fn clear_logs(cards: &[SharedCard]) {
    for card in cards {
        card.borrow_mut().clear_log();
    }
}

/// VERIFYs carrying a PIN, summed over the cards: a PIN asked for.
pub(crate) fn pin_checks(cards: &[SharedCard]) -> usize {
    cards.iter().map(|c| c.borrow().pin_checks()).sum()
}

/// Commands that change a card, summed over the cards.
pub(crate) fn writes(cards: &[SharedCard]) -> usize {
    cards.iter().map(|c| c.borrow().writes()).sum()
}

/// Writes `public` and `sealed` onto a personalised card through its own PUT RECORD (a
/// forger with the card and its PIN can put any bytes on it).
pub(crate) fn write_record(card: &SharedCard, public: &[u8], sealed: &[u8]) {
    use quorum_card::card::Card;
    use quorum_protocol::apdu::PutRecordStream;
    use quorum_protocol::pin::PinBlock;
    let mut applet = card.borrow_mut();
    let mut session = Card::with_trace(&mut *applet, false);
    session.select().unwrap();
    session.verify(&PinBlock::new(PIN).unwrap()).unwrap();
    session
        .put_record(&PutRecordStream::encode(public, sealed).unwrap())
        .unwrap();
    drop(session);
    applet.power_up();
    applet.clear_log();
}

/// An OpenPGP card whose owner made a cv25519 decryption key on it (as `gpg --card-edit`
/// does), with its factory PINs: the user PIN is [`PIN`], so [`pin_file`] serves it.
pub(crate) fn keyed_openpgp() -> SharedOpenPgp {
    assert_eq!(PIN, DEFAULT_USER_PIN);
    shared_openpgp(MemoryOpenPgp::new().with_cv25519_key())
}

/// An OpenPGP card's key as the ceremonies see it (its cv25519 decryption key).
pub(crate) fn openpgp_key(card: &SharedOpenPgp) -> CardKey {
    card.borrow().card_key().expect("a cv25519 key")
}

/// The bundle an enrollment publishes, as its custodians keep it.
pub(crate) fn bundle_of(outcome: &EnrollOutcome) -> Bundle {
    Bundle::from_enrollment(&outcome.enrollment)
}

/// The records of a set's bundle, as `--bundle` hands them to add-card and reshare.
pub(crate) fn bundle_records_of(outcome: &EnrollOutcome) -> Vec<PublicRecord> {
    bundle_of(outcome).decoded_records().unwrap()
}

/// A set enrolled by the enroll ceremony on 3 fresh applet cards and 2 keyed OpenPGP cards
/// (every-reader mode, applet cards in Reader 0..2, OpenPGP cards in Reader 3..4), with
/// every log cleared: the OpenPGP cards' public records are in its bundle only.
pub(crate) struct MixedSet {
    pub(crate) applets: Vec<SharedCard>,
    pub(crate) openpgp: Vec<SharedOpenPgp>,
    pub(crate) outcome: EnrollOutcome,
}

impl MixedSet {
    /// A 3-of-5 set of 3 applet cards and 2 OpenPGP cards labelled `label`.
    pub(crate) fn new(label: &str) -> MixedSet {
        MixedSet::of(3, 3, 2, label)
    }

    /// A `threshold`-of-(`applets` + `openpgp`) set labelled `label`.
    pub(crate) fn of(threshold: u8, applets: usize, openpgp: usize, label: &str) -> MixedSet {
        let applets = fresh_cards(applets);
        let openpgp: Vec<SharedOpenPgp> = (0..openpgp).map(|_| keyed_openpgp()).collect();
        let held: Vec<HeldCard> = applets
            .iter()
            .map(Insertable::held)
            .chain(openpgp.iter().map(Insertable::held))
            .collect();
        let readers = MemoryReaders::with_cards(&held);
        let pins = pin_file();
        let req = enroll_request(threshold, label, every_reader(), &pins);
        let outcome = enroll(&readers, &req, &mut crate::NoJournal, &mut Said::default())
            .expect("enrollment");
        drop(readers);
        let set = MixedSet {
            applets,
            openpgp,
            outcome,
        };
        for card in &set.applets {
            assert_eq!(card.borrow().state(), LifeCycle::Enrolled);
        }
        set.clear_logs();
        set
    }

    /// Every card, applet cards first, as readers hold them.
    pub(crate) fn all(&self) -> Vec<HeldCard> {
        let applets = self.applets.iter().map(Insertable::held);
        applets
            .chain(self.openpgp.iter().map(Insertable::held))
            .collect()
    }

    /// The set's bundle.
    pub(crate) fn bundle(&self) -> Bundle {
        bundle_of(&self.outcome)
    }

    /// The bundle's records (the OpenPGP cards' among them).
    pub(crate) fn bundle_records(&self) -> Vec<PublicRecord> {
        bundle_records_of(&self.outcome)
    }

    /// The record of custodian `index` (1-based, as records count).
    pub(crate) fn record_of(&self, index: u8) -> &PublicRecord {
        &self
            .outcome
            .enrollment
            .cards
            .iter()
            .find(|c| c.record.index == index)
            .expect("a custodian of the set")
            .record
    }

    /// What the enrollment wrote for an OpenPGP card of the set (found by its key).
    pub(crate) fn written_for(&self, card: &SharedOpenPgp) -> &EnrolledCard {
        let key = openpgp_key(card);
        let index = self
            .record_of(1)
            .custodians
            .iter()
            .find(|c| c.card_key == key)
            .expect("an OpenPGP card of the set")
            .index;
        self.outcome
            .enrollment
            .cards
            .iter()
            .find(|c| c.record.index == index)
            .expect("its record")
    }

    /// Clears every card's log (a test's own ceremony starts from here).
    pub(crate) fn clear_logs(&self) {
        clear_logs(&self.applets);
        for card in &self.openpgp {
            card.borrow_mut().clear_log();
        }
    }
}

//! Add-card: with n opened shares of a set, issue a share for a new card at a new index of
//! the same polynomial, so the master key, the DEK and every other card stay as they are.
//! The new card gets the next version of the set description; the other cards may keep
//! theirs, since recovery accepts any mix of versions of one set (`set` module).

use rand::{CryptoRng, RngCore};
use thiserror::Error;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use super::{
    authenticate_all, check_same_set, interpolate_at, quorum, seal_card, EnrolledCard,
    NewCustodian, OpenedShare, Published, RecoverError, SealCardError,
};
use crate::crypto::commitment::share_commitment;
use crate::crypto::hpke::HpkeError;
use crate::crypto::wrap::{self, Dek};
use crate::crypto::DescriptionKey;
use crate::record::{Custodian, PublicRecord, RecordError, MAX_CUSTODIANS, SHARE_LEN};

/// What an add-card ceremony writes: the new card's record, and optionally fresher records for the cards that took part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedCard {
    /// The new card's record: set version + 1, the new custodian appended with an unused index drawn at random.
    pub card: EnrolledCard,
    /// For each given share, in the order given: its card's record under the new version (same share, re-sealed). Writing them is optional; recovery never needs it.
    pub refreshed: Vec<EnrolledCard>,
}

impl AddedCard {
    /// The new set version (the old one + 1).
    pub fn set_version(&self) -> u16 {
        self.card.record.set_version
    }

    /// The new card's share index.
    pub fn index(&self) -> u8 {
        self.card.index()
    }
}

/// Why a new card could not be added.
#[derive(Debug, Error)]
pub enum AddCardError {
    /// The shares given are not a quorum of one set, or do not give its key.
    #[error("the cards given cannot issue a new share: {0}")]
    Quorum(#[from] RecoverError),
    /// The new card already holds a share of the set.
    #[error("this card ({fingerprint}) is already custodian {index} of the set: each custodian holds one share, so add a different card")]
    AlreadyCustodian {
        /// Its index in the set.
        index: u8,
        /// Its fingerprint.
        fingerprint: String,
    },
    /// A card holds a newer version of the set than the description the new card would extend.
    #[error("a card holds version {card} of the set but the set description given is version {base}: it is out of date; start from the bundle written by the last add-card")]
    BaseOutdated {
        /// Version of the description given.
        base: u16,
        /// Newest version among the cards.
        card: u16,
    },
    /// Every share index 1..=255 is taken.
    #[error("the set already has 255 custodians, the most a share index allows: reshare the master to a new set instead")]
    SetFull,
    /// The new custodian's name breaks the record rules.
    #[error("{0}")]
    Record(#[from] RecordError),
    /// Sealing a share failed.
    #[error("sealing a share failed: {0}")]
    Hpke(#[from] HpkeError),
}

impl From<SealCardError> for AddCardError {
    fn from(e: SealCardError) -> Self {
        match e {
            SealCardError::Record(e) => AddCardError::Record(e),
            SealCardError::Hpke(e) => AddCardError::Hpke(e),
        }
    }
}

/// Issues a share of the same set for `new_card` from at least n opened shares (any versions of the set), so the master is never re-split.
///
/// The shares must give the DEK that opens the wrapped master (checked, then wiped), so a
/// set whose shares do not belong together is never extended. The new custodian gets the
/// smallest unused index and is appended to the newest given version's custodian list; the
/// new version is that version + 1. The new share is f(index) of the set's polynomial f,
/// computed with blahaj's interpolation (see `interpolate_at`). Randomness: one HPKE
/// ephemeral key for the new card, then one per given share, in order.
///
/// Start from the newest version of the set: if some card not given here (or the bundle)
/// holds a newer version, the result is a second, diverging version that recovery will not
/// combine with that one. Check the public parts you can read with [`newest_of_one_set`]
/// first.
///
/// [`newest_of_one_set`]: super::newest_of_one_set
pub fn add_card<'a, R: RngCore + CryptoRng>(
    shares: impl IntoIterator<Item = &'a OpenedShare>,
    new_card: &NewCustodian,
    rng: &mut R,
) -> Result<AddedCard, AddCardError> {
    let shares: Vec<&OpenedShare> = shares.into_iter().collect();
    let newest = quorum(&shares)?.clone();
    add_card_to(&newest, &[], shares, new_card, rng)
}

/// [`add_card`] starting from a published version of the set (the bundle's), which may be
/// newer than every given share's record, so a card added from old cards never reuses an
/// index or a version already issued. `base` and the other `published` records (the
/// bundle's) must carry the set's description MAC, checked as soon as the DEK is known and
/// before anything is sealed.
pub fn add_card_to<'a, R: RngCore + CryptoRng>(
    base: &PublicRecord,
    published: &[PublicRecord],
    shares: impl IntoIterator<Item = &'a OpenedShare>,
    new_card: &NewCustodian,
    rng: &mut R,
) -> Result<AddedCard, AddCardError> {
    let shares: Vec<&OpenedShare> = shares.into_iter().collect();
    let newest_given = quorum(&shares)?;
    check_same_set(base, newest_given).map_err(RecoverError::Mismatch)?;
    if newest_given.set_version > base.set_version {
        return Err(AddCardError::BaseOutdated {
            base: base.set_version,
            card: newest_given.set_version,
        });
    }
    let newest = base;
    if let Some(c) = newest
        .custodians
        .iter()
        .find(|c| c.card_key == new_card.card_key)
    {
        return Err(AddCardError::AlreadyCustodian {
            index: c.index,
            fingerprint: c.card_key.fingerprint(),
        });
    }
    if newest.custodians.len() >= MAX_CUSTODIANS {
        return Err(AddCardError::SetFull);
    }
    let unused: Vec<u8> = (1..=u8::MAX)
        .filter(|i| newest.custodian(*i).is_none())
        .collect();
    if unused.is_empty() {
        return Err(AddCardError::SetFull);
    }
    // At random, not the smallest: two add-cards started from one stale version then
    // almost never issue the same index to two cards (crypto.md §8).
    let index = unused[(rng.next_u32() as usize) % unused.len()];
    // A version lists at least as many custodians as its number, at most 255 (SetFull above).
    let set_version = newest.set_version + 1;
    let points = || shares.iter().map(|s| &*s.share);
    let dek = Dek::from_bytes(interpolate_at(points(), newest.threshold, 0)?);
    wrap::unwrap_master(&dek, &newest.set_id, &newest.wrapped)
        .map_err(|_| RecoverError::SharesDoNotMatch)?;
    let key = DescriptionKey::derive(&dek, &newest.set_id);
    drop(dek);
    authenticate_all(
        &key,
        shares.iter().map(|s| Published::Card(&s.record)).chain(
            std::iter::once(base)
                .chain(published)
                .map(Published::Bundle),
        ),
    )?;
    let y = interpolate_at(points(), newest.threshold, index)?;
    let mut share = Zeroizing::new([0u8; SHARE_LEN]);
    share[0] = index;
    share[1..].copy_from_slice(&y[..]);
    drop(y);

    let mut record = newest.clone();
    record.set_version = set_version;
    record.custodians.push(Custodian {
        index,
        card_key: new_card.card_key,
        commitment: share_commitment(&record.set_id, &share),
        name: new_card.name.clone(),
    });
    record.index = index;
    record.validate()?;
    record.authenticate(&key);
    let card = seal_card(
        record.clone(),
        &share,
        &StaticSecret::random_from_rng(&mut *rng),
    )?;
    let refreshed = shares
        .iter()
        .map(|s| {
            let mut mine = record.clone();
            mine.index = s.index();
            seal_card(mine, &s.share, &StaticSecret::random_from_rng(&mut *rng))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AddedCard { card, refreshed })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{lagrange_at, open, open_all, setup};
    use super::super::{enroll, enroll_with, recover, EnrollSecrets, SetField, SetMismatch};
    use super::*;
    use crate::crypto::CardKey;
    use crate::record::PublicRecord;
    use curve25519_dalek::montgomery::MontgomeryPoint;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Every k-element subset of 0..m, as index lists.
    fn subsets(m: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..1 << m)
            .filter(|mask| mask.count_ones() as usize == k)
            .map(|mask| (0..m).filter(|i| mask & (1 << i) != 0).collect())
            .collect()
    }

    /// The acceptance proof: for several random sets, the new share with any n − 1 old shares recovers the same master.
    #[test]
    fn the_new_share_completes_every_n_minus_1_old_shares() {
        for (seed, n, m) in [
            (1u64, 1u8, 2usize),
            (2, 2, 3),
            (3, 3, 5),
            (4, 4, 4),
            (5, 2, 6),
        ] {
            let mut rng = ChaCha20Rng::seed_from_u64(100 + seed);
            let (cards, people) = setup(m + 1, &mut rng);
            let mut master = vec![0u8; 1 + (seed as usize * 37) % 200];
            rng.fill_bytes(&mut master);
            let en = enroll(&master, n, "add-card", &people[..m], &mut rng).unwrap();
            let opened = open_all(&en, &cards, &mut rng);
            // issue from a quorum that is not the first n cards
            let donors: Vec<&OpenedShare> = opened.iter().rev().take(n.into()).collect();
            let added = add_card(donors.iter().copied(), &people[m], &mut rng).unwrap();
            let x = added.index();
            assert!(usize::from(x) > m, "a fresh index, got {x}");
            assert_eq!(added.set_version(), 2);
            let fresh = open(&added.card, &cards[m], &mut rng);
            // the new share is f(x), by the textbook formula over the donors
            let points: Vec<[u8; 33]> = donors.iter().map(|s| *s.share).collect();
            assert_eq!(fresh.share[1..], lagrange_at(&points, x));
            for old in subsets(m, usize::from(n) - 1) {
                let mut pick: Vec<&OpenedShare> = old.iter().map(|&i| &opened[i]).collect();
                pick.push(&fresh);
                assert_eq!(
                    &recover(pick).unwrap()[..],
                    &master[..],
                    "n={n} m={m} old={old:?}"
                );
            }
            // and n − 1 old shares alone still do not suffice
            if n > 1 {
                let short: Vec<&OpenedShare> = opened[..usize::from(n) - 1].iter().collect();
                assert!(matches!(
                    recover(short),
                    Err(RecoverError::NotEnoughShares { .. })
                ));
            }
        }
    }

    /// Two add-cards from the same old cards: the second starts from the first's published
    /// version, so it takes the next index and version instead of diverging.
    #[test]
    fn add_card_to_a_newer_published_version_does_not_diverge() {
        let mut rng = ChaCha20Rng::seed_from_u64(130);
        let (cards, people) = setup(5, &mut rng);
        let master = b"published version".to_vec();
        let en = enroll(&master, 2, "base", &people[..3], &mut rng).unwrap();
        let opened = open_all(&en, &cards, &mut rng);
        let first = add_card(&opened[..2], &people[3], &mut rng).unwrap();
        let v2 = first.card.record.clone();
        // the same v1 cards, but the published description is v2 now
        let second = add_card_to(&v2, &[], &opened[..2], &people[4], &mut rng).unwrap();
        assert_eq!(second.set_version(), 3);
        assert!(v2.custodian(second.index()).is_none());
        let fourth = open(&first.card, &cards[3], &mut rng);
        let fifth = open(&second.card, &cards[4], &mut rng);
        assert_eq!(&recover([&fourth, &fifth]).unwrap()[..], &master[..]);
        assert_eq!(&recover([&opened[2], &fifth]).unwrap()[..], &master[..]);
        // starting from v1 while a card holds v2 is refused
        let v1 = en.cards[0].record.clone();
        assert!(matches!(
            add_card_to(&v1, &[], [&opened[0], &fourth], &people[4], &mut rng),
            Err(AddCardError::BaseOutdated { base: 1, card: 2 })
        ));
        // a description of another set is refused
        let other = enroll(&master, 2, "other", &people[..3], &mut rng).unwrap();
        assert!(matches!(
            add_card_to(
                &other.cards[0].record,
                &[],
                &opened[..2],
                &people[4],
                &mut rng
            ),
            Err(AddCardError::Quorum(RecoverError::Mismatch(SetMismatch {
                field: SetField::SetId,
                ..
            })))
        ));
    }

    #[test]
    fn versions_of_one_set_recover_together() {
        let mut rng = ChaCha20Rng::seed_from_u64(120);
        let (cards, people) = setup(5, &mut rng);
        let master = b"versioned master".to_vec();
        let en = enroll(&master, 2, "versions", &people[..3], &mut rng).unwrap();
        let v1 = open_all(&en, &cards, &mut rng);
        let first = add_card([&v1[0], &v1[2]], &people[3], &mut rng).unwrap();
        // the refreshed records carry the same shares under version 2
        assert_eq!(first.refreshed.len(), 2);
        let again = open(&first.refreshed[1], &cards[2], &mut rng);
        assert_eq!((again.index(), again.set_version()), (3, 2));
        assert_eq!(*again.share, *v1[2].share);
        assert_eq!(
            first.refreshed[0].record.custodians,
            first.card.record.custodians
        );
        assert_eq!(
            first.card.record.custodians[..3],
            en.cards[0].record.custodians[..]
        );
        let c4 = open(&first.card, &cards[3], &mut rng);
        // a second add-card from a mix of versions 1 and 2 builds on the newest
        let second = add_card([&v1[1], &c4], &people[4], &mut rng).unwrap();
        assert_eq!(second.set_version(), 3);
        assert!(first.card.record.custodian(second.index()).is_none());
        assert_eq!(second.card.record.custodians.len(), 5);
        let c5 = open(&second.card, &cards[4], &mut rng);
        for pair in [[&v1[0], &c5], [&c4, &c5], [&again, &v1[1]], [&c4, &v1[2]]] {
            assert_eq!(&recover(pair).unwrap()[..], &master[..]);
        }
        // a card cannot join twice, whatever version the others hold
        assert!(matches!(
            add_card([&v1[0], &c5], &people[3], &mut rng),
            Err(AddCardError::AlreadyCustodian { index, .. }) if index == first.index()
        ));
        // two add-cards from the same version diverge: their new cards do not combine
        let (other_cards, other_people) = setup(1, &mut rng);
        let fork = add_card([&v1[0], &v1[1]], &other_people[0], &mut rng).unwrap();
        assert_eq!(fork.set_version(), 2);
        assert_ne!(
            fork.index(),
            first.index(),
            "a random index, unlike the first branch's"
        );
        let forked = open(&fork.card, &other_cards[0], &mut rng);
        assert!(matches!(
            recover([&forked, &c5]),
            Err(RecoverError::Mismatch(SetMismatch {
                field: SetField::Custodians,
                ..
            }))
        ));
        assert_eq!(&recover([&forked, &v1[2]]).unwrap()[..], &master[..]);
    }

    #[test]
    fn add_card_refuses_what_it_cannot_vouch_for() {
        let mut rng = ChaCha20Rng::seed_from_u64(121);
        let (cards, people) = setup(4, &mut rng);
        let en = enroll(b"master", 2, "x", &people[..3], &mut rng).unwrap();
        let one = open(&en.cards[0], &cards[0], &mut rng);
        assert!(matches!(
            add_card([&one], &people[3], &mut rng),
            Err(AddCardError::Quorum(RecoverError::NotEnoughShares {
                have: 1,
                need: 2
            }))
        ));
        assert!(matches!(
            add_card([], &people[3], &mut rng),
            Err(AddCardError::Quorum(RecoverError::NoShares))
        ));
        let other = enroll(b"master", 2, "x", &people[..3], &mut rng).unwrap();
        let stranger = open(&other.cards[1], &cards[1], &mut rng);
        assert!(matches!(
            add_card([&one, &stranger], &people[3], &mut rng),
            Err(AddCardError::Quorum(RecoverError::Mismatch(SetMismatch {
                field: SetField::SetId,
                ..
            })))
        ));
        let mut named = people[3].clone();
        named.name = "bad\u{7}name".into();
        let two = open(&en.cards[1], &cards[1], &mut rng);
        assert!(matches!(
            add_card([&one, &two], &named, &mut rng),
            Err(AddCardError::Record(RecordError::ControlCharacter(_)))
        ));
        // shares that do not give the DEK are never extended
        let mut secrets = EnrollSecrets::draw(2, 3, &mut rng).unwrap();
        let wrong = EnrollSecrets::draw(2, 3, &mut rng).unwrap();
        secrets.shares = wrong.shares.iter().map(|s| Zeroizing::new(**s)).collect();
        let bad = enroll_with(b"master", 2, "x", &people[..3], &secrets).unwrap();
        let bad = open_all(&bad, &cards, &mut rng);
        assert!(matches!(
            add_card(&bad[..2], &people[3], &mut rng),
            Err(AddCardError::Quorum(RecoverError::SharesDoNotMatch))
        ));
        let msg = add_card([&one, &two], &people[0], &mut rng)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("already custodian 1"), "{msg}");
    }

    /// A 1-of-m set built by hand (card keys only, no cards), for the limits no real ceremony reaches quickly.
    /// The description key of every synthetic set (DEK 0x42…, set id 0x03…).
    fn synthetic_key() -> crate::crypto::DescriptionKey {
        crate::crypto::DescriptionKey::derive(
            &Dek::from_bytes(Zeroizing::new([0x42; 32])),
            &[3; 16],
        )
    }

    fn synthetic(m: usize, set_version: u16) -> (OpenedShare, NewCustodian) {
        let keys: Vec<CardKey> = (1..=m + 1)
            .map(|i| {
                let mut s = [0u8; 32];
                s[1..9].copy_from_slice(&(i as u64).to_le_bytes());
                CardKey::from_x25519(&MontgomeryPoint::mul_base_clamped(s).to_bytes()).unwrap()
            })
            .collect();
        let dek = [0x42u8; 32];
        let mut share = [0x42u8; 33];
        share[0] = 1;
        let set_id = [3u8; 16];
        let wrapped = wrap::wrap_master(
            &Dek::from_bytes(Zeroizing::new(dek)),
            &set_id,
            [0; 12],
            b"m",
        )
        .unwrap();
        let mut record = PublicRecord {
            set_id,
            set_version,
            index: 1,
            threshold: 1,
            label: "synthetic".into(),
            custodians: (0..m)
                .map(|i| Custodian {
                    index: i as u8 + 1,
                    card_key: keys[i],
                    commitment: [0; 32],
                    name: String::new(),
                })
                .collect(),
            wrapped,
            key_check: crate::crypto::KeyCheck::of_master(b"m"),
            mac: [0; 32],
        };
        record.authenticate(&synthetic_key());
        record.validate().unwrap();
        let opened = OpenedShare {
            record,
            share: Zeroizing::new(share),
        };
        let new = NewCustodian {
            card_key: keys[m],
            name: "new".into(),
        };
        (opened, new)
    }

    #[test]
    fn limits_of_a_set() {
        let mut rng = ChaCha20Rng::seed_from_u64(122);
        let (full, new) = synthetic(255, 1);
        assert!(matches!(
            add_card([&full], &new, &mut rng),
            Err(AddCardError::SetFull)
        ));
        // 254 custodians: the last index is free and gets used
        let (almost, new) = synthetic(254, 7);
        let added = add_card([&almost], &new, &mut rng).unwrap();
        assert_eq!((added.index(), added.set_version()), (255, 8));
        assert_eq!(added.card.record.custodians.len(), 255);
    }

    /// The index is drawn among the unused ones, so two add-cards started from one stale
    /// version almost never issue the same index twice.
    #[test]
    fn an_unused_index_is_drawn_at_random() {
        let mut rng = ChaCha20Rng::seed_from_u64(123);
        let (mut gap, new) = synthetic(3, 1);
        // a set whose custodians are 1, 4 and 3
        gap.record.custodians[1].index = 4;
        gap.record.custodians[2].index = 3;
        gap.record.authenticate(&synthetic_key());
        gap.record.validate().unwrap();
        let mut drawn = std::collections::BTreeSet::new();
        for _ in 0..400 {
            let added = add_card([&gap], &new, &mut rng).unwrap();
            let indices: Vec<u8> = added
                .card
                .record
                .custodians
                .iter()
                .map(|c| c.index)
                .collect();
            assert_eq!(indices[..3], [1, 4, 3]);
            assert!(![0, 1, 3, 4].contains(&indices[3]), "{indices:?}");
            drawn.insert(indices[3]);
        }
        // 400 draws over 252 free indices leave few untouched: the draw is spread, not the smallest
        assert!(drawn.len() > 150, "only {} distinct indices", drawn.len());
        assert!(drawn.iter().any(|&i| i > 128));
    }

    #[test]
    fn a_seeded_add_card_is_reproducible() {
        let mut rng = ChaCha20Rng::seed_from_u64(124);
        let (cards, people) = setup(3, &mut rng);
        let en = enroll(b"master", 2, "x", &people[..2], &mut rng).unwrap();
        let both = open_all(&en, &cards, &mut rng);
        let a = add_card(&both, &people[2], &mut ChaCha20Rng::seed_from_u64(9)).unwrap();
        let b = add_card(&both, &people[2], &mut ChaCha20Rng::seed_from_u64(9)).unwrap();
        assert_eq!(a, b);
    }
}

//! The ceremony's core without I/O: enrollment turns a master secret and the cards' public
//! keys into one record per card; recovery turns records and the cards' unseal answers
//! back into the master secret. Card access arrives as a closure, so this module runs the
//! same against a real card, a simulated one, or a software key.

use blahaj::{Share, Sharks};
use rand::{CryptoRng, RngCore};
use thiserror::Error;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::crypto::hpke::{self, HpkeError, OpenError};
use crate::crypto::rng::Rng10;
use crate::crypto::wei25519::{PointError, SubgroupPoint, POINT_LEN};
use crate::crypto::wrap::{self, Dek, WrapError, DEK_LEN, NONCE_LEN};
use crate::crypto::{Blinding, CardKey};
use crate::record::{
    put_record_stream, share_info, Custodian, PublicRecord, RecordError, SealedShare,
    MAX_CUSTODIANS, MAX_MASTER_LEN, SET_ID_LEN, SHARE_LEN,
};

/// A card joining a set at enrollment: its validated key and its custodian's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustodian {
    /// The card's public key (from INITIALISE or GET STATUS).
    pub card_key: CardKey,
    /// The custodian's name, 0..=64 bytes of printable UTF-8.
    pub name: String,
}

/// What one card receives at enrollment; nothing in it is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolledCard {
    /// The decoded public part (its `index` is this card's).
    pub record: PublicRecord,
    /// The public part's bytes (also the HPKE aad of the sealed part).
    pub public: Vec<u8>,
    /// The sealed part's 81 bytes.
    pub sealed: Vec<u8>,
}

impl EnrolledCard {
    /// This card's share index.
    pub fn index(&self) -> u8 {
        self.record.index
    }

    /// The key of the card this record belongs to, so the ceremony writes it to the right card.
    pub fn card_key(&self) -> &CardKey {
        &self
            .record
            .custodian(self.record.index)
            .expect("a validated record lists its own index")
            .card_key
    }

    /// The PUT RECORD stream for this card.
    pub fn put_record_stream(&self) -> Vec<u8> {
        put_record_stream(&self.public, &self.sealed).expect("both parts are 1..=65535 bytes")
    }
}

/// The result of an enrollment: one record per card, in the order the cards were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrollment {
    /// The new set's identifier.
    pub set_id: [u8; SET_ID_LEN],
    /// Card i of the input gets `cards[i]` (share index i + 1).
    pub cards: Vec<EnrolledCard>,
}

/// Every random choice of one enrollment, made explicit so test vectors can replay it; wiped on drop, never printed.
pub struct EnrollSecrets {
    /// Set identifier.
    pub set_id: [u8; SET_ID_LEN],
    /// Data-encryption key that wraps the master.
    pub dek: Dek,
    /// Nonce of the master wrap.
    pub nonce: [u8; NONCE_LEN],
    /// The DEK's blahaj shares, share i for card i (x = i + 1).
    pub shares: Vec<Zeroizing<[u8; SHARE_LEN]>>,
    /// HPKE ephemeral secret keys, one per card.
    pub ephemeral: Vec<StaticSecret>,
}

impl std::fmt::Debug for EnrollSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollSecrets")
            .field("set_id", &hex::encode(self.set_id))
            .field("cards", &self.shares.len())
            .field("secrets", &"<redacted>")
            .finish()
    }
}

impl EnrollSecrets {
    /// Draws, in this order: set id, DEK, nonce, blahaj polynomial, one ephemeral key per card.
    pub fn draw<R: RngCore + CryptoRng>(
        threshold: u8,
        count: usize,
        rng: &mut R,
    ) -> Result<Self, EnrollError> {
        check_counts(threshold, count)?;
        let mut set_id = [0u8; SET_ID_LEN];
        rng.fill_bytes(&mut set_id);
        let dek = Dek::random(rng);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let shares = Sharks(threshold)
            .dealer_rng(dek.as_bytes(), &mut Rng10(rng))
            .take(count)
            .map(|share| {
                let bytes = Zeroizing::new(Vec::from(&share));
                let mut out = Zeroizing::new([0u8; SHARE_LEN]);
                out.copy_from_slice(&bytes);
                out
            })
            .collect();
        let ephemeral = (0..count)
            .map(|_| StaticSecret::random_from_rng(&mut *rng))
            .collect();
        Ok(Self {
            set_id,
            dek,
            nonce,
            shares,
            ephemeral,
        })
    }
}

/// Why an enrollment was refused.
#[derive(Debug, Error)]
pub enum EnrollError {
    /// The master secret is empty or too long.
    #[error("the master secret is {0} bytes; quorum backs up 1 to 8000 bytes")]
    MasterLength(usize),
    /// No cards, or more than 255.
    #[error("a set needs 1 to 255 cards, {0} were given")]
    CardCount(usize),
    /// Threshold outside 1..=m.
    #[error("a threshold of {threshold} is impossible with {count} cards: choose 1 to {count}")]
    Threshold {
        /// n.
        threshold: u8,
        /// m.
        count: usize,
    },
    /// The same card was given twice.
    #[error("cards {first} and {second} are the same card ({fingerprint}): each custodian needs their own card")]
    DuplicateCard {
        /// Position (1-based) of the first occurrence.
        first: usize,
        /// Position (1-based) of the repeat.
        second: usize,
        /// The card's fingerprint.
        fingerprint: String,
    },
    /// The label or a name breaks the record rules.
    #[error("{0}")]
    Record(#[from] RecordError),
    /// Sealing a share failed.
    #[error("sealing a share failed: {0}")]
    Hpke(#[from] HpkeError),
    /// Wrapping the master failed.
    #[error("{0}")]
    Wrap(#[from] WrapError),
    /// `enroll_with` was given secrets that do not fit the cards (a programming error).
    #[error("the enrollment secrets do not fit the cards: {0}")]
    SecretsMismatch(&'static str),
}

/// Splits and seals a master secret for the given cards (n of m) with fresh randomness.
pub fn enroll<R: RngCore + CryptoRng>(
    master: &[u8],
    threshold: u8,
    label: &str,
    custodians: &[NewCustodian],
    rng: &mut R,
) -> Result<Enrollment, EnrollError> {
    check_inputs(master, threshold, custodians)?;
    let secrets = EnrollSecrets::draw(threshold, custodians.len(), rng)?;
    enroll_with(master, threshold, label, custodians, &secrets)
}

/// Enrollment with every random choice given, so vectors are reproducible; `enroll` is this plus `EnrollSecrets::draw`.
pub fn enroll_with(
    master: &[u8],
    threshold: u8,
    label: &str,
    custodians: &[NewCustodian],
    secrets: &EnrollSecrets,
) -> Result<Enrollment, EnrollError> {
    check_inputs(master, threshold, custodians)?;
    let m = custodians.len();
    if secrets.shares.len() != m || secrets.ephemeral.len() != m {
        return Err(EnrollError::SecretsMismatch(
            "one share and one ephemeral key per card are needed",
        ));
    }
    if secrets
        .shares
        .iter()
        .enumerate()
        .any(|(i, s)| usize::from(s[0]) != i + 1)
    {
        return Err(EnrollError::SecretsMismatch("share i must have x = i + 1"));
    }
    let wrapped = wrap::wrap_master(&secrets.dek, &secrets.set_id, secrets.nonce, master)?;
    let mut record = PublicRecord {
        set_id: secrets.set_id,
        set_version: 1,
        index: 1,
        threshold,
        label: label.to_owned(),
        custodians: custodians
            .iter()
            .enumerate()
            .map(|(i, c)| Custodian {
                index: i as u8 + 1,
                card_key: c.card_key,
                name: c.name.clone(),
            })
            .collect(),
        wrapped,
    };
    record.validate()?;
    let mut cards = Vec::with_capacity(m);
    for (i, c) in custodians.iter().enumerate() {
        record.index = i as u8 + 1;
        let public = record.encode()?;
        let sealed = hpke::seal_with_ephemeral(
            &secrets.ephemeral[i],
            &c.card_key.to_x25519(),
            &share_info(&record.set_id, record.index),
            &public,
            &secrets.shares[i][..],
        )?;
        let sealed = SealedShare {
            enc: sealed.enc,
            ct: sealed
                .ct
                .try_into()
                .expect("a 33-byte share seals to 49 bytes"),
        };
        cards.push(EnrolledCard {
            record: record.clone(),
            public,
            sealed: sealed.encode().to_vec(),
        });
    }
    Ok(Enrollment {
        set_id: secrets.set_id,
        cards,
    })
}

fn check_counts(threshold: u8, count: usize) -> Result<(), EnrollError> {
    if count == 0 || count > MAX_CUSTODIANS {
        return Err(EnrollError::CardCount(count));
    }
    if threshold == 0 || usize::from(threshold) > count {
        return Err(EnrollError::Threshold { threshold, count });
    }
    Ok(())
}

fn check_inputs(
    master: &[u8],
    threshold: u8,
    custodians: &[NewCustodian],
) -> Result<(), EnrollError> {
    if master.is_empty() || master.len() > MAX_MASTER_LEN {
        return Err(EnrollError::MasterLength(master.len()));
    }
    check_counts(threshold, custodians.len())?;
    for (j, c) in custodians.iter().enumerate() {
        if let Some(i) = custodians[..j]
            .iter()
            .position(|e| e.card_key == c.card_key)
        {
            return Err(EnrollError::DuplicateCard {
                first: i + 1,
                second: j + 1,
                fingerprint: c.card_key.fingerprint(),
            });
        }
    }
    Ok(())
}

/// A field of the set description that two records disagree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetField {
    /// The set identifier: the records are from different sets.
    SetId,
    /// The set version: one card holds an older version of the set.
    SetVersion,
    /// The threshold.
    Threshold,
    /// The label.
    Label,
    /// The custodian list.
    Custodians,
    /// The wrapped master.
    WrappedMaster,
}

impl std::fmt::Display for SetField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SetField::SetId => "set id",
            SetField::SetVersion => "set version",
            SetField::Threshold => "threshold",
            SetField::Label => "label",
            SetField::Custodians => "custodian list",
            SetField::WrappedMaster => "wrapped master",
        })
    }
}

/// Two cards' records describe different sets (or one was altered); names the first field that differs.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the records of custodians {first} and {other} differ in their {field}: the cards are from different sets, different versions of a set, or a record was altered")]
pub struct SetMismatch {
    /// The field that differs.
    pub field: SetField,
    /// Index of the first card.
    pub first: u8,
    /// Index of the other card.
    pub other: u8,
}

/// Checks that two cards' public parts describe the same set, so shares are only combined with their own kind.
pub fn check_same_set(a: &PublicRecord, b: &PublicRecord) -> Result<(), SetMismatch> {
    let field = if a.set_id != b.set_id {
        SetField::SetId
    } else if a.set_version != b.set_version {
        SetField::SetVersion
    } else if a.threshold != b.threshold {
        SetField::Threshold
    } else if a.label != b.label {
        SetField::Label
    } else if a.custodians != b.custodians {
        SetField::Custodians
    } else if a.wrapped != b.wrapped {
        SetField::WrappedMaster
    } else {
        return Ok(());
    };
    Err(SetMismatch {
        field,
        first: a.index,
        other: b.index,
    })
}

/// One card's share, opened and checked against its record; wiped on drop, never printed.
pub struct OpenedShare {
    record: PublicRecord,
    share: Zeroizing<[u8; SHARE_LEN]>,
}

impl std::fmt::Debug for OpenedShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedShare")
            .field("index", &self.record.index)
            .field("share", &"<redacted>")
            .finish()
    }
}

impl OpenedShare {
    /// The card's public record, for display and consistency checks.
    pub fn record(&self) -> &PublicRecord {
        &self.record
    }

    /// The share's index (equal to the record's).
    pub fn index(&self) -> u8 {
        self.record.index
    }
}

/// Why one card's share could not be opened; `E` is the card's own error type.
#[derive(Debug, Error)]
pub enum UnsealError<E> {
    /// The public or sealed part is malformed.
    #[error("the card's record is malformed: {0}")]
    Record(#[from] RecordError),
    /// The inserted card is not the one the record was written for.
    #[error("this card's key ({actual}) is not the key its record names for custodian {index} ({expected}): the record was copied from another card or altered")]
    WrongCard {
        /// The record's index.
        index: u8,
        /// Fingerprint the record names.
        expected: String,
        /// Fingerprint of the card.
        actual: String,
    },
    /// The sealed part's HPKE enc is not a valid point.
    #[error("the sealed share's ephemeral key is invalid ({0}): the record was altered")]
    BadEnc(PointError),
    /// The card refused or failed.
    #[error("the card could not unseal: {0}")]
    Card(#[source] E),
    /// The card answered with an invalid point.
    #[error("the card's unseal answer is invalid ({0}): the card is faulty or not a quorum card")]
    BadCardAnswer(PointError),
    /// HPKE did not open.
    #[error("the sealed share does not open with this card: the record was altered or was written for another card")]
    OpenFailed,
    /// The opened share's x is not the record's index.
    #[error("the share inside is for custodian {found}, but the record is for custodian {expected}: the record was altered")]
    IndexMismatch {
        /// The record's index.
        expected: u8,
        /// The share's x.
        found: u8,
    },
}

/// Errors inside the HPKE DH step of `open_share`, flattened into `UnsealError` afterwards.
enum DhStep<E> {
    Card(E),
    BadAnswer(PointError),
}

/// Opens one card's share with a single blinded UNSEAL: `unseal` sends the 65-byte point to the card and returns its 32-byte x.
pub fn open_share<R, E>(
    public: &[u8],
    sealed: &[u8],
    card_key: &CardKey,
    rng: &mut R,
    unseal: impl FnOnce(&[u8; POINT_LEN]) -> Result<[u8; 32], E>,
) -> Result<OpenedShare, UnsealError<E>>
where
    R: RngCore + CryptoRng,
{
    let record = PublicRecord::decode(public)?;
    let sealed = SealedShare::decode(sealed)?;
    let named = &record
        .custodian(record.index)
        .expect("a validated record lists its own index")
        .card_key;
    if named != card_key {
        return Err(UnsealError::WrongCard {
            index: record.index,
            expected: named.fingerprint(),
            actual: card_key.fingerprint(),
        });
    }
    let enc = SubgroupPoint::from_u(&sealed.enc).map_err(UnsealError::BadEnc)?;
    let opened = hpke::open_with_dh(
        &card_key.to_x25519(),
        &sealed.enc,
        &record.share_info(),
        public,
        &sealed.ct,
        |_| {
            let blinding = Blinding::new(&enc, rng);
            let answer = unseal(blinding.card_point()).map_err(DhStep::Card)?;
            blinding.unblind(&answer).map_err(DhStep::BadAnswer)
        },
    );
    let opened = match opened {
        Ok(pt) => pt,
        Err(OpenError::Dh(DhStep::Card(e))) => return Err(UnsealError::Card(e)),
        Err(OpenError::Dh(DhStep::BadAnswer(e))) => return Err(UnsealError::BadCardAnswer(e)),
        Err(OpenError::Hpke(_)) => return Err(UnsealError::OpenFailed),
    };
    if opened.len() != SHARE_LEN {
        return Err(UnsealError::OpenFailed);
    }
    if opened[0] != record.index {
        return Err(UnsealError::IndexMismatch {
            expected: record.index,
            found: opened[0],
        });
    }
    let mut share = Zeroizing::new([0u8; SHARE_LEN]);
    share.copy_from_slice(&opened);
    Ok(OpenedShare { record, share })
}

/// Why the master could not be recovered from the opened shares.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecoverError {
    /// No shares were given.
    #[error("no shares were given")]
    NoShares,
    /// Two records describe different sets.
    #[error(transparent)]
    Mismatch(#[from] SetMismatch),
    /// The same custodian's share was given twice.
    #[error("custodian {0}'s share was given twice (the same card inserted twice?): use a different custodian's card")]
    DuplicateShare(u8),
    /// Fewer shares than the threshold.
    #[error("{have} of the {need} shares needed: insert {more} more custodian card(s)", more = need - have)]
    NotEnoughShares {
        /// Distinct shares given.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// The shares combined to a key that does not decrypt the master.
    #[error("the shares do not belong together or a record was tampered with: the recovered key does not decrypt the master")]
    SharesDoNotMatch,
}

/// Combines at least n opened shares of one set and decrypts the master secret.
pub fn recover<'a>(
    shares: impl IntoIterator<Item = &'a OpenedShare>,
) -> Result<Zeroizing<Vec<u8>>, RecoverError> {
    let shares: Vec<&OpenedShare> = shares.into_iter().collect();
    let first = *shares.first().ok_or(RecoverError::NoShares)?;
    for (j, s) in shares.iter().enumerate() {
        check_same_set(&first.record, &s.record)?;
        if shares[..j].iter().any(|e| e.index() == s.index()) {
            return Err(RecoverError::DuplicateShare(s.index()));
        }
    }
    let need = usize::from(first.record.threshold);
    if shares.len() < need {
        return Err(RecoverError::NotEnoughShares {
            have: shares.len(),
            need,
        });
    }
    let parts: Vec<Share> = shares
        .iter()
        .map(|s| Share::try_from(&s.share[..]).expect("33 bytes make a share"))
        .collect();
    let combined = Zeroizing::new(
        Sharks(first.record.threshold)
            .recover(parts.iter())
            .map_err(|_| RecoverError::SharesDoNotMatch)?,
    );
    if combined.len() != DEK_LEN {
        return Err(RecoverError::SharesDoNotMatch);
    }
    let mut key = Zeroizing::new([0u8; DEK_LEN]);
    key.copy_from_slice(&combined);
    let dek = Dek::from_bytes(key);
    wrap::unwrap_master(&dek, &first.record.set_id, &first.record.wrapped)
        .map_err(|_| RecoverError::SharesDoNotMatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::wei25519::u_to_wei_x;
    use curve25519_dalek::montgomery::MontgomeryPoint;
    use curve25519_dalek::scalar::Scalar;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use serde_json::Value;

    /// A software card: a Wei25519 private scalar doing what ALG_EC_SVDP_DH_PLAIN does.
    struct SoftCard {
        d: Scalar,
    }

    #[derive(Debug, PartialEq)]
    struct SoftCardError;
    impl std::fmt::Display for SoftCardError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("6A80")
        }
    }
    impl std::error::Error for SoftCardError {}

    impl SoftCard {
        fn new(rng: &mut ChaCha20Rng) -> Self {
            let mut wide = [0u8; 64];
            rng.fill_bytes(&mut wide);
            Self {
                d: Scalar::from_bytes_mod_order_wide(&wide),
            }
        }
        fn key(&self) -> CardKey {
            CardKey::from_x25519(&MontgomeryPoint::mul_base(&self.d).to_bytes()).unwrap()
        }
        fn unseal(&self, point: &[u8; 65]) -> Result<[u8; 32], SoftCardError> {
            let p = SubgroupPoint::from_wei_point(point).map_err(|_| SoftCardError)?;
            Ok(u_to_wei_x(&(p.montgomery() * self.d).to_bytes()).unwrap())
        }
    }

    fn setup(m: usize, rng: &mut ChaCha20Rng) -> (Vec<SoftCard>, Vec<NewCustodian>) {
        let cards: Vec<SoftCard> = (0..m).map(|_| SoftCard::new(rng)).collect();
        let people = cards
            .iter()
            .enumerate()
            .map(|(i, c)| NewCustodian {
                card_key: c.key(),
                name: format!("custodian {}", i + 1),
            })
            .collect();
        (cards, people)
    }

    fn open(e: &EnrolledCard, card: &SoftCard, rng: &mut ChaCha20Rng) -> OpenedShare {
        open_share(&e.public, &e.sealed, &card.key(), rng, |p| card.unseal(p)).unwrap()
    }

    #[test]
    fn any_n_of_m_recover_the_master() {
        let mut rng = ChaCha20Rng::seed_from_u64(31);
        let (cards, people) = setup(5, &mut rng);
        for len in [1usize, 32, 8000] {
            let mut master = vec![0u8; len];
            rng.fill_bytes(&mut master);
            let en = enroll(&master, 3, "root CA 2025", &people, &mut rng).unwrap();
            assert_eq!(en.cards.len(), 5);
            let opened: Vec<OpenedShare> = en
                .cards
                .iter()
                .zip(&cards)
                .map(|(e, c)| open(e, c, &mut rng))
                .collect();
            for mask in 0u32..32 {
                let subset: Vec<&OpenedShare> = (0..5)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| &opened[i])
                    .collect();
                match subset.len() {
                    0 => assert_eq!(recover(subset), Err(RecoverError::NoShares)),
                    k if k < 3 => assert_eq!(
                        recover(subset),
                        Err(RecoverError::NotEnoughShares { have: k, need: 3 })
                    ),
                    _ => assert_eq!(&recover(subset).unwrap()[..], &master[..]),
                }
            }
            assert_eq!(opened[2].index(), 3);
            assert!(!format!("{:?}", opened[0]).contains(&hex::encode(&opened[0].share[1..])));
        }
    }

    #[test]
    fn enrollment_input_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(32);
        let (_, people) = setup(3, &mut rng);
        let e = |master: &[u8], n: u8, label: &str, p: &[NewCustodian], rng: &mut ChaCha20Rng| {
            enroll(master, n, label, p, rng).unwrap_err().to_string()
        };
        assert!(matches!(
            enroll(b"", 2, "x", &people, &mut rng),
            Err(EnrollError::MasterLength(0))
        ));
        assert!(matches!(
            enroll(&[0; 8001], 2, "x", &people, &mut rng),
            Err(EnrollError::MasterLength(8001))
        ));
        assert!(matches!(
            enroll(b"k", 4, "x", &people, &mut rng),
            Err(EnrollError::Threshold {
                threshold: 4,
                count: 3
            })
        ));
        assert!(matches!(
            enroll(b"k", 0, "x", &people, &mut rng),
            Err(EnrollError::Threshold {
                threshold: 0,
                count: 3
            })
        ));
        assert!(matches!(
            enroll(b"k", 1, "x", &[], &mut rng),
            Err(EnrollError::CardCount(0))
        ));
        let twice = [people[0].clone(), people[1].clone(), people[0].clone()];
        assert!(matches!(
            enroll(b"k", 2, "x", &twice, &mut rng),
            Err(EnrollError::DuplicateCard {
                first: 1,
                second: 3,
                ..
            })
        ));
        assert!(matches!(
            enroll(b"k", 2, "", &people, &mut rng),
            Err(EnrollError::Record(RecordError::LabelLength(0)))
        ));
        let mut long = people.clone();
        long[1].name = "n".repeat(65);
        assert!(e(b"k", 2, "x", &long, &mut rng).contains("custodian 2's name is 65 bytes"));
        // 1-of-1 is legal
        assert_eq!(
            enroll(b"k", 1, "x", &people[..1], &mut rng)
                .unwrap()
                .cards
                .len(),
            1
        );
    }

    #[test]
    fn unseal_refuses_the_wrong_card_and_bad_answers() {
        let mut rng = ChaCha20Rng::seed_from_u64(33);
        let (cards, people) = setup(3, &mut rng);
        let en = enroll(b"master", 2, "x", &people, &mut rng).unwrap();
        let r = open_share(
            &en.cards[0].public,
            &en.cards[0].sealed,
            &cards[1].key(),
            &mut rng,
            |p| cards[1].unseal(p),
        );
        assert!(matches!(r, Err(UnsealError::WrongCard { index: 1, .. })));
        let r = open_share(
            &en.cards[0].public,
            &en.cards[0].sealed,
            &cards[0].key(),
            &mut rng,
            |_| Err(SoftCardError),
        );
        assert!(matches!(r, Err(UnsealError::Card(SoftCardError))));
        let r = open_share(
            &en.cards[0].public,
            &en.cards[0].sealed,
            &cards[0].key(),
            &mut rng,
            |_| Ok::<_, SoftCardError>([0xff; 32]),
        );
        assert!(matches!(
            r,
            Err(UnsealError::BadCardAnswer(PointError::NonCanonical))
        ));
        // a card answering with the wrong key's DH
        let r = open_share(
            &en.cards[0].public,
            &en.cards[0].sealed,
            &cards[0].key(),
            &mut rng,
            |p| cards[2].unseal(p),
        );
        assert!(matches!(r, Err(UnsealError::OpenFailed)));
        // the public part is the aad: altering any byte (here the label) breaks the open
        let mut public = en.cards[0].record.clone();
        public.label = "y".into();
        let r = open_share(
            &public.encode().unwrap(),
            &en.cards[0].sealed,
            &cards[0].key(),
            &mut rng,
            |p| cards[0].unseal(p),
        );
        assert!(matches!(r, Err(UnsealError::OpenFailed)));
        let r = open_share(
            &en.cards[0].public,
            &en.cards[0].sealed[..80],
            &cards[0].key(),
            &mut rng,
            |p| cards[0].unseal(p),
        );
        assert!(matches!(
            r,
            Err(UnsealError::Record(RecordError::SealedLength(80)))
        ));
        let mut sealed = en.cards[0].sealed.clone();
        sealed[..32].fill(0);
        let r = open_share(
            &en.cards[0].public,
            &sealed,
            &cards[0].key(),
            &mut rng,
            |p| cards[0].unseal(p),
        );
        assert!(matches!(r, Err(UnsealError::BadEnc(PointError::LowOrder))));
    }

    #[test]
    fn a_share_sealed_under_the_wrong_index_is_caught() {
        let mut rng = ChaCha20Rng::seed_from_u64(34);
        let (cards, people) = setup(2, &mut rng);
        let en = enroll(b"master", 2, "x", &people, &mut rng).unwrap();
        let card = &en.cards[0];
        // seal a share claiming x = 2 into card 1's record, with card 1's info and aad
        let mut fake = [7u8; 33];
        fake[0] = 2;
        let s = hpke::seal(
            &card.card_key().to_x25519(),
            &card.record.share_info(),
            &card.public,
            &fake,
            &mut rng,
        )
        .unwrap();
        let sealed = SealedShare {
            enc: s.enc,
            ct: s.ct.try_into().unwrap(),
        }
        .encode();
        let r = open_share(&card.public, &sealed, &cards[0].key(), &mut rng, |p| {
            cards[0].unseal(p)
        });
        assert!(matches!(
            r,
            Err(UnsealError::IndexMismatch {
                expected: 1,
                found: 2
            })
        ));
    }

    #[test]
    fn shares_of_different_sets_do_not_mix() {
        let mut rng = ChaCha20Rng::seed_from_u64(35);
        let (cards, people) = setup(3, &mut rng);
        let a = enroll(b"master", 2, "x", &people, &mut rng).unwrap();
        let b = enroll(b"master", 2, "x", &people, &mut rng).unwrap();
        let mixed = [
            open(&a.cards[0], &cards[0], &mut rng),
            open(&b.cards[1], &cards[1], &mut rng),
        ];
        assert_eq!(
            recover(&mixed),
            Err(RecoverError::Mismatch(SetMismatch {
                field: SetField::SetId,
                first: 1,
                other: 2
            }))
        );
        let twice = [
            open(&a.cards[0], &cards[0], &mut rng),
            open(&a.cards[0], &cards[0], &mut rng),
        ];
        assert_eq!(recover(&twice), Err(RecoverError::DuplicateShare(1)));
        let mut other = a.cards[1].record.clone();
        other.threshold = 3;
        assert_eq!(
            check_same_set(&a.cards[0].record, &other)
                .unwrap_err()
                .field,
            SetField::Threshold
        );
        other = a.cards[1].record.clone();
        other.wrapped.ct[0] ^= 1;
        assert_eq!(
            check_same_set(&a.cards[0].record, &other)
                .unwrap_err()
                .field,
            SetField::WrappedMaster
        );
    }

    #[test]
    fn a_dishonest_enrollment_is_caught_at_unwrap() {
        let mut rng = ChaCha20Rng::seed_from_u64(36);
        let (cards, people) = setup(3, &mut rng);
        let mut secrets = EnrollSecrets::draw(2, 3, &mut rng).unwrap();
        // shares of some other key than the DEK that wraps the master
        let other = EnrollSecrets::draw(2, 3, &mut rng).unwrap();
        secrets.shares = other.shares.iter().map(|s| Zeroizing::new(**s)).collect();
        let en = enroll_with(b"master", 2, "x", &people, &secrets).unwrap();
        let opened = [
            open(&en.cards[0], &cards[0], &mut rng),
            open(&en.cards[2], &cards[2], &mut rng),
        ];
        assert_eq!(recover(&opened), Err(RecoverError::SharesDoNotMatch));
        secrets.shares.pop();
        assert!(matches!(
            enroll_with(b"master", 2, "x", &people, &secrets),
            Err(EnrollError::SecretsMismatch(_))
        ));
    }

    /// GF(2^8) product modulo x^8 + x^4 + x^3 + x^2 + 1, written out to pin down the field crypto.md names.
    fn gf_mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= 0x1d;
            }
            b >>= 1;
        }
        p
    }

    fn gf_inv(a: u8) -> u8 {
        (0..254).fold(1u8, |acc, _| gf_mul(acc, a))
    }

    /// The shares follow the documented scheme: Lagrange interpolation at 0 over GF(2^8)/0x11d gives the DEK.
    #[test]
    fn shares_use_the_documented_field() {
        let mut rng = ChaCha20Rng::seed_from_u64(38);
        let secrets = EnrollSecrets::draw(3, 5, &mut rng).unwrap();
        for pick in [[0usize, 1, 2], [1, 3, 4], [4, 0, 2]] {
            let xs: Vec<u8> = pick.iter().map(|&i| secrets.shares[i][0]).collect();
            assert_eq!(xs, pick.iter().map(|&i| i as u8 + 1).collect::<Vec<_>>());
            let mut dek = [0u8; 32];
            for (k, byte) in dek.iter_mut().enumerate() {
                for (a, &i) in pick.iter().enumerate() {
                    let mut l = 1u8;
                    for (b, _) in pick.iter().enumerate().filter(|(b, _)| *b != a) {
                        l = gf_mul(l, gf_mul(xs[b], gf_inv(xs[b] ^ xs[a])));
                    }
                    *byte ^= gf_mul(l, secrets.shares[i][1 + k]);
                }
            }
            assert_eq!(&dek, secrets.dek.as_bytes());
        }
    }

    fn h<const N: usize>(v: &Value) -> [u8; N] {
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    }

    /// Recomputes every value of apdu-spec/vectors/record.json from its inputs, then replays the seeded enrollment.
    #[test]
    fn shared_vectors_recompute() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../apdu-spec/vectors/record.json"
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let en = &v["enrollment"];
        let master = hex::decode(en["master"].as_str().unwrap()).unwrap();
        let threshold = en["threshold"].as_u64().unwrap() as u8;
        let label = en["label"].as_str().unwrap();
        let cases = v["cases"].as_array().unwrap();
        let listed = en["custodians"].as_array().unwrap();
        assert_eq!((cases.len(), listed.len()), (5, 5));
        let soft: Vec<SoftCard> = listed
            .iter()
            .map(|c| {
                let mut d: [u8; 32] = h(&c["card_scalar_be"]);
                d.reverse();
                SoftCard {
                    d: Scalar::from_canonical_bytes(d).unwrap(),
                }
            })
            .collect();
        let people: Vec<NewCustodian> = listed
            .iter()
            .zip(&soft)
            .enumerate()
            .map(|(i, (c, s))| {
                assert_eq!(c["index"].as_u64(), Some(i as u64 + 1));
                let key = CardKey::from_card_point(
                    &hex::decode(c["card_point_wei"].as_str().unwrap()).unwrap(),
                )
                .unwrap();
                assert_eq!(key, s.key());
                assert_eq!(key.to_x25519(), h::<32>(&c["card_key"]));
                assert_eq!(key.fingerprint(), c["card_fingerprint"].as_str().unwrap());
                NewCustodian {
                    card_key: key,
                    name: c["name"].as_str().unwrap().to_owned(),
                }
            })
            .collect();
        let secrets = EnrollSecrets {
            set_id: h(&en["set_id"]),
            dek: Dek::from_bytes(Zeroizing::new(h(&en["dek"]))),
            nonce: h(&en["nonce"]),
            shares: cases
                .iter()
                .map(|c| Zeroizing::new(h(&c["share"])))
                .collect(),
            ephemeral: cases
                .iter()
                .map(|c| StaticSecret::from(h::<32>(&c["ephemeral_sk"])))
                .collect(),
        };
        // the shares are a 3-of-5 split of the DEK: every 3-subset gives it back
        for mask in 0u32..32 {
            if mask.count_ones() != threshold as u32 {
                continue;
            }
            let parts: Vec<Share> = (0..5)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| Share::try_from(&secrets.shares[i][..]).unwrap())
                .collect();
            assert_eq!(
                Sharks(threshold).recover(&parts).unwrap(),
                secrets.dek.as_bytes()
            );
        }
        let wrapped =
            wrap::wrap_master(&secrets.dek, &secrets.set_id, secrets.nonce, &master).unwrap();
        assert_eq!(
            wrapped.ct,
            hex::decode(en["wrapped_ct"].as_str().unwrap()).unwrap()
        );
        let got = enroll_with(&master, threshold, label, &people, &secrets).unwrap();
        for (i, (c, card)) in cases.iter().zip(&got.cards).enumerate() {
            assert_eq!(c["index"].as_u64(), Some(i as u64 + 1));
            assert_eq!(hex::encode(&card.public), c["public_hex"].as_str().unwrap());
            assert_eq!(hex::encode(&card.sealed), c["sealed_hex"].as_str().unwrap());
            assert_eq!(
                hex::encode(card.put_record_stream()),
                c["stream_hex"].as_str().unwrap()
            );
            assert_eq!(card.record.share_info(), h::<32>(&c["info"]));
            assert_eq!(&card.sealed[..32], &h::<32>(&c["enc"]));
        }
        // the seeded draw reproduces the same secrets, so the generator and `enroll` agree
        let mut rng = ChaCha20Rng::from_seed(h(&en["seed"]));
        let replay = enroll(&master, threshold, label, &people, &mut rng).unwrap();
        assert_eq!(replay, got);
        // and three of the cards recover the master
        let mut rng = ChaCha20Rng::seed_from_u64(37);
        let opened: Vec<OpenedShare> = [4usize, 0, 2]
            .iter()
            .map(|&i| open(&got.cards[i], &soft[i], &mut rng))
            .collect();
        assert_eq!(&recover(&opened).unwrap()[..], &master[..]);
    }
}

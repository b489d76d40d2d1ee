//! Reshare: move the master from an old set to a completely new one (new DEK, new set id,
//! new n, new m, new cards) in one call, so the master only ever exists in a wiped buffer
//! between the recovery of the old set and the enrollment of the new one.

use rand::{CryptoRng, RngCore};
use thiserror::Error;

use super::{
    check_custodians, enroll, recover_checking, EnrollError, Enrollment, NewCustodian, OpenedShare,
    RecoverError,
};
use crate::record::PublicRecord;

/// Why a reshare was refused; says which half failed.
#[derive(Debug, Error)]
pub enum ReshareError {
    /// The old set's shares did not give the master.
    #[error("the old set could not be recovered: {0}")]
    Recover(#[from] RecoverError),
    /// The new set could not be made.
    #[error("the new set could not be made: {0}")]
    Enroll(#[from] EnrollError),
}

/// Recovers the master from at least n opened shares of the old set and enrolls it afresh for `custodians`, n' of m'.
///
/// The new cards are checked before anything is decrypted. The result is an ordinary
/// enrollment: nothing in it refers to the old set, whose cards still open the old set
/// until they are overwritten or factory-reset (a reshare revokes nothing by itself).
pub fn reshare<'a, R: RngCore + CryptoRng>(
    shares: impl IntoIterator<Item = &'a OpenedShare>,
    published: &[PublicRecord],
    threshold: u8,
    label: &str,
    custodians: &[NewCustodian],
    rng: &mut R,
) -> Result<Enrollment, ReshareError> {
    check_custodians(threshold, custodians)?;
    let master = recover_checking(shares, published)?;
    Ok(enroll(&master, threshold, label, custodians, rng)?)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{open, open_all, setup};
    use super::super::{add_card, recover, SetField, SetMismatch};
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn a_reshared_set_holds_the_same_master_and_nothing_of_the_old_one() {
        let mut rng = ChaCha20Rng::seed_from_u64(130);
        let (cards, people) = setup(6, &mut rng);
        let master = b"the master outlives its sets".to_vec();
        let old = enroll(&master, 2, "old", &people[..3], &mut rng).unwrap();
        let opened = open_all(&old, &cards, &mut rng);
        // new set: 3 of 4, two old cards and two new ones, given in another order
        let new_people = [
            people[5].clone(),
            people[1].clone(),
            people[3].clone(),
            people[0].clone(),
        ];
        let new_cards = [&cards[5], &cards[1], &cards[3], &cards[0]];
        let new = reshare(&opened[1..], &[], 3, "new", &new_people, &mut rng).unwrap();
        assert_ne!(new.set_id, old.set_id);
        let first = &new.cards[0].record;
        assert_eq!(
            (first.threshold, first.custodians.len(), first.set_version),
            (3, 4, 1)
        );
        assert_eq!(first.label, "new");
        assert_ne!(first.wrapped, old.cards[0].record.wrapped);
        let fresh: Vec<OpenedShare> = new
            .cards
            .iter()
            .zip(new_cards)
            .map(|(e, c)| open(e, c, &mut rng))
            .collect();
        assert_eq!(&recover(&fresh[1..]).unwrap()[..], &master[..]);
        assert_eq!(&recover(&fresh[..3]).unwrap()[..], &master[..]);
        // same card, same person: an old share and a new share never combine
        assert!(matches!(
            recover([&opened[0], &fresh[1], &fresh[2]]),
            Err(RecoverError::Mismatch(SetMismatch {
                field: SetField::SetId,
                ..
            }))
        ));
        // a reshared set grows like any other
        let added = add_card(&fresh[..3], &people[4], &mut rng).unwrap();
        assert!(added.index() > 4, "an index the new set does not use");
    }

    #[test]
    fn reshare_checks_the_new_cards_first_and_names_the_failing_half() {
        let mut rng = ChaCha20Rng::seed_from_u64(131);
        let (cards, people) = setup(3, &mut rng);
        let old = enroll(b"master", 2, "old", &people, &mut rng).unwrap();
        let one = open(&old.cards[0], &cards[0], &mut rng);
        // bad new cards are refused even with too few old shares: nothing was decrypted
        let e = reshare([&one], &[], 3, "new", &people[..2], &mut rng).unwrap_err();
        assert!(matches!(
            e,
            ReshareError::Enroll(EnrollError::Threshold {
                threshold: 3,
                count: 2
            })
        ));
        let twice = [people[0].clone(), people[0].clone()];
        assert!(matches!(
            reshare([&one], &[], 1, "new", &twice, &mut rng),
            Err(ReshareError::Enroll(EnrollError::DuplicateCard { .. }))
        ));
        let e = reshare([&one], &[], 2, "new", &people, &mut rng).unwrap_err();
        assert!(matches!(
            e,
            ReshareError::Recover(RecoverError::NotEnoughShares { have: 1, need: 2 })
        ));
        assert!(e
            .to_string()
            .starts_with("the old set could not be recovered"));
        let two = open(&old.cards[1], &cards[1], &mut rng);
        assert!(matches!(
            reshare([&one, &two], &[], 2, "", &people, &mut rng),
            Err(ReshareError::Enroll(EnrollError::Record(_)))
        ));
    }
}

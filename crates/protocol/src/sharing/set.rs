//! When two cards' records belong to one set, across set versions: add-card appends a
//! custodian and bumps the version on the cards it writes, while the other cards keep the
//! version they were written with, so recovery must accept any mix of versions of one set
//! and still refuse records of another set, altered records and diverging versions.
//! The rule is in apdu-spec/record-format.md, "Set versions".

use std::cmp::Ordering;

use thiserror::Error;

use crate::record::PublicRecord;

/// A field of the set description that two records disagree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetField {
    /// The set identifier: the records are from different sets.
    SetId,
    /// The set version: two versions with the same custodian list (each version appends custodians).
    SetVersion,
    /// The threshold.
    Threshold,
    /// The label.
    Label,
    /// The custodian list: not equal within one version, or a newer list that does not extend an older one.
    Custodians,
    /// The wrapped master.
    WrappedMaster,
    /// The master's key check value.
    KeyCheck,
    /// The description MAC: equal descriptions of one version carry the same MAC.
    Mac,
}

impl SetField {
    /// What a disagreement on this field means and what to do about it.
    fn hint(self) -> &'static str {
        match self {
            SetField::SetId => "the cards belong to different sets; use cards of one set only",
            SetField::SetVersion => {
                "each new version of a set appends custodians, so two versions cannot list the same ones: a record was altered"
            }
            SetField::Threshold
            | SetField::Label
            | SetField::WrappedMaster
            | SetField::KeyCheck
            | SetField::Mac => {
                "this never changes within a set: a record was altered; leave that card out"
            }
            SetField::Custodians => {
                "a newer version of a set only appends custodians to an older one's list: the cards hold diverging versions of the set (two add-card ceremonies from one version?) or a record was altered"
            }
        }
    }
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
            SetField::KeyCheck => "key check value",
            SetField::Mac => "description MAC",
        })
    }
}

/// Two cards' records are not of one set (or one was altered); names the first field that disagrees.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the records of custodian {first} (set version {first_version}) and custodian {other} (set version {other_version}) disagree on the {field}: {}", .field.hint())]
pub struct SetMismatch {
    /// The field that differs.
    pub field: SetField,
    /// Index of the first card.
    pub first: u8,
    /// Set version of the first card's record.
    pub first_version: u16,
    /// Index of the other card.
    pub other: u8,
    /// Set version of the other card's record.
    pub other_version: u16,
}

/// Checks that two cards' public parts are of one set, in the same or different versions, so shares are only combined with their own kind.
///
/// Same set id, threshold, label, wrapped master and key check value; equal custodian lists
/// and MACs if the versions are equal, otherwise the older version's list is a prefix of
/// the newer one's, which has one more entry per version.
pub fn check_same_set(a: &PublicRecord, b: &PublicRecord) -> Result<(), SetMismatch> {
    let field = if a.set_id != b.set_id {
        Some(SetField::SetId)
    } else if a.threshold != b.threshold {
        Some(SetField::Threshold)
    } else if a.label != b.label {
        Some(SetField::Label)
    } else if a.wrapped != b.wrapped {
        Some(SetField::WrappedMaster)
    } else if a.key_check != b.key_check {
        Some(SetField::KeyCheck)
    } else {
        match a.set_version.cmp(&b.set_version) {
            Ordering::Equal if a.custodians != b.custodians => Some(SetField::Custodians),
            Ordering::Equal => (a.mac != b.mac).then_some(SetField::Mac),
            Ordering::Less => extension_error(a, b),
            Ordering::Greater => extension_error(b, a),
        }
    };
    match field {
        None => Ok(()),
        Some(field) => Err(SetMismatch {
            field,
            first: a.index,
            first_version: a.set_version,
            other: b.index,
            other_version: b.set_version,
        }),
    }
}

/// None if `newer`'s list extends `older`'s by one entry per version; else the field to blame.
fn extension_error(older: &PublicRecord, newer: &PublicRecord) -> Option<SetField> {
    let (o, n) = (&older.custodians, &newer.custodians);
    let added = usize::from(newer.set_version - older.set_version);
    if n == o {
        Some(SetField::SetVersion)
    } else if n.len() == o.len() + added && n[..o.len()] == **o {
        None
    } else {
        Some(SetField::Custodians)
    }
}

/// Checks every pair of records with [`check_same_set`] and returns the newest (None if there are none): it lists every custodian the others list.
pub fn newest_of_one_set<'a>(
    records: impl IntoIterator<Item = &'a PublicRecord>,
) -> Result<Option<&'a PublicRecord>, SetMismatch> {
    let records: Vec<&PublicRecord> = records.into_iter().collect();
    let mut seen = OneSet::default();
    for record in &records {
        seen.admit(record)?;
    }
    Ok(records.into_iter().max_by_key(|r| r.set_version))
}

/// Records admitted one by one, each checked against every one before it as [`check_same_set`]
/// would pairwise, in time linear in the records: records of one version that agree with each
/// other carry the same fields, so comparing a record with the first of each version seen
/// gives the same verdict, and the same first disagreement, as comparing it with all of them.
pub(crate) struct OneSet<'a> {
    /// The first record of each set version, in the order they came.
    firsts: Vec<(usize, &'a PublicRecord)>,
    /// Where each index was first seen (its position among the admitted records).
    indices: [Option<usize>; 256],
    /// Records admitted so far.
    count: usize,
}

/// What [`OneSet::admit`] found wrong with a record: the first earlier record it disagrees
/// with, or the first that has its index, whichever came first (the disagreement when both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotOfOneSet {
    /// It disagrees with an earlier record.
    Mismatch(SetMismatch),
    /// An earlier record has the same index.
    Duplicate(u8),
}

impl Default for OneSet<'_> {
    fn default() -> Self {
        OneSet {
            firsts: Vec::new(),
            indices: [None; 256],
            count: 0,
        }
    }
}

impl<'a> OneSet<'a> {
    /// Admits `record` if it agrees with every record admitted before; repeated indices allowed.
    pub(crate) fn admit(&mut self, record: &'a PublicRecord) -> Result<(), SetMismatch> {
        if let Some((_, m)) = self.first_mismatch(record) {
            return Err(m);
        }
        self.keep(record);
        Ok(())
    }

    /// Admits `record` if it agrees with every record before it and no record before it has
    /// its index.
    pub(crate) fn admit_distinct(&mut self, record: &'a PublicRecord) -> Result<(), NotOfOneSet> {
        let duplicate = self.indices[usize::from(record.index)];
        let mismatch = self.first_mismatch(record);
        match (mismatch, duplicate) {
            (Some((at, m)), Some(d)) if at <= d => Err(NotOfOneSet::Mismatch(m)),
            (_, Some(_)) => Err(NotOfOneSet::Duplicate(record.index)),
            (Some((_, m)), None) => Err(NotOfOneSet::Mismatch(m)),
            (None, None) => {
                self.keep(record);
                Ok(())
            }
        }
    }

    /// The first version's first record that `record` disagrees with, and its position.
    fn first_mismatch(&self, record: &PublicRecord) -> Option<(usize, SetMismatch)> {
        self.firsts
            .iter()
            .find_map(|(at, first)| check_same_set(first, record).err().map(|m| (*at, m)))
    }

    fn keep(&mut self, record: &'a PublicRecord) {
        if !self
            .firsts
            .iter()
            .any(|(_, first)| first.set_version == record.set_version)
        {
            self.firsts.push((self.count, record));
        }
        self.indices[usize::from(record.index)].get_or_insert(self.count);
        self.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::wrap::WrappedMaster;
    use crate::crypto::{CardKey, KeyCheck};
    use crate::record::Custodian;
    use curve25519_dalek::montgomery::MontgomeryPoint;

    fn custodian(i: u8) -> Custodian {
        Custodian {
            index: i,
            card_key: CardKey::from_x25519(&MontgomeryPoint::mul_base_clamped([i; 32]).to_bytes())
                .unwrap(),
            commitment: [i; 32],
            name: format!("custodian {i}"),
        }
    }

    /// Version `v` of a 2-of-3 set that gained one custodian per version, as card `index` holds it.
    fn version(v: u16, index: u8) -> PublicRecord {
        PublicRecord {
            set_id: [9; 16],
            set_version: v,
            index,
            threshold: 2,
            label: "set".into(),
            custodians: (1..=2 + v as u8).map(custodian).collect(),
            wrapped: WrappedMaster {
                nonce: [1; 12],
                ct: vec![2; 40],
            },
            key_check: KeyCheck([3; 8]),
            mac: [v as u8; 32],
        }
    }

    fn field(a: &PublicRecord, b: &PublicRecord) -> Option<SetField> {
        let ab = check_same_set(a, b).err().map(|e| e.field);
        assert_eq!(ab, check_same_set(b, a).err().map(|e| e.field), "symmetric");
        ab
    }

    #[test]
    fn versions_of_one_set_combine() {
        assert_eq!(field(&version(1, 1), &version(1, 2)), None);
        assert_eq!(field(&version(1, 1), &version(2, 4)), None);
        assert_eq!(field(&version(1, 3), &version(3, 5)), None);
        assert_eq!(field(&version(2, 2), &version(3, 2)), None);
    }

    #[test]
    fn each_disagreement_is_named() {
        let base = version(1, 1);
        let with = |f: &dyn Fn(&mut PublicRecord)| {
            let mut r = version(2, 2);
            f(&mut r);
            field(&base, &r)
        };
        assert_eq!(with(&|r| r.set_id[0] ^= 1), Some(SetField::SetId));
        assert_eq!(with(&|r| r.threshold = 1), Some(SetField::Threshold));
        assert_eq!(with(&|r| r.label.push('!')), Some(SetField::Label));
        assert_eq!(
            with(&|r| r.wrapped.ct[3] ^= 1),
            Some(SetField::WrappedMaster)
        );
        assert_eq!(
            with(&|r| r.wrapped.nonce[0] ^= 1),
            Some(SetField::WrappedMaster)
        );
        assert_eq!(with(&|r| r.key_check.0[0] ^= 1), Some(SetField::KeyCheck));
        // one entry per version: version 2 cannot list two more than version 1
        assert_eq!(
            with(&|r| r.custodians.push(custodian(8))),
            Some(SetField::Custodians)
        );
        // one version, one description, one MAC
        let mut twin = version(1, 2);
        twin.mac[0] ^= 1;
        assert_eq!(field(&base, &twin), Some(SetField::Mac));
        // a newer version must extend the older list entry by entry
        assert_eq!(
            with(&|r| r.custodians[0].name.push('x')),
            Some(SetField::Custodians)
        );
        assert_eq!(
            with(&|r| r.custodians[1].commitment[0] ^= 1),
            Some(SetField::Custodians)
        );
        assert_eq!(
            with(&|r| r.custodians.swap(0, 1)),
            Some(SetField::Custodians)
        );
        assert_eq!(
            with(&|r| r.custodians.truncate(2)),
            Some(SetField::Custodians)
        );
        assert_eq!(
            with(&|r| r.custodians.truncate(3)),
            Some(SetField::SetVersion)
        );
        // one version, one list
        let mut other = version(1, 2);
        other.custodians[2].card_key = custodian(7).card_key;
        assert_eq!(field(&base, &other), Some(SetField::Custodians));
        // two forks of version 2 from version 1
        let mut fork = version(2, 4);
        fork.custodians[3] = custodian(9);
        fork.custodians[3].index = 4;
        assert_eq!(field(&version(1, 1), &fork), None);
        assert_eq!(field(&version(2, 1), &fork), Some(SetField::Custodians));
    }

    #[test]
    fn mismatch_message_names_cards_versions_and_cause() {
        let mut b = version(2, 4);
        b.custodians.truncate(3);
        let e = check_same_set(&version(1, 1), &b).unwrap_err();
        assert_eq!(
            (e.first, e.first_version, e.other, e.other_version),
            (1, 1, 4, 2)
        );
        let msg = e.to_string();
        assert!(msg.contains("custodian 1 (set version 1)"), "{msg}");
        assert!(msg.contains("custodian 4 (set version 2)"), "{msg}");
        assert!(msg.contains("disagree on the set version"), "{msg}");
        assert!(msg.contains("appends custodians"), "{msg}");
    }

    /// Seven custodians, computed once (point validation is slow in debug builds).
    fn pool() -> &'static [Custodian] {
        static POOL: std::sync::OnceLock<Vec<Custodian>> = std::sync::OnceLock::new();
        POOL.get_or_init(|| (1..=7).map(custodian).collect())
    }

    proptest::proptest! {
        /// Two prefixes of one growing list are of one set exactly when the longer list has one more entry per version (or both are equal); any change to a common entry breaks it.
        #[test]
        fn prefixes_of_one_list_are_one_set_when_versions_agree(
            la in 1usize..=7, lb in 1usize..=7, va in 1u16..=4, vb in 1u16..=4,
            alter in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let mut a = version(1, 1);
            a.set_version = va;
            a.custodians = pool()[..la].to_vec();
            let mut b = a.clone();
            b.set_version = vb;
            b.custodians = pool()[..lb].to_vec();
            let compatible = (va == vb && la == lb)
                || (va < vb && lb == la + usize::from(vb - va))
                || (va > vb && la == lb + usize::from(va - vb));
            proptest::prop_assert_eq!(check_same_set(&a, &b).is_ok(), compatible);
            proptest::prop_assert_eq!(check_same_set(&b, &a).is_ok(), compatible);
            let common = alter.index(la.min(lb));
            b.custodians[common].name.push('~');
            proptest::prop_assert!(check_same_set(&a, &b).is_err());
        }
    }

    #[test]
    fn newest_checks_every_pair() {
        let (v1, v2, v3) = (version(1, 1), version(2, 4), version(3, 5));
        assert_eq!(
            newest_of_one_set([&v2, &v1, &v3])
                .unwrap()
                .unwrap()
                .set_version,
            3
        );
        assert_eq!(newest_of_one_set([]).unwrap(), None);
        // one entry per version: a record that agrees with the newest is the newest's prefix
        // of exactly its length, so two records that agree with it agree with each other;
        // the pairs are checked all the same, and any disagreement is found
        let mut fork = version(2, 2);
        fork.custodians[3] = custodian(6);
        assert!(check_same_set(&v1, &fork).is_ok());
        assert_eq!(
            newest_of_one_set([&v1, &fork, &v3]).unwrap_err().field,
            SetField::Custodians
        );
    }

    /// The pairwise rule [`OneSet`] stands for: each record against every one before it,
    /// set first, then the index, the first failing pair reported.
    fn pairwise(records: &[PublicRecord]) -> Result<(), NotOfOneSet> {
        for (j, s) in records.iter().enumerate() {
            for e in &records[..j] {
                check_same_set(e, s).map_err(NotOfOneSet::Mismatch)?;
                if e.index == s.index {
                    return Err(NotOfOneSet::Duplicate(s.index));
                }
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// The linear check finds exactly what comparing every pair finds, and names the
        /// same first disagreement, on mixes of versions, damaged records and repeated indices.
        #[test]
        fn one_set_in_linear_time_is_the_pairwise_check(
            cards in proptest::collection::vec((1u16..=3, 1u8..=6, 0u8..8), 1..9),
        ) {
            static VERSIONS: std::sync::OnceLock<Vec<PublicRecord>> = std::sync::OnceLock::new();
            let versions = VERSIONS.get_or_init(|| (1..=3).map(|v| version(v, 1)).collect());
            let records: Vec<PublicRecord> = cards
                .iter()
                .map(|&(v, index, damage)| {
                    let mut r = versions[usize::from(v) - 1].clone();
                    r.index = index;
                    match damage {
                        1 => r.threshold = 1,
                        2 => r.mac[0] ^= 1,
                        3 => r.custodians.pop().map(drop).unwrap_or(()),
                        _ => {}
                    }
                    r
                })
                .collect();
            let mut one = OneSet::default();
            let linear = records.iter().try_for_each(|r| one.admit_distinct(r));
            proptest::prop_assert_eq!(linear, pairwise(&records));
            let mut one = OneSet::default();
            let admitted = records.iter().try_for_each(|r| one.admit(r));
            let reference = records.iter().enumerate().try_for_each(|(j, s)| {
                records[..j].iter().try_for_each(|e| check_same_set(e, s))
            });
            proptest::prop_assert_eq!(admitted, reference);
        }
    }
}

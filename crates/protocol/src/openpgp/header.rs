//! What an OpenPGP card stores of a quorum set (apdu-spec/openpgp.md, "Data objects"):
//! a 55-byte header in private-use DO 0101, readable without a PIN, that names the set, its
//! version, the card's index and the set digest, so a host can find the card's public record
//! in the bundle and say which set the card belongs to before any PIN. The sealed share
//! itself goes into DO 0103 (user PIN), as the 81 bytes of record-format.md's sealed part.

use crate::crypto::anchor::SetDigest;
use crate::record::PublicRecord;

/// The header's first four bytes: quorum, OpenPGP mapping, version 1.
pub const HEADER_MAGIC: &[u8; 4] = b"QOP1";
/// Length of the header: magic, set id, set version, index, set digest.
pub const HEADER_LEN: usize = 4 + 16 + 2 + 1 + 32;

/// The header of a card's share of one set version, as DO 0101 holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumHeader {
    /// The set's id.
    pub set_id: [u8; 16],
    /// The set version the card's share belongs to.
    pub set_version: u16,
    /// The card's share index (1..=255).
    pub index: u8,
    /// The set digest of the enrolled description (crypto.md §10).
    pub set_digest: SetDigest,
}

/// Why DO 0101 does not hold a quorum header a host can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The object is neither empty nor 55 bytes long.
    #[error("the quorum header is {0} bytes long, not 55")]
    Length(usize),
    /// The object does not start with "QOP1": another program's data, or a later mapping.
    #[error("the private-use data object 0101 holds no quorum header (it starts with {0:02x?}, not \"QOP1\")")]
    Magic([u8; 4]),
    /// Index 0 is no share index.
    #[error("the quorum header names share index 0, which no set uses")]
    Index,
}

impl QuorumHeader {
    /// The header of the card whose public record this is.
    pub fn for_record(record: &PublicRecord) -> QuorumHeader {
        QuorumHeader {
            set_id: record.set_id,
            set_version: record.set_version,
            index: record.index,
            set_digest: record.set_digest(),
        }
    }

    /// Whether `record` (from the bundle) is the public part of the share this header names.
    pub fn names(&self, record: &PublicRecord) -> bool {
        *self == QuorumHeader::for_record(record)
    }

    /// The 55 bytes written to DO 0101.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(HEADER_MAGIC);
        out[4..20].copy_from_slice(&self.set_id);
        out[20..22].copy_from_slice(&self.set_version.to_be_bytes());
        out[22] = self.index;
        out[23..].copy_from_slice(&self.set_digest.0);
        out
    }

    /// Reads DO 0101: `None` when it is empty (the card holds no quorum share).
    pub fn decode(bytes: &[u8]) -> Result<Option<QuorumHeader>, HeaderError> {
        if bytes.is_empty() {
            return Ok(None);
        }
        if bytes.len() >= 4 && &bytes[..4] != HEADER_MAGIC {
            return Err(HeaderError::Magic(
                bytes[..4].try_into().expect("four bytes"),
            ));
        }
        if bytes.len() != HEADER_LEN {
            return Err(HeaderError::Length(bytes.len()));
        }
        if bytes[22] == 0 {
            return Err(HeaderError::Index);
        }
        Ok(Some(QuorumHeader {
            set_id: bytes[4..20].try_into().expect("16 bytes"),
            set_version: u16::from_be_bytes([bytes[20], bytes[21]]),
            index: bytes[22],
            set_digest: SetDigest(bytes[23..].try_into().expect("32 bytes")),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> QuorumHeader {
        QuorumHeader {
            set_id: [0x11; 16],
            set_version: 0x0102,
            index: 7,
            set_digest: SetDigest([0xd5; 32]),
        }
    }

    #[test]
    fn the_header_round_trips_and_its_layout_is_the_specs() {
        let bytes = header().encode();
        assert_eq!(&bytes[..4], b"QOP1");
        assert_eq!(&bytes[4..20], &[0x11; 16]);
        assert_eq!(&bytes[20..23], &[0x01, 0x02, 0x07]);
        assert_eq!(&bytes[23..], &[0xd5; 32]);
        assert_eq!(QuorumHeader::decode(&bytes), Ok(Some(header())));
    }

    #[test]
    fn an_empty_object_is_no_share_and_other_data_is_named() {
        assert_eq!(QuorumHeader::decode(&[]), Ok(None));
        assert_eq!(
            QuorumHeader::decode(b"GnuPG notes"),
            Err(HeaderError::Magic(*b"GnuP"))
        );
        let bytes = header().encode();
        assert_eq!(
            QuorumHeader::decode(&bytes[..54]),
            Err(HeaderError::Length(54))
        );
        assert_eq!(QuorumHeader::decode(b"QO"), Err(HeaderError::Length(2)));
        let mut zero = bytes;
        zero[22] = 0;
        assert_eq!(QuorumHeader::decode(&zero), Err(HeaderError::Index));
    }

    fn unhex<const N: usize>(v: &serde_json::Value) -> [u8; N] {
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    }

    /// Recomputes every value of apdu-spec/vectors/openpgp.json.
    #[test]
    fn shared_vectors_recompute() {
        use crate::openpgp::{command, PrivateUse};
        use curve25519_dalek::montgomery::MontgomeryPoint;
        use curve25519_dalek::scalar::Scalar;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../apdu-spec/vectors/openpgp.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let h = &v["header"];
        let header = QuorumHeader {
            set_id: unhex(&h["set_id"]),
            set_version: h["set_version"].as_u64().unwrap() as u16,
            index: h["index"].as_u64().unwrap() as u8,
            set_digest: SetDigest(unhex(&h["set_digest"])),
        };
        let bytes: [u8; HEADER_LEN] = unhex(&h["do_0101"]);
        assert_eq!(header.encode(), bytes);
        assert_eq!(QuorumHeader::decode(&bytes), Ok(Some(header)));
        let put = command::put_private_use(PrivateUse::Do0101, &bytes).unwrap();
        assert_eq!(hex::encode(put.as_bytes()), h["put_data_0101_apdu"]);
        let sealed: [u8; 81] = unhex(&v["sealed"]["do_0103"]);
        let put = command::put_private_use(PrivateUse::Do0103, &sealed).unwrap();
        assert_eq!(
            hex::encode(put.as_bytes()),
            v["sealed"]["put_data_0103_apdu"]
        );
        let cases = v["decipher"].as_array().unwrap();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let k: [u8; 32] = unhex(&case["card_secret_le"]);
            let public = x25519_dalek::x25519(k, x25519_dalek::X25519_BASEPOINT_BYTES);
            assert_eq!(public, unhex::<32>(&case["card_public_u_le"]));
            let enc: [u8; 32] = unhex(&case["enc_u_le"]);
            let t = Scalar::from_canonical_bytes(unhex(&case["t_le"])).unwrap();
            let blinded = (MontgomeryPoint(enc) * t).to_bytes();
            assert_eq!(blinded, unhex::<32>(&case["blinded_u_le"]));
            let apdu = command::decipher_cv25519(&blinded);
            assert_eq!(hex::encode(apdu.as_bytes()), case["decipher_apdu"]);
            let answer = x25519_dalek::x25519(k, blinded);
            assert_eq!(answer, unhex::<32>(&case["card_answer_u_le"]));
            let unblinded = (MontgomeryPoint(answer) * t.invert()).to_bytes();
            assert_eq!(unblinded, unhex::<32>(&case["unblinded_u_le"]));
            assert_eq!(unblinded, x25519_dalek::x25519(k, enc));
        }
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = QuorumHeader::decode(&bytes);
        }
    }
}

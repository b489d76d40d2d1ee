//! Typed answers of the OpenPGP card: the application related data (GET DATA 6E), the PW
//! status bytes, the KDF-DO, a generated key's public key and the DECIPHER answer.
//!
//! Every parser takes the card's bytes as outside data: a wrong length, a broken TLV or a
//! missing mandatory data object is a typed [`OpenPgpParseError`], never a panic. Data
//! objects quorum does not read are skipped, so a card with more of them (a YubiKey adds an
//! attestation key: a fourth fingerprint, DA, D9) reads the same.

use std::fmt;

use zeroize::Zeroizing;

use super::tlv::{self, Tlv, TlvError};
use super::{CV25519_ECDH_ATTRIBUTES, FINGERPRINT_LEN, OPENPGP_AID_PREFIX};
use crate::crypto::{CardKey, PointError};

/// Why an OpenPGP card answer could not be read; names the answer or data object and the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenPgpParseError {
    /// The bytes are not well-formed BER-TLV.
    #[error("the {what} answer is not well-formed ({problem})")]
    Tlv {
        /// Which answer.
        what: &'static str,
        /// Where the encoding broke.
        problem: TlvError,
    },
    /// The answer is a data object, but not the one asked for.
    #[error("the {what} answer holds data object {got:02X}, expected {expected:02X}")]
    UnexpectedTag {
        /// Which answer.
        what: &'static str,
        /// The tag asked for.
        expected: u16,
        /// The tag received.
        got: u16,
    },
    /// Bytes follow the data object that should be the whole answer.
    #[error("the {what} answer has {trailing} bytes after its data object")]
    TrailingBytes {
        /// Which answer.
        what: &'static str,
        /// How many.
        trailing: usize,
    },
    /// A data object the spec makes mandatory is absent.
    #[error("the application related data lack the {name} (tag {tag:02X})")]
    Missing {
        /// Its tag.
        tag: u16,
        /// Its name in the spec.
        name: &'static str,
    },
    /// A data object or answer with a length its layout does not allow.
    #[error("the {name} has {got} bytes; {expected}")]
    Length {
        /// Which data object or answer.
        name: &'static str,
        /// Bytes received.
        got: usize,
        /// What the layout allows, in words.
        expected: &'static str,
    },
    /// The AID is not the OpenPGP application's.
    #[error(
        "the application identifier {0} is not the OpenPGP application's (D2 76 00 01 24 01 …)"
    )]
    NotOpenPgpAid(String),
    /// The card's public key or answer is not a usable point of Curve25519's prime-order subgroup.
    #[error("the card's {what} is not a usable X25519 point: {problem}")]
    Point {
        /// "public key" or "DECIPHER answer".
        what: &'static str,
        /// The check that failed.
        problem: PointError,
    },
}

/// Who may read or write a data object (spec §4.4.1 / §4.4.2 access columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// No PIN.
    Always,
    /// The user PIN verified in mode 82 in this session.
    UserPin,
    /// The admin PIN (PW3) verified in this session.
    AdminPin,
}

/// The spec version a card implements, from its AID; quorum needs 3.x for cv25519.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpecVersion {
    /// Major version (3 for cards with Curve25519).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The card's application identifier (4F, spec §4.2.1): how quorum names an OpenPGP card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Aid {
    /// Spec version implemented.
    pub version: SpecVersion,
    /// Manufacturer ID (assigned by the spec's maintainer; 0000 and FFFF are test cards).
    pub manufacturer: u16,
    /// Serial number, unique per manufacturer.
    pub serial: u32,
}

/// Length of the full AID.
const AID_LEN: usize = 16;

impl Aid {
    /// Reads the 16-byte AID; anything but the OpenPGP application's is refused.
    pub fn parse(bytes: &[u8]) -> Result<Aid, OpenPgpParseError> {
        let aid: &[u8; AID_LEN] = bytes.try_into().map_err(|_| OpenPgpParseError::Length {
            name: "application identifier (4F)",
            got: bytes.len(),
            expected: "exactly 16 are expected",
        })?;
        if aid[..6] != OPENPGP_AID_PREFIX {
            return Err(OpenPgpParseError::NotOpenPgpAid(hex::encode_upper(aid)));
        }
        Ok(Aid {
            version: SpecVersion {
                major: aid[6],
                minor: aid[7],
            },
            manufacturer: u16::from_be_bytes([aid[8], aid[9]]),
            serial: u32::from_be_bytes([aid[10], aid[11], aid[12], aid[13]]),
        })
    }

    /// The manufacturer's name for the IDs assigned so far, so a custodian can tell which card is meant.
    pub fn manufacturer_name(&self) -> Option<&'static str> {
        Some(match self.manufacturer {
            0x0000 | 0xFFFF => "test card",
            0x0001 => "PPC Card Systems",
            0x0002 => "Prism Payment Technologies",
            0x0003 => "OpenFortress",
            0x0004 => "Wewid",
            0x0005 => "ZeitControl",
            0x0006 => "Yubico",
            0x0007 => "OpenKMS",
            0x0008 => "LogoEmail",
            0x0009 => "Fidesmo",
            0x000A => "VivoKey",
            0x000B => "Feitian Technologies",
            0x000D => "Dangerous Things",
            0x000E => "Excelsecu",
            0x000F => "Nitrokey",
            0x002A => "Magrathea",
            0x0042 => "GnuPG e.V.",
            0xF1D0 => "CanoKeys",
            0xF517 => "FSIJ (Gnuk)",
            _ => return None,
        })
    }

    /// The serial as GnuPG and the card vendors print it: eight hex digits.
    pub fn serial_hex(&self) -> String {
        format!("{:08X}", self.serial)
    }
}

/// What the card can do besides the basics (C0, spec §4.4.1; the 3.x layout of its 10 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtendedCapabilities {
    /// The flag byte: b8 secure messaging, b7 GET CHALLENGE, b6 key import, b5 PW status
    /// changeable, b4 private-use DOs, b3 algorithm attributes changeable, b2 AES, b1 KDF-DO.
    pub flags: u8,
    /// Longest GET CHALLENGE answer.
    pub max_challenge_len: u16,
    /// Largest cardholder certificate (7F21), the other place a record could live.
    pub max_certificate_len: u16,
    /// Largest "special DO" (private use, login data, URL, …), from spec 3.0 on; version 2
    /// cards put the maximum command length there, so it is `None` for them.
    pub max_special_do_len: Option<u16>,
}

impl ExtendedCapabilities {
    /// Whether the card has the private-use DOs 0101–0104 at all.
    pub fn private_use_dos(&self) -> bool {
        self.flags & 0x08 != 0
    }

    /// Whether PUT DATA C2 may switch the decryption key to cv25519.
    pub fn algorithm_attributes_changeable(&self) -> bool {
        self.flags & 0x04 != 0
    }

    /// Whether the card supports a KDF-DO (then read F9 to know whether it is active).
    pub fn kdf(&self) -> bool {
        self.flags & 0x01 != 0
    }

    /// Whether keys can be imported; quorum only generates on the card.
    pub fn key_import(&self) -> bool {
        self.flags & 0x20 != 0
    }
}

/// The algorithm of one key slot (C1/C2/C3, spec §4.4.3.10), as far as quorum cares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlgorithmAttributes {
    /// cv25519 ECDH, the X25519 key quorum's blinded unseal works with: algorithm ID 12 and
    /// OID 1.3.6.1.4.1.3029.1.5.1, optionally followed by the import-format byte. ID 16 with
    /// the same OID is read the same: a YubiKey 5 lists it so in its algorithm information
    /// and accepts it in C2, and the key then deciphers as X25519.
    Cv25519Ecdh,
    /// Any other algorithm (RSA, NIST or Brainpool ECDH, …), kept raw for display.
    Other {
        /// The first byte (01 RSA, 12 ECDH, 13 ECDSA, 16 EdDSA), if any.
        algorithm_id: Option<u8>,
        /// The whole value.
        raw: Vec<u8>,
    },
}

impl AlgorithmAttributes {
    /// Reads the value of C1, C2 or C3.
    pub fn parse(value: &[u8]) -> AlgorithmAttributes {
        let oid = &CV25519_ECDH_ATTRIBUTES[1..];
        match value {
            [0x12 | 0x16, rest @ ..]
                if rest == oid || (rest.len() == oid.len() + 1 && rest.starts_with(oid)) =>
            {
                AlgorithmAttributes::Cv25519Ecdh
            }
            _ => AlgorithmAttributes::Other {
                algorithm_id: value.first().copied(),
                raw: value.to_vec(),
            },
        }
    }
}

/// The PW status bytes (C4, spec §4.4.1): PIN lengths and tries left, read before every VERIFY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PwStatus {
    /// PW1 (81) stays valid for several signatures; signing only, nothing of quorum's.
    pub pw1_valid_for_several_signatures: bool,
    /// Longest user PIN the card takes.
    pub pw1_max_len: u8,
    /// Longest resetting code.
    pub rc_max_len: u8,
    /// Longest admin PIN.
    pub pw3_max_len: u8,
    /// Tries left for the user PIN; 0 = blocked (the resetting code or the admin PIN unblocks it).
    pub pw1_tries_left: u8,
    /// Tries left for the resetting code; 0 also when none is set.
    pub rc_tries_left: u8,
    /// Tries left for the admin PIN; 0 = blocked, only a factory reset (TERMINATE DF) helps.
    pub pw3_tries_left: u8,
}

/// Bytes of C4.
const PW_STATUS_LEN: usize = 7;

impl PwStatus {
    /// Reads C4 (from 6E or from GET DATA C4); bytes after the seventh are ignored.
    pub fn parse(value: &[u8]) -> Result<PwStatus, OpenPgpParseError> {
        let v = value
            .get(..PW_STATUS_LEN)
            .ok_or(OpenPgpParseError::Length {
                name: "PW status bytes (C4)",
                got: value.len(),
                expected: "at least 7 are needed",
            })?;
        // bit 8 of the length bytes is the PIN format (3.x: 1 = PIN block format 2)
        Ok(PwStatus {
            pw1_valid_for_several_signatures: v[0] != 0,
            pw1_max_len: v[1] & 0x7F,
            rc_max_len: v[2] & 0x7F,
            pw3_max_len: v[3] & 0x7F,
            pw1_tries_left: v[4],
            rc_tries_left: v[5],
            pw3_tries_left: v[6],
        })
    }
}

/// A key's OpenPGP fingerprint as the card stores it (C5); all zero means no key was registered.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; FINGERPRINT_LEN]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pair) in self.0.chunks(2).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}", hex::encode_upper(pair))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// What the card says of a key slot (DE, spec 3.3 on): the one reliable "is there a key".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    /// `00`: no key.
    NotPresent,
    /// `01`: generated on the card, so never outside it.
    Generated,
    /// `02`: imported; someone may hold a copy.
    Imported,
    /// A value the spec does not define.
    Unknown(u8),
}

impl KeyStatus {
    fn from_byte(b: u8) -> KeyStatus {
        match b {
            0x00 => KeyStatus::NotPresent,
            0x01 => KeyStatus::Generated,
            0x02 => KeyStatus::Imported,
            other => KeyStatus::Unknown(other),
        }
    }
}

/// Whether DECIPHER waits for a touch (UIF D7, spec §4.4.1; values 03/04 are YubiKey's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TouchPolicy {
    /// `00`: no touch.
    Off,
    /// `01`: a touch per operation.
    On,
    /// `02`: on, and only a factory reset turns it off.
    Fixed,
    /// `03`: a touch, then 15 seconds without (YubiKey).
    Cached,
    /// `04`: cached, and only a factory reset turns it off (YubiKey).
    CachedFixed,
    /// A value quorum does not know.
    Unknown(u8),
}

impl TouchPolicy {
    fn from_byte(b: u8) -> TouchPolicy {
        match b {
            0x00 => TouchPolicy::Off,
            0x01 => TouchPolicy::On,
            0x02 => TouchPolicy::Fixed,
            0x03 => TouchPolicy::Cached,
            0x04 => TouchPolicy::CachedFixed,
            other => TouchPolicy::Unknown(other),
        }
    }
}

/// One value per key slot, in the spec's order signature, decryption, authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slots<T> {
    /// Signature key (slot 1).
    pub signature: T,
    /// Decryption key (slot 2), the one quorum uses.
    pub decryption: T,
    /// Authentication key (slot 3).
    pub authentication: T,
}

/// The application related data (6E, spec §4.4.1): everything quorum needs to recognise an
/// OpenPGP card and decide whether it can be a custodian card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRelatedData {
    /// AID: version, manufacturer, serial.
    pub aid: Aid,
    /// Historical bytes (5F52, spec §6), raw: card capabilities such as command chaining.
    pub historical_bytes: Vec<u8>,
    /// Extended capabilities (C0).
    pub extended_capabilities: ExtendedCapabilities,
    /// Algorithm attributes C1, C2, C3.
    pub algorithms: Slots<AlgorithmAttributes>,
    /// PW status bytes (C4).
    pub pw_status: PwStatus,
    /// Fingerprints (C5); `None` where the card stores zeros.
    pub fingerprints: Slots<Option<Fingerprint>>,
    /// Key generation times (CD), seconds since 1970; `None` where zero or absent.
    pub generation_times: Slots<Option<u32>>,
    /// The decryption key's status from the key information (DE), on cards of spec 3.3 on.
    pub decryption_key_status: Option<KeyStatus>,
    /// The decryption key's touch policy (D7), on cards with a button.
    pub decryption_touch: Option<TouchPolicy>,
}

/// Name of the 6E answer in errors.
const ARD: &str = "GET DATA 6E";

impl ApplicationRelatedData {
    /// Reads the GET DATA 6E answer: one 6E data object, its discretionary data in 73 (or,
    /// on some cards, directly in 6E). opcard (Nitrokey 3) answers the content of 6E without
    /// the outer tag, starting with the AID (4F): both forms are read.
    pub fn parse(data: &[u8]) -> Result<ApplicationRelatedData, OpenPgpParseError> {
        let outer = match data.first() {
            Some(0x4F) => data,
            _ => single(data, 0x6E, ARD)?,
        };
        let top = tlv::read_all(outer)
            .map_err(|problem| OpenPgpParseError::Tlv { what: ARD, problem })?;
        let discretionary = match tlv::find(&top, 0x73) {
            Some(value) => tlv::read_all(value)
                .map_err(|problem| OpenPgpParseError::Tlv { what: ARD, problem })?,
            None => Vec::new(),
        };
        let lookup = |tag: u16| tlv::find(&discretionary, tag).or_else(|| tlv::find(&top, tag));
        let required = |tag: u16, name: &'static str| {
            lookup(tag).ok_or(OpenPgpParseError::Missing { tag, name })
        };

        let aid = Aid::parse(required(0x4F, "application identifier")?)?;
        let historical_bytes = lookup(0x5F52).unwrap_or_default().to_vec();
        let extended_capabilities =
            parse_extended_capabilities(required(0xC0, "extended capabilities")?, aid.version)?;
        let algorithm = |tag, name| -> Result<AlgorithmAttributes, OpenPgpParseError> {
            Ok(AlgorithmAttributes::parse(required(tag, name)?))
        };
        let algorithms = Slots {
            signature: algorithm(0xC1, "signature key's algorithm attributes")?,
            decryption: algorithm(0xC2, "decryption key's algorithm attributes")?,
            authentication: algorithm(0xC3, "authentication key's algorithm attributes")?,
        };
        let pw_status = PwStatus::parse(required(0xC4, "PW status bytes")?)?;
        let fingerprints = parse_fingerprints(required(0xC5, "fingerprints")?)?;
        let generation_times = match lookup(0xCD) {
            Some(value) => parse_generation_times(value)?,
            None => Slots {
                signature: None,
                decryption: None,
                authentication: None,
            },
        };
        let decryption_key_status = match lookup(0xDE) {
            Some(value) => parse_key_information(value)?,
            None => None,
        };
        let decryption_touch = lookup(0xD7)
            .and_then(|v| v.first())
            .map(|&b| TouchPolicy::from_byte(b));
        Ok(ApplicationRelatedData {
            aid,
            historical_bytes,
            extended_capabilities,
            algorithms,
            pw_status,
            fingerprints,
            generation_times,
            decryption_key_status,
            decryption_touch,
        })
    }

    /// Whether the decryption slot holds a key: DE where the card has it (a generated key
    /// whose fingerprint was never written counts), else a nonzero fingerprint.
    pub fn decryption_key_present(&self) -> bool {
        match self.decryption_key_status {
            Some(status) => status != KeyStatus::NotPresent,
            None => self.fingerprints.decryption.is_some(),
        }
    }

    /// Whether the card can serve quorum as it is: a cv25519 key in the decryption slot.
    pub fn has_cv25519_decryption_key(&self) -> bool {
        self.decryption_key_present()
            && self.algorithms.decryption == AlgorithmAttributes::Cv25519Ecdh
    }

    /// How many bytes a private-use DO can hold, if the card has them and says so (C0).
    pub fn private_use_capacity(&self) -> Option<u16> {
        if self.extended_capabilities.private_use_dos() {
            self.extended_capabilities.max_special_do_len
        } else {
            None
        }
    }
}

/// The value of the one data object `tag` that `data` must be, with nothing after it.
fn single<'a>(data: &'a [u8], tag: u16, what: &'static str) -> Result<&'a [u8], OpenPgpParseError> {
    let (Tlv { tag: got, value }, rest) =
        tlv::read_one(data).map_err(|problem| OpenPgpParseError::Tlv { what, problem })?;
    if got != tag {
        return Err(OpenPgpParseError::UnexpectedTag {
            what,
            expected: tag,
            got,
        });
    }
    if !rest.is_empty() {
        return Err(OpenPgpParseError::TrailingBytes {
            what,
            trailing: rest.len(),
        });
    }
    Ok(value)
}

/// C0 in the layout of the card's spec version: 3.x puts the special-DO maximum in bytes 7–8.
fn parse_extended_capabilities(
    value: &[u8],
    version: SpecVersion,
) -> Result<ExtendedCapabilities, OpenPgpParseError> {
    let need = if version.major >= 3 { 8 } else { 6 };
    let v = value.get(..need).ok_or(OpenPgpParseError::Length {
        name: "extended capabilities (C0)",
        got: value.len(),
        expected: "at least 8 are needed (6 on a version 2 card)",
    })?;
    let word = |i: usize| u16::from_be_bytes([v[i], v[i + 1]]);
    Ok(ExtendedCapabilities {
        flags: v[0],
        max_challenge_len: word(2),
        max_certificate_len: word(4),
        max_special_do_len: (version.major >= 3).then(|| word(6)),
    })
}

/// C5: at least three 20-byte fingerprints (a YubiKey adds a fourth, its attestation key's).
fn parse_fingerprints(value: &[u8]) -> Result<Slots<Option<Fingerprint>>, OpenPgpParseError> {
    if value.len() < 3 * FINGERPRINT_LEN || !value.len().is_multiple_of(FINGERPRINT_LEN) {
        return Err(OpenPgpParseError::Length {
            name: "fingerprints (C5)",
            got: value.len(),
            expected: "three or more 20-byte fingerprints are expected",
        });
    }
    let fp = |i: usize| {
        let bytes: [u8; FINGERPRINT_LEN] = value[i * FINGERPRINT_LEN..(i + 1) * FINGERPRINT_LEN]
            .try_into()
            .expect("length checked above");
        (bytes != [0; FINGERPRINT_LEN]).then_some(Fingerprint(bytes))
    };
    Ok(Slots {
        signature: fp(0),
        decryption: fp(1),
        authentication: fp(2),
    })
}

/// CD: at least three 4-byte big-endian times.
fn parse_generation_times(value: &[u8]) -> Result<Slots<Option<u32>>, OpenPgpParseError> {
    if value.len() < 12 || !value.len().is_multiple_of(4) {
        return Err(OpenPgpParseError::Length {
            name: "key generation times (CD)",
            got: value.len(),
            expected: "three or more 4-byte times are expected",
        });
    }
    let time = |i: usize| {
        let t = u32::from_be_bytes([
            value[4 * i],
            value[4 * i + 1],
            value[4 * i + 2],
            value[4 * i + 3],
        ]);
        (t != 0).then_some(t)
    };
    Ok(Slots {
        signature: time(0),
        decryption: time(1),
        authentication: time(2),
    })
}

/// DE: pairs (key reference, status); the decryption key is reference 02.
fn parse_key_information(value: &[u8]) -> Result<Option<KeyStatus>, OpenPgpParseError> {
    if !value.len().is_multiple_of(2) {
        return Err(OpenPgpParseError::Length {
            name: "key information (DE)",
            got: value.len(),
            expected: "pairs of key reference and status are expected",
        });
    }
    Ok(value
        .chunks_exact(2)
        .find(|pair| pair[0] == 0x02)
        .map(|pair| KeyStatus::from_byte(pair[1])))
}

/// Whether the card wants KDF(PIN) instead of the PIN (KDF-DO F9, spec §4.3, 3.3 on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KdfSetting {
    /// `81 01 00`, or no KDF-DO at all: the PIN is sent as typed.
    None,
    /// `81 01 xx` with xx ≠ 00 (03 = iterated and salted S2K): quorum does not speak it.
    Active(u8),
}

impl KdfSetting {
    /// Reads the GET DATA F9 answer (the content of the KDF-DO, or the DO itself); empty means none.
    pub fn parse(data: &[u8]) -> Result<KdfSetting, OpenPgpParseError> {
        const WHAT: &str = "GET DATA F9";
        let objects = tlv::read_all(data).map_err(|problem| OpenPgpParseError::Tlv {
            what: WHAT,
            problem,
        })?;
        let objects = match tlv::find(&objects, 0xF9) {
            Some(inner) => tlv::read_all(inner).map_err(|problem| OpenPgpParseError::Tlv {
                what: WHAT,
                problem,
            })?,
            None => objects,
        };
        Ok(match tlv::find(&objects, 0x81) {
            None | Some([0x00]) => KdfSetting::None,
            Some([algorithm]) => KdfSetting::Active(*algorithm),
            Some(other) => {
                return Err(OpenPgpParseError::Length {
                    name: "KDF algorithm (F9/81)",
                    got: other.len(),
                    expected: "exactly 1 is expected",
                })
            }
        })
    }
}

/// Strips the 40 prefix OpenPGP puts before a native Curve25519 point, if there is one.
fn x25519_u<'a>(value: &'a [u8], name: &'static str) -> Result<&'a [u8; 32], OpenPgpParseError> {
    let raw = match value {
        [0x40, rest @ ..] if rest.len() == 32 => rest,
        _ => value,
    };
    raw.try_into().map_err(|_| OpenPgpParseError::Length {
        name,
        got: value.len(),
        expected: "a cv25519 point is 32 bytes (or 33 starting with 40)",
    })
}

/// Reads the GENERATE ASYMMETRIC KEY PAIR answer `7F49 { 86 len u }` into quorum's card key.
///
/// The card sends the cv25519 point in its native form, 32 bytes of little-endian u
/// (YubiKey 5 and opcard do; spec §7.2.14 for ECC keys: "86 public key"); OpenPGP's own key
/// packets prefix it with 40. Both are accepted; the point must be in the prime-order
/// subgroup, as every honestly generated X25519 public key is.
pub fn parse_public_key(data: &[u8]) -> Result<CardKey, OpenPgpParseError> {
    const WHAT: &str = "GENERATE ASYMMETRIC KEY PAIR";
    let template = single(data, 0x7F49, WHAT)?;
    let objects = tlv::read_all(template).map_err(|problem| OpenPgpParseError::Tlv {
        what: WHAT,
        problem,
    })?;
    let point = tlv::find(&objects, 0x86).ok_or(OpenPgpParseError::Missing {
        tag: 0x86,
        name: "public key's point (86 in 7F49)",
    })?;
    let u = x25519_u(point, "public key (7F49/86)")?;
    CardKey::from_x25519(u).map_err(|problem| OpenPgpParseError::Point {
        what: "public key",
        problem,
    })
}

/// Reads the PSO:DECIPHER answer for cv25519: the 32-byte u of the shared point (spec §7.2.11).
///
/// The point is checked by the unblinding; here only its length. A 40 prefix is stripped,
/// as for public keys, though the cards seen answer the bare 32 bytes.
pub fn parse_decipher_answer(data: &[u8]) -> Result<Zeroizing<[u8; 32]>, OpenPgpParseError> {
    let u = x25519_u(data, "DECIPHER answer")?;
    Ok(Zeroizing::new(*u))
}

#[cfg(test)]
mod tests;

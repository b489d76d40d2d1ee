//! Command builders for the OpenPGP card application, one per command quorum sends.
//!
//! All are short APDUs with CLA 00 (see the module documentation for why neither extended
//! length nor command chaining is needed). Secrets are marked as in the applet's builders:
//! PINs are redacted in traces, and so are the DECIPHER point and answer and the content of
//! the private-use data objects that hold a sealed share.

use zeroize::Zeroizing;

use super::data::Access;
use super::{
    apdu, tlv, CV25519_ECDH_ATTRIBUTES, FINGERPRINT_LEN, INS_GENERATE_ASYMMETRIC_KEY_PAIR,
    INS_GET_DATA, INS_PSO, INS_PUT_DATA, OPENPGP_AID_PREFIX, TAG_ALGORITHM_ATTRIBUTES_DEC,
    TAG_APPLICATION_RELATED_DATA, TAG_FINGERPRINT_DEC, TAG_GENERATION_TIME_DEC, TAG_KDF,
    TAG_PW_STATUS,
};
use crate::apdu::command::EncodeError;
use crate::apdu::{CommandApdu, INS_SELECT, INS_VERIFY, MAX_SHORT_DATA, MAX_SHORT_RESPONSE};

/// Ne of every command that answers with data: one short response; more comes with 61xx.
const NE_MAX: u16 = MAX_SHORT_RESPONSE;

/// Shortest user PIN (PW1) the spec allows (§4.3); a shorter one would only burn a try.
pub const USER_PIN_MIN: usize = 6;
/// Shortest admin PIN (PW3) the spec allows (§4.3).
pub const ADMIN_PIN_MIN: usize = 8;
/// Longest PIN the PW status bytes can announce (their length fields have 7 bits); the
/// card's own maximum is in [`super::PwStatus`].
pub const PIN_MAX: usize = 127;

/// Why a PIN is not sent: the card would count it as a wrong try or the APDU could not carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// Shorter than the spec's minimum for this PIN.
    #[error("the {pin} must have at least {min} characters, this one has {len}")]
    TooShort {
        /// "user PIN" or "admin PIN".
        pin: &'static str,
        /// The minimum.
        min: usize,
        /// The length given.
        len: usize,
    },
    /// Longer than any OpenPGP card accepts.
    #[error("the {pin} must have at most {max} characters, this one has {len}")]
    TooLong {
        /// "user PIN" or "admin PIN".
        pin: &'static str,
        /// The maximum.
        max: usize,
        /// The length given.
        len: usize,
    },
}

fn checked_pin(
    bytes: &[u8],
    pin: &'static str,
    min: usize,
) -> Result<Zeroizing<Vec<u8>>, PinError> {
    let len = bytes.len();
    if len < min {
        return Err(PinError::TooShort { pin, min, len });
    }
    if len > PIN_MAX {
        return Err(PinError::TooLong {
            pin,
            max: PIN_MAX,
            len,
        });
    }
    Ok(Zeroizing::new(bytes.to_vec()))
}

/// The user PIN (PW1) as the card compares it: the UTF-8 bytes, no padding (spec §7.2.2).
///
/// If the card's KDF-DO is active ([`super::KdfSetting`]), the bytes must be the KDF output
/// instead; quorum does not derive it and refuses such a card before asking for a PIN.
pub struct UserPin(Zeroizing<Vec<u8>>);

impl UserPin {
    /// Takes the PIN's bytes, refusing a length the card would count as a wrong try.
    pub fn new(bytes: &[u8]) -> Result<Self, PinError> {
        checked_pin(bytes, "user PIN", USER_PIN_MIN).map(Self)
    }
}

/// The admin PIN (PW3), needed for key generation and PUT DATA (spec §4.4.2, §7.2.14).
pub struct AdminPin(Zeroizing<Vec<u8>>);

impl AdminPin {
    /// Takes the PIN's bytes, refusing a length the card would count as a wrong try.
    pub fn new(bytes: &[u8]) -> Result<Self, PinError> {
        checked_pin(bytes, "admin PIN", ADMIN_PIN_MIN).map(Self)
    }
}

impl std::fmt::Debug for UserPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserPin(<{} bytes>)", self.0.len())
    }
}

impl std::fmt::Debug for AdminPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminPin(<{} bytes>)", self.0.len())
    }
}

/// Which password a VERIFY names (P2, spec §7.2.2); quorum never uses PW1 81 (signing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PinRef {
    /// `82`: PW1 for everything but signing — PSO:DECIPHER and the private-use DOs 0101/0103.
    UserDecipher,
    /// `83`: PW3, the admin PIN — key generation, algorithm attributes, fingerprints, 0102/0104.
    Admin,
}

impl PinRef {
    /// P2 of VERIFY for this password.
    pub fn p2(self) -> u8 {
        match self {
            PinRef::UserDecipher => 0x82,
            PinRef::Admin => 0x83,
        }
    }
}

/// The four private-use data objects (spec §4.4.1 / §4.4.2, optional; C0 announces them).
///
/// Access as the spec's tables give it: 0101 read always, write PW1 (82); 0102 read always,
/// write PW3; 0103 read and write PW1 (82); 0104 read and write PW3. Their size is card
/// specific: at most "max. length of special DOs" in C0 (255 bytes on a YubiKey 5; 4096 in
/// opcard, the Nitrokey 3 firmware).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrivateUse {
    /// `0101`: anyone reads, the user PIN writes.
    Do0101,
    /// `0102`: anyone reads, the admin PIN writes.
    Do0102,
    /// `0103`: the user PIN reads and writes.
    Do0103,
    /// `0104`: the admin PIN reads and writes.
    Do0104,
}

impl PrivateUse {
    /// Every private-use data object, in tag order.
    pub const ALL: [PrivateUse; 4] = [Self::Do0101, Self::Do0102, Self::Do0103, Self::Do0104];

    /// The tag, as P1 P2 of GET DATA / PUT DATA.
    pub fn tag(self) -> u16 {
        match self {
            PrivateUse::Do0101 => 0x0101,
            PrivateUse::Do0102 => 0x0102,
            PrivateUse::Do0103 => 0x0103,
            PrivateUse::Do0104 => 0x0104,
        }
    }

    /// What GET DATA needs, so the host can VERIFY first instead of burning a 6982.
    pub fn read_access(self) -> Access {
        match self {
            PrivateUse::Do0101 | PrivateUse::Do0102 => Access::Always,
            PrivateUse::Do0103 => Access::UserPin,
            PrivateUse::Do0104 => Access::AdminPin,
        }
    }

    /// What PUT DATA needs.
    pub fn write_access(self) -> Access {
        match self {
            PrivateUse::Do0101 | PrivateUse::Do0103 => Access::UserPin,
            PrivateUse::Do0102 | PrivateUse::Do0104 => Access::AdminPin,
        }
    }
}

/// SELECT the OpenPGP application by its 6-byte partial AID: the first command on the card.
pub fn select() -> CommandApdu {
    apdu(INS_SELECT, 0x04, 0x00, &OPENPGP_AID_PREFIX, NE_MAX)
}

/// GET DATA of a tag (P1 P2 = tag, spec §7.2.6).
fn get_data(tag: u16) -> CommandApdu {
    let [p1, p2] = tag.to_be_bytes();
    apdu(INS_GET_DATA, p1, p2, &[], NE_MAX)
}

/// GET DATA 6E: AID, algorithms, fingerprints, PIN tries in one answer ([`super::ApplicationRelatedData`]).
pub fn get_application_related_data() -> CommandApdu {
    get_data(TAG_APPLICATION_RELATED_DATA)
}

/// GET DATA C4: the PW status bytes alone, to show tries left after a failed VERIFY.
pub fn get_pw_status() -> CommandApdu {
    get_data(TAG_PW_STATUS)
}

/// GET DATA F9: the KDF-DO, to refuse a card that expects KDF(PIN) (quorum sends PINs as typed).
pub fn get_kdf() -> CommandApdu {
    get_data(TAG_KDF)
}

/// GET DATA of a private-use DO; the answer of 0103/0104 is treated as secret in traces.
pub fn get_private_use(object: PrivateUse) -> CommandApdu {
    get_data(object.tag()).secret_response(object.read_access() != Access::Always)
}

/// PUT DATA of a private-use DO (spec §7.2.8); the data are redacted in traces.
pub fn put_private_use(object: PrivateUse, data: &[u8]) -> Result<CommandApdu, EncodeError> {
    let [p1, p2] = object.tag().to_be_bytes();
    put_data(p1, p2, data).map(|c| c.secret_data_from(0))
}

fn put_data(p1: u8, p2: u8, data: &[u8]) -> Result<CommandApdu, EncodeError> {
    if data.len() > MAX_SHORT_DATA {
        return Err(EncodeError::DataTooLong(data.len()));
    }
    Ok(apdu(INS_PUT_DATA, p1, p2, data, 0))
}

/// PUT DATA C2 = cv25519 ECDH: makes the decryption slot generate an X25519 key (needs PW3,
/// and C0 must say the attributes are changeable).
pub fn put_decryption_algorithm_cv25519() -> CommandApdu {
    let [p1, p2] = TAG_ALGORITHM_ATTRIBUTES_DEC.to_be_bytes();
    apdu(INS_PUT_DATA, p1, p2, &CV25519_ECDH_ATTRIBUTES, 0)
}

/// PUT DATA C8: the decryption key's fingerprint, which GnuPG and C5 use to tell a key is there.
///
/// The card only stores it (spec §4.4.2; it is the host's job after GENERATE, §7.2.14) and
/// never checks it; DECIPHER works without it. quorum writes it so that a card it set up
/// shows a present key to every tool; any 20 bytes do, quorum need not compute a v4
/// fingerprint.
pub fn put_decryption_fingerprint(fingerprint: &[u8; FINGERPRINT_LEN]) -> CommandApdu {
    let [p1, p2] = TAG_FINGERPRINT_DEC.to_be_bytes();
    apdu(INS_PUT_DATA, p1, p2, fingerprint, 0)
}

/// PUT DATA CF: the decryption key's generation time (seconds since 1970, big-endian), written beside its fingerprint.
pub fn put_decryption_generation_time(unix_seconds: u32) -> CommandApdu {
    let [p1, p2] = TAG_GENERATION_TIME_DEC.to_be_bytes();
    apdu(INS_PUT_DATA, p1, p2, &unix_seconds.to_be_bytes(), 0)
}

/// VERIFY PW1 in mode 82, which PSO:DECIPHER and 0101/0103 need; the PIN is secret.
pub fn verify_user(pin: &UserPin) -> CommandApdu {
    apdu(INS_VERIFY, 0x00, PinRef::UserDecipher.p2(), &pin.0, 0).secret_data_from(0)
}

/// VERIFY PW3, which key generation and PUT DATA need; the PIN is secret.
pub fn verify_admin(pin: &AdminPin) -> CommandApdu {
    apdu(INS_VERIFY, 0x00, PinRef::Admin.p2(), &pin.0, 0).secret_data_from(0)
}

/// CHANGE REFERENCE DATA `00 24 00 81` for the user PIN: old ‖ new, both as the card
/// compares them (spec §7.2.3), so a custodian changes the PIN that guards the share; secret.
pub fn change_user_pin(old: &UserPin, new: &UserPin) -> CommandApdu {
    let mut data = Zeroizing::new(Vec::with_capacity(old.0.len() + new.0.len()));
    data.extend_from_slice(&old.0);
    data.extend_from_slice(&new.0);
    // Two PINs of at most 127 bytes each: 254 bytes, always a short APDU.
    apdu(crate::apdu::INS_CHANGE_REFERENCE_DATA, 0x00, 0x81, &data, 0).secret_data_from(0)
}

/// VERIFY without data: 9000 if the PIN is verified in this session, else 63Cx with x tries left (spec §7.2.2).
pub fn verify_status(pin: PinRef) -> CommandApdu {
    apdu(INS_VERIFY, 0x00, pin.p2(), &[], 0)
}

/// VERIFY with P1 = FF: drops the verified state when quorum is done with the card (spec §7.2.2).
pub fn verify_reset(pin: PinRef) -> CommandApdu {
    apdu(INS_VERIFY, 0xFF, pin.p2(), &[], 0)
}

/// PSO:DECIPHER of a cv25519 point: `A6 { 7F49 { 86 20 u } }`, u little-endian as X25519
/// sends it, no 40 prefix (spec §7.2.11). Point and answer are secret in traces, as UNSEAL's.
pub fn decipher_cv25519(u: &[u8; 32]) -> CommandApdu {
    let mut key = Zeroizing::new(Vec::with_capacity(34));
    tlv::write(&mut key, 0x86, u);
    let mut public = Zeroizing::new(Vec::with_capacity(37));
    tlv::write(&mut public, 0x7F49, &key);
    let mut data = Zeroizing::new(Vec::with_capacity(39));
    tlv::write(&mut data, 0xA6, &public);
    apdu(INS_PSO, 0x80, 0x86, &data, NE_MAX)
        .secret_data_from(0)
        .secret_response(true)
}

/// The control reference template of the decryption key (B8 00), the data of GENERATE.
const CRT_DECRYPTION: [u8; 2] = [0xB8, 0x00];

/// GENERATE ASYMMETRIC KEY PAIR P1 = 80 for the decryption key: a new key on the card,
/// destroying the old one (needs PW3; answers the public key, [`super::parse_public_key`]).
pub fn generate_decryption_key() -> CommandApdu {
    apdu(
        INS_GENERATE_ASYMMETRIC_KEY_PAIR,
        0x80,
        0x00,
        &CRT_DECRYPTION,
        NE_MAX,
    )
}

/// GENERATE ASYMMETRIC KEY PAIR P1 = 81: reads the decryption key's public key, no PIN needed.
pub fn read_decryption_public_key() -> CommandApdu {
    apdu(
        INS_GENERATE_ASYMMETRIC_KEY_PAIR,
        0x81,
        0x00,
        &CRT_DECRYPTION,
        NE_MAX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(command: &CommandApdu) -> String {
        hex::encode_upper(command.as_bytes())
    }

    /// Reference bytes: the spec's command tables (§7.2.1 SELECT, §7.2.2 VERIFY, §7.2.6 GET
    /// DATA, §7.2.8 PUT DATA, §7.2.11 PSO:DECIPHER, §7.2.14 GENERATE ASYMMETRIC KEY PAIR) and
    /// the C2 value of §4.4.3.10, checked against a YubiKey 5.4.3 trace where one exists
    /// (SELECT, GET DATA 6E, VERIFY 82 "123456", PUT DATA 0103, DECIPHER; the trace sends
    /// DECIPHER without Le, quorum adds Le = 00 as the table allows).
    #[test]
    fn builders_match_the_reference_bytes() {
        let cases = [
            (select(), "00A4040006D2760001240100"),
            (get_application_related_data(), "00CA006E00"),
            (get_pw_status(), "00CA00C400"),
            (get_kdf(), "00CA00F900"),
            (get_private_use(PrivateUse::Do0101), "00CA010100"),
            (get_private_use(PrivateUse::Do0103), "00CA010300"),
            (
                put_private_use(PrivateUse::Do0103, &[0xCA, 0xFE, 0xBA, 0xBE]).unwrap(),
                "00DA010304CAFEBABE",
            ),
            (
                put_decryption_algorithm_cv25519(),
                "00DA00C20B122B060104019755010501",
            ),
            (
                put_decryption_generation_time(0x6563_D4C4),
                "00DA00CF046563D4C4",
            ),
            (
                put_decryption_fingerprint(&[0x6E; 20]),
                "00DA00C8146E6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E",
            ),
            (
                verify_user(&UserPin::new(b"123456").unwrap()),
                "0020008206313233343536",
            ),
            (
                verify_admin(&AdminPin::new(b"12345678").unwrap()),
                "00200083083132333435363738",
            ),
            (
                change_user_pin(
                    &UserPin::new(b"123456").unwrap(),
                    &UserPin::new(b"654321").unwrap(),
                ),
                "002400810C313233343536363534333231",
            ),
            (verify_status(PinRef::UserDecipher), "00200082"),
            (verify_status(PinRef::Admin), "00200083"),
            (verify_reset(PinRef::UserDecipher), "0020FF82"),
            (generate_decryption_key(), "0047800002B80000"),
            (read_decryption_public_key(), "0047810002B80000"),
        ];
        for (command, expected) in cases {
            assert_eq!(hex_of(&command), expected);
        }
    }

    #[test]
    fn decipher_wraps_the_raw_u_in_a6_7f49_86() {
        // YubiKey 5.4.3 trace: 00 2A 80 86 27 A6 25 7F49 22 86 20 <u>.
        let u = hex::decode("e3712d851a0e5d79b831c5e34ab22b41a198171de209b8b8faca23a11c624859")
            .unwrap();
        let command = decipher_cv25519(&u.clone().try_into().unwrap());
        assert_eq!(
            hex_of(&command),
            format!("002A808627A6257F49228620{}00", hex::encode_upper(&u))
        );
        assert_eq!(command.data().len(), 39);
        assert_eq!(command.redacted(), "00 2A 80 86 27 <REDACTED 39 bytes> 00");
        assert!(command.has_secret_response());
    }

    #[test]
    fn pins_are_redacted_and_refused_when_the_card_would_count_them_wrong() {
        let verify = verify_user(&UserPin::new(b"123456").unwrap());
        assert_eq!(verify.redacted(), "00 20 00 82 06 <REDACTED 6 bytes>");
        assert!(!format!("{:?}", UserPin::new(b"123456").unwrap()).contains("313233"));
        assert_eq!(
            UserPin::new(b"12345").unwrap_err(),
            PinError::TooShort {
                pin: "user PIN",
                min: 6,
                len: 5
            }
        );
        assert!(matches!(
            AdminPin::new(b"1234567").unwrap_err(),
            PinError::TooShort { min: 8, .. }
        ));
        assert!(matches!(
            UserPin::new(&[b'1'; 128]).unwrap_err(),
            PinError::TooLong {
                max: 127,
                len: 128,
                ..
            }
        ));
        assert!(UserPin::new(&[b'1'; 127]).is_ok());
    }

    #[test]
    fn private_use_access_follows_the_spec_tables() {
        let (always, user, admin) = (Access::Always, Access::UserPin, Access::AdminPin);
        let table: Vec<_> = PrivateUse::ALL
            .iter()
            .map(|o| (o.tag(), o.read_access(), o.write_access()))
            .collect();
        assert_eq!(
            table,
            [
                (0x0101, always, user),
                (0x0102, always, admin),
                (0x0103, user, user),
                (0x0104, admin, admin),
            ]
        );
        assert!(!get_private_use(PrivateUse::Do0101).has_secret_response());
        assert!(get_private_use(PrivateUse::Do0104).has_secret_response());
        let put = put_private_use(PrivateUse::Do0103, &[7; 81]).unwrap();
        assert_eq!(put.redacted(), "00 DA 01 03 51 <REDACTED 81 bytes>");
        assert_eq!(
            put_private_use(PrivateUse::Do0103, &[7; 256]).unwrap_err(),
            EncodeError::DataTooLong(256)
        );
    }
}

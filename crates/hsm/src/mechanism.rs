//! The mechanisms quorum moves keys with, and the few that `cryptoki` 0.12.1 cannot name.
//!
//! `cryptoki` 0.12.1 has no variant or constant for `CKM_RSA_AES_KEY_WRAP` (0x1054) or
//! `CKM_AES_KEY_WRAP_KWP` (0x210B), its `MechanismType` has no public constructor for
//! standard values below `CKM_VENDOR_DEFINED`, and `get_mechanism_list` drops values it
//! does not know. So these two are built here from their numbers, asked for with
//! `C_GetMechanismInfo`, and passed as a raw mechanism.

use std::marker::PhantomData;
use std::os::raw::c_ulong;

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};

/// `CKM_RSA_AES_KEY_WRAP` (PKCS#11 2.40): RSA-OAEP of a transport key, then AES-KWP.
pub(crate) const CKM_RSA_AES_KEY_WRAP: c_ulong = 0x1054;
/// `CKM_AES_KEY_WRAP_KWP` (PKCS#11 3.0): AES key wrap with padding, RFC 5649.
pub(crate) const CKM_AES_KEY_WRAP_KWP: c_ulong = 0x210B;

/// A standard mechanism number as a `MechanismType`.
pub(crate) fn standard(val: c_ulong) -> MechanismType {
    // SAFETY: `MechanismType` is `#[repr(transparent)]` over `CK_MECHANISM_TYPE`
    // (= `c_ulong`) and has no invariant beyond holding a number; the crate only lacks a
    // public constructor for standard numbers it does not name (see the module comment).
    unsafe { std::mem::transmute::<c_ulong, MechanismType>(val) }
}

/// The digest of RSA-OAEP (hash and MGF1 alike), tried SHA-256 first because SoftHSM 2.6.1
/// accepts only SHA-1 (softhsm/SoftHSMv2#795) while other tokens may refuse SHA-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OaepHash {
    /// SHA-256 for the label hash and MGF1.
    Sha256,
    /// SHA-1 for the label hash and MGF1.
    Sha1,
}

impl OaepHash {
    /// The order in which the digests are tried.
    pub(crate) const ORDER: [OaepHash; 2] = [OaepHash::Sha256, OaepHash::Sha1];

    /// The token-side parameters for this digest, empty label.
    pub(crate) fn params(self) -> PkcsOaepParams<'static> {
        match self {
            OaepHash::Sha256 => PkcsOaepParams::new(
                MechanismType::SHA256,
                PkcsMgfType::MGF1_SHA256,
                PkcsOaepSource::empty(),
            ),
            OaepHash::Sha1 => PkcsOaepParams::new(
                MechanismType::SHA1,
                PkcsMgfType::MGF1_SHA1,
                PkcsOaepSource::empty(),
            ),
        }
    }
}

impl std::fmt::Display for OaepHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OaepHash::Sha256 => "SHA-256",
            OaepHash::Sha1 => "SHA-1",
        })
    }
}

/// Which mechanism number performs AES key wrap with padding (RFC 5649) in this token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KwpMechanism {
    /// `CKM_AES_KEY_WRAP_KWP` (0x210B), PKCS#11 3.0's name for RFC 5649.
    Kwp,
    /// `CKM_AES_KEY_WRAP_PAD` (0x210A), which SoftHSM 2 implements as RFC 5649
    /// (softhsm/SoftHSMv2#726); other tokens may compute something else, so it comes second
    /// and a failed unwrap moves on.
    Pad,
}

impl KwpMechanism {
    /// The mechanism to hand the token.
    pub(crate) fn mechanism(self) -> Mechanism<'static> {
        match self {
            KwpMechanism::Kwp => Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(
                standard(CKM_AES_KEY_WRAP_KWP),
                None,
            )),
            KwpMechanism::Pad => Mechanism::AesKeyWrapPad,
        }
    }
}

impl std::fmt::Display for KwpMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KwpMechanism::Kwp => "CKM_AES_KEY_WRAP_KWP",
            KwpMechanism::Pad => "CKM_AES_KEY_WRAP_PAD",
        })
    }
}

/// `CK_RSA_AES_KEY_WRAP_PARAMS`: the transport key's size and the OAEP parameters.
#[repr(C)]
pub(crate) struct RsaAesKeyWrapParams<'a> {
    aes_key_bits: c_ulong,
    oaep: *const PkcsOaepParams<'a>,
    _borrow: PhantomData<&'a PkcsOaepParams<'a>>,
}

impl<'a> RsaAesKeyWrapParams<'a> {
    /// Parameters for a 256-bit transport key and the given OAEP parameters.
    pub(crate) fn new(oaep: &'a PkcsOaepParams<'a>) -> Self {
        RsaAesKeyWrapParams {
            aes_key_bits: 256,
            oaep,
            _borrow: PhantomData,
        }
    }

    /// The mechanism to hand the token.
    pub(crate) fn mechanism(&'a self) -> Mechanism<'a> {
        Mechanism::VendorDefined(VendorDefinedMechanism::new(
            standard(CKM_RSA_AES_KEY_WRAP),
            Some(self),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standard_number_the_crate_cannot_name_keeps_its_value() {
        for val in [CKM_RSA_AES_KEY_WRAP, CKM_AES_KEY_WRAP_KWP, 0x210A] {
            let as_type = standard(val);
            assert_eq!(c_ulong::from(as_type), val);
        }
        // A number the crate knows compares equal to its own constant.
        assert_eq!(standard(0x210A), MechanismType::AES_KEY_WRAP_PAD);
    }
}

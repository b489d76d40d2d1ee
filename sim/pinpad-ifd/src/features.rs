//! What the reader announces through SCardControl (PC/SC v2 Part 10), with the control
//! codes pcsc-lite's CCID driver uses: SCARD_CTL_CODE(0x330000 + feature tag)
//! (ccid_ifdhandler.h's CLASS2_IOCTL_MAGIC). Clients take the codes from the feature
//! list, so the exact values only matter for tools that assume the CCID driver.

use crate::pin_block::MAX_PIN_DIGITS;

/// pcsc-lite's SCARD_CTL_CODE(code).
pub const fn scard_ctl_code(code: u32) -> u32 {
    0x4200_0000 + code
}

/// The feature list request, SCARD_CTL_CODE(3400).
pub const CM_IOCTL_GET_FEATURE_REQUEST: u32 = scard_ctl_code(3400);
/// The same request as Windows numbers it; the CCID driver accepts it for RDP clients.
pub const WINDOWS_GET_FEATURE_REQUEST: u32 = 0x0031_3520;

/// The CCID driver's offset for feature control codes.
const CLASS2_IOCTL_MAGIC: u32 = 0x0033_0000;

/// Part 10 feature tag: verify a PIN keyed on the pad.
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
/// Part 10 feature tag: change a PIN keyed on the pad.
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;
/// Part 10 feature tag: the PIN_PROPERTIES_STRUCTURE.
pub const FEATURE_IFD_PIN_PROPERTIES: u8 = 0x0A;
/// Part 10 feature tag: the reader's properties as TLVs.
pub const FEATURE_GET_TLV_PROPERTIES: u8 = 0x12;

/// The control code of a feature, as this driver (and the CCID driver) numbers it.
pub const fn feature_code(tag: u8) -> u32 {
    scard_ctl_code(CLASS2_IOCTL_MAGIC + tag as u32)
}

/// Control code of FEATURE_VERIFY_PIN_DIRECT.
pub const IOCTL_VERIFY_PIN_DIRECT: u32 = feature_code(FEATURE_VERIFY_PIN_DIRECT);
/// Control code of FEATURE_MODIFY_PIN_DIRECT.
pub const IOCTL_MODIFY_PIN_DIRECT: u32 = feature_code(FEATURE_MODIFY_PIN_DIRECT);
/// Control code of FEATURE_IFD_PIN_PROPERTIES.
pub const IOCTL_IFD_PIN_PROPERTIES: u32 = feature_code(FEATURE_IFD_PIN_PROPERTIES);
/// Control code of FEATURE_GET_TLV_PROPERTIES.
pub const IOCTL_GET_TLV_PROPERTIES: u32 = feature_code(FEATURE_GET_TLV_PROPERTIES);

/// The CCID driver demands room for six TLVs before it answers the feature request.
pub const FEATURE_REQUEST_MIN_BUFFER: usize = 6 * 6;

/// wLcdLayout: 2 lines of 16 characters (0xLLCC).
pub const LCD_LAYOUT: u16 = 0x0210;
/// bEntryValidationCondition the pad supports: max size, OK key, timeout.
pub const VALIDATION_SUPPORTED: u8 = 0x07;
/// What sFirmwareID says.
pub const FIRMWARE_ID: &str = "quorum-pinpad 0.1.0";

/// The answer to CM_IOCTL_GET_FEATURE_REQUEST: 6-byte TLVs, value = big-endian code.
pub fn feature_list() -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    for tag in [
        FEATURE_VERIFY_PIN_DIRECT,
        FEATURE_MODIFY_PIN_DIRECT,
        FEATURE_IFD_PIN_PROPERTIES,
        FEATURE_GET_TLV_PROPERTIES,
    ] {
        out.push(tag);
        out.push(4);
        out.extend_from_slice(&feature_code(tag).to_be_bytes());
    }
    out
}

/// PIN_PROPERTIES_STRUCTURE: wLcdLayout (little-endian), bEntryValidationCondition,
/// bTimeOut2 (0: bTimeOut and bTimeOut2 are not told apart).
pub fn pin_properties() -> Vec<u8> {
    let mut out = LCD_LAYOUT.to_le_bytes().to_vec();
    out.push(VALIDATION_SUPPORTED);
    out.push(0x00);
    out
}

/// FEATURE_GET_TLV_PROPERTIES: tag, length, little-endian value.
pub fn tlv_properties() -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |tag: u8, value: &[u8]| {
        out.push(tag);
        out.push(value.len() as u8);
        out.extend_from_slice(value);
    };
    put(0x01, &LCD_LAYOUT.to_le_bytes()); // wLcdLayout
    put(0x02, &[VALIDATION_SUPPORTED]); // bEntryValidationCondition
    put(0x03, &[0x00]); // bTimeOut2
    put(0x04, &u16::from(LCD_LAYOUT as u8).to_le_bytes()); // wLcdMaxCharacters
    put(0x05, &u16::from((LCD_LAYOUT >> 8) as u8).to_le_bytes()); // wLcdMaxLines
    put(0x06, &[0x00]); // bMinPINSize: min 0 is accepted (like the Cherry ST-2000)
    put(0x07, &[MAX_PIN_DIGITS]); // bMaxPINSize
    put(0x08, FIRMWARE_ID.as_bytes()); // sFirmwareID
    put(0x09, &[0x00]); // bPPDUSupport: none
    put(0x0A, &0u32.to_le_bytes()); // dwMaxAPDUDataSize: short APDUs only
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_codes_follow_the_ccid_driver() {
        assert_eq!(CM_IOCTL_GET_FEATURE_REQUEST, 0x4200_0D48);
        assert_eq!(IOCTL_VERIFY_PIN_DIRECT, 0x4233_0006);
        assert_eq!(IOCTL_MODIFY_PIN_DIRECT, 0x4233_0007);
        assert_eq!(IOCTL_IFD_PIN_PROPERTIES, 0x4233_000A);
        assert_eq!(IOCTL_GET_TLV_PROPERTIES, 0x4233_0012);
    }

    #[test]
    fn the_feature_list_is_four_big_endian_tlvs() {
        assert_eq!(
            feature_list(),
            [
                0x06, 4, 0x42, 0x33, 0x00, 0x06, //
                0x07, 4, 0x42, 0x33, 0x00, 0x07, //
                0x0A, 4, 0x42, 0x33, 0x00, 0x0A, //
                0x12, 4, 0x42, 0x33, 0x00, 0x12,
            ]
        );
    }

    #[test]
    fn pin_properties_are_layout_validation_and_timeout2() {
        assert_eq!(pin_properties(), [0x10, 0x02, 0x07, 0x00]);
    }

    #[test]
    fn tlv_properties_parse_back_into_their_values() {
        let tlv = tlv_properties();
        let mut found = Vec::new();
        let mut i = 0;
        while i < tlv.len() {
            let (tag, len) = (tlv[i], usize::from(tlv[i + 1]));
            found.push((tag, tlv[i + 2..i + 2 + len].to_vec()));
            i += 2 + len;
        }
        assert_eq!(i, tlv.len(), "TLVs end exactly at the buffer end");
        let get = |t: u8| {
            found
                .iter()
                .find(|(tag, _)| *tag == t)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get(0x01), Some(vec![0x10, 0x02]));
        assert_eq!(get(0x04), Some(vec![16, 0]));
        assert_eq!(get(0x05), Some(vec![2, 0]));
        assert_eq!(get(0x07), Some(vec![MAX_PIN_DIGITS]));
        assert_eq!(get(0x08), Some(FIRMWARE_ID.as_bytes().to_vec()));
        assert_eq!(get(0x0A), Some(vec![0, 0, 0, 0]));
    }
}

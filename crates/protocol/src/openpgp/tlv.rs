//! A strict BER-TLV reader for OpenPGP card answers (ISO 7816-4 §5.2, as OpenPGP card 3.4
//! §4.4 uses it): tags of one or two bytes, lengths in the short form or `81 xx` / `82 xx xx`.
//! Anything else is a typed error, never a panic; a card answer is outside data.

use std::fmt;

/// One data object: its tag (one byte, or two when the first has the low five bits set) and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u16,
    pub(crate) value: &'a [u8],
}

/// Why bytes are not a sequence of data objects; says where the encoding broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlvError {
    /// The bytes end inside a two-byte tag.
    TruncatedTag,
    /// A tag of three or more bytes, which no OpenPGP card data object has.
    TagTooLong(u8, u8),
    /// The bytes end before the length of the data object with this tag.
    TruncatedLength {
        /// The tag whose length is missing.
        tag: u16,
    },
    /// A length form other than `00`–`7F`, `81 xx`, `82 xx xx`.
    UnsupportedLength {
        /// The tag whose length is malformed.
        tag: u16,
        /// The first length byte.
        first: u8,
    },
    /// The value is shorter than its length says.
    TruncatedValue {
        /// The tag whose value is cut.
        tag: u16,
        /// Bytes the length announces.
        need: usize,
        /// Bytes that were left.
        have: usize,
    },
}

impl fmt::Display for TlvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvError::TruncatedTag => write!(f, "it ends inside a two-byte tag"),
            TlvError::TagTooLong(a, b) => {
                write!(f, "tag {a:02X} {b:02X}… is longer than two bytes")
            }
            TlvError::TruncatedLength { tag } => {
                write!(f, "it ends before the length of tag {tag:02X}")
            }
            TlvError::UnsupportedLength { tag, first } => {
                write!(
                    f,
                    "tag {tag:02X} has the length form {first:02X} (expected 00-7F, 81 or 82)"
                )
            }
            TlvError::TruncatedValue { tag, need, have } => write!(
                f,
                "the value of tag {tag:02X} announces {need} bytes but only {have} follow"
            ),
        }
    }
}

/// Reads one data object from the start of `data`; returns it and the bytes after it.
pub(crate) fn read_one(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (&first, rest) = data.split_first().ok_or(TlvError::TruncatedTag)?;
    let (tag, rest) = if first & 0x1F == 0x1F {
        let (&second, rest) = rest.split_first().ok_or(TlvError::TruncatedTag)?;
        if second & 0x80 != 0 {
            return Err(TlvError::TagTooLong(first, second));
        }
        (u16::from_be_bytes([first, second]), rest)
    } else {
        (u16::from(first), rest)
    };
    let (&len0, rest) = rest
        .split_first()
        .ok_or(TlvError::TruncatedLength { tag })?;
    let (len, rest) = match len0 {
        0x00..=0x7F => (usize::from(len0), rest),
        0x81 => match rest {
            [l, rest @ ..] => (usize::from(*l), rest),
            [] => return Err(TlvError::TruncatedLength { tag }),
        },
        0x82 => match rest {
            [h, l, rest @ ..] => (usize::from(u16::from_be_bytes([*h, *l])), rest),
            _ => return Err(TlvError::TruncatedLength { tag }),
        },
        other => return Err(TlvError::UnsupportedLength { tag, first: other }),
    };
    if rest.len() < len {
        return Err(TlvError::TruncatedValue {
            tag,
            need: len,
            have: rest.len(),
        });
    }
    let (value, rest) = rest.split_at(len);
    Ok((Tlv { tag, value }, rest))
}

/// Reads a whole sequence of data objects (the value of a constructed one); every byte must belong to one.
pub(crate) fn read_all(mut data: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tlv, rest) = read_one(data)?;
        out.push(tlv);
        data = rest;
    }
    Ok(out)
}

/// The value of the first data object with `tag`, if any.
pub(crate) fn find<'a>(objects: &[Tlv<'a>], tag: u16) -> Option<&'a [u8]> {
    objects.iter().find(|t| t.tag == tag).map(|t| t.value)
}

/// Appends tag, length (short form, `81` or `82`) and value, for the builders' data fields.
pub(crate) fn write(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    match value.len() {
        len @ 0..=0x7F => out.push(len as u8),
        len @ 0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        len => {
            let len = u16::try_from(len).expect("data fields here are far below 64 KiB");
            out.push(0x82);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_and_two_byte_tags_and_every_length_form_are_read() {
        let data = hex::decode("4F0201025F52030A0B0C7F49818103").unwrap();
        let mut with_long = data.clone();
        with_long.truncate(with_long.len() - 3);
        with_long.extend_from_slice(&[0x81, 0x81]);
        with_long.extend_from_slice(&[7; 0x81]);
        with_long.extend_from_slice(&[0xC5, 0x82, 0x00, 0x02, 9, 9]);
        let objects = read_all(&with_long).unwrap();
        assert_eq!(objects.len(), 4);
        assert_eq!(
            objects[0],
            Tlv {
                tag: 0x4F,
                value: &[1, 2]
            }
        );
        assert_eq!(objects[1].tag, 0x5F52);
        assert_eq!(objects[1].value, &[0x0A, 0x0B, 0x0C]);
        assert_eq!(objects[2].tag, 0x7F49);
        assert_eq!(objects[2].value.len(), 0x81);
        assert_eq!(find(&objects, 0xC5), Some(&[9u8, 9][..]));
        assert_eq!(find(&objects, 0xC6), None);
    }

    #[test]
    fn broken_encodings_are_typed_errors() {
        assert_eq!(read_one(&[]).unwrap_err(), TlvError::TruncatedTag);
        assert_eq!(read_one(&[0x5F]).unwrap_err(), TlvError::TruncatedTag);
        assert_eq!(
            read_one(&[0x5F, 0x81, 0x01]).unwrap_err(),
            TlvError::TagTooLong(0x5F, 0x81)
        );
        assert_eq!(
            read_one(&[0xC5]).unwrap_err(),
            TlvError::TruncatedLength { tag: 0xC5 }
        );
        assert_eq!(
            read_one(&[0xC5, 0x82, 0x01]).unwrap_err(),
            TlvError::TruncatedLength { tag: 0xC5 }
        );
        assert_eq!(
            read_one(&[0xC5, 0x83, 0, 0, 1]).unwrap_err(),
            TlvError::UnsupportedLength {
                tag: 0xC5,
                first: 0x83
            }
        );
        assert_eq!(
            read_one(&[0xC5, 0x03, 1, 2]).unwrap_err(),
            TlvError::TruncatedValue {
                tag: 0xC5,
                need: 3,
                have: 2
            }
        );
        assert!(!TlvError::TagTooLong(0x5F, 0x81).to_string().is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Written objects read back as written; any bytes read without a panic.
        #[test]
        fn write_then_read_round_trips(
            objects in proptest::collection::vec(
                (prop_oneof![0x01u16..=0x1E, 0x5F01u16..=0x5F7F, 0x7F01u16..=0x7F7F],
                 proptest::collection::vec(any::<u8>(), 0..300)),
                0..4),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = Vec::new();
            for (tag, value) in &objects {
                write(&mut bytes, *tag, value);
            }
            let read = read_all(&bytes).unwrap();
            prop_assert_eq!(read.len(), objects.len());
            for (r, (tag, value)) in read.iter().zip(&objects) {
                prop_assert_eq!(r.tag, *tag);
                prop_assert_eq!(r.value, &value[..]);
            }
            let _ = read_all(&noise);
        }
    }
}

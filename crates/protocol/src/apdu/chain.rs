//! The PUT RECORD stream and its split into a chain of APDUs: short ones for any card, or
//! extended-length ones for a card with capability bit 6 (protocol 1.4).
//!
//! Stream = public length (2) ‖ sealed length (2) ‖ public ‖ sealed, both lengths ≥ 1.
//! It is checked here before anything is sent, so a malformed record is refused by the
//! host with a clear error instead of by the card halfway through a chain. The chain is
//! CLA 90 for every APDU but the last, which is CLA 80 and commits the record.

use zeroize::Zeroizing;

use super::command::{CommandApdu, RecordKey};
use super::{MAX_EXTENDED_DATA, MAX_SHORT_DATA};

/// Size of the stream header: two big-endian lengths.
pub const STREAM_HEADER_LEN: usize = 4;

/// Why a PUT RECORD stream was refused before it reached the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// Fewer bytes than the header.
    #[error("the record stream has {0} bytes, fewer than its 4-byte header")]
    ShortHeader(usize),
    /// A part announced as empty.
    #[error("the {0} part of the record is empty; both parts need at least one byte")]
    EmptyPart(&'static str),
    /// Header and body disagree.
    #[error(
        "the record stream header announces {announced} bytes of record, but {actual} follow it"
    )]
    LengthMismatch {
        /// public + sealed lengths from the header.
        announced: usize,
        /// bytes after the header.
        actual: usize,
    },
    /// A part too long for its 2-byte length field.
    #[error(
        "the {part} part of the record has {len} bytes, more than a 2-byte length can announce"
    )]
    PartTooLong {
        /// "public" or "sealed".
        part: &'static str,
        /// Its length.
        len: usize,
    },
}

/// How the stream is cut into APDUs: what the card and the reader can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pieces {
    /// Short APDUs of up to 255 bytes: every card and reader.
    Short,
    /// Extended-length APDUs of up to 32,767 bytes (capability bit 6, protocol 1.4): the whole
    /// stream of any record up to 32,763 bytes in one APDU.
    Extended,
}

impl Pieces {
    /// The most stream bytes one APDU carries.
    pub fn max_len(self) -> usize {
        match self {
            Pieces::Short => MAX_SHORT_DATA,
            Pieces::Extended => MAX_EXTENDED_DATA,
        }
    }
}

/// A PUT RECORD stream whose header matches its body; only such a stream is ever chained.
#[derive(Clone, Copy)]
pub struct PutRecordStream<'a> {
    bytes: &'a [u8],
    public_len: u16,
    sealed_len: u16,
}

impl<'a> PutRecordStream<'a> {
    /// Checks the header against the body (the same checks the card makes, done first).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, StreamError> {
        let header: [u8; STREAM_HEADER_LEN] = bytes
            .get(..STREAM_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(StreamError::ShortHeader(bytes.len()))?;
        let public_len = u16::from_be_bytes([header[0], header[1]]);
        let sealed_len = u16::from_be_bytes([header[2], header[3]]);
        if public_len == 0 {
            return Err(StreamError::EmptyPart("public"));
        }
        if sealed_len == 0 {
            return Err(StreamError::EmptyPart("sealed"));
        }
        let announced = usize::from(public_len) + usize::from(sealed_len);
        let actual = bytes.len() - STREAM_HEADER_LEN;
        if announced != actual {
            return Err(StreamError::LengthMismatch { announced, actual });
        }
        Ok(PutRecordStream {
            bytes,
            public_len,
            sealed_len,
        })
    }

    /// Builds the stream from the two record parts (zeroizing: it holds the sealed part).
    pub fn encode(public: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, StreamError> {
        let length = |part: &'static str, bytes: &[u8]| match u16::try_from(bytes.len()) {
            Ok(0) => Err(StreamError::EmptyPart(part)),
            Ok(len) => Ok(len),
            Err(_) => Err(StreamError::PartTooLong {
                part,
                len: bytes.len(),
            }),
        };
        let public_len = length("public", public)?;
        let sealed_len = length("sealed", sealed)?;
        let mut stream = Zeroizing::new(Vec::with_capacity(
            STREAM_HEADER_LEN + public.len() + sealed.len(),
        ));
        stream.extend_from_slice(&public_len.to_be_bytes());
        stream.extend_from_slice(&sealed_len.to_be_bytes());
        stream.extend_from_slice(public);
        stream.extend_from_slice(sealed);
        Ok(stream)
    }

    /// Length of the public part.
    pub fn public_len(&self) -> usize {
        usize::from(self.public_len)
    }

    /// Length of the sealed part.
    pub fn sealed_len(&self) -> usize {
        usize::from(self.sealed_len)
    }

    /// Bytes the card must store (public + sealed), compared with its record capacity.
    pub fn record_len(&self) -> usize {
        self.public_len() + self.sealed_len()
    }

    /// Where the sealed part starts in the stream; traces redact from here on.
    pub fn sealed_offset(&self) -> usize {
        STREAM_HEADER_LEN + self.public_len()
    }

    /// The whole stream.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// How many APDUs the chain takes in `pieces`, for progress display and round-trip estimates.
    pub fn chain_len(&self, pieces: Pieces) -> usize {
        self.bytes.len().div_ceil(pieces.max_len())
    }

    /// The chain: full links of `pieces.max_len()` bytes with CLA 90, then the last APDU with
    /// CLA 80 (the only one when the stream fits).
    pub fn commands(&self, key: RecordKey, pieces: Pieces) -> Vec<CommandApdu> {
        let sealed_offset = self.sealed_offset();
        let piece = pieces.max_len();
        let links = self.chain_len(pieces);
        self.bytes
            .chunks(piece)
            .enumerate()
            .map(|(index, chunk)| {
                let start = index * piece;
                let end = start + chunk.len();
                let secret_from =
                    (sealed_offset < end).then(|| sealed_offset.saturating_sub(start));
                CommandApdu::put_record_part(chunk, index + 1 == links, secret_from, key)
            })
            .collect()
    }
}

impl std::fmt::Debug for PutRecordStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutRecordStream")
            .field("public_len", &self.public_len)
            .field("sealed_len", &self.sealed_len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::command::is_chain_link;
    use crate::apdu::INS_PUT_RECORD;
    use iso7816::command::class::Chain;
    use iso7816::command::{Command, CommandView};
    use proptest::prelude::*;

    /// Largest stream the reassembly oracle holds (iso7816's Command is fixed-capacity).
    const ORACLE_CAPACITY: usize = 70000;

    /// Reassembles a chain the way a card does, with iso7816's own chaining support.
    fn reassemble(commands: &[CommandApdu]) -> Vec<u8> {
        let mut whole: Option<Command<ORACLE_CAPACITY>> = None;
        for (index, command) in commands.iter().enumerate() {
            let view = CommandView::try_from(command.as_bytes()).unwrap();
            let last = index + 1 == commands.len();
            assert_eq!(
                view.class().chain() == Chain::LastOrOnly,
                last,
                "CLA of link {index}"
            );
            assert_eq!(u8::from(view.instruction()), INS_PUT_RECORD);
            assert_eq!(view.expected(), 0, "chain links carry no Le");
            match whole.as_mut() {
                None => whole = Some(view.to_owned().unwrap()),
                Some(acc) => acc.extend_from_command_view(view).unwrap(),
            }
        }
        whole.unwrap().data().to_vec()
    }

    #[test]
    fn header_errors_are_typed() {
        assert_eq!(
            PutRecordStream::parse(&[0, 1, 0]).unwrap_err(),
            StreamError::ShortHeader(3)
        );
        assert_eq!(
            PutRecordStream::parse(&[0, 0, 0, 1, 9]).unwrap_err(),
            StreamError::EmptyPart("public")
        );
        assert_eq!(
            PutRecordStream::parse(&[0, 1, 0, 0, 9]).unwrap_err(),
            StreamError::EmptyPart("sealed")
        );
        assert_eq!(
            PutRecordStream::parse(&[0, 1, 0, 1, 9]).unwrap_err(),
            StreamError::LengthMismatch {
                announced: 2,
                actual: 1
            }
        );
        assert_eq!(
            PutRecordStream::parse(&[0, 1, 0, 1, 9, 9, 9]).unwrap_err(),
            StreamError::LengthMismatch {
                announced: 2,
                actual: 3
            }
        );
        assert_eq!(
            PutRecordStream::encode(&[], &[1]).unwrap_err(),
            StreamError::EmptyPart("public")
        );
        assert_eq!(
            PutRecordStream::encode(&[1], &vec![0; 65536]).unwrap_err(),
            StreamError::PartTooLong {
                part: "sealed",
                len: 65536
            }
        );
    }

    #[test]
    fn four_kib_record_takes_seventeen_links() {
        let stream = PutRecordStream::encode(&vec![0x11; 4096 - 81], &[0xA5; 81]).unwrap();
        let parsed = PutRecordStream::parse(&stream).unwrap();
        let commands = parsed.commands(RecordKey::Present, Pieces::Short);
        // 4 + 4096 = 4100 bytes = 16 × 255 + 20.
        assert_eq!(commands.len(), 17);
        assert_eq!(parsed.chain_len(Pieces::Short), 17);
        assert!(commands[..16]
            .iter()
            .all(|c| c.cla() == 0x90 && c.data().len() == 255));
        assert_eq!((commands[16].cla(), commands[16].data().len()), (0x80, 20));
        assert_eq!(reassemble(&commands), &stream[..]);
    }

    #[test]
    fn the_sealed_part_is_marked_secret_where_it_starts() {
        // public 300 bytes: the sealed part starts at stream offset 304, in link 1 at 49.
        let stream = PutRecordStream::encode(&[0x22; 300], &[0xA5; 81]).unwrap();
        let commands = PutRecordStream::parse(&stream)
            .unwrap()
            .commands(RecordKey::Present, Pieces::Short);
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0].secret_data_offset(), None);
        assert_eq!(commands[1].secret_data_offset(), Some(304 - 255));
        assert!(!commands[1].redacted().contains("A5A5"));
        assert!(commands[1].redacted().ends_with("<REDACTED 81 bytes>"));
    }

    #[test]
    fn a_single_apdu_record_is_sent_with_cla_80() {
        let stream = PutRecordStream::encode(&[1, 2, 3], &[4]).unwrap();
        let commands = PutRecordStream::parse(&stream)
            .unwrap()
            .commands(RecordKey::Present, Pieces::Short);
        assert_eq!(commands.len(), 1);
        assert_eq!(
            hex::encode_upper(commands[0].as_bytes()),
            "80140000080003000101020304"
        );
        assert_eq!(commands[0].secret_data_offset(), Some(7));
    }

    #[test]
    fn an_extended_record_goes_in_one_apdu_up_to_32763_bytes() {
        // 4 + 21,000 bytes: one extended APDU, CLA 80, Lc 00 52 0C, no Le.
        let stream = PutRecordStream::encode(&vec![0x33; 20919], &[0xA5; 81]).unwrap();
        let parsed = PutRecordStream::parse(&stream).unwrap();
        let commands = parsed.commands(RecordKey::Pending, Pieces::Extended);
        assert_eq!((commands.len(), parsed.chain_len(Pieces::Extended)), (1, 1));
        let bytes = commands[0].as_bytes();
        assert_eq!(bytes[..7], [0x80, 0x14, 0x01, 0x00, 0x00, 0x52, 0x0C]);
        assert_eq!(bytes.len(), 7 + 21004);
        assert_eq!(commands[0].data(), &stream[..]);
        assert_eq!(commands[0].ne(), 0);
        assert_eq!(commands[0].secret_data_offset(), Some(4 + 20919));
        assert!(commands[0]
            .redacted()
            .starts_with("80 14 01 00 00520C 51B7005133"));
        assert!(commands[0].redacted().ends_with("<REDACTED 81 bytes>"));
        assert_eq!(reassemble(&commands), &stream[..]);
        // The largest record that fits: 32,763 bytes, the whole stream a 32,767-byte APDU.
        let stream = PutRecordStream::encode(&vec![0x44; 32763 - 81], &[0xA5; 81]).unwrap();
        let parsed = PutRecordStream::parse(&stream).unwrap();
        let commands = parsed.commands(RecordKey::Present, Pieces::Extended);
        assert_eq!(commands.len(), 1);
        assert_eq!(commands[0].as_bytes()[4..7], [0x00, 0x7F, 0xFF]);
        // One byte more and it is a chain of two: 32,767 bytes with CLA 90, then 1 with CLA 80.
        let stream = PutRecordStream::encode(&vec![0x44; 32764 - 81], &[0xA5; 81]).unwrap();
        let commands = PutRecordStream::parse(&stream)
            .unwrap()
            .commands(RecordKey::Present, Pieces::Extended);
        assert_eq!(commands.len(), 2);
        assert_eq!((commands[0].cla(), commands[0].data().len()), (0x90, 32767));
        assert_eq!((commands[1].cla(), commands[1].data().len()), (0x80, 1));
        assert_eq!(hex::encode_upper(commands[1].as_bytes()), "8014000001A5");
        assert_eq!(reassemble(&commands), &stream[..]);
    }

    proptest! {
        #[test]
        fn chain_split_and_reassembly_round_trip(
            public in proptest::collection::vec(any::<u8>(), 1..4000),
            sealed in proptest::collection::vec(any::<u8>(), 1..600),
            short in any::<bool>(),
        ) {
            // Extended pieces: these streams fit one APDU, short or extended by its length.
            let pieces = if short { Pieces::Short } else { Pieces::Extended };
            let piece = pieces.max_len();
            let stream = PutRecordStream::encode(&public, &sealed).unwrap();
            let parsed = PutRecordStream::parse(&stream).unwrap();
            prop_assert_eq!(parsed.public_len(), public.len());
            prop_assert_eq!(parsed.sealed_len(), sealed.len());
            let commands = parsed.commands(RecordKey::Present, pieces);
            prop_assert_eq!(commands.len(), stream.len().div_ceil(piece));
            for (index, command) in commands.iter().enumerate() {
                let last = index + 1 == commands.len();
                prop_assert_eq!(is_chain_link(command.cla()), !last);
                prop_assert!(command.data().len() <= piece);
                prop_assert_eq!(command.is_extended(), command.data().len() > 255);
                prop_assert!(last || command.data().len() == piece);
                // Whatever a trace shows of this link lies before the sealed part.
                let shown = command.secret_data_offset().unwrap_or(command.data().len());
                prop_assert!(shown == 0 || index * piece + shown <= parsed.sealed_offset());
                if let Some(offset) = command.secret_data_offset() {
                    // ... and the redaction starts exactly where the sealed part does.
                    prop_assert_eq!(index * piece + offset, parsed.sealed_offset().max(index * piece));
                }
            }
            // Every sealed byte is in a redacted range.
            let redacted: usize = commands
                .iter()
                .map(|c| c.data().len() - c.secret_data_offset().unwrap_or(c.data().len()))
                .sum();
            prop_assert_eq!(redacted, sealed.len());
            prop_assert_eq!(reassemble(&commands), stream.to_vec());
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = PutRecordStream::parse(&bytes);
        }
    }
}

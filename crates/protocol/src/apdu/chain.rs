//! The PUT RECORD stream and its split into a chain of short APDUs.
//!
//! Stream = public length (2) ‖ sealed length (2) ‖ public ‖ sealed, both lengths ≥ 1.
//! It is checked here before anything is sent, so a malformed record is refused by the
//! host with a clear error instead of by the card halfway through a chain. The chain is
//! CLA 90 for every APDU but the last, which is CLA 80 and commits the record.

use zeroize::Zeroizing;

use super::command::{CommandApdu, RecordKey};
use super::MAX_SHORT_DATA;

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

    /// How many APDUs the chain takes, for progress display and round-trip estimates.
    pub fn chain_len(&self) -> usize {
        self.bytes.len().div_ceil(MAX_SHORT_DATA)
    }

    /// The chain: full 255-byte links with CLA 90, then the last APDU with CLA 80.
    pub fn commands(&self, key: RecordKey) -> Vec<CommandApdu> {
        let sealed_offset = self.sealed_offset();
        let links = self.chain_len();
        self.bytes
            .chunks(MAX_SHORT_DATA)
            .enumerate()
            .map(|(index, chunk)| {
                let start = index * MAX_SHORT_DATA;
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
    const ORACLE_CAPACITY: usize = 9000;

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
        let commands = parsed.commands(RecordKey::Present);
        // 4 + 4096 = 4100 bytes = 16 × 255 + 20.
        assert_eq!(commands.len(), 17);
        assert_eq!(parsed.chain_len(), 17);
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
            .commands(RecordKey::Present);
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
            .commands(RecordKey::Present);
        assert_eq!(commands.len(), 1);
        assert_eq!(
            hex::encode_upper(commands[0].as_bytes()),
            "80140000080003000101020304"
        );
        assert_eq!(commands[0].secret_data_offset(), Some(7));
    }

    proptest! {
        #[test]
        fn chain_split_and_reassembly_round_trip(
            public in proptest::collection::vec(any::<u8>(), 1..4000),
            sealed in proptest::collection::vec(any::<u8>(), 1..600),
        ) {
            let stream = PutRecordStream::encode(&public, &sealed).unwrap();
            let parsed = PutRecordStream::parse(&stream).unwrap();
            prop_assert_eq!(parsed.public_len(), public.len());
            prop_assert_eq!(parsed.sealed_len(), sealed.len());
            let commands = parsed.commands(RecordKey::Present);
            prop_assert_eq!(commands.len(), stream.len().div_ceil(255));
            for (index, command) in commands.iter().enumerate() {
                let last = index + 1 == commands.len();
                prop_assert_eq!(is_chain_link(command.cla()), !last);
                prop_assert!(command.data().len() <= 255);
                prop_assert!(last || command.data().len() == 255);
                // Whatever a trace shows of this link lies before the sealed part.
                let shown = command.secret_data_offset().unwrap_or(command.data().len());
                prop_assert!(shown == 0 || index * 255 + shown <= parsed.sealed_offset());
                if let Some(offset) = command.secret_data_offset() {
                    // ... and the redaction starts exactly where the sealed part does.
                    prop_assert_eq!(index * 255 + offset, parsed.sealed_offset().max(index * 255));
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

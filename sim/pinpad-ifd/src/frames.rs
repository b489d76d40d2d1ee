//! vpcd's socket framing, which the card farm speaks: a 2-byte big-endian length, then
//! the payload. A 1-byte payload is a control code; anything longer is an APDU (to the
//! card) or a response APDU / ATR (from the card). Kept apart from the sockets so the
//! framing can be tested on byte streams.

use std::io::{self, ErrorKind, Read, Write};

use crate::secret::SecretBytes;

/// Control code: cut the card's power.
pub const POWER_OFF: u8 = 0;
/// Control code: power the card up (cold reset).
pub const POWER_ON: u8 = 1;
/// Control code: warm reset.
pub const RESET: u8 = 2;
/// Control code: ask for the ATR; the card answers with one frame.
pub const GET_ATR: u8 = 4;

/// Largest payload the 2-byte length can announce.
pub const MAX_PAYLOAD: usize = 0xFFFF;

/// Writes one frame with a single write call, so a frame never goes out in pieces
/// (Nagle plus delayed ACK would add ~40 ms per split frame). The temporary frame is
/// wiped, as it may hold a PIN.
pub fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    if payload.len() > MAX_PAYLOAD {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "a vpcd frame holds at most {MAX_PAYLOAD} bytes, not {}",
                payload.len()
            ),
        ));
    }
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(payload);
    let frame = SecretBytes::new(frame);
    out.write_all(frame.as_slice())?;
    out.flush()
}

/// Reads one frame. Returns None when the peer closed the connection cleanly between
/// frames (the farm does that when a card is pulled); a connection closed inside a
/// frame is an error.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match input.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the card farm closed the connection inside a frame header",
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = usize::from(u16::from_be_bytes(header));
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload).map_err(|e| {
        if e.kind() == ErrorKind::UnexpectedEof {
            io::Error::new(
                ErrorKind::UnexpectedEof,
                format!("the card farm closed the connection inside a {len}-byte frame"),
            )
        } else {
            e
        }
    })?;
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Counts write calls, to check that a frame goes out in one piece.
    struct CountingWriter {
        data: Vec<u8>,
        writes: usize,
    }

    impl Write for CountingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_is_a_big_endian_length_then_the_payload_in_one_write() {
        let mut out = CountingWriter {
            data: Vec::new(),
            writes: 0,
        };
        write_frame(&mut out, &[0x00, 0xA4, 0x04, 0x00]).expect("write");
        assert_eq!(out.data, [0x00, 0x04, 0x00, 0xA4, 0x04, 0x00]);
        assert_eq!(out.writes, 1);
    }

    #[test]
    fn control_codes_are_one_byte_frames() {
        let mut out = Vec::new();
        write_frame(&mut out, &[GET_ATR]).expect("write");
        write_frame(&mut out, &[POWER_ON]).expect("write");
        assert_eq!(out, [0x00, 0x01, 0x04, 0x00, 0x01, 0x01]);
    }

    #[test]
    fn long_payloads_use_both_length_bytes() {
        let payload = vec![0x5A; 0x0123];
        let mut out = Vec::new();
        write_frame(&mut out, &payload).expect("write");
        assert_eq!(&out[..2], &[0x01, 0x23]);
        let back = read_frame(&mut Cursor::new(out)).expect("read");
        assert_eq!(back, Some(payload));
    }

    #[test]
    fn a_payload_longer_than_the_length_field_is_refused() {
        let err = write_frame(&mut Vec::new(), &vec![0; MAX_PAYLOAD + 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn frames_are_read_back_in_order_then_a_clean_end() {
        let mut stream = Cursor::new(vec![0x00, 0x02, 0x90, 0x00, 0x00, 0x01, 0x02]);
        assert_eq!(
            read_frame(&mut stream).expect("read"),
            Some(vec![0x90, 0x00])
        );
        assert_eq!(read_frame(&mut stream).expect("read"), Some(vec![RESET]));
        assert_eq!(read_frame(&mut stream).expect("read"), None);
    }

    #[test]
    fn an_empty_frame_is_an_empty_payload() {
        let mut stream = Cursor::new(vec![0x00, 0x00]);
        assert_eq!(read_frame(&mut stream).expect("read"), Some(vec![]));
    }

    #[test]
    fn a_connection_closed_inside_a_frame_is_an_error() {
        let err = read_frame(&mut Cursor::new(vec![0x00])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        let err = read_frame(&mut Cursor::new(vec![0x00, 0x03, 0x90])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("3-byte frame"), "{err}");
    }
}

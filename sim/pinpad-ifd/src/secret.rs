//! PIN digits and buffers that carry them: wiped when dropped, never printed.
//!
//! The driver is std-only (no `zeroize`), so wiping uses volatile writes that the
//! compiler may not drop.

use std::fmt;
use std::sync::atomic::{compiler_fence, Ordering};

/// How many digits the keypad buffer holds; more keys are ignored, as on a real pad.
pub const KEYPAD_BUFFER: usize = 32;

/// Overwrites a buffer with zeros in a way the optimiser keeps, so PIN bytes do not
/// linger in freed memory.
pub fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference to one byte.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

/// A byte vector that is wiped when dropped: APDUs and frames that contain a PIN.
#[derive(Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of bytes that must not outlive their use.
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }

    /// The bytes, for sending them.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        // Wipe the whole allocation, not only the initialised part.
        let len = self.0.len();
        self.0.resize(self.0.capacity(), 0);
        wipe(&mut self.0);
        self.0.truncate(len);
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

/// The digits a custodian keyed for one prompt, as values 0..=9. A fixed array, so
/// pushing never reallocates and leaves copies behind.
pub struct PinDigits {
    digits: [u8; KEYPAD_BUFFER],
    len: usize,
}

impl PinDigits {
    /// An empty entry.
    pub fn new() -> PinDigits {
        PinDigits {
            digits: [0; KEYPAD_BUFFER],
            len: 0,
        }
    }

    /// Builds digits from text, for tests; None if a character is not 0-9 or too many.
    pub fn from_text(text: &str) -> Option<PinDigits> {
        let mut pin = PinDigits::new();
        for c in text.chars() {
            let d = c.to_digit(10)?;
            if !pin.push(d as u8) {
                return None;
            }
        }
        Some(pin)
    }

    /// Adds one digit; false (and nothing changes) when the keypad buffer is full.
    pub fn push(&mut self, digit: u8) -> bool {
        debug_assert!(digit <= 9, "keypad digits are 0..=9");
        if self.len == KEYPAD_BUFFER {
            return false;
        }
        self.digits[self.len] = digit;
        self.len += 1;
        true
    }

    /// Erases everything keyed so far (the pad's clear key).
    pub fn clear(&mut self) {
        wipe(&mut self.digits);
        self.len = 0;
    }

    /// How many digits were keyed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was keyed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digits, 0..=9 each.
    pub fn digits(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    /// Compares two entries without an early exit on the first differing digit.
    pub fn same_as(&self, other: &PinDigits) -> bool {
        let mut diff = (self.len ^ other.len) as u8 | u8::from(self.len != other.len);
        for i in 0..KEYPAD_BUFFER {
            diff |= self.digits[i] ^ other.digits[i];
        }
        diff == 0
    }
}

impl Default for PinDigits {
    fn default() -> Self {
        PinDigits::new()
    }
}

impl Drop for PinDigits {
    fn drop(&mut self) {
        wipe(&mut self.digits);
    }
}

impl fmt::Debug for PinDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinDigits(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_kept_in_order_and_cleared() {
        let mut pin = PinDigits::from_text("0912").expect("digits");
        assert_eq!(pin.digits(), &[0, 9, 1, 2]);
        assert_eq!(pin.len(), 4);
        pin.clear();
        assert!(pin.is_empty());
        assert_eq!(pin.digits(), &[] as &[u8]);
    }

    #[test]
    fn the_buffer_refuses_digits_beyond_its_size() {
        let mut pin = PinDigits::new();
        for _ in 0..KEYPAD_BUFFER {
            assert!(pin.push(7));
        }
        assert!(!pin.push(7));
        assert_eq!(pin.len(), KEYPAD_BUFFER);
        assert!(PinDigits::from_text("12a").is_none());
    }

    #[test]
    fn comparison_looks_at_length_and_every_digit() {
        let a = PinDigits::from_text("123456").expect("digits");
        assert!(a.same_as(&PinDigits::from_text("123456").expect("digits")));
        assert!(!a.same_as(&PinDigits::from_text("123457").expect("digits")));
        assert!(!a.same_as(&PinDigits::from_text("1234560").expect("digits")));
        assert!(!a.same_as(&PinDigits::from_text("12345").expect("digits")));
    }

    #[test]
    fn debug_output_never_shows_digits() {
        let pin = PinDigits::from_text("987654").expect("digits");
        assert_eq!(format!("{pin:?}"), "PinDigits(redacted)");
        let apdu = SecretBytes::new(vec![0x31, 0x32]);
        assert_eq!(format!("{apdu:?}"), "SecretBytes(2 bytes, redacted)");
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        let mut buf = [0xA5u8; 17];
        wipe(&mut buf);
        assert_eq!(buf, [0u8; 17]);
    }
}

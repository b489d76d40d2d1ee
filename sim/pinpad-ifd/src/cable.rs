//! The reader's USB cable, which a test pulls and plugs back over the control channel
//! (`unplug` / `plug`) to play a custodian who knocks the reader off the desk.
//!
//! While the cable is out, every call that would reach the reader answers
//! IFD_NO_SUCH_DEVICE, as pcsc-lite's CCID driver does once libusb reports the device
//! gone: presence polls, power, APDUs and SCardControl, including a PIN prompt that was
//! waiting for keys (it ends at once). The card stays in the slot and the farm keeps
//! its connection, as a card stays in an unplugged reader; it lost power, so pcscd
//! powers it up afresh once the cable is back and presence answers again.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the reader is on the bus.
#[derive(Debug)]
pub struct Cable {
    plugged: AtomicBool,
}

impl Default for Cable {
    fn default() -> Self {
        Cable::new()
    }
}

impl Cable {
    /// A reader plugged in, as pcscd finds it at start.
    pub fn new() -> Cable {
        Cable {
            plugged: AtomicBool::new(true),
        }
    }

    /// Whether pcscd's calls reach the reader.
    pub fn plugged(&self) -> bool {
        self.plugged.load(Ordering::SeqCst)
    }

    /// Pulls the cable; returns whether it was plugged (a second pull changes nothing).
    pub fn unplug(&self) -> bool {
        self.plugged.swap(false, Ordering::SeqCst)
    }

    /// Plugs the cable back; returns whether it was out.
    pub fn plug(&self) -> bool {
        !self.plugged.swap(true, Ordering::SeqCst)
    }

    /// The control channel's word for the state: `plugged` or `unplugged`.
    pub fn word(&self) -> &'static str {
        if self.plugged() {
            "plugged"
        } else {
            "unplugged"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cable_starts_plugged_and_toggles_idempotently() {
        let cable = Cable::new();
        assert!(cable.plugged());
        assert_eq!(cable.word(), "plugged");
        assert!(!cable.plug(), "plugging a plugged cable changes nothing");
        assert!(cable.unplug());
        assert!(!cable.plugged());
        assert_eq!(cable.word(), "unplugged");
        assert!(!cable.unplug(), "a second pull changes nothing");
        assert!(cable.plug());
        assert!(cable.plugged());
    }
}

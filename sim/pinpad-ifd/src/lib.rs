//! quorum's test PIN pad: a pcscd reader driver (IFD handler v3, loaded by pcscd from
//! reader.conf) that behaves like a CCID pinpad reader, because vpcd has no PIN pad.
//!
//! ```text
//! test / quorumctl --PC/SC--> pcscd --IFDH calls--> this driver --vpcd frames--> card farm
//!                                                        ^
//!                         test code --control channel----+ (keys, display, outcome)
//! ```
//!
//! - Card side (`card_link`, `frames`): listens on 127.0.0.1:PORT from DEVICENAME
//!   `/dev/null:PORT[:CONTROLPORT]`; the unchanged card farm inserts a card by connecting
//!   to it, exactly as to a vpcd slot.
//! - Reader side (`reader`, `features`, `pin_structure`, `pin_block`): SCardControl
//!   answers the Part 10 feature request and runs FEATURE_VERIFY_PIN_DIRECT /
//!   FEATURE_MODIFY_PIN_DIRECT like pcsc-lite's CCID driver plus a CCID pinpad's firmware.
//! - Custodian side (`keypad`, `control`): keys queued over the control channel (default
//!   port PORT + 1000), the display log, the last outcome.
//! - The reader's cable (`cable`): the control channel can unplug the reader and plug it
//!   back; meanwhile every call answers IFD_NO_SUCH_DEVICE like a CCID reader gone from
//!   the bus.
//!
//! PIN digits are never logged, and buffers that hold them are wiped (`secret`).

pub mod cable;
pub mod card_link;
pub mod control;
pub mod device_name;
pub mod features;
pub mod ffi;
pub mod frames;
pub mod ifd;
pub mod keypad;
pub mod pin_block;
pub mod pin_structure;
pub mod reader;
pub mod secret;

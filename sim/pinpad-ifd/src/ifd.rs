//! The numbers of pcsc-lite's IFD handler API (ifdhandler.h, reader.h, pcsclite.h of
//! libpcsclite-dev 1.9.9), written out so the driver needs no bindgen and no C headers.
//!
//! On Linux `DWORD` is `unsigned long` and `RESPONSECODE` is `long` (wintypes.h outside
//! `__APPLE__`), so both are 64 bits wide on x86-64.

use std::os::raw::{c_long, c_ulong};

/// pcsc-lite's `DWORD`: the width pcscd passes Luns, tags and lengths with.
pub type Dword = c_ulong;
/// pcsc-lite's `RESPONSECODE`: what every IFDH function returns to pcscd.
pub type ResponseCode = c_long;

/// Done.
pub const IFD_SUCCESS: ResponseCode = 0;
/// GetCapabilities: pcscd asked for a tag this driver does not know.
pub const IFD_ERROR_TAG: ResponseCode = 600;
/// Control: an unknown control code (pcscd maps it to SCARD_E_UNSUPPORTED_FEATURE).
pub const IFD_ERROR_NOT_SUPPORTED: ResponseCode = 606;
/// SetProtocolParameters: a protocol the simulated card does not speak.
pub const IFD_PROTOCOL_NOT_SUPPORTED: ResponseCode = 607;
/// PowerICC: the card did not answer the power request.
pub const IFD_ERROR_POWER_ACTION: ResponseCode = 608;
/// Generic failure; a CCID reader's rejected command ends here (SCARD_E_NOT_TRANSACTED).
pub const IFD_COMMUNICATION_ERROR: ResponseCode = 612;
/// A request that is not supported (pcscd maps it to SCARD_E_UNSUPPORTED_FEATURE).
pub const IFD_NOT_SUPPORTED: ResponseCode = 614;
/// ICCPresence: a card is in the reader.
pub const IFD_ICC_PRESENT: ResponseCode = 615;
/// ICCPresence and card operations: the reader is empty.
pub const IFD_ICC_NOT_PRESENT: ResponseCode = 616;
/// Every call: the reader is gone from the bus (a CCID driver's answer once libusb says
/// LIBUSB_ERROR_NO_DEVICE); pcscd marks the reader unavailable and rescans its readers.
pub const IFD_NO_SUCH_DEVICE: ResponseCode = 617;
/// The caller's buffer is too small (pcscd maps it to SCARD_E_INSUFFICIENT_BUFFER).
pub const IFD_ERROR_INSUFFICIENT_BUFFER: ResponseCode = 618;

/// PowerICC action: cold reset.
pub const IFD_POWER_UP: Dword = 500;
/// PowerICC action: cut the power.
pub const IFD_POWER_DOWN: Dword = 501;
/// PowerICC action: warm reset.
pub const IFD_RESET: Dword = 502;

/// Capability tag: the card's ATR (mandatory).
pub const TAG_IFD_ATR: Dword = 0x0303;
/// Capability tag: the same ATR under its SCardGetAttrib name (SCARD_ATTR_ATR_STRING).
pub const SCARD_ATTR_ATR_STRING: Dword = (9 << 16) | 0x0303;
/// Capability tag: may pcscd call the slots of one reader at the same time?
pub const TAG_IFD_SLOT_THREAD_SAFE: Dword = 0x0FAC;
/// Capability tag: may pcscd call several readers of this driver at the same time?
pub const TAG_IFD_THREAD_SAFE: Dword = 0x0FAD;
/// Capability tag: how many slots one reader has.
pub const TAG_IFD_SLOTS_NUMBER: Dword = 0x0FAE;
/// Capability tag: how many readers one loaded copy of the driver can serve.
pub const TAG_IFD_SIMULTANEOUS_ACCESS: Dword = 0x0FAF;
/// Capability tag: SCARD_ATTR_VENDOR_NAME, shown by tools that list reader attributes.
pub const SCARD_ATTR_VENDOR_NAME: Dword = (1 << 16) | 0x0100;
/// Capability tag: SCARD_ATTR_VENDOR_IFD_TYPE, the reader model.
pub const SCARD_ATTR_VENDOR_IFD_TYPE: Dword = (1 << 16) | 0x0101;

/// Largest ATR pcscd accepts.
pub const MAX_ATR_SIZE: usize = 33;

/// SetProtocolParameters: T=0.
pub const SCARD_PROTOCOL_T0: Dword = 1;
/// SetProtocolParameters: T=1 (the only protocol in the farm's ATR).
pub const SCARD_PROTOCOL_T1: Dword = 2;

/// pcsc-lite's `SCARD_IO_HEADER`, passed by value to IFDHTransmitToICC.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ScardIoHeader {
    /// The protocol of the exchange (T=0 or T=1).
    pub protocol: Dword,
    /// Unused by pcscd.
    pub length: Dword,
}

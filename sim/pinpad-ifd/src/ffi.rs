//! The IFD handler v3 entry points pcscd looks up with dlsym. Each one checks its
//! pointers, finds the reader of its Lun, and never lets a panic cross into pcscd.
//!
//! pcscd serialises calls per reader (or per driver when TAG_IFD_THREAD_SAFE is 0); the
//! registry lock is held only to look a reader up, so a PIN entry on one reader does not
//! block another reader served by the same loaded library.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use crate::card_link::{LinkError, Power};
use crate::device_name::Ports;
use crate::ifd::*;
use crate::reader::Reader;

/// Readers of this loaded library, by Lun.
static READERS: Mutex<Vec<(Dword, Arc<Reader>)>> = Mutex::new(Vec::new());

/// How many readers one loaded copy serves (pcscd asks before sharing a library).
const SIMULTANEOUS_READERS: u8 = 16;

fn reader(lun: Dword) -> Option<Arc<Reader>> {
    let readers = READERS.lock().unwrap_or_else(|p| p.into_inner());
    readers
        .iter()
        .find(|(l, _)| *l == lun)
        .map(|(_, r)| Arc::clone(r))
}

/// Runs `f`, turning a panic into IFD_COMMUNICATION_ERROR (unwinding into C is UB).
fn guarded(f: impl FnOnce() -> ResponseCode) -> ResponseCode {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(rc) => rc,
        Err(_) => {
            eprintln!("quorum-pinpad: internal error (panic) answered as IFD_COMMUNICATION_ERROR");
            IFD_COMMUNICATION_ERROR
        }
    }
}

fn open(lun: Dword, ports: Result<Ports, crate::device_name::DeviceNameError>) -> ResponseCode {
    let ports = match ports {
        Ok(p) => p,
        Err(e) => {
            eprintln!("quorum-pinpad: {e}");
            return IFD_COMMUNICATION_ERROR;
        }
    };
    // A Lun opened twice (pcscd restarting a reader) gets a fresh reader; the old one
    // must let its ports go first.
    let old = {
        let mut readers = READERS.lock().unwrap_or_else(|p| p.into_inner());
        readers
            .iter()
            .position(|(l, _)| *l == lun)
            .map(|i| readers.remove(i))
    };
    drop(old);
    match Reader::open(ports) {
        Ok(r) => {
            READERS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((lun, Arc::new(r)));
            IFD_SUCCESS
        }
        Err(e) => {
            eprintln!("quorum-pinpad: cannot open reader (Lun {lun:#x}): {e}");
            IFD_COMMUNICATION_ERROR
        }
    }
}

/// Opens a reader from reader.conf's DEVICENAME (`/dev/null:PORT[:CONTROLPORT]`).
///
/// # Safety
/// `device_name` must be null or point to a NUL-terminated string (pcscd passes one).
#[no_mangle]
pub unsafe extern "C" fn IFDHCreateChannelByName(
    lun: Dword,
    device_name: *const c_char,
) -> ResponseCode {
    guarded(|| {
        if device_name.is_null() {
            eprintln!("quorum-pinpad: no DEVICENAME given");
            return IFD_COMMUNICATION_ERROR;
        }
        // SAFETY: pcscd passes a NUL-terminated string that outlives this call.
        let name = unsafe { CStr::from_ptr(device_name) }
            .to_string_lossy()
            .into_owned();
        open(lun, Ports::from_device_name(&name))
    })
}

/// Opens a reader from reader.conf's CHANNELID (the card port) when DEVICENAME is empty.
///
/// # Safety
/// No pointers; unsafe only to match the other entry points.
#[no_mangle]
pub unsafe extern "C" fn IFDHCreateChannel(lun: Dword, channel: Dword) -> ResponseCode {
    #[allow(clippy::useless_conversion)] // Dword is u32 on 32-bit targets
    let channel = u64::from(channel);
    guarded(|| open(lun, Ports::from_channel(channel)))
}

/// Closes a reader: both ports are released.
///
/// # Safety
/// No pointers; unsafe only to match the other entry points.
#[no_mangle]
pub unsafe extern "C" fn IFDHCloseChannel(lun: Dword) -> ResponseCode {
    guarded(|| {
        let removed = {
            let mut readers = READERS.lock().unwrap_or_else(|p| p.into_inner());
            readers
                .iter()
                .position(|(l, _)| *l == lun)
                .map(|i| readers.remove(i))
        };
        drop(removed);
        IFD_SUCCESS
    })
}

/// Copies `value` into pcscd's buffer of `*length` bytes and sets `*length`.
///
/// # Safety
/// `length` and `out` must be valid for `*length` bytes, or null.
unsafe fn put(length: *mut Dword, out: *mut u8, value: &[u8]) -> ResponseCode {
    if length.is_null() || (out.is_null() && !value.is_empty()) {
        return IFD_COMMUNICATION_ERROR;
    }
    // SAFETY: checked non-null; pcscd passes the capacity in *length.
    let capacity = unsafe { *length } as usize;
    if capacity < value.len() {
        return IFD_ERROR_INSUFFICIENT_BUFFER;
    }
    if !value.is_empty() {
        // SAFETY: `out` holds at least `capacity` >= value.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), out, value.len()) };
    }
    // SAFETY: checked non-null.
    unsafe { *length = value.len() as Dword };
    IFD_SUCCESS
}

/// Answers pcscd's capability questions: the ATR, one slot, thread safety.
///
/// # Safety
/// `length` must point to the capacity of `value`, which must hold that many bytes.
#[no_mangle]
pub unsafe extern "C" fn IFDHGetCapabilities(
    lun: Dword,
    tag: Dword,
    length: *mut Dword,
    value: *mut u8,
) -> ResponseCode {
    guarded(|| {
        let answer: Vec<u8> = match tag {
            TAG_IFD_ATR | SCARD_ATTR_ATR_STRING => match reader(lun) {
                Some(r) => r.atr(),
                None => return IFD_COMMUNICATION_ERROR,
            },
            TAG_IFD_SLOTS_NUMBER => vec![1],
            TAG_IFD_SIMULTANEOUS_ACCESS => vec![SIMULTANEOUS_READERS],
            TAG_IFD_THREAD_SAFE => vec![1],
            TAG_IFD_SLOT_THREAD_SAFE => vec![0],
            SCARD_ATTR_VENDOR_NAME => b"quorum".to_vec(),
            SCARD_ATTR_VENDOR_IFD_TYPE => b"Quorum test pinpad".to_vec(),
            _ => return IFD_ERROR_TAG,
        };
        // SAFETY: the caller's contract.
        unsafe { put(length, value, &answer) }
    })
}

/// No settable capabilities.
///
/// # Safety
/// Pointers are not touched.
#[no_mangle]
pub unsafe extern "C" fn IFDHSetCapabilities(
    _lun: Dword,
    _tag: Dword,
    _length: Dword,
    _value: *mut u8,
) -> ResponseCode {
    IFD_NOT_SUPPORTED
}

/// Accepts T=1, the only protocol in the simulated card's ATR.
///
/// # Safety
/// No pointers; unsafe only to match the other entry points.
#[no_mangle]
pub unsafe extern "C" fn IFDHSetProtocolParameters(
    lun: Dword,
    protocol: Dword,
    _flags: u8,
    _pts1: u8,
    _pts2: u8,
    _pts3: u8,
) -> ResponseCode {
    guarded(|| {
        match reader(lun) {
            None => return IFD_COMMUNICATION_ERROR,
            Some(r) if !r.cable().plugged() => return IFD_NO_SUCH_DEVICE,
            Some(_) => {}
        }
        if protocol == SCARD_PROTOCOL_T1 {
            IFD_SUCCESS
        } else {
            IFD_PROTOCOL_NOT_SUPPORTED
        }
    })
}

/// Powers the card up or down or resets it, through the farm's control codes.
///
/// # Safety
/// `atr` must hold `*atr_length` bytes (MAX_ATR_SIZE in pcscd); either may be null only
/// for a power down.
#[no_mangle]
pub unsafe extern "C" fn IFDHPowerICC(
    lun: Dword,
    action: Dword,
    atr: *mut u8,
    atr_length: *mut Dword,
) -> ResponseCode {
    guarded(|| {
        let Some(r) = reader(lun) else {
            return IFD_COMMUNICATION_ERROR;
        };
        let power = match action {
            IFD_POWER_UP => Power::Up,
            IFD_POWER_DOWN => Power::Down,
            IFD_RESET => Power::Reset,
            _ => return IFD_NOT_SUPPORTED,
        };
        let clear = || {
            if !atr_length.is_null() {
                // SAFETY: checked non-null.
                unsafe { *atr_length = 0 };
            }
        };
        match r.power(power) {
            Ok(answer) => {
                if power == Power::Down {
                    clear();
                    return IFD_SUCCESS;
                }
                // SAFETY: the caller's contract.
                let rc = unsafe { put(atr_length, atr, &answer) };
                if rc != IFD_SUCCESS {
                    clear();
                    return IFD_ERROR_POWER_ACTION;
                }
                IFD_SUCCESS
            }
            Err(LinkError::NoCard) if power == Power::Down => {
                clear();
                IFD_SUCCESS
            }
            Err(LinkError::NoCard) => {
                clear();
                IFD_ICC_NOT_PRESENT
            }
            Err(LinkError::Unplugged) => {
                clear();
                IFD_NO_SUCH_DEVICE
            }
            Err(e) => {
                eprintln!("quorum-pinpad: power {power:?}: {e}");
                clear();
                IFD_ERROR_POWER_ACTION
            }
        }
    })
}

/// Forwards an APDU from SCardTransmit to the card and returns its response.
///
/// # Safety
/// `tx` must hold `tx_length` bytes; `rx` must hold `*rx_length` bytes; `recv_pci` may
/// be null.
#[no_mangle]
pub unsafe extern "C" fn IFDHTransmitToICC(
    lun: Dword,
    send_pci: ScardIoHeader,
    tx: *const u8,
    tx_length: Dword,
    rx: *mut u8,
    rx_length: *mut Dword,
    recv_pci: *mut ScardIoHeader,
) -> ResponseCode {
    guarded(|| {
        if tx.is_null() || rx.is_null() || rx_length.is_null() {
            return IFD_COMMUNICATION_ERROR;
        }
        let fail = |rc: ResponseCode| {
            // SAFETY: checked non-null.
            unsafe { *rx_length = 0 };
            rc
        };
        let Some(r) = reader(lun) else {
            return fail(IFD_COMMUNICATION_ERROR);
        };
        // SAFETY: pcscd passes tx_length readable bytes.
        let apdu = unsafe { std::slice::from_raw_parts(tx, tx_length as usize) };
        match r.transmit(apdu) {
            Ok(response) => {
                // SAFETY: the caller's contract.
                let rc = unsafe { put(rx_length, rx, &response) };
                if rc != IFD_SUCCESS {
                    return fail(rc);
                }
                if !recv_pci.is_null() {
                    // SAFETY: checked non-null; pcscd passes a valid header.
                    unsafe {
                        (*recv_pci).protocol = send_pci.protocol;
                        (*recv_pci).length = 0;
                    }
                }
                IFD_SUCCESS
            }
            Err(LinkError::NoCard) => fail(IFD_ICC_NOT_PRESENT),
            Err(LinkError::Unplugged) => fail(IFD_NO_SUCH_DEVICE),
            Err(_) => fail(IFD_COMMUNICATION_ERROR),
        }
    })
}

/// SCardControl: Part 10 features and the secure PIN commands.
///
/// # Safety
/// `tx` must hold `tx_length` bytes (or be null with 0); `rx` must hold `rx_length`
/// bytes; `returned` must be valid.
#[no_mangle]
pub unsafe extern "C" fn IFDHControl(
    lun: Dword,
    control_code: Dword,
    tx: *const u8,
    tx_length: Dword,
    rx: *mut u8,
    rx_length: Dword,
    returned: *mut Dword,
) -> ResponseCode {
    guarded(|| {
        if returned.is_null() {
            return IFD_COMMUNICATION_ERROR;
        }
        // SAFETY: checked non-null.
        unsafe { *returned = 0 };
        let Some(r) = reader(lun) else {
            return IFD_COMMUNICATION_ERROR;
        };
        let Ok(code) = u32::try_from(control_code) else {
            return IFD_ERROR_NOT_SUPPORTED;
        };
        let input: &[u8] = if tx.is_null() || tx_length == 0 {
            &[]
        } else {
            // SAFETY: pcscd passes tx_length readable bytes.
            unsafe { std::slice::from_raw_parts(tx, tx_length as usize) }
        };
        let capacity = if rx.is_null() { 0 } else { rx_length as usize };
        match r.control(code, input, capacity) {
            Ok(answer) => {
                let mut len = capacity as Dword;
                // SAFETY: `rx` holds `capacity` bytes; `len` is a local.
                let rc = unsafe { put(&mut len, rx, &answer) };
                if rc == IFD_SUCCESS {
                    // SAFETY: checked non-null.
                    unsafe { *returned = len };
                }
                rc
            }
            Err(rc) => rc,
        }
    })
}

/// pcscd's presence poll (every 400 ms or so); IFD_NO_SUCH_DEVICE while unplugged.
///
/// # Safety
/// No pointers; unsafe only to match the other entry points.
#[no_mangle]
pub unsafe extern "C" fn IFDHICCPresence(lun: Dword) -> ResponseCode {
    guarded(|| match reader(lun) {
        Some(r) => r.presence(),
        None => IFD_COMMUNICATION_ERROR,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{feature_list, CM_IOCTL_GET_FEATURE_REQUEST};
    use std::ffi::CString;
    use std::net::{Ipv4Addr, TcpListener};
    use std::ptr;

    fn free_port() -> u16 {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port()
    }

    fn create(lun: Dword, name: &str) -> ResponseCode {
        let name = CString::new(name).expect("no NUL");
        // SAFETY: a valid C string.
        unsafe { IFDHCreateChannelByName(lun, name.as_ptr()) }
    }

    #[test]
    fn a_reader_opens_answers_pcscd_and_closes() {
        let lun: Dword = 0x0042_0000;
        let (card, control) = (free_port(), free_port());
        assert_eq!(
            create(lun, &format!("/dev/null:{card}:{control}")),
            IFD_SUCCESS
        );
        // Another Lun cannot take the same ports.
        assert_eq!(
            create(lun + 0x10000, &format!("/dev/null:{card}:{control}")),
            IFD_COMMUNICATION_ERROR
        );

        let mut buf = [0u8; 64];
        let mut len: Dword = 64;
        // SAFETY: buf holds len bytes.
        let rc =
            unsafe { IFDHGetCapabilities(lun, TAG_IFD_SLOTS_NUMBER, &mut len, buf.as_mut_ptr()) };
        assert_eq!((rc, len, buf[0]), (IFD_SUCCESS, 1, 1));
        len = 64;
        // SAFETY: as above.
        let rc = unsafe { IFDHGetCapabilities(lun, TAG_IFD_ATR, &mut len, buf.as_mut_ptr()) };
        assert_eq!((rc, len), (IFD_SUCCESS, 0), "no card, no ATR");
        len = 64;
        // SAFETY: as above.
        let rc = unsafe { IFDHGetCapabilities(lun, 0x7777, &mut len, buf.as_mut_ptr()) };
        assert_eq!(rc, IFD_ERROR_TAG);
        len = 2;
        // SAFETY: as above.
        let rc =
            unsafe { IFDHGetCapabilities(lun, SCARD_ATTR_VENDOR_NAME, &mut len, buf.as_mut_ptr()) };
        assert_eq!(rc, IFD_ERROR_INSUFFICIENT_BUFFER);

        // SAFETY: no pointers.
        assert_eq!(unsafe { IFDHICCPresence(lun) }, IFD_ICC_NOT_PRESENT);
        // SAFETY: no pointers.
        assert_eq!(
            unsafe { IFDHSetProtocolParameters(lun, SCARD_PROTOCOL_T1, 0, 0, 0, 0) },
            IFD_SUCCESS
        );
        // SAFETY: no pointers.
        assert_eq!(
            unsafe { IFDHSetProtocolParameters(lun, SCARD_PROTOCOL_T0, 0, 0, 0, 0) },
            IFD_PROTOCOL_NOT_SUPPORTED
        );

        let mut rx = [0u8; 258];
        let mut returned: Dword = 99;
        // SAFETY: rx holds 258 bytes; no input.
        let rc = unsafe {
            IFDHControl(
                lun,
                Dword::from(CM_IOCTL_GET_FEATURE_REQUEST),
                ptr::null(),
                0,
                rx.as_mut_ptr(),
                258,
                &mut returned,
            )
        };
        assert_eq!(rc, IFD_SUCCESS);
        assert_eq!(&rx[..returned as usize], feature_list().as_slice());

        // Powering up an empty reader.
        let mut atr = [0u8; MAX_ATR_SIZE];
        let mut atr_len = MAX_ATR_SIZE as Dword;
        // SAFETY: atr holds atr_len bytes.
        let rc = unsafe { IFDHPowerICC(lun, IFD_POWER_UP, atr.as_mut_ptr(), &mut atr_len) };
        assert_eq!((rc, atr_len), (IFD_ICC_NOT_PRESENT, 0));

        // Unplugged, every call that reaches the reader answers IFD_NO_SUCH_DEVICE.
        reader(lun).expect("open").cable().unplug();
        // SAFETY: no pointers.
        assert_eq!(unsafe { IFDHICCPresence(lun) }, IFD_NO_SUCH_DEVICE);
        // SAFETY: no pointers.
        assert_eq!(
            unsafe { IFDHSetProtocolParameters(lun, SCARD_PROTOCOL_T1, 0, 0, 0, 0) },
            IFD_NO_SUCH_DEVICE
        );
        atr_len = MAX_ATR_SIZE as Dword;
        // SAFETY: atr holds atr_len bytes.
        let rc = unsafe { IFDHPowerICC(lun, IFD_POWER_UP, atr.as_mut_ptr(), &mut atr_len) };
        assert_eq!((rc, atr_len), (IFD_NO_SUCH_DEVICE, 0));
        let mut apdu_rx = [0u8; 258];
        let mut apdu_len: Dword = 258;
        let select = [0x00u8, 0xA4, 0x04, 0x00];
        let header = ScardIoHeader {
            protocol: SCARD_PROTOCOL_T1,
            length: 0,
        };
        // SAFETY: select holds 4 bytes, apdu_rx holds apdu_len bytes; no receive PCI.
        let rc = unsafe {
            IFDHTransmitToICC(
                lun,
                header,
                select.as_ptr(),
                4,
                apdu_rx.as_mut_ptr(),
                &mut apdu_len,
                ptr::null_mut(),
            )
        };
        assert_eq!((rc, apdu_len), (IFD_NO_SUCH_DEVICE, 0));
        // SAFETY: rx holds 258 bytes; no input.
        let rc = unsafe {
            IFDHControl(
                lun,
                Dword::from(CM_IOCTL_GET_FEATURE_REQUEST),
                ptr::null(),
                0,
                rx.as_mut_ptr(),
                258,
                &mut returned,
            )
        };
        assert_eq!((rc, returned), (IFD_NO_SUCH_DEVICE, 0));
        // Plugged back, the empty slot reads empty again.
        reader(lun).expect("open").cable().plug();
        // SAFETY: no pointers.
        assert_eq!(unsafe { IFDHICCPresence(lun) }, IFD_ICC_NOT_PRESENT);

        // SAFETY: no pointers.
        assert_eq!(unsafe { IFDHCloseChannel(lun) }, IFD_SUCCESS);
        // SAFETY: no pointers.
        assert_eq!(unsafe { IFDHICCPresence(lun) }, IFD_COMMUNICATION_ERROR);
        TcpListener::bind((Ipv4Addr::LOCALHOST, card)).expect("card port released");
        TcpListener::bind((Ipv4Addr::LOCALHOST, control)).expect("control port released");
    }

    #[test]
    fn a_bad_device_name_or_null_pointer_fails_cleanly() {
        assert_eq!(
            create(0x0043_0000, "localhost:35963"),
            IFD_COMMUNICATION_ERROR
        );
        // SAFETY: null is allowed and refused.
        assert_eq!(
            unsafe { IFDHCreateChannelByName(0x0044_0000, ptr::null()) },
            IFD_COMMUNICATION_ERROR
        );
        let mut returned: Dword = 0;
        // SAFETY: unknown Lun; no buffers are touched.
        let rc = unsafe {
            IFDHControl(
                0x0045_0000,
                0,
                ptr::null(),
                0,
                ptr::null_mut(),
                0,
                &mut returned,
            )
        };
        assert_eq!(rc, IFD_COMMUNICATION_ERROR);
    }
}

//! quorum's PC/SC backend: the [`Transport`] and [`Readers`] traits over pcscd, the only
//! place that links pcsc-lite. Listing readers, connecting exclusively, and waiting for
//! cards without busy polling.
//!
//! A connection is opened with `ShareMode::Exclusive` and held for a whole logical
//! operation, so VERIFY and the command it guards run on one connection that no other
//! program can interleave with (pcscd powers idle cards down within seconds, and a reset
//! clears the PIN's validated state). Dropping a [`PcscTransport`] disconnects with a card
//! reset, which also clears the validated state.
//!
//! Waiting uses `SCardGetStatusChange` with a timeout: the call blocks in pcscd until a
//! reader's state changes, so no polling loop burns CPU. A call that times out costs up to
//! a millisecond of client CPU in pcsc-lite 1.9.9 (it spins until the millisecond has
//! passed), so waits are long, not sliced thin; a stop request ends them through
//! [`Readers::wait_breaker`], pcsc-lite's `SCardCancel`.
//! pcsc-lite before 2.5.0 takes at most [`MAX_STATES_PER_CALL`] reader states in one call;
//! see [`watch_plan`] for how 16 readers still take one call, and [`watch_in_groups`] for
//! more.
//!
//! Reader control commands (`SCardControl`) go through the same exclusive connection:
//! `quorum_card::card::Card::pinpad` asks for the PC/SC Part 10 feature list with
//! `SCARD_CTL_CODE(3400)`, and a PIN pad's VERIFY / MODIFY PIN DIRECT block in pcscd until
//! the custodian has typed the PIN (or the reader's timeout passes).

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::pcsc::ffi::DWORD;
use ::pcsc::{
    Context, Disposition, Error as PcscError, Protocols, ReaderState, Scope, ShareMode, State,
    MAX_BUFFER_SIZE, MAX_BUFFER_SIZE_EXTENDED, PNP_NOTIFICATION,
};
use zeroize::Zeroizing;

use quorum_card::readers::{Connection, ReaderInfo, Readers, WaitBreaker};
use quorum_card::transport::{features_from_answer, RawResponse, Transport, TransportError};
use quorum_protocol::apdu::part10::GET_FEATURE_REQUEST_FUNCTION;
use quorum_protocol::apdu::ReaderFeatures;

/// The most reader states pcsc-lite before 2.5.0 accepts in one `SCardGetStatusChange`
/// (`PCSCLITE_MAX_READERS_CONTEXTS`, 16 in 1.9.9); one more is refused with
/// `SCARD_E_INVALID_PARAMETER` ("One or more of the supplied parameters could not be
/// properly interpreted"). Sixteen readers plus the plug-and-play entry are 17. Its daemon
/// serves at most as many readers; 2.5.0 made both unlimited.
pub const MAX_STATES_PER_CALL: usize = 16;

/// How a wait for a change watches the known readers and the plug-and-play entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchPlan {
    /// One blocking call, with or without the plug-and-play entry.
    OneCall {
        /// The entry that reports readers plugged in or out is watched too.
        plug_and_play: bool,
    },
    /// Groups of at most [`MAX_STATES_PER_CALL`] states, each in its own thread.
    Groups,
}

impl WatchPlan {
    /// Whether the plug-and-play entry is among the states watched.
    pub fn plug_and_play(self) -> bool {
        match self {
            WatchPlan::OneCall { plug_and_play } => plug_and_play,
            WatchPlan::Groups => true,
        }
    }
}

/// How to watch `readers` known readers when the PC/SC client is `limited` to
/// [`MAX_STATES_PER_CALL`] states per call (it refused more once).
///
/// An unlimited client takes them all in one call. A limited one is older than 2.5.0, and
/// so is its daemon unless they come from different systems (a container's library talking
/// to the host's pcscd): when exactly 16 readers are known, no 17th can be plugged in, and a
/// reader unplugged changes its own state, so the plug-and-play entry is left out and one
/// call still sees everything. More than 16 readers (a newer daemon) take groups.
pub fn watch_plan(readers: usize, limited: bool) -> WatchPlan {
    if !limited || readers < MAX_STATES_PER_CALL {
        WatchPlan::OneCall {
            plug_and_play: true,
        }
    } else if readers == MAX_STATES_PER_CALL {
        WatchPlan::OneCall {
            plug_and_play: false,
        }
    } else {
        WatchPlan::Groups
    }
}

/// How often the states watched in groups are cancelled again until every group's call
/// has ended: a call may not have reached its blocking point when the first cancel came.
pub const CANCEL_RETRY: Duration = Duration::from_millis(5);

/// Waits until `call` reports a change in any of `states`, calling it with at most
/// [`MAX_STATES_PER_CALL`] states at a time.
///
/// When they fit, this is one blocking call on the first context, as pcscd intends. When
/// they do not (a client older than 2.5.0 with a newer daemon serving more than 16
/// readers), the states are cut into groups and each group blocks in its own thread on its
/// own context (pcsc-lite serves one call per context at a time), so the wait costs no CPU
/// whatever the number of readers; the first group to return ends the wait and the others
/// are cancelled (`cancel`, repeated every [`CANCEL_RETRY`] until each has returned).
/// Returns the first group's result: `Ok` on a change,
/// `PcscError::Timeout` when `timeout` passes, `PcscError::Cancelled` when the wait was
/// broken from outside, any other error as it came. `contexts` needs one per group.
pub fn watch_in_groups<C: Sync, S: Send>(
    states: &mut [S],
    timeout: Option<Duration>,
    contexts: &[C],
    call: impl Fn(&C, &mut [S], Option<Duration>) -> Result<(), PcscError> + Sync,
    cancel: impl Fn(&C) + Sync,
) -> Result<(), PcscError> {
    let groups: Vec<&mut [S]> = states.chunks_mut(MAX_STATES_PER_CALL).collect();
    if groups.len() > contexts.len() {
        return Err(PcscError::InvalidValue);
    }
    if groups.len() <= 1 {
        return match groups.into_iter().next() {
            Some(group) => call(&contexts[0], group, timeout),
            None => Ok(()),
        };
    }
    let count = groups.len();
    let over = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (done, reports) = mpsc::channel();
        for (index, (group, context)) in groups.into_iter().zip(contexts).enumerate() {
            let (done, over, call) = (done.clone(), &over, &call);
            scope.spawn(move || {
                let result = if over.load(Ordering::SeqCst) {
                    Err(PcscError::Cancelled)
                } else {
                    call(context, group, timeout)
                };
                let _ = done.send((index, result));
            });
        }
        drop(done);
        let Ok((first, result)) = reports.recv() else {
            return Err(PcscError::InternalError);
        };
        over.store(true, Ordering::SeqCst);
        let mut pending: Vec<usize> = (0..count).filter(|&i| i != first).collect();
        while !pending.is_empty() {
            for &index in &pending {
                cancel(&contexts[index]);
            }
            match reports.recv_timeout(CANCEL_RETRY) {
                Ok((index, _)) => pending.retain(|&p| p != index),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        result
    })
}

/// A new context with pcscd.
fn establish_context() -> Result<Context, TransportError> {
    Context::establish(Scope::User).map_err(|e| map_error(e, "connecting to pcscd", ""))
}

/// Reads one reader's state as pcscd reports it.
fn info_from_state(state: &ReaderState) -> ReaderInfo {
    let event = state.event_state();
    let baseline = (event - State::CHANGED).bits() | (DWORD::from(state.event_count()) << 16);
    ReaderInfo {
        name: state.name().to_string_lossy().into_owned(),
        card_present: event.contains(State::PRESENT),
        card_mute: event.contains(State::MUTE),
        exclusive: event.contains(State::EXCLUSIVE),
        in_use: event.contains(State::INUSE),
        atr: state.atr().to_vec(),
        // DWORD is c_ulong: 64 bits here, 32 on some platforms; it always fits a u64.
        #[allow(clippy::unnecessary_cast)]
        baseline: baseline as u64,
    }
}

/// Whether pcscd no longer knows the reader (it was unplugged).
fn gone(state: &ReaderState) -> bool {
    state
        .event_state()
        .intersects(State::UNKNOWN | State::UNAVAILABLE | State::IGNORE)
}

/// Whether pcscd still lists the reader but cannot reach it: its driver reports the device
/// gone (IFD_NO_SUCH_DEVICE, an unplugged reader) or fails its presence poll.
fn unavailable(state: &ReaderState) -> bool {
    state.event_state().contains(State::UNAVAILABLE)
}

/// A session with pcscd; everything reader-related starts here.
pub struct PcscContext {
    context: Context,
    /// Every context of this session, `context` first, then those made for watching
    /// readers in groups: what the wait breaker cancels.
    contexts: Arc<Mutex<Vec<Context>>>,
    /// The PC/SC client refused more than [`MAX_STATES_PER_CALL`] states in one call.
    limited: AtomicBool,
}

impl PcscContext {
    /// Connects to pcscd (`PCSCLITE_CSOCK_NAME` chooses a private daemon's socket).
    pub fn establish() -> Result<PcscContext, TransportError> {
        let context = establish_context()?;
        Ok(PcscContext {
            contexts: Arc::new(Mutex::new(vec![context.clone()])),
            context,
            limited: AtomicBool::new(false),
        })
    }

    /// One context per group of reader states, made once and kept for later waits.
    fn group_contexts(&self, groups: usize) -> Result<Vec<Context>, TransportError> {
        let mut contexts = self.contexts.lock().unwrap_or_else(PoisonError::into_inner);
        while contexts.len() < groups {
            contexts.push(establish_context()?);
        }
        Ok(contexts[..groups].to_vec())
    }

    /// Opens the card in `reader` exclusively, keeping the PC/SC connection's own type
    /// (its ATR, leaving the card powered on disconnect).
    pub fn connect_pcsc(&self, reader: &str) -> Result<PcscTransport, TransportError> {
        let name = c_name(reader)?;
        let card = self
            .context
            .connect(&name, ShareMode::Exclusive, Protocols::ANY)
            .map_err(|e| map_error(e, "connecting to the card", reader))?;
        Ok(PcscTransport {
            card,
            reader: reader.to_owned(),
        })
    }

    /// Waits on one reader until `done` holds, re-arming on every state change. A reader
    /// that goes away during the wait (unplugged) is [`TransportError::ReaderGone`]; one
    /// pcscd never knew is [`TransportError::UnknownReader`].
    fn wait_for_reader(
        &self,
        reader: &str,
        timeout: Option<Duration>,
        done: impl Fn(&ReaderInfo) -> bool,
    ) -> Result<Option<ReaderInfo>, TransportError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut states = [ReaderState::new(c_name(reader)?, State::UNAWARE)];
        let mut seen = false;
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match self.context.get_status_change(remaining, &mut states) {
                Ok(()) => {}
                Err(PcscError::Timeout) => return Ok(None),
                Err(PcscError::UnknownReader) if seen => {
                    return Err(TransportError::ReaderGone(reader.to_owned()))
                }
                Err(e) => return Err(map_error(e, "waiting for the card", reader)),
            }
            if gone(&states[0]) {
                return Err(if seen || unavailable(&states[0]) {
                    TransportError::ReaderGone(reader.to_owned())
                } else {
                    TransportError::UnknownReader(reader.to_owned())
                });
            }
            seen = true;
            let info = info_from_state(&states[0]);
            if done(&info) {
                return Ok(Some(info));
            }
            if remaining == Some(Duration::ZERO) {
                return Ok(None);
            }
            states[0].sync_current_state();
        }
    }
}

impl Readers for PcscContext {
    /// The names of the readers pcscd knows, in its order; empty when there are none.
    fn reader_names(&self) -> Result<Vec<String>, TransportError> {
        match self.context.list_readers_owned() {
            Ok(names) => Ok(names
                .into_iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect()),
            Err(PcscError::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(map_error(e, "listing readers", "")),
        }
    }

    /// Every reader with whether a card is in it, read at once (zero timeout).
    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError> {
        let names = self.reader_names()?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut states = names
            .iter()
            .map(|name| Ok(ReaderState::new(c_name(name)?, State::UNAWARE)))
            .collect::<Result<Vec<_>, TransportError>>()?;
        // Every state must be read, so each group has its own zero-timeout call.
        for group in states.chunks_mut(MAX_STATES_PER_CALL) {
            match self.context.get_status_change(Duration::ZERO, group) {
                Ok(()) | Err(PcscError::Timeout) => {}
                Err(e) => return Err(map_error(e, "reading reader states", "")),
            }
        }
        Ok(states
            .iter()
            .filter(|s| !gone(s))
            .map(info_from_state)
            .collect())
    }

    /// Opens the card in `reader` exclusively, so no other program can come between our APDUs.
    fn connect(&self, reader: &str) -> Result<Connection, TransportError> {
        Ok(Box::new(self.connect_pcsc(reader)?))
    }

    /// Blocks until a card is in `reader` (at once if one is); `None` when `timeout` passes.
    fn reader_features(&self, reader: &str) -> Result<ReaderFeatures, TransportError> {
        let name = c_name(reader)?;
        // SCARD_SHARE_DIRECT reaches the reader's driver with or without a card, and
        // takes no protocol: nothing is sent to a card.
        let direct = self
            .context
            .connect(&name, ShareMode::Direct, Protocols::UNDEFINED)
            .map_err(|e| map_error(e, "connecting to the reader directly", reader))?;
        let mut buffer = Zeroizing::new(vec![0u8; MAX_BUFFER_SIZE_EXTENDED]);
        let answer = direct
            .control(feature_request_code(), &[], &mut buffer[..])
            .map(|a| Zeroizing::new(a.to_vec()))
            .map_err(|e| map_error(e, "asking the reader's features", reader));
        // A card in the reader keeps its state.
        let _ = direct.disconnect(Disposition::LeaveCard);
        features_from_answer(answer)
    }

    fn wait_for_card(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<Option<ReaderInfo>, TransportError> {
        self.wait_for_reader(reader, timeout, |info| info.card_present)
    }

    /// Blocks until `reader` is empty (at once if it is); `false` when `timeout` passes.
    fn wait_for_removal(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<bool, TransportError> {
        Ok(self
            .wait_for_reader(reader, timeout, |info| !info.card_present)?
            .is_some())
    }

    /// Blocks until anything differs from `known` (a card in or out, a reader plugged or
    /// unplugged), then returns the new list; `None` when `timeout` passes. Pass the list
    /// from [`Readers::readers`] or from the previous call.
    fn wait_for_change(
        &self,
        known: &[ReaderInfo],
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<ReaderInfo>>, TransportError> {
        let limited = self.limited.load(Ordering::Relaxed);
        let plan = watch_plan(known.len(), limited);
        let mut states = Vec::with_capacity(known.len() + 1);
        for info in known {
            // The baseline came from this backend, so it fits a DWORD.
            #[allow(clippy::unnecessary_cast)]
            let baseline = State::from_bits_retain(info.baseline as DWORD);
            states.push(ReaderState::new(c_name(&info.name)?, baseline));
        }
        // The PnP pseudo-reader reports readers being plugged in or out; pcsc-lite keeps the
        // number of readers it last reported in the upper 16 bits.
        let reader_count = DWORD::from(u16::try_from(known.len()).unwrap_or(u16::MAX)) << 16;
        if plan.plug_and_play() {
            states.push(ReaderState::new(
                PNP_NOTIFICATION(),
                State::from_bits_retain(reader_count),
            ));
        }
        let result = match plan {
            WatchPlan::OneCall { .. } => self.context.get_status_change(timeout, &mut states),
            WatchPlan::Groups => {
                let contexts = self.group_contexts(states.len().div_ceil(MAX_STATES_PER_CALL))?;
                watch_in_groups(
                    &mut states,
                    timeout,
                    &contexts,
                    |context, group, timeout| context.get_status_change(timeout, group),
                    |context| {
                        // Not blocked (yet, or any more): nothing to cancel; retried.
                        let _ = context.cancel();
                    },
                )
            }
        };
        match result {
            // pcsc-lite before 2.5.0 refuses more than 16 states: learnt once, asked again.
            Err(PcscError::InvalidParameter) if !limited && states.len() > MAX_STATES_PER_CALL => {
                self.limited.store(true, Ordering::Relaxed);
                self.wait_for_change(known, timeout)
            }
            // A reader of `known` that pcscd no longer knows is a change too.
            Ok(()) | Err(PcscError::UnknownReader) => Ok(Some(self.readers()?)),
            Err(PcscError::Timeout) => Ok(None),
            Err(e) => Err(map_error(e, "waiting for a reader change", "")),
        }
    }

    /// Cancels the blocking calls of every context of this session (pcsc-lite's
    /// `SCardCancel`, which another thread may call); the breaker holds the session weakly.
    fn wait_breaker(&self) -> Option<WaitBreaker> {
        let contexts = Arc::downgrade(&self.contexts);
        Some(Arc::new(move || {
            if let Some(contexts) = contexts.upgrade() {
                for context in contexts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .iter()
                {
                    let _ = context.cancel();
                }
            }
        }))
    }
}

/// An exclusive connection to the card in one reader.
pub struct PcscTransport {
    card: ::pcsc::Card,
    reader: String,
}

impl PcscTransport {
    /// The reader this connection goes through, for messages.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's Answer To Reset.
    pub fn atr(&self) -> Result<Vec<u8>, TransportError> {
        let status = self
            .card
            .status2_owned()
            .map_err(|e| map_error(e, "reading the card status", &self.reader))?;
        Ok(status.atr().to_vec())
    }

    /// Closes the connection leaving the card powered (drop resets it instead).
    pub fn disconnect_leaving_card(self) -> Result<(), TransportError> {
        let reader = self.reader;
        self.card
            .disconnect(Disposition::LeaveCard)
            .map_err(|(_, e)| map_error(e, "disconnecting", &reader))
    }
}

/// A reader's answer as a response APDU. An empty answer means nothing came back from the
/// card: vpcd reports a card pulled out in the middle of an exchange this way (other drivers
/// fail the call), so it is said as such rather than blamed on a faulty reader.
fn response_of(answer: &[u8]) -> Result<RawResponse, TransportError> {
    if answer.is_empty() {
        return Err(TransportError::ExchangeFailed);
    }
    RawResponse::from_apdu(answer)
}

impl Transport for PcscTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        let mut buffer = Zeroizing::new([0u8; MAX_BUFFER_SIZE]);
        let response = self
            .card
            .transmit(command, &mut buffer[..])
            .map_err(|e| map_error(e, "sending a command", &self.reader))?;
        response_of(response)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.card
            .reconnect(ShareMode::Exclusive, Protocols::ANY, Disposition::LeaveCard)
            .map_err(|e| map_error(e, "reconnecting to the card", &self.reader))
    }

    fn control(&mut self, code: u32, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        // Heap, zeroizing, large enough for any answer a reader may give (feature lists,
        // TLV properties, a PIN pad's response APDU).
        let mut buffer = Zeroizing::new(vec![0u8; MAX_BUFFER_SIZE_EXTENDED]);
        let answer = self
            .card
            .control(DWORD::from(code), input, &mut buffer[..])
            .map_err(|e| map_error(e, "sending a reader control command", &self.reader))?;
        Ok(Zeroizing::new(answer.to_vec()))
    }

    fn feature_request_code(&self) -> Option<u32> {
        u32::try_from(feature_request_code()).ok()
    }
}

/// CM_IOCTL_GET_FEATURE_REQUEST on this platform (PC/SC Part 10).
fn feature_request_code() -> DWORD {
    ::pcsc::ctl_code(DWORD::from(GET_FEATURE_REQUEST_FUNCTION))
}

impl std::fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscTransport")
            .field("reader", &self.reader)
            .finish()
    }
}

/// The error for an unreachable pcscd, with advice for the system and private daemons.
pub fn no_service() -> TransportError {
    let socket = match std::env::var("PCSCLITE_CSOCK_NAME") {
        Ok(path) => format!(
            "PCSCLITE_CSOCK_NAME is set to {path}: check that a pcscd listens there \
             (for example `systemd-socket-activate -l {path} pcscd -f`), or unset it to use \
             the system daemon."
        ),
        Err(_) => "To use a private daemon, set PCSCLITE_CSOCK_NAME to its socket path.".to_owned(),
    };
    TransportError::NoService {
        advice: format!(
            "Start it with `sudo systemctl start pcscd.socket` (Debian/Ubuntu: install it \
             with `sudo apt install pcscd`), or run `sudo pcscd -f` in another terminal. {socket}"
        ),
    }
}

/// Maps a pcsc-lite error met while `operation`, with the reader for messages that need it.
pub fn map_error(error: PcscError, operation: &'static str, reader: &str) -> TransportError {
    use PcscError as E;
    match error {
        E::NoService | E::ServiceStopped => no_service(),
        E::NoReadersAvailable => TransportError::NoReaders,
        // pcsc-lite: the reader is listed but its driver answers IFD_NO_SUCH_DEVICE
        // (unplugged) or fails its presence poll.
        E::ReaderUnavailable if !reader.is_empty() => TransportError::ReaderGone(reader.to_owned()),
        E::UnknownReader | E::ReaderUnavailable => TransportError::UnknownReader(reader.to_owned()),
        E::NoSmartcard => TransportError::NoCard(reader.to_owned()),
        E::RemovedCard => TransportError::CardRemoved,
        E::ResetCard => TransportError::CardReset,
        E::NotTransacted => TransportError::ExchangeFailed,
        E::SharingViolation => TransportError::CardInUse(reader.to_owned()),
        E::UnresponsiveCard | E::UnpoweredCard | E::UnsupportedCard => {
            TransportError::CardUnresponsive
        }
        source => TransportError::Backend {
            backend: "PC/SC",
            operation,
            detail: source.to_string(),
        },
    }
}

/// A reader name as PC/SC wants it; a name with a NUL byte cannot exist.
fn c_name(reader: &str) -> Result<CString, TransportError> {
    CString::new(reader).map_err(|_| TransportError::UnknownReader(reader.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use PcscError as E;

    #[test]
    fn pcsc_errors_map_to_actionable_variants() {
        let map = |e| map_error(e, "testing", "Reader 00 00");
        assert!(matches!(
            map(E::NoService),
            TransportError::NoService { .. }
        ));
        assert!(matches!(map(E::ResetCard), TransportError::CardReset));
        assert!(matches!(map(E::RemovedCard), TransportError::CardRemoved));
        assert!(matches!(
            map(E::NotTransacted),
            TransportError::ExchangeFailed
        ));
        assert!(matches!(map(E::NoSmartcard), TransportError::NoCard(r) if r == "Reader 00 00"));
        assert!(matches!(
            map(E::SharingViolation),
            TransportError::CardInUse(_)
        ));
        assert!(matches!(
            map(E::NoReadersAvailable),
            TransportError::NoReaders
        ));
        assert!(
            matches!(map(E::ReaderUnavailable), TransportError::ReaderGone(r) if r == "Reader 00 00")
        );
        assert!(
            matches!(map(E::UnknownReader), TransportError::UnknownReader(r) if r == "Reader 00 00")
        );
        // Without a reader to name (listing readers), it stays a plain unknown reader.
        assert!(matches!(
            map_error(E::ReaderUnavailable, "listing readers", ""),
            TransportError::UnknownReader(_)
        ));
        assert!(matches!(
            map(E::CommError),
            TransportError::Backend {
                backend: "PC/SC",
                operation: "testing",
                ..
            }
        ));
    }

    /// A stand-in for a pcsc-lite context: it records the calls made on it and whether it
    /// was cancelled.
    #[derive(Default)]
    struct FakeContext {
        calls: Mutex<Vec<(u8, usize, Option<Duration>)>>,
        cancelled: AtomicBool,
    }

    impl FakeContext {
        fn record(&self, group: &[u8], timeout: Option<Duration>) {
            self.calls
                .lock()
                .unwrap()
                .push((group[0], group.len(), timeout));
        }

        /// Blocks as SCardGetStatusChange does until it is cancelled.
        fn block(&self) -> Result<(), E> {
            while !self.cancelled.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(E::Cancelled)
        }
    }

    fn cancel(context: &FakeContext) {
        context.cancelled.store(true, Ordering::SeqCst);
    }

    /// Watches `states` on `contexts` without a timeout, cancelling with [`cancel`].
    fn watch(
        states: &mut [u8],
        contexts: &[FakeContext],
        call: impl Fn(&FakeContext, &mut [u8], Option<Duration>) -> Result<(), E> + Sync,
    ) -> Result<(), E> {
        watch_in_groups(states, None, contexts, call, cancel)
    }

    #[test]
    fn sixteen_states_are_one_blocking_call_on_the_first_context() {
        let mut states = [0u8; MAX_STATES_PER_CALL];
        let contexts = [FakeContext::default(), FakeContext::default()];
        let result = watch(&mut states, &contexts, |context, group, timeout| {
            context.record(group, timeout);
            Ok(())
        });
        assert!(result.is_ok());
        assert_eq!(*contexts[0].calls.lock().unwrap(), [(0, 16, None)]);
        assert!(contexts[1].calls.lock().unwrap().is_empty());
        assert!(!contexts[0].cancelled.load(Ordering::SeqCst));
    }

    #[test]
    fn seventeen_states_block_in_two_groups_and_a_change_in_either_ends_the_wait() {
        // 16 readers and the plug-and-play entry, which reports a change while the first
        // group still blocks: the first group is cancelled.
        let mut states: Vec<u8> = (0..17).collect();
        let contexts = [FakeContext::default(), FakeContext::default()];
        let result = watch(&mut states, &contexts, |context, group, timeout| {
            assert!(group.len() <= MAX_STATES_PER_CALL, "pcsc-lite refuses more");
            context.record(group, timeout);
            if group.contains(&16) {
                std::thread::sleep(Duration::from_millis(10));
                Ok(())
            } else {
                context.block()
            }
        });
        assert!(result.is_ok());
        assert_eq!(*contexts[0].calls.lock().unwrap(), [(0, 16, None)]);
        assert_eq!(*contexts[1].calls.lock().unwrap(), [(16, 1, None)]);
        assert!(contexts[0].cancelled.load(Ordering::SeqCst));
        assert!(!contexts[1].cancelled.load(Ordering::SeqCst));
    }

    #[test]
    fn grouped_states_time_out_pass_errors_on_and_end_when_broken_from_outside() {
        let mut states = [0u8; 40];
        let contexts: Vec<FakeContext> = (0..3).map(|_| FakeContext::default()).collect();
        let timed_out = watch_in_groups(
            &mut states,
            Some(Duration::from_millis(20)),
            &contexts,
            |context, group, timeout| {
                context.record(group, timeout);
                std::thread::sleep(timeout.unwrap());
                Err(E::Timeout)
            },
            cancel,
        );
        assert!(matches!(timed_out, Err(E::Timeout)));
        let groups: Vec<usize> = contexts
            .iter()
            .map(|c| c.calls.lock().unwrap()[0].1)
            .collect();
        assert_eq!(groups, [16, 16, 8]);

        let contexts: Vec<FakeContext> = (0..3).map(|_| FakeContext::default()).collect();
        let failed = watch(&mut states, &contexts, |context, group, _| {
            if group[0] == 0 && group.len() == 8 {
                return Err(E::UnknownReader);
            }
            context.block()
        });
        assert!(matches!(failed, Err(E::UnknownReader)));

        // A stop request cancels every context (the wait breaker): the wait says so.
        let contexts: Vec<FakeContext> = (0..2).map(|_| FakeContext::default()).collect();
        let broken = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(10));
                contexts.iter().for_each(cancel);
            });
            watch(&mut states[..17], &contexts, |context, _, _| {
                context.block()
            })
        });
        assert!(matches!(broken, Err(E::Cancelled)));
    }

    #[test]
    fn sixteen_readers_take_one_call_and_more_take_groups_only_on_a_limited_client() {
        let with_entry = WatchPlan::OneCall {
            plug_and_play: true,
        };
        for readers in [0, 1, 15, 16, 17, 40] {
            assert_eq!(
                watch_plan(readers, false),
                with_entry,
                "{readers} unlimited"
            );
        }
        for readers in [0, 1, 15] {
            assert_eq!(watch_plan(readers, true), with_entry, "{readers} limited");
        }
        assert_eq!(
            watch_plan(16, true),
            WatchPlan::OneCall {
                plug_and_play: false
            },
            "16 readers and the entry are 17 states: the entry is left out"
        );
        assert_eq!(watch_plan(17, true), WatchPlan::Groups);
        let watched: Vec<bool> = [(15, true), (16, true), (17, true), (16, false)]
            .map(|(readers, limited)| watch_plan(readers, limited).plug_and_play())
            .to_vec();
        assert_eq!(
            watched,
            [true, false, true, true],
            "the entry is left out only then"
        );
    }

    #[test]
    fn too_few_contexts_for_the_groups_are_refused_before_any_call() {
        let mut states = [0u8; 17];
        let contexts = [FakeContext::default()];
        let result = watch(&mut states, &contexts, |_, _, _| {
            panic!("no call without a context per group")
        });
        assert!(matches!(result, Err(E::InvalidValue)));
    }

    #[test]
    fn no_service_advice_says_how_to_start_pcscd() {
        let message = no_service().to_string();
        assert!(message.contains("systemctl start pcscd"), "{message}");
        assert!(message.contains("PCSCLITE_CSOCK_NAME"), "{message}");
        assert!(no_service().ends_connection());
    }

    #[test]
    fn an_empty_answer_is_a_failed_exchange_and_a_short_one_is_malformed() {
        assert!(matches!(
            response_of(&[]),
            Err(TransportError::ExchangeFailed)
        ));
        assert!(matches!(
            response_of(&[0x90]),
            Err(TransportError::MalformedResponse(1))
        ));
        let ok = response_of(&[0x01, 0x90, 0x00]).unwrap();
        assert_eq!((ok.data(), ok.sw()), (&[0x01][..], 0x9000));
    }
}

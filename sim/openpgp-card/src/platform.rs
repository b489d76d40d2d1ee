//! One virtual OpenPGP card while it is powered: opcard on a trussed service whose
//! internal and external flash are files in the card's directory and whose volatile
//! memory is RAM (gone when the card leaves its reader, as on a real card).
//!
//! The trussed service runs in the caller's thread: the client's syscall processes the
//! request at once ("call thyself"), so there is no service thread polling a channel.

use std::cell::RefCell;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use trussed::backend::{Backend, BackendId};
use trussed::pipe::{ServiceEndpoint, TrussedChannel};
use trussed::serde_extensions::{ExtensionDispatch, ExtensionId, ExtensionImpl};
use trussed::service::{Service, ServiceResources};
use trussed::types::{Context, CoreContext};
use trussed::virt::{StorageConfig, Store, StoreConfig, UserInterface};
use trussed::{ClientImplementation, Platform};
use trussed_auth::AuthExtension;
use trussed_auth_backend::{AuthBackend, AuthContext, FilesystemLayout};
use trussed_chunked::ChunkedExtension;
use trussed_core::api::{reply, request, Reply, Request};
use trussed_core::types::Location;
use trussed_core::Error;
use trussed_staging::{StagingBackend, StagingContext};
use trussed_wrap_key_to_file::WrapKeyToFileExtension;

/// File names in a card's directory.
pub const INTERNAL_FLASH: &str = "internal.lfs";
pub const EXTERNAL_FLASH: &str = "external.lfs";

/// The trussed client id of the OpenPGP application (its files live under this name).
const CLIENT_ID: &str = "opcard";

/// The platform: files for flash, a fresh RAM disk for volatile memory, the OS's entropy.
///
/// trussed's own `virt` platform seeds its generator with a constant, so every new card
/// would generate the same keys; this one reads the operating system's generator at
/// each power-up (trussed mixes it into the seed it keeps in internal flash).
struct SimPlatform<'a> {
    rng: ChaCha8Rng,
    store: Store<'a>,
    ui: UserInterface,
}

impl<'a> Platform for SimPlatform<'a> {
    type R = ChaCha8Rng;
    type S = Store<'a>;
    type UI = UserInterface;

    fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    fn store(&self) -> Store<'a> {
        self.store
    }

    fn user_interface(&mut self) -> &mut UserInterface {
        &mut self.ui
    }
}

/// The backends opcard needs besides trussed's core: PINs (trussed-auth) and chunked
/// files and key wrapping (trussed-staging).
#[derive(Debug)]
pub enum BackendIds {
    Auth,
    Staging,
}

/// Every backend the client may use, tried in this order.
static BACKENDS: &[BackendId<BackendIds>] = &[
    BackendId::Custom(BackendIds::Auth),
    BackendId::Custom(BackendIds::Staging),
    BackendId::Core,
];

/// The extensions this dispatch knows, with the numbers the client sends.
#[derive(Debug, Clone, Copy)]
pub enum ExtensionIds {
    Auth = 0,
    Chunked = 1,
    WrapKeyToFile = 2,
}

impl From<ExtensionIds> for u8 {
    fn from(id: ExtensionIds) -> u8 {
        id as u8
    }
}

impl TryFrom<u8> for ExtensionIds {
    type Error = Error;

    fn try_from(id: u8) -> Result<Self, Error> {
        match id {
            0 => Ok(Self::Auth),
            1 => Ok(Self::Chunked),
            2 => Ok(Self::WrapKeyToFile),
            _ => Err(Error::FunctionNotSupported),
        }
    }
}

pub struct SimDispatch {
    auth: AuthBackend,
    staging: StagingBackend,
}

impl SimDispatch {
    fn new() -> Self {
        SimDispatch {
            auth: AuthBackend::new(Location::Internal, FilesystemLayout::V0),
            staging: StagingBackend::new(),
        }
    }
}

/// Per-client state of both backends.
#[derive(Default)]
pub struct SimContext {
    auth: AuthContext,
    staging: StagingContext,
}

impl ExtensionId<AuthExtension> for SimDispatch {
    type Id = ExtensionIds;
    const ID: ExtensionIds = ExtensionIds::Auth;
}

impl ExtensionId<ChunkedExtension> for SimDispatch {
    type Id = ExtensionIds;
    const ID: ExtensionIds = ExtensionIds::Chunked;
}

impl ExtensionId<WrapKeyToFileExtension> for SimDispatch {
    type Id = ExtensionIds;
    const ID: ExtensionIds = ExtensionIds::WrapKeyToFile;
}

impl ExtensionDispatch for SimDispatch {
    type BackendId = BackendIds;
    type Context = SimContext;
    type ExtensionId = ExtensionIds;

    fn core_request<P: Platform>(
        &mut self,
        backend: &BackendIds,
        ctx: &mut Context<SimContext>,
        request: &Request,
        resources: &mut ServiceResources<P>,
    ) -> Result<Reply, Error> {
        match backend {
            // The auth backend adds no core requests.
            BackendIds::Auth => Err(Error::RequestNotAvailable),
            BackendIds::Staging => {
                self.staging
                    .request(&mut ctx.core, &mut ctx.backends.staging, request, resources)
            }
        }
    }

    fn extension_request<P: Platform>(
        &mut self,
        backend: &BackendIds,
        extension: &ExtensionIds,
        ctx: &mut Context<SimContext>,
        request: &request::SerdeExtension,
        resources: &mut ServiceResources<P>,
    ) -> Result<reply::SerdeExtension, Error> {
        let core = &mut ctx.core;
        match (backend, extension) {
            (BackendIds::Auth, ExtensionIds::Auth) => {
                ExtensionImpl::<AuthExtension>::extension_request_serialized(
                    &mut self.auth,
                    core,
                    &mut ctx.backends.auth,
                    request,
                    resources,
                )
            }
            (BackendIds::Staging, ExtensionIds::Chunked) => {
                ExtensionImpl::<ChunkedExtension>::extension_request_serialized(
                    &mut self.staging,
                    core,
                    &mut ctx.backends.staging,
                    request,
                    resources,
                )
            }
            (BackendIds::Staging, ExtensionIds::WrapKeyToFile) => {
                ExtensionImpl::<WrapKeyToFileExtension>::extension_request_serialized(
                    &mut self.staging,
                    core,
                    &mut ctx.backends.staging,
                    request,
                    resources,
                )
            }
            _ => Err(Error::RequestNotAvailable),
        }
    }
}

type SimService<'a> = Service<SimPlatform<'a>, SimDispatch>;
type Endpoint<'c> = ServiceEndpoint<'c, BackendIds, SimContext>;

/// The service and its one endpoint, run by the client's syscall.
pub struct DirectSyscall<'s, 'a, 'c> {
    service: &'s RefCell<SimService<'a>>,
    endpoints: &'s RefCell<[Endpoint<'c>; 1]>,
}

impl trussed::platform::Syscall for DirectSyscall<'_, '_, '_> {
    fn syscall(&mut self) {
        // The service never calls back into the client, so these borrows never overlap.
        self.service
            .borrow_mut()
            .process(&mut *self.endpoints.borrow_mut());
    }
}

/// The trussed client opcard runs on.
pub type SimClient<'s, 'a, 'c> = ClientImplementation<'c, DirectSyscall<'s, 'a, 'c>, SimDispatch>;

/// Powers the card in `dir` up: mounts its flash files (creating and formatting them the
/// first time), builds the trussed service and gives `run` an opcard client. Everything
/// is unmounted when `run` returns; what it wrote stays in the files.
pub fn with_powered_card<R>(dir: &Path, run: impl FnOnce(SimClient<'_, '_, '_>) -> R) -> R {
    let mut stores = StoreConfig {
        internal: StorageConfig::filesystem(dir.join(INTERNAL_FLASH)),
        external: StorageConfig::filesystem(dir.join(EXTERNAL_FLASH)),
        volatile: StorageConfig::ram(),
    };
    stores.with_store(|store| {
        let platform = SimPlatform {
            rng: ChaCha8Rng::from_seed(os_entropy()),
            store,
            ui: UserInterface::new(),
        };
        let channel = TrussedChannel::new();
        let (requester, responder) = channel
            .split()
            .expect("a fresh channel splits into requester and responder");
        let client_id = CLIENT_ID.try_into().expect("the client id is a valid path");
        let endpoints = RefCell::new([ServiceEndpoint::new(
            responder,
            CoreContext::new(client_id),
            BACKENDS,
        )]);
        let service = RefCell::new(Service::with_dispatch(platform, SimDispatch::new()));
        let syscall = DirectSyscall {
            service: &service,
            endpoints: &endpoints,
        };
        run(ClientImplementation::new(requester, syscall, None))
    })
}

/// 32 bytes from the operating system's random generator.
fn os_entropy() -> [u8; 32] {
    let mut seed = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .expect("read 32 bytes from /dev/urandom");
    seed
}

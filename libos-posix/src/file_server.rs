//! The file server of the microkernel path: an environment that owns the library's disk
//! partition, mounts the same file system the library OS mounts in its world (`posix_fs`),
//! with the buffer cache in its own memory, and performs each client's requests
//! (`posix_fs::service`) as they arrive by protected control transfer (`file_client` is the
//! other side).
//!
//! A client connects by lending its transfer page for good; the server binds it at a window of
//! its own, one per client, and finds a request's bytes there. File data does not go through
//! that page: a read or a write grants the server the client's buffer for the call, and the
//! server copies between it and its cache with `EndpointCopy` (one copy). A client that ends or unbinds
//! its page takes the window's binding with it: the server then answers it with an error and
//! forgets it. A client can make the server do nothing worse than any file operation of its
//! own: every word and byte it sends is checked (`posix_fs::service::Received`).

use crate::error::{Errno, Result};
use crate::file_client::CONNECT;
use crate::files::{CACHE_SLOTS, PartitionDisk, present_credential};
use crate::layout::{FILE_SERVER_WINDOWS, PAGE_BYTES};
use crate::pipe_service::PipeServer;
use crate::runtime::bound_page::with_bound_page;
use crate::syscall::{self, Answer, Capability, Received as Call, Served};
use crate::{clock, println, servers};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use exo_abi::capability::Rights;
use exo_abi::ipc::Message;
use posix_fs::service::{self, Grant, Received};
use posix_fs::{CachedBlock, FileSystem, FsError};

/// The server's file system: the library's partition, the cache in the server's heap.
type ServedFiles = FileSystem<PartitionDisk, Vec<CachedBlock>>;

/// Most clients connected at once; past that, windows of clients that have gone are reused.
const CLIENTS_MAX: u64 = 4096;

/// Every connected client's window, by environment id, and the windows free for new ones.
struct Clients {
    windows: BTreeMap<u32, u64>,
    free: Vec<u64>,
}

impl Clients {
    fn new() -> Clients {
        let free = (0..CLIENTS_MAX)
            .rev()
            .map(|index| FILE_SERVER_WINDOWS + index * PAGE_BYTES)
            .collect();
        Clients {
            windows: BTreeMap::new(),
            free,
        }
    }

    /// The window where the next connecting client's page lands, after sweeping out clients
    /// whose page is gone when none is free.
    fn next_window(&mut self) -> u64 {
        if self.free.is_empty() {
            let gone: Vec<u32> = self
                .windows
                .iter()
                .filter(|&(_, &window)| syscall::page_query(window).is_err())
                .map(|(&client, _)| client)
                .collect();
            for client in gone {
                self.forget(client);
            }
        }
        self.free.last().copied().unwrap_or(0)
    }

    fn connect(&mut self, client: u32) -> Result<()> {
        let window = self.free.pop().ok_or(Errno::NoMemory)?;
        if let Some(old) = self.windows.insert(client, window) {
            let _ = syscall::page_unmap(old);
            self.free.push(old);
        }
        Ok(())
    }

    fn forget(&mut self, client: u32) {
        if let Some(window) = self.windows.remove(&client) {
            let _ = syscall::page_unmap(window);
            self.free.push(window);
        }
    }
}

/// The ramdisk program that runs [`run`].
pub const PROGRAM: &str = "file-server";

/// Runs the file server: mounts the file system, creates the endpoint, gives the environment
/// that started it (`servers::start`, which lent it [`Rights::GRANT`] over itself) a handle to call
/// it, and serves for ever. Returns only when it cannot start.
pub fn run() -> Result<()> {
    present_credential()?;
    let pages = empty_cache();
    let mut served = mount(pages)?;
    let starter = servers::await_capability(|_, held| held == Rights::GRANT)
        .ok_or(Errno::PermissionDenied)?;
    let endpoint = syscall::endpoint_create()?;
    syscall::capability_copy(endpoint, Rights::CALL, starter)?;
    let mut last_commit = 0;
    let mut clients = Clients::new();
    let mut received = Received::default();
    let mut pipes = PipeServer::new();
    let mut answer = Answer::Nothing;
    loop {
        let call = match syscall::endpoint_serve(endpoint, answer, clients.next_window(), false) {
            Ok(Served::Call(call)) => call,
            Ok(Served::ChildEnded) => {
                answer = Answer::Nothing;
                continue;
            }
            Err(error) => {
                println!("file-server: {}", error.describe());
                answer = Answer::Nothing;
                continue;
            }
        };
        answer = if PipeServer::serves(call.message[0]) {
            match clients.windows.get(&call.caller) {
                Some(&window) => {
                    pipes.answer(endpoint, call.caller, window, call.message, |client| {
                        clients.windows.get(&client).copied()
                    })
                }
                None => Answer::Reply([Errno::PermissionDenied.code(), 0, 0, 0]),
            }
        } else if service::is_granted(call.message) {
            let mut grant = CallerGrant {
                endpoint,
                caller: call.caller,
            };
            let reply = service::perform_granted(&mut served, call.message, &mut grant);
            Answer::Reply(service::encode_reply(reply.map_err(Errno::from)))
        } else {
            Answer::Reply(answer_file_call(
                &mut served,
                &mut clients,
                &mut received,
                call,
            ))
        };
        let now = clock::milliseconds();
        if now.saturating_sub(last_commit) >= crate::files::COMMIT_AGE_MILLISECONDS
            && served.sync().is_ok()
        {
            last_commit = now;
        }
    }
}

/// The server's cache, every slot empty. Apart, like [`mount`], so that neither the pages
/// made one at a time nor the file system value sit in the frame of the serving loop: the
/// server's stack is the kernel's fixed one, and an unoptimized build keeps each temporary.
#[inline(never)]
fn empty_cache() -> Vec<CachedBlock> {
    vec![CachedBlock::EMPTY; CACHE_SLOTS]
}

/// The file system mounted on the library's partition, on the heap.
#[inline(never)]
fn mount(pages: Vec<CachedBlock>) -> Result<Box<ServedFiles>> {
    let served = FileSystem::mount(PartitionDisk::whole(), pages).map_err(Errno::from)?;
    Ok(Box::new(served))
}

/// The bytes the caller being served granted with its call: file data moves between them and
/// the cache through the kernel's copy, once.
struct CallerGrant {
    endpoint: Capability,
    caller: u32,
}

impl Grant for CallerGrant {
    fn copy_in(&mut self, offset: usize, bytes: &[u8]) -> core::result::Result<(), FsError> {
        syscall::endpoint_copy_to(self.endpoint, self.caller, offset, bytes)
            .map_err(|_| FsError::BadBuffer)
    }

    fn copy_out(&mut self, offset: usize, bytes: &mut [u8]) -> core::result::Result<(), FsError> {
        syscall::endpoint_copy_from(self.endpoint, self.caller, offset, bytes)
            .map_err(|_| FsError::BadBuffer)
    }
}

/// The reply to one call of the file API, or a connection.
fn answer_file_call(
    served: &mut ServedFiles,
    clients: &mut Clients,
    received: &mut Received,
    call: Call,
) -> Message {
    if call.message[0] == CONNECT {
        let outcome = if call.has_lent_page {
            clients.connect(call.caller)
        } else {
            Err(Errno::InvalidArgument)
        };
        return [outcome.err().map_or(0, Errno::code), 0, 0, 0];
    }
    let Some(&window) = clients.windows.get(&call.caller) else {
        return [Errno::PermissionDenied.code(), 0, 0, 0];
    };
    let reply = with_bound_page(window, |page| {
        let request = received.decode(call.message, page)?;
        service::perform(served, request).map_err(Errno::from)
    });
    match reply {
        Ok(reply) => service::encode_reply(reply),
        Err(errno) => {
            // The client's page is gone: it unbound it, or it ended.
            clients.forget(call.caller);
            [errno.code(), 0, 0, 0]
        }
    }
}

//! The microkernel path of the file API: when the world's file system is served by a file
//! server (`file_server`), each file operation is one protected control transfer to it
//! (`posix_fs::service` says how a request travels) instead of a call into the world's file
//! system.
//!
//! Each process connects once: it binds its transfer page ([`TRANSFER_PAGE`]) and lends it to
//! the server for good with a first call; after that, a request's bytes (paths, directory
//! entries) go in that page and its numbers in the message. File data does not: each read or
//! write grants the server the caller's own buffer for that call (`exo_abi::ipc`, granted
//! bytes), and the server copies between it and its cache, once.

use crate::error::{Errno, Result};
use crate::layout::TRANSFER_PAGE;
use crate::runtime::bound_page::with_transfer_page;
use crate::syscall::{self, Capability};
use crate::world;
use exo_abi::PageRights;
use exo_abi::capability::Rights;
use exo_abi::ipc::{GrantFlags, LendFlags, Message};
use posix_fs::service::{self, GRANTED_BYTES_MAX, PAGE_BYTES, Reply, Request};
use spin::Mutex;

/// The first word of the call that lends the transfer page (no operation of
/// `posix_fs::service` has this number).
pub const CONNECT: u64 = 0x100;

/// This process's handle of the server's endpoint, once connected (a forked child inherits the
/// memory, not the connection: it forgets it first, see [`forget_connection`]).
static CONNECTION: Mutex<Option<Capability>> = Mutex::new(None);

/// Whether this process is in the middle of connecting (an exception handler then makes no
/// call to the server: the connection's lock is this process's).
pub(crate) fn is_connecting() -> bool {
    CONNECTION.is_locked()
}

/// In a child just forked: the parent's connection is not the child's.
pub(crate) fn forget_connection() {
    *CONNECTION.lock() = None;
}

/// This process's handle of the file server's endpoint, connected; found among its
/// capabilities (its parent gave it a copy) by the endpoint number the world records.
fn connection(endpoint: u64) -> Result<Capability> {
    let mut connection = CONNECTION.lock();
    if let Some(handle) = *connection {
        return Ok(handle);
    }
    let handle = syscall::capability_find(|object, rights| {
        u64::from(object) == endpoint && rights.contains(Rights::CALL)
    })
    .ok_or(Errno::NoFileSystem)?;
    if syscall::page_query(TRANSFER_PAGE).is_err() {
        let frame = syscall::frame_allocate(None)?;
        syscall::page_map(TRANSFER_PAGE, frame, PageRights::WRITABLE)?;
    }
    let reply = syscall::endpoint_call_lending(
        handle,
        [CONNECT, 0, 0, 0],
        TRANSFER_PAGE,
        LendFlags::WRITABLE | LendFlags::KEEP,
    )?;
    if reply[0] != 0 {
        return Err(Errno::from_code(reply[0]).unwrap_or(Errno::Io));
    }
    *connection = Some(handle);
    Ok(handle)
}

/// This process's handle of the file server's endpoint, to copy into a child it starts; `None`
/// on the library OS path.
pub fn handle_to_pass() -> Option<Capability> {
    let endpoint = world::get()?.file_server()?;
    syscall::capability_find(|object, rights| {
        u64::from(object) == endpoint && rights.contains(Rights::CALL)
    })
}

/// Sends `request` to the server of `endpoint` and returns its reply.
pub fn call(endpoint: u64, request: Request<'_>) -> Result<Reply> {
    let handle = connection(endpoint)?;
    match request {
        Request::Read {
            inode,
            offset,
            buffer,
        } => read(handle, inode, offset, buffer),
        Request::Write {
            inode,
            offset,
            bytes,
        } => write(handle, inode, offset, bytes),
        request => one_call(handle, request),
    }
}

/// A call outside the file API (`pipe_service`): `bytes` (at most a page) go in the transfer
/// page; the reply's first word is an `Errno` code (0 for success) and its second a count, of
/// the bytes the server put in the page (at most `buffer.len()` are copied into `buffer`) or of
/// whatever else the request counts; returns that count.
pub(crate) fn call_with_page(
    endpoint: u64,
    words: Message,
    bytes: &[u8],
    buffer: &mut [u8],
) -> Result<u64> {
    let handle = connection(endpoint)?;
    with_transfer_page(|page| {
        let length = bytes.len().min(PAGE_BYTES);
        page[..length].copy_from_slice(&bytes[..length]);
        let reply = syscall::endpoint_call(handle, words)?;
        if reply[0] != 0 {
            return Err(Errno::from_code(reply[0]).unwrap_or(Errno::Io));
        }
        let count = (reply[1] as usize).min(buffer.len()).min(PAGE_BYTES);
        buffer[..count].copy_from_slice(&page[..count]);
        Ok(reply[1])
    })
}

/// One request in one call; the page's reply bytes (directory entries) copied back.
fn one_call(handle: Capability, mut request: Request<'_>) -> Result<Reply> {
    with_transfer_page(|page| {
        let words = service::encode(&request, page)?;
        let reply_words = syscall::endpoint_call(handle, words)?;
        let reply = service::decode_reply(&request, reply_words)?;
        if let Request::ReadDir { entries, .. } = &mut request {
            entries.copy_from_slice(page);
        }
        Ok(reply)
    })
}

/// A read: the server copies the file's bytes from its cache straight into `buffer`, which
/// each call grants it (one copy), at most [`GRANTED_BYTES_MAX`] bytes per call.
fn read(handle: Capability, inode: u64, offset: u64, buffer: &mut [u8]) -> Result<Reply> {
    let mut done = 0;
    for chunk in buffer.chunks_mut(GRANTED_BYTES_MAX) {
        let length = chunk.len();
        make_writable(chunk);
        syscall::endpoint_grant(&raw const *chunk, GrantFlags::WRITABLE)?;
        let request = Request::Read {
            inode,
            offset: offset + done as u64,
            buffer: chunk,
        };
        let count = granted_call(handle, &request)?.min(length);
        done += count;
        if count < length {
            break;
        }
    }
    Ok(Reply::Count(done as u64))
}

/// A write: the server copies the bytes from `bytes`, which each call grants it, straight
/// into its cache (one copy), at most [`GRANTED_BYTES_MAX`] bytes per call.
fn write(handle: Capability, inode: u64, offset: u64, bytes: &[u8]) -> Result<Reply> {
    let mut done = 0;
    for chunk in bytes.chunks(GRANTED_BYTES_MAX) {
        make_readable(chunk);
        syscall::endpoint_grant(chunk, GrantFlags::empty())?;
        let request = Request::Write {
            inode,
            offset: offset + done as u64,
            bytes: chunk,
        };
        let count = granted_call(handle, &request)?.min(chunk.len());
        done += count;
        if count < chunk.len() {
            break;
        }
    }
    Ok(Reply::Count(done as u64))
}

/// Makes the granted call for `request`, a read or a write of its own buffer; returns the
/// count the server replied (the server's: the caller bounds it).
fn granted_call(handle: Capability, request: &Request<'_>) -> Result<usize> {
    let words = service::granted_words(request).ok_or(Errno::InvalidArgument)?;
    let reply = syscall::endpoint_call(handle, words)?;
    match service::decode_reply(request, reply)? {
        Reply::Count(count) => Ok(usize::try_from(count).unwrap_or(usize::MAX)),
        _ => Err(Errno::Io),
    }
}

/// Touches every page of `bytes` as the server's copy into it will (the kernel checks the
/// pages and does not fault them in): writing each page's own byte back breaks copy-on-write
/// and maps a page never used.
fn make_writable(bytes: &mut [u8]) {
    for index in touched_indices(bytes.len()) {
        bytes[index] = core::hint::black_box(bytes[index]);
    }
}

/// Touches every page of `bytes` for reading, so that a page never used is mapped.
fn make_readable(bytes: &[u8]) {
    for index in touched_indices(bytes.len()) {
        core::hint::black_box(bytes[index]);
    }
}

/// One index in every page of a buffer of `length` bytes (its first byte, one a page further
/// each time, and its last).
fn touched_indices(length: usize) -> impl Iterator<Item = usize> {
    (0..length).step_by(PAGE_BYTES).chain(length.checked_sub(1))
}

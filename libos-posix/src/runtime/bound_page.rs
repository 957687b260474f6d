//! A page at a fixed address that this process shares with another environment through a
//! protected control transfer (see `exo_abi::ipc`): a file server's client's transfer page, or
//! one of the server's windows onto them. By the file protocol (`file_client`), the other side
//! touches the page only while this process waits in a call to it or serves a call from it, so
//! while this process works on the page it is the only one that does.

use crate::error::{Errno, Result};
use crate::layout::TRANSFER_PAGE;
use crate::syscall;
use exo_abi::PageRights;
use posix_fs::service::{PAGE_BYTES, Page};

/// Runs `work` on the page bound at `address`, which must be bound writable (checked: a
/// client's transfer page seen from the server goes when the client unbinds it or ends).
pub(crate) fn with_bound_page<T>(address: u64, work: impl FnOnce(&mut Page) -> T) -> Result<T> {
    if !address.is_multiple_of(PAGE_BYTES as u64) {
        return Err(Errno::InvalidArgument);
    }
    let binding = syscall::page_query(address).map_err(|_| Errno::Io)?;
    if !binding.rights.contains(PageRights::WRITABLE) {
        return Err(Errno::Io);
    }
    // SAFETY: the page is bound writable in this address space (checked just above) and
    // page-aligned, so it is valid for reads and writes of `PAGE_BYTES` bytes; by the module's
    // contract nothing else works on it until `work` returns, and the reference does not
    // outlive the call.
    let page = unsafe { &mut *core::ptr::with_exposed_provenance_mut::<Page>(address as usize) };
    Ok(work(page))
}

/// Runs `work` on this process's transfer page ([`TRANSFER_PAGE`]), which the file client binds
/// before it first connects and the library never unbinds (a program that unbinds it by hand
/// faults on its next file call, as with any page it unbinds under the library).
pub(crate) fn with_transfer_page<T>(work: impl FnOnce(&mut Page) -> T) -> T {
    // SAFETY: the page is bound writable by the file client before any call reaches here (see
    // above) and is page-aligned; by the module's contract nothing else works on it until
    // `work` returns, and the reference does not outlive the call.
    let page =
        unsafe { &mut *core::ptr::with_exposed_provenance_mut::<Page>(TRANSFER_PAGE as usize) };
    work(page)
}

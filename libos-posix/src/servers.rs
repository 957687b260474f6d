//! Starting the servers of the microkernel path: the file server (`file_server`) and the
//! process server (`process_server`), each a ramdisk program in an environment of its own.
//!
//! The handshake, the same for both: the starter spawns the server and lends it
//! [`Rights::GRANT`] over itself; the server creates its endpoint and gives the starter a handle to
//! call it, which the starter finds among its capabilities ([`await_capability`]).

use crate::error::{Errno, Result};
use crate::syscall::{self, Capability};
use crate::{file_server, process_server};
use alloc::vec::Vec;
use exo_abi::capability::Rights;

/// The starter's handles to call the servers.
#[derive(Clone, Copy, Debug)]
pub struct Servers {
    /// The file server's endpoint.
    pub files: Capability,
    /// The process server's endpoint.
    pub processes: Capability,
}

/// Starts the file server, then the process server, as children of this process.
pub fn start() -> Result<Servers> {
    let files = start_one(file_server::PROGRAM)?;
    let processes = start_one(process_server::PROGRAM)?;
    Ok(Servers { files, processes })
}

/// Starts ramdisk program `program` as a server and returns the handle it gives back: the
/// handle to call an endpoint that none of this process's handles named before.
fn start_one(program: &str) -> Result<Capability> {
    let mut known = Vec::new();
    let _ = syscall::capability_find(|object, rights| {
        if rights.contains(Rights::CALL) {
            known.push(object);
        }
        false
    });
    let server = syscall::spawn(program, "")?;
    syscall::capability_copy(Capability::SELF, Rights::GRANT, server)?;
    await_capability(|object, rights| rights == Rights::CALL && !known.contains(&object))
        .ok_or(Errno::NoSuchProcess)
}

/// The capability for which `wanted` holds of the id it names and its rights (see
/// `syscall::capability_find`), once the other side of the handshake has given it, looked for
/// every millisecond for about 10 s.
pub(crate) fn await_capability(wanted: impl Fn(u32, Rights) -> bool) -> Option<Capability> {
    for _ in 0..10_000 {
        if let Some(handle) = syscall::capability_find(&wanted) {
            return Some(handle);
        }
        syscall::sleep(1_000);
    }
    None
}

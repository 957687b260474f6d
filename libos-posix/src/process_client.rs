//! The microkernel path of the process API: when the world has a process server
//! (`process_server`), every process is made, waited for and killed by it, one protected
//! control transfer each, instead of by this process directly.
//!
//! The server creates the environment (so that it is the kernel's parent of every process and
//! alone can reap them) and gives the caller a handle to build it with; the caller fills it
//! with its own pages (a program image read through the file API, or its own address space for
//! a fork), as it does on the library OS path, and starts it. A wait the child cannot answer
//! yet is deferred by the server until the child ends: the caller blocks in its call, and the
//! server goes on serving everyone else.
//!
//! The messages (first word the operation; replies start with an `Errno` code, 0 for success):
//! - [`CREATE`] with the environment's name in the next 3 words (24 bytes, zero-padded):
//!   replies the pid and the caller's handle over it
//!   ([`BUILDER_RIGHTS`]: no right to wait).
//! - [`WAIT`] with a pid of the caller's and [`WAIT_NO_HANG`] or 0: replies 1 and the
//!   encoded `ExitReason` once it ended (reaped), or 0 while it runs with the flag.
//! - [`KILL`] with a pid the server made (not the caller): replies when it is killed.

use crate::error::{Errno, Result};
use crate::syscall::{self, Capability};
use crate::world;
use exo_abi::ExitReason;
use exo_abi::capability::Rights;
use exo_abi::ipc::Message;

/// Create an environment for the caller to build.
pub const CREATE: u64 = 1;
/// Wait for one of the caller's processes.
pub const WAIT: u64 = 2;
/// Kill a process.
pub const KILL: u64 = 3;
/// Flag of [`WAIT`]: answer at once while the process runs.
pub const WAIT_NO_HANG: u64 = 1;
/// Bytes of a name [`CREATE`] carries.
pub const NAME_BYTES: usize = 24;
/// The rights of the handle [`CREATE`] gives the caller: enough to bind pages in the new
/// environment, give it frames and capabilities, and start or kill it.
pub const BUILDER_RIGHTS: Rights = Rights::SHARE.union(Rights::GRANT).union(Rights::CONTROL);

/// The process server's endpoint number, on the microkernel path.
pub(crate) fn server() -> Option<u64> {
    world::get()?.process_server()
}

/// This process's handle to call the process server behind endpoint `endpoint` (the server
/// gave it one when it created it; init got its own when it started the server).
fn handle(endpoint: u64) -> Result<Capability> {
    syscall::capability_find(|object, rights| {
        u64::from(object) == endpoint && rights.contains(Rights::CALL)
    })
    .ok_or(Errno::NoSuchProcess)
}

/// One call; the reply's first word, an `Errno` code, becomes the error.
fn call(endpoint: u64, message: Message) -> Result<Message> {
    let reply = syscall::endpoint_call(handle(endpoint)?, message)?;
    match reply[0] {
        0 => Ok(reply),
        code => Err(Errno::from_code(code).unwrap_or(Errno::Io)),
    }
}

/// Has the server behind `endpoint` create an environment named `name` (cut to
/// [`NAME_BYTES`]); returns this process's handle over it and its pid.
pub(crate) fn create(endpoint: u64, name: &str) -> Result<(Capability, u32)> {
    let mut words = [0u64; 3];
    for (index, byte) in name.bytes().take(NAME_BYTES).enumerate() {
        words[index / 8] |= u64::from(byte) << (8 * (index % 8));
    }
    let reply = call(endpoint, [CREATE, words[0], words[1], words[2]])?;
    let pid = u32::try_from(reply[1]).map_err(|_| Errno::Io)?;
    Ok((Capability(reply[2]), pid))
}

/// Waits (or, with `no_hang`, looks) for process `pid`, a child of this process, to end.
pub(crate) fn wait(endpoint: u64, pid: u32, no_hang: bool) -> Result<Option<ExitReason>> {
    let flags = if no_hang { WAIT_NO_HANG } else { 0 };
    let reply = call(endpoint, [WAIT, u64::from(pid), flags, 0])?;
    if reply[1] == 0 {
        return Ok(None);
    }
    ExitReason::decode(reply[2]).map(Some).ok_or(Errno::Io)
}

/// Has the server kill process `pid`.
pub(crate) fn kill(endpoint: u64, pid: u32) -> Result<()> {
    call(endpoint, [KILL, u64::from(pid), 0, 0]).map(|_| ())
}

/// The name [`CREATE`] carries in `words`, as far as it is text.
pub fn name_of(words: [u64; 3]) -> alloc::string::String {
    let bytes: alloc::vec::Vec<u8> = words
        .iter()
        .flat_map(|word| word.to_le_bytes())
        .take_while(|&byte| byte != 0)
        .collect();
    alloc::string::String::from_utf8_lossy(&bytes).into_owned()
}

//! Pipes on the microkernel path: the file server keeps the pipes (the same rings as the
//! world's, `pipes::Rings`, in its own memory) and each pipe operation is one call to it, the
//! bytes in the caller's transfer page. A read of an empty pipe or a write to a full one is
//! deferred (`exo_abi::ipc::ReplyAndWaitFlags::DEFER`): the caller stays blocked in its call
//! until another caller's write, read or close lets it go on, and the server serves everyone
//! else meanwhile.
//!
//! The messages (first word the operation; replies start with an `Errno` code, 0 for success,
//! then a count or a pipe id):
//! - [`CREATE`]: a pipe whose two ends the caller holds; replies its id.
//! - [`HOLD`] `id`, `end` (0 read, 1 write), `pid`: `pid` holds one more end (a child's
//!   inherited ends, counted by its parent, or the caller's duplicate).
//! - [`CLOSE`] `id`, `end`: the caller closes one end.
//! - [`FORGET`] `pid`: every end `pid` holds is closed (it has ended, or is killed).
//! - [`READ`] `id`, `length`: up to `length` bytes (at most a page) into the page; replies the
//!   count, 0 at end of file.
//! - [`WRITE`] `id`, `length`: what fits of the page's first `length` bytes; replies the count.
//!
//! As on the library OS path, where these counts live in memory every process of the world
//! writes, the processes of one world trust each other with them: the server checks every word
//! and byte against its own memory, not who may hold which end.

use crate::error::{Errno, Result};
use crate::file_client::call_with_page;
use crate::layout::PAGE_BYTES;
use crate::pipes::{End, PIPES_MAX, Pipe, Rings};
use crate::runtime::bound_page::with_bound_page;
use crate::syscall::{self, Answer, Capability};
use alloc::vec;
use alloc::vec::Vec;
use exo_abi::ipc::Message;

/// Make a pipe.
pub const CREATE: u64 = 0x200;
/// Count one more end held.
pub const HOLD: u64 = 0x201;
/// Close one of the caller's ends.
pub const CLOSE: u64 = 0x202;
/// Close every end a process holds.
pub const FORGET: u64 = 0x203;
/// Read.
pub const READ: u64 = 0x204;
/// Write.
pub const WRITE: u64 = 0x205;

fn end_word(end: End) -> u64 {
    match end {
        End::Read => 0,
        End::Write => 1,
    }
}

/// [`CREATE`] through the file server behind `endpoint`.
pub(crate) fn create(endpoint: u64) -> Result<u32> {
    let id = call_with_page(endpoint, [CREATE, 0, 0, 0], &[], &mut [])?;
    u32::try_from(id).map_err(|_| Errno::Io)
}

/// [`HOLD`].
pub(crate) fn hold(endpoint: u64, id: u32, end: End, pid: u32) -> Result<()> {
    let words = [HOLD, u64::from(id), end_word(end), u64::from(pid)];
    call_with_page(endpoint, words, &[], &mut []).map(|_| ())
}

/// [`CLOSE`].
pub(crate) fn close(endpoint: u64, id: u32, end: End) -> Result<()> {
    let words = [CLOSE, u64::from(id), end_word(end), 0];
    call_with_page(endpoint, words, &[], &mut []).map(|_| ())
}

/// [`FORGET`].
pub(crate) fn forget(endpoint: u64, pid: u32) {
    let _ = call_with_page(endpoint, [FORGET, u64::from(pid), 0, 0], &[], &mut []);
}

/// [`READ`]: what the pipe holds, up to a page, into `buffer`; waits while it is empty.
pub(crate) fn read(endpoint: u64, id: u32, buffer: &mut [u8]) -> Result<usize> {
    let length = buffer.len().min(PAGE_BYTES as usize);
    let words = [READ, u64::from(id), length as u64, 0];
    let count = call_with_page(endpoint, words, &[], &mut buffer[..length])?;
    Ok((count as usize).min(length))
}

/// [`WRITE`], a page per call, until all of `bytes` is written.
pub(crate) fn write(endpoint: u64, id: u32, bytes: &[u8]) -> Result<usize> {
    let mut done = 0;
    while done < bytes.len() {
        let chunk = &bytes[done..bytes.len().min(done + PAGE_BYTES as usize)];
        let words = [WRITE, u64::from(id), chunk.len() as u64, 0];
        let count = call_with_page(endpoint, words, chunk, &mut [])?;
        // The count is the server's: a count of nothing, or past the chunk, is a broken server.
        if count == 0 || count as usize > chunk.len() {
            return Err(Errno::Io);
        }
        done += count as usize;
    }
    Ok(done)
}

/// A caller whose read or write waits.
#[derive(Clone, Copy, Debug)]
struct Blocked {
    caller: u32,
    id: u32,
    end: End,
    length: usize,
}

/// The file server's pipes and the callers blocked on them.
pub(crate) struct PipeServer {
    pipes: Vec<Pipe>,
    /// No pipe at this index or above has been in use.
    used_below: u32,
    blocked: Vec<Blocked>,
}

impl PipeServer {
    pub(crate) fn new() -> PipeServer {
        PipeServer {
            pipes: vec![Pipe::UNUSED; PIPES_MAX],
            used_below: 0,
            blocked: Vec::new(),
        }
    }

    /// Whether `operation` is a pipe operation.
    pub(crate) fn serves(operation: u64) -> bool {
        (CREATE..=WRITE).contains(&operation)
    }

    /// The answer to pipe request `message` from `caller`, whose transfer page is bound at
    /// `window`; then the callers blocked on what the request changed that can go on now are
    /// answered (`window_of` tells where each one's page is).
    pub(crate) fn answer(
        &mut self,
        endpoint: Capability,
        caller: u32,
        window: u64,
        message: Message,
        window_of: impl Fn(u32) -> Option<u64>,
    ) -> Answer {
        let [operation, first, second, third] = message;
        let outcome = self.perform(caller, window, operation, [first, second, third]);
        let answer = match outcome {
            Ok(Some(count)) => Answer::Reply([0, count, 0, 0]),
            Ok(None) => Answer::Defer,
            Err(error) => Answer::Reply([error.code(), 0, 0, 0]),
        };
        if answer != Answer::Defer {
            self.wake(endpoint, &window_of);
        }
        answer
    }

    /// Performs one request: `Some` reply count, or `None` when the caller must wait (it is
    /// then listed as blocked).
    fn perform(
        &mut self,
        caller: u32,
        window: u64,
        operation: u64,
        [first, second, third]: [u64; 3],
    ) -> Result<Option<u64>> {
        let id = u32::try_from(first).map_err(|_| Errno::BadDescriptor);
        let end = match second {
            0 => Ok(End::Read),
            1 => Ok(End::Write),
            _ => Err(Errno::InvalidArgument),
        };
        let mut rings = Rings::new(&mut self.pipes, &mut self.used_below);
        match operation {
            CREATE => rings.create(caller).map(|id| Some(u64::from(id))),
            HOLD => {
                let pid = u32::try_from(third).map_err(|_| Errno::NoSuchProcess)?;
                rings.hold(id?, end?, pid).map(|()| Some(0))
            }
            CLOSE => rings.close(id?, end?, caller).map(|()| Some(0)),
            FORGET => {
                let pid = u32::try_from(first).map_err(|_| Errno::NoSuchProcess)?;
                rings.forget_environment(pid);
                self.blocked.retain(|blocked| blocked.caller != pid);
                Ok(Some(0))
            }
            READ | WRITE => {
                let length = usize::try_from(second)
                    .ok()
                    .filter(|&length| length > 0 && length <= PAGE_BYTES as usize)
                    .ok_or(Errno::InvalidArgument)?;
                let end = if operation == READ {
                    End::Read
                } else {
                    End::Write
                };
                let request = Blocked {
                    caller,
                    id: id?,
                    end,
                    length,
                };
                let done = transfer(&mut rings, window, request)?;
                if done.is_none() {
                    self.blocked.push(request);
                }
                Ok(done)
            }
            _ => Err(Errno::InvalidArgument),
        }
    }

    /// Answers every blocked caller that can go on now, until none can.
    fn wake(&mut self, endpoint: Capability, window_of: &impl Fn(u32) -> Option<u64>) {
        loop {
            let mut progressed = false;
            let mut index = 0;
            while index < self.blocked.len() {
                let blocked = self.blocked[index];
                let outcome = match window_of(blocked.caller) {
                    Some(window) => transfer(
                        &mut Rings::new(&mut self.pipes, &mut self.used_below),
                        window,
                        blocked,
                    ),
                    // Its page is gone: it ended, or unbound the page; it is owed nothing.
                    None => Err(Errno::Io),
                };
                let reply = match outcome {
                    Ok(None) => {
                        index += 1;
                        continue;
                    }
                    Ok(Some(count)) => [0, count, 0, 0],
                    Err(error) => [error.code(), 0, 0, 0],
                };
                self.blocked.swap_remove(index);
                // A caller that ended meanwhile is owed nothing: the reply goes nowhere.
                let _ = syscall::endpoint_reply(endpoint, blocked.caller, reply);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }
}

/// Moves the bytes of a read or write between pipe `request.id` and the caller's page at
/// `window`: the count, or `None` while it must wait.
fn transfer(rings: &mut Rings<'_>, window: u64, request: Blocked) -> Result<Option<u64>> {
    let moved = with_bound_page(window, |page| {
        let bytes = &mut page[..request.length];
        match request.end {
            End::Read => rings.try_read(request.id, bytes),
            End::Write => rings.try_write(request.id, bytes),
        }
    })??;
    Ok(moved.map(|count| count as u64))
}

//! File descriptors: this process's table of open things (the terminal, files, pipe ends),
//! numbered from 0, with standard input, output and error at 0, 1 and 2. The table is private
//! to the process; a child starts with copies of the descriptors its parent passes it, and
//! pipe ends are counted per process in the world so that end-of-file works across processes.

use crate::error::{Errno, Result};
use crate::pipes::End;
use crate::{files, pipes, world};
use spin::Mutex;

/// Most descriptors a process has open at once (a table of this many, some 8 KiB, in each
/// process's own memory).
pub const DESCRIPTORS_MAX: usize = 256;
/// How many descriptors a child starts with: standard input, output and error.
pub const INHERITED: usize = 3;

/// Standard input, output and error.
pub const STDIN: usize = 0;
pub const STDOUT: usize = 1;
pub const STDERR: usize = 2;

/// Access modes of an open file.
pub mod mode {
    /// Open for reading.
    pub const READ: u32 = 1;
    /// Open for writing.
    pub const WRITE: u32 = 2;
    /// Every write goes to the end of the file.
    pub const APPEND: u32 = 4;
}

/// What a descriptor refers to. Plain data, so that a parent can hand it to a child.
#[repr(C, u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Descriptor {
    /// Not open.
    Closed,
    /// The terminal (the serial console).
    Terminal,
    /// An open file: its inode, this descriptor's offset, its [`mode`] bits.
    File { inode: u64, offset: u64, mode: u32 },
    /// The read end of a pipe.
    PipeRead(u32),
    /// The write end of a pipe.
    PipeWrite(u32),
}

impl Descriptor {
    /// The pipe end this descriptor holds, if it holds one.
    pub fn pipe_end(self) -> Option<(u32, End)> {
        match self {
            Descriptor::PipeRead(id) => Some((id, End::Read)),
            Descriptor::PipeWrite(id) => Some((id, End::Write)),
            _ => None,
        }
    }
}

static TABLE: Mutex<[Descriptor; DESCRIPTORS_MAX]> =
    Mutex::new([Descriptor::Closed; DESCRIPTORS_MAX]);

/// Whether the table is in use at this instant (an exception inside a descriptor call).
pub fn is_busy() -> bool {
    TABLE.is_locked()
}

/// Starts the table with `descriptors` as its first ones (inherited; the parent counted the
/// pipe ends for us).
pub fn install(descriptors: &[Descriptor; INHERITED]) {
    TABLE.lock()[..INHERITED].copy_from_slice(descriptors);
}

/// Starts the table of a program without a parent in the library OS: the terminal on 0, 1, 2.
pub fn install_terminal() {
    let mut table = TABLE.lock();
    for descriptor in table.iter_mut().take(3) {
        *descriptor = Descriptor::Terminal;
    }
}

/// A copy of descriptor `fd`.
pub fn get(fd: usize) -> Result<Descriptor> {
    match TABLE.lock().get(fd) {
        Some(Descriptor::Closed) | None => Err(Errno::BadDescriptor),
        Some(&descriptor) => Ok(descriptor),
    }
}

/// A copy of the whole table.
pub fn snapshot() -> [Descriptor; DESCRIPTORS_MAX] {
    *TABLE.lock()
}

/// Puts `descriptor` in the lowest free slot; returns its number.
pub fn open(descriptor: Descriptor) -> Result<usize> {
    let mut table = TABLE.lock();
    let fd = table
        .iter()
        .position(|slot| *slot == Descriptor::Closed)
        .ok_or(Errno::TooManyOpenFiles)?;
    table[fd] = descriptor;
    Ok(fd)
}

/// Makes a new descriptor, the lowest free, referring to what `fd` refers to (`dup`); a file's
/// copy starts at the same offset but moves on its own.
pub fn duplicate(fd: usize) -> Result<usize> {
    let descriptor = get(fd)?;
    if let Some((id, end)) = descriptor.pipe_end() {
        pipes::hold(id, end, crate::process::pid())?;
    }
    open(descriptor).inspect_err(|_| release(descriptor))
}

/// Closes descriptor `fd`.
pub fn close(fd: usize) -> Result<()> {
    let descriptor = {
        let mut table = TABLE.lock();
        let slot = table.get_mut(fd).ok_or(Errno::BadDescriptor)?;
        core::mem::replace(slot, Descriptor::Closed)
    };
    match descriptor {
        Descriptor::Closed => Err(Errno::BadDescriptor),
        descriptor => {
            release(descriptor);
            Ok(())
        }
    }
}

/// Closes every descriptor (the process is ending).
pub fn close_all() {
    // One pass under the lock (a close of each of the 256 numbers took the lock 256 times,
    // some 4,000 instructions at every exit).
    let open: alloc::vec::Vec<Descriptor> = TABLE
        .lock()
        .iter_mut()
        .filter(|slot| **slot != Descriptor::Closed)
        .map(|slot| core::mem::replace(slot, Descriptor::Closed))
        .collect();
    for descriptor in open {
        release(descriptor);
    }
}

fn release(descriptor: Descriptor) {
    if let Some((id, end)) = descriptor.pipe_end() {
        let _ = pipes::close(id, end);
    }
}

fn set_offset(fd: usize, offset: u64) {
    if let Some(Descriptor::File { offset: slot, .. }) = TABLE.lock().get_mut(fd) {
        *slot = offset;
    }
}

/// Reads from descriptor `fd` into `buffer`; 0 at end of file.
pub fn read(fd: usize, buffer: &mut [u8]) -> Result<usize> {
    match get(fd)? {
        Descriptor::Terminal => {
            Ok(world::get().map_or(0, |world| world.terminal.read_line(buffer)))
        }
        Descriptor::File {
            inode,
            offset,
            mode,
        } => {
            if mode & mode::READ == 0 {
                return Err(Errno::BadDescriptor);
            }
            let count = files::read_at(inode, offset, buffer)?;
            set_offset(fd, offset + count as u64);
            Ok(count)
        }
        Descriptor::PipeRead(id) => pipes::read(id, buffer),
        Descriptor::PipeWrite(_) | Descriptor::Closed => Err(Errno::BadDescriptor),
    }
}

/// Writes all of `bytes` to descriptor `fd`.
pub fn write(fd: usize, bytes: &[u8]) -> Result<usize> {
    match get(fd)? {
        Descriptor::Terminal => {
            crate::tty::echo(bytes);
            Ok(bytes.len())
        }
        Descriptor::File {
            inode,
            offset,
            mode,
        } => {
            if mode & mode::WRITE == 0 {
                return Err(Errno::BadDescriptor);
            }
            let at = if mode & mode::APPEND != 0 {
                files::size_of(inode)?
            } else {
                offset
            };
            let count = files::write_at(inode, at, bytes)?;
            set_offset(fd, at + count as u64);
            Ok(count)
        }
        Descriptor::PipeWrite(id) => pipes::write(id, bytes),
        Descriptor::PipeRead(_) | Descriptor::Closed => Err(Errno::BadDescriptor),
    }
}

/// Moves the offset of file descriptor `fd` to `offset`; returns it.
pub fn seek(fd: usize, offset: u64) -> Result<u64> {
    match get(fd)? {
        Descriptor::File { .. } => {
            set_offset(fd, offset);
            Ok(offset)
        }
        _ => Err(Errno::InvalidArgument),
    }
}

/// Makes a pipe; returns its read and write descriptors.
pub fn pipe() -> Result<(usize, usize)> {
    let id = pipes::create(crate::process::pid())?;
    let read_end = open(Descriptor::PipeRead(id));
    let write_end = read_end.and_then(|_| open(Descriptor::PipeWrite(id)));
    match (read_end, write_end) {
        (Ok(read_end), Ok(write_end)) => Ok((read_end, write_end)),
        (read_end, _) => {
            if let Ok(fd) = read_end {
                let _ = close(fd);
            } else {
                let _ = pipes::close(id, End::Read);
            }
            let _ = pipes::close(id, End::Write);
            Err(Errno::TooManyOpenFiles)
        }
    }
}

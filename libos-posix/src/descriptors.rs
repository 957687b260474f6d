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

/// The descriptors, and how far the open ones reach, so that a walk of the open ones (at
/// exit, at fork) looks at a few slots, not at all 256.
struct Table {
    slots: [Descriptor; DESCRIPTORS_MAX],
    /// One past the highest slot opened since the table was last emptied: every slot from
    /// here on is closed.
    end: usize,
}

impl Table {
    /// The slots that may be open.
    fn in_use(&mut self) -> &mut [Descriptor] {
        &mut self.slots[..self.end]
    }
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    slots: [Descriptor::Closed; DESCRIPTORS_MAX],
    end: 0,
});

/// Whether the table is in use at this instant (an exception inside a descriptor call).
pub fn is_busy() -> bool {
    TABLE.is_locked()
}

/// Starts the table with `descriptors` as its first ones (inherited; the parent counted the
/// pipe ends for us).
pub fn install(descriptors: &[Descriptor; INHERITED]) {
    let mut table = TABLE.lock();
    table.slots[..INHERITED].copy_from_slice(descriptors);
    table.end = table.end.max(INHERITED);
}

/// Starts the table of a program without a parent in the library OS: the terminal on 0, 1, 2.
pub fn install_terminal() {
    let mut table = TABLE.lock();
    table.slots[..INHERITED].fill(Descriptor::Terminal);
    table.end = table.end.max(INHERITED);
}

/// A copy of descriptor `fd`.
pub fn get(fd: usize) -> Result<Descriptor> {
    match TABLE.lock().slots.get(fd) {
        Some(Descriptor::Closed) | None => Err(Errno::BadDescriptor),
        Some(&descriptor) => Ok(descriptor),
    }
}

/// A copy of every open descriptor.
pub fn open_ones() -> alloc::vec::Vec<Descriptor> {
    TABLE
        .lock()
        .in_use()
        .iter()
        .filter(|slot| !matches!(slot, Descriptor::Closed))
        .copied()
        .collect()
}

/// Puts `descriptor` in the lowest free slot; returns its number.
pub fn open(descriptor: Descriptor) -> Result<usize> {
    let mut table = TABLE.lock();
    let fd = table
        .slots
        .iter()
        .position(|slot| matches!(slot, Descriptor::Closed))
        .ok_or(Errno::TooManyOpenFiles)?;
    table.slots[fd] = descriptor;
    table.end = table.end.max(fd + 1);
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
        let slot = table.slots.get_mut(fd).ok_or(Errno::BadDescriptor)?;
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
    // One pass under the lock over the slots in use (a close of each of the 256 numbers took
    // the lock 256 times, some 4,000 instructions at every exit).
    let open: alloc::vec::Vec<Descriptor> = {
        let mut table = TABLE.lock();
        let open = table
            .in_use()
            .iter_mut()
            .filter(|slot| !matches!(slot, Descriptor::Closed))
            .map(|slot| core::mem::replace(slot, Descriptor::Closed))
            .collect();
        table.end = 0;
        open
    };
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
    if let Some(Descriptor::File { offset: slot, .. }) = TABLE.lock().slots.get_mut(fd) {
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

/// Reads from descriptor `fd` at `offset` into `buffer`, leaving its offset where it is (POSIX
/// `pread`); 0 at end of file. Only a file has offsets: any other descriptor gets
/// `InvalidArgument`, as [`seek`] does.
pub fn read_at(fd: usize, offset: u64, buffer: &mut [u8]) -> Result<usize> {
    match get(fd)? {
        Descriptor::File { inode, mode, .. } => {
            if mode & mode::READ == 0 {
                return Err(Errno::BadDescriptor);
            }
            files::read_at(inode, offset, buffer)
        }
        Descriptor::Closed => Err(Errno::BadDescriptor),
        _ => Err(Errno::InvalidArgument),
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

//! The startup block: what a parent in this library OS leaves for a child it starts, in one
//! read-only page at [`STARTUP_ADDRESS`]: the arguments, the descriptors the child inherits,
//! its working directory and the capability it kills with. A program the kernel started (from
//! the boot ramdisk) has none and starts with the console on every descriptor.

use crate::descriptors::{Descriptor, INHERITED};
use crate::layout::STARTUP_ADDRESS;

/// The value of `rsi` at entry when `rdi` points at a startup block (a kernel-started program
/// gets its argument length there, which is at most `exo_abi::ARGUMENTS_MAX_BYTES`).
pub const STARTUP_TAG: u64 = 0x5354_4152_5455_5021;

/// Most bytes of arguments, NUL-separated.
pub const ARGUMENT_BYTES_MAX: usize = 2048;
/// Most bytes of the working directory's path.
pub const DIRECTORY_BYTES_MAX: usize = 1024;

/// The block itself. It is plain data: the parent fills it in a scratch page and gives the page
/// to the child.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StartupBlock {
    /// The environment id of the parent.
    pub parent: u32,
    /// The child's handle of its session capability (see `process::kill`), or 0 for none.
    pub session: u64,
    /// The descriptors it starts with (0, 1 and 2).
    pub descriptors: [Descriptor; INHERITED],
    /// Bytes used in `arguments`.
    pub arguments_len: u32,
    /// The arguments, each followed by a NUL byte; the first is the program's name.
    pub arguments: [u8; ARGUMENT_BYTES_MAX],
    /// Bytes used in `directory`.
    pub directory_len: u32,
    /// The working directory, an absolute path.
    pub directory: [u8; DIRECTORY_BYTES_MAX],
}

const _: () = assert!(core::mem::size_of::<StartupBlock>() <= 4096);

impl StartupBlock {
    /// An empty block.
    pub const fn empty() -> StartupBlock {
        StartupBlock {
            parent: 0,
            session: 0,
            descriptors: [Descriptor::Closed; INHERITED],
            arguments_len: 0,
            arguments: [0; ARGUMENT_BYTES_MAX],
            directory_len: 0,
            directory: [0; DIRECTORY_BYTES_MAX],
        }
    }

    /// Appends argument `argument`; false when it does not fit or holds a NUL.
    pub fn push_argument(&mut self, argument: &str) -> bool {
        let start = self.arguments_len as usize;
        let end = start + argument.len() + 1;
        if end > ARGUMENT_BYTES_MAX || argument.as_bytes().contains(&0) {
            return false;
        }
        self.arguments[start..end - 1].copy_from_slice(argument.as_bytes());
        self.arguments[end - 1] = 0;
        self.arguments_len = end as u32;
        true
    }

    /// Sets the working directory; false when it does not fit.
    pub fn set_directory(&mut self, path: &str) -> bool {
        let Some(slot) = self.directory.get_mut(..path.len()) else {
            return false;
        };
        slot.copy_from_slice(path.as_bytes());
        self.directory_len = path.len() as u32;
        true
    }

    /// The arguments, NUL-separated, as UTF-8.
    pub fn arguments(&self) -> &str {
        let bytes = &self.arguments[..(self.arguments_len as usize).min(ARGUMENT_BYTES_MAX)];
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// The working directory.
    pub fn directory(&self) -> &str {
        let bytes = &self.directory[..(self.directory_len as usize).min(DIRECTORY_BYTES_MAX)];
        core::str::from_utf8(bytes).unwrap_or("/")
    }
}

/// Whether `rdi` and `rsi` at entry say that the program was started with a startup block
/// (the runtime's `_start` then reads it).
pub(crate) fn is_block_at_entry(rdi: u64, rsi: u64) -> bool {
    rsi == STARTUP_TAG && rdi == STARTUP_ADDRESS
}

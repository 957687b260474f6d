//! The system-call interface of the exokernel, shared by the kernel and every library OS.
//!
//! # Register convention
//!
//! A library OS enters the kernel with the `syscall` instruction:
//!
//! | register | on entry | on return |
//! |---|---|---|
//! | `rax` | call number ([`Syscall`]) | result, encoded by [`encode_result`] |
//! | `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9` | arguments 0 to 5 | preserved |
//! | `rcx`, `r11` | — | clobbered by the hardware (return address and flags) |
//! | every other register | — | preserved |
//!
//! `r10` stands in for `rcx` as argument 3 because `syscall` overwrites `rcx`.
//!
//! # Results
//!
//! A result is one 64-bit word: a value in `0 ..= i64::MAX` means success with that value; a
//! negative word `-code` means the error [`Error`] with that code. [`decode_result`] undoes
//! [`encode_result`].
//!
//! # Program entry
//!
//! An environment starts at its ELF entry point in ring 3 with `rdi` = address and `rsi` = length
//! of its argument string (UTF-8, arguments separated by spaces), `rsp` 16-byte aligned at the
//! top of its stack, and every other register zero.
//!
//! # Versioning
//!
//! [`ABI_VERSION`] grows whenever a call changes meaning; calls are only ever added at new numbers.
#![no_std]
#![forbid(unsafe_code)]

mod error;
mod exception;
mod exit;
mod syscall;

pub use error::{Error, decode_result, encode_result};
pub use exception::{ExceptionFrame, UserRegisters, frame_offsets};
pub use exit::{ExitReason, exception_name};
pub use syscall::{BENCH_FLOOR, Syscall};

/// Version of this interface; see "Versioning" above.
pub const ABI_VERSION: u32 = 4;

/// Most bytes one [`Syscall::DebugWrite`] accepts; longer writes fail with [`Error::TooLong`].
pub const DEBUG_WRITE_MAX_BYTES: u64 = 4096;

/// Most bytes of a program name passed to [`Syscall::Spawn`].
pub const PROGRAM_NAME_MAX_BYTES: u64 = 64;

/// Most bytes of the argument string passed to [`Syscall::Spawn`].
pub const ARGUMENTS_MAX_BYTES: u64 = 1024;

/// Highest status [`Syscall::PowerOff`] accepts; QEMU reports it through isa-debug-exit.
pub const POWER_OFF_STATUS_MAX: u64 = 63;

/// Argument of [`Syscall::FrameAllocate`] asking for any free frame.
pub const FRAME_ANY: u64 = u64::MAX;

/// Rights bits of a page mapping; reading is always allowed.
pub mod page_rights {
    /// Stores are allowed.
    pub const WRITABLE: u64 = 1 << 0;
    /// Instruction fetches are allowed.
    pub const EXECUTABLE: u64 = 1 << 1;
    /// Every defined bit.
    pub const ALL: u64 = WRITABLE | EXECUTABLE;
}

/// First address above the user half of every address space (the lower canonical half).
/// User pointers and lengths must stay below it.
pub const USER_END: u64 = 0x0000_8000_0000_0000;

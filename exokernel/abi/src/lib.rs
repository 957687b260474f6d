//! The system-call interface of the exokernel, shared by the kernel and every library OS.
//!
//! # Register convention
//!
//! A library OS enters the kernel with the `syscall` instruction:
//!
//! | register | on entry | on return |
//! |---|---|---|
//! | `rax` | call number ([`Syscall`]) | result, encoded by [`encode_result`] |
//! | `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9` | arguments 0 to 5 | preserved (but the message words of [`ipc`]) |
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
//! top of its stack, and every other register zero. A spawned environment holds one capability
//! from birth: [`capability::PARENT`], over the environment that spawned it.
//!
//! An environment built by hand ([`Syscall::EnvironmentCreate`]) has no program: its parent
//! fills its address space ([`Syscall::PageMapInto`], [`Syscall::PageShare`]) and starts it with
//! [`Syscall::EnvironmentStart`], which sets `rip`, `rsp`, `rdi` and `rsi`; every other register
//! is zero. It holds [`capability::PARENT`] from birth too.
//!
//! # Versioning
//!
//! [`ABI_VERSION`] grows whenever a call changes meaning; calls are only ever added at new numbers.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod capability;
mod clock;
mod error;
mod exception;
mod exit;
pub mod filter;
pub mod ipc;
pub mod kernel_memory;
pub mod packet;
pub mod repossession;
pub mod syscall;
mod syscall_table;
pub mod upcall;

pub use clock::{CLOCK_INFO_BYTES, CivilTime, ClockInfo, days_in_month, is_leap_year};
pub use error::{Error, decode_result, encode_result};
pub use exception::{DIRECTION_FLAG, ExceptionFrame, UserRegisters, frame_offsets};
pub use exit::{ExitReason, exception_name};
pub use syscall::BENCH_FLOOR;
pub use syscall_table::{Call, Syscall, arguments, stubs};

/// Version of this interface; see "Versioning" above. 15: a filter may take its input in
/// its own memory (`filter::EXPORT_INPUT_MEMORY`). 14: [`KernelCounters`] grows
/// `halted_ticks` (32 bytes). 13: `PageCopyBatch`. 12: `PacketInject` from an environment
/// other than init reaches the caller's own filters instead of being refused. 11: `PageList`
/// lists below an end address and only bindings with the rights asked for. 10: `RegionShare`
/// takes the target's region address before its flags, `PageCopyInto`, and
/// `PageFlags::HAS_DERIVED` for a lent region.
pub const ABI_VERSION: u32 = 15;

/// Most bytes one [`Syscall::DebugWrite`] accepts; longer writes fail with [`Error::TooLong`].
pub const DEBUG_WRITE_MAX_BYTES: u64 = 4096;

/// Most bytes of a program name passed to [`Syscall::Spawn`], and of an environment's name
/// passed to [`Syscall::EnvironmentCreate`].
pub const PROGRAM_NAME_MAX_BYTES: u64 = 64;

/// Most bytes of the argument string passed to [`Syscall::Spawn`].
pub const ARGUMENTS_MAX_BYTES: u64 = 1024;

/// Highest status [`Syscall::PowerOff`] accepts; QEMU reports it through isa-debug-exit.
pub const POWER_OFF_STATUS_MAX: u64 = 63;

/// Argument of [`Syscall::FrameAllocate`] asking for any free frame.
pub const FRAME_ANY: u64 = u64::MAX;

bitflags::bitflags! {
    /// The flags of [`Syscall::Wait`]; on the wire, the [`bits`](WaitFlags::bits) of this set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct WaitFlags: u64 {
        /// When the child has not ended, fail with [`Error::Unavailable`] at once instead of
        /// blocking.
        const NO_HANG = 1 << 0;
    }
}

bitflags::bitflags! {
    /// The flags of [`Syscall::ConsoleRead`]; on the wire, the
    /// [`bits`](ConsoleReadFlags::bits) of this set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ConsoleReadFlags: u64 {
        /// Return 0 at once when no byte is buffered instead of blocking.
        const NONBLOCKING = 1 << 0;
    }
}

/// Most bytes one [`Syscall::ConsoleRead`] asks for, and how many received bytes the kernel
/// buffers while nobody reads them.
pub const CONSOLE_READ_MAX_BYTES: u64 = 4096;

bitflags::bitflags! {
    /// What a page binding allows besides reading, which every binding allows: the rights
    /// arguments of [`Syscall::PageMap`], [`Syscall::PageProtect`], [`Syscall::PageShare`] and
    /// the calls like them, and the low bits [`Syscall::PageQuery`] and [`Syscall::PageList`]
    /// report; on the wire, the [`bits`](PageRights::bits) of this set. The empty set is
    /// reading only.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct PageRights: u64 {
        /// Stores are allowed.
        const WRITABLE = 1 << 0;
        /// Instruction fetches are allowed.
        const EXECUTABLE = 1 << 1;
    }
}

bitflags::bitflags! {
    /// What [`Syscall::PageQuery`] and [`Syscall::PageList`] report about a binding beside its
    /// [`PageRights`], in the bits above them; on the wire, the [`bits`](PageFlags::bits) of
    /// this set or-ed with those of the rights.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct PageFlags: u64 {
        /// The caller owns the bound frame (a root binding, or a page shared back into the
        /// owner).
        const OWNED = 1 << 2;
        /// Some binding derived from this one by [`Syscall::PageShare`] still exists (in any
        /// address space), or another environment borrows the region of this page
        /// ([`Syscall::RegionShare`]).
        const HAS_DERIVED = 1 << 3;
        /// This binding was derived from another by [`Syscall::PageShare`]; unmapping or
        /// flushing that one removes it.
        const IS_DERIVED = 1 << 4;
    }
}

bitflags::bitflags! {
    /// The use the hardware made of a page: the bits [`Syscall::PageUsage`] reports in the low
    /// bits of a page address, and clears when asked; on the wire, the
    /// [`bits`](PageUse::bits) of this set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PageUse: u64 {
        /// The page was read or written (or executed) since the bit was last cleared.
        const ACCESSED = 1 << 0;
        /// The page was written since the bit was last cleared.
        const DIRTY = 1 << 1;
    }
}

/// Regions shared whole by [`Syscall::RegionShare`]: the span of one last-level page table.
pub mod region {
    /// Bytes in a region; a region's address is a multiple of it.
    pub const BYTES: u64 = 2 * 1024 * 1024;

    bitflags::bitflags! {
        /// The flags of [`Syscall::RegionShare`](crate::Syscall::RegionShare); on the wire, the
        /// [`bits`](ShareFlags::bits) of this set.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct ShareFlags: u64 {
            /// The borrower may write through the region where the owner's binding allows it.
            const WRITABLE = 1 << 0;
        }
    }
}

/// The CPU time-slice vector: slots of fixed length in a repeating round, owned by position.
pub mod slice {
    /// Slots in one round of the vector.
    pub const SLOTS_PER_ROUND: u64 = 16;
    /// Length of one slot.
    pub const SLOT_LENGTH_MICROSECONDS: u64 = 4_000;
    /// How long an environment has, after its epilogue upcall, to yield before the kernel
    /// preempts it and takes its next slot.
    pub const EPILOGUE_GRACE_MICROSECONDS: u64 = 400;
    /// Argument of [`Syscall::SliceAllocate`](crate::Syscall::SliceAllocate) asking for any free
    /// slot.
    pub const SLOT_ANY: u64 = u64::MAX;
    /// Slots of a round that nobody can own: they always go to the environments that own no
    /// slot (best effort), so that whatever owns slots, and whether or not it honours its
    /// epilogue, init and every other runnable environment still run.
    pub const BEST_EFFORT_SLOTS_MIN: u64 = 4;
    /// Most slots owned at once, by all environments together.
    pub const OWNED_SLOTS_MAX: u64 = SLOTS_PER_ROUND - BEST_EFFORT_SLOTS_MIN;
}

/// The least number of frames the abort protocol leaves an environment; it also keeps every
/// frame it held when it started (its image and first stack), so that it can still run its
/// handlers and recover. Page-table frames are not counted.
pub const GUARANTEED_FRAMES: usize = 64;

/// One entry of the list given to [`Syscall::PageMapBatch`], or written by
/// [`Syscall::PageList`]: 24 bytes, little-endian.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageBinding {
    /// The page-aligned user address of the page.
    pub page_address: u64,
    /// The frame (for [`Syscall::PageMapBatch`], one the caller owns).
    pub frame: u64,
    /// [`PageRights`] bits; [`Syscall::PageList`] adds the [`PageFlags`] bits.
    pub rights: u64,
}

/// Most entries one [`Syscall::PageMapBatch`] or [`Syscall::PageUnmapBatch`] takes, and most
/// frame numbers one [`Syscall::FrameList`] or bindings one [`Syscall::PageList`] writes.
pub const PAGE_BATCH_MAX: u64 = 64;

/// Argument of [`Syscall::BlockAllocate`] asking for any free block.
pub const BLOCK_ANY: u64 = u64::MAX;

/// One entry of the list given to [`Syscall::BlockRead`] and [`Syscall::BlockWrite`]: 16 bytes,
/// the block number then the page address, little-endian.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockTransfer {
    /// The disk block.
    pub block: u64,
    /// The page-aligned user address of the page it moves to or from.
    pub page_address: u64,
}

/// Most `(block, page)` pairs one [`Syscall::BlockRead`] or [`Syscall::BlockWrite`] moves.
pub const BLOCK_TRANSFERS_MAX: u64 = 64;

/// What [`Syscall::KernelCounters`] writes: what the kernel has counted since it booted, 32
/// bytes, little-endian.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Entries into the kernel from user mode that took the kernel's lock: every system call
    /// but [`Syscall::Null`] (answered without it, and not counted), every exception and
    /// every interrupt taken in user mode.
    pub entries: u64,
    /// Switches from one environment to another (each changes the address space).
    pub switches: u64,
    /// Bytes the kernel copied from or to user memory (arguments, lists, results).
    pub copied_bytes: u64,
    /// Ticks of the time-stamp counter the CPU spent halted, waiting for an interrupt: idle,
    /// or inside a call waiting for a device (the interrupt that ends each halt included).
    /// Under QEMU's `-icount` the counter passes one tick per instruction retired, but at the
    /// host's pace while the CPU halts; taking these ticks out of a span leaves the
    /// instructions the guest retired in it.
    pub halted_ticks: u64,
}

/// First address above the user half of every address space (the lower canonical half).
/// User pointers and lengths must stay below it.
pub const USER_END: u64 = 0x0000_8000_0000_0000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_flags_sit_beside_the_rights_below_the_frame() {
        assert_eq!(PageFlags::OWNED.bits(), 1 << 2);
        assert_eq!(PageFlags::HAS_DERIVED.bits(), 1 << 3);
        assert_eq!(PageFlags::IS_DERIVED.bits(), 1 << 4);
        assert_eq!(PageFlags::all().bits() & PageRights::all().bits(), 0);
        assert_eq!(
            (PageFlags::all().bits() | PageRights::all().bits()) >> 12,
            0
        );
    }

    #[test]
    fn page_rights_keep_their_wire_values() {
        assert_eq!(PageRights::WRITABLE.bits(), 1 << 0);
        assert_eq!(PageRights::EXECUTABLE.bits(), 1 << 1);
        assert_eq!(PageRights::all().bits(), 0b11);
        assert_eq!(PageRights::default(), PageRights::empty());
        assert_eq!(PageRights::from_bits(1 << 2), None);
    }

    #[test]
    fn region_share_flags_keep_their_wire_values() {
        assert_eq!(region::ShareFlags::WRITABLE.bits(), 1 << 0);
        assert_eq!(region::ShareFlags::all().bits(), 1 << 0);
        assert_eq!(region::ShareFlags::from_bits(1 << 1), None);
    }

    #[test]
    fn page_use_keeps_its_wire_values() {
        assert_eq!(PageUse::ACCESSED.bits(), 1 << 0);
        assert_eq!(PageUse::DIRTY.bits(), 1 << 1);
        assert_eq!(PageUse::all().bits(), 0b11);
        assert_eq!(PageUse::from_bits(1 << 2), None);
    }

    #[test]
    fn new_flags_and_rights_are_single_defined_bits() {
        assert_eq!(WaitFlags::NO_HANG.bits(), 1 << 0);
        assert_eq!(WaitFlags::all().bits(), 1 << 0);
        assert_eq!(ConsoleReadFlags::NONBLOCKING.bits(), 1 << 0);
        assert_eq!(ConsoleReadFlags::all().bits(), 1 << 0);
        assert!(capability::Rights::ALL.contains(capability::Rights::CONTROL));
        assert_eq!(capability::Rights::ALL.bits().count_ones(), 5);
    }
}

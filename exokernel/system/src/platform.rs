//! What the kernel needs from the machine it runs on, as one trait: the kernel's logic (every
//! system call, trap and slot decision in this crate) is generic over it, so that it runs on the
//! PC the `exokernel` crate drives and, for host tests, on a fake that records what was asked
//! of it (`fake`).
//!
//! Every function is an associated function: there is one machine, and a kernel built for it
//! reaches it from anywhere, as the hardware code always could.

use core::fmt;
use exo_abi::{Error, ExceptionFrame, PageRights, PageUse};
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner, FrameTable};

/// The kind of access a user page must allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// One present entry of a user half, as found by [`AddressSpace::walk_user_half`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserEntry {
    /// A page-table page.
    Table(FrameNumber),
    /// A leaf: the page at `page_address` binds `frame`.
    Leaf {
        page_address: u64,
        frame: FrameNumber,
        rights: PageRights,
    },
    /// The region at `region_address` is borrowed: its last-level table is `table`, another
    /// environment's (not walked here: it is checked with its owner).
    Borrowed {
        region_address: u64,
        table: FrameNumber,
        is_writable: bool,
    },
}

/// An environment's page table: the MMU's copy of its bindings.
pub trait AddressSpace: Sized + fmt::Debug {
    /// A new address space for `owner`, its page-table frames charged to it; `NoMemory` when no
    /// frame is free.
    fn new(owner: EnvId, frames: &mut FrameTable) -> Result<Self, Error>;
    /// Maps the user page at `page_address` to `frame` with `rights`, creating page-table
    /// pages charged to the owner. The caller has checked the frame and the address. Fails with
    /// `NoMemory`, having changed nothing, when the page-table pages it needs are not free, and
    /// with `Occupied` when the page lies in a borrowed region (whose table is another's).
    fn map(
        &mut self,
        page_address: u64,
        frame: FrameNumber,
        rights: PageRights,
        frames: &mut FrameTable,
    ) -> Result<(), Error>;
    /// Removes the mapping of `page_address`, if any, and any stale translation of it, in every
    /// space that borrows its region. Never reaches into a borrowed region.
    fn unmap(&mut self, page_address: u64);
    /// Changes the rights of the mapped page at `page_address`.
    fn set_rights(&mut self, page_address: u64, rights: PageRights);
    /// The hardware's [`exo_abi::PageUse`] bits of the page bound at `page_address` in this
    /// space's own tables (0 when none is, or when the page lies in a borrowed region); then
    /// clears those of them in `clear`, dropping the page's translation so that the hardware
    /// sets them again at its next use.
    fn take_usage(&mut self, page_address: u64, clear: PageUse) -> PageUse;
    /// The frame behind user address `address` if it is mapped for `access`.
    fn translate_user(&self, address: u64, access: Access) -> Option<FrameNumber>;
    /// Calls `visit` with every present entry of the user half, tables before what they map.
    fn walk_user_half(&self, visit: &mut dyn FnMut(UserEntry));
    /// The last-level table of the region at `region_address`, this space's own or borrowed;
    /// `None` when nothing was ever bound there.
    fn region_table(&self, region_address: u64) -> Option<FrameNumber>;
    /// Binds `table`, another space's last-level table, as this space's region at
    /// `region_address`, writable or not, creating the upper tables charged to the owner of
    /// this space. Fails with `Occupied` when this space has a table there already, and with
    /// `NoMemory`, having changed nothing, when the upper tables cannot be allocated.
    fn borrow_region(
        &mut self,
        region_address: u64,
        table: FrameNumber,
        is_writable: bool,
        frames: &mut FrameTable,
    ) -> Result<(), Error>;
    /// Unbinds the region borrowed at `region_address`, and every stale translation of it.
    fn return_region(&mut self, region_address: u64);
    /// Makes this the address space user memory is reached through.
    fn activate(&self);
}

/// Which way [`Platform::copy_user_and_frame`] copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameCopy {
    UserToFrame,
    FrameToUser,
}

/// Why a disk transfer failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFailure {
    /// A block lies past the end of the disk; nothing was moved.
    OutOfRange,
    /// The device refused or failed the request.
    Failed,
}

/// Which way a disk transfer moves data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskDirection {
    /// Block to frame.
    Read,
    /// Frame to block.
    Write,
}

/// The machine under the kernel.
pub trait Platform: 'static {
    /// An environment's page table.
    type AddressSpace: AddressSpace;

    /// The code and stack segment selectors of user mode.
    const USER_CODE_SELECTOR: u64;
    const USER_DATA_SELECTOR: u64;

    /// Switches to the kernel's own page table (no user half), before an address space's
    /// frames are freed.
    fn activate_kernel_root();
    /// Runs `access` on the contents of frame `frame`.
    fn with_frame_page<T>(frame: FrameNumber, access: impl FnOnce(&mut [u8; 4096]) -> T) -> T;
    /// A zeroed frame charged to `owner`; `NoMemory` when none is free.
    fn allocate_zeroed(frames: &mut FrameTable, owner: FrameOwner) -> Result<FrameNumber, Error> {
        let frame = frames
            .allocate(owner)
            .ok()
            .flatten()
            .ok_or(Error::NoMemory)?;
        Self::with_frame_page(frame, |page| page.fill(0));
        Ok(frame)
    }
    /// Copies `bytes.len()` bytes of `frame` from `offset` into `bytes` (within the frame).
    fn read_frame(frame: FrameNumber, offset: usize, bytes: &mut [u8]) {
        Self::with_frame_page(frame, |page| {
            bytes.copy_from_slice(&page[offset..offset + bytes.len()]);
        });
    }
    /// Copies `bytes` into `frame` at `offset` (within the frame).
    fn write_frame(frame: FrameNumber, offset: usize, bytes: &[u8]) {
        Self::with_frame_page(frame, |page| {
            page[offset..offset + bytes.len()].copy_from_slice(bytes);
        });
    }

    /// Copies user memory at `address` into `buffer`, through the active address space; every
    /// page of the range has been checked mapped readable there.
    fn read_user(address: u64, buffer: &mut [u8]);
    /// Copies `bytes` to user memory at `address`, through the active address space; every page
    /// of the range has been checked mapped writable there.
    fn write_user(address: u64, bytes: &[u8]);
    /// Writes `frame` to user memory at `address` as [`write_user`](Self::write_user) would
    /// write its bytes (`repr(C)`, every field a little-endian `u64`); a platform that can
    /// store the fields straight from registers overrides it.
    fn write_user_frame(address: u64, frame: &ExceptionFrame) {
        Self::write_user(address, &frame_bytes(frame));
    }

    /// Copies `length` bytes between user memory at `address`, through the active address
    /// space, and frame `frame` from `offset` (within the frame), the way `direction` says;
    /// every page of the user range has been checked mapped for it. The two may be the same
    /// memory (a page the other side shares): the bytes are then meaningless, never anything
    /// worse.
    fn copy_user_and_frame(
        address: u64,
        frame: FrameNumber,
        offset: usize,
        length: usize,
        direction: FrameCopy,
    );

    /// Microseconds since boot.
    fn now_microseconds() -> u64;
    /// The time-stamp counter's rate and the real-time clock's reading at boot.
    fn clock_info() -> exo_abi::ClockInfo;
    /// Arms the one-shot timer to interrupt after `microseconds`.
    fn interrupt_after(microseconds: u64);
    /// Waits, interrupts enabled, until an interrupt has come.
    /// Waits, interrupts enabled, until an interrupt has come; counts the time it halted
    /// ([`crate::counters::note_halted`]).
    fn wait_for_interrupt();
    /// The address of the last page fault.
    fn faulting_address() -> u64;

    /// Writes bytes to the kernel console, as they are.
    fn write_console(bytes: &[u8]);
    /// Writes formatted text to the kernel console.
    fn print(arguments: fmt::Arguments) {
        struct Console<P: ?Sized>(core::marker::PhantomData<P>);
        impl<P: Platform + ?Sized> fmt::Write for Console<P> {
            fn write_str(&mut self, text: &str) -> fmt::Result {
                P::write_console(text.as_bytes());
                Ok(())
            }
        }
        let _ = fmt::Write::write_fmt(&mut Console::<Self>(core::marker::PhantomData), arguments);
    }
    /// A byte typed on the console, if one is waiting.
    fn console_byte() -> Option<u8>;

    /// The number of blocks of the disk, or `None` without one.
    fn disk_blocks() -> Option<u64>;
    /// Moves each `(block, frame)` pair; `None` without a disk.
    fn disk_transfer(
        direction: DiskDirection,
        transfers: &[(u64, FrameNumber)],
    ) -> Option<Result<(), DiskFailure>>;
    /// Makes every completed disk write durable; `None` without a disk.
    fn disk_flush() -> Option<Result<(), DiskFailure>>;

    /// Whether there is a network device.
    fn net_is_present() -> bool;
    /// Sends an Ethernet frame; `None` without a device, `Some(false)` when it failed.
    fn net_send(frame: &[u8]) -> Option<bool>;
    /// Hands the frames the network device has received, up to a bounded batch, to `deliver`,
    /// never waiting; returns whether none is left (true without a device). While frames are
    /// left the device raises no interrupt for them: the caller calls again when it may.
    fn net_receive(deliver: &mut dyn FnMut(&[u8])) -> bool;

    /// Bytes of kernel heap in use.
    fn heap_in_use() -> usize;
    /// Ends the machine with `status` (QEMU reports it).
    fn power_off(status: u8) -> !;
}

/// Prints a line to the kernel console of platform `P`.
#[macro_export]
macro_rules! kprintln {
    ($platform:ty, $($argument:tt)*) => {
        <$platform as $crate::platform::Platform>::print(format_args!("{}\n", format_args!($($argument)*)))
    };
}

/// The bytes of `frame` as the user sees them.
fn frame_bytes(frame: &ExceptionFrame) -> [u8; core::mem::size_of::<ExceptionFrame>()] {
    let r = &frame.registers;
    let words = [
        frame.vector,
        frame.error_code,
        frame.fault_address,
        r.rax,
        r.rbx,
        r.rcx,
        r.rdx,
        r.rsi,
        r.rdi,
        r.rbp,
        r.r8,
        r.r9,
        r.r10,
        r.r11,
        r.r12,
        r.r13,
        r.r14,
        r.r15,
        r.rip,
        r.rflags,
        r.rsp,
    ];
    let mut bytes = [0u8; core::mem::size_of::<ExceptionFrame>()];
    for (chunk, word) in bytes.as_chunks_mut::<8>().0.iter_mut().zip(words) {
        *chunk = word.to_le_bytes();
    }
    bytes
}

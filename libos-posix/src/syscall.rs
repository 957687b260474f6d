//! Typed wrappers of the kernel's system calls (see `exo_abi::Syscall` for each call's
//! contract), and the raw `syscall` instruction below them.

use core::arch::asm;
use exo_abi::{Error, ExitReason, Syscall, decode_result};

/// Makes system call `number` with up to six arguments and returns the raw result word.
/// Public so that tests can pass arguments no typed wrapper would.
#[inline(always)]
pub fn raw(number: u64, arguments: [u64; 6]) -> u64 {
    let result;
    // SAFETY: the kernel preserves every register but rax (the result), rcx and r11 (the
    // hardware's), and reads user memory only after checking it; the stack is untouched.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number => result,
            in("rdi") arguments[0],
            in("rsi") arguments[1],
            in("rdx") arguments[2],
            in("r10") arguments[3],
            in("r8") arguments[4],
            in("r9") arguments[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}

fn call(call: Syscall, arguments: [u64; 6]) -> Result<u64, Error> {
    decode_result(raw(call.number(), arguments))
}

/// Enters and leaves the kernel doing nothing.
#[inline(always)]
pub fn null() {
    raw(Syscall::Null.number(), [0; 6]);
}

/// Writes `bytes` (at most `exo_abi::DEBUG_WRITE_MAX_BYTES`) to the kernel console.
pub fn debug_write(bytes: &[u8]) -> Result<usize, Error> {
    call(
        Syscall::DebugWrite,
        [bytes.as_ptr() as u64, bytes.len() as u64, 0, 0, 0, 0],
    )
    .map(|n| n as usize)
}

/// Ends this environment with `status`.
pub fn exit(status: u32) -> ! {
    raw(Syscall::Exit.number(), [u64::from(status), 0, 0, 0, 0, 0]);
    unreachable!("the kernel does not return from exit")
}

/// Lets every other runnable environment run once.
pub fn yield_now() {
    raw(Syscall::Yield.number(), [0; 6]);
}

/// This environment's id.
pub fn environment_id() -> u32 {
    call(Syscall::EnvironmentId, [0; 6]).unwrap_or(0) as u32
}

/// Powers the machine off with `status` (init only).
pub fn power_off(status: u32) -> Error {
    match call(Syscall::PowerOff, [u64::from(status), 0, 0, 0, 0, 0]) {
        Ok(_) => unreachable!("the kernel does not return from a successful power-off"),
        Err(error) => error,
    }
}

/// A handle to a capability this environment holds over another (see `exo_abi::capability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability(pub u64);

impl Capability {
    /// Names this environment itself.
    pub const SELF: Capability = Capability(exo_abi::capability::SELF);
    /// The capability over the parent every spawned environment holds from birth.
    pub const PARENT: Capability = Capability(exo_abi::capability::PARENT);
}

/// Starts ramdisk program `name` with argument string `args`; returns a capability with every
/// right over it.
pub fn spawn(name: &str, args: &str) -> Result<Capability, Error> {
    let arguments = [
        name.as_ptr() as u64,
        name.len() as u64,
        args.as_ptr() as u64,
        args.len() as u64,
        0,
        0,
    ];
    call(Syscall::Spawn, arguments).map(Capability)
}

/// Waits for `child` to end, reaps it and returns how it ended; the capability goes with it.
pub fn wait(child: Capability) -> Result<ExitReason, Error> {
    let word = call(Syscall::Wait, [child.0, 0, 0, 0, 0, 0])?;
    ExitReason::decode(word).ok_or(Error::Unrecognized)
}

/// How many physical frames are free.
pub fn free_frames() -> u64 {
    call(Syscall::FreeFrames, [0; 6]).unwrap_or(0)
}

/// Allocates frame `frame` by physical name, or any free frame for `None`; returns its number.
pub fn frame_allocate(frame: Option<u64>) -> Result<u64, Error> {
    let frame = frame.unwrap_or(exo_abi::FRAME_ANY);
    call(Syscall::FrameAllocate, [frame, 0, 0, 0, 0, 0])
}

/// Frees a frame this environment owns (every mapping of it goes too).
pub fn frame_free(frame: u64) -> Result<(), Error> {
    call(Syscall::FrameFree, [frame, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Binds the page at `address` to `frame` with `exo_abi::page_rights` bits `rights`.
pub fn page_map(address: u64, frame: u64, rights: u64) -> Result<(), Error> {
    call(Syscall::PageMap, [address, frame, rights, 0, 0, 0]).map(|_| ())
}

/// Removes the binding at `address` (and every binding derived from it).
pub fn page_unmap(address: u64) -> Result<(), Error> {
    call(Syscall::PageUnmap, [address, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Sets the rights of the binding at `address`.
pub fn page_protect(address: u64, rights: u64) -> Result<(), Error> {
    call(Syscall::PageProtect, [address, rights, 0, 0, 0, 0]).map(|_| ())
}

/// The frame and rights bound at `address`.
pub fn page_query(address: u64) -> Result<(u64, u64), Error> {
    call(Syscall::PageQuery, [address, 0, 0, 0, 0, 0]).map(|word| (word >> 12, word & 0xFFF))
}

/// Shares this environment's binding at `address` into `target`'s address space at
/// `target_address`, with rights within this binding's.
pub fn page_share(
    address: u64,
    target: Capability,
    target_address: u64,
    rights: u64,
) -> Result<(), Error> {
    let arguments = [address, target.0, target_address, rights, 0, 0];
    call(Syscall::PageShare, arguments).map(|_| ())
}

/// Removes every binding derived from this environment's binding at `address`.
pub fn page_flush(address: u64) -> Result<(), Error> {
    call(Syscall::PageFlush, [address, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Gives frame `frame` to `target`.
pub fn frame_grant(frame: u64, target: Capability) -> Result<(), Error> {
    call(Syscall::FrameGrant, [frame, target.0, 0, 0, 0, 0]).map(|_| ())
}

/// Takes the slot at `position` of the time-slice vector, or any free slot for `None`; returns
/// its position.
pub fn slice_allocate(position: Option<u64>) -> Result<u64, Error> {
    let position = position.unwrap_or(exo_abi::slice::SLOT_ANY);
    call(Syscall::SliceAllocate, [position, 0, 0, 0, 0, 0])
}

/// Frees this environment's slot at `position`.
pub fn slice_free(position: u64) -> Result<(), Error> {
    call(Syscall::SliceFree, [position, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Chooses the kernel events delivered to the exception handler (`exo_abi::upcall::enable`
/// bits).
pub fn set_upcalls(enabled: u64) -> Result<(), Error> {
    call(Syscall::SetUpcalls, [enabled, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Gives the rest of the current slot to environment `target`.
pub fn yield_to(target: u32) -> Result<(), Error> {
    call(Syscall::YieldTo, [u64::from(target), 0, 0, 0, 0, 0]).map(|_| ())
}

/// Blocks for at least `microseconds`, or until an upcall is posted.
pub fn sleep(microseconds: u64) {
    raw(Syscall::Sleep.number(), [microseconds, 0, 0, 0, 0, 0]);
}

/// Makes this environment's page at `address` its repossession vector (`0`: none).
pub fn set_repossession_vector(address: u64) -> Result<(), Error> {
    call(Syscall::SetRepossessionVector, [address, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Asks `target` to give back `count` resources of `kind` within `deadline_microseconds`.
pub fn revoke(
    target: Capability,
    kind: exo_abi::repossession::ResourceKind,
    count: u64,
    deadline_microseconds: u64,
) -> Result<(), Error> {
    let arguments = [target.0, kind.code(), count, deadline_microseconds, 0, 0];
    call(Syscall::Revoke, arguments).map(|_| ())
}

/// How many resources of `kind` `target` still owes; `Err(NotFound)` once no request is
/// outstanding.
pub fn revocation_query(
    target: Capability,
    kind: exo_abi::repossession::ResourceKind,
) -> Result<u64, Error> {
    call(
        Syscall::RevocationQuery,
        [target.0, kind.code(), 0, 0, 0, 0],
    )
}

/// Loads a downloaded filter (WebAssembly bytes, see `exo_abi::filter`); returns its id.
pub fn filter_load(module: &[u8]) -> Result<u64, Error> {
    let arguments = [module.as_ptr() as u64, module.len() as u64, 0, 0, 0, 0];
    call(Syscall::FilterLoad, arguments)
}

/// Unloads filter `id`.
pub fn filter_unload(id: u64) -> Result<(), Error> {
    call(Syscall::FilterUnload, [id, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Binds filter `id` to packet receive with the ring at `ring_address` of `slots` slot pages
/// (see `exo_abi::packet`; `net::ReceiveRing` sets one up).
pub fn packet_bind(id: u64, ring_address: u64, slots: u64) -> Result<(), Error> {
    call(Syscall::PacketBind, [id, ring_address, slots, 0, 0, 0]).map(|_| ())
}

/// Sends an Ethernet frame.
pub fn packet_send(frame: &[u8]) -> Result<(), Error> {
    let arguments = [frame.as_ptr() as u64, frame.len() as u64, 0, 0, 0, 0];
    call(Syscall::PacketSend, arguments).map(|_| ())
}

/// Runs the receive path on `frame` as if it had arrived (init only); returns whether a filter
/// claimed it.
pub fn packet_inject(frame: &[u8]) -> Result<bool, Error> {
    let arguments = [frame.as_ptr() as u64, frame.len() as u64, 0, 0, 0, 0];
    call(Syscall::PacketInject, arguments).map(|claimed| claimed == 1)
}

/// Sleeps until filter `id`, run over the `len` bytes at `address` (in one bound page, which
/// another environment may write), matches; an upcall or a frame may wake it early.
pub fn sleep_until(id: u64, address: u64, len: u64) -> Result<(), Error> {
    let arguments = [id, address, len, 0, 0, 0];
    call(Syscall::SleepUntil, arguments).map(|_| ())
}

/// Gives `receiver` a copy of `capability` with `rights` (`exo_abi::capability::rights`
/// bits, within the original's); returns the copy's handle in the receiver's table.
pub fn capability_copy(
    capability: Capability,
    rights: u64,
    receiver: Capability,
) -> Result<Capability, Error> {
    let arguments = [capability.0, rights, receiver.0, 0, 0, 0];
    call(Syscall::CapabilityCopy, arguments).map(Capability)
}

/// Drops `capability`; its handle never works again.
pub fn capability_drop(capability: Capability) -> Result<(), Error> {
    call(Syscall::CapabilityDrop, [capability.0, 0, 0, 0, 0, 0]).map(|_| ())
}

/// The id of the environment `capability` names, and its rights.
pub fn capability_inspect(capability: Capability) -> Result<(u32, u64), Error> {
    let word = call(Syscall::CapabilityInspect, [capability.0, 0, 0, 0, 0, 0])?;
    Ok((word as u32, word >> 32))
}

/// Binds this environment to the durable owner of disk blocks named by `credential`; returns
/// whether that owner was created now.
pub fn block_credential(credential: &[u8; 16]) -> Result<bool, Error> {
    call(
        Syscall::BlockCredential,
        [credential.as_ptr() as u64, 0, 0, 0, 0, 0],
    )
    .map(|created| created == 1)
}

/// Allocates disk block `block`, or any free block for `None`; returns its number.
pub fn block_allocate(block: Option<u64>) -> Result<u64, Error> {
    let block = block.unwrap_or(exo_abi::BLOCK_ANY);
    call(Syscall::BlockAllocate, [block, 0, 0, 0, 0, 0])
}

/// Frees disk block `block`.
pub fn block_free(block: u64) -> Result<(), Error> {
    call(Syscall::BlockFree, [block, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Reads each transfer's block into its page.
pub fn block_read(transfers: &[exo_abi::BlockTransfer]) -> Result<(), Error> {
    let arguments = [
        transfers.as_ptr() as u64,
        transfers.len() as u64,
        0,
        0,
        0,
        0,
    ];
    call(Syscall::BlockRead, arguments).map(|_| ())
}

/// Writes each transfer's page to its block.
pub fn block_write(transfers: &[exo_abi::BlockTransfer]) -> Result<(), Error> {
    let arguments = [
        transfers.as_ptr() as u64,
        transfers.len() as u64,
        0,
        0,
        0,
        0,
    ];
    call(Syscall::BlockWrite, arguments).map(|_| ())
}

/// Makes every completed block write durable.
pub fn block_flush() -> Result<(), Error> {
    call(Syscall::BlockFlush, [0; 6]).map(|_| ())
}

/// Binds every page of `bindings`, all or none.
pub fn page_map_batch(bindings: &[exo_abi::PageBinding]) -> Result<(), Error> {
    let arguments = [bindings.as_ptr() as u64, bindings.len() as u64, 0, 0, 0, 0];
    call(Syscall::PageMapBatch, arguments).map(|_| ())
}

/// Unbinds every page address of `addresses`, all or none.
pub fn page_unmap_batch(addresses: &[u64]) -> Result<(), Error> {
    let arguments = [
        addresses.as_ptr() as u64,
        addresses.len() as u64,
        0,
        0,
        0,
        0,
    ];
    call(Syscall::PageUnmapBatch, arguments).map(|_| ())
}

/// Writes the frames this environment owns, in acquisition order from position `first`, into
/// `buffer`; returns how many it wrote.
pub fn frame_list(buffer: &mut [u64], first: u64) -> Result<usize, Error> {
    let arguments = [
        buffer.as_mut_ptr() as u64,
        buffer.len() as u64,
        first,
        0,
        0,
        0,
    ];
    call(Syscall::FrameList, arguments).map(|count| count as usize)
}

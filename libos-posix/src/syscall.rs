//! Typed wrappers of the kernel's system calls (see `exo_abi::Syscall` for each call's
//! contract) over the stubs the call table generates (`exo_abi::stubs`), and the `syscall`
//! instruction below them (`runtime::syscall_instruction`). The calls that bind pages also note
//! whether they may make the program's code writable (`runtime::image::note_binding`), which
//! fork asks.

use crate::runtime::image;

use exo_abi::capability::Rights;
use exo_abi::ipc::{CopyFlags, GrantFlags, LendFlags, Message, ReplyAndWaitFlags};
use exo_abi::region::ShareFlags;
use exo_abi::syscall::Trap;
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, ExitReason, stubs};
use exo_abi::{PageFlags, PageRights, PageUse};

/// Public so that tests can pass arguments no typed wrapper would.
pub use crate::runtime::syscall_instruction::raw;

/// The `syscall` instruction, for the generated stubs.
pub struct Kernel;

impl Trap for Kernel {
    #[inline(always)]
    fn syscall(number: u64, arguments: [u64; 6]) -> u64 {
        raw(number, arguments)
    }

    #[inline(always)]
    fn syscall_with_message(number: u64, arguments: [u64; 6]) -> (u64, Message) {
        crate::runtime::syscall_instruction::raw_with_message(number, arguments)
    }
}

/// Enters and leaves the kernel doing nothing.
#[inline(always)]
pub fn null() {
    let _ = stubs::null::<Kernel>();
}

/// Writes `bytes` (at most `exo_abi::DEBUG_WRITE_MAX_BYTES`) to the kernel console.
pub fn debug_write(bytes: &[u8]) -> Result<usize, Error> {
    stubs::debug_write::<Kernel>(bytes.as_ptr() as u64, bytes.len() as u64).map(|n| n as usize)
}

/// Ends this environment with `status`.
pub fn exit(status: u32) -> ! {
    let _ = stubs::exit::<Kernel>(u64::from(status));
    unreachable!("the kernel does not return from exit")
}

/// Lets every other runnable environment run once.
pub fn yield_now() {
    let _ = stubs::yield_now::<Kernel>();
}

/// This environment's id.
pub fn environment_id() -> u32 {
    stubs::environment_id::<Kernel>().unwrap_or(0) as u32
}

/// Powers the machine off with `status` (init only).
pub fn power_off(status: u32) -> Error {
    match stubs::power_off::<Kernel>(u64::from(status)) {
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
    stubs::spawn::<Kernel>(
        name.as_ptr() as u64,
        name.len() as u64,
        args.as_ptr() as u64,
        args.len() as u64,
    )
    .map(Capability)
}

/// Waits for `child` to end, reaps it and returns how it ended; the capability goes with it.
pub fn wait(child: Capability) -> Result<ExitReason, Error> {
    let word = stubs::wait::<Kernel>(child.0, 0)?;
    ExitReason::decode(word).ok_or(Error::Unrecognized)
}

/// Reaps `child` if it has ended and returns how (the capability goes with it); `None`, at
/// once and keeping the capability, while it has not ended.
pub fn try_wait(child: Capability) -> Result<Option<ExitReason>, Error> {
    match stubs::wait::<Kernel>(child.0, exo_abi::WaitFlags::NO_HANG.bits()) {
        Ok(word) => ExitReason::decode(word)
            .map(Some)
            .ok_or(Error::Unrecognized),
        Err(Error::Unavailable) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Creates an environment named `name` with an empty address space, not running; returns a
/// capability with every right over it. Fill it with [`frame_grant`] and [`page_map_into`] (or
/// [`page_share`]), then [`start_environment`] it.
pub fn create_environment(name: &str) -> Result<Capability, Error> {
    stubs::environment_create::<Kernel>(name.as_ptr() as u64, name.len() as u64).map(Capability)
}

/// Starts `environment`, made by [`create_environment`], at `rip` with stack pointer `rsp` and
/// `rdi`, `rsi` as its first two argument registers; every other register is zero (needs
/// `exo_abi::capability::Rights::CONTROL`).
pub fn start_environment(
    environment: Capability,
    rip: u64,
    rsp: u64,
    rdi: u64,
    rsi: u64,
) -> Result<(), Error> {
    stubs::environment_start::<Kernel>(environment.0, rip, rsp, rdi, rsi).map(|_| ())
}

/// Kills environment `id`, which must be the one `subtree` names or one of its living
/// descendants (0: the one `subtree` names); needs `exo_abi::capability::Rights::CONTROL`.
/// Killing this environment itself does not return.
pub fn kill_environment(subtree: Capability, id: u32) -> Result<(), Error> {
    stubs::environment_kill::<Kernel>(subtree.0, u64::from(id)).map(|_| ())
}

/// How many physical frames are free.
pub fn free_frames() -> u64 {
    stubs::free_frames::<Kernel>().unwrap_or(0)
}

/// The bytes of kernel heap charged to the environment `target` names
/// ([`Capability::SELF`] for this one).
pub fn kernel_memory(target: Capability) -> Result<u64, Error> {
    stubs::kernel_memory::<Kernel>(target.0)
}

/// Allocates frame `frame` by physical name, or any free frame for `None`; returns its number.
pub fn frame_allocate(frame: Option<u64>) -> Result<u64, Error> {
    let frame = frame.unwrap_or(exo_abi::FRAME_ANY);
    stubs::frame_allocate::<Kernel>(frame)
}

/// Frees a frame this environment owns (every mapping of it goes too).
pub fn frame_free(frame: u64) -> Result<(), Error> {
    stubs::frame_free::<Kernel>(frame).map(|_| ())
}

/// Binds the page at `address` to `frame` with `rights`.
pub fn page_map(address: u64, frame: u64, rights: PageRights) -> Result<(), Error> {
    image::note_binding(address, rights);
    stubs::page_map::<Kernel>(address, frame, rights.bits()).map(|_| ())
}

/// Removes the binding at `address` (and every binding derived from it).
pub fn page_unmap(address: u64) -> Result<(), Error> {
    stubs::page_unmap::<Kernel>(address).map(|_| ())
}

/// Sets the rights of the binding at `address`.
pub fn page_protect(address: u64, rights: PageRights) -> Result<(), Error> {
    image::note_binding(address, rights);
    stubs::page_protect::<Kernel>(address, rights.bits()).map(|_| ())
}

/// What the kernel says about one of this environment's bindings (`exo_abi::Syscall::PageQuery`,
/// `exo_abi::Syscall::PageList`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageInfo {
    /// The bound frame.
    pub frame: u64,
    /// What it allows besides reading.
    pub rights: PageRights,
    /// This environment owns the frame.
    pub is_owned: bool,
    /// Bindings derived from this one (by [`page_share`]) exist.
    pub has_derived: bool,
    /// This binding was derived from another's.
    pub is_derived: bool,
}

impl PageInfo {
    /// Decodes the frame and the [`PageRights`] and [`PageFlags`] bits.
    pub fn new(frame: u64, bits: u64) -> PageInfo {
        let flags = PageFlags::from_bits_truncate(bits);
        PageInfo {
            frame,
            rights: PageRights::from_bits_truncate(bits),
            is_owned: flags.contains(PageFlags::OWNED),
            has_derived: flags.contains(PageFlags::HAS_DERIVED),
            is_derived: flags.contains(PageFlags::IS_DERIVED),
        }
    }

    /// Decodes a `PageQuery` result, `frame << 12 | bits`.
    pub fn from_word(word: u64) -> PageInfo {
        PageInfo::new(word >> 12, word & 0xFFF)
    }

    /// Decodes one record of [`page_list`].
    pub fn from_binding(binding: &exo_abi::PageBinding) -> PageInfo {
        PageInfo::new(binding.frame, binding.rights)
    }
}

/// What is bound at `address`.
pub fn page_query(address: u64) -> Result<PageInfo, Error> {
    stubs::page_query::<Kernel>(address).map(PageInfo::from_word)
}

/// Binds `frame`, which `target` owns (given with [`frame_grant`]), at `address` of `target`'s
/// address space with `rights` (needs
/// `exo_abi::capability::Rights::SHARE`).
pub fn page_map_into(
    target: Capability,
    address: u64,
    frame: u64,
    rights: PageRights,
) -> Result<(), Error> {
    image::note_binding(address, rights);
    stubs::page_map_into::<Kernel>(target.0, address, frame, rights.bits()).map(|_| ())
}

/// Writes this environment's bindings at page addresses in `range`, in address order, into
/// `buffer` (each `rights` holding [`PageRights`] and [`PageFlags`] bits; see
/// [`PageInfo::from_binding`]), at most `exo_abi::PAGE_BATCH_MAX` at a time; returns how many
/// it wrote, fewer than asked once there are no more in `range`.
pub fn page_list(
    buffer: &mut [exo_abi::PageBinding],
    range: core::ops::Range<u64>,
) -> Result<usize, Error> {
    page_list_with_rights(buffer, range, PageRights::empty())
}

/// As [`page_list`], only the bindings whose rights include all of `rights`.
pub fn page_list_with_rights(
    buffer: &mut [exo_abi::PageBinding],
    range: core::ops::Range<u64>,
    rights: PageRights,
) -> Result<usize, Error> {
    stubs::page_list::<Kernel>(
        buffer.as_mut_ptr() as u64,
        buffer.len() as u64,
        range.start,
        range.end,
        rights.bits(),
    )
    .map(|count| count as usize)
}

/// The hardware's use of this environment's own bindings in `range`: writes to `buffer`, in
/// address order, one word per page read or written since its bits were last cleared (the
/// page address with `exo_abi::PageUse` bits in its low bits), at most
/// `exo_abi::PAGE_BATCH_MAX` at a time, then clears the `clear` bits of the pages reported.
/// Returns how many it wrote, fewer than `buffer` holds once there are no more in `range`.
pub fn page_usage(
    buffer: &mut [u64],
    range: core::ops::Range<u64>,
    clear: PageUse,
) -> Result<usize, Error> {
    stubs::page_usage::<Kernel>(
        buffer.as_mut_ptr() as u64,
        buffer.len() as u64,
        range.start,
        range.end,
        clear.bits(),
    )
    .map(|count| count as usize)
}

/// Shares this environment's view of the region at `address` (a multiple of
/// [`exo_abi::region::BYTES`]) into `target` at the same address, as one binding: `target` sees
/// every page the region's owner binds there, writable where the owner's binding is when
/// `flags` has [`ShareFlags::WRITABLE`].
pub fn region_share(address: u64, target: Capability, flags: ShareFlags) -> Result<(), Error> {
    region_share_at(address, target, address, flags)
}

/// As [`region_share`], `target` seeing the region at `target_address` (another multiple of
/// [`exo_abi::region::BYTES`]).
pub fn region_share_at(
    address: u64,
    target: Capability,
    target_address: u64,
    flags: ShareFlags,
) -> Result<(), Error> {
    if flags.contains(ShareFlags::WRITABLE) {
        image::note_binding(target_address, PageRights::WRITABLE);
    }
    stubs::region_share::<Kernel>(address, target.0, target_address, flags.bits()).map(|_| ())
}

/// Shares this environment's binding at `address` into `target`'s address space at
/// `target_address`, with rights within this binding's.
pub fn page_share(
    address: u64,
    target: Capability,
    target_address: u64,
    rights: PageRights,
) -> Result<(), Error> {
    image::note_binding(target_address, rights);
    stubs::page_share::<Kernel>(address, target.0, target_address, rights.bits()).map(|_| ())
}

/// Copies this environment's page at `address` into a fresh frame of the environment `target`
/// names, bound there at `target_address` with `rights`; returns the frame.
pub fn page_copy_into(
    address: u64,
    target: Capability,
    target_address: u64,
    rights: PageRights,
) -> Result<u64, Error> {
    image::note_binding(target_address, rights);
    stubs::page_copy_into::<Kernel>(address, target.0, target_address, rights.bits())
}

/// Copies each of this environment's pages at `addresses` into a fresh frame of the
/// environment `target` names, bound there at the same address with `rights`: all or none, at
/// most `exo_abi::PAGE_BATCH_MAX` at a time.
pub fn page_copy_batch(
    target: Capability,
    addresses: &[u64],
    rights: PageRights,
) -> Result<(), Error> {
    for &address in addresses {
        image::note_binding(address, rights);
    }
    stubs::page_copy_batch::<Kernel>(
        target.0,
        addresses.as_ptr() as u64,
        addresses.len() as u64,
        rights.bits(),
    )
    .map(|_| ())
}

/// Removes every binding derived from this environment's binding at `address`.
pub fn page_flush(address: u64) -> Result<(), Error> {
    stubs::page_flush::<Kernel>(address).map(|_| ())
}

/// Gives frame `frame` to `target`.
pub fn frame_grant(frame: u64, target: Capability) -> Result<(), Error> {
    stubs::frame_grant::<Kernel>(frame, target.0).map(|_| ())
}

/// Takes the slot at `position` of the time-slice vector, or any free slot for `None`; returns
/// its position.
pub fn slice_allocate(position: Option<u64>) -> Result<u64, Error> {
    let position = position.unwrap_or(exo_abi::slice::SLOT_ANY);
    stubs::slice_allocate::<Kernel>(position)
}

/// Frees this environment's slot at `position`.
pub fn slice_free(position: u64) -> Result<(), Error> {
    stubs::slice_free::<Kernel>(position).map(|_| ())
}

/// Chooses the kernel events delivered to the exception handler.
pub fn set_upcalls(enabled: Upcalls) -> Result<(), Error> {
    stubs::set_upcalls::<Kernel>(enabled.bits()).map(|_| ())
}

/// Gives the rest of the current slot to environment `target`.
pub fn yield_to(target: u32) -> Result<(), Error> {
    stubs::yield_to::<Kernel>(u64::from(target)).map(|_| ())
}

/// Blocks for at least `microseconds`, or until an upcall is posted.
pub fn sleep(microseconds: u64) {
    let _ = stubs::sleep::<Kernel>(microseconds);
}

/// Makes this environment's page at `address` its repossession vector (`0`: none).
pub fn set_repossession_vector(address: u64) -> Result<(), Error> {
    stubs::set_repossession_vector::<Kernel>(address).map(|_| ())
}

/// Asks `target` to give back `count` resources of `kind` within `deadline_microseconds`.
pub fn revoke(
    target: Capability,
    kind: exo_abi::repossession::ResourceKind,
    count: u64,
    deadline_microseconds: u64,
) -> Result<(), Error> {
    stubs::revoke::<Kernel>(target.0, kind.code(), count, deadline_microseconds).map(|_| ())
}

/// How many resources of `kind` `target` still owes; `Err(NotFound)` once no request is
/// outstanding.
pub fn revocation_query(
    target: Capability,
    kind: exo_abi::repossession::ResourceKind,
) -> Result<u64, Error> {
    stubs::revocation_query::<Kernel>(target.0, kind.code())
}

/// Loads a downloaded filter (WebAssembly bytes, see `exo_abi::filter`); returns its id.
pub fn filter_load(module: &[u8]) -> Result<u64, Error> {
    stubs::filter_load::<Kernel>(module.as_ptr() as u64, module.len() as u64)
}

/// Unloads filter `id`.
pub fn filter_unload(id: u64) -> Result<(), Error> {
    stubs::filter_unload::<Kernel>(id).map(|_| ())
}

/// Binds filter `id` to packet receive with the ring at `ring_address` of `slots` slot pages
/// (see `exo_abi::packet`; `net::ReceiveRing` sets one up).
pub fn packet_bind(id: u64, ring_address: u64, slots: u64) -> Result<(), Error> {
    stubs::packet_bind::<Kernel>(id, ring_address, slots).map(|_| ())
}

/// Sends an Ethernet frame.
pub fn packet_send(frame: &[u8]) -> Result<(), Error> {
    stubs::packet_send::<Kernel>(frame.as_ptr() as u64, frame.len() as u64).map(|_| ())
}

/// Runs the receive path on `frame` as if it had arrived (init only); returns whether a filter
/// claimed it.
pub fn packet_inject(frame: &[u8]) -> Result<bool, Error> {
    stubs::packet_inject::<Kernel>(frame.as_ptr() as u64, frame.len() as u64)
        .map(|claimed| claimed == 1)
}

/// Sleeps until filter `id`, run over the `len` bytes at `address` (in one bound page, which
/// another environment may write), matches; an upcall or a frame may wake it early.
pub fn sleep_until(id: u64, address: u64, len: u64) -> Result<(), Error> {
    stubs::sleep_until::<Kernel>(id, address, len).map(|_| ())
}

/// Gives `receiver` a copy of `capability` with `rights` (within the original's); returns the
/// copy's handle in the receiver's table.
pub fn capability_copy(
    capability: Capability,
    rights: Rights,
    receiver: Capability,
) -> Result<Capability, Error> {
    stubs::capability_copy::<Kernel>(capability.0, rights.bits(), receiver.0).map(Capability)
}

/// Drops `capability`; its handle never works again.
pub fn capability_drop(capability: Capability) -> Result<(), Error> {
    stubs::capability_drop::<Kernel>(capability.0).map(|_| ())
}

/// The id of the environment `capability` names, and its rights.
pub fn capability_inspect(capability: Capability) -> Result<(u32, Rights), Error> {
    let word = stubs::capability_inspect::<Kernel>(capability.0)?;
    Ok((word as u32, Rights::from_bits_retain(word >> 32)))
}

/// The first capability this environment holds, among the slots of its table that have been
/// filled once, for which `wanted` holds of the id it names and its rights (as
/// [`capability_inspect`] tells them; see `exo_abi::capability` for how handles number slots):
/// how an environment finds a capability someone else gave it.
pub fn capability_find(mut wanted: impl FnMut(u32, Rights) -> bool) -> Option<Capability> {
    (0..exo_abi::capability::CAPABILITIES_MAX as u64)
        .map(|slot| Capability(1 << 32 | slot))
        .find(
            |&handle| matches!(capability_inspect(handle), Ok((id, rights)) if wanted(id, rights)),
        )
}

/// Binds this environment to the durable owner of disk blocks named by `credential`; returns
/// whether that owner was created now.
pub fn block_credential(credential: &[u8; 16]) -> Result<bool, Error> {
    stubs::block_credential::<Kernel>(credential.as_ptr() as u64).map(|created| created == 1)
}

/// Allocates disk block `block`, or any free block for `None`; returns its number.
pub fn block_allocate(block: Option<u64>) -> Result<u64, Error> {
    let block = block.unwrap_or(exo_abi::BLOCK_ANY);
    stubs::block_allocate::<Kernel>(block)
}

/// Frees disk block `block`.
pub fn block_free(block: u64) -> Result<(), Error> {
    stubs::block_free::<Kernel>(block).map(|_| ())
}

/// Reads each transfer's block into its page.
pub fn block_read(transfers: &[exo_abi::BlockTransfer]) -> Result<(), Error> {
    stubs::block_read::<Kernel>(transfers.as_ptr() as u64, transfers.len() as u64).map(|_| ())
}

/// Writes each transfer's page to its block.
pub fn block_write(transfers: &[exo_abi::BlockTransfer]) -> Result<(), Error> {
    stubs::block_write::<Kernel>(transfers.as_ptr() as u64, transfers.len() as u64).map(|_| ())
}

/// Makes every completed block write durable.
pub fn block_flush() -> Result<(), Error> {
    stubs::block_flush::<Kernel>().map(|_| ())
}

/// Binds every page of `bindings`, all or none.
pub fn page_map_batch(bindings: &[exo_abi::PageBinding]) -> Result<(), Error> {
    for binding in bindings {
        image::note_binding(
            binding.page_address,
            PageRights::from_bits_truncate(binding.rights),
        );
    }
    stubs::page_map_batch::<Kernel>(bindings.as_ptr() as u64, bindings.len() as u64).map(|_| ())
}

/// Unbinds every page address of `addresses`, all or none.
pub fn page_unmap_batch(addresses: &[u64]) -> Result<(), Error> {
    stubs::page_unmap_batch::<Kernel>(addresses.as_ptr() as u64, addresses.len() as u64).map(|_| ())
}

/// Writes the frames this environment owns, in acquisition order from position `first`, into
/// `buffer`; returns how many it wrote.
pub fn frame_list(buffer: &mut [u64], first: u64) -> Result<usize, Error> {
    stubs::frame_list::<Kernel>(buffer.as_mut_ptr() as u64, buffer.len() as u64, first)
        .map(|count| count as usize)
}

/// Reads bytes typed on the serial console into `buffer` (at most
/// `exo_abi::CONSOLE_READ_MAX_BYTES`); returns how many. Blocks until there is at least one,
/// unless `is_nonblocking`, which returns 0 at once when none is there.
pub fn console_read(buffer: &mut [u8], is_nonblocking: bool) -> Result<usize, Error> {
    let mut flags = exo_abi::ConsoleReadFlags::empty();
    flags.set(exo_abi::ConsoleReadFlags::NONBLOCKING, is_nonblocking);
    stubs::console_read::<Kernel>(
        buffer.as_mut_ptr() as u64,
        buffer.len() as u64,
        flags.bits(),
    )
    .map(|count| count as usize)
}

/// A call received by an endpoint's server (see `exo_abi::ipc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// The caller's environment id (not forgeable: the kernel writes it).
    pub caller: u32,
    /// Whether the caller lent a page, now bound at the window the server named.
    pub has_lent_page: bool,
    /// The call's words.
    pub message: Message,
}

impl Received {
    fn decode((word, message): (u64, Message)) -> Received {
        Received {
            caller: word as u32,
            has_lent_page: word & exo_abi::ipc::LENT != 0,
            message,
        }
    }
}

/// Creates an endpoint this environment serves; the capability carries
/// `exo_abi::capability::Rights::CALL` and `Rights::RECEIVE`.
pub fn endpoint_create() -> Result<Capability, Error> {
    stubs::endpoint_create::<Kernel>().map(Capability)
}

/// Calls `endpoint` with `message` and returns the reply.
#[inline(always)]
pub fn endpoint_call(endpoint: Capability, message: Message) -> Result<Message, Error> {
    let [w0, w1, w2, w3] = message;
    stubs::endpoint_call::<Kernel>(endpoint.0, w0, w1, w2, w3, 0).map(|(_, reply)| reply)
}

/// As [`endpoint_call`], lending the server this environment's page at `page_address` for the
/// call, as `flags` say (see `exo_abi::ipc`, lent pages).
pub fn endpoint_call_lending(
    endpoint: Capability,
    message: Message,
    page_address: u64,
    flags: LendFlags,
) -> Result<Message, Error> {
    let [w0, w1, w2, w3] = message;
    let lend = page_address | flags.bits();
    stubs::endpoint_call::<Kernel>(endpoint.0, w0, w1, w2, w3, lend).map(|(_, reply)| reply)
}

/// Waits on `endpoint`, served by this environment, for a call; a lent page lands at page
/// address `window` (0: nowhere).
pub fn endpoint_wait(endpoint: Capability, window: u64) -> Result<Received, Error> {
    stubs::endpoint_reply_and_wait::<Kernel>(endpoint.0, 0, 0, 0, 0, window).map(Received::decode)
}

/// Replies `reply` to the call being served on `endpoint`, then waits for the next one, as
/// [`endpoint_wait`].
#[inline(always)]
pub fn endpoint_reply_and_wait(
    endpoint: Capability,
    reply: Message,
    window: u64,
) -> Result<Received, Error> {
    let [w0, w1, w2, w3] = reply;
    let flags = window | ReplyAndWaitFlags::REPLY.bits();
    stubs::endpoint_reply_and_wait::<Kernel>(endpoint.0, w0, w1, w2, w3, flags)
        .map(Received::decode)
}

/// What a server does with the call it serves before it waits again ([`endpoint_serve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It serves no call (the first wait, or after a child's end).
    Nothing,
    /// Reply these words.
    Reply(Message),
    /// Keep the caller waiting; reply later with [`endpoint_reply`].
    Defer,
}

/// What ended a server's wait ([`endpoint_serve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// A call arrived.
    Call(Received),
    /// A child of the server ended (`exo_abi::ipc::CHILD_ENDED`); no call is being served.
    ChildEnded,
}

/// Answers the call being served on `endpoint` as `answer` says, then waits for the next call
/// (a lent page lands at page address `window`) or, with `child_ends`, until an environment
/// this one created ends.
#[inline(always)]
pub fn endpoint_serve(
    endpoint: Capability,
    answer: Answer,
    window: u64,
    child_ends: bool,
) -> Result<Served, Error> {
    let (words, mut flags) = match answer {
        Answer::Nothing => ([0; 4], ReplyAndWaitFlags::empty()),
        Answer::Reply(words) => (words, ReplyAndWaitFlags::REPLY),
        Answer::Defer => ([0; 4], ReplyAndWaitFlags::DEFER),
    };
    flags.set(ReplyAndWaitFlags::CHILD_ENDS, child_ends);
    let [w0, w1, w2, w3] = words;
    let (word, message) = stubs::endpoint_reply_and_wait::<Kernel>(
        endpoint.0,
        w0,
        w1,
        w2,
        w3,
        window | flags.bits(),
    )?;
    if word == exo_abi::ipc::CHILD_ENDED {
        Ok(Served::ChildEnded)
    } else {
        Ok(Served::Call(Received::decode((word, message))))
    }
}

/// Replies `reply` to `caller`, whose call on `endpoint` this server deferred.
pub fn endpoint_reply(endpoint: Capability, caller: u32, reply: Message) -> Result<(), Error> {
    let [w0, w1, w2, w3] = reply;
    stubs::endpoint_reply::<Kernel>(endpoint.0, u64::from(caller), w0, w1, w2, w3).map(|_| ())
}

/// Offers `bytes` (this process's memory) to the server of its next call, for that call only;
/// writable with [`GrantFlags::WRITABLE`] in `flags` (see `exo_abi::ipc`, granted bytes).
pub fn endpoint_grant(bytes: *const [u8], flags: GrantFlags) -> Result<(), Error> {
    stubs::endpoint_grant::<Kernel>(bytes.cast::<u8>() as u64, bytes.len() as u64, flags.bits())
        .map(|_| ())
}

/// Copies `bytes` into what `caller` granted, from byte `offset` of it, while this server holds
/// its call on `endpoint`.
pub fn endpoint_copy_to(
    endpoint: Capability,
    caller: u32,
    offset: usize,
    bytes: &[u8],
) -> Result<(), Error> {
    stubs::endpoint_copy::<Kernel>(
        endpoint.0,
        u64::from(caller),
        offset as u64,
        bytes.as_ptr() as u64,
        bytes.len() as u64,
        CopyFlags::TO_GRANT.bits(),
    )
    .map(|_| ())
}

/// Fills `bytes` from what `caller` granted, from byte `offset` of it, while this server holds
/// its call on `endpoint`.
pub fn endpoint_copy_from(
    endpoint: Capability,
    caller: u32,
    offset: usize,
    bytes: &mut [u8],
) -> Result<(), Error> {
    stubs::endpoint_copy::<Kernel>(
        endpoint.0,
        u64::from(caller),
        offset as u64,
        bytes.as_mut_ptr() as u64,
        bytes.len() as u64,
        CopyFlags::empty().bits(),
    )
    .map(|_| ())
}

/// What the kernel tells of time (see `exo_abi::ClockInfo`).
pub fn clock_info() -> exo_abi::ClockInfo {
    let mut info = exo_abi::ClockInfo::default();
    // The buffer is this function's own: the call cannot fail.
    let _ = stubs::clock_info::<Kernel>(&raw mut info as u64);
    info
}

/// What the kernel has counted since it booted (see `exo_abi::KernelCounters`).
pub fn kernel_counters() -> exo_abi::KernelCounters {
    let mut counters = exo_abi::KernelCounters::default();
    // The buffer is this function's own: the call cannot fail.
    let _ = stubs::kernel_counters::<Kernel>(&raw mut counters as u64);
    counters
}

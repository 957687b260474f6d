//! The system calls, each declared once: its number, its contract (arguments, result, errors),
//! the names of its arguments, the errors it may return, the authority it needs and the system
//! test that covers it. The `Syscall` enum, the kernel's argument decoding ([`Call`]) and the
//! user-side stubs ([`stubs`]) are generated from this table (see `syscall`).

use crate::capability::Rights;
use crate::syscall::Authority::{Caller, Capability, Init};
use crate::syscall::{ANY_RIGHT, system_calls};

system_calls! {
    /// Does nothing and returns 0. Measures the bare cost of entering and leaving the kernel.
    /// Errors: none.
    Null = 0 => fn null();
        errors [];
        authority Caller;
        covered by "fuzz::seeds_1_and_2_break_nothing";
    /// Writes `a1` bytes at user address `a0` to the kernel console (the serial port).
    /// Returns the number of bytes written.
    /// Errors: [`TooLong`](crate::Error::TooLong) when `a1` exceeds
    /// [`DEBUG_WRITE_MAX_BYTES`](crate::DEBUG_WRITE_MAX_BYTES);
    /// [`BadAddress`](crate::Error::BadAddress) when any byte of the range is outside the user
    /// half, unmapped or not user-readable, or the range wraps.
    DebugWrite = 1 => fn debug_write(address, len);
        errors [TooLong, BadAddress];
        authority Caller;
        covered by "hello::bios_boot_runs_hello_in_ring_3";
    /// Ends the calling environment with status `a0` (low 32 bits). Never returns. Every frame
    /// the environment owned returns to the free pool. Its living descendants end with it, killed
    /// ([`ExitReason::Killed`](crate::ExitReason::Killed)), deepest first, so that every living
    /// environment stays reachable from init through its ancestors (a library OS that wants a
    /// process to outlive its parent keeps it as a child of a longer-lived environment). Every
    /// way of ending (exit, an exception with no handler, [`Syscall::EnvironmentKill`]) does the
    /// same. Errors: none.
    Exit = 2 => fn exit(status);
        errors [];
        authority Caller;
        covered by "hello::bios_boot_runs_hello_in_ring_3";
    /// Gives up the CPU; the caller runs again after every other runnable environment had its
    /// turn. Returns 0. Errors: none.
    Yield = 3 => fn yield_now();
        errors [];
        authority Caller;
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Returns the caller's environment id. Errors: none.
    EnvironmentId = 4 => fn environment_id();
        errors [];
        authority Caller;
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Powers the machine off; QEMU exits reporting status `a0`.
    /// Errors: [`PermissionDenied`](crate::Error::PermissionDenied) unless the caller is the
    /// init environment; [`InvalidArgument`](crate::Error::InvalidArgument) when `a0` exceeds
    /// [`POWER_OFF_STATUS_MAX`](crate::POWER_OFF_STATUS_MAX).
    PowerOff = 5 => fn power_off(status);
        errors [PermissionDenied, InvalidArgument];
        authority Init;
        covered by "hello::bios_boot_runs_hello_in_ring_3";
    /// Creates an environment from the program named by the `a1` bytes at `a0` in the boot
    /// ramdisk, giving it the argument string of `a3` bytes at `a2`. The caller becomes its
    /// parent. Returns a capability handle with every right ([`Rights::ALL`](crate::capability::Rights::ALL))
    /// over the new environment, which is runnable at once and holds
    /// [`PARENT`](crate::capability::PARENT) over the caller.
    /// Errors: [`TooLong`](crate::Error::TooLong) when the name exceeds
    /// [`PROGRAM_NAME_MAX_BYTES`](crate::PROGRAM_NAME_MAX_BYTES) or the arguments exceed
    /// [`ARGUMENTS_MAX_BYTES`](crate::ARGUMENTS_MAX_BYTES);
    /// [`BadAddress`](crate::Error::BadAddress) for an unreadable range;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) when the name or arguments are not
    /// UTF-8; [`NotFound`](crate::Error::NotFound) when no such program is in the ramdisk;
    /// [`BadExecutable`](crate::Error::BadExecutable) when its ELF file is not a loadable
    /// static x86_64 executable for the user half; [`NoMemory`](crate::Error::NoMemory) when
    /// frames run out (nothing is leaked), 1024 environments, living or unreaped, exist, the
    /// caller holds [`CAPABILITIES_MAX`](crate::capability::CAPABILITIES_MAX) capabilities, or
    /// the caller's or the global [kernel-memory quota](crate::kernel_memory) has no room for the new environment (or the new one's for
    /// its pages).
    Spawn = 6 => fn spawn(name, name_len, args, args_len);
        errors [TooLong, BadAddress, InvalidArgument, NotFound, BadExecutable, NoMemory];
        authority Caller;
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Blocks until the child named by capability `a0` has ended, reaps it and returns how it
    /// ended, encoded by [`ExitReason::encode`](crate::ExitReason::encode). The handle is
    /// dropped with the child. `a1` holds flags: with [`WaitFlags::NO_HANG`](crate::WaitFlags::NO_HANG) a
    /// child that has not ended is not waited for (the handle stays). A child that was never
    /// started ([`Syscall::EnvironmentCreate`]) is waited for like any other.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) for unknown flag bits;
    /// [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller; [`PermissionDenied`](crate::Error::PermissionDenied) when it lacks
    /// [`Rights::WAIT`](crate::capability::Rights::WAIT); [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment)
    /// when the child was reaped already; [`Unavailable`](crate::Error::Unavailable) with
    /// [`WaitFlags::NO_HANG`](crate::WaitFlags::NO_HANG) when the child has not ended.
    Wait = 7 => fn wait(child, flags);
        errors [InvalidArgument, BadCapability, PermissionDenied, NoSuchEnvironment, Unavailable];
        authority Capability { argument: 0, right: Rights::WAIT };
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Returns the number of free physical frames (for leak checks). Errors: none.
    FreeFrames = 8 => fn free_frames();
        errors [];
        authority Caller;
        covered by "hostile::every_program_gives_back_all_its_frames";
    /// Registers the caller's exception handler: entry point `a0` and handler stack
    /// `a1 .. a1 + a2` (see [`ExceptionFrame`](crate::ExceptionFrame) for delivery). `a0 = 0`
    /// removes the handler, so that exceptions end the environment again. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when the entry or the stack range is
    /// outside the user half or the range wraps; [`InvalidArgument`](crate::Error::InvalidArgument)
    /// when the stack cannot hold one frame.
    SetExceptionHandler = 9 => fn set_exception_handler(entry, stack, stack_len);
        errors [BadAddress, InvalidArgument];
        authority Caller;
        covered by "exceptions::exceptions_reach_the_handler_and_resume";
    /// Allocates physical frame number `a0` to the caller, or any free frame when `a0` is
    /// [`FRAME_ANY`](crate::FRAME_ANY) (allocation by physical name lets a libOS colour pages).
    /// Returns the frame number. The frame's contents are zero.
    /// Errors: [`Unavailable`](crate::Error::Unavailable) when that frame is not free RAM;
    /// [`NoMemory`](crate::Error::NoMemory) when no frame is free.
    FrameAllocate = 10 => fn frame_allocate(frame);
        errors [Unavailable, NoMemory];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Frees frame `a0`, owned by the caller, after removing every mapping of it in every address
    /// space. Returns 0. Errors: [`PermissionDenied`](crate::Error::PermissionDenied) when the
    /// caller does not own it.
    FrameFree = 11 => fn frame_free(frame);
        errors [PermissionDenied];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Binds the page at user address `a0` in the caller's address space to frame `a1`, which the
    /// caller owns, with rights `a2` (see [`PageRights`](crate::PageRights)). The check happens
    /// here, once; afterwards the MMU enforces the binding. Returns 0. The null page (address 0)
    /// is never bound, by this call or any other, so that a null pointer always faults.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when `a0` is not a page-aligned
    /// user-half address or is 0; [`InvalidArgument`](crate::Error::InvalidArgument) for unknown rights
    /// bits; [`PermissionDenied`](crate::Error::PermissionDenied) when the caller does not own
    /// the frame; [`Occupied`](crate::Error::Occupied) when the page is already mapped;
    /// [`NoMemory`](crate::Error::NoMemory) when a page-table page cannot be allocated or the
    /// binding would go over the caller's or the global [kernel-memory quota](crate::kernel_memory).
    PageMap = 12 => fn page_map(address, frame, rights);
        errors [BadAddress, InvalidArgument, PermissionDenied, Occupied, NoMemory];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Removes the caller's mapping at page address `a0`, and every mapping derived from it.
    /// Returns 0. Errors: [`BadAddress`](crate::Error::BadAddress) for a bad address;
    /// [`NotFound`](crate::Error::NotFound) when nothing is mapped there.
    PageUnmap = 13 => fn page_unmap(address);
        errors [BadAddress, NotFound];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Sets the rights of the caller's mapping at page address `a0` to `a1`; mappings derived
    /// from it are narrowed to match. Returns 0. Errors: as [`Syscall::PageUnmap`];
    /// [`InvalidArgument`](crate::Error::InvalidArgument) for unknown rights bits;
    /// [`PermissionDenied`](crate::Error::PermissionDenied) when the binding was derived
    /// ([`Syscall::PageShare`]) and the rights exceed those of the binding it was derived from.
    PageProtect = 14 => fn page_protect(address, rights);
        errors [BadAddress, NotFound, InvalidArgument, PermissionDenied];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Reads the caller's binding at page address `a0`: returns `frame << 12 | bits`, where
    /// `bits` are its [`PageRights`](crate::PageRights) and its
    /// [`PageFlags`](crate::PageFlags) (whether the caller owns the frame, whether bindings
    /// derived from this one exist, whether this one is derived).
    /// Errors: as [`Syscall::PageUnmap`].
    PageQuery = 15 => fn page_query(address);
        errors [BadAddress, NotFound];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Shares the caller's binding at page address `a0` into the address space of the
    /// environment named by capability `a1` (or [`SELF`](crate::capability::SELF)) at page
    /// address `a2` with rights `a3`, which must be within the caller's (L4's *map*). The new
    /// binding is derived from the caller's: unmapping, protecting or flushing the caller's page
    /// reaches it. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) for a bad address;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) for unknown rights bits;
    /// [`BadCapability`](crate::Error::BadCapability) when `a1` names no capability of the
    /// caller; [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment has
    /// ended; [`PermissionDenied`](crate::Error::PermissionDenied) when the capability lacks
    /// [`Rights::SHARE`](crate::capability::Rights::SHARE) or the rights exceed the caller's;
    /// [`NotFound`](crate::Error::NotFound) when
    /// nothing is bound at `a0`; [`Occupied`](crate::Error::Occupied) when `a2` is taken;
    /// [`NoMemory`](crate::Error::NoMemory) when a page-table page cannot be allocated or the
    /// binding would go over the target's or the global [kernel-memory quota](crate::kernel_memory) (it is charged to the target).
    PageShare = 16 => fn page_share(address, target, target_address, rights);
        errors [BadAddress, InvalidArgument, PermissionDenied, Occupied, NoMemory, BadCapability, NoSuchEnvironment, NotFound];
        authority Capability { argument: 1, right: Rights::SHARE };
        covered by "pages::pages_are_shared_flushed_and_granted_between_environments";
    /// Removes every binding derived from the caller's binding at page address `a0`, in every
    /// environment, transitively; the caller's own stays. Returns 0.
    /// Errors: as [`Syscall::PageUnmap`].
    PageFlush = 17 => fn page_flush(address);
        errors [BadAddress, NotFound];
        authority Caller;
        covered by "pages::pages_are_shared_flushed_and_granted_between_environments";
    /// Gives frame `a0`, owned by the caller, to the environment named by capability `a1`:
    /// every binding of the frame is removed first, then the frame belongs to that environment.
    /// [`Rights::GRANT`](crate::capability::Rights::GRANT) over the receiver comes only from the
    /// receiver itself or its creator, so it consented (see
    /// [consent](crate::capability#consent)); it may free the frame. Returns 0.
    /// Errors: [`PermissionDenied`](crate::Error::PermissionDenied) when the caller does not own
    /// the frame or the capability lacks [`Rights::GRANT`](crate::capability::Rights::GRANT);
    /// [`BadCapability`](crate::Error::BadCapability) when `a1` names no capability of the
    /// caller; [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment has
    /// ended.
    FrameGrant = 18 => fn frame_grant(frame, target);
        errors [PermissionDenied, BadCapability, NoSuchEnvironment];
        authority Capability { argument: 1, right: Rights::GRANT };
        covered by "pages::pages_are_shared_flushed_and_granted_between_environments";
    /// Gives the caller the slot at position `a0` of the time-slice vector, or the first free
    /// slot when `a0` is [`SLOT_ANY`](crate::slice::SLOT_ANY); returns the position. From then on
    /// the caller runs in that slot whenever it is runnable (see [`slice`](crate::slice)).
    /// Environments that own no slot share the slots nobody uses, round robin.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) when `a0` is not a position;
    /// [`Occupied`](crate::Error::Occupied) when that slot is owned;
    /// [`Unavailable`](crate::Error::Unavailable) when no slot is free or
    /// [`OWNED_SLOTS_MAX`](crate::slice::OWNED_SLOTS_MAX) slots are owned (by anyone): the other
    /// [`BEST_EFFORT_SLOTS_MIN`](crate::slice::BEST_EFFORT_SLOTS_MIN) slots of every round go to
    /// the environments that own none, so a slot owner that never yields cannot stop them.
    SliceAllocate = 19 => fn slice_allocate(position);
        errors [InvalidArgument, Occupied, Unavailable];
        authority Caller;
        covered by "slices::cpu_time_follows_slot_counts";
    /// Frees the caller's slot at position `a0`. Returns 0.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) when `a0` is not a position;
    /// [`PermissionDenied`](crate::Error::PermissionDenied) when the caller does not own it.
    SliceFree = 20 => fn slice_free(position);
        errors [InvalidArgument, PermissionDenied];
        authority Caller;
        covered by "slices::slice_calls_refuse_bad_requests";
    /// Chooses the kernel events the caller receives as upcalls through its exception handler:
    /// `a0` is a set of [`Upcalls`](crate::upcall::Upcalls) bits (0: none). Returns 0.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) for unknown bits, or for a
    /// non-empty set while no exception handler is registered.
    SetUpcalls = 21 => fn set_upcalls(enabled);
        errors [InvalidArgument];
        authority Caller;
        covered by "slices::spinning_in_the_epilogue_loses_the_next_slot";
    /// Gives the rest of the current slot to environment `a0` (an id, not a capability: giving
    /// time away needs no right over the receiver), which must be runnable; the slot still
    /// counts as the caller's. Returns 0 when the caller runs again.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) when `a0` is the caller;
    /// [`Unavailable`](crate::Error::Unavailable) when `a0` is not a runnable environment.
    YieldTo = 22 => fn yield_to(target);
        errors [InvalidArgument, Unavailable];
        authority Caller;
        covered by "slices::cpu_time_follows_slot_counts";
    /// Blocks the caller for at least `a0` microseconds (woken at the first slot boundary after
    /// that), or until an upcall is posted to it or a frame reaches one of its receive rings
    /// ([`Syscall::PacketBind`]); at once, without blocking, when a frame reached one of its
    /// rings while it was awake since it last slept (frames are delivered while it runs, so
    /// one may land between its look at the ring and this call). Returns 0. Errors: none.
    Sleep = 23 => fn sleep(microseconds);
        errors [];
        authority Caller;
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Makes the caller's page at address `a0` its repossession vector (see
    /// [`repossession`](crate::repossession)): the kernel clears it to an empty vector and from
    /// then on records there every resource it takes from the caller by force. `a0 = 0`
    /// unregisters it; so does freeing or granting away the page's frame. The frame itself is
    /// never repossessed. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when `a0` is not a page-aligned
    /// user-half address; [`NotFound`](crate::Error::NotFound) when nothing is bound there;
    /// [`PermissionDenied`](crate::Error::PermissionDenied) when the binding is not writable or
    /// its frame is not the caller's own.
    SetRepossessionVector = 24 => fn set_repossession_vector(address);
        errors [BadAddress, NotFound, PermissionDenied];
        authority Caller;
        covered by "revocation::an_ignored_request_ends_in_repossession";
    /// Asks the environment named by capability `a0` to give back `a2` resources of kind `a1`
    /// ([`ResourceKind`](crate::repossession::ResourceKind) code) within `a3`
    /// microseconds (visible revocation). The environment is told through its
    /// [`REVOCATION_REQUEST`](crate::upcall::REVOCATION_REQUEST) upcall and chooses what to
    /// free; whatever is still owed at the deadline is taken by force, newest acquired first but
    /// never below the guaranteed minimum (the frames it held when it started, and at least
    /// [`GUARANTEED_FRAMES`](crate::GUARANTEED_FRAMES)), and
    /// recorded in its repossession vector (the abort protocol). An environment that has not
    /// enabled the upcall cannot be asked: the abort runs at once. This is how a parent, or
    /// whoever it gave the right to, creates memory pressure. Returns 0.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller; [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment
    /// has ended; [`PermissionDenied`](crate::Error::PermissionDenied) when the capability lacks
    /// [`Rights::REVOKE`](crate::capability::Rights::REVOKE); [`InvalidArgument`](crate::Error::InvalidArgument) for an unknown kind, a
    /// zero count or a zero deadline; [`Occupied`](crate::Error::Occupied) when a request of
    /// that kind is already outstanding for `a0`.
    Revoke = 25 => fn revoke(target, kind, count, deadline);
        errors [BadCapability, NoSuchEnvironment, PermissionDenied, InvalidArgument, Occupied];
        authority Capability { argument: 0, right: Rights::REVOKE };
        covered by "revocation::a_cooperative_environment_chooses_what_to_give_back";
    /// Returns how many resources of kind `a1` the environment named by capability `a0` (or
    /// [`SELF`](crate::capability::SELF)) still owes to an outstanding request.
    /// Errors: [`NotFound`](crate::Error::NotFound) when no request of that kind is outstanding
    /// (it completed, or was aborted); otherwise as [`Syscall::Revoke`].
    RevocationQuery = 26 => fn revocation_query(target, kind);
        errors [BadCapability, NoSuchEnvironment, PermissionDenied, InvalidArgument, Occupied, NotFound];
        authority Capability { argument: 0, right: Rights::REVOKE };
        covered by "revocation::a_cooperative_environment_chooses_what_to_give_back";
    /// Binds the caller to the durable owner of disk blocks named by the 16-byte credential at
    /// `a0`, creating that owner if the credential is new. Blocks belong to such owners, not to
    /// environments, so that they survive a reboot: an environment gets its blocks back by
    /// presenting the same credential (a bearer secret: keep it private). Several living
    /// environments may be bound to one owner at once (the processes of one library OS sharing
    /// its disk, say), and each uses every block of that owner (so blocks revoked from one of
    /// them are gone for all); an environment is bound to one owner. Returns 1 when the owner was
    /// created, 0 when it existed.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) for an unreadable credential;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) for the all-zero credential, or when
    /// the caller is bound to another owner already; [`NoMemory`](crate::Error::NoMemory) when
    /// the owner table is full; [`Unavailable`](crate::Error::Unavailable) without a usable
    /// disk.
    BlockCredential = 27 => fn block_credential(credential);
        errors [BadAddress, InvalidArgument, NoMemory, Unavailable];
        authority Caller;
        covered by "blocks::a_credential_gives_the_blocks_back_after_a_reboot";
    /// Allocates disk block `a0` to the caller's owner, or any free block when `a0` is
    /// [`BLOCK_ANY`](crate::BLOCK_ANY); returns its number. The block reads as zeros and the
    /// allocation is durable before the call returns.
    /// Errors: [`PermissionDenied`](crate::Error::PermissionDenied) before
    /// [`Syscall::BlockCredential`]; [`InvalidArgument`](crate::Error::InvalidArgument) for a
    /// block beyond the disk or in the kernel's ownership table; [`Occupied`](crate::Error::Occupied)
    /// when it is owned; [`NoMemory`](crate::Error::NoMemory) when no block is free;
    /// [`Unavailable`](crate::Error::Unavailable) without a usable disk.
    BlockAllocate = 28 => fn block_allocate(block);
        errors [PermissionDenied, InvalidArgument, Occupied, NoMemory, Unavailable];
        authority Caller;
        covered by "blocks::blocks_are_owned_checked_and_repossessed";
    /// Frees disk block `a0`, owned by the caller's owner, durably. Returns 0.
    /// Errors: [`PermissionDenied`](crate::Error::PermissionDenied) when the caller's owner does
    /// not own it; [`InvalidArgument`](crate::Error::InvalidArgument) as for
    /// [`Syscall::BlockAllocate`]; [`Unavailable`](crate::Error::Unavailable) without a disk.
    BlockFree = 29 => fn block_free(block);
        errors [PermissionDenied, InvalidArgument, Unavailable];
        authority Caller;
        covered by "blocks::blocks_are_owned_checked_and_repossessed";
    /// Reads disk blocks into the caller's pages: `a0` points at `a1`
    /// [`BlockTransfer`](crate::BlockTransfer)s. Every block must be the caller's owner's and
    /// every page bound writable in the caller's address space; all are checked before any
    /// moves. The binding is what is checked, not who owns the frame, so a page another
    /// environment shared in writable ([`Syscall::PageShare`]) works (a buffer cache shared by
    /// the processes of one library OS, say). The data moves by DMA straight into the frames.
    /// Returns `a1`.
    /// Errors: [`TooLong`](crate::Error::TooLong) for more than
    /// [`BLOCK_TRANSFERS_MAX`](crate::BLOCK_TRANSFERS_MAX) pairs;
    /// [`BadAddress`](crate::Error::BadAddress) for an unreadable list, or a page that is not
    /// page-aligned, not in the user half or not bound;
    /// [`PermissionDenied`](crate::Error::PermissionDenied) for a read-only page, or a block
    /// that is not the caller's owner's; [`InvalidArgument`](crate::Error::InvalidArgument) for
    /// a block beyond the disk or in the ownership table; [`Unavailable`](crate::Error::Unavailable)
    /// without a disk or when the device fails.
    BlockRead = 30 => fn block_read(transfers, count);
        errors [TooLong, BadAddress, PermissionDenied, InvalidArgument, Unavailable];
        authority Caller;
        covered by "blocks::blocks_are_owned_checked_and_repossessed";
    /// Writes the caller's pages to disk blocks: `a0` points at `a1`
    /// [`BlockTransfer`](crate::BlockTransfer)s, as [`Syscall::BlockRead`] the other way (the
    /// pages need not be writable). The data is durable after [`Syscall::BlockFlush`].
    /// Errors: as [`Syscall::BlockRead`], but for a read-only page.
    BlockWrite = 31 => fn block_write(transfers, count);
        errors [TooLong, BadAddress, PermissionDenied, InvalidArgument, Unavailable];
        authority Caller;
        covered by "blocks::blocks_are_owned_checked_and_repossessed";
    /// Makes every completed block write durable. Returns 0.
    /// Errors: [`Unavailable`](crate::Error::Unavailable) without a disk or when it fails.
    BlockFlush = 32 => fn block_flush();
        errors [Unavailable];
        authority Caller;
        covered by "blocks::blocks_are_owned_checked_and_repossessed";
    /// Binds many pages at once: `a0` points at `a1` [`PageBinding`](crate::PageBinding)s, each
    /// bound as by [`Syscall::PageMap`]. Every entry is checked before any is bound, and the
    /// batch takes effect whole or not at all. Returns `a1`.
    /// Errors: [`TooLong`](crate::Error::TooLong) for more than
    /// [`PAGE_BATCH_MAX`](crate::PAGE_BATCH_MAX) entries; [`BadAddress`](crate::Error::BadAddress)
    /// for an unreadable list; [`Occupied`](crate::Error::Occupied) when a page is bound already
    /// or named twice; otherwise as [`Syscall::PageMap`] for the first bad entry.
    PageMapBatch = 33 => fn page_map_batch(bindings, count);
        errors [BadAddress, InvalidArgument, PermissionDenied, Occupied, NoMemory, TooLong];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Unbinds many pages at once: `a0` points at `a1` page addresses (`u64`), each unbound as
    /// by [`Syscall::PageUnmap`], whole or not at all. Returns `a1`.
    /// Errors: [`TooLong`](crate::Error::TooLong) for more than
    /// [`PAGE_BATCH_MAX`](crate::PAGE_BATCH_MAX) entries; [`BadAddress`](crate::Error::BadAddress)
    /// for an unreadable list or a bad address; [`NotFound`](crate::Error::NotFound) when a page
    /// is not bound or is named twice.
    PageUnmapBatch = 34 => fn page_unmap_batch(addresses, count);
        errors [TooLong, BadAddress, NotFound];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Lists the frames the caller owns, in the order it acquired them: writes at most `a1`
    /// (and at most [`PAGE_BATCH_MAX`](crate::PAGE_BATCH_MAX)) frame numbers (`u64`) to `a0`,
    /// starting from position `a2` of that order. Returns how many it wrote; fewer than asked
    /// means the list is complete. With [`Syscall::PageList`] (or [`Syscall::PageQuery`] for
    /// each binding), a library OS reads the kernel's truth instead of keeping a copy.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when the buffer is not writable.
    FrameList = 35 => fn frame_list(buffer, capacity, first);
        errors [BadAddress];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Gives the environment named by capability `a2` a copy of the caller's capability `a0`
    /// narrowed to rights `a1` (see [`capability`](crate::capability)); returns the copy's handle
    /// in the receiver's table, for the caller to tell it (through shared memory, for example).
    /// `a0` may be [`SELF`](crate::capability::SELF): a right over the caller itself.
    /// `a2` may be [`SELF`](crate::capability::SELF) too: a narrowed copy for the caller.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` or `a2` names no
    /// capability of the caller; [`InvalidArgument`](crate::Error::InvalidArgument) for unknown
    /// rights bits or [`Rights::WAIT`](crate::capability::Rights::WAIT);
    /// [`PermissionDenied`](crate::Error::PermissionDenied) when `a1` exceeds the rights of `a0`
    /// or `a2` lacks [`Rights::GRANT`](crate::capability::Rights::GRANT);
    /// [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when the receiver has ended;
    /// [`NoMemory`](crate::Error::NoMemory) when the receiver's table is full.
    CapabilityCopy = 36 => fn capability_copy(capability, rights, receiver);
        errors [BadCapability, InvalidArgument, PermissionDenied, NoSuchEnvironment, NoMemory];
        authority Capability { argument: 2, right: Rights::GRANT };
        covered by "capabilities::forged_and_overreaching_capabilities_are_refused_and_delegation_works";
    /// Drops the caller's capability `a0`; the handle never works again. Dropping the handle
    /// that waits for a child (the one [`Syscall::Spawn`] or [`Syscall::EnvironmentCreate`]
    /// returned, the only one with [`Rights::WAIT`](crate::capability::Rights::WAIT)) means nobody can
    /// reap that child: it leaves the environment table as soon as it ends. Returns 0.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability in
    /// the caller's table ([`SELF`](crate::capability::SELF) is none).
    CapabilityDrop = 37 => fn capability_drop(capability);
        errors [BadCapability];
        authority Caller;
        covered by "capabilities::forged_and_overreaching_capabilities_are_refused_and_delegation_works";
    /// Describes the caller's capability `a0`: returns the id of the environment it names,
    /// plus the bits of its [`Rights`](crate::capability::Rights) shifted left by 32 bits.
    /// Errors: as [`Syscall::CapabilityDrop`].
    CapabilityInspect = 38 => fn capability_inspect(capability);
        errors [BadCapability];
        authority Caller;
        covered by "capabilities::forged_and_overreaching_capabilities_are_refused_and_delegation_works";
    /// Loads the `a1` bytes at `a0` as a downloaded filter (see [`filter`](crate::filter) for
    /// the contract) and returns its id. The module is checked and instantiated here; it runs
    /// later, as a packet filter ([`Syscall::PacketBind`]) or a wake-up predicate
    /// ([`Syscall::SleepUntil`]). It is unloaded when its environment ends.
    /// Errors: [`TooLong`](crate::Error::TooLong) beyond
    /// [`MODULE_BYTES_MAX`](crate::filter::MODULE_BYTES_MAX); [`BadAddress`](crate::Error::BadAddress)
    /// for an unreadable range; [`InvalidArgument`](crate::Error::InvalidArgument) when the module
    /// breaks the contract (the kernel console says how); [`NoMemory`](crate::Error::NoMemory)
    /// when the caller has [`FILTERS_PER_ENVIRONMENT_MAX`](crate::filter::FILTERS_PER_ENVIRONMENT_MAX)
    /// filters loaded, or the filter would go over the caller's or the global [kernel-memory quota](crate::kernel_memory).
    FilterLoad = 39 => fn filter_load(module, len);
        errors [TooLong, BadAddress, InvalidArgument, NoMemory];
        authority Caller;
        covered by "filters::wake_up_predicates_wake_consumers_and_hostile_filters_are_contained";
    /// Unloads the caller's filter `a0`, unbinding it from packet receive. Returns 0.
    /// Errors: [`NotFound`](crate::Error::NotFound) when `a0` is not a filter of the caller's.
    FilterUnload = 40 => fn filter_unload(filter);
        errors [NotFound];
        authority Caller;
        covered by "filters::wake_up_predicates_wake_consumers_and_hostile_filters_are_contained";
    /// Binds the caller's filter `a0` to packet receive, delivering the frames it claims into
    /// the receive ring at page address `a1` with `a2` slot pages (see [`packet`](crate::packet)).
    /// On every received frame the kernel runs the bound filters in the order they were bound;
    /// the first that matches claims the frame, which is copied into its ring, and its
    /// environment wakes if it sleeps ([`Syscall::Sleep`]; if it is awake, its next sleep
    /// returns at once). Frames are delivered as they arrive, also while other environments
    /// or the receiver itself run. Frames nobody claims are counted and dropped. Returns 0.
    /// Errors: [`NotFound`](crate::Error::NotFound) when `a0` is not the caller's filter;
    /// [`Occupied`](crate::Error::Occupied) when it is bound already;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) for 0 or more than
    /// [`RING_SLOTS_MAX`](crate::packet::RING_SLOTS_MAX) slots;
    /// [`BadAddress`](crate::Error::BadAddress) when a ring page is not page-aligned, not in the
    /// user half or not bound; [`PermissionDenied`](crate::Error::PermissionDenied) when one is
    /// read-only or its frame is not the caller's own. Without a network device the binding
    /// holds, and only [`Syscall::PacketInject`] delivers.
    PacketBind = 41 => fn packet_bind(filter, ring, slots);
        errors [NotFound, Occupied, InvalidArgument, BadAddress, PermissionDenied];
        authority Caller;
        covered by "udp_echo::two_environments_each_echo_only_their_own_port";
    /// Sends the Ethernet frame of `a1` bytes at `a0`. Returns 0 once the device has taken it.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) below
    /// [`FRAME_BYTES_MIN`](crate::packet::FRAME_BYTES_MIN); [`TooLong`](crate::Error::TooLong)
    /// beyond [`FRAME_BYTES_MAX`](crate::packet::FRAME_BYTES_MAX);
    /// [`BadAddress`](crate::Error::BadAddress) for an unreadable range;
    /// [`Unavailable`](crate::Error::Unavailable) without a network device or when it fails.
    PacketSend = 42 => fn packet_send(frame, len);
        errors [InvalidArgument, TooLong, BadAddress, Unavailable];
        authority Caller;
        covered by "udp_echo::two_environments_each_echo_only_their_own_port";
    /// Blocks until the caller's filter `a0`, run as a wake-up predicate over the `a2` bytes at
    /// `a1` in the caller's memory, matches. The scheduler runs it whenever it chooses what to
    /// run next; the bytes are read afresh each time, so a producer's store wakes the consumer.
    /// Returns 0 at once when it matches already, otherwise 0 when it comes true, or early when
    /// an upcall or a received frame wakes the caller (check the condition again); at once, as
    /// [`Syscall::Sleep`] does, when a frame reached one of its rings while it was awake.
    /// Errors: [`NotFound`](crate::Error::NotFound) when `a0` is not the caller's filter, or it is
    /// unloaded (after its strikes) while the caller sleeps; [`TooLong`](crate::Error::TooLong)
    /// beyond [`WATCHED_BYTES_MAX`](crate::filter::WATCHED_BYTES_MAX);
    /// [`BadAddress`](crate::Error::BadAddress) when the bytes are not all in one bound page, or
    /// when that page is unbound while the caller sleeps.
    SleepUntil = 43 => fn sleep_until(filter, address, len);
        errors [NotFound, TooLong, BadAddress];
        authority Caller;
        covered by "filters::wake_up_predicates_wake_consumers_and_hostile_filters_are_contained";
    /// Runs the receive path on the Ethernet frame of `a1` bytes at `a0` as if the network
    /// device had received it (the bound filters, the claimer's ring, the counters), for tests
    /// and benchmarks that need no network. The frame is offered to every bound filter when the
    /// caller is the init environment, and only to the caller's own otherwise (since ABI
    /// version 12; before, other callers were refused), so nobody can make up a frame for
    /// another environment. Returns 1 when a filter claimed it, 0 when nobody did.
    /// Errors: as [`Syscall::PacketSend`] (a missing device excepted).
    PacketInject = 44 => fn packet_inject(frame, len);
        errors [InvalidArgument, TooLong, BadAddress, Unavailable];
        authority Caller;
        covered by "protection::ring_counters_written_by_the_library_os_wrap";
    /// Creates an environment with an empty address space and no program, named for messages
    /// by the UTF-8 name of `a1` bytes at `a0`. The caller becomes its parent and gets a
    /// capability handle with every right ([`Rights::ALL`](crate::capability::Rights::ALL)) over it; the new
    /// environment holds [`PARENT`](crate::capability::PARENT) over the caller. It does not run
    /// until [`Syscall::EnvironmentStart`]; until then its parent can give it frames
    /// ([`Syscall::FrameGrant`]), bind them ([`Syscall::PageMapInto`]), share pages into it,
    /// kill it, and wait for it (which blocks until it ends), and it ends, is reaped and
    /// released like any other. This is how a library OS loads a program from its own file
    /// system, or forks.
    /// Errors: [`TooLong`](crate::Error::TooLong) when the name exceeds
    /// [`PROGRAM_NAME_MAX_BYTES`](crate::PROGRAM_NAME_MAX_BYTES);
    /// [`BadAddress`](crate::Error::BadAddress) for an unreadable range;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) when the name is not UTF-8;
    /// [`NoMemory`](crate::Error::NoMemory) when the caller holds
    /// [`CAPABILITIES_MAX`](crate::capability::CAPABILITIES_MAX) capabilities, 1024
    /// environments, living or unreaped, exist, no frame is free for its page table, or the
    /// caller's or the global [kernel-memory quota](crate::kernel_memory) has no room for it.
    EnvironmentCreate = 45 => fn environment_create(name, name_len);
        errors [TooLong, BadAddress, InvalidArgument, NoMemory];
        authority Caller;
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Starts the environment named by capability `a0`, made by [`Syscall::EnvironmentCreate`]:
    /// it runs from `rip = a1` with `rsp = a2`, `rdi = a3`, `rsi = a4`, every other register zero
    /// and interrupts enabled, as a spawned environment starts. Returns 0.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller; [`PermissionDenied`](crate::Error::PermissionDenied) when it lacks
    /// [`Rights::CONTROL`](crate::capability::Rights::CONTROL);
    /// [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment has ended;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) when that environment has started
    /// already (or was spawned); [`BadAddress`](crate::Error::BadAddress) when `a1` or `a2` is
    /// not below [`USER_END`](crate::USER_END).
    EnvironmentStart = 46 => fn environment_start(environment, rip, rsp, rdi, rsi);
        errors [BadCapability, PermissionDenied, NoSuchEnvironment, InvalidArgument, BadAddress];
        authority Capability { argument: 0, right: Rights::CONTROL };
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Ends environment `a1` with [`ExitReason::Killed`](crate::ExitReason::Killed), exactly as
    /// if it had ended by itself: its living descendants are killed with it, its frames are
    /// released, a waiting parent woken, and the console says so. `a1` must be the environment
    /// named by capability `a0` or one of its living descendants (its parent links lead up to
    /// that environment); `a1 = 0` names the environment of `a0` itself. Killing the caller or
    /// one of its ancestors (through [`SELF`](crate::capability::SELF), say) never returns;
    /// otherwise returns 0.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller; [`PermissionDenied`](crate::Error::PermissionDenied) when it lacks
    /// [`Rights::CONTROL`](crate::capability::Rights::CONTROL), or when `a1` names the init
    /// environment; [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when the
    /// environment of `a0` has ended, or `a1` is not a living environment of its subtree.
    EnvironmentKill = 47 => fn environment_kill(subtree, id);
        errors [BadCapability, PermissionDenied, NoSuchEnvironment];
        authority Capability { argument: 0, right: Rights::CONTROL };
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Binds frame `a2`, which the environment named by capability `a0` owns, at page address
    /// `a1` of that environment's address space with rights `a3` (see
    /// [`PageRights`](crate::PageRights)): a root binding, as [`Syscall::PageMap`] makes for
    /// the caller. With [`Syscall::FrameGrant`] this builds another environment's address space
    /// from frames the caller filled. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when `a1` is not a page-aligned
    /// user-half address; [`InvalidArgument`](crate::Error::InvalidArgument) for unknown rights
    /// bits; [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of the
    /// caller; [`PermissionDenied`](crate::Error::PermissionDenied) when it lacks
    /// [`Rights::SHARE`](crate::capability::Rights::SHARE);
    /// [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment has ended;
    /// [`PermissionDenied`](crate::Error::PermissionDenied) when that environment does not own
    /// the frame; [`Occupied`](crate::Error::Occupied) when the page is already mapped;
    /// [`NoMemory`](crate::Error::NoMemory) when a page-table page cannot be allocated or the
    /// binding would go over the target's or the global
    /// [kernel-memory quota](crate::kernel_memory) (it is charged to the target).
    PageMapInto = 48 => fn page_map_into(target, address, frame, rights);
        errors [BadAddress, InvalidArgument, PermissionDenied, Occupied, NoMemory, BadCapability, NoSuchEnvironment];
        authority Capability { argument: 0, right: Rights::SHARE };
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Lists the caller's bindings with page address `a2` or above and below `a3` whose
    /// [`PageRights`](crate::PageRights) include every bit of `a4`, in increasing address
    /// order: writes at most `a1` (and at most [`PAGE_BATCH_MAX`](crate::PAGE_BATCH_MAX))
    /// [`PageBinding`](crate::PageBinding)s to `a0`, each with the rights and
    /// [`PageFlags`](crate::PageFlags) bits [`Syscall::PageQuery`] reports. Returns how many
    /// it wrote; fewer than asked means there are no more (ask again from the last address
    /// plus one page for the next ones). `a3 = u64::MAX` lists to the end of the user half,
    /// `a4 = 0` every binding. Each binding looked at costs the kernel some hundred
    /// instructions and each one written some hundred more: a library OS lists only the
    /// ranges it needs, and asks with `a4` whether a range holds a writable page, say, without
    /// reading every binding of it.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) for unknown rights bits in
    /// `a4`; [`BadAddress`](crate::Error::BadAddress) when the buffer is not writable.
    PageList = 49 => fn page_list(buffer, capacity, from, end, required_rights);
        errors [InvalidArgument, BadAddress];
        authority Caller;
        covered by "environments::environments_are_built_started_killed_and_inspected";
    /// Reads bytes typed on the serial console into the `a1` bytes at `a0`. The kernel buffers
    /// up to [`CONSOLE_READ_MAX_BYTES`](crate::CONSOLE_READ_MAX_BYTES) received bytes (polled
    /// whenever it schedules, so at least once a slot); past that the port holds them back.
    /// Blocks until at least one byte is buffered, then returns how many it copied (at most
    /// `a1`); with [`ConsoleReadFlags::NONBLOCKING`](crate::ConsoleReadFlags::NONBLOCKING) in the flags `a2`,
    /// returns 0 at once instead of blocking. `a1 = 0` returns 0 at once. The console is one
    /// device, shared by whoever reads it: each byte goes to one reader, so a library OS that
    /// runs several programs decides which of them reads (a shell, say). A blocked read that an
    /// upcall interrupts, or that another reader overtakes, is restarted when the caller
    /// resumes (the upcall sees `rip` at the `syscall` instruction).
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) for unknown flag bits;
    /// [`TooLong`](crate::Error::TooLong) when `a1` exceeds
    /// [`CONSOLE_READ_MAX_BYTES`](crate::CONSOLE_READ_MAX_BYTES);
    /// [`BadAddress`](crate::Error::BadAddress) when any byte of the buffer is not
    /// user-writable or the range wraps.
    ConsoleRead = 50 => fn console_read(buffer, len, flags);
        errors [InvalidArgument, TooLong, BadAddress];
        authority Caller;
        covered by "shell::usertests_pass_and_ctrl_c_stops_the_foreground_program";
    /// Returns the bytes of kernel heap charged to the environment that capability `a0` names
    /// ([`SELF`](crate::capability::SELF) for the caller; any right will do): what the kernel
    /// holds on its behalf, under the quota that [`kernel_memory`](crate::kernel_memory)
    /// describes, at most [`PER_ENVIRONMENT_MAX`](crate::kernel_memory::PER_ENVIRONMENT_MAX).
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller; [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment
    /// has ended.
    KernelMemory = 51 => fn kernel_memory(target);
        errors [BadCapability, NoSuchEnvironment];
        authority Capability { argument: 0, right: ANY_RIGHT };
        covered by "hostile::no_program_can_exhaust_the_kernel_heap";
    /// Creates an endpoint served by the caller (see [`ipc`](crate::ipc)) and returns a
    /// capability handle over it with [`Rights::CALL`](crate::capability::Rights::CALL) and
    /// [`Rights::RECEIVE`](crate::capability::Rights::RECEIVE); copies with
    /// [`Rights::CALL`](crate::capability::Rights::CALL) alone go to its clients through
    /// [`Syscall::CapabilityCopy`]. The endpoint lasts as long as the caller; it is charged
    /// [`ENDPOINT_BYTES`](crate::kernel_memory::ENDPOINT_BYTES) of kernel memory.
    /// Errors: [`NoMemory`](crate::Error::NoMemory) when the caller's capability table is full
    /// or the endpoint would go over its or the global
    /// [kernel-memory quota](crate::kernel_memory).
    EndpointCreate = 52 => fn endpoint_create();
        errors [NoMemory];
        authority Caller;
        covered by "ipc::calls_cross_address_spaces_in_order_and_each_failure_is_reported";
    /// Calls the endpoint named by capability `a0` with the message `a1`, `a2`, `a3`, `a4` and
    /// waits for the reply, which comes back in the same registers (`rsi`, `rdx`, `r10`, `r8`);
    /// returns 0. `a5` lends a page for the call: 0 for none, or the page address of one of the
    /// caller's bindings with [`LendFlags`](crate::ipc::LendFlags) in its low bits (see
    /// [`ipc`](crate::ipc)). The caller gives the rest of its slot to the server.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller or names an environment; [`PermissionDenied`](crate::Error::PermissionDenied)
    /// when it lacks [`Rights::CALL`](crate::capability::Rights::CALL), or when `a5` lends a page
    /// writable that the caller may not write;
    /// [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when the endpoint's server has
    /// ended, before or during the call; [`InvalidArgument`](crate::Error::InvalidArgument) when
    /// the caller serves the endpoint itself, or for unknown lending flags;
    /// [`BadAddress`](crate::Error::BadAddress) when the lent page is outside the user half;
    /// [`NotFound`](crate::Error::NotFound) when nothing is bound there.
    EndpointCall = 53 => fn endpoint_call(endpoint, word0, word1, word2, word3, lend) -> Message;
        errors [BadCapability, PermissionDenied, NoSuchEnvironment, InvalidArgument, BadAddress, NotFound];
        authority Capability { argument: 0, right: Rights::CALL };
        covered by "ipc::calls_cross_address_spaces_in_order_and_each_failure_is_reported";
    /// Serves the endpoint named by capability `a0`: with
    /// [`ReplyAndWaitFlags::REPLY`](crate::ipc::ReplyAndWaitFlags::REPLY) in `a5`, first replies
    /// `a1`, `a2`, `a3`, `a4` to the call being served (once: the right to reply is used up; a
    /// reply to a caller that has ended goes nowhere), or with
    /// [`ReplyAndWaitFlags::DEFER`](crate::ipc::ReplyAndWaitFlags::DEFER) keeps that caller
    /// waiting for a later [`EndpointReply`](Syscall::EndpointReply); then waits for the next
    /// call. Returns the caller's environment id, with [`LENT`](crate::ipc::LENT) when it lent a
    /// page, and the call's message in `rsi`, `rdx`, `r10`, `r8`; with
    /// [`ReplyAndWaitFlags::CHILD_ENDS`](crate::ipc::ReplyAndWaitFlags::CHILD_ENDS) in `a5`, it
    /// may return [`CHILD_ENDED`](crate::ipc::CHILD_ENDED) instead (see [`ipc`](crate::ipc)).
    /// The page address in `a5` (above its flag bits; 0 for none) is where a lent page is
    /// bound; when something is bound there already, the call arrives without the page.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller or names an environment; [`PermissionDenied`](crate::Error::PermissionDenied)
    /// when it lacks [`Rights::RECEIVE`](crate::capability::Rights::RECEIVE);
    /// [`InvalidArgument`](crate::Error::InvalidArgument) for unknown flag bits, both
    /// [`REPLY`](crate::ipc::ReplyAndWaitFlags::REPLY) and
    /// [`DEFER`](crate::ipc::ReplyAndWaitFlags::DEFER), or either when no call is being served;
    /// [`Occupied`](crate::Error::Occupied) when waiting without replying to the call being
    /// served; [`BadAddress`](crate::Error::BadAddress) when the window is outside the user
    /// half.
    EndpointReplyAndWait = 54 => fn endpoint_reply_and_wait(endpoint, word0, word1, word2, word3, flags) -> Message;
        errors [BadCapability, PermissionDenied, InvalidArgument, Occupied, BadAddress];
        authority Capability { argument: 0, right: Rights::RECEIVE };
        covered by "ipc::calls_cross_address_spaces_in_order_and_each_failure_is_reported";
    /// Writes the kernel's [`KernelCounters`](crate::KernelCounters) at `a0` (32 bytes), so
    /// that a benchmark can tell how many kernel entries, switches and copied bytes an
    /// operation took, and how long the CPU halted meanwhile. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when the 32 bytes are not
    /// user-writable.
    KernelCounters = 55 => fn kernel_counters(buffer);
        errors [BadAddress];
        authority Caller;
        covered by "ipc::calls_cross_address_spaces_in_order_and_each_failure_is_reported";
    /// Replies `a2`, `a3`, `a4`, `a5` to caller `a1` (its environment id), whose call on the
    /// endpoint named by capability `a0` the caller (its server) deferred with
    /// [`ReplyAndWaitFlags::DEFER`](crate::ipc::ReplyAndWaitFlags::DEFER): the deferred caller's
    /// [`EndpointCall`](Syscall::EndpointCall) returns them. The right to reply is used up. Returns 0; the server goes on running.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller or names an environment; [`PermissionDenied`](crate::Error::PermissionDenied)
    /// when it lacks [`Rights::RECEIVE`](crate::capability::Rights::RECEIVE);
    /// [`NotFound`](crate::Error::NotFound) when `a1` has no deferred call on the endpoint
    /// (never had, was answered already, or has ended).
    EndpointReply = 56 => fn endpoint_reply(endpoint, caller, word0, word1, word2, word3);
        errors [BadCapability, PermissionDenied, NotFound];
        authority Capability { argument: 0, right: Rights::RECEIVE };
        covered by "ipc::calls_cross_address_spaces_in_order_and_each_failure_is_reported";
    /// Offers the `a1` bytes at `a0` to the server of the caller's next
    /// [`EndpointCall`](Syscall::EndpointCall), writable with
    /// [`GrantFlags::WRITABLE`](crate::ipc::GrantFlags::WRITABLE) in `a2`: while that server
    /// holds the call (serving it, or deferred), it may copy into or out of them with
    /// [`EndpointCopy`](Syscall::EndpointCopy) (see [`ipc`](crate::ipc)). The grant goes when
    /// that call returns, however it returns; a new grant replaces the one before, and a length
    /// of 0 withdraws it. The bytes need not be mapped yet: each copy checks them. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when the range is not inside the user
    /// half; [`InvalidArgument`](crate::Error::InvalidArgument) for unknown flags.
    EndpointGrant = 57 => fn endpoint_grant(address, length, flags);
        errors [BadAddress, InvalidArgument];
        authority Caller;
        covered by "ipc::calls_cross_address_spaces_in_order_and_each_failure_is_reported";
    /// Copies `a4` bytes (at most [`COPY_BYTES_MAX`](crate::ipc::COPY_BYTES_MAX)) between the
    /// caller's memory at `a3` and the bytes caller `a1` (an
    /// environment id) granted with [`EndpointGrant`](Syscall::EndpointGrant), from byte `a2`
    /// of the grant: into the grant with [`CopyFlags::TO_GRANT`](crate::ipc::CopyFlags::TO_GRANT)
    /// in `a5`, out of it otherwise. The caller must serve the endpoint named by capability `a0` and
    /// hold `a1`'s call on it (serving it, or deferred). Every page of both ranges is checked
    /// before a byte moves: the copy is whole or nothing. Returns 0.
    /// Errors: [`BadCapability`](crate::Error::BadCapability) when `a0` names no capability of
    /// the caller or names an environment; [`PermissionDenied`](crate::Error::PermissionDenied)
    /// when it lacks [`Rights::RECEIVE`](crate::capability::Rights::RECEIVE), or when copying into a
    /// grant not made writable; [`NotFound`](crate::Error::NotFound) when the caller holds no
    /// call of `a1` on the endpoint, or `a1` granted nothing;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) when the bytes run past the grant,
    /// or for unknown flags; [`BadAddress`](crate::Error::BadAddress) when a page of either
    /// range is not mapped for the copy (the grant's writable, for a copy into it);
    /// [`TooLong`](crate::Error::TooLong) past [`COPY_BYTES_MAX`](crate::ipc::COPY_BYTES_MAX).
    EndpointCopy = 58 => fn endpoint_copy(endpoint, caller, offset, address, length, flags);
        errors [BadCapability, PermissionDenied, NotFound, InvalidArgument, BadAddress, TooLong];
        authority Capability { argument: 0, right: Rights::RECEIVE };
        covered by "ipc::calls_cross_address_spaces_in_order_and_each_failure_is_reported";
    /// Shares the caller's view of the [region](crate::region) at `a0` (a multiple of
    /// [`region::BYTES`](crate::region::BYTES)) into the environment named by capability `a1`,
    /// at the region at `a2` there (the same address, or another), as one secure binding: the
    /// target's page table points at the region's own last-level table, so the target sees
    /// every page its owner (the caller, or the environment the caller borrowed the region
    /// from) binds there, now and later, with the owner's rights, narrowed to reading unless
    /// the flags `a3` ([`region::ShareFlags`](crate::region::ShareFlags)) have
    /// [`WRITABLE`](crate::region::ShareFlags::WRITABLE). While a region is lent, the owner's
    /// bindings in it report [`PageFlags::HAS_DERIVED`](crate::PageFlags::HAS_DERIVED). The
    /// target cannot bind, unbind or protect pages in a borrowed region (those calls fail there
    /// as on pages bound by another); [`Syscall::PageQuery`] reports the owner's binding, not
    /// owned. The share ends
    /// when the target ends, and with the owner for every borrower. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when `a0` or `a2` is not a region's
    /// address in the user half; [`InvalidArgument`](crate::Error::InvalidArgument) for unknown flags;
    /// [`BadCapability`](crate::Error::BadCapability) when `a1` names no capability of the
    /// caller; [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment has
    /// ended; [`PermissionDenied`](crate::Error::PermissionDenied) when the capability lacks
    /// [`Rights::SHARE`](crate::capability::Rights::SHARE), or when writing is asked of a region the
    /// caller borrowed for reading; [`NotFound`](crate::Error::NotFound) when the caller has
    /// never bound a page in the region; [`Occupied`](crate::Error::Occupied) when the target
    /// has a page table or a borrowed region there (the caller itself included);
    /// [`NoMemory`](crate::Error::NoMemory) when a page-table page cannot be allocated or the
    /// share would go over the target's or the global
    /// [kernel-memory quota](crate::kernel_memory) (it is charged to the target as a binding).
    RegionShare = 59 => fn region_share(address, target, target_address, flags);
        errors [BadAddress, InvalidArgument, BadCapability, NoSuchEnvironment, PermissionDenied, NotFound, Occupied, NoMemory];
        authority Capability { argument: 1, right: Rights::SHARE };
        covered by "pages::pages_are_shared_flushed_and_granted_between_environments";
    /// Copies the caller's page at `a0` (bound readable in the caller's view, a borrowed
    /// region's included) into a fresh frame owned by the environment named by capability
    /// `a1`, and binds that frame at page address `a2` of its address space with rights `a3`
    /// (see [`PageRights`](crate::PageRights)), a root binding: what
    /// [`Syscall::FrameAllocate`], a copy through a page of the caller's, [`Syscall::FrameGrant`]
    /// and [`Syscall::PageMapInto`] do together, in one call (a forked child's private pages).
    /// `a1` may name the caller itself. Returns the new frame.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when `a0` or `a2` is not a page-aligned
    /// user-half address, or nothing readable is bound at `a0`;
    /// [`InvalidArgument`](crate::Error::InvalidArgument) for unknown rights bits;
    /// [`BadCapability`](crate::Error::BadCapability) when `a1` names no capability of the
    /// caller; [`PermissionDenied`](crate::Error::PermissionDenied) when it lacks
    /// [`Rights::SHARE`](crate::capability::Rights::SHARE);
    /// [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment) when its environment has ended;
    /// [`Occupied`](crate::Error::Occupied) when a page is bound at `a2` there (a borrowed
    /// region's included); [`NoMemory`](crate::Error::NoMemory) when no frame is free, a
    /// page-table page cannot be allocated, or the binding would go over the target's or the
    /// global [kernel-memory quota](crate::kernel_memory). Nothing changes on an error.
    PageCopyInto = 60 => fn page_copy_into(address, target, target_address, rights);
        errors [BadAddress, InvalidArgument, BadCapability, PermissionDenied, NoSuchEnvironment, Occupied, NoMemory];
        authority Capability { argument: 1, right: Rights::SHARE };
        covered by "pages::pages_are_shared_flushed_and_granted_between_environments";
    /// Reports the hardware's accessed and dirty bits of the caller's own bindings with page
    /// address `a2` or above and below `a3`, in increasing address order, so that a pager can
    /// run CLOCK or find its dirty pages without a fault per reference: writes at most `a1`
    /// (and at most [`PAGE_BATCH_MAX`](crate::PAGE_BATCH_MAX)) words to `a0`, one for each
    /// page whose accessed or dirty bit is set, the page address with
    /// [`PageUse`](crate::PageUse) bits in its low bits; then clears the bits of `a4`
    /// ([`PageUse`](crate::PageUse) bits) on each page it reported, so that the hardware
    /// sets them again at the page's next use. Returns how many words it wrote; fewer than
    /// asked means there are no more (ask again from the last address plus one page). Pages
    /// used since their binding was made, or since their bits were last cleared, are
    /// reported; a rights change ([`Syscall::PageProtect`]) keeps the bits. In a region the
    /// caller lends ([`Syscall::RegionShare`]) the bits count the borrowers' uses too; pages
    /// the caller borrows are not its bindings and are not reported. Each binding looked at
    /// costs the kernel some hundred instructions: a pager asks for the range it manages.
    /// Errors: [`InvalidArgument`](crate::Error::InvalidArgument) for unknown bits in `a4`;
    /// [`BadAddress`](crate::Error::BadAddress) when the buffer is not writable (nothing is
    /// cleared then).
    PageUsage = 61 => fn page_usage(buffer, capacity, from, end, clear);
        errors [InvalidArgument, BadAddress];
        authority Caller;
        covered by "pages::frames_are_bound_checked_and_taken_back";
    /// Writes the kernel's [`ClockInfo`](crate::ClockInfo) at `a0` (64 bytes): the
    /// time-stamp counter's rate, measured at boot, and the real-time clock's reading at boot
    /// with the counter's value then, from which a library OS keeps its monotonic clock and the
    /// time of day without measuring anything itself. Returns 0.
    /// Errors: [`BadAddress`](crate::Error::BadAddress) when the 64 bytes are not
    /// user-writable (nothing is written).
    ClockInfo = 62 => fn clock_info(buffer);
        errors [BadAddress];
        authority Caller;
        covered by "clock::date_prints_this_year_and_instants_measure_a_sleep";
    /// Copies many of the caller's pages at once: `a1` points at `a2` page addresses (`u64`),
    /// in increasing order, each copied as by [`Syscall::PageCopyInto`] into a fresh frame of
    /// the environment named by capability `a0` and bound there at the same address with
    /// rights `a3` (a forked child's private pages, in one call). Every entry is checked before
    /// any frame is taken, and the batch takes effect whole or not at all. Returns `a2`.
    /// Errors: [`TooLong`](crate::Error::TooLong) for more than
    /// [`PAGE_BATCH_MAX`](crate::PAGE_BATCH_MAX) entries; [`BadAddress`](crate::Error::BadAddress)
    /// for an unreadable list; [`InvalidArgument`](crate::Error::InvalidArgument) when an
    /// address is not above the one before it; otherwise as [`Syscall::PageCopyInto`] for the
    /// first bad entry. Nothing changes on an error.
    PageCopyBatch = 63 => fn page_copy_batch(target, addresses, count, rights);
        errors [TooLong, BadAddress, InvalidArgument, BadCapability, PermissionDenied, NoSuchEnvironment, Occupied, NoMemory];
        authority Capability { argument: 0, right: Rights::SHARE };
        covered by "pages::a_forked_child_borrows_the_code_whole_unless_it_was_made_writable";
}

//! The kernel-memory quota. Every allocation the kernel makes on an environment's behalf is
//! charged to it, in bytes of kernel heap, until the object goes; [`Syscall::KernelMemory`]
//! reports the charge. A call whose charge would take its environment over
//! [`PER_ENVIRONMENT_MAX`], or all environments together over the global limit, fails with
//! [`Error::NoMemory`] and changes nothing. The global limit is what the kernel heap holds
//! beyond the kernel's own tables and a reserve for its own needs (the power-off report prints
//! it), so no set of environments can exhaust the heap.
//!
//! What is charged, and to whom:
//!
//! - a binding ([`Syscall::PageMap`], [`Syscall::PageMapInto`], [`Syscall::PageShare`], the
//!   batches, and the pages a spawned program is loaded into): [`BINDING_BYTES`], to the
//!   environment whose address space holds it (which consented: only it, or whoever holds
//!   [`SHARE`](crate::capability::Rights::SHARE) over it, binds there), until the binding goes
//!   by whatever path;
//! - a filter ([`Syscall::FilterLoad`]): the heap its load took, measured, plus
//!   [`FILTER_RUN_BYTES`], to the environment that loaded it, until it is unloaded;
//! - an environment ([`Syscall::Spawn`], [`Syscall::EnvironmentCreate`]): [`ENVIRONMENT_BYTES`],
//!   to its creator, while it lives;
//! - an endpoint ([`Syscall::EndpointCreate`]): [`ENDPOINT_BYTES`], to its server, while it
//!   lives (a caller queued on it is counted in its own [`ENVIRONMENT_BYTES`]: it waits in one
//!   queue at a time).
//!
//! Everything charged to an environment is given back when it ends. The rest of what the
//! kernel keeps for an environment has a fixed bound and is counted in [`ENVIRONMENT_BYTES`]
//! (its capability table, at most [`CAPABILITIES_MAX`](crate::capability::CAPABILITIES_MAX)
//! entries; its pending upcalls, at most one per event; its sleep and revocation records).
//!
//! [`Syscall::KernelMemory`]: crate::Syscall::KernelMemory
//! [`Syscall::PageMap`]: crate::Syscall::PageMap
//! [`Syscall::PageMapInto`]: crate::Syscall::PageMapInto
//! [`Syscall::PageShare`]: crate::Syscall::PageShare
//! [`Syscall::FilterLoad`]: crate::Syscall::FilterLoad
//! [`Syscall::Spawn`]: crate::Syscall::Spawn
//! [`Syscall::EnvironmentCreate`]: crate::Syscall::EnvironmentCreate
//! [`Syscall::EndpointCreate`]: crate::Syscall::EndpointCreate
//! [`Error::NoMemory`]: crate::Error::NoMemory

/// Most bytes of kernel heap charged to one environment at once: about 13,000 bindings (51 MiB
/// of memory mapped), or about 18 filters of [`MODULE_BYTES_MAX`](crate::filter::MODULE_BYTES_MAX)
/// bytes with a linear memory and a large table.
pub const PER_ENVIRONMENT_MAX: usize = 8 * 1024 * 1024;

/// The charge for one binding: an upper bound of what the mapping database allocates for it
/// (its record in the environment's tree, its entry in the frame's index, its entry among the
/// bindings derived from its source), whatever the pattern of pages, frames and derivations.
/// Measured: about 200 bytes for many pages of one frame, 424 for a frame each, 394 for a
/// chain of derived bindings; the bound allows for half-full tree nodes.
pub const BINDING_BYTES: usize = 640;

/// The charge for one environment, to its creator: an upper bound of its table entry and
/// machine state with a full capability table and every pending upcall.
pub const ENVIRONMENT_BYTES: usize = 8 * 1024;

/// The charge for one endpoint, to its server: an upper bound of its entry in the kernel's
/// endpoint tree and its empty queue.
pub const ENDPOINT_BYTES: usize = 256;

/// Quota that must be left for a [`Syscall::FilterLoad`](crate::Syscall::FilterLoad) to be
/// tried: an upper bound of the heap one load of a module of at most
/// [`MODULE_BYTES_MAX`](crate::filter::MODULE_BYTES_MAX) bytes takes.
pub const FILTER_LOAD_BYTES_MAX: usize = 512 * 1024;

/// Added to each filter's charge: an upper bound of what its runs keep between runs (a value
/// stack of at most 64 KiB and the frames of at most 256 nested calls).
pub const FILTER_RUN_BYTES: usize = 96 * 1024;

//! The world: the memory every process of this library OS shares, bound at [`WORLD_BASE`] in
//! each. It holds the terminal, the pipes, the process table, and the file system with its
//! buffer cache, so that two processes writing one file see each other's data.
//!
//! The first process (init) makes the world: it binds fresh frames there, presents the
//! library's disk credential and mounts the file system. Every process shares the whole world
//! into each child it starts, writable. All zeros is a valid world (empty terminal, unused
//! pipes, empty process table, no file system), so fresh frames need no construction.

use crate::error::{Errno, Result};
use crate::files::FileSystemCell;
use crate::layout::{PAGE_BYTES, WORLD_BASE, WORLD_MAX_BYTES};
use crate::pipes::PipeTable;
use crate::process_table::ProcessTable;
use crate::runtime::world_memory;
use crate::servers::Servers;
use crate::syscall::{self, Capability};
use crate::tty::Terminal;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use exo_abi::region::{self, ShareFlags};

/// The first word of every world (`runtime::world_memory` writes and checks it).
pub(crate) const MAGIC: u64 = 0x574f_524c_4421_0001;

/// The shared state.
#[repr(C)]
#[derive(Debug)]
pub struct World {
    pub(crate) magic: u64,
    /// The process that made the world (init), which may power the machine off.
    pub root: u32,
    /// The serial console's input.
    pub terminal: Terminal,
    /// Every pipe.
    pub pipes: PipeTable,
    /// Every process.
    pub processes: ProcessTable,
    /// The file system (its cache is on the pages after this header).
    pub files: FileSystemCell,
    /// Whether a handle to the cache's pages exists (see `runtime::world_memory::CachePages`).
    pub(crate) cache_is_taken: AtomicBool,
    /// On the microkernel path, the number of the file server's endpoint plus one (0: the
    /// library OS path, on the world's own file system).
    file_server_plus_one: AtomicU64,
    /// On the microkernel path, the number of the process server's endpoint plus one.
    process_server_plus_one: AtomicU64,
}

impl World {
    /// The number of the file server's endpoint (as `syscall::capability_inspect` tells it)
    /// on the microkernel path; `None` on the library OS path.
    pub fn file_server(&self) -> Option<u64> {
        self.file_server_plus_one
            .load(Ordering::Acquire)
            .checked_sub(1)
    }

    /// The number of the process server's endpoint on the microkernel path; `None` on the
    /// library OS path.
    pub fn process_server(&self) -> Option<u64> {
        self.process_server_plus_one
            .load(Ordering::Acquire)
            .checked_sub(1)
    }

    /// Whether this process holds one of the world's locks.
    pub fn is_locked_by_me(&self) -> bool {
        let me = Some(syscall::environment_id());
        [
            self.terminal.lock(),
            self.pipes.lock(),
            self.processes.lock(),
            self.files.lock(),
        ]
        .iter()
        .any(|lock| lock.holder() == me)
    }
}

/// Bytes of the world: its header, then the buffer cache (see `files`).
pub const fn world_bytes() -> u64 {
    crate::files::cache_offset() + crate::files::cache_bytes()
}

/// Pages of the world.
pub(crate) const fn world_pages() -> u64 {
    world_bytes().div_ceil(PAGE_BYTES)
}

pub use world_memory::{adopt, get};

/// The world, or [`Errno::NoFileSystem`] outside one.
pub fn require() -> Result<&'static World> {
    get().ok_or(Errno::NoFileSystem)
}

/// Makes the world in this process (the first of the library OS).
pub fn create() -> Result<&'static World> {
    world_memory::create(syscall::environment_id())
}

/// Makes this process (started by the kernel) the root of a new world: makes the world,
/// mounts the file system, and lets the library handle this process's faults. Says what
/// failed, for a message.
pub fn start_as_root(
    program_name: &str,
) -> core::result::Result<&'static World, (&'static str, Errno)> {
    crate::process::install(0, "/", program_name);
    let world = create().map_err(|error| ("making the world", error))?;
    crate::files::mount().map_err(|error| ("mounting the file system", error))?;
    crate::exceptions::install_library_handler()
        .map_err(|error| ("registering the fault handler", error.into()))?;
    Ok(world)
}

/// Makes this process (started by the kernel) the root of a new world whose files and
/// processes `servers` serve (`servers::start`): the microkernel path. Says what failed, for a
/// message.
pub fn start_as_root_served(
    program_name: &str,
    servers: &Servers,
) -> core::result::Result<&'static World, (&'static str, Errno)> {
    crate::process::install(0, "/", program_name);
    let (files, _) = syscall::capability_inspect(servers.files)
        .map_err(|error| ("naming the file server", error.into()))?;
    let (processes, _) = syscall::capability_inspect(servers.processes)
        .map_err(|error| ("naming the process server", error.into()))?;
    let world = create().map_err(|error| ("making the world", error))?;
    world
        .file_server_plus_one
        .store(u64::from(files) + 1, Ordering::Release);
    world
        .process_server_plus_one
        .store(u64::from(processes) + 1, Ordering::Release);
    crate::exceptions::install_library_handler()
        .map_err(|error| ("registering the fault handler", error.into()))?;
    Ok(world)
}

/// Shares the whole world into `child`, writable, at the same address: each of its regions as
/// one binding, whatever the number of its pages.
pub fn share_into(child: Capability) -> Result<()> {
    for region in (WORLD_BASE..regions_end()).step_by(region::BYTES as usize) {
        syscall::region_share(region, child, ShareFlags::WRITABLE)?;
    }
    Ok(())
}

/// Whether the page at `address` is one of the world's regions (shared whole, never page by
/// page).
pub fn is_world(address: u64) -> bool {
    (WORLD_BASE..regions_end()).contains(&address)
}

/// The first address above the world's last region.
pub const fn regions_end() -> u64 {
    WORLD_BASE + (world_pages() * PAGE_BYTES).div_ceil(region::BYTES) * region::BYTES
}
const _: () = assert!(regions_end() <= WORLD_BASE + WORLD_MAX_BYTES);

//! The world's memory (see `world`): binding it in the process that makes it, recognising it in
//! a process that joins it, the pointer every use goes through, and the buffer cache's pages
//! after the world's header.

use crate::error::{Errno, Result};
use crate::files::{CACHE_SLOTS, cache_offset};
use crate::layout::{PAGE_BYTES, WORLD_BASE};
use crate::syscall;
use crate::world::{MAGIC, World, world_pages};
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicPtr, Ordering};
use exo_abi::PageRights;
use posix_fs::CachedBlock;

/// Null, or [`WORLD_BASE`] once [`create`] or [`adopt`] found a world bound there.
static WORLD: AtomicPtr<World> = AtomicPtr::new(core::ptr::null_mut());

/// The world, when this process lives in one.
pub fn get() -> Option<&'static World> {
    let world = WORLD.load(Ordering::Acquire);
    // SAFETY: WORLD is null or WORLD_BASE after `create` or `adopt` found the world bound there;
    // it stays bound for the process's life and is only read through `&` (its parts are written
    // under their own locks, or are atomic).
    unsafe { world.as_ref() }
}

/// Binds fresh frames over every page of the world and makes them a world whose root is
/// environment `root`. Fails when frames run out, or when a page there is bound already (a
/// world, or part of one, is there).
pub(crate) fn create(root: u32) -> Result<&'static World> {
    for page in 0..world_pages() {
        let frame = syscall::frame_allocate(None)?;
        if let Err(error) =
            syscall::page_map(WORLD_BASE + page * PAGE_BYTES, frame, PageRights::WRITABLE)
        {
            let _ = syscall::frame_free(frame);
            return Err(error.into());
        }
    }
    let world = WORLD_BASE as *mut World;
    // SAFETY: every page of the world was free (a bound page makes `page_map` fail with
    // `Occupied`) and is now bound writable to a fresh frame, zeroed by the kernel; all zeros
    // is a valid World (see `world`), and only this process sees the pages yet.
    unsafe {
        (*world).magic = MAGIC;
        (*world).root = root;
    }
    WORLD.store(world, Ordering::Release);
    get().ok_or(Errno::NoFileSystem)
}

/// Joins the world a parent shared into this process.
pub fn adopt() -> Result<&'static World> {
    syscall::page_query(WORLD_BASE).map_err(|_| Errno::NoFileSystem)?;
    let world = WORLD_BASE as *mut World;
    // SAFETY: a page is bound at WORLD_BASE (checked above), so its first word can be read;
    // only a parent of this library puts one there, with the rest of the world after it.
    if unsafe { (*world).magic } != MAGIC {
        return Err(Errno::NoFileSystem);
    }
    WORLD.store(world, Ordering::Release);
    get().ok_or(Errno::NoFileSystem)
}

/// The buffer cache's slots, on the world's pages after its header: a handle of which at most
/// one exists per world, since it gives mutable access (the mounted file system holds it).
#[derive(Debug)]
pub(crate) struct CachePages {
    world: &'static World,
}

impl CachePages {
    /// The cache of this process's world, unless a handle to it exists already (in any process).
    pub(crate) fn take() -> Option<CachePages> {
        let world = get()?;
        world
            .cache_is_taken
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        Some(CachePages { world })
    }

    fn start() -> *mut CachedBlock {
        (WORLD_BASE + cache_offset()) as *mut CachedBlock
    }
}

impl Drop for CachePages {
    fn drop(&mut self) {
        self.world.cache_is_taken.store(false, Ordering::Release);
    }
}

impl Deref for CachePages {
    type Target = [CachedBlock];

    fn deref(&self) -> &[CachedBlock] {
        // SAFETY: the cache's pages are the world's last, bound in every process that has the
        // world (`world_bytes` counts them), page-aligned, and all zeros is an empty slot; this
        // handle is the only one (see `take`), so no `&mut` to them lives while `self` is lent.
        unsafe { core::slice::from_raw_parts(Self::start(), CACHE_SLOTS) }
    }
}

impl DerefMut for CachePages {
    fn deref_mut(&mut self) -> &mut [CachedBlock] {
        // SAFETY: as in `deref`; `self` is borrowed mutably, so this is the only reference.
        unsafe { core::slice::from_raw_parts_mut(Self::start(), CACHE_SLOTS) }
    }
}

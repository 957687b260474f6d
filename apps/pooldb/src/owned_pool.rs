//! The custom path's memory and disk: frames this program allocates and binds at
//! [`POOL_ADDRESS`], one pool slot each, and disk blocks allocated to its own durable owner.

use exo_abi::PageRights;
use libos_custom::block_device::Block;
use libos_custom::kernel_blocks::KernelBlocks;
use libos_custom::memory::{BufferPool, PoolPages, ReplacementPolicy};
use libos_posix::syscall::{self, Kernel};

/// Where the pool's frames are bound.
const POOL_ADDRESS: u64 = 0x6100_0000_0000;
/// The durable owner of this program's blocks (a bearer secret of its own, not the POSIX
/// library OS's).
const CREDENTIAL: [u8; 16] = *b"pooldb demo key!";

/// The pool's memory: [`crate::POOL_FRAMES`] frames bound writable at [`POOL_ADDRESS`].
fn bind_frames() -> Result<&'static mut [Block], &'static str> {
    for index in 0..crate::POOL_FRAMES as u64 {
        let address = POOL_ADDRESS + index * 4096;
        if syscall::page_query(address).is_ok() {
            continue;
        }
        syscall::frame_allocate(None)
            .and_then(|frame| syscall::page_map(address, frame, PageRights::WRITABLE))
            .map_err(|_| "cannot bind the pool's frames")?;
    }
    // SAFETY: the pages from POOL_ADDRESS on are bound writable to frames this program owns,
    // page-aligned as a `Block` must be, and reached through this slice alone; the program
    // keeps them bound until it exits.
    Ok(unsafe { core::slice::from_raw_parts_mut(POOL_ADDRESS as *mut Block, crate::POOL_FRAMES) })
}

/// Disk blocks of this program's own, and the frames of its pools.
pub struct OwnedBlocks {
    blocks: Option<KernelBlocks<Kernel>>,
    frames: Option<&'static mut [Block]>,
}

impl OwnedBlocks {
    /// Runs `action` on a pool with `policy` over the first `pages` of the blocks.
    pub fn with_pool<P: ReplacementPolicy, T>(
        &mut self,
        policy: P,
        pages: u64,
        action: impl FnOnce(
            &mut PoolPages<KernelBlocks<Kernel>, P, &'static mut [Block]>,
        ) -> Result<T, &'static str>,
    ) -> Result<T, &'static str> {
        let (Some(blocks), Some(frames)) = (self.blocks.take(), self.frames.take()) else {
            return Err("the blocks are in use");
        };
        let pool = BufferPool::new(blocks, policy, frames);
        let mut store = PoolPages::new(pool, 0, pages);
        let outcome = action(&mut store);
        let (blocks, _, frames) = store.into_pool().into_parts();
        self.blocks = Some(blocks);
        self.frames = Some(frames);
        outcome
    }
}

impl OwnedBlocks {
    /// The blocks as a device, for a pool over other frames; give it back with
    /// [`OwnedBlocks::put_device`].
    pub fn take_device(&mut self) -> Option<KernelBlocks<Kernel>> {
        self.blocks.take()
    }

    /// Takes the blocks back from [`OwnedBlocks::take_device`].
    pub fn put_device(&mut self, blocks: KernelBlocks<Kernel>) {
        self.blocks = Some(blocks);
    }
}

/// Allocates `pages` disk blocks to this program's own owner and binds the pool's frames, runs
/// `action` on them, then frees the blocks.
pub fn with_blocks<T>(
    pages: u64,
    action: impl FnOnce(&mut OwnedBlocks) -> Result<T, &'static str>,
) -> Result<T, &'static str> {
    let frames = bind_frames()?;
    let blocks = KernelBlocks::<Kernel>::allocate(&CREDENTIAL, pages as usize)
        .map_err(|_| "cannot allocate the database's disk blocks")?;
    let mut owned = OwnedBlocks {
        blocks: Some(blocks),
        frames: Some(frames),
    };
    let outcome = action(&mut owned);
    if let Some(blocks) = owned.blocks {
        blocks
            .free()
            .map_err(|_| "cannot free the database's disk blocks")?;
    }
    outcome
}

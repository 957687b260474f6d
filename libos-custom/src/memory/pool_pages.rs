//! A [`BufferPool`] as the [`PageStore`] of a tree: pages `0..page_count` are the blocks
//! `first_block..first_block + page_count` of the pool's device.

use super::{BufferPool, PoolError, ReplacementPolicy};
use crate::block_device::{Block, BlockDevice, DeviceError};
use crate::btree::PageStore;
use core::ops::DerefMut;

/// A run of a pool's device blocks, seen as the pages of a tree.
#[derive(Debug)]
pub struct PoolPages<D, P, M> {
    pool: BufferPool<D, P, M>,
    first_block: u64,
    page_count: u64,
}

impl<D: BlockDevice, P: ReplacementPolicy, M: DerefMut<Target = [Block]>> PoolPages<D, P, M> {
    /// Pages `0..page_count` on blocks `first_block..`; the count is cut to the blocks the
    /// device has.
    pub fn new(pool: BufferPool<D, P, M>, first_block: u64, page_count: u64) -> Self {
        let blocks_after_first = pool.device().block_count().saturating_sub(first_block);
        PoolPages {
            pool,
            first_block,
            page_count: page_count.min(blocks_after_first),
        }
    }

    /// The pool (its statistics, its device's counters).
    pub fn pool(&self) -> &BufferPool<D, P, M> {
        &self.pool
    }

    /// The pool, mutably (to flush it, give frames back or report lost ones).
    pub fn pool_mut(&mut self) -> &mut BufferPool<D, P, M> {
        &mut self.pool
    }

    /// The pool back.
    pub fn into_pool(self) -> BufferPool<D, P, M> {
        self.pool
    }

    fn block_of(&self, page: u64) -> Result<u64, PoolError> {
        if page < self.page_count {
            Ok(self.first_block + page)
        } else {
            Err(DeviceError::OutOfRange.into())
        }
    }
}

impl<D: BlockDevice, P: ReplacementPolicy, M: DerefMut<Target = [Block]>> PageStore
    for PoolPages<D, P, M>
{
    type Error = PoolError;

    fn page_count(&self) -> u64 {
        self.page_count
    }

    fn read_page<R>(&mut self, page: u64, read: impl FnOnce(&Block) -> R) -> Result<R, PoolError> {
        let block = self.block_of(page)?;
        self.pool.read(block, read)
    }

    fn write_page<R>(
        &mut self,
        page: u64,
        write: impl FnOnce(&mut Block) -> R,
    ) -> Result<R, PoolError> {
        let block = self.block_of(page)?;
        self.pool.write(block, write)
    }
}

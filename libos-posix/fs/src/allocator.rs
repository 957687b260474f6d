//! Allocation of data blocks and inodes from their bitmaps, and the orphan list of inodes whose
//! last link went but whose blocks are still being freed.

use crate::block::{BLOCK_SIZE, Disk};
use crate::cache::CachedBlock;
use crate::error::FsError;
use crate::filesystem::FileSystem;
use crate::inode::{Ino, Inode};
use crate::layout::{BITS_PER_BLOCK, SUPERBLOCK_BLOCK, orphan_head_of, set_orphan_head};
use crate::transaction::MAX_STEP_FREES;
use core::ops::DerefMut;

/// Metadata blocks the last step of freeing an inode changes: the inode bitmap, the inode's
/// table block, the superblock and the inode before it on the orphan list.
const RELEASE_STEP_BLOCKS: usize = 4;

/// Metadata blocks [`FileSystem::release_small_file`] changes: the inode bitmap, the inode's
/// table block and a block bitmap block for each block freed.
pub(crate) const RELEASE_SMALL_FILE_BLOCKS: usize = 2 + MAX_STEP_FREES;

/// The first clear bit of `bitmap` in `from..to`.
fn first_clear_bit(bitmap: &[u8; BLOCK_SIZE], from: usize, to: usize) -> Option<usize> {
    let mut bit = from;
    while bit < to {
        let byte = bitmap[bit / 8];
        if bit.is_multiple_of(8) && byte == 0xFF {
            bit += 8;
            continue;
        }
        if byte & (1 << (bit % 8)) == 0 {
            return Some(bit);
        }
        bit += 1;
    }
    None
}

fn is_bit_set(bitmap: &[u8; BLOCK_SIZE], bit: usize) -> bool {
    bitmap[bit / 8] & (1 << (bit % 8)) != 0
}

fn set_bit(bitmap: &mut [u8; BLOCK_SIZE], bit: usize, value: bool) {
    if value {
        bitmap[bit / 8] |= 1 << (bit % 8);
    } else {
        bitmap[bit / 8] &= !(1 << (bit % 8));
    }
}

/// Set bits of `bitmap` among its first `bits`.
fn count_set_bits(bitmap: &[u8; BLOCK_SIZE], bits: usize) -> u64 {
    let whole_bytes = bits / 8;
    let mut count: u64 = bitmap[..whole_bytes]
        .iter()
        .map(|byte| u64::from(byte.count_ones()))
        .sum();
    for bit in whole_bytes * 8..bits {
        count += u64::from(is_bit_set(bitmap, bit));
    }
    count
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// Counts free data blocks and inodes from the bitmaps (at mount).
    pub(crate) fn count_free_space(&mut self) -> Result<(), FsError> {
        let layout = self.layout;
        let mut used_blocks = 0;
        for index in 0..u64::from(layout.block_bitmap_blocks) {
            let bits = (layout.data_blocks - index * BITS_PER_BLOCK).min(BITS_PER_BLOCK);
            let slot = self.slot_for_read((layout.block_bitmap_start + index) as u32)?;
            used_blocks += count_set_bits(self.slot_data(slot), bits as usize);
        }
        let mut used_inodes = 0;
        for index in 0..u64::from(layout.inode_bitmap_blocks) {
            let bits = (u64::from(layout.inode_count) - index * BITS_PER_BLOCK).min(BITS_PER_BLOCK);
            let slot = self.slot_for_read((layout.inode_bitmap_start + index) as u32)?;
            used_inodes += count_set_bits(self.slot_data(slot), bits as usize);
        }
        // Inode 0 is reserved and always marked.
        self.free_blocks = layout.data_blocks - used_blocks;
        self.free_inodes = (u64::from(layout.inode_count) - used_inodes) as u32;
        Ok(())
    }

    /// Data blocks that can be allocated before the running transaction commits.
    fn allocatable_blocks(&self) -> u64 {
        self.free_blocks - self.transaction.pending_frees.block_count()
    }

    /// Makes sure `blocks` data blocks can be allocated in the step about to start (committing
    /// first if only blocks freed by the running transaction are left).
    ///
    /// Errors: [`FsError::NoSpace`].
    pub(crate) fn reserve_blocks(&mut self, blocks: u64) -> Result<(), FsError> {
        if blocks > self.allocatable_blocks() && self.transaction.pending_frees.block_count() > 0 {
            self.commit()?;
        }
        if blocks > self.allocatable_blocks() {
            return Err(FsError::NoSpace);
        }
        Ok(())
    }

    /// Allocates a data block (next fit from the last allocation) and returns its number. The
    /// step must have reserved it with [`FileSystem::reserve_blocks`].
    pub(crate) fn allocate_block(&mut self) -> Result<u32, FsError> {
        let data_blocks = self.layout.data_blocks;
        let mut index = self.next_block_hint % data_blocks;
        let mut unsearched = data_blocks;
        while unsearched > 0 {
            let bitmap_index = index / BITS_PER_BLOCK;
            let base = bitmap_index * BITS_PER_BLOCK;
            let from = (index - base) as usize;
            let to =
                ((data_blocks - base).min(BITS_PER_BLOCK) as usize).min(from + unsearched as usize);
            let bitmap_block = (self.layout.block_bitmap_start + bitmap_index) as u32;
            let slot = self.slot_for_read(bitmap_block)?;
            let mut search_from = from;
            while let Some(bit) = first_clear_bit(self.slot_data(slot), search_from, to) {
                let block = (self.layout.data_start + base + bit as u64) as u32;
                if self.transaction.pending_frees.contains(block) {
                    search_from = bit + 1;
                    continue;
                }
                self.join_transaction(slot)?;
                set_bit(self.slot_data_mut(slot), bit, true);
                self.free_blocks -= 1;
                self.next_block_hint = base + bit as u64 + 1;
                return Ok(block);
            }
            unsearched -= (to - from) as u64;
            index = (base + to as u64) % data_blocks;
        }
        Err(FsError::Corrupt(
            "block bitmap has fewer free blocks than counted",
        ))
    }

    /// Frees data block `block` in the running transaction.
    pub(crate) fn free_block(&mut self, block: u32) -> Result<(), FsError> {
        if !self.layout.is_data_block(block) {
            return Err(FsError::Corrupt("freeing a block outside the data region"));
        }
        let index = u64::from(block) - self.layout.data_start;
        let bitmap_block = (self.layout.block_bitmap_start + index / BITS_PER_BLOCK) as u32;
        let bit = (index % BITS_PER_BLOCK) as usize;
        let slot = self.journaled_slot(bitmap_block)?;
        if !is_bit_set(self.slot_data(slot), bit) {
            return Err(FsError::Corrupt("freeing a block that is already free"));
        }
        set_bit(self.slot_data_mut(slot), bit, false);
        self.free_blocks += 1;
        self.transaction.pending_frees.add(block);
        self.forget_block(block);
        Ok(())
    }

    /// Makes sure an inode can be allocated in the step about to start.
    ///
    /// Errors: [`FsError::NoInodes`].
    pub(crate) fn reserve_inode(&self) -> Result<(), FsError> {
        if self.free_inodes == 0 {
            return Err(FsError::NoInodes);
        }
        Ok(())
    }

    /// Allocates an inode number (next fit) and stores `inode` in it.
    pub(crate) fn allocate_inode(&mut self, inode: &Inode) -> Result<Ino, FsError> {
        let inode_count = u64::from(self.layout.inode_count);
        let mut index = u64::from(self.next_inode_hint) % inode_count;
        let mut unsearched = inode_count;
        while unsearched > 0 {
            let bitmap_index = index / BITS_PER_BLOCK;
            let base = bitmap_index * BITS_PER_BLOCK;
            let from = (index - base) as usize;
            let to =
                ((inode_count - base).min(BITS_PER_BLOCK) as usize).min(from + unsearched as usize);
            let bitmap_block = (self.layout.inode_bitmap_start + bitmap_index) as u32;
            let slot = self.slot_for_read(bitmap_block)?;
            if let Some(bit) = first_clear_bit(self.slot_data(slot), from, to) {
                self.join_transaction(slot)?;
                set_bit(self.slot_data_mut(slot), bit, true);
                self.free_inodes -= 1;
                let ino = Ino((base + bit as u64) as u32);
                self.next_inode_hint = ino.0 + 1;
                self.write_inode(ino, inode)?;
                return Ok(ino);
            }
            unsearched -= (to - from) as u64;
            index = (base + to as u64) % inode_count;
        }
        Err(FsError::Corrupt(
            "inode bitmap has fewer free inodes than counted",
        ))
    }

    /// Puts inode `ino`, whose last link just went, on the orphan list; the caller stores the
    /// inode (its `next_orphan` is set here).
    pub(crate) fn push_orphan(&mut self, ino: Ino, inode: &mut Inode) -> Result<(), FsError> {
        let slot = self.journaled_slot(SUPERBLOCK_BLOCK as u32)?;
        inode.next_orphan = orphan_head_of(self.cache.buffer(slot));
        set_orphan_head(self.cache.buffer_mut(slot), ino.0);
        Ok(())
    }

    /// Frees every block of orphan `ino`, then the inode itself, taking it off the orphan list.
    /// Each step is consistent, so a crash leaves the inode on the list, partly freed, and the
    /// next mount finishes the work.
    pub(crate) fn release_orphan(&mut self, ino: Ino) -> Result<(), FsError> {
        let mut inode = self.read_inode(ino)?;
        if inode.kind.is_none() || inode.links != 0 {
            return Err(FsError::Corrupt("orphan list names a linked or free inode"));
        }
        // The number may name another directory soon.
        self.index.forget_directory(ino);
        self.free_blocks_from(ino, &mut inode, 0)?;
        self.make_room(RELEASE_STEP_BLOCKS)?;
        self.unlink_from_orphan_list(ino, inode.next_orphan)?;
        self.free_inode(ino)
    }

    /// Whether file `inode` is small enough for [`FileSystem::release_small_file`]: at most
    /// [`MAX_STEP_FREES`] blocks, all direct, and counted right.
    pub(crate) fn is_small_file(inode: &Inode) -> bool {
        let direct_blocks = inode.direct.iter().filter(|&&block| block != 0).count();
        inode.single_indirect == 0
            && inode.double_indirect == 0
            && direct_blocks <= MAX_STEP_FREES
            && inode.blocks_used as usize == direct_blocks
    }

    /// Frees the small file `ino` (see [`FileSystem::is_small_file`]), whose last link the
    /// running step removed, within that step: its blocks and the inode go in the transaction
    /// that removes its name, so the orphan list, which carries a release over several
    /// transactions, is not needed. The step must have room for
    /// [`RELEASE_SMALL_FILE_BLOCKS`] more blocks.
    pub(crate) fn release_small_file(&mut self, ino: Ino, inode: &Inode) -> Result<(), FsError> {
        for &block in inode.direct.iter().filter(|&&block| block != 0) {
            self.free_block(block)?;
        }
        self.free_inode(ino)
    }

    /// Clears inode `ino` and its bit in the inode bitmap.
    fn free_inode(&mut self, ino: Ino) -> Result<(), FsError> {
        self.write_inode(ino, &Inode::default())?;
        let bitmap_index = u64::from(ino.0) / BITS_PER_BLOCK;
        let bitmap_block = (self.layout.inode_bitmap_start + bitmap_index) as u32;
        let bit = (u64::from(ino.0) % BITS_PER_BLOCK) as usize;
        let slot = self.journaled_slot(bitmap_block)?;
        if !is_bit_set(self.slot_data(slot), bit) {
            return Err(FsError::Corrupt("freeing an inode that is already free"));
        }
        set_bit(self.slot_data_mut(slot), bit, false);
        self.free_inodes += 1;
        Ok(())
    }

    /// Takes `ino` off the orphan list, linking its predecessor to `next`.
    fn unlink_from_orphan_list(&mut self, ino: Ino, next: u32) -> Result<(), FsError> {
        let slot = self.slot_for_read(SUPERBLOCK_BLOCK as u32)?;
        let mut current = orphan_head_of(self.cache.buffer(slot));
        if current == ino.0 {
            let slot = self.journaled_slot(SUPERBLOCK_BLOCK as u32)?;
            set_orphan_head(self.cache.buffer_mut(slot), next);
            return Ok(());
        }
        for _ in 0..self.layout.inode_count {
            if !self.layout.is_valid_ino(Ino(current)) {
                break;
            }
            let mut orphan = self.read_inode(Ino(current))?;
            if orphan.next_orphan == ino.0 {
                orphan.next_orphan = next;
                return self.write_inode(Ino(current), &orphan);
            }
            current = orphan.next_orphan;
        }
        Err(FsError::Corrupt("inode missing from the orphan list"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_clear_bits_across_full_bytes() {
        let mut bitmap = [0xFFu8; BLOCK_SIZE];
        assert_eq!(first_clear_bit(&bitmap, 0, BLOCK_SIZE * 8), None);
        set_bit(&mut bitmap, 1000, false);
        assert_eq!(first_clear_bit(&bitmap, 3, BLOCK_SIZE * 8), Some(1000));
        assert_eq!(first_clear_bit(&bitmap, 1001, BLOCK_SIZE * 8), None);
        assert_eq!(first_clear_bit(&bitmap, 0, 1000), None);
        assert_eq!(count_set_bits(&bitmap, 1003), 1002);
    }
}

//! The map from a file's blocks to disk blocks: looking a block up, adding one (with the
//! indirect blocks on its path), and freeing every block from some point on.

use crate::block::{BLOCK_SIZE, Disk};
use crate::cache::CachedBlock;
use crate::error::FsError;
use crate::filesystem::FileSystem;
use crate::inode::{
    DOUBLE_INDIRECT_START, Ino, Inode, POINTERS_PER_BLOCK, PointerPath, SINGLE_INDIRECT_START,
    pointer_at, set_pointer_at,
};
use core::ops::DerefMut;

/// Metadata blocks one block of a file write changes: the data block's bitmap block, two new
/// indirect blocks and their bitmap blocks (possibly other ones), the double indirect block and
/// the inode's table block.
pub(crate) const WRITE_STEP_BLOCKS: usize = 7;

/// Metadata blocks freeing one block changes: the block holding its pointer (an indirect
/// block or the inode's table block), its bitmap block and the inode's table block.
const FREE_STEP_BLOCKS: usize = 3;

const BLOCK_BYTES: u64 = BLOCK_SIZE as u64;

/// Where the pointer to a block being freed is.
#[derive(Clone, Copy, Debug)]
enum PointerLocation {
    /// Entry `index` of indirect block `table`.
    InTable { table: u32, index: usize },
    /// `direct[index]` of the inode.
    Direct(usize),
    /// The inode's single indirect pointer.
    SingleIndirect,
    /// The inode's double indirect pointer.
    DoubleIndirect,
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// Pointer `index` of indirect block `table`, checked to be 0 or a data block.
    fn read_pointer(&mut self, table: u32, index: usize) -> Result<u32, FsError> {
        let slot = self.slot_for_read(table)?;
        self.checked_pointer(pointer_at(self.slot_data(slot), index))
    }

    fn checked_pointer(&self, pointer: u32) -> Result<u32, FsError> {
        if pointer != 0 && !self.layout.is_data_block(pointer) {
            return Err(FsError::Corrupt("block pointer outside the data region"));
        }
        Ok(pointer)
    }

    /// The disk block holding file block `file_block` of `inode`; `None` for a hole.
    pub(crate) fn mapped_block(
        &mut self,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<u32>, FsError> {
        let pointer = match PointerPath::of(file_block) {
            None => 0,
            Some(PointerPath::Direct(index)) => self.checked_pointer(inode.direct[index])?,
            Some(PointerPath::Single(index)) => {
                match self.checked_pointer(inode.single_indirect)? {
                    0 => 0,
                    table => self.read_pointer(table, index)?,
                }
            }
            Some(PointerPath::Double { outer, inner }) => {
                match self.checked_pointer(inode.double_indirect)? {
                    0 => 0,
                    top => match self.read_pointer(top, outer)? {
                        0 => 0,
                        table => self.read_pointer(table, inner)?,
                    },
                }
            }
        };
        Ok((pointer != 0).then_some(pointer))
    }

    /// How many blocks mapping file block `file_block` would allocate: the block itself and
    /// the indirect blocks missing on its path.
    pub(crate) fn blocks_needed_to_map(
        &mut self,
        inode: &Inode,
        file_block: u64,
    ) -> Result<u64, FsError> {
        if self.mapped_block(inode, file_block)?.is_some() {
            return Ok(0);
        }
        Ok(match PointerPath::of(file_block) {
            None | Some(PointerPath::Direct(_)) => 1,
            Some(PointerPath::Single(_)) => 1 + u64::from(inode.single_indirect == 0),
            Some(PointerPath::Double { outer, .. }) => match inode.double_indirect {
                0 => 3,
                top => 1 + u64::from(self.read_pointer(top, outer)? == 0),
            },
        })
    }

    /// The disk block of file block `file_block`, allocating it (and missing indirect blocks,
    /// zeroed, in the running transaction) if it is a hole; also whether it was allocated.
    /// `inode` is updated but not stored. A new block's contents are the caller's to set.
    pub(crate) fn map_for_write(
        &mut self,
        inode: &mut Inode,
        file_block: u64,
    ) -> Result<(u32, bool), FsError> {
        match PointerPath::of(file_block).ok_or(FsError::FileTooLarge)? {
            PointerPath::Direct(index) => {
                let existing = self.checked_pointer(inode.direct[index])?;
                if existing != 0 {
                    return Ok((existing, false));
                }
                let block = self.allocate_block()?;
                inode.direct[index] = block;
                inode.blocks_used += 1;
                Ok((block, true))
            }
            PointerPath::Single(index) => {
                let table =
                    self.indirect_root(&mut inode.single_indirect, &mut inode.blocks_used)?;
                self.table_entry_for_write(table, index, &mut inode.blocks_used, false)
            }
            PointerPath::Double { outer, inner } => {
                let top = self.indirect_root(&mut inode.double_indirect, &mut inode.blocks_used)?;
                let (table, _) =
                    self.table_entry_for_write(top, outer, &mut inode.blocks_used, true)?;
                self.table_entry_for_write(table, inner, &mut inode.blocks_used, false)
            }
        }
    }

    /// The indirect block `root` names, allocated if `root` is 0.
    fn indirect_root(&mut self, root: &mut u32, blocks_used: &mut u32) -> Result<u32, FsError> {
        if self.checked_pointer(*root)? == 0 {
            let block = self.allocate_block()?;
            self.new_journaled_slot(block)?;
            *root = block;
            *blocks_used += 1;
        }
        Ok(*root)
    }

    /// Entry `index` of indirect block `table`, allocated if 0 (as a zeroed indirect block
    /// when `is_indirect`); also whether it was allocated.
    fn table_entry_for_write(
        &mut self,
        table: u32,
        index: usize,
        blocks_used: &mut u32,
        is_indirect: bool,
    ) -> Result<(u32, bool), FsError> {
        let existing = self.read_pointer(table, index)?;
        if existing != 0 {
            return Ok((existing, false));
        }
        let block = self.allocate_block()?;
        if is_indirect {
            self.new_journaled_slot(block)?;
        }
        let slot = self.journaled_slot(table)?;
        set_pointer_at(self.slot_data_mut(slot), index, block);
        *blocks_used += 1;
        Ok((block, true))
    }

    /// Frees every block of `ino` at or beyond file block `keep_blocks`, last first, one block
    /// per step (the running transaction commits between steps when it fills). After each step
    /// the stored inode is consistent: its size never covers a freed block, though it may
    /// still be larger than the final size; an indirect block may stay, empty, until the step
    /// that frees it. `inode` is kept equal to the stored inode.
    pub(crate) fn free_blocks_from(
        &mut self,
        ino: Ino,
        inode: &mut Inode,
        keep_blocks: u64,
    ) -> Result<(), FsError> {
        if inode.double_indirect != 0 {
            let top = inode.double_indirect;
            for outer in (0..POINTERS_PER_BLOCK as usize).rev() {
                let first = DOUBLE_INDIRECT_START + outer as u64 * POINTERS_PER_BLOCK;
                if first + POINTERS_PER_BLOCK <= keep_blocks {
                    break;
                }
                let table = self.read_pointer(top, outer)?;
                if table == 0 {
                    continue;
                }
                self.free_table_entries(ino, inode, table, first, keep_blocks)?;
                if first >= keep_blocks {
                    self.free_block_step(
                        ino,
                        inode,
                        PointerLocation::InTable {
                            table: top,
                            index: outer,
                        },
                        table,
                        first,
                    )?;
                }
            }
            if DOUBLE_INDIRECT_START >= keep_blocks {
                self.free_block_step(
                    ino,
                    inode,
                    PointerLocation::DoubleIndirect,
                    top,
                    DOUBLE_INDIRECT_START,
                )?;
            }
        }
        if inode.single_indirect != 0 {
            let table = inode.single_indirect;
            self.free_table_entries(ino, inode, table, SINGLE_INDIRECT_START, keep_blocks)?;
            if SINGLE_INDIRECT_START >= keep_blocks {
                self.free_block_step(
                    ino,
                    inode,
                    PointerLocation::SingleIndirect,
                    table,
                    SINGLE_INDIRECT_START,
                )?;
            }
        }
        for index in (0..inode.direct.len()).rev() {
            let file_block = index as u64;
            if file_block < keep_blocks {
                break;
            }
            let block = inode.direct[index];
            if block != 0 {
                self.free_block_step(
                    ino,
                    inode,
                    PointerLocation::Direct(index),
                    block,
                    file_block,
                )?;
            }
        }
        Ok(())
    }

    /// Frees the data blocks named by indirect block `table` (which maps file blocks from
    /// `first`) at or beyond `keep_blocks`, last first.
    fn free_table_entries(
        &mut self,
        ino: Ino,
        inode: &mut Inode,
        table: u32,
        first: u64,
        keep_blocks: u64,
    ) -> Result<(), FsError> {
        let lowest = keep_blocks.saturating_sub(first).min(POINTERS_PER_BLOCK) as usize;
        let mut end = POINTERS_PER_BLOCK as usize;
        while let Some(index) = self.last_used_entry(table, lowest, end)? {
            let block = self.read_pointer(table, index)?;
            let location = PointerLocation::InTable { table, index };
            self.free_block_step(ino, inode, location, block, first + index as u64)?;
            end = index;
        }
        Ok(())
    }

    /// The last nonzero entry of indirect block `table` in `from..to`.
    fn last_used_entry(
        &mut self,
        table: u32,
        from: usize,
        to: usize,
    ) -> Result<Option<usize>, FsError> {
        let slot = self.slot_for_read(table)?;
        let data = self.slot_data(slot);
        Ok((from..to).rev().find(|&index| pointer_at(data, index) != 0))
    }

    /// One step: frees `block`, which maps (or, for an indirect block, starts at) file block
    /// `file_block`, clears the pointer to it at `location`, and stores the inode with its
    /// size cut to below `file_block`.
    fn free_block_step(
        &mut self,
        ino: Ino,
        inode: &mut Inode,
        location: PointerLocation,
        block: u32,
        file_block: u64,
    ) -> Result<(), FsError> {
        self.make_room(FREE_STEP_BLOCKS)?;
        match location {
            PointerLocation::InTable { table, index } => {
                let slot = self.journaled_slot(table)?;
                set_pointer_at(self.slot_data_mut(slot), index, 0);
            }
            PointerLocation::Direct(index) => inode.direct[index] = 0,
            PointerLocation::SingleIndirect => inode.single_indirect = 0,
            PointerLocation::DoubleIndirect => inode.double_indirect = 0,
        }
        self.free_block(block)?;
        inode.blocks_used = inode
            .blocks_used
            .checked_sub(1)
            .ok_or(FsError::Corrupt("inode block count below its blocks"))?;
        inode.size = inode.size.min(file_block * BLOCK_BYTES);
        self.write_inode(ino, inode)
    }
}

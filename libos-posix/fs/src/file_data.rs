//! Reading, writing and resizing files.
//!
//! Data is written in place through the cache ("ordered" journaling): a new block's data
//! reaches the disk before the transaction that links it to the file commits, because every
//! commit writes all dirty data first. Bytes past the end of a file inside its last block are
//! kept zero, so growing a file shows zeros; a crash can leave data past the end (a write whose
//! size change did not commit), so growing zeroes that tail again.

use crate::block::{BLOCK_SIZE, Disk, MAX_READ_BATCH, ZERO_BLOCK};
use crate::cache::{CachedBlock, SlotState};
use crate::error::FsError;
use crate::file_map::WRITE_STEP_BLOCKS;
use crate::filesystem::FileSystem;
use crate::inode::{Ino, Inode, MAX_FILE_SIZE};
use core::ops::DerefMut;

const BLOCK_BYTES: u64 = BLOCK_SIZE as u64;

/// Where a reader's last read ended: the cached block it read last, valid while the cache's
/// change count is the one recorded (see [`FileSystem::read_hinted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadHint {
    /// The cache's change count when the hint was taken; 0 (never a count) when empty.
    changes: u64,
    ino: Ino,
    file_block: u64,
    pub(crate) slot: usize,
    /// The file's size then.
    size: u64,
}

impl ReadHint {
    /// A hint that holds nothing.
    pub const EMPTY: ReadHint = ReadHint {
        changes: 0,
        ino: Ino(0),
        file_block: 0,
        slot: 0,
        size: 0,
    };
}

/// What [`FileSystem::read_blocks`] read.
struct BlocksRead {
    count: usize,
    /// The file's size.
    size: u64,
    /// The file block read last and the slot holding it; `None` for a hole.
    last_block: Option<(u64, usize)>,
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// The file `ino`, which must be a file.
    fn file_inode(&mut self, ino: Ino) -> Result<Inode, FsError> {
        let inode = self.used_inode(ino)?;
        if inode.is_directory() {
            return Err(FsError::IsADirectory);
        }
        Ok(inode)
    }

    /// Reads from file `ino` at byte `offset` into `buffer`; returns the bytes read, fewer than
    /// asked at the end of the file and 0 past it. Holes read as zeros.
    ///
    /// Errors: [`FsError::IsADirectory`], and those of [`FileSystem::stat`].
    pub fn read(&mut self, ino: Ino, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        let mut done = 0;
        self.read_with(ino, offset, buffer.len(), |bytes| {
            buffer[done..done + bytes.len()].copy_from_slice(bytes);
            done += bytes.len();
            Ok(())
        })
    }

    /// Reads as [`FileSystem::read`] does, up to `length` bytes, but hands them to `take` in
    /// order, a block's worth at most each time, straight from the cache: whoever needs them
    /// elsewhere than in a buffer of the caller's (a server copying them into its client's
    /// memory) copies them once. An error of `take` ends the read with that error.
    #[inline]
    pub fn read_with(
        &mut self,
        ino: Ino,
        offset: u64,
        length: usize,
        take: impl FnMut(&[u8]) -> Result<(), FsError>,
    ) -> Result<usize, FsError> {
        Ok(self.read_blocks(ino, offset, length, take)?.count)
    }

    /// Reads as [`FileSystem::read`] does, and leaves in `hint` where the read ended, so that
    /// the next read through the same hint inside that block, while nothing cached has changed
    /// since, copies from the cache without looking up the inode or the block: a reader going
    /// over the same block again, or through it in small steps, pays little more than its copy.
    /// A hint is one reader's (keep one per reader; a wrong one only costs a slower read) and
    /// belongs to this mounted file system.
    ///
    /// Errors: those of [`FileSystem::read`].
    #[inline]
    pub fn read_hinted(
        &mut self,
        hint: &mut ReadHint,
        ino: Ino,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, FsError> {
        self.ensure_working()?;
        if let Some(count) = self.read_as_hinted(hint, ino, offset, buffer) {
            return Ok(count);
        }
        self.read_to_hint(hint, ino, offset, buffer)
    }

    /// [`read_hinted`](Self::read_hinted) when the hint does not hold: the whole read, which
    /// leaves a new hint. Apart, so that the hinted read inlines into its callers small.
    #[inline(never)]
    fn read_to_hint(
        &mut self,
        hint: &mut ReadHint,
        ino: Ino,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, FsError> {
        let mut done = 0;
        let read = self.read_blocks(ino, offset, buffer.len(), |bytes| {
            buffer[done..done + bytes.len()].copy_from_slice(bytes);
            done += bytes.len();
            Ok(())
        })?;
        *hint = match read.last_block {
            Some((file_block, slot)) => ReadHint {
                changes: self.cache.changes(),
                ino,
                file_block,
                slot,
                size: read.size,
            },
            None => ReadHint::EMPTY,
        };
        Ok(read.count)
    }

    /// The read through `hint` when the hint still holds and covers it (the whole of `buffer`,
    /// or up to the end of the file, lies in its block).
    #[inline]
    fn read_as_hinted(
        &mut self,
        hint: &ReadHint,
        ino: Ino,
        offset: u64,
        buffer: &mut [u8],
    ) -> Option<usize> {
        if hint.changes != self.cache.changes()
            || hint.ino != ino
            || offset / BLOCK_BYTES != hint.file_block
            || hint.slot >= self.cache.slot_count()
        {
            return None;
        }
        let available = hint.size.saturating_sub(offset);
        let within = (offset % BLOCK_BYTES) as usize;
        let count = (buffer.len() as u64).min(available) as usize;
        if within + count > BLOCK_SIZE {
            return None;
        }
        buffer[..count].copy_from_slice(&self.slot_data(hint.slot)[within..within + count]);
        self.cache.mark_used(hint.slot);
        Some(count)
    }

    /// Reads up to `length` bytes of file `ino` from `offset`, handing them to `take`.
    fn read_blocks(
        &mut self,
        ino: Ino,
        offset: u64,
        length: usize,
        mut take: impl FnMut(&[u8]) -> Result<(), FsError>,
    ) -> Result<BlocksRead, FsError> {
        self.ensure_working()?;
        let inode = self.file_inode(ino)?;
        let mut read = BlocksRead {
            count: 0,
            size: inode.size,
            last_block: None,
        };
        if offset >= inode.size || length == 0 {
            return Ok(read);
        }
        let length = (length as u64).min(inode.size - offset) as usize;
        let last_file_block = (offset + length as u64 - 1) / BLOCK_BYTES;
        let mut next_read_ahead = offset / BLOCK_BYTES;
        while read.count < length {
            let position = offset + read.count as u64;
            let file_block = position / BLOCK_BYTES;
            if file_block == next_read_ahead && file_block < last_file_block {
                let count = (last_file_block + 1 - file_block).min(MAX_READ_BATCH as u64);
                self.read_ahead_file(&inode, file_block, count as usize)?;
                next_read_ahead = file_block + count;
            }
            let within = (position % BLOCK_BYTES) as usize;
            let chunk = (BLOCK_SIZE - within).min(length - read.count);
            match self.mapped_block(&inode, file_block)? {
                None => {
                    take(&ZERO_BLOCK.0[..chunk])?;
                    read.last_block = None;
                }
                Some(block) => {
                    let slot = self.slot_for_read(block)?;
                    take(&self.slot_data(slot)[within..within + chunk])?;
                    read.last_block = Some((file_block, slot));
                }
            }
            read.count += chunk;
        }
        Ok(read)
    }

    /// Brings file blocks `first..first + count` of `inode` (`count` at most
    /// [`MAX_READ_BATCH`]) into the cache together, so that a read of many blocks costs the disk
    /// one request per batch.
    fn read_ahead_file(&mut self, inode: &Inode, first: u64, count: usize) -> Result<(), FsError> {
        let mut mapped = [None; MAX_READ_BATCH];
        for (index, entry) in mapped[..count].iter_mut().enumerate() {
            *entry = self.mapped_block(inode, first + index as u64)?;
        }
        self.read_ahead(&mapped[..count])
    }

    /// Writes `data` to file `ino` at byte `offset`, growing the file and filling holes as
    /// needed; returns the bytes written. A write that runs out of space part-way returns the
    /// bytes written before; one that would pass [`MAX_FILE_SIZE`] is cut there.
    ///
    /// Errors: [`FsError::NoSpace`] when not even the first block fits;
    /// [`FsError::FileTooLarge`] when `offset` is at or past [`MAX_FILE_SIZE`];
    /// [`FsError::IsADirectory`]; and those of [`FileSystem::stat`].
    pub fn write(&mut self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize, FsError> {
        let mut done = 0;
        self.write_with(ino, offset, data.len(), |bytes| {
            bytes.copy_from_slice(&data[done..done + bytes.len()]);
            done += bytes.len();
            Ok(())
        })
    }

    /// Writes as [`FileSystem::write`] does, `length` bytes, but has `give` fill them in order
    /// straight into the cache, a block's worth at most each time: whoever has them elsewhere
    /// than in a buffer of the caller's (a server copying them from its client's memory)
    /// copies them once. `give` fills all of its slice or fails having written nothing to it;
    /// its error ends the write with that error, the blocks filled before staying written (and
    /// a block the write added holding zeros).
    pub fn write_with(
        &mut self,
        ino: Ino,
        offset: u64,
        length: usize,
        give: impl FnMut(&mut [u8]) -> Result<(), FsError>,
    ) -> Result<usize, FsError> {
        self.mutating(|file_system| file_system.write_file(ino, offset, length, give))
    }

    fn write_file(
        &mut self,
        ino: Ino,
        offset: u64,
        length: usize,
        mut give: impl FnMut(&mut [u8]) -> Result<(), FsError>,
    ) -> Result<usize, FsError> {
        let mut inode = self.file_inode(ino)?;
        if length == 0 {
            return Ok(0);
        }
        if offset >= MAX_FILE_SIZE {
            return Err(FsError::FileTooLarge);
        }
        let length = (length as u64).min(MAX_FILE_SIZE - offset) as usize;
        if offset + length as u64 > inode.size {
            self.zero_block_tail(&inode, inode.size)?;
        }
        let mut done = 0;
        while done < length {
            let position = offset + done as u64;
            let within = (position % BLOCK_BYTES) as usize;
            let chunk = (BLOCK_SIZE - within).min(length - done);
            match self.write_block_step(ino, &mut inode, position, chunk, &mut give) {
                Ok(()) => done += chunk,
                Err(FsError::NoSpace) if done > 0 => break,
                Err(error) => return Err(error),
            }
        }
        Ok(done)
    }

    /// One step: has `give` write `length` bytes (within one block) at `position`, allocating
    /// the block if it is a hole and growing the size if the write ends past it.
    fn write_block_step(
        &mut self,
        ino: Ino,
        inode: &mut Inode,
        position: u64,
        length: usize,
        give: &mut impl FnMut(&mut [u8]) -> Result<(), FsError>,
    ) -> Result<(), FsError> {
        let file_block = position / BLOCK_BYTES;
        let within = (position % BLOCK_BYTES) as usize;
        let end = position + length as u64;
        let needed_blocks = self.blocks_needed_to_map(inode, file_block)?;
        let changes_inode = needed_blocks > 0 || end > inode.size;
        if changes_inode {
            self.make_room(WRITE_STEP_BLOCKS)?;
            self.reserve_blocks(needed_blocks)?;
        }
        let (block, is_new) = self.map_for_write(inode, file_block)?;
        let covers_block = length == BLOCK_SIZE;
        let slot = if is_new || covers_block {
            self.slot_for_overwrite(block)?
        } else {
            self.slot_for_read(block)?
        };
        // What `give` does not fill of a new block: a hole before it, zeros past the end after
        // it.
        let data = if is_new && !covers_block {
            self.new_block_data(slot, within..within + length)
        } else {
            self.slot_data_mut(slot)
        };
        let given = give(&mut data[within..within + length]);
        if given.is_err() {
            // `give` wrote nothing. A new block is the file's now, as zeros (so that no block
            // lies past the size). An old one keeps its bytes; its slot, when clean, is
            // dropped, for it may never have been read in (a whole block's overwrite) and must
            // not be taken for the block.
            if is_new {
                data.fill(0);
            } else {
                if self.cache.state(slot) == SlotState::Clean {
                    self.forget_block(block);
                }
                return given;
            }
        }
        self.mark_dirty_data(slot);
        if changes_inode {
            inode.size = inode.size.max(end);
            self.write_inode(ino, inode)?;
        }
        given
    }

    /// Zeroes the bytes of the block holding byte `from` of the file, from there to the end
    /// of the block (nothing when `from` is at a block boundary or in a hole).
    fn zero_block_tail(&mut self, inode: &Inode, from: u64) -> Result<(), FsError> {
        let within = (from % BLOCK_BYTES) as usize;
        if within == 0 {
            return Ok(());
        }
        let Some(block) = self.mapped_block(inode, from / BLOCK_BYTES)? else {
            return Ok(());
        };
        let slot = self.slot_for_read(block)?;
        if self.slot_data(slot)[within..].iter().any(|&byte| byte != 0) {
            self.slot_data_mut(slot)[within..].fill(0);
            self.mark_dirty_data(slot);
        }
        Ok(())
    }

    /// Sets the size of file `ino`: shrinking frees the blocks past the end (in several
    /// transactions for a large file; a crash in between leaves the file at some size between
    /// the two), growing leaves a hole.
    ///
    /// Errors: [`FsError::FileTooLarge`] past [`MAX_FILE_SIZE`]; [`FsError::IsADirectory`];
    /// and those of [`FileSystem::stat`].
    pub fn truncate(&mut self, ino: Ino, size: u64) -> Result<(), FsError> {
        self.mutating(|file_system| file_system.truncate_file(ino, size))
    }

    fn truncate_file(&mut self, ino: Ino, size: u64) -> Result<(), FsError> {
        let mut inode = self.file_inode(ino)?;
        if size > MAX_FILE_SIZE {
            return Err(FsError::FileTooLarge);
        }
        if size < inode.size {
            self.free_blocks_from(ino, &mut inode, size.div_ceil(BLOCK_BYTES))?;
            self.zero_block_tail(&inode, size)?;
        } else {
            self.zero_block_tail(&inode, inode.size)?;
        }
        if inode.size != size {
            self.make_room(1)?;
            inode.size = size;
            self.write_inode(ino, &inode)?;
        }
        Ok(())
    }
}

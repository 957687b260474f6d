//! The [`FileSystem`] value: mounting, unmounting, durability calls, inode access and space
//! accounting. Path operations are in `namespace`, file data in `file_data`.

use crate::block::Disk;
use crate::cache::{CachedBlock, SlotCache};
use crate::directory_index::DirectoryIndex;
use crate::directory_memo::DirectoryMemo;
use crate::error::FsError;
use crate::inode::{INODE_SIZE, Ino, Inode, Kind};
use crate::inode_memo::InodeMemo;
use crate::journal::replay_journal;
use crate::layout::{Layout, SUPERBLOCK_BLOCK, StaticGeometry, Superblock, orphan_head_of};
use crate::name_cache::NameCache;
use crate::transaction::Transaction;
use core::ops::DerefMut;

/// A mounted file system.
///
/// The value holds no heap memory and no pointer of its own: the disk `D` (a zero-sized
/// system-call handle in the guest), the cache pages `C` (in the guest a `&'static mut`
/// slice in memory mapped at the same address in every process, whose first pages also hold
/// the slot table) and fixed-size bookkeeping of under two kilobytes. So several processes may
/// share one value, each calling methods on it while holding a lock that is not this crate's
/// business. Calls may allocate temporarily on the caller's heap, but reading and writing
/// cached data does not.
pub struct FileSystem<D: Disk, C: DerefMut<Target = [CachedBlock]>> {
    pub(crate) disk: D,
    pub(crate) cache: SlotCache<C>,
    pub(crate) layout: Layout,
    pub(crate) transaction: Transaction,
    pub(crate) free_blocks: u64,
    pub(crate) free_inodes: u32,
    /// Where the search for a free data block starts (a data block index).
    pub(crate) next_block_hint: u64,
    /// Where the search for a free inode starts.
    pub(crate) next_inode_hint: u32,
    /// Whether writes were made since the last flush that the log does not cover.
    pub(crate) has_unflushed_writes: bool,
    /// Set when the device failed or damage was found in the middle of a change: the cached
    /// state may be half changed, so every later call fails until the next mount.
    pub(crate) has_failed: bool,
    /// The inodes read or written last, decoded.
    pub(crate) inodes: InodeMemo,
    /// The directory entries found or added last.
    pub(crate) names: NameCache,
    /// The directory path walked last.
    pub(crate) directories: DirectoryMemo,
    /// The names of the directory searched through last, counted.
    pub(crate) index: DirectoryIndex,
}

/// What [`FileSystem::stat`] tells about an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The inode number.
    pub ino: Ino,
    /// File or directory.
    pub kind: Kind,
    /// Bytes; a directory's size is a whole number of blocks.
    pub size: u64,
    /// Directory entries naming a file; 2 plus the subdirectories for a directory.
    pub links: u32,
    /// Disk blocks held, indirect blocks included.
    pub blocks_used: u32,
}

/// Space on a file system, as [`FileSystem::statfs`] tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsStats {
    /// Blocks of the data region (the superblock, journal, bitmaps and inode table excluded).
    pub total_blocks: u64,
    /// Data blocks free.
    pub free_blocks: u64,
    /// Inodes a file or directory may use (inode 0 excluded).
    pub total_inodes: u32,
    /// Inodes free.
    pub free_inodes: u32,
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// Mounts the file system on `disk`, with `pages` as its buffer cache: replays the journal,
    /// counts free space, and finishes freeing any inode a crash left on the orphan list.
    ///
    /// The first pages of `pages` hold the slot table from then on (one page for up to 307
    /// slots); the rest are buffers.
    ///
    /// Errors: [`FsError::InvalidArgument`] for more than [`crate::MAX_CACHE_SLOTS`] slots;
    /// [`FsError::NoCache`] for fewer than [`crate::MIN_CACHE_SLOTS`]; [`FsError::Corrupt`] for a disk
    /// that does not hold this file system ("bad magic"), another format version, a file
    /// system larger than the disk, or damage; [`FsError::Io`] when the device fails.
    pub fn mount(mut disk: D, mut pages: C) -> Result<Self, FsError> {
        SlotCache::<C>::check_slot_count(pages.len())?;
        let (first, rest) = pages.split_at_mut(1);
        let (superblock_buffer, other_buffer) = (&mut first[0].data, &mut rest[0].data);
        disk.read(SUPERBLOCK_BLOCK, superblock_buffer)?;
        let geometry = StaticGeometry::decode(superblock_buffer)?;
        if geometry.block_count > disk.block_count() {
            return Err(FsError::Corrupt("file system larger than the disk"));
        }
        let last_sequence = replay_journal(&mut disk, geometry, superblock_buffer, other_buffer)?;
        disk.read(SUPERBLOCK_BLOCK, superblock_buffer)?;
        let superblock = Superblock::decode(superblock_buffer)?;
        if superblock.layout.static_geometry() != geometry {
            return Err(FsError::Corrupt("superblock changed during replay"));
        }
        let mut file_system = FileSystem {
            disk,
            cache: SlotCache::new(pages)?,
            layout: superblock.layout,
            transaction: Transaction::after(last_sequence),
            free_blocks: 0,
            free_inodes: 0,
            next_block_hint: 0,
            next_inode_hint: 1,
            has_unflushed_writes: false,
            has_failed: false,
            inodes: InodeMemo::new(),
            names: NameCache::new(),
            directories: DirectoryMemo::new(),
            index: DirectoryIndex::new(),
        };
        file_system.count_free_space()?;
        file_system.release_all_orphans()?;
        file_system.commit()?;
        Ok(file_system)
    }

    /// Finishes freeing every inode on the orphan list.
    fn release_all_orphans(&mut self) -> Result<(), FsError> {
        for _ in 0..self.layout.inode_count {
            let slot = self.slot_for_read(SUPERBLOCK_BLOCK as u32)?;
            let head = orphan_head_of(self.cache.buffer(slot));
            if head == 0 {
                return Ok(());
            }
            let ino = Ino(head);
            if !self.layout.is_valid_ino(ino) {
                return Err(FsError::Corrupt("orphan list names an invalid inode"));
            }
            self.release_orphan(ino)?;
        }
        Err(FsError::Corrupt("orphan list does not end"))
    }

    /// Commits everything, empties the journal and gives the disk and cache back.
    ///
    /// Errors: those of [`FileSystem::sync`]; the parts are then dropped (mounting again
    /// recovers the last durable state).
    pub fn unmount(mut self) -> Result<(D, C), FsError> {
        self.sync()?;
        self.mutating(|file_system| file_system.empty_journal())?;
        Ok(self.into_parts())
    }

    /// Gives the disk and cache back without writing anything: what was not made durable is
    /// lost, as in a crash.
    pub fn into_parts(self) -> (D, C) {
        (self.disk, self.cache.into_pages())
    }

    /// Makes every change made so far durable.
    ///
    /// Errors: [`FsError::Io`] when the device fails (or failed earlier).
    pub fn sync(&mut self) -> Result<(), FsError> {
        self.mutating(|file_system| {
            if file_system.has_uncommitted_changes() {
                file_system.commit()?;
            }
            if file_system.has_unflushed_writes {
                file_system.flush_disk()?;
            }
            Ok(())
        })
    }

    /// Whether anything changed since the last [`FileSystem::sync`], so that a sync now would
    /// write.
    pub fn has_unsynced_changes(&self) -> bool {
        self.has_uncommitted_changes() || self.has_unflushed_writes
    }

    fn has_uncommitted_changes(&self) -> bool {
        self.cache.journaled_count() > 0 || self.cache.dirty_data_count() > 0
    }

    /// Makes the file or directory `ino` durable, with its name; this commits everything, as
    /// [`FileSystem::sync`] does.
    ///
    /// Errors: those of [`FileSystem::stat`] and [`FileSystem::sync`].
    pub fn fsync(&mut self, ino: Ino) -> Result<(), FsError> {
        self.stat(ino)?;
        self.sync()
    }

    /// What inode `ino` is.
    ///
    /// Errors: [`FsError::InvalidArgument`] for an inode number out of range;
    /// [`FsError::NotFound`] for a free inode.
    pub fn stat(&mut self, ino: Ino) -> Result<Metadata, FsError> {
        self.ensure_working()?;
        let inode = self.used_inode(ino)?;
        Ok(Metadata {
            ino,
            kind: inode.kind.ok_or(FsError::NotFound)?,
            size: inode.size,
            links: inode.links,
            blocks_used: inode.blocks_used,
        })
    }

    /// Space and inodes, total and free.
    pub fn statfs(&self) -> FsStats {
        FsStats {
            total_blocks: self.layout.data_blocks,
            free_blocks: self.free_blocks,
            total_inodes: self.layout.inode_count - 1,
            free_inodes: self.free_inodes,
        }
    }

    /// Fails with [`FsError::Io`] once a change failed half-way.
    pub(crate) fn ensure_working(&self) -> Result<(), FsError> {
        if self.has_failed {
            return Err(FsError::Io);
        }
        Ok(())
    }

    /// Runs a call that changes the file system; if it fails with [`FsError::Io`] or
    /// [`FsError::Corrupt`], the cache may hold a half-done step, so the file system stops.
    pub(crate) fn mutating<T>(
        &mut self,
        change: impl FnOnce(&mut Self) -> Result<T, FsError>,
    ) -> Result<T, FsError> {
        self.ensure_working()?;
        let result = change(self);
        if let Err(FsError::Io | FsError::Corrupt(_)) = result {
            self.has_failed = true;
        }
        result
    }

    /// Inode `ino`, which must be in use.
    #[inline]
    pub(crate) fn used_inode(&mut self, ino: Ino) -> Result<Inode, FsError> {
        if !self.layout.is_valid_ino(ino) {
            return Err(FsError::InvalidArgument);
        }
        let inode = self.read_inode(ino)?;
        if inode.kind.is_none() {
            return Err(FsError::NotFound);
        }
        Ok(inode)
    }

    /// Inode `ino` as stored (free or not); `ino` must be in range.
    #[inline]
    pub(crate) fn read_inode(&mut self, ino: Ino) -> Result<Inode, FsError> {
        if let Some(inode) = self.inodes.get(ino) {
            return Ok(inode);
        }
        let (block, offset) = self.layout.inode_location(ino);
        let slot = self.slot_for_read(block as u32)?;
        let inode = Inode::decode(&self.slot_data(slot)[offset..offset + INODE_SIZE])
            .map_err(FsError::Corrupt)?;
        self.inodes.put(ino, inode);
        Ok(inode)
    }

    /// Stores inode `ino` in the running transaction.
    pub(crate) fn write_inode(&mut self, ino: Ino, inode: &Inode) -> Result<(), FsError> {
        let (block, offset) = self.layout.inode_location(ino);
        let slot = self.journaled_slot(block as u32)?;
        inode.encode(&mut self.slot_data_mut(slot)[offset..offset + INODE_SIZE]);
        self.inodes.put(ino, *inode);
        Ok(())
    }
}

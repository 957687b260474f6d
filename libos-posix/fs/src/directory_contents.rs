//! Reading and editing the entries of a directory: finding a name and a place for a new
//! entry, adding and removing entries, and listing.

use crate::block::{BLOCK_SIZE, Disk};
use crate::cache::CachedBlock;
use crate::directory::{
    DirEntry, Record, Records, record_len_for, set_record_entry, set_record_len, write_free_record,
    write_record,
};
use crate::directory_index::Counting;
use crate::error::FsError;
use crate::filesystem::FileSystem;
use crate::inode::{Ino, Inode, Kind};
use crate::short_bytes::same_bytes;
use core::ops::DerefMut;

const BLOCK_BYTES: u64 = BLOCK_SIZE as u64;

/// Where an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryLocation {
    /// The directory block holding the entry's record.
    pub block: u32,
    /// The record's byte offset in the block.
    pub offset: usize,
    pub ino: Ino,
    pub kind: Kind,
}

/// Where a new entry can go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// In `record` of directory block `block`: a free record, or the slack of a used one.
    InRecord { block: u32, record: Record },
    /// In a new block at the end of the directory.
    NewBlock,
}

/// What a search of a directory for a name found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DirectoryScan {
    /// The entry with the name.
    pub found: Option<EntryLocation>,
    /// Where an entry with the name could go (meaningless when `found` is set).
    pub placement: Placement,
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// The disk block of directory block `file_block`: directories have no holes.
    fn directory_block(&mut self, directory: &Inode, file_block: u64) -> Result<u32, FsError> {
        self.mapped_block(directory, file_block)?
            .ok_or(FsError::Corrupt("hole in a directory"))
    }

    /// Searches directory `directory` (whose inode is `inode`) for `name`, noting the first
    /// place a new entry of that name fits. An entry the name cache holds is not searched for,
    /// nor a name the directory index proves absent when its block with room has room still.
    /// A search that reads an unindexed directory through counts its entries into the index.
    pub(crate) fn scan_directory(
        &mut self,
        (directory, inode): (Ino, &Inode),
        name: &[u8],
    ) -> Result<DirectoryScan, FsError> {
        match self.remembered_scan(directory, name)? {
            Some(scan) => Ok(scan),
            None => self.scan_blocks((directory, inode), name),
        }
    }

    /// [`FileSystem::scan_directory`] of directory `directory`, whose inode is read only when
    /// its blocks must be searched.
    pub(crate) fn search(&mut self, directory: Ino, name: &[u8]) -> Result<DirectoryScan, FsError> {
        if let Some(scan) = self.remembered_scan(directory, name)? {
            return Ok(scan);
        }
        let inode = self.linked_inode(directory)?;
        self.scan_blocks((directory, &inode), name)
    }

    /// What the directory index and the name cache tell of `name` in `directory`, when they
    /// tell enough for a scan.
    fn remembered_scan(
        &mut self,
        directory: Ino,
        name: &[u8],
    ) -> Result<Option<DirectoryScan>, FsError> {
        if self.index.is_absent(directory, name)
            && let Some(placement) = self.room_in_hinted_block(name.len())?
        {
            return Ok(Some(DirectoryScan {
                found: None,
                placement,
            }));
        }
        Ok(self.names.get(directory, name).map(|found| DirectoryScan {
            found: Some(found),
            placement: Placement::NewBlock,
        }))
    }

    /// [`FileSystem::scan_directory`] over every block of the directory.
    fn scan_blocks(
        &mut self,
        (directory, inode): (Ino, &Inode),
        name: &[u8],
    ) -> Result<DirectoryScan, FsError> {
        let mut counting = (!self.index.covers(directory)).then(Counting::new);
        let needed = record_len_for(name.len());
        let mut placement = None;
        for file_block in 0..inode.size / BLOCK_BYTES {
            let block = self.directory_block(inode, file_block)?;
            let slot = self.slot_for_read(block)?;
            let data = &self.cache.buffer(slot).0;
            for record in Records::of(data) {
                let record = record.map_err(FsError::Corrupt)?;
                if let Some((ino, kind)) = record.entry {
                    let record_name = record.name(data);
                    if same_bytes(record_name, name) {
                        let found = EntryLocation {
                            block,
                            offset: record.offset,
                            ino,
                            kind,
                        };
                        self.names.put(directory, name, found);
                        return Ok(DirectoryScan {
                            found: Some(found),
                            placement: Placement::NewBlock,
                        });
                    }
                    if let Some(counting) = &mut counting {
                        counting.add(record_name);
                    }
                }
                if placement.is_none() && record.slack() >= needed {
                    placement = Some(Placement::InRecord { block, record });
                }
            }
        }
        let room_block = match placement {
            Some(Placement::InRecord { block, .. }) => block,
            _ => 0,
        };
        match &counting {
            Some(counting) => self.index.finish_counting(directory, counting, room_block),
            None => self.index.set_room_block(directory, room_block),
        }
        Ok(DirectoryScan {
            found: None,
            placement: placement.unwrap_or(Placement::NewBlock),
        })
    }

    /// The first record with room for an entry with a name of `name_len` bytes in the block
    /// the directory index names as having room, parsed and checked as a scan does; `None`
    /// when no block is named or it has no such record.
    fn room_in_hinted_block(&mut self, name_len: usize) -> Result<Option<Placement>, FsError> {
        let Some(block) = self.index.room_block() else {
            return Ok(None);
        };
        let needed = record_len_for(name_len);
        let slot = self.slot_for_read(block)?;
        for record in Records::of(self.slot_data(slot)) {
            let record = record.map_err(FsError::Corrupt)?;
            if record.slack() >= needed {
                return Ok(Some(Placement::InRecord { block, record }));
            }
        }
        Ok(None)
    }

    /// The entry named `name` in directory `directory` (whose inode is `inode`).
    pub(crate) fn find_entry(
        &mut self,
        directory: (Ino, &Inode),
        name: &[u8],
    ) -> Result<Option<EntryLocation>, FsError> {
        Ok(self.scan_directory(directory, name)?.found)
    }

    /// Data blocks adding an entry at `placement` allocates.
    pub(crate) fn blocks_needed_for(
        &mut self,
        directory: &Inode,
        placement: Placement,
    ) -> Result<u64, FsError> {
        match placement {
            Placement::InRecord { .. } => Ok(0),
            Placement::NewBlock => {
                self.blocks_needed_to_map(directory, directory.size / BLOCK_BYTES)
            }
        }
    }

    /// Adds entry `name` → `entry` at `placement` (from a scan of directory `directory`, whose
    /// inode is `inode`, in this step); `inode` grows by a block for [`Placement::NewBlock`] and
    /// is not stored.
    pub(crate) fn insert_entry(
        &mut self,
        (directory, inode): (Ino, &mut Inode),
        placement: Placement,
        name: &[u8],
        entry: (Ino, Kind),
    ) -> Result<(), FsError> {
        let Placement::InRecord { block, record } = placement else {
            let (block, _) = self.map_for_write(inode, inode.size / BLOCK_BYTES)?;
            let slot = self.new_journaled_slot(block)?;
            write_record(self.slot_data_mut(slot), 0, BLOCK_SIZE, entry, name);
            inode.size += BLOCK_BYTES;
            self.index.set_room_block(directory, block);
            self.entry_added(directory, name, (block, 0), entry);
            return Ok(());
        };
        self.insert_in_record(directory, (block, record), name, entry)
    }

    /// Adds entry `name` → `entry` in `record` of block `block` of directory `directory` (a
    /// [`Placement::InRecord`] from a scan in this step).
    pub(crate) fn insert_in_record(
        &mut self,
        directory: Ino,
        (block, record): (u32, Record),
        name: &[u8],
        entry: (Ino, Kind),
    ) -> Result<(), FsError> {
        let slot = self.journaled_slot(block)?;
        let data = self.slot_data_mut(slot);
        let offset = match record.entry {
            None => {
                write_record(data, record.offset, record.len, entry, name);
                record.offset
            }
            Some(_) => {
                let kept = record_len_for(record.name_len);
                set_record_len(data, record.offset, kept);
                write_record(data, record.offset + kept, record.len - kept, entry, name);
                record.offset + kept
            }
        };
        self.entry_added(directory, name, (block, offset), entry);
        Ok(())
    }

    /// Notes in the directory index and the name cache that entry `name` → `entry` of
    /// `directory` is now at `offset` of block `block`.
    fn entry_added(
        &mut self,
        directory: Ino,
        name: &[u8],
        (block, offset): (u32, usize),
        entry: (Ino, Kind),
    ) {
        self.index.added(directory, name);
        let (ino, kind) = entry;
        let location = EntryLocation {
            block,
            offset,
            ino,
            kind,
        };
        self.names.put(directory, name, location);
    }

    /// Makes the entry at `location` name `entry` instead, keeping its name.
    pub(crate) fn replace_entry(
        &mut self,
        location: EntryLocation,
        entry: (Ino, Kind),
    ) -> Result<(), FsError> {
        let slot = self.journaled_slot(location.block)?;
        set_record_entry(self.slot_data_mut(slot), location.offset, entry);
        self.names.forget(location.block, location.offset);
        Ok(())
    }

    /// Removes the entry at `location` of directory `directory`: its space joins the record
    /// before it, or becomes a free record when it is first in its block.
    pub(crate) fn remove_entry(
        &mut self,
        directory: Ino,
        location: EntryLocation,
    ) -> Result<(), FsError> {
        self.names.forget(location.block, location.offset);
        let slot = self.journaled_slot(location.block)?;
        let mut previous: Option<Record> = None;
        let mut removed = None;
        for record in Records::of(self.slot_data(slot)) {
            let record = record.map_err(FsError::Corrupt)?;
            if record.offset == location.offset {
                removed = Some(record);
                break;
            }
            previous = Some(record);
        }
        let removed = removed
            .filter(|record| record.entry.is_some())
            .ok_or(FsError::Corrupt("directory entry moved"))?;
        let removed_name = removed.name(&self.cache.buffer(slot).0);
        self.index.removed(directory, removed_name, location.block);
        let data = self.slot_data_mut(slot);
        match previous {
            Some(previous) => set_record_len(data, previous.offset, previous.len + removed.len),
            None => write_free_record(data, removed.offset, removed.len),
        }
        Ok(())
    }

    /// Whether `directory` has no entries.
    pub(crate) fn is_empty_directory(&mut self, directory: &Inode) -> Result<bool, FsError> {
        for file_block in 0..directory.size / BLOCK_BYTES {
            let block = self.directory_block(directory, file_block)?;
            let slot = self.slot_for_read(block)?;
            for record in Records::of(self.slot_data(slot)) {
                if record.map_err(FsError::Corrupt)?.entry.is_some() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The first entry of directory `ino` at or after `cursor`, and the cursor of the entry
    /// after it; `None` at the end. Start with cursor 0. `.` and `..` are not listed.
    ///
    /// A cursor is a byte position in the directory; entries added or removed while listing
    /// may or may not be seen, but every entry present throughout is listed exactly once.
    ///
    /// Errors: [`FsError::NotADirectory`], and those of [`FileSystem::stat`].
    pub fn read_dir(&mut self, ino: Ino, cursor: u64) -> Result<Option<(DirEntry, u64)>, FsError> {
        self.ensure_working()?;
        let directory = self.used_inode(ino)?;
        if !directory.is_directory() {
            return Err(FsError::NotADirectory);
        }
        let mut from_offset = (cursor % BLOCK_BYTES) as usize;
        for file_block in cursor / BLOCK_BYTES..directory.size / BLOCK_BYTES {
            let block = self.directory_block(&directory, file_block)?;
            let slot = self.slot_for_read(block)?;
            let data = self.slot_data(slot);
            for record in Records::of(data) {
                let record = record.map_err(FsError::Corrupt)?;
                if record.offset < from_offset {
                    continue;
                }
                if let Some((entry_ino, kind)) = record.entry {
                    let entry = DirEntry::new(entry_ino, kind, record.name(data));
                    let next = file_block * BLOCK_BYTES + (record.offset + record.len) as u64;
                    return Ok(Some((entry, next)));
                }
            }
            from_offset = 0;
        }
        Ok(None)
    }
}

//! The running transaction: which metadata blocks it pins, which blocks it freed, how much
//! room a step may take, and the commit that makes it durable.
//!
//! Every call is a sequence of steps; a step is a change that leaves the file system
//! consistent (one directory entry added, one block of a file written, one block freed...).
//! Before a step changes anything it reserves the most metadata blocks it can change; if the
//! transaction has no room for them, the transaction commits first. So a transaction always
//! ends between steps, and a call too large for one transaction (a 64 MiB write, freeing a
//! large file) spans several, each consistent.

use crate::block::{Disk, MAX_WRITE_BATCH};
use crate::cache::{CachedBlock, RESERVED_SLOTS, SlotState};
use crate::crc::crc32c;
use crate::error::FsError;
use crate::filesystem::FileSystem;
use crate::journal::{JournalHeader, log_block, seal_header, set_log_entry};
use crate::layout::{JOURNAL_START, SUPERBLOCK_BLOCK, seal_superblock};
use core::ops::DerefMut;

/// The most metadata blocks one step changes: a rename that grows the target directory (a
/// directory block, two indirect blocks, three bitmap blocks), plus the source directory block,
/// four inode table blocks (both parents, the moved inode, a replaced inode) and the superblock
/// (the orphan list).
pub(crate) const MAX_STEP_BLOCKS: usize = 12;

/// Freed ranges one transaction remembers; when full, the transaction commits.
const PENDING_FREE_RANGES: usize = 64;

/// The most blocks one step frees (unlinking a small file frees its blocks in one step).
pub(crate) const MAX_STEP_FREES: usize = 4;

/// Blocks freed by the running transaction. They must not be allocated again before it
/// commits: a new data block is written in place before its transaction commits, and a crash
/// would then leave the old owner (which the committed state still names) pointing at the new
/// data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingFrees {
    /// `(first block, block count)` runs.
    ranges: [(u32, u32); PENDING_FREE_RANGES],
    range_count: usize,
    block_count: u64,
}

impl PendingFrees {
    const NONE: PendingFrees = PendingFrees {
        ranges: [(0, 0); PENDING_FREE_RANGES],
        range_count: 0,
        block_count: 0,
    };

    /// Whether `block` was freed by the running transaction.
    pub fn contains(&self, block: u32) -> bool {
        self.ranges[..self.range_count]
            .iter()
            .any(|&(first, count)| block >= first && block - first < count)
    }

    /// Blocks freed by the running transaction.
    pub fn block_count(&self) -> u64 {
        self.block_count
    }

    /// Whether a step may free [`MAX_STEP_FREES`] more blocks.
    fn has_room(&self) -> bool {
        self.range_count + MAX_STEP_FREES <= PENDING_FREE_RANGES
    }

    /// Records that `block` was freed; the caller made sure there is room.
    pub fn add(&mut self, block: u32) {
        self.block_count += 1;
        for (first, count) in &mut self.ranges[..self.range_count] {
            if block == *first + *count {
                *count += 1;
                return;
            }
            if block + 1 == *first {
                *first = block;
                *count += 1;
                return;
            }
        }
        self.ranges[self.range_count] = (block, 1);
        self.range_count += 1;
    }
}

/// The state of the journal kept between calls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transaction {
    /// The sequence number of the last transaction committed.
    pub last_sequence: u64,
    pub pending_frees: PendingFrees,
}

impl Transaction {
    /// The journal after transaction `last_sequence`, with nothing running.
    pub fn after(last_sequence: u64) -> Transaction {
        Transaction {
            last_sequence,
            pending_frees: PendingFrees::NONE,
        }
    }
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// The most blocks a transaction may pin: a log area, and the cache less its reserve.
    fn transaction_capacity(&self) -> usize {
        self.layout
            .log_area_capacity()
            .min(self.cache.working_count() - RESERVED_SLOTS)
    }

    /// Makes sure the running transaction can take a step changing up to `step_blocks` more
    /// metadata blocks and freeing up to [`MAX_STEP_FREES`] blocks, committing it first if not.
    pub(crate) fn make_room(&mut self, step_blocks: usize) -> Result<(), FsError> {
        if self.cache.journaled_count() + step_blocks > self.transaction_capacity()
            || !self.transaction.pending_frees.has_room()
        {
            self.commit()?;
        }
        if step_blocks > self.transaction_capacity() {
            return Err(FsError::NoCache);
        }
        Ok(())
    }

    /// The slot of metadata block `block`, read if needed and pinned by the running
    /// transaction, ready to change.
    #[inline]
    pub(crate) fn journaled_slot(&mut self, block: u32) -> Result<usize, FsError> {
        // Most calls change a block the transaction pinned already: a lookup, inline.
        if let Some(slot) = self.cache.find(block)
            && self.cache.state(slot) == SlotState::Journaled
        {
            return Ok(slot);
        }
        self.pin_for_change(block)
    }

    /// [`FileSystem::journaled_slot`] for a block not yet pinned.
    #[inline(never)]
    fn pin_for_change(&mut self, block: u32) -> Result<usize, FsError> {
        let slot = self.slot_for_read(block)?;
        self.join_transaction(slot)?;
        Ok(slot)
    }

    /// The slot of a metadata block just allocated: zeroed (never read) and pinned.
    pub(crate) fn new_journaled_slot(&mut self, block: u32) -> Result<usize, FsError> {
        let slot = self.slot_for_overwrite(block)?;
        self.slot_data_mut(slot).fill(0);
        self.join_transaction(slot)?;
        Ok(slot)
    }

    /// Pins the cached metadata block in `slot` in the running transaction, ready to change.
    pub(crate) fn join_transaction(&mut self, slot: usize) -> Result<(), FsError> {
        if self.cache.state(slot) == SlotState::Journaled {
            return Ok(());
        }
        if self.cache.journaled_count() >= self.layout.log_area_capacity() {
            return Err(FsError::Corrupt("a step outgrew its journal reservation"));
        }
        self.cache.set_state(slot, SlotState::Journaled);
        Ok(())
    }

    /// Makes everything done so far durable: writes dirty data in place, then (if metadata
    /// changed) the transaction's blocks to its log area (the superblock sealed first), flushes, writes the sealed header,
    /// flushes, and installs the blocks at home. The install is not flushed: the log covers it
    /// until the next commit's first flush, which comes before that commit overwrites the
    /// header.
    pub(crate) fn commit(&mut self) -> Result<(), FsError> {
        self.write_back_all_dirty_data()?;
        if self.cache.journaled_count() == 0 {
            self.transaction.pending_frees = PendingFrees::NONE;
            return Ok(());
        }
        let sequence = self.transaction.last_sequence + 1;
        let header_slot = self.acquire_scratch()?;
        let journal_blocks = self.layout.journal_blocks;
        JournalHeader {
            sequence,
            entry_count: self.cache.journaled_count(),
        }
        .encode(self.cache.buffer_mut(header_slot));
        let mut log_targets = [(0u64, 0u16); MAX_WRITE_BATCH];
        let mut batch_len = 0;
        let mut index = 0;
        for slot in 0..self.cache.slot_count() {
            if self.cache.state(slot) != SlotState::Journaled {
                continue;
            }
            let home = self.cache.block(slot);
            if u64::from(home) == SUPERBLOCK_BLOCK {
                seal_superblock(self.cache.buffer_mut(slot));
            }
            let crc = crc32c(self.slot_data(slot));
            set_log_entry(self.cache.buffer_mut(header_slot), index, home, crc);
            log_targets[batch_len] = (log_block(journal_blocks, sequence, index), slot as u16);
            batch_len += 1;
            index += 1;
            if batch_len == log_targets.len() {
                self.write_slots(&log_targets)?;
                batch_len = 0;
            }
        }
        self.write_slots(&log_targets[..batch_len])?;
        seal_header(self.cache.buffer_mut(header_slot));
        self.flush_disk()?;
        self.write_slots(&[(JOURNAL_START, header_slot as u16)])?;
        self.flush_disk()?;
        self.release_scratch(header_slot);
        self.transaction.last_sequence = sequence;
        self.install_journaled_blocks()?;
        self.transaction.pending_frees = PendingFrees::NONE;
        Ok(())
    }

    /// Writes every journaled block home; they become clean.
    fn install_journaled_blocks(&mut self) -> Result<(), FsError> {
        let mut targets = [(0u64, 0u16); MAX_WRITE_BATCH];
        while self.cache.journaled_count() > 0 {
            let mut batch_len = 0;
            for slot in self.cache.slots_in(SlotState::Journaled) {
                targets[batch_len] = (u64::from(self.cache.block(slot)), slot as u16);
                batch_len += 1;
                if batch_len == targets.len() {
                    break;
                }
            }
            self.write_slots(&targets[..batch_len])?;
            for &(_, slot) in &targets[..batch_len] {
                self.cache.set_state(usize::from(slot), SlotState::Clean);
            }
        }
        // The installed blocks need no flush of their own: see `commit`.
        self.has_unflushed_writes = false;
        Ok(())
    }

    /// Writes an empty journal header after flushing the installs, so that a cleanly
    /// unmounted file system has nothing to replay.
    pub(crate) fn empty_journal(&mut self) -> Result<(), FsError> {
        self.flush_disk()?;
        let header_slot = self.acquire_scratch()?;
        JournalHeader::empty(self.transaction.last_sequence)
            .encode(self.cache.buffer_mut(header_slot));
        let written = self.write_slots(&[(JOURNAL_START, header_slot as u16)]);
        self.release_scratch(header_slot);
        written?;
        self.flush_disk()
    }
}

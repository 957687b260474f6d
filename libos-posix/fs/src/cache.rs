//! The buffer cache: page-aligned block buffers supplied by the caller, and the slot table that
//! says what each holds.
//!
//! The slot table lives in the first pages of the caller's cache itself (8 bytes per slot,
//! then the hash buckets, then 2 bytes per slot of known zeros), not in the [`FileSystem`]
//! value: the value stays small (it is built on a process stack at mount, then kept in memory
//! shared by several processes) and holds no heap memory. A cache of up to 307 slots spends
//! one page on its table, a larger one at most a page per 292 slots.
//!
//! The table also says, for each slot, from which byte on its buffer is known to hold zeros,
//! so that a new block written in part (a small file's only block) zeroes only what earlier
//! contents of the buffer left there, not the whole rest of the block each time: a slot whose
//! block was freed and whose buffer serves the next new block has its zeros already.
//!
//! A slot is free, retired (its page given back; never touched), scratch (a buffer for the
//! journal, held during one call), table (part of the slot table), or holds a block: clean
//! (equal to the disk), dirty data (a file's data, written back in place whenever convenient)
//! or journaled (metadata changed by the running transaction: pinned until the commit installs
//! it). Lookup is a hash of block numbers chained through the slots; replacement is a clock
//! over the slots, which writes dirty data back in batches when it meets some.

use crate::block::{
    BLOCK_SIZE, Block, Disk, MAX_READ_BATCH, MAX_WRITE_BATCH, ZERO_BLOCK, get_u16, get_u32,
    put_u16, put_u32,
};
use crate::error::FsError;
use crate::filesystem::FileSystem;
use alloc::vec::Vec;
use core::ops::{DerefMut, Range};

/// The most slots a cache may have (128 MiB of buffers).
pub const MAX_CACHE_SLOTS: usize = 32_768;

/// The fewest slots a cache may have: one holds the slot table of a small cache, and the
/// largest single step of a call pins 12 metadata blocks until the commit, which needs two
/// slots more.
pub const MIN_CACHE_SLOTS: usize = 16;

/// Slots a transaction may never pin: one for the block a step is reading, one for the
/// journal header of the commit.
pub(crate) const RESERVED_SLOTS: usize = 2;

/// Slots besides the slot table that always stay usable.
const MIN_WORKING_SLOTS: usize = 15;

/// Bytes of one slot's entry in the table: block (u32), next in bucket (u16), state, referenced.
const HEADER_BYTES: usize = 8;

/// "No slot" in bucket heads and chains.
const NO_SLOT: u16 = u16::MAX;

/// One buffer of the cache: exactly one page, page-aligned, so the guest can DMA a block into it
/// and give the page back to the kernel when the slot is retired. The guest initializes slots in
/// place with [`CachedBlock::EMPTY`].
#[derive(Clone)]
#[repr(C, align(4096))]
pub struct CachedBlock {
    pub(crate) data: Block,
}

impl CachedBlock {
    /// A slot holding nothing.
    pub const EMPTY: CachedBlock = CachedBlock {
        data: Block::ZEROED,
    };

    /// A slot holding nothing, for initializers that need a function.
    pub const fn empty() -> CachedBlock {
        CachedBlock::EMPTY
    }
}

/// What a slot holds; its discriminant is its code in the slot table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum SlotState {
    Free = 0,
    Retired = 1,
    Scratch = 2,
    Table = 3,
    Clean = 4,
    DirtyData = 5,
    Journaled = 6,
}

impl SlotState {
    const ALL: [SlotState; 7] = [
        SlotState::Free,
        SlotState::Retired,
        SlotState::Scratch,
        SlotState::Table,
        SlotState::Clean,
        SlotState::DirtyData,
        SlotState::Journaled,
    ];

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> SlotState {
        SlotState::ALL[usize::from(code)]
    }

    /// Whether the slot is in the hash, named by its block number.
    fn holds_block(self) -> bool {
        matches!(
            self,
            SlotState::Clean | SlotState::DirtyData | SlotState::Journaled
        )
    }
}

/// The cache pages and their slot table.
pub(crate) struct SlotCache<C> {
    pages: C,
    /// Pages at the start of `pages` holding the table.
    table_pages: usize,
    bucket_bits: u32,
    /// Byte offset of the bucket heads in the table.
    buckets_offset: usize,
    /// Byte offset of the slots' known zeros in the table: for each slot (u16), the offset in
    /// its buffer from which it holds zeros, [`BLOCK_SIZE`] when nothing is known.
    zeros_offset: usize,
    retired_count: usize,
    journaled_count: usize,
    dirty_data_count: usize,
    clock_hand: usize,
    /// A slot released last, taken before the clock evicts anything (a freed block's slot
    /// serves the next new block); `NO_SLOT` when none.
    released_slot: u16,
    /// Counts every change of what a slot holds or which block it holds (never 0): a reader
    /// that saw the count unchanged knows every slot still holds what it read there.
    changes: u64,
}

impl<C: DerefMut<Target = [CachedBlock]>> SlotCache<C> {
    /// Checks that a cache of `slot_count` slots is usable.
    ///
    /// Errors: [`FsError::InvalidArgument`] for more than [`MAX_CACHE_SLOTS`] slots,
    /// [`FsError::NoCache`] for fewer than [`MIN_CACHE_SLOTS`].
    pub fn check_slot_count(slot_count: usize) -> Result<(), FsError> {
        if slot_count > MAX_CACHE_SLOTS {
            return Err(FsError::InvalidArgument);
        }
        if slot_count < MIN_CACHE_SLOTS {
            return Err(FsError::NoCache);
        }
        Ok(())
    }

    /// Takes `pages` as a cache, writing an empty slot table into its first pages.
    ///
    /// Errors: those of [`SlotCache::check_slot_count`].
    pub fn new(pages: C) -> Result<SlotCache<C>, FsError> {
        let slot_count = pages.len();
        Self::check_slot_count(slot_count)?;
        let bucket_count = slot_count.next_power_of_two();
        let buckets_offset = slot_count * HEADER_BYTES;
        let zeros_offset = buckets_offset + 2 * bucket_count;
        // 14 bytes or less per slot: a cache of MIN_CACHE_SLOTS spends one page on its table,
        // leaving MIN_WORKING_SLOTS.
        let table_pages = (zeros_offset + 2 * slot_count).div_ceil(BLOCK_SIZE);
        let mut cache = SlotCache {
            pages,
            table_pages,
            bucket_bits: bucket_count.trailing_zeros(),
            buckets_offset,
            zeros_offset,
            retired_count: 0,
            journaled_count: 0,
            dirty_data_count: 0,
            clock_hand: table_pages,
            released_slot: NO_SLOT,
            changes: 1,
        };
        for slot in 0..slot_count {
            let state = if slot < table_pages {
                SlotState::Table
            } else {
                SlotState::Free
            };
            cache.write_header(slot, 0, NO_SLOT, state, false);
            cache.forget_zeros(slot);
        }
        for bucket in 0..bucket_count {
            cache.set_bucket_head(bucket, NO_SLOT);
        }
        Ok(cache)
    }

    /// Gives the pages back.
    pub fn into_pages(self) -> C {
        self.pages
    }

    /// The table page and byte offset of `slot`'s entry.
    fn header_position(slot: usize) -> (usize, usize) {
        let byte = slot * HEADER_BYTES;
        (byte / BLOCK_SIZE, byte % BLOCK_SIZE)
    }

    fn write_header(
        &mut self,
        slot: usize,
        block: u32,
        next: u16,
        state: SlotState,
        is_referenced: bool,
    ) {
        let (page, offset) = Self::header_position(slot);
        let bytes = &mut self.pages[page].data.0[offset..offset + HEADER_BYTES];
        put_u32(bytes, 0, block);
        put_u16(bytes, 4, next);
        bytes[6] = state.code();
        bytes[7] = u8::from(is_referenced);
    }

    fn header_bytes(&self, slot: usize) -> &[u8] {
        let (page, offset) = Self::header_position(slot);
        &self.pages[page].data.0[offset..offset + HEADER_BYTES]
    }

    fn header_bytes_mut(&mut self, slot: usize) -> &mut [u8] {
        let (page, offset) = Self::header_position(slot);
        &mut self.pages[page].data.0[offset..offset + HEADER_BYTES]
    }

    fn zeros_position(&self, slot: usize) -> (usize, usize) {
        let byte = self.zeros_offset + 2 * slot;
        (byte / BLOCK_SIZE, byte % BLOCK_SIZE)
    }

    /// The offset from which `slot`'s buffer is known to hold zeros.
    fn zeros_from(&self, slot: usize) -> usize {
        let (page, offset) = self.zeros_position(slot);
        usize::from(get_u16(&self.pages[page].data.0, offset)).min(BLOCK_SIZE)
    }

    fn set_zeros_from(&mut self, slot: usize, zeros_from: usize) {
        let (page, offset) = self.zeros_position(slot);
        put_u16(
            &mut self.pages[page].data.0,
            offset,
            zeros_from.min(BLOCK_SIZE) as u16,
        );
    }

    /// Forgets what `slot`'s buffer holds: called whenever it may change.
    fn forget_zeros(&mut self, slot: usize) {
        self.set_zeros_from(slot, BLOCK_SIZE);
    }

    fn next_in_bucket(&self, slot: usize) -> u16 {
        get_u16(self.header_bytes(slot), 4)
    }

    fn set_next_in_bucket(&mut self, slot: usize, next: u16) {
        put_u16(self.header_bytes_mut(slot), 4, next);
    }

    fn is_referenced(&self, slot: usize) -> bool {
        self.header_bytes(slot)[7] != 0
    }

    fn set_referenced(&mut self, slot: usize, is_referenced: bool) {
        self.header_bytes_mut(slot)[7] = u8::from(is_referenced);
    }

    fn bucket_position(&self, bucket: usize) -> (usize, usize) {
        let byte = self.buckets_offset + 2 * bucket;
        (byte / BLOCK_SIZE, byte % BLOCK_SIZE)
    }

    fn bucket_head(&self, bucket: usize) -> u16 {
        let (page, offset) = self.bucket_position(bucket);
        get_u16(&self.pages[page].data.0, offset)
    }

    fn set_bucket_head(&mut self, bucket: usize, slot: u16) {
        let (page, offset) = self.bucket_position(bucket);
        put_u16(&mut self.pages[page].data.0, offset, slot);
    }

    fn bucket_of(&self, block: u32) -> usize {
        (block.wrapping_mul(0x9E37_79B1) >> (32 - self.bucket_bits)) as usize
    }

    /// The slot holding `block`, marked as just used.
    pub fn find(&mut self, block: u32) -> Option<usize> {
        let mut slot = self.bucket_head(self.bucket_of(block));
        while slot != NO_SLOT {
            let index = usize::from(slot);
            if self.block(index) == block {
                self.set_referenced(index, true);
                return Some(index);
            }
            slot = self.next_in_bucket(index);
        }
        None
    }

    /// Makes the free slot `slot` hold `block` in state `state`.
    pub fn insert(&mut self, slot: usize, block: u32, state: SlotState) {
        let bucket = self.bucket_of(block);
        let next = self.bucket_head(bucket);
        self.write_header(slot, block, next, SlotState::Free, true);
        self.set_bucket_head(bucket, slot as u16);
        self.set_state(slot, state);
    }

    /// Frees `slot`, taking it out of the hash if it held a block.
    pub fn release(&mut self, slot: usize) {
        if self.state(slot).holds_block() {
            let next = self.next_in_bucket(slot);
            let bucket = self.bucket_of(self.block(slot));
            if usize::from(self.bucket_head(bucket)) == slot {
                self.set_bucket_head(bucket, next);
            } else {
                let mut previous = usize::from(self.bucket_head(bucket));
                while usize::from(self.next_in_bucket(previous)) != slot {
                    previous = usize::from(self.next_in_bucket(previous));
                }
                self.set_next_in_bucket(previous, next);
            }
        }
        self.set_state(slot, SlotState::Free);
        self.released_slot = slot as u16;
    }

    /// The slot released last, if it is still free: it leaves the free slots' hint.
    fn take_released(&mut self) -> Option<usize> {
        let slot = usize::from(core::mem::replace(&mut self.released_slot, NO_SLOT));
        (slot < self.pages.len() && self.state(slot) == SlotState::Free).then_some(slot)
    }

    /// Changes the state of `slot`, keeping the counts.
    pub fn set_state(&mut self, slot: usize, state: SlotState) {
        self.changes += 1;
        let old = self.state(slot);
        for (counted, count) in [
            (SlotState::Journaled, &mut self.journaled_count),
            (SlotState::DirtyData, &mut self.dirty_data_count),
            (SlotState::Retired, &mut self.retired_count),
        ] {
            if old == counted {
                *count -= 1;
            }
            if state == counted {
                *count += 1;
            }
        }
        self.header_bytes_mut(slot)[6] = state.code();
    }

    /// The state of `slot`.
    pub fn state(&self, slot: usize) -> SlotState {
        SlotState::from_code(self.header_bytes(slot)[6])
    }

    /// The block `slot` holds.
    pub fn block(&self, slot: usize) -> u32 {
        get_u32(self.header_bytes(slot), 0)
    }

    /// The buffer of `slot`.
    pub fn buffer(&self, slot: usize) -> &Block {
        &self.pages[slot].data
    }

    /// The buffer of `slot`, to change.
    pub fn buffer_mut(&mut self, slot: usize) -> &mut Block {
        self.changes += 1;
        self.forget_zeros(slot);
        &mut self.pages[slot].data
    }

    /// The buffer of `slot`, to hold a new block of which the caller writes exactly the bytes
    /// `kept` (within the block): every other byte is zeroed, those that the buffer's known
    /// zeros already cover excepted.
    pub fn buffer_for_new_block(&mut self, slot: usize, kept: Range<usize>) -> &mut Block {
        self.changes += 1;
        let zeros_from = self.zeros_from(slot);
        self.set_zeros_from(slot, kept.end);
        let data = &mut self.pages[slot].data.0;
        if kept.start > 0 {
            data[..kept.start].fill(0);
        }
        if kept.end < zeros_from {
            data[kept.end..zeros_from].fill(0);
        }
        &mut self.pages[slot].data
    }

    /// The buffers of `slots`, which are distinct and in increasing order, to change together.
    pub fn buffers_mut(&mut self, slots: impl Iterator<Item = usize> + Clone) -> Vec<&mut Block> {
        self.changes += 1;
        for slot in slots.clone() {
            if slot < self.pages.len() {
                self.forget_zeros(slot);
            }
        }
        let mut pages = self.pages.iter_mut();
        let mut next = 0;
        slots
            .map_while(|slot| {
                let page = pages.nth(slot.checked_sub(next)?)?;
                next = slot + 1;
                Some(&mut page.data)
            })
            .collect()
    }

    /// How many times a slot's contents, state or block have changed: two equal counts mean
    /// nothing cached changed in between.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Marks `slot` as just used, as [`SlotCache::find`] does, for a reader that found it
    /// without looking.
    pub fn mark_used(&mut self, slot: usize) {
        self.set_referenced(slot, true);
    }

    /// Slots in the cache, the table and retired ones included.
    pub fn slot_count(&self) -> usize {
        self.pages.len()
    }

    /// Slots not retired, the table included.
    pub fn usable_count(&self) -> usize {
        self.pages.len() - self.retired_count
    }

    /// Slots that can hold blocks: not retired, not the table.
    pub fn working_count(&self) -> usize {
        self.usable_count() - self.table_pages
    }

    /// Slots pinned by the running transaction.
    pub fn journaled_count(&self) -> usize {
        self.journaled_count
    }

    /// Slots holding data not yet written back.
    pub fn dirty_data_count(&self) -> usize {
        self.dirty_data_count
    }

    /// The slots in `state`, in slot order.
    pub fn slots_in(&self, state: SlotState) -> impl Iterator<Item = usize> + '_ {
        (self.table_pages..self.pages.len()).filter(move |&slot| self.state(slot) == state)
    }

    /// The slot under the clock hand, which then moves on.
    fn advance_clock(&mut self) -> usize {
        let slot = self.clock_hand;
        self.clock_hand += 1;
        if self.clock_hand == self.pages.len() {
            self.clock_hand = self.table_pages;
        }
        slot
    }
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// The contents of `slot`.
    pub(crate) fn slot_data(&self, slot: usize) -> &[u8; BLOCK_SIZE] {
        &self.cache.buffer(slot).0
    }

    /// The contents of `slot`, to change.
    pub(crate) fn slot_data_mut(&mut self, slot: usize) -> &mut [u8; BLOCK_SIZE] {
        &mut self.cache.buffer_mut(slot).0
    }

    /// The contents of `slot`, taken for a new block of which the caller writes exactly the
    /// bytes `kept`: all the others read as zeros.
    pub(crate) fn new_block_data(
        &mut self,
        slot: usize,
        kept: core::ops::Range<usize>,
    ) -> &mut [u8; BLOCK_SIZE] {
        &mut self.cache.buffer_for_new_block(slot, kept).0
    }

    /// A free slot: the one released last if it is still free, else by the clock: a clean
    /// unreferenced slot is taken, a dirty data slot is written back first (with a batch of
    /// others). Fails with [`FsError::NoCache`] only when every usable slot is pinned or
    /// scratch.
    pub(crate) fn acquire_slot(&mut self) -> Result<usize, FsError> {
        if let Some(slot) = self.cache.take_released() {
            return Ok(slot);
        }
        for _ in 0..=2 * self.cache.slot_count() {
            let slot = self.cache.advance_clock();
            let state = self.cache.state(slot);
            let is_evictable = matches!(state, SlotState::Clean | SlotState::DirtyData);
            if is_evictable && self.cache.is_referenced(slot) {
                self.cache.set_referenced(slot, false);
                continue;
            }
            match state {
                SlotState::Free => return Ok(slot),
                SlotState::Clean => {
                    self.cache.release(slot);
                    return Ok(slot);
                }
                SlotState::DirtyData => {
                    self.write_back_dirty_batch(slot)?;
                    self.cache.release(slot);
                    return Ok(slot);
                }
                _ => {}
            }
        }
        Err(FsError::NoCache)
    }

    /// A slot taken out of the cache as a buffer, until [`FileSystem::release_scratch`].
    pub(crate) fn acquire_scratch(&mut self) -> Result<usize, FsError> {
        let slot = self.acquire_slot()?;
        self.cache.set_state(slot, SlotState::Scratch);
        Ok(slot)
    }

    /// Gives a scratch slot back.
    pub(crate) fn release_scratch(&mut self, slot: usize) {
        self.cache.release(slot);
    }

    /// The slot holding `block`, read from the disk if it is not cached.
    #[inline]
    pub(crate) fn slot_for_read(&mut self, block: u32) -> Result<usize, FsError> {
        match self.cache.find(block) {
            Some(slot) => Ok(slot),
            None => self.read_into_cache(block),
        }
    }

    /// [`FileSystem::slot_for_read`] for a block not cached.
    #[inline(never)]
    fn read_into_cache(&mut self, block: u32) -> Result<usize, FsError> {
        let slot = self.acquire_slot()?;
        self.disk
            .read(u64::from(block), self.cache.buffer_mut(slot))?;
        self.cache.insert(slot, block, SlotState::Clean);
        Ok(slot)
    }

    /// Brings those of `blocks` (`None` for a hole) that are not cached into the cache, in one
    /// request to the disk, so that a long read costs a request per batch rather than one per
    /// block. Takes at most [`MAX_READ_BATCH`] blocks, and no more than a quarter of the cache;
    /// stops early, without an error, when no slot is free to take.
    pub(crate) fn read_ahead(&mut self, blocks: &[Option<u32>]) -> Result<(), FsError> {
        let limit = (self.cache.usable_count() / 4).min(MAX_READ_BATCH);
        let mut missing: Vec<(usize, u32)> = Vec::with_capacity(limit);
        let mut outcome = Ok(());
        for &block in blocks.iter().flatten() {
            if missing.len() == limit {
                break;
            }
            if self.cache.find(block).is_some() || missing.iter().any(|&(_, taken)| taken == block)
            {
                continue;
            }
            // Scratch until read: the next slot taken must not evict this one.
            match self.acquire_scratch() {
                Ok(slot) => missing.push((slot, block)),
                Err(FsError::NoCache) => break,
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        missing.sort_unstable();
        let mut read_count = 0;
        if outcome.is_ok() && !missing.is_empty() {
            let slots = missing.iter().map(|&(slot, _)| slot);
            let mut reads: Vec<(u64, &mut Block)> = missing
                .iter()
                .map(|&(_, block)| u64::from(block))
                .zip(self.cache.buffers_mut(slots))
                .collect();
            outcome = self.disk.read_batch(&mut reads).map_err(FsError::from);
            read_count = reads.len();
        }
        for (index, &(slot, block)) in missing.iter().enumerate() {
            self.release_scratch(slot);
            if outcome.is_ok() && index < read_count {
                self.cache.insert(slot, block, SlotState::Clean);
            }
        }
        outcome
    }

    /// The slot for `block` when the caller is about to overwrite all of it: cached, or a
    /// fresh slot whose contents are left as they are (not read).
    pub(crate) fn slot_for_overwrite(&mut self, block: u32) -> Result<usize, FsError> {
        if let Some(slot) = self.cache.find(block) {
            return Ok(slot);
        }
        let slot = self.acquire_slot()?;
        self.cache.insert(slot, block, SlotState::Clean);
        Ok(slot)
    }

    /// Marks a slot holding file data as changed.
    pub(crate) fn mark_dirty_data(&mut self, slot: usize) {
        if self.cache.state(slot) == SlotState::Clean {
            self.cache.set_state(slot, SlotState::DirtyData);
        }
    }

    /// Drops `block` from the cache unless the running transaction holds it: called when a
    /// data block is freed, so its stale contents are never written back.
    pub(crate) fn forget_block(&mut self, block: u32) {
        if let Some(slot) = self.cache.find(block)
            && self.cache.state(slot) != SlotState::Journaled
        {
            self.cache.release(slot);
        }
    }

    /// Writes each `(disk block, slot)` pair, in batches of [`MAX_WRITE_BATCH`].
    pub(crate) fn write_slots(&mut self, targets: &[(u64, u16)]) -> Result<(), FsError> {
        let mut batch = [(0u64, &ZERO_BLOCK); MAX_WRITE_BATCH];
        for chunk in targets.chunks(MAX_WRITE_BATCH) {
            for (entry, &(block, slot)) in batch.iter_mut().zip(chunk) {
                *entry = (block, self.cache.buffer(usize::from(slot)));
            }
            self.disk.write(&batch[..chunk.len()])?;
            self.has_unflushed_writes = true;
        }
        Ok(())
    }

    /// Writes back up to [`MAX_WRITE_BATCH`] dirty data slots, searching from slot `first`
    /// on (wrapping around), in block order; they become clean. Returns the slot after the
    /// last one taken.
    fn write_back_dirty_batch(&mut self, first: usize) -> Result<usize, FsError> {
        let slot_count = self.cache.slot_count();
        let mut targets = [(0u64, 0u16); MAX_WRITE_BATCH];
        let mut batch_len = 0;
        let mut next = first;
        for step in 0..slot_count {
            let slot = (first + step) % slot_count;
            if self.cache.state(slot) == SlotState::DirtyData {
                targets[batch_len] = (u64::from(self.cache.block(slot)), slot as u16);
                batch_len += 1;
                next = (slot + 1) % slot_count;
                if batch_len == MAX_WRITE_BATCH {
                    break;
                }
            }
        }
        let batch = &mut targets[..batch_len];
        batch.sort_unstable_by_key(|&(block, _)| block);
        self.write_slots(batch)?;
        for &(_, slot) in batch.iter() {
            self.cache.set_state(usize::from(slot), SlotState::Clean);
        }
        Ok(next)
    }

    /// Writes back every dirty data slot.
    pub(crate) fn write_back_all_dirty_data(&mut self) -> Result<(), FsError> {
        let mut next = 0;
        while self.cache.dirty_data_count() > 0 {
            next = self.write_back_dirty_batch(next)?;
        }
        Ok(())
    }

    /// Flushes the disk.
    pub(crate) fn flush_disk(&mut self) -> Result<(), FsError> {
        self.disk.flush()?;
        self.has_unflushed_writes = false;
        Ok(())
    }

    /// Marks up to `max` free or clean slots as retired and stores their indices in the cache
    /// slice in `out` (at most `out.len()` of them); returns how many. A retired slot's memory
    /// is never touched again until [`FileSystem::restore_slot`], so the caller may give its
    /// page back.
    ///
    /// Free slots go first, then clean ones. Dirty data and journaled slots are never retired
    /// ([`FileSystem::sync`] first makes every slot clean), nor the slots holding the slot
    /// table; at least 15 other slots (and enough for the running transaction to commit) stay
    /// usable.
    pub fn retire_clean_slots(&mut self, max: usize, out: &mut [usize]) -> usize {
        let limit = max.min(out.len());
        let floor = MIN_WORKING_SLOTS.max(self.cache.journaled_count() + RESERVED_SLOTS);
        let mut retired = 0;
        for wanted in [SlotState::Free, SlotState::Clean] {
            for slot in 0..self.cache.slot_count() {
                if retired == limit || self.cache.working_count() <= floor {
                    return retired;
                }
                if self.cache.state(slot) == wanted {
                    self.cache.release(slot);
                    self.cache.set_state(slot, SlotState::Retired);
                    out[retired] = slot;
                    retired += 1;
                }
            }
        }
        retired
    }

    /// Makes retired slot `index` usable again; its contents are not trusted.
    ///
    /// Errors: [`FsError::InvalidArgument`] when `index` is not a retired slot.
    pub fn restore_slot(&mut self, index: usize) -> Result<(), FsError> {
        if index >= self.cache.slot_count() || self.cache.state(index) != SlotState::Retired {
            return Err(FsError::InvalidArgument);
        }
        self.cache.set_state(index, SlotState::Free);
        // The page came back from the kernel: its contents are not the buffer's any more.
        self.cache.forget_zeros(index);
        Ok(())
    }

    /// Slots not retired, the slot table included.
    pub fn usable_slots(&self) -> usize {
        self.cache.usable_count()
    }
}

#[cfg(test)]
mod state_codes {
    use super::SlotState;

    #[test]
    fn each_state_reads_back_from_its_code() {
        for state in SlotState::ALL {
            assert_eq!(SlotState::from_code(state.code()), state);
        }
    }
}

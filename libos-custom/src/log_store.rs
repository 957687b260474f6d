//! A log-structured durable key-value store on a [`BlockDevice`]: the disk layout manager of
//! this library OS.
//!
//! # Layout
//!
//! Block 0 is the superblock (the [`Layout`], the segment count and a nonce). Two checkpoint
//! slots of [`Layout::checkpoint_slot_blocks`] blocks each follow, then the segments, each
//! [`Layout::segment_blocks`] contiguous blocks, to the end of the device. Records (a put or a
//! tombstone: header, key, value, CRC-32) are appended to the head segment, packed several per
//! block and spanning blocks, never segments. An in-memory index maps each key to its newest
//! record.
//!
//! # Durability
//!
//! - [`LogStore::put`] and [`LogStore::delete`] append to the open batch in memory and return
//!   before anything is durable. [`LogStore::commit`] writes the batch's blocks in one
//!   [`BlockDevice::write`] and one [`BlockDevice::flush`]: when it returns `Ok`, every put and
//!   delete before it is durable ("acknowledged"). [`LogStore::put_durable`] is a put and a
//!   commit.
//! - Each commit starts in a fresh block: a block that holds acknowledged records is never
//!   written again until its segment is cleaned, so no block write needs to be atomic for
//!   acknowledged data to survive. The price is the unused tail of each commit's last block,
//!   counted in [`StoreStatistics::padding_bytes`].
//! - A crash keeps a prefix of the log: recovery replays records in sequence order and stops at
//!   the first missing or damaged one, so the recovered store is the state after some prefix
//!   of the operations that includes every acknowledged one. An unacknowledged put may appear,
//!   but only whole.
//! - A put may commit the open batch early: when the head segment is full and only the
//!   cleaner's reserve of free segments is left, it commits and cleans before appending.
//!
//! # Cleaning and checkpoints
//!
//! The cleaner ([`LogStore::clean`], also run automatically when free segments run low) lets a
//! [`CleaningPolicy`] rank the segments, copies the live records of the chosen ones to the head,
//! commits, then writes a checkpoint, and only then counts the segments free. A checkpoint holds
//! the log head, the segment table and the whole index; it alternates between the two slots
//! with a sequence number and checksums, so a crash while writing one leaves the other valid.
//! The index must fit a slot: a put of a new key that would not fit fails with
//! [`StoreError::IndexFull`].
//!
//! Sequence numbers are never reused: each [`LogStore::open`] starts a new epoch (the high bits
//! of the sequence number) and checkpoints it before writing, so records a crash left behind
//! past the recovered log's end never match the sequence recovery expects next.

mod cleaner;
mod crc32;
mod format;
mod measure;
mod policy;
mod reader;
mod recovery;

#[cfg(test)]
mod tests;

pub use measure::{PutCost, measure_puts};
pub use policy::{CleaningPolicy, CostBenefit, Greedy, SegmentUsage};

use crate::block_device::{BLOCK_SIZE, Block, BlockDevice, DeviceError};
use alloc::boxed::Box;
use alloc::vec::Vec;
use format::{
    CHECKPOINT_ENTRY_FIXED_BYTES, Geometry, LogPosition, RECORD_BYTES_MAX, RecordKind, RecordPlace,
    SegmentRecord,
};
use hashbrown::HashMap;

/// The longest key, in bytes.
pub const KEY_BYTES_MAX: usize = 255;

/// The longest value, in bytes.
pub const VALUE_BYTES_MAX: usize = 16 * 1024;

/// Free segments only the cleaner may take, so that it always has room to copy into.
pub const CLEANER_RESERVE_SEGMENTS: u32 = 2;

/// The smallest device: the head, the cleaner's reserve and one more segment to clean.
const SEGMENT_COUNT_MIN: u64 = CLEANER_RESERVE_SEGMENTS as u64 + 2;

/// A sequence number is `epoch << EPOCH_SHIFT | count`: 2^40 records per opening.
const EPOCH_SHIFT: u32 = 40;

/// How a device is divided, chosen at [`LogStore::format`] and kept in the superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Blocks per segment: the unit the cleaner frees. At least [`Layout::SEGMENT_BLOCKS_MIN`],
    /// so that a segment always has room for the largest record beyond what the cleaner counts
    /// on filling.
    pub segment_blocks: u32,
    /// Blocks per checkpoint slot (there are two). A slot holds the segment table (9 bytes per
    /// segment) and the index (13 bytes plus the key per key), so it bounds the number of keys.
    pub checkpoint_slot_blocks: u32,
}

impl Layout {
    /// The smallest segment: twice the largest record fits.
    pub const SEGMENT_BLOCKS_MIN: u32 = (2 * RECORD_BYTES_MAX).div_ceil(BLOCK_SIZE) as u32;

    /// The largest segment or slot, so that byte offsets within one fit 32 bits.
    pub const REGION_BLOCKS_MAX: u32 = 1 << 19;

    /// Whether the numbers are within bounds.
    ///
    /// Errors: [`StoreError::BadLayout`].
    pub fn check(&self) -> Result<(), StoreError> {
        let is_sound = (Self::SEGMENT_BLOCKS_MIN..=Self::REGION_BLOCKS_MAX)
            .contains(&self.segment_blocks)
            && (1..=Self::REGION_BLOCKS_MAX).contains(&self.checkpoint_slot_blocks);
        if is_sound {
            Ok(())
        } else {
            Err(StoreError::BadLayout)
        }
    }
}

impl Default for Layout {
    /// 256 KiB segments; 256 KiB slots (some 10,000 keys of 10 bytes).
    fn default() -> Layout {
        Layout {
            segment_blocks: 64,
            checkpoint_slot_blocks: 64,
        }
    }
}

/// Why a store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The device failed. After a failed write or flush the store is poisoned.
    Device(DeviceError),
    /// A key longer than [`KEY_BYTES_MAX`].
    KeyTooLong,
    /// A value longer than [`VALUE_BYTES_MAX`].
    ValueTooLarge,
    /// No free segment is left, even after cleaning: the live data fill the device.
    Full,
    /// A new key would make the index too large for a checkpoint slot.
    IndexFull,
    /// [`LogStore::format`]: the layout is out of bounds.
    BadLayout,
    /// [`LogStore::format`]: the device has room for fewer than four segments.
    DeviceTooSmall,
    /// [`LogStore::open`]: block 0 is not a valid superblock for this device.
    NotFormatted,
    /// [`LogStore::open`]: neither checkpoint slot holds a valid checkpoint.
    NoCheckpoint,
    /// A record the index points at fails its checks: the medium was damaged.
    Corrupt,
    /// An earlier write or flush failed, so what the device holds is unknown: reopen it.
    Poisoned,
}

/// What the store asked of its device, and how its log was used, since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStatistics {
    /// Blocks read from the device.
    pub blocks_read: u64,
    /// Blocks written to the device (records, padding and checkpoints).
    pub blocks_written: u64,
    /// Calls to [`BlockDevice::write`].
    pub write_calls: u64,
    /// Calls to [`BlockDevice::flush`].
    pub flushes: u64,
    /// Records appended (puts, tombstones and the cleaner's copies).
    pub records_appended: u64,
    /// Bytes of those records.
    pub record_bytes_appended: u64,
    /// Bytes of log left unused: each commit's last block after its records, and a segment's
    /// tail when the next record does not fit it.
    pub padding_bytes: u64,
    /// Commits that wrote something.
    pub commits: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Segments the cleaner freed.
    pub segments_cleaned: u64,
    /// Bytes of live records the cleaner copied.
    pub cleaner_bytes_copied: u64,
}

impl StoreStatistics {
    /// What happened between `earlier` (a copy taken before) and `self` (saturating at 0).
    pub fn since(&self, earlier: &StoreStatistics) -> StoreStatistics {
        StoreStatistics {
            blocks_read: self.blocks_read.saturating_sub(earlier.blocks_read),
            blocks_written: self.blocks_written.saturating_sub(earlier.blocks_written),
            write_calls: self.write_calls.saturating_sub(earlier.write_calls),
            flushes: self.flushes.saturating_sub(earlier.flushes),
            records_appended: self
                .records_appended
                .saturating_sub(earlier.records_appended),
            record_bytes_appended: self
                .record_bytes_appended
                .saturating_sub(earlier.record_bytes_appended),
            padding_bytes: self.padding_bytes.saturating_sub(earlier.padding_bytes),
            commits: self.commits.saturating_sub(earlier.commits),
            checkpoints: self.checkpoints.saturating_sub(earlier.checkpoints),
            segments_cleaned: self
                .segments_cleaned
                .saturating_sub(earlier.segments_cleaned),
            cleaner_bytes_copied: self
                .cleaner_bytes_copied
                .saturating_sub(earlier.cleaner_bytes_copied),
        }
    }
}

/// One segment as the store tracks it in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SegmentState {
    /// Free segments hold nothing any checkpoint or the log after it needs.
    is_free: bool,
    live_bytes: u32,
    last_written: u64,
}

/// A durable key-value store on `device`, cleaning with `policy`. See the module
/// documentation for what is durable when.
pub struct LogStore<D: BlockDevice, C: CleaningPolicy> {
    device: D,
    policy: C,
    geometry: Geometry,
    index: HashMap<Vec<u8>, RecordPlace>,
    /// Bytes the index takes in a checkpoint.
    index_bytes: usize,
    segments: Vec<SegmentState>,
    /// Where the next record goes.
    head: LogPosition,
    /// The open batch's blocks, in log order; the first starts at a block boundary.
    batch: Vec<(u64, Box<Block>)>,
    next_sequence: u64,
    /// Records appended since format: the policies' notion of time.
    clock: u64,
    /// The sequence number of the newest checkpoint written.
    checkpoint_sequence: u64,
    statistics: StoreStatistics,
    is_poisoned: bool,
}

impl<D: BlockDevice, C: CleaningPolicy> LogStore<D, C> {
    /// Makes an empty store on `device` (one write of the superblock, one checkpoint, one
    /// flush). A store formatted earlier on the device is gone: the new one takes the next
    /// nonce, so none of its blocks pass this store's checksums. (If the old superblock is
    /// unreadable the nonce restarts at 1; then format over zeroed blocks.)
    ///
    /// Errors: [`StoreError::BadLayout`]; [`StoreError::DeviceTooSmall`];
    /// [`StoreError::Device`].
    pub fn format(mut device: D, policy: C, layout: Layout) -> Result<Self, StoreError> {
        layout.check()?;
        let segment_count = Geometry::segment_count_for(layout, device.block_count());
        if segment_count < SEGMENT_COUNT_MIN {
            return Err(StoreError::DeviceTooSmall);
        }
        let mut old_superblock = Box::new(Block::zeroed());
        let nonce = match device.read(0, &mut old_superblock) {
            Ok(()) => format::decode_superblock(&old_superblock, device.block_count())
                .map_or(1, |old| old.nonce.wrapping_add(1)),
            Err(_) => 1,
        };
        let geometry = Geometry {
            layout,
            segment_count: u32::try_from(segment_count).unwrap_or(u32::MAX),
            nonce,
        };
        let mut store = LogStore::empty(device, policy, geometry);
        store.segments[0].is_free = false;
        store.next_sequence = 1 << EPOCH_SHIFT;
        // Slot 0 is cleared so that a checkpoint of an earlier store can never be chosen.
        let superblock = format::encode_superblock(&geometry);
        let cleared = Block::zeroed();
        store.device_write(&[(0, &superblock), (geometry.slot_first_block(0), &cleared)])?;
        store.write_checkpoint()?;
        Ok(store)
    }

    fn empty(device: D, policy: C, geometry: Geometry) -> Self {
        let free = SegmentState {
            is_free: true,
            live_bytes: 0,
            last_written: 0,
        };
        LogStore {
            device,
            policy,
            geometry,
            index: HashMap::new(),
            index_bytes: 0,
            segments: alloc::vec![free; geometry.segment_count as usize],
            head: LogPosition {
                segment: 0,
                offset: 0,
            },
            batch: Vec::new(),
            next_sequence: 0,
            clock: 0,
            checkpoint_sequence: 0,
            statistics: StoreStatistics::default(),
            is_poisoned: false,
        }
    }

    /// Sets `key` to `value` in the open batch: visible to [`LogStore::get`] at once, durable
    /// only after the next [`LogStore::commit`] returns `Ok` (it may commit the batch itself
    /// when it has to clean).
    ///
    /// Errors: [`StoreError::KeyTooLong`]; [`StoreError::ValueTooLarge`];
    /// [`StoreError::IndexFull`]; [`StoreError::Full`]; [`StoreError::Poisoned`]; from cleaning,
    /// [`StoreError::Device`] and [`StoreError::Corrupt`].
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.check_usable()?;
        if key.len() > KEY_BYTES_MAX {
            return Err(StoreError::KeyTooLong);
        }
        if value.len() > VALUE_BYTES_MAX {
            return Err(StoreError::ValueTooLarge);
        }
        let is_new_key = !self.index.contains_key(key);
        if is_new_key && self.index_bytes + index_entry_bytes(key) > self.geometry.index_bytes_max()
        {
            return Err(StoreError::IndexFull);
        }
        let place = self.append(RecordKind::Put, key, value, false)?;
        self.set_place(key, Some(place));
        Ok(())
    }

    /// A [`LogStore::put`] followed by a [`LogStore::commit`]: durable when it returns `Ok`.
    ///
    /// Errors: those of both.
    pub fn put_durable(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.put(key, value)?;
        self.commit()
    }

    /// Removes `key` in the open batch (a tombstone record), durable after the next commit.
    /// Returns whether the key was present; an absent key costs nothing. A tombstone needs log
    /// space too: on a full store a delete may use one of the cleaner's reserve segments.
    ///
    /// Errors: [`StoreError::KeyTooLong`]; [`StoreError::Full`]; [`StoreError::Poisoned`]; from
    /// cleaning, [`StoreError::Device`] and [`StoreError::Corrupt`].
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, StoreError> {
        self.check_usable()?;
        if key.len() > KEY_BYTES_MAX {
            return Err(StoreError::KeyTooLong);
        }
        if !self.index.contains_key(key) {
            return Ok(false);
        }
        self.append(RecordKind::Tombstone, key, &[], false)?;
        self.set_place(key, None);
        Ok(true)
    }

    /// Makes every put and delete so far durable: one write of the open batch's blocks, one
    /// flush. Nothing is written if the batch is empty. The next commit starts in a fresh
    /// block.
    ///
    /// Errors: [`StoreError::Device`] (the store is then poisoned); [`StoreError::Poisoned`].
    pub fn commit(&mut self) -> Result<(), StoreError> {
        self.check_usable()?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = core::mem::take(&mut self.batch);
        let writes: Vec<(u64, &Block)> = batch
            .iter()
            .map(|(block, bytes)| (*block, &**bytes))
            .collect();
        self.device_write(&writes)?;
        self.device_flush()?;
        let aligned = round_up_to_block(self.head.offset);
        self.statistics.padding_bytes += u64::from(aligned - self.head.offset);
        self.head.offset = aligned;
        self.statistics.commits += 1;
        Ok(())
    }

    /// The value of `key`, committed or in the open batch.
    ///
    /// Errors: [`StoreError::Corrupt`] if its record fails its checks; [`StoreError::Device`];
    /// [`StoreError::Poisoned`].
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_usable()?;
        let Some(&place) = self.index.get(key) else {
            return Ok(None);
        };
        let mut cache = reader::BlockCache::new();
        let (header, bytes) = self.read_record(place, &mut cache)?;
        let (stored_key, value) = format::record_key_value(&bytes, &header);
        if header.kind != RecordKind::Put || stored_key != key {
            return Err(StoreError::Corrupt);
        }
        Ok(Some(value))
    }

    /// Commits, then writes a checkpoint to the older slot and flushes: recovery then starts
    /// from here instead of replaying the log before it.
    ///
    /// Errors: those of [`LogStore::commit`]; [`StoreError::IndexFull`] never happens for an
    /// index [`LogStore::put`] accepted.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.commit()?;
        self.write_checkpoint()
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.index.contains_key(key)
    }

    /// Every key with a value, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.index.keys().map(Vec::as_slice)
    }

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Segments holding nothing, the cleaner's reserve included.
    pub fn free_segment_count(&self) -> u32 {
        self.segments
            .iter()
            .filter(|segment| segment.is_free)
            .count() as u32
    }

    /// Segments on the device.
    pub fn segment_count(&self) -> u32 {
        self.geometry.segment_count
    }

    /// What the store did since it was formatted or opened.
    pub fn statistics(&self) -> &StoreStatistics {
        &self.statistics
    }

    /// The device, for inspection.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// Gives the device back; the open batch is dropped (commit first to keep it).
    pub fn into_device(self) -> D {
        self.device
    }

    fn check_usable(&self) -> Result<(), StoreError> {
        if self.is_poisoned {
            Err(StoreError::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Appends a record to the open batch, moving the head to a new segment if it does not fit
    /// (after cleaning, unless this is the cleaner's own copy).
    fn append(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        is_cleaner: bool,
    ) -> Result<RecordPlace, StoreError> {
        let record = format::encode_record(&self.geometry, kind, self.next_sequence, key, value);
        let length = record.len() as u32;
        if !self.head_has_room(length) {
            if !is_cleaner && self.free_segment_count() <= CLEANER_RESERVE_SEGMENTS {
                self.commit()?;
                self.clean_until_above_reserve()?;
                // Cleaning used sequence numbers: encode again with the next one.
                return self.append_after_cleaning(kind, key, value);
            }
            self.move_head_to_free_segment(reserve_left_by(kind, is_cleaner))?;
        }
        Ok(self.place_in_batch(&record))
    }

    fn append_after_cleaning(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
    ) -> Result<RecordPlace, StoreError> {
        let record = format::encode_record(&self.geometry, kind, self.next_sequence, key, value);
        if !self.head_has_room(record.len() as u32) {
            self.move_head_to_free_segment(reserve_left_by(kind, false))?;
        }
        Ok(self.place_in_batch(&record))
    }

    fn head_has_room(&self, length: u32) -> bool {
        u64::from(self.head.offset) + u64::from(length) <= u64::from(self.geometry.segment_bytes())
    }

    /// Starts the log in the lowest-numbered free segment, leaving `reserve` free ones.
    fn move_head_to_free_segment(&mut self, reserve: u32) -> Result<(), StoreError> {
        if self.free_segment_count() <= reserve {
            return Err(StoreError::Full);
        }
        let segment = self
            .segments
            .iter()
            .position(|segment| segment.is_free)
            .ok_or(StoreError::Full)?;
        self.segments[segment] = SegmentState {
            is_free: false,
            live_bytes: 0,
            last_written: self.clock,
        };
        let skipped = self.geometry.segment_bytes() - self.head.offset;
        self.statistics.padding_bytes += u64::from(skipped);
        self.head = LogPosition {
            segment: segment as u32,
            offset: 0,
        };
        Ok(())
    }

    /// Copies an encoded record (which fits the head segment) into the batch at the head.
    fn place_in_batch(&mut self, record: &[u8]) -> RecordPlace {
        let place = RecordPlace {
            segment: self.head.segment,
            offset: self.head.offset,
            length: record.len() as u32,
        };
        let first_block = self.geometry.segment_first_block(place.segment);
        let mut position = place.offset as usize;
        let mut copied = 0;
        while copied < record.len() {
            let block = first_block + (position / BLOCK_SIZE) as u64;
            let within = position % BLOCK_SIZE;
            let take = (BLOCK_SIZE - within).min(record.len() - copied);
            if self.batch.last().is_none_or(|(last, _)| *last != block) {
                self.batch.push((block, Box::new(Block::zeroed())));
            }
            if let Some((_, bytes)) = self.batch.last_mut() {
                bytes.0[within..within + take].copy_from_slice(&record[copied..copied + take]);
            }
            copied += take;
            position += take;
        }
        self.head.offset += place.length;
        self.next_sequence += 1;
        self.clock = self.clock.wrapping_add(1);
        self.segments[place.segment as usize].last_written = self.clock;
        self.statistics.records_appended += 1;
        self.statistics.record_bytes_appended += u64::from(place.length);
        place
    }

    /// Points `key` at `place` (or removes it), keeping live bytes and the index size right.
    fn set_place(&mut self, key: &[u8], place: Option<RecordPlace>) {
        let old = match place {
            Some(place) => self.index.insert(key.to_vec(), place),
            None => self.index.remove(key),
        };
        match (old, place) {
            (None, Some(_)) => self.index_bytes += index_entry_bytes(key),
            (Some(_), None) => self.index_bytes -= index_entry_bytes(key),
            _ => {}
        }
        if let Some(old) = old {
            let segment = &mut self.segments[old.segment as usize];
            segment.live_bytes = segment.live_bytes.saturating_sub(old.length);
        }
        if let Some(place) = place {
            let segment = &mut self.segments[place.segment as usize];
            segment.live_bytes = segment.live_bytes.saturating_add(place.length);
        }
    }

    /// Writes a checkpoint of the committed state (the batch must be empty) to the slot the
    /// newest one is not in, and flushes.
    fn write_checkpoint(&mut self) -> Result<(), StoreError> {
        let checkpoint_sequence = self.checkpoint_sequence.wrapping_add(1);
        let segments: Vec<SegmentRecord> = self
            .segments
            .iter()
            .map(|segment| SegmentRecord {
                is_free: segment.is_free,
                last_written: segment.last_written,
            })
            .collect();
        let blocks = format::encode_checkpoint(
            &self.geometry,
            checkpoint_sequence,
            self.next_sequence,
            self.clock,
            self.head,
            &segments,
            self.index
                .iter()
                .map(|(key, place)| (key.as_slice(), *place)),
        )
        .ok_or(StoreError::IndexFull)?;
        let first_block = self.geometry.slot_first_block(checkpoint_sequence % 2);
        let writes: Vec<(u64, &Block)> = (first_block..).zip(blocks.iter()).collect();
        self.device_write(&writes)?;
        self.device_flush()?;
        self.checkpoint_sequence = checkpoint_sequence;
        self.statistics.checkpoints += 1;
        Ok(())
    }

    fn device_write(&mut self, writes: &[(u64, &Block)]) -> Result<(), StoreError> {
        self.statistics.write_calls += 1;
        self.statistics.blocks_written += writes.len() as u64;
        self.device.write(writes).map_err(|error| {
            self.is_poisoned = true;
            StoreError::Device(error)
        })
    }

    fn device_flush(&mut self) -> Result<(), StoreError> {
        self.statistics.flushes += 1;
        self.device.flush().map_err(|error| {
            self.is_poisoned = true;
            StoreError::Device(error)
        })
    }
}

/// Free segments an append must leave. The cleaner may take them all (its round is sized to
/// fit); a delete may take one of the cleaner's reserve, so that a full store can still delete
/// and then clean what the deletes freed.
fn reserve_left_by(kind: RecordKind, is_cleaner: bool) -> u32 {
    match (is_cleaner, kind) {
        (true, _) => 0,
        (false, RecordKind::Tombstone) => CLEANER_RESERVE_SEGMENTS - 1,
        (false, RecordKind::Put) => CLEANER_RESERVE_SEGMENTS,
    }
}

/// Bytes a key's entry takes in a checkpoint.
fn index_entry_bytes(key: &[u8]) -> usize {
    CHECKPOINT_ENTRY_FIXED_BYTES + key.len()
}

fn round_up_to_block(offset: u32) -> u32 {
    offset.div_ceil(BLOCK_SIZE as u32) * BLOCK_SIZE as u32
}

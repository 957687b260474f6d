//! Opening a store: the newest valid checkpoint, then the log after it replayed record by
//! record in sequence order until the first record that is missing or damaged.

use super::format::{
    self, Checkpoint, CheckpointHeader, LogPosition, RECORD_HEADER_BYTES, RecordHeader, RecordKind,
    RecordPlace,
};
use super::reader::BlockCache;
use super::{
    CleaningPolicy, EPOCH_SHIFT, LogStore, SegmentState, StoreError, index_entry_bytes,
    round_up_to_block,
};
use crate::block_device::{BLOCK_SIZE, Block, BlockDevice};
use alloc::boxed::Box;
use alloc::vec::Vec;
use hashbrown::HashMap;

/// A whole record with the expected sequence number, where recovery found it.
struct FoundRecord {
    place: RecordPlace,
    header: RecordHeader,
    bytes: Vec<u8>,
}

impl<D: BlockDevice, C: CleaningPolicy> LogStore<D, C> {
    /// Opens the store `device` holds: reads the newest valid checkpoint, replays the log after
    /// it, and writes a checkpoint that starts a new epoch of sequence numbers (so the device
    /// must be writable). [`StoreStatistics::blocks_read`](super::StoreStatistics) then tells
    /// what recovery cost.
    ///
    /// Errors: [`StoreError::NotFormatted`]; [`StoreError::NoCheckpoint`];
    /// [`StoreError::Corrupt`] (a checkpoint that passes its checksum but repeats a key, or
    /// sequence numbers exhausted); [`StoreError::IndexFull`] (replayed keys overflow a
    /// checkpoint slot: only on a damaged device); [`StoreError::Device`].
    pub fn open(mut device: D, policy: C) -> Result<Self, StoreError> {
        let mut superblock = Box::new(Block::zeroed());
        device
            .read(0, &mut superblock)
            .map_err(StoreError::Device)?;
        let geometry = format::decode_superblock(&superblock, device.block_count())
            .ok_or(StoreError::NotFormatted)?;
        let mut store = LogStore::empty(device, policy, geometry);
        store.statistics.blocks_read = 1;
        let checkpoint = store.newest_checkpoint()?;
        store.load_checkpoint(checkpoint)?;
        store.roll_forward()?;
        let next_epoch = (store.next_sequence >> EPOCH_SHIFT) + 1;
        store.next_sequence = next_epoch
            .checked_mul(1 << EPOCH_SHIFT)
            .ok_or(StoreError::Corrupt)?;
        store.write_checkpoint()?;
        Ok(store)
    }

    /// The valid checkpoint with the highest sequence number.
    fn newest_checkpoint(&mut self) -> Result<Checkpoint, StoreError> {
        let mut candidates = Vec::new();
        for slot in 0..2 {
            let first_block = self.geometry.slot_first_block(slot);
            let mut block = Box::new(Block::zeroed());
            self.read_device_block(first_block, &mut block)?;
            if let Some(header) = CheckpointHeader::decode(&self.geometry, &block) {
                candidates.push((header, first_block, block));
            }
        }
        candidates.sort_by_key(|(header, _, _)| core::cmp::Reverse(header.checkpoint_sequence));
        for (header, first_block, mut block) in candidates {
            let mut bytes = Vec::with_capacity(header.block_count() * BLOCK_SIZE);
            bytes.extend_from_slice(&block.0);
            for next in 1..header.block_count() as u64 {
                self.read_device_block(first_block + next, &mut block)?;
                bytes.extend_from_slice(&block.0);
            }
            if let Some(checkpoint) = header.decode_checkpoint(&self.geometry, &bytes) {
                return Ok(checkpoint);
            }
        }
        Err(StoreError::NoCheckpoint)
    }

    fn read_device_block(&mut self, block: u64, into: &mut Block) -> Result<(), StoreError> {
        self.statistics.blocks_read += 1;
        self.device.read(block, into).map_err(StoreError::Device)
    }

    fn load_checkpoint(&mut self, checkpoint: Checkpoint) -> Result<(), StoreError> {
        self.checkpoint_sequence = checkpoint.checkpoint_sequence;
        self.next_sequence = checkpoint.next_sequence;
        self.clock = checkpoint.clock;
        self.head = checkpoint.head;
        for (state, record) in self.segments.iter_mut().zip(&checkpoint.segments) {
            *state = SegmentState {
                is_free: record.is_free,
                live_bytes: 0,
                last_written: record.last_written,
            };
        }
        self.index.reserve(checkpoint.entries.len());
        for (key, place) in checkpoint.entries {
            let segment = &mut self.segments[place.segment as usize];
            segment.live_bytes = segment.live_bytes.saturating_add(place.length);
            self.index_bytes += index_entry_bytes(&key);
            if self.index.insert(key, place).is_some() {
                return Err(StoreError::Corrupt);
            }
        }
        Ok(())
    }

    /// Replays the records after the checkpoint's head. The next record is at the position
    /// after the last one, or (after a commit's padding) at the next block boundary, or (after
    /// the head moved) at the start of a segment that was free at the checkpoint. Sequence
    /// numbers are unique, so a record found with the expected one is the right record.
    fn roll_forward(&mut self) -> Result<(), StoreError> {
        let mut segment_starts = self.free_segment_starts()?;
        let mut cache = BlockCache::new();
        let mut position = self.head;
        loop {
            let aligned = LogPosition {
                offset: round_up_to_block(position.offset),
                ..position
            };
            let mut found = self.record_at(position, &mut cache)?;
            if found.is_none() && aligned != position {
                found = self.record_at(aligned, &mut cache)?;
            }
            if found.is_none() {
                found = self.record_at_new_segment(&mut segment_starts, &mut cache)?;
            }
            let Some(record) = found else {
                break;
            };
            self.replay(&record);
            position = LogPosition {
                segment: record.place.segment,
                offset: record.place.offset + record.place.length,
            };
        }
        self.head = LogPosition {
            offset: round_up_to_block(position.offset),
            ..position
        };
        Ok(())
    }

    /// The sequence number of the record at the start of each free segment, where one seems
    /// to start: the log may have moved into that segment after the checkpoint.
    fn free_segment_starts(&mut self) -> Result<HashMap<u64, u32>, StoreError> {
        let mut starts = HashMap::new();
        let mut block = Box::new(Block::zeroed());
        for segment in 0..self.geometry.segment_count {
            if !self.segments[segment as usize].is_free {
                continue;
            }
            self.read_device_block(self.geometry.segment_first_block(segment), &mut block)?;
            if let Some(header) = RecordHeader::decode(&block.0[..RECORD_HEADER_BYTES])
                && header.sequence >= self.next_sequence
            {
                starts.insert(header.sequence, segment);
            }
        }
        Ok(starts)
    }

    fn record_at_new_segment(
        &mut self,
        segment_starts: &mut HashMap<u64, u32>,
        cache: &mut BlockCache,
    ) -> Result<Option<FoundRecord>, StoreError> {
        let Some(segment) = segment_starts.remove(&self.next_sequence) else {
            return Ok(None);
        };
        let found = self.record_at(LogPosition { segment, offset: 0 }, cache)?;
        if found.is_some() {
            self.segments[segment as usize] = SegmentState {
                is_free: false,
                live_bytes: 0,
                last_written: self.clock,
            };
        }
        Ok(found)
    }

    /// The record at `position` if it is whole, inside the segment and the next in sequence.
    fn record_at(
        &mut self,
        position: LogPosition,
        cache: &mut BlockCache,
    ) -> Result<Option<FoundRecord>, StoreError> {
        let segment_bytes = self.geometry.segment_bytes() as usize;
        let offset = position.offset as usize;
        if offset + RECORD_HEADER_BYTES > segment_bytes {
            return Ok(None);
        }
        let header_bytes = self.read_span(
            position.segment,
            position.offset,
            RECORD_HEADER_BYTES,
            cache,
        )?;
        let Some(header) = RecordHeader::decode(&header_bytes) else {
            return Ok(None);
        };
        let length = header.record_bytes();
        if header.sequence != self.next_sequence || offset + length > segment_bytes {
            return Ok(None);
        }
        let bytes = self.read_span(position.segment, position.offset, length, cache)?;
        let place = RecordPlace {
            segment: position.segment,
            offset: position.offset,
            length: length as u32,
        };
        let is_whole = format::record_checksum_holds(&self.geometry, &bytes);
        Ok(is_whole.then_some(FoundRecord {
            place,
            header,
            bytes,
        }))
    }

    /// Applies one replayed record to the index, as the put or delete that wrote it did.
    fn replay(&mut self, record: &FoundRecord) {
        let (key, _) = format::record_key_value(&record.bytes, &record.header);
        let place = record.place;
        match record.header.kind {
            RecordKind::Put => self.set_place(&key, Some(place)),
            RecordKind::Tombstone => self.set_place(&key, None),
        }
        // Wrapping: a checkpoint's fields are only as sound as its checksum; `open` refuses
        // an exhausted sequence after replaying.
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.clock = self.clock.wrapping_add(1);
        self.segments[place.segment as usize].last_written = self.clock;
    }
}

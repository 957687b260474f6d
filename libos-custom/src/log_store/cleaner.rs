//! The cleaner: empties the segments the policy ranks first by copying their live records to
//! the head, then frees them once the copies and a checkpoint that no longer needs them are
//! durable.

use super::format::{RecordKind, RecordPlace};
use super::reader::BlockCache;
use super::{CLEANER_RESERVE_SEGMENTS, CleaningPolicy, LogStore, SegmentUsage, StoreError};
use crate::block_device::BlockDevice;
use alloc::vec::Vec;

/// A cleaning round aims to leave at least this fraction (one in eight) of the segments free.
const ROUND_TARGET_DIVISOR: u32 = 8;

impl<D: BlockDevice, C: CleaningPolicy> LogStore<D, C> {
    /// One cleaning round: commits the open batch, lets the policy rank the candidate segments,
    /// takes them in rank order while their live records are sure to fit the free segments and
    /// until an eighth of the segments (at least the reserve and two) would be free, keeping a
    /// prefix that gains at least one segment; copies those records, commits, checkpoints, and
    /// frees the cleaned segments. Returns how many it freed (0 if no round would gain a segment).
    /// [`LogStore::put`] runs rounds itself when the free segments fall to the reserve.
    ///
    /// Errors: [`StoreError::Corrupt`] (a live record fails its checks; nothing is freed);
    /// [`StoreError::Device`]; [`StoreError::Poisoned`].
    pub fn clean(&mut self) -> Result<u32, StoreError> {
        self.commit()?;
        let victims = self.choose_victims();
        if victims.is_empty() {
            return Ok(0);
        }
        self.copy_live_records(&victims)?;
        self.commit()?;
        for &victim in &victims {
            let segment = &mut self.segments[victim as usize];
            segment.is_free = true;
            segment.live_bytes = 0;
        }
        // The freed segments may be reused only once a checkpoint not pointing into them is
        // durable; if it cannot be written, the in-memory state is no longer safe to use.
        self.write_checkpoint()
            .inspect_err(|_| self.is_poisoned = true)?;
        self.statistics.segments_cleaned += victims.len() as u64;
        Ok(victims.len() as u32)
    }

    /// Cleans until more than the reserve is free, or until a round frees nothing.
    pub(crate) fn clean_until_above_reserve(&mut self) -> Result<(), StoreError> {
        // Each round frees at least one segment more than it fills, so this bound is generous.
        for _ in 0..self.geometry.segment_count {
            if self.free_segment_count() > CLEANER_RESERVE_SEGMENTS || self.clean()? == 0 {
                break;
            }
        }
        Ok(())
    }

    /// The segments to clean, in the policy's order. A copy moves to a fresh segment only when
    /// the next record does not fit, so copies fill the head to more than its room less the
    /// largest live record, and each fresh segment to more than a segment less that: this
    /// bounds the free segments a round takes, which must be fewer than it frees.
    fn choose_victims(&self) -> Vec<u32> {
        let capacity_bytes = self.geometry.segment_bytes();
        let largest_record = self
            .index
            .values()
            .map(|place| place.length)
            .max()
            .unwrap_or(0);
        let refill_bytes = u64::from(capacity_bytes.saturating_sub(largest_record)).max(1);
        let head_room = (capacity_bytes - self.head.offset).saturating_sub(largest_record);
        let free_segments = u64::from(self.free_segment_count());
        let segments_filled = |live_bytes: u64| {
            live_bytes
                .saturating_sub(u64::from(head_room))
                .div_ceil(refill_bytes)
        };
        let mut candidates: Vec<(u64, u32, u32)> = self
            .segments
            .iter()
            .enumerate()
            .filter(|&(segment, state)| {
                !state.is_free
                    && segment as u32 != self.head.segment
                    && u64::from(state.live_bytes) < refill_bytes
            })
            .map(|(segment, state)| {
                let usage = SegmentUsage {
                    segment: segment as u32,
                    live_bytes: state.live_bytes,
                    capacity_bytes,
                    last_written: state.last_written,
                };
                (
                    self.policy.score(&usage, self.clock),
                    segment as u32,
                    state.live_bytes,
                )
            })
            .filter(|&(score, _, _)| score > 0)
            .collect();
        candidates.sort_by_key(|&(score, segment, _)| (core::cmp::Reverse(score), segment));
        // A round stops once it frees enough: cleaning fewer, better-ranked segments at a time
        // is what lets the policy matter, at the price of a checkpoint per round.
        let target_free = u64::from(
            (CLEANER_RESERVE_SEGMENTS + 2).max(self.geometry.segment_count / ROUND_TARGET_DIVISOR),
        );
        let mut victims = Vec::new();
        let mut live_bytes = 0u64;
        for (_, segment, live) in candidates {
            if segments_filled(live_bytes + u64::from(live)) > free_segments {
                break;
            }
            live_bytes += u64::from(live);
            victims.push((segment, live));
            let gained = (victims.len() as u64).saturating_sub(segments_filled(live_bytes));
            if free_segments + gained >= target_free {
                break;
            }
        }
        // Keep only a prefix that gains a segment.
        while victims.len() as u64 <= segments_filled(live_bytes) && !victims.is_empty() {
            if let Some((_, live)) = victims.pop() {
                live_bytes -= u64::from(live);
            }
        }
        victims.into_iter().map(|(segment, _)| segment).collect()
    }

    fn copy_live_records(&mut self, victims: &[u32]) -> Result<(), StoreError> {
        let mut moves: Vec<(Vec<u8>, RecordPlace)> = self
            .index
            .iter()
            .filter(|(_, place)| victims.contains(&place.segment))
            .map(|(key, place)| (key.clone(), *place))
            .collect();
        // In log order, so that each victim block is read once.
        moves.sort_by_key(|(_, place)| *place);
        let mut cache = BlockCache::new();
        for (key, place) in moves {
            let (header, bytes) = self.read_record(place, &mut cache)?;
            let (stored_key, value) = super::format::record_key_value(&bytes, &header);
            if header.kind != RecordKind::Put || stored_key != key {
                return Err(StoreError::Corrupt);
            }
            let copy = self.append(RecordKind::Put, &key, &value, true)?;
            self.set_place(&key, Some(copy));
            self.statistics.cleaner_bytes_copied += u64::from(place.length);
        }
        Ok(())
    }
}

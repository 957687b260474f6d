//! Reading records back: byte spans of a segment, through the open batch first (a record not
//! yet committed lives there) and a one-block cache (records are read in log order, so the
//! next one usually starts in the block the last one ended in).

use super::format::{self, RecordHeader, RecordPlace};
use super::{CleaningPolicy, LogStore, StoreError};
use crate::block_device::{BLOCK_SIZE, Block, BlockDevice};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The block read last.
pub(crate) struct BlockCache {
    number: Option<u64>,
    block: Box<Block>,
}

impl BlockCache {
    pub fn new() -> BlockCache {
        BlockCache {
            number: None,
            block: Box::new(Block::zeroed()),
        }
    }
}

impl<D: BlockDevice, C: CleaningPolicy> LogStore<D, C> {
    /// `length` bytes of `segment` from `offset` (the caller keeps the span inside the
    /// segment).
    pub(crate) fn read_span(
        &mut self,
        segment: u32,
        offset: u32,
        length: usize,
        cache: &mut BlockCache,
    ) -> Result<Vec<u8>, StoreError> {
        let first_block = self.geometry.segment_first_block(segment);
        let mut bytes = Vec::with_capacity(length);
        let mut position = offset as usize;
        while bytes.len() < length {
            let block = first_block + (position / BLOCK_SIZE) as u64;
            let within = position % BLOCK_SIZE;
            let take = (BLOCK_SIZE - within).min(length - bytes.len());
            if cache.number != Some(block) {
                cache.number = None;
                self.load_block(block, &mut cache.block)?;
                cache.number = Some(block);
            }
            bytes.extend_from_slice(&cache.block.0[within..within + take]);
            position += take;
        }
        Ok(bytes)
    }

    fn load_block(&mut self, block: u64, into: &mut Block) -> Result<(), StoreError> {
        if let Some((_, pending)) = self.batch.iter().find(|(number, _)| *number == block) {
            into.0.copy_from_slice(&pending.0);
            return Ok(());
        }
        self.statistics.blocks_read += 1;
        self.device.read(block, into).map_err(StoreError::Device)
    }

    /// The record the index says is at `place`, checked: a sound header of exactly that
    /// length and a correct checksum.
    ///
    /// Errors: [`StoreError::Corrupt`]; [`StoreError::Device`].
    pub(crate) fn read_record(
        &mut self,
        place: RecordPlace,
        cache: &mut BlockCache,
    ) -> Result<(RecordHeader, Vec<u8>), StoreError> {
        let bytes = self.read_span(place.segment, place.offset, place.length as usize, cache)?;
        let header = RecordHeader::decode(&bytes).ok_or(StoreError::Corrupt)?;
        let is_whole = header.record_bytes() == bytes.len()
            && format::record_checksum_holds(&self.geometry, &bytes);
        if is_whole {
            Ok((header, bytes))
        } else {
            Err(StoreError::Corrupt)
        }
    }
}

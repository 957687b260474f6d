//! A disk in memory: for tests, and for building and checking file system images on the host.

use crate::block::{BLOCK_SIZE, Block, Disk, IoError};
use alloc::vec;
use alloc::vec::Vec;

/// A disk whose blocks are in memory. Writes are durable at once; it counts requests.
#[derive(Clone, Debug)]
pub struct MemoryDisk {
    blocks: Vec<Block>,
    /// Blocks read so far.
    pub reads: u64,
    /// Read requests so far: a batch counts once.
    pub read_requests: u64,
    /// Blocks written so far.
    pub writes: u64,
    /// Flushes so far.
    pub flushes: u64,
}

impl MemoryDisk {
    /// A disk of `block_count` zeroed blocks.
    pub fn new(block_count: u64) -> MemoryDisk {
        MemoryDisk::from_blocks(vec![Block::ZEROED; block_count as usize])
    }

    /// A disk holding `blocks`.
    pub fn from_blocks(blocks: Vec<Block>) -> MemoryDisk {
        MemoryDisk {
            blocks,
            reads: 0,
            read_requests: 0,
            writes: 0,
            flushes: 0,
        }
    }

    /// A disk holding `image`, whose length must be a whole number of blocks.
    ///
    /// Errors: [`IoError::OutOfRange`] when it is not.
    pub fn from_image(image: &[u8]) -> Result<MemoryDisk, IoError> {
        if !image.len().is_multiple_of(BLOCK_SIZE) {
            return Err(IoError::OutOfRange);
        }
        let (chunks, _) = image.as_chunks::<BLOCK_SIZE>();
        let blocks = chunks.iter().map(|chunk| Block(*chunk)).collect();
        Ok(MemoryDisk::from_blocks(blocks))
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The blocks, to change directly (as damage outside the file system would).
    pub fn blocks_mut(&mut self) -> &mut [Block] {
        &mut self.blocks
    }

    /// The whole disk as bytes.
    pub fn to_image(&self) -> Vec<u8> {
        let mut image = Vec::with_capacity(self.blocks.len() * BLOCK_SIZE);
        for block in &self.blocks {
            image.extend_from_slice(&block.0);
        }
        image
    }
}

impl Disk for MemoryDisk {
    fn block_count(&self) -> u64 {
        self.blocks.len() as u64
    }

    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), IoError> {
        let source = self.blocks.get(block as usize).ok_or(IoError::OutOfRange)?;
        into.0.copy_from_slice(&source.0);
        self.reads += 1;
        self.read_requests += 1;
        Ok(())
    }

    fn read_batch(&mut self, reads: &mut [(u64, &mut Block)]) -> Result<(), IoError> {
        if reads
            .iter()
            .any(|(block, _)| *block >= self.blocks.len() as u64)
        {
            return Err(IoError::OutOfRange);
        }
        for (block, into) in reads.iter_mut() {
            into.0.copy_from_slice(&self.blocks[*block as usize].0);
        }
        self.reads += reads.len() as u64;
        self.read_requests += 1;
        Ok(())
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), IoError> {
        if writes
            .iter()
            .any(|&(block, _)| block >= self.blocks.len() as u64)
        {
            return Err(IoError::OutOfRange);
        }
        for &(block, data) in writes {
            self.blocks[block as usize].0.copy_from_slice(&data.0);
        }
        self.writes += writes.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IoError> {
        self.flushes += 1;
        Ok(())
    }
}

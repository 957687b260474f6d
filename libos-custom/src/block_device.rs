//! The block device every disk-backed manager of this crate works on: numbered 4 KiB blocks,
//! read one at a time into a page of the caller's, written in batches, made durable by a
//! flush. In the guest an app implements it over the kernel's block calls on the blocks it
//! owns (the kernel checks each block's owner and DMAs straight into the caller's page); on
//! the host, [`MemoryBlocks`] stands in for it in tests.

use alloc::vec;
use alloc::vec::Vec;

/// Bytes in a block, and in a page.
pub const BLOCK_SIZE: usize = 4096;

/// One block's bytes, page-aligned so that a device may move it by DMA.
#[repr(C, align(4096))]
#[derive(Clone, PartialEq, Eq)]
pub struct Block(pub [u8; BLOCK_SIZE]);

impl Block {
    /// A block of zeros.
    pub const fn zeroed() -> Block {
        Block([0; BLOCK_SIZE])
    }
}

impl core::fmt::Debug for Block {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(formatter, "Block({:02x?}..)", &self.0[..8])
    }
}

/// Why a device operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// A block number at or past [`BlockDevice::block_count`].
    OutOfRange,
    /// The device (or the kernel, for a block the caller does not own) refused.
    Failed,
}

/// Numbered blocks `0..block_count()`.
pub trait BlockDevice {
    /// How many blocks there are.
    fn block_count(&self) -> u64;

    /// Reads block `block` into `into`.
    ///
    /// Errors: [`DeviceError::OutOfRange`]; [`DeviceError::Failed`].
    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), DeviceError>;

    /// Writes each `(block, bytes)` pair; the writes may reach the medium in any order and are
    /// durable only after [`BlockDevice::flush`]. On an error some of them may have been made.
    ///
    /// Errors: [`DeviceError::OutOfRange`]; [`DeviceError::Failed`].
    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), DeviceError>;

    /// Makes every write before it durable.
    ///
    /// Errors: [`DeviceError::Failed`].
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// A device in memory, counting what is asked of it: the host tests' disk.
#[derive(Clone, Debug)]
pub struct MemoryBlocks {
    blocks: Vec<Block>,
    /// Blocks read so far.
    pub reads: u64,
    /// Blocks written so far.
    pub writes: u64,
    /// Calls to [`BlockDevice::write`] so far (each a batch).
    pub write_calls: u64,
    /// Flushes so far.
    pub flushes: u64,
}

impl MemoryBlocks {
    /// `count` blocks of zeros.
    pub fn new(count: usize) -> MemoryBlocks {
        MemoryBlocks {
            blocks: vec![Block::zeroed(); count],
            reads: 0,
            writes: 0,
            write_calls: 0,
            flushes: 0,
        }
    }

    /// Block `block` as stored (zeros past the end).
    pub fn block(&self, block: u64) -> Option<&Block> {
        self.blocks.get(usize::try_from(block).ok()?)
    }

    fn index(&self, block: u64) -> Result<usize, DeviceError> {
        usize::try_from(block)
            .ok()
            .filter(|&index| index < self.blocks.len())
            .ok_or(DeviceError::OutOfRange)
    }
}

impl BlockDevice for MemoryBlocks {
    fn block_count(&self) -> u64 {
        self.blocks.len() as u64
    }

    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), DeviceError> {
        let index = self.index(block)?;
        into.0.copy_from_slice(&self.blocks[index].0);
        self.reads += 1;
        Ok(())
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), DeviceError> {
        self.write_calls += 1;
        for &(block, bytes) in writes {
            let index = self.index(block)?;
            self.blocks[index].0.copy_from_slice(&bytes.0);
            self.writes += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.flushes += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_blocks_store_count_and_refuse_out_of_range() {
        let mut device = MemoryBlocks::new(4);
        let mut data = Block::zeroed();
        data.0[0] = 7;
        assert_eq!(device.write(&[(3, &data), (1, &data)]), Ok(()));
        let mut read = Block::zeroed();
        assert_eq!(device.read(3, &mut read), Ok(()));
        assert_eq!(read.0[0], 7);
        assert_eq!(device.read(4, &mut read), Err(DeviceError::OutOfRange));
        assert_eq!(device.write(&[(9, &data)]), Err(DeviceError::OutOfRange));
        assert_eq!((device.reads, device.writes, device.write_calls), (1, 2, 2));
        assert_eq!(core::mem::align_of::<Block>(), BLOCK_SIZE);
    }
}

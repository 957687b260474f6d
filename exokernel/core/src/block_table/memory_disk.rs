//! A disk in memory for tests, which can be made to lose power: it stops after a given number of
//! block writes, optionally tearing the write in progress (only a prefix of it lands), and
//! writes not yet flushed may or may not survive.

use super::disk_format::BlockBytes;
use super::{BLOCK_SIZE_BYTES, BlockDevice, DeviceError};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Which writes made since the last flush survive a power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnflushedWrites {
    /// All of them, in order.
    KeepAll,
    /// None of them.
    DropAll,
    /// Only the newest one: the device cache wrote it out of order.
    KeepOnlyLast,
}

/// An in-memory disk with power-loss injection.
#[derive(Clone, Debug)]
pub struct MemoryDisk {
    /// What reads see now.
    blocks: Vec<Box<BlockBytes>>,
    /// What was on the medium at the last flush.
    flushed: Vec<Box<BlockBytes>>,
    /// Writes since the last flush, oldest first, as they would land (a torn one as torn).
    unflushed: Vec<(u64, Box<BlockBytes>)>,
    /// Writes allowed before the power goes; `None` for never.
    writes_left: Option<u64>,
    /// How many bytes of the write that meets the power loss still land.
    torn_prefix_bytes: usize,
    has_stopped: bool,
    /// Every write ever accepted, to count them.
    pub writes_done: u64,
    /// When set, every request fails (without the power going) until cleared.
    pub is_failing: bool,
}

impl MemoryDisk {
    /// A disk of `block_count` blocks, each filled with `fill`.
    pub fn new(block_count: u64, fill: u8) -> MemoryDisk {
        let blocks: Vec<Box<BlockBytes>> = (0..block_count)
            .map(|_| Box::new([fill; BLOCK_SIZE_BYTES]))
            .collect();
        MemoryDisk {
            flushed: blocks.clone(),
            blocks,
            unflushed: Vec::new(),
            writes_left: None,
            torn_prefix_bytes: 0,
            has_stopped: false,
            writes_done: 0,
            is_failing: false,
        }
    }

    /// Makes the power go at the write after the next `writes` writes: `torn_prefix_bytes` bytes
    /// of that write land (0 for none), and every later request fails.
    pub fn stop_after_writes(&mut self, writes: u64, torn_prefix_bytes: usize) {
        self.writes_left = Some(writes);
        self.torn_prefix_bytes = torn_prefix_bytes.min(BLOCK_SIZE_BYTES);
    }

    /// Whether the power went.
    pub fn has_stopped(&self) -> bool {
        self.has_stopped
    }

    /// The disk as it is after the power comes back: what was flushed, plus the unflushed
    /// writes `survivors` keeps.
    pub fn after_power_loss(&self, survivors: UnflushedWrites) -> MemoryDisk {
        let mut disk = MemoryDisk::new(0, 0);
        disk.blocks = self.flushed.clone();
        let last = self.unflushed.len().checked_sub(1);
        for (position, (block, data)) in self.unflushed.iter().enumerate() {
            let is_kept = match survivors {
                UnflushedWrites::KeepAll => true,
                UnflushedWrites::DropAll => false,
                UnflushedWrites::KeepOnlyLast => Some(position) == last,
            };
            if is_kept {
                disk.blocks[*block as usize] = data.clone();
            }
        }
        disk.flushed = disk.blocks.clone();
        disk
    }

    /// Block `block` as reads see it.
    pub fn block(&self, block: u64) -> &BlockBytes {
        &self.blocks[block as usize]
    }

    /// Replaces block `block` directly, as damage outside the table's control would.
    pub fn overwrite(&mut self, block: u64, data: &BlockBytes) {
        *self.blocks[block as usize] = *data;
        *self.flushed[block as usize] = *data;
    }

    fn check(&self, block: u64) -> Result<usize, DeviceError> {
        if self.has_stopped || self.is_failing {
            return Err(DeviceError::Failed);
        }
        if block >= self.blocks.len() as u64 {
            return Err(DeviceError::OutOfRange);
        }
        Ok(block as usize)
    }

    /// Lands the first `torn_prefix_bytes` bytes of `data` and stops the device.
    fn lose_power(&mut self, slot: usize, data: &BlockBytes) {
        let mut torn = self.blocks[slot].clone();
        torn[..self.torn_prefix_bytes].copy_from_slice(&data[..self.torn_prefix_bytes]);
        if self.torn_prefix_bytes > 0 {
            self.unflushed.push((slot as u64, torn.clone()));
            self.blocks[slot] = torn;
        }
        self.has_stopped = true;
    }
}

impl BlockDevice for MemoryDisk {
    fn block_count(&self) -> u64 {
        self.blocks.len() as u64
    }

    fn read_block(&mut self, block: u64, buffer: &mut BlockBytes) -> Result<(), DeviceError> {
        let slot = self.check(block)?;
        buffer.copy_from_slice(&self.blocks[slot][..]);
        Ok(())
    }

    fn write_block(&mut self, block: u64, data: &BlockBytes) -> Result<(), DeviceError> {
        let slot = self.check(block)?;
        if self.writes_left == Some(0) {
            self.lose_power(slot, data);
            return Err(DeviceError::Failed);
        }
        if let Some(writes_left) = &mut self.writes_left {
            *writes_left -= 1;
        }
        let copy = Box::new(*data);
        self.unflushed.push((block, copy.clone()));
        self.blocks[slot] = copy;
        self.writes_done += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        if self.has_stopped || self.is_failing {
            return Err(DeviceError::Failed);
        }
        for (block, data) in self.unflushed.drain(..) {
            self.flushed[block as usize] = data;
        }
        Ok(())
    }
}

//! The disk as the rest of the kernel sees it: blocks of [`BLOCK_BYTES`], each moved by DMA
//! straight between the disk and a physical frame (zero copy), with the block range checked
//! before anything reaches the device.
//!
//! There is at most one disk: the first virtio-blk device on PCI bus 0, started at boot by
//! [`init`] and reached through [`with`]. Without one the kernel prints one line and goes on, and
//! [`with`] finds nothing. Deciding who may use which block and frame is the caller's business:
//! the disk trusts the frames it is given.
//!
//! Lock order: the kernel state lock, then the disk lock, then the DMA pool lock. The disk never
//! takes the kernel state lock, so a system call may use it while holding that lock.

use crate::arch::virtio_blk::{self, DeviceError, Direction, TransferFailure, VirtioBlk};
use crate::kprintln;
use exo_core::PAGE_SIZE;
use exo_core::frame_table::{FrameNumber, FrameTable};

/// Bytes in a disk block: one frame.
pub const BLOCK_BYTES: u64 = PAGE_SIZE;

/// A block's number: its byte offset on the disk divided by [`BLOCK_BYTES`].
pub type BlockNumber = u64;

/// Why a disk request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// The block lies past the end of the disk; nothing was moved.
    OutOfRange(BlockNumber),
    /// The disk refuses writes; nothing was moved.
    ReadOnly,
    /// The device failed the request of `block_count` blocks from `first_block`; blocks of
    /// other requests of the same call may have been moved.
    Request {
        error: DeviceError,
        first_block: BlockNumber,
        block_count: u64,
    },
    /// The device is stopped (it failed earlier, or just now and was reset).
    Device(DeviceError),
}

impl From<TransferFailure> for DiskError {
    fn from(failure: TransferFailure) -> DiskError {
        match failure {
            TransferFailure::Request {
                error,
                first_block,
                block_count,
            } => DiskError::Request {
                error,
                first_block,
                block_count,
            },
            TransferFailure::Device(error) => DiskError::Device(error),
        }
    }
}

/// The disk.
pub struct Disk {
    device: VirtioBlk,
}

impl Disk {
    /// How many blocks the disk holds; blocks are numbered from 0.
    pub fn capacity_blocks(&self) -> u64 {
        self.device.capacity_blocks()
    }

    /// Reads block `block` into frame `frame`.
    pub fn read_block(&mut self, block: BlockNumber, frame: FrameNumber) -> Result<(), DiskError> {
        self.read_blocks(&[(block, frame)])
    }

    /// Writes frame `frame` to block `block`.
    pub fn write_block(&mut self, block: BlockNumber, frame: FrameNumber) -> Result<(), DiskError> {
        self.write_blocks(&[(block, frame)])
    }

    /// Reads each `(block, frame)` pair's block into its frame: one request per run of
    /// consecutive blocks, several in flight at once (see `arch::virtio_blk`), so their order is
    /// the device's: a frame named twice ends up holding either block. Returns the first
    /// failure; blocks of other requests may have been read.
    pub fn read_blocks(
        &mut self,
        transfers: &[(BlockNumber, FrameNumber)],
    ) -> Result<(), DiskError> {
        self.check_range(transfers)?;
        Ok(self.device.transfer(Direction::Read, transfers)?)
    }

    /// Writes each `(block, frame)` pair's frame to its block: one request per run of
    /// consecutive blocks, several in flight at once, so their order is the device's: a block
    /// named twice ends up holding either frame. Returns the first failure; blocks of other
    /// requests may have been written. Written data is durable
    /// only after [`flush`](Self::flush).
    pub fn write_blocks(
        &mut self,
        transfers: &[(BlockNumber, FrameNumber)],
    ) -> Result<(), DiskError> {
        self.check_range(transfers)?;
        if self.device.is_read_only() {
            return Err(DiskError::ReadOnly);
        }
        Ok(self.device.transfer(Direction::Write, transfers)?)
    }

    /// Makes every completed write durable.
    pub fn flush(&mut self) -> Result<(), DiskError> {
        self.device.flush().map_err(DiskError::Device)
    }

    /// Fails, before any transfer starts, when a block lies past the end of the disk.
    fn check_range(&self, transfers: &[(BlockNumber, FrameNumber)]) -> Result<(), DiskError> {
        let capacity = self.capacity_blocks();
        match transfers.iter().find(|&&(block, _)| block >= capacity) {
            Some(&(block, _)) => Err(DiskError::OutOfRange(block)),
            None => Ok(()),
        }
    }
}

static DISK: spin::Mutex<Option<Disk>> = spin::Mutex::new(None);

/// Looks for the disk and starts it, taking its DMA memory from `frames`; prints one line saying
/// what was found. Call once at boot, before the first environment is created.
pub fn init(frames: &mut FrameTable) {
    match virtio_blk::probe(frames) {
        Ok(Some(device)) => {
            let disk = Disk { device };
            kprintln!(
                "exokernel: disk: virtio-blk, {} blocks of {BLOCK_BYTES} bytes",
                disk.capacity_blocks()
            );
            *DISK.lock() = Some(disk);
        }
        Ok(None) => kprintln!("exokernel: disk: none"),
        Err(error) => kprintln!("exokernel: disk: none (the virtio-blk device failed: {error:?})"),
    }
}

/// Runs `action` on the disk; `None` when there is no disk.
pub fn with<T>(action: impl FnOnce(&mut Disk) -> T) -> Option<T> {
    DISK.lock().as_mut().map(action)
}

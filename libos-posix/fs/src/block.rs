//! The unit of storage, the device the file system runs on, and the little-endian field access
//! every on-disk structure uses.

use core::fmt;

/// Size of a block in bytes: one page, so the guest's disk driver can move a block straight
/// into or out of a cache page.
pub const BLOCK_SIZE: usize = 4096;

/// The most writes the file system hands to [`Disk::write`] in one call.
pub const MAX_WRITE_BATCH: usize = 64;

/// The most reads the file system hands to [`Disk::read_batch`] in one call.
pub const MAX_READ_BATCH: usize = 64;

/// One block of data, page-aligned so that a device can transfer it by DMA.
#[derive(Clone, PartialEq, Eq)]
#[repr(C, align(4096))]
pub struct Block(pub [u8; BLOCK_SIZE]);

impl Block {
    /// A block of zeros.
    pub const ZEROED: Block = Block([0; BLOCK_SIZE]);
}

/// Only a summary: the full contents would be 4096 numbers.
impl fmt::Debug for Block {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first_bytes = &self.0[..8];
        write!(formatter, "Block({first_bytes:02x?}..)")
    }
}

/// A block of zeros with a static address, for writes that repeat it.
pub(crate) static ZERO_BLOCK: Block = Block::ZEROED;

/// A block device holding one file system, addressed by block number relative to the file
/// system's first block. In the guest it issues system calls (and is a zero-sized type, the same
/// in every process); on the host it is a file or memory.
pub trait Disk {
    /// How many blocks the file system may use, numbered `0..block_count`.
    fn block_count(&self) -> u64;

    /// Reads block `block` into `into`.
    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), IoError>;

    /// Reads each `(block, into)` pair; the file system passes at most [`MAX_READ_BATCH`]
    /// pairs per call, each buffer once. A device that can have several requests in flight
    /// overrides this; the default reads one block after another.
    fn read_batch(&mut self, reads: &mut [(u64, &mut Block)]) -> Result<(), IoError> {
        for (block, into) in reads.iter_mut() {
            self.read(*block, into)?;
        }
        Ok(())
    }

    /// Writes each `(block, data)` pair; the file system passes at most [`MAX_WRITE_BATCH`]
    /// pairs per call. Writes may reach the medium in any order, and any subset of them may be
    /// lost in a crash, until the next [`Disk::flush`].
    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), IoError>;

    /// Returns once every write that completed before the call is on the medium.
    fn flush(&mut self) -> Result<(), IoError>;
}

/// Why a device request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// The block number is beyond the device.
    OutOfRange,
    /// The device reported an error or did not answer.
    DeviceFailed,
}

/// The little-endian `u16` at `offset`. (These field accessors are inlined: the cache's
/// lookup and the directory scan call them in their inner loops.)
#[inline]
pub(crate) fn get_u16(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

/// The little-endian `u32` at `offset`.
#[inline]
pub(crate) fn get_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut field = [0; 4];
    field.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(field)
}

/// The little-endian `u64` at `offset`.
#[inline]
pub(crate) fn get_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut field = [0; 8];
    field.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(field)
}

/// Stores `value` little-endian at `offset`.
#[inline]
pub(crate) fn put_u16(bytes: &mut [u8], offset: usize, value: u16) {
    bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

/// Stores `value` little-endian at `offset`.
#[inline]
pub(crate) fn put_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

/// Stores `value` little-endian at `offset`.
#[inline]
pub(crate) fn put_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

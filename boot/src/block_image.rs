//! A disk image seen as 4096-byte blocks, in a file or in memory: the kernel's block table
//! reaches it through exo-core's [`BlockDevice`], the library OS's file system through
//! posix-fs's [`Disk`], shifted to the partition ([`PartitionDisk`]).
//!
//! Flushes do nothing: the boot tool syncs a file once, when it is done ([`BlockImage::sync`]),
//! which keeps formatting a disk (tens of thousands of table updates, each followed by a flush)
//! fast. The price is that a host crash in the middle may leave the image inconsistent, which
//! `boot disk check` reports and `--fresh-disk` repairs.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use exo_core::block_table::{BLOCK_SIZE_BYTES, BlockDevice, DeviceError};
use posix_fs::{Block, Disk, IoError};

use crate::disk_image::DISK_BLOCK_BYTES;

/// The bytes of one block.
pub type BlockBytes = [u8; BLOCK_SIZE_BYTES];

/// Blocks by number, in block order: the parts of an image that are not zeros.
pub type NonzeroBlocks = Vec<(u64, Box<BlockBytes>)>;

/// A block of zeros.
const ZERO_BLOCK: BlockBytes = [0; BLOCK_SIZE_BYTES];

/// Where an image's blocks are.
#[derive(Debug)]
enum Storage {
    File(File),
    /// The blocks written so far that are not all zeros; every other block reads as zeros.
    Memory(RefCell<BTreeMap<u64, Box<BlockBytes>>>),
}

/// A disk image, read and written a block at a time.
#[derive(Debug)]
pub struct BlockImage {
    storage: Storage,
    path: PathBuf,
    block_count: u64,
}

impl BlockImage {
    /// Opens the image file at `path` for reading and writing.
    pub fn open(path: &Path) -> Result<BlockImage> {
        BlockImage::open_with(path, OpenOptions::new().read(true).write(true))
    }

    /// Opens the image file at `path` for reading only: every write fails.
    pub fn open_read_only(path: &Path) -> Result<BlockImage> {
        BlockImage::open_with(path, OpenOptions::new().read(true))
    }

    fn open_with(path: &Path, options: &OpenOptions) -> Result<BlockImage> {
        let file = options
            .open(path)
            .with_context(|| format!("opening the disk {}", path.display()))?;
        let metadata = file
            .metadata()
            .with_context(|| format!("reading {}", path.display()))?;
        if !metadata.is_file() {
            bail!("the disk {} is not a file", path.display());
        }
        Ok(BlockImage {
            storage: Storage::File(file),
            path: path.to_owned(),
            block_count: metadata.len() / DISK_BLOCK_BYTES,
        })
    }

    /// An image of `block_count` blocks of zeros in memory, prepared for the file at `path`
    /// (which it names in messages).
    pub fn in_memory(path: &Path, block_count: u64) -> BlockImage {
        BlockImage {
            storage: Storage::Memory(RefCell::default()),
            path: path.to_owned(),
            block_count,
        }
    }

    /// The image's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The image's file name, for progress lines.
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
    }

    /// How many whole blocks the image holds (a partial last block of a file is not used).
    pub fn block_count(&self) -> u64 {
        self.block_count
    }

    /// Reads block `block` into `buffer`.
    pub fn read(&self, block: u64, buffer: &mut BlockBytes) -> io::Result<()> {
        let offset = self.offset_of(block)?;
        match &self.storage {
            Storage::File(file) => file.read_exact_at(buffer, offset),
            Storage::Memory(blocks) => {
                *buffer = blocks
                    .borrow()
                    .get(&block)
                    .map_or(ZERO_BLOCK, |data| **data);
                Ok(())
            }
        }
    }

    /// Writes `data` to block `block`. A block of zeros is not written over a block that
    /// already reads as zeros, so a fresh (sparse) file stays sparse where nothing was put.
    pub fn write(&self, block: u64, data: &BlockBytes) -> io::Result<()> {
        let offset = self.offset_of(block)?;
        let is_zero = *data == ZERO_BLOCK;
        match &self.storage {
            Storage::File(_) if is_zero && self.is_zeroed(block)? => Ok(()),
            Storage::File(file) => file.write_all_at(data, offset),
            Storage::Memory(blocks) if is_zero => {
                blocks.borrow_mut().remove(&block);
                Ok(())
            }
            Storage::Memory(blocks) => {
                blocks.borrow_mut().insert(block, Box::new(*data));
                Ok(())
            }
        }
    }

    /// Whether block `block` holds only zeros.
    pub fn is_zeroed(&self, block: u64) -> io::Result<bool> {
        let mut buffer = ZERO_BLOCK;
        self.read(block, &mut buffer)?;
        Ok(buffer == ZERO_BLOCK)
    }

    /// The blocks that are not all zeros, in block order: all there is to an image in memory.
    /// Empty for a file.
    pub fn nonzero_blocks_in_memory(&self) -> NonzeroBlocks {
        match &self.storage {
            Storage::File(_) => Vec::new(),
            Storage::Memory(blocks) => blocks.borrow().clone().into_iter().collect(),
        }
    }

    /// Makes every write so far durable (the one real flush); nothing to do in memory.
    pub fn sync(&self) -> Result<()> {
        match &self.storage {
            Storage::File(file) => file
                .sync_all()
                .with_context(|| format!("syncing {}", self.path.display())),
            Storage::Memory(_) => Ok(()),
        }
    }

    /// The blocks `first_block .. first_block + block_count` as a posix-fs disk.
    pub fn partition(&self, first_block: u64, block_count: u64) -> PartitionDisk<'_> {
        PartitionDisk {
            image: self,
            first_block,
            block_count,
        }
    }

    fn offset_of(&self, block: u64) -> io::Result<u64> {
        if block >= self.block_count {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("block {block} is beyond the disk"),
            ));
        }
        Ok(block * DISK_BLOCK_BYTES)
    }
}

impl BlockDevice for BlockImage {
    fn block_count(&self) -> u64 {
        self.block_count
    }

    fn read_block(&mut self, block: u64, buffer: &mut BlockBytes) -> Result<(), DeviceError> {
        if block >= self.block_count {
            return Err(DeviceError::OutOfRange);
        }
        self.read(block, buffer).map_err(|_| DeviceError::Failed)
    }

    fn write_block(&mut self, block: u64, data: &BlockBytes) -> Result<(), DeviceError> {
        if block >= self.block_count {
            return Err(DeviceError::OutOfRange);
        }
        self.write(block, data).map_err(|_| DeviceError::Failed)
    }

    /// Nothing to do until [`BlockImage::sync`] (see the module docs).
    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

/// A run of an image's blocks as the file system's disk: its block `n` is the image's block
/// `first_block + n`.
#[derive(Debug)]
pub struct PartitionDisk<'image> {
    image: &'image BlockImage,
    first_block: u64,
    block_count: u64,
}

impl PartitionDisk<'_> {
    fn image_block(&self, block: u64) -> Result<u64, IoError> {
        if block < self.block_count {
            Ok(self.first_block + block)
        } else {
            Err(IoError::OutOfRange)
        }
    }
}

impl Disk for PartitionDisk<'_> {
    fn block_count(&self) -> u64 {
        self.block_count
    }

    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), IoError> {
        let image_block = self.image_block(block)?;
        self.image
            .read(image_block, &mut into.0)
            .map_err(|_| IoError::DeviceFailed)
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), IoError> {
        for &(block, data) in writes {
            let image_block = self.image_block(block)?;
            self.image
                .write(image_block, &data.0)
                .map_err(|_| IoError::DeviceFailed)?;
        }
        Ok(())
    }

    /// Nothing to do until [`BlockImage::sync`] (see the module docs).
    fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_in_memory_keeps_only_blocks_that_are_not_zeros() {
        let mut image = BlockImage::in_memory(Path::new("/nowhere/disk.img"), 8);
        assert_eq!(image.name(), "disk.img");
        let mut data = ZERO_BLOCK;
        data[10] = 7;
        image.write_block(3, &data).unwrap();
        image.write_block(5, &data).unwrap();
        image.write_block(5, &ZERO_BLOCK).unwrap();
        image.write_block(6, &ZERO_BLOCK).unwrap();
        let mut buffer = ZERO_BLOCK;
        image.read_block(3, &mut buffer).unwrap();
        assert_eq!(buffer, data);
        assert!(image.is_zeroed(5).unwrap());
        assert_eq!(
            image.read_block(8, &mut buffer),
            Err(DeviceError::OutOfRange)
        );
        let blocks: Vec<u64> = image
            .nonzero_blocks_in_memory()
            .into_iter()
            .map(|(block, _)| block)
            .collect();
        assert_eq!(blocks, [3]);
    }

    #[test]
    fn a_partition_is_shifted_and_bounded() {
        let image = BlockImage::in_memory(Path::new("disk.img"), 10);
        let mut partition = image.partition(4, 3);
        let mut block = Block::ZEROED;
        block.0[0] = 1;
        partition.write(&[(2, &block)]).unwrap();
        assert!(!image.is_zeroed(6).unwrap());
        assert_eq!(partition.read(3, &mut block), Err(IoError::OutOfRange));
    }
}

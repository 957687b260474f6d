//! Where everything is on the disk: the regions computed from the disk size and the format
//! options, the superblock that records them, and [`format`], which writes an empty file system.

use crate::block::{
    BLOCK_SIZE, Block, Disk, MAX_WRITE_BATCH, ZERO_BLOCK, get_u32, get_u64, put_u32, put_u64,
};
use crate::crc::crc32c;
use crate::error::FsError;
use crate::inode::{INODE_SIZE, Ino, Inode, Kind};
use crate::journal::{JournalHeader, MAX_LOG_AREA_BLOCKS, log_area_capacity};
use alloc::boxed::Box;

/// The version of the on-disk format this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The first bytes of the superblock.
pub(crate) const MAGIC: [u8; 8] = *b"POSIXFS\0";

/// The superblock's block number.
pub(crate) const SUPERBLOCK_BLOCK: u64 = 0;

/// The journal's first block (its header); the journal always follows the superblock.
pub(crate) const JOURNAL_START: u64 = 1;

/// The smallest journal: a header and two log areas of 16 blocks, room for the largest single
/// step of any call (see `transaction::MAX_STEP_BLOCKS`).
pub const MIN_JOURNAL_BLOCKS: u32 = 33;

/// The largest journal: a header and two log areas as large as one header can describe.
pub const MAX_JOURNAL_BLOCKS: u32 = 1 + 2 * MAX_LOG_AREA_BLOCKS;

/// The journal size chosen for large disks: 2 MiB, two areas of 256 blocks.
pub const DEFAULT_JOURNAL_BLOCKS: u32 = 513;

/// The fewest inodes a format chooses by itself.
pub const MIN_DEFAULT_INODES: u32 = 64;

/// The fewest data blocks a file system may have.
pub const MIN_DATA_BLOCKS: u64 = 16;

/// Inodes in one inode table block.
pub(crate) const INODES_PER_BLOCK: u32 = (BLOCK_SIZE / INODE_SIZE) as u32;

/// Bits in one bitmap block.
pub(crate) const BITS_PER_BLOCK: u64 = (BLOCK_SIZE * 8) as u64;

/// Byte offset of the superblock's checksum: the last 4 bytes of the block.
const SUPERBLOCK_CRC_OFFSET: usize = BLOCK_SIZE - 4;

/// Byte offset of the orphan list head in the superblock.
const ORPHAN_HEAD_OFFSET: usize = 76;

/// Choices for [`format`]; `None` lets the format choose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatOptions {
    /// Blocks of the journal, header included, in
    /// [`MIN_JOURNAL_BLOCKS`]`..=`[`MAX_JOURNAL_BLOCKS`]. By default a sixteenth of the disk,
    /// at least the minimum and at most [`DEFAULT_JOURNAL_BLOCKS`].
    pub journal_blocks: Option<u32>,
    /// Inodes, rounded up to a whole inode table block (32). By default one per 4 data blocks,
    /// at least [`MIN_DEFAULT_INODES`]. Inode 0 is never used, and inode 1 is the root.
    pub inode_count: Option<u32>,
}

/// The regions of a file system, in disk order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub block_count: u64,
    pub journal_blocks: u32,
    pub inode_count: u32,
    pub inode_bitmap_start: u64,
    pub inode_bitmap_blocks: u32,
    pub block_bitmap_start: u64,
    pub block_bitmap_blocks: u32,
    pub inode_table_start: u64,
    pub inode_table_blocks: u32,
    pub data_start: u64,
    pub data_blocks: u64,
}

impl Layout {
    /// The layout [`format`] gives a disk of `block_count` blocks.
    pub fn compute(block_count: u64, options: FormatOptions) -> Result<Layout, FsError> {
        if block_count > u64::from(u32::MAX) {
            return Err(FsError::InvalidArgument);
        }
        let journal_blocks = options.journal_blocks.unwrap_or_else(|| {
            let sixteenth = u32::try_from(block_count / 16).unwrap_or(u32::MAX);
            sixteenth.clamp(MIN_JOURNAL_BLOCKS, DEFAULT_JOURNAL_BLOCKS)
        });
        if !(MIN_JOURNAL_BLOCKS..=MAX_JOURNAL_BLOCKS).contains(&journal_blocks) {
            return Err(FsError::InvalidArgument);
        }
        let inode_bitmap_start = JOURNAL_START + u64::from(journal_blocks);
        let after_journal = block_count
            .checked_sub(inode_bitmap_start)
            .ok_or(FsError::InvalidArgument)?;
        let default_inodes = u32::try_from(after_journal / 4)
            .unwrap_or(u32::MAX)
            .max(MIN_DEFAULT_INODES);
        let inode_count = options
            .inode_count
            .unwrap_or(default_inodes)
            .max(INODES_PER_BLOCK)
            .checked_next_multiple_of(INODES_PER_BLOCK)
            .ok_or(FsError::InvalidArgument)?;
        let inode_bitmap_blocks = u64::from(inode_count).div_ceil(BITS_PER_BLOCK);
        let inode_table_blocks = u64::from(inode_count / INODES_PER_BLOCK);
        let block_bitmap_start = inode_bitmap_start + inode_bitmap_blocks;
        let remaining = block_count
            .checked_sub(block_bitmap_start + inode_table_blocks)
            .ok_or(FsError::InvalidArgument)?;
        // Each bitmap block covers BITS_PER_BLOCK data blocks and takes one block itself.
        let block_bitmap_blocks = remaining.div_ceil(BITS_PER_BLOCK + 1);
        let data_blocks = remaining - block_bitmap_blocks;
        if data_blocks < MIN_DATA_BLOCKS {
            return Err(FsError::InvalidArgument);
        }
        let inode_table_start = block_bitmap_start + block_bitmap_blocks;
        Ok(Layout {
            block_count,
            journal_blocks,
            inode_count,
            inode_bitmap_start,
            inode_bitmap_blocks: inode_bitmap_blocks as u32,
            block_bitmap_start,
            block_bitmap_blocks: block_bitmap_blocks as u32,
            inode_table_start,
            inode_table_blocks: inode_table_blocks as u32,
            data_start: inode_table_start + inode_table_blocks,
            data_blocks,
        })
    }

    /// Blocks in each of the journal's two log areas: the most blocks one transaction changes.
    pub fn log_area_capacity(&self) -> usize {
        log_area_capacity(self.journal_blocks)
    }

    /// The geometry the journal replay needs.
    pub fn static_geometry(&self) -> StaticGeometry {
        StaticGeometry {
            block_count: self.block_count,
            journal_blocks: self.journal_blocks,
        }
    }

    /// The inode table block holding inode `ino`, and the inode's byte offset in it.
    pub fn inode_location(&self, ino: Ino) -> (u64, usize) {
        let block = self.inode_table_start + u64::from(ino.0 / INODES_PER_BLOCK);
        let offset = (ino.0 % INODES_PER_BLOCK) as usize * INODE_SIZE;
        (block, offset)
    }

    /// Whether `block` is in the data region, the only blocks a file or directory may use.
    pub fn is_data_block(&self, block: u32) -> bool {
        let block = u64::from(block);
        block >= self.data_start && block < self.block_count
    }

    /// Whether `ino` names an inode of the table that a file or directory may use (not 0).
    pub fn is_valid_ino(&self, ino: Ino) -> bool {
        ino.0 != 0 && ino.0 < self.inode_count
    }
}

/// The superblock: the layout plus the one field that changes, the head of the orphan list
/// (inodes with no links left whose blocks are still being freed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Superblock {
    pub layout: Layout,
    pub orphan_head: u32,
}

impl Superblock {
    /// Writes the superblock, checksum included, over the whole of `block`.
    pub fn encode(&self, block: &mut Block) {
        let layout = &self.layout;
        let bytes = &mut block.0;
        bytes.fill(0);
        bytes[..8].copy_from_slice(&MAGIC);
        put_u32(bytes, 8, FORMAT_VERSION);
        put_u32(bytes, 12, BLOCK_SIZE as u32);
        put_u64(bytes, 16, layout.block_count);
        put_u64(bytes, 24, JOURNAL_START);
        put_u32(bytes, 32, layout.journal_blocks);
        put_u32(bytes, 36, layout.inode_count);
        put_u64(bytes, 40, layout.inode_bitmap_start);
        put_u32(bytes, 48, layout.inode_bitmap_blocks);
        put_u32(bytes, 52, layout.block_bitmap_blocks);
        put_u64(bytes, 56, layout.block_bitmap_start);
        put_u64(bytes, 64, layout.inode_table_start);
        put_u32(bytes, 72, layout.inode_table_blocks);
        put_u32(bytes, ORPHAN_HEAD_OFFSET, self.orphan_head);
        put_u64(bytes, 80, layout.data_start);
        put_u64(bytes, 88, layout.data_blocks);
        seal_superblock(block);
    }

    /// Reads and fully checks a superblock: magic, version, checksum, and a layout equal to the
    /// one the format computes from the recorded sizes.
    pub fn decode(block: &Block) -> Result<Superblock, FsError> {
        let journal_blocks = check_identity(block)?;
        let bytes = &block.0;
        if get_u32(bytes, SUPERBLOCK_CRC_OFFSET) != crc32c(&bytes[..SUPERBLOCK_CRC_OFFSET]) {
            return Err(FsError::Corrupt("superblock checksum mismatch"));
        }
        let layout = Layout {
            block_count: get_u64(bytes, 16),
            journal_blocks,
            inode_count: get_u32(bytes, 36),
            inode_bitmap_start: get_u64(bytes, 40),
            inode_bitmap_blocks: get_u32(bytes, 48),
            block_bitmap_start: get_u64(bytes, 56),
            block_bitmap_blocks: get_u32(bytes, 52),
            inode_table_start: get_u64(bytes, 64),
            inode_table_blocks: get_u32(bytes, 72),
            data_start: get_u64(bytes, 80),
            data_blocks: get_u64(bytes, 88),
        };
        let options = FormatOptions {
            journal_blocks: Some(journal_blocks),
            inode_count: Some(layout.inode_count),
        };
        if Layout::compute(layout.block_count, options) != Ok(layout) {
            return Err(FsError::Corrupt("superblock layout is inconsistent"));
        }
        let orphan_head = get_u32(bytes, ORPHAN_HEAD_OFFSET);
        if orphan_head != 0 && !layout.is_valid_ino(Ino(orphan_head)) {
            return Err(FsError::Corrupt("orphan list head out of range"));
        }
        Ok(Superblock {
            layout,
            orphan_head,
        })
    }
}

/// What a superblock says before the journal is replayed, when only the fields that never
/// change after the format can be trusted (an interrupted install may have torn the block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StaticGeometry {
    pub block_count: u64,
    pub journal_blocks: u32,
}

impl StaticGeometry {
    /// Checks magic and version and reads the block and journal sizes.
    pub fn decode(block: &Block) -> Result<StaticGeometry, FsError> {
        let journal_blocks = check_identity(block)?;
        let block_count = get_u64(&block.0, 16);
        if u64::from(journal_blocks) + JOURNAL_START >= block_count {
            return Err(FsError::Corrupt("journal larger than the file system"));
        }
        Ok(StaticGeometry {
            block_count,
            journal_blocks,
        })
    }
}

/// Checks the magic, the version, the block size and the journal position; returns the
/// journal size.
fn check_identity(block: &Block) -> Result<u32, FsError> {
    let bytes = &block.0;
    if bytes[..8] != MAGIC {
        return Err(FsError::Corrupt("bad magic: not a posix-fs file system"));
    }
    if get_u32(bytes, 8) != FORMAT_VERSION {
        return Err(FsError::Corrupt("unsupported on-disk format version"));
    }
    if get_u32(bytes, 12) != BLOCK_SIZE as u32 || get_u64(bytes, 24) != JOURNAL_START {
        return Err(FsError::Corrupt(
            "unsupported block size or journal position",
        ));
    }
    let journal_blocks = get_u32(bytes, 32);
    if !(MIN_JOURNAL_BLOCKS..=MAX_JOURNAL_BLOCKS).contains(&journal_blocks) {
        return Err(FsError::Corrupt("journal size out of range"));
    }
    Ok(journal_blocks)
}

/// The orphan list head recorded in a superblock block.
pub(crate) fn orphan_head_of(block: &Block) -> u32 {
    get_u32(&block.0, ORPHAN_HEAD_OFFSET)
}

/// Changes the orphan list head of a cached superblock block. The checksum is left stale: the
/// block is journaled, and the commit seals it ([`seal_superblock`]) before writing it, once per
/// commit rather than at each of the many changes a transaction may make.
pub(crate) fn set_orphan_head(block: &mut Block, orphan_head: u32) {
    put_u32(&mut block.0, ORPHAN_HEAD_OFFSET, orphan_head);
}

/// Computes and stores the checksum of a superblock block.
pub(crate) fn seal_superblock(block: &mut Block) {
    let crc = crc32c(&block.0[..SUPERBLOCK_CRC_OFFSET]);
    put_u32(&mut block.0, SUPERBLOCK_CRC_OFFSET, crc);
}

/// Writes an empty file system over all of `disk`: an empty journal, bitmaps with only the
/// reserved inode 0 and the root in use, and an empty root directory.
///
/// The superblock is erased first and written last, each followed by a flush, so a crash
/// during the format leaves a disk that [`crate::FileSystem::mount`] refuses for its magic.
///
/// Errors: [`FsError::InvalidArgument`] when the disk is too small (fewer than
/// [`MIN_DATA_BLOCKS`] data blocks would remain) or larger than 2^32 blocks, or the options are
/// out of range; [`FsError::Io`] when the device fails.
pub fn format<D: Disk>(disk: &mut D, options: FormatOptions) -> Result<(), FsError> {
    let layout = Layout::compute(disk.block_count(), options)?;
    disk.write(&[(SUPERBLOCK_BLOCK, &ZERO_BLOCK)])?;
    disk.flush()?;

    let mut block = Box::new(Block::ZEROED);
    JournalHeader::empty(0).encode(&mut block);
    disk.write(&[(JOURNAL_START, &block)])?;

    // Inode 0 is reserved (a directory entry's 0 means "no inode"); inode 1 is the root.
    block.0.fill(0);
    block.0[0] = 0b11;
    disk.write(&[(layout.inode_bitmap_start, &block)])?;
    write_zero_run(
        disk,
        layout.inode_bitmap_start + 1,
        layout.inode_bitmap_blocks - 1,
    )?;
    write_zero_run(disk, layout.block_bitmap_start, layout.block_bitmap_blocks)?;

    block.0.fill(0);
    let root = Inode::new(Kind::Directory, Ino::ROOT);
    let (root_block, root_offset) = layout.inode_location(Ino::ROOT);
    root.encode(&mut block.0[root_offset..root_offset + INODE_SIZE]);
    disk.write(&[(root_block, &block)])?;
    write_zero_run(disk, root_block + 1, layout.inode_table_blocks - 1)?;
    disk.flush()?;

    Superblock {
        layout,
        orphan_head: 0,
    }
    .encode(&mut block);
    disk.write(&[(SUPERBLOCK_BLOCK, &block)])?;
    disk.flush()?;
    Ok(())
}

/// Writes zeros over `count` blocks from `start`, in batches.
fn write_zero_run<D: Disk>(disk: &mut D, start: u64, count: u32) -> Result<(), FsError> {
    let mut batch = [(0u64, &ZERO_BLOCK); MAX_WRITE_BATCH];
    let end = start + u64::from(count);
    let mut next = start;
    while next < end {
        let batch_len = (end - next).min(MAX_WRITE_BATCH as u64) as usize;
        for (position, entry) in batch[..batch_len].iter_mut().enumerate() {
            entry.0 = next + position as u64;
        }
        disk.write(&batch[..batch_len])?;
        next += batch_len as u64;
    }
    Ok(())
}

//! The journal's on-disk format and its replay.
//!
//! The journal is a header block followed by two log areas of equal size. Transaction `n`
//! writes its blocks into area `n % 2`, and its header names the home block and CRC-32C of each;
//! the header carries its own CRC-32C, so a torn or never-written header is simply not a
//! transaction. See the crate documentation for the protocol and why it is crash-safe.
//!
//! ```text
//! offset 0     magic "PXJOURNL"
//!        8     sequence number of the transaction (u64)
//!        16    number of logged blocks (u32; 0 for an empty journal)
//!        24    per logged block: home block number (u32), CRC-32C of its contents (u32)
//!        4092  CRC-32C of bytes 0..4092
//! ```

use crate::block::{BLOCK_SIZE, Block, Disk, get_u32, get_u64, put_u32, put_u64};
use crate::crc::crc32c;
use crate::error::FsError;
use crate::layout::{JOURNAL_START, StaticGeometry};

/// The most blocks a header can describe, so the largest log area.
pub(crate) const MAX_LOG_AREA_BLOCKS: u32 = ((HEADER_CRC_OFFSET - ENTRIES_OFFSET) / 8) as u32;

const JOURNAL_MAGIC: [u8; 8] = *b"PXJOURNL";
const ENTRIES_OFFSET: usize = 24;
const HEADER_CRC_OFFSET: usize = BLOCK_SIZE - 4;

/// Blocks in each log area of a journal of `journal_blocks` blocks.
pub(crate) fn log_area_capacity(journal_blocks: u32) -> usize {
    (((journal_blocks - 1) / 2) as usize).min(MAX_LOG_AREA_BLOCKS as usize)
}

/// The disk block holding entry `index` of transaction `sequence`.
pub(crate) fn log_block(journal_blocks: u32, sequence: u64, index: usize) -> u64 {
    let area_start = JOURNAL_START + 1 + (sequence % 2) * log_area_capacity(journal_blocks) as u64;
    area_start + index as u64
}

/// The fields of a journal header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct JournalHeader {
    pub sequence: u64,
    pub entry_count: usize,
}

impl JournalHeader {
    /// The header of an empty journal whose last transaction was `sequence`.
    pub fn empty(sequence: u64) -> JournalHeader {
        JournalHeader {
            sequence,
            entry_count: 0,
        }
    }

    /// Writes the header's fields over `block`, with no entries, sealed. Set entries with
    /// [`set_log_entry`], then seal again.
    pub fn encode(&self, block: &mut Block) {
        let bytes = &mut block.0;
        bytes.fill(0);
        bytes[..8].copy_from_slice(&JOURNAL_MAGIC);
        put_u64(bytes, 8, self.sequence);
        put_u32(bytes, 16, self.entry_count as u32);
        seal_header(block);
    }

    /// The header in `block`; `None` when it is not a whole, sealed header (never written, or
    /// torn by a crash), which means there is no transaction to replay.
    pub fn decode(block: &Block) -> Option<JournalHeader> {
        let bytes = &block.0;
        let is_sealed = bytes[..8] == JOURNAL_MAGIC
            && get_u32(bytes, HEADER_CRC_OFFSET) == crc32c(&bytes[..HEADER_CRC_OFFSET]);
        is_sealed.then(|| JournalHeader {
            sequence: get_u64(bytes, 8),
            entry_count: get_u32(bytes, 16) as usize,
        })
    }
}

/// Records in a header that entry `index` goes home to `home` and has checksum `crc`.
pub(crate) fn set_log_entry(block: &mut Block, index: usize, home: u32, crc: u32) {
    let offset = ENTRIES_OFFSET + 8 * index;
    put_u32(&mut block.0, offset, home);
    put_u32(&mut block.0, offset + 4, crc);
}

/// Entry `index` of a header: its home block and checksum.
pub(crate) fn log_entry(block: &Block, index: usize) -> (u32, u32) {
    let offset = ENTRIES_OFFSET + 8 * index;
    (get_u32(&block.0, offset), get_u32(&block.0, offset + 4))
}

/// Computes and stores the header's own checksum.
pub(crate) fn seal_header(block: &mut Block) {
    let crc = crc32c(&block.0[..HEADER_CRC_OFFSET]);
    put_u32(&mut block.0, HEADER_CRC_OFFSET, crc);
}

/// Checks a sealed header against the geometry: entry count within an area, every home block
/// on the disk and outside the journal.
pub(crate) fn check_header(
    header: &JournalHeader,
    header_block: &Block,
    geometry: StaticGeometry,
) -> Result<(), FsError> {
    if header.entry_count > log_area_capacity(geometry.journal_blocks) {
        return Err(FsError::Corrupt("journal header holds too many entries"));
    }
    let journal_end = JOURNAL_START + u64::from(geometry.journal_blocks);
    for index in 0..header.entry_count {
        let home = u64::from(log_entry(header_block, index).0);
        if home >= geometry.block_count || (JOURNAL_START..journal_end).contains(&home) {
            return Err(FsError::Corrupt("journal entry's home block out of range"));
        }
    }
    Ok(())
}

/// Replays the transaction the journal header describes, if any, onto the disk: checks every
/// logged block against its checksum first (nothing is written unless all match), writes each
/// home, flushes, then empties the journal and flushes again. Replaying the same transaction
/// twice is harmless: it holds whole block images. Uses `header` and `buffer` as buffers;
/// returns the sequence number the next transaction must follow.
pub(crate) fn replay_journal<D: Disk>(
    disk: &mut D,
    geometry: StaticGeometry,
    header_block: &mut Block,
    buffer: &mut Block,
) -> Result<u64, FsError> {
    disk.read(JOURNAL_START, header_block)?;
    let Some(header) = JournalHeader::decode(header_block) else {
        return Ok(0);
    };
    if header.entry_count == 0 {
        return Ok(header.sequence);
    }
    check_header(&header, header_block, geometry)?;
    for index in 0..header.entry_count {
        let (_, crc) = log_entry(header_block, index);
        disk.read(
            log_block(geometry.journal_blocks, header.sequence, index),
            buffer,
        )?;
        if crc32c(&buffer.0) != crc {
            return Err(FsError::Corrupt(
                "a committed journal block fails its checksum",
            ));
        }
    }
    for index in 0..header.entry_count {
        let (home, _) = log_entry(header_block, index);
        disk.read(
            log_block(geometry.journal_blocks, header.sequence, index),
            buffer,
        )?;
        disk.write(&[(u64::from(home), buffer)])?;
    }
    disk.flush()?;
    JournalHeader::empty(header.sequence).encode(header_block);
    disk.write(&[(JOURNAL_START, header_block)])?;
    disk.flush()?;
    Ok(header.sequence)
}

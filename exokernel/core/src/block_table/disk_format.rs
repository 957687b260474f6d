//! The on-disk encoding of the block table: where its regions lie, the superblock, the two
//! self-checking copies of every table block, and the records inside them.
//!
//! Every number is little-endian. Nothing here panics on any disk contents: decoding checks
//! magic numbers, kinds, positions and checksums, and reports what it rejects.

use super::{BLOCK_SIZE_BYTES, Credential, FormatError, MountError, PrincipalId};
use alloc::boxed::Box;
use core::ops::{Deref, DerefMut};

/// The bytes of one block.
pub type BlockBytes = [u8; BLOCK_SIZE_BYTES];

/// Identifies block 0 as this table's superblock.
const SUPERBLOCK_MAGIC: [u8; 8] = *b"EXOBLKTB";
/// The version of the format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Superblock bytes covered by its checksum; the checksum follows them.
const SUPERBLOCK_CHECKED_BYTES: usize = 64;

/// Identifies a block as one copy of a table block.
const TABLE_BLOCK_MAGIC: u32 = u32::from_le_bytes(*b"EXTB");
/// Header of a table block copy: magic, kind, logical index, sequence number, checksum.
const HEADER_BYTES: usize = 32;
const CHECKSUM_OFFSET: usize = 24;
const PAYLOAD_BYTES: usize = BLOCK_SIZE_BYTES - HEADER_BYTES;

/// A principal record: an in-use flag (4 bytes), 12 reserved zero bytes, the credential.
const PRINCIPAL_RECORD_BYTES: usize = 32;
const PRINCIPAL_IN_USE: u32 = 1;
/// How many principal records one principal table block holds.
pub const PRINCIPALS_PER_TABLE_BLOCK: u64 = (PAYLOAD_BYTES / PRINCIPAL_RECORD_BYTES) as u64;

/// An owner entry: 0 for a free block, principal index + 1 for an owned one.
const OWNER_ENTRY_BYTES: usize = 4;
/// How many owner entries (one per block number) one owner table block holds.
pub const OWNERS_PER_TABLE_BLOCK: u64 = (PAYLOAD_BYTES / OWNER_ENTRY_BYTES) as u64;

/// The largest disk the table manages, in blocks (64 GiB). The in-memory copy costs 4 bytes per
/// block, so this bounds the kernel heap the table can take to 64 MiB.
pub const MAX_BLOCK_COUNT: u64 = 1 << 24;
/// The largest principal table, in logical blocks (1024 × 127 principals).
pub const MAX_PRINCIPAL_TABLE_BLOCKS: u64 = 1024;

/// Which table a table block belongs to; recorded in every copy so that a copy found at the
/// wrong place is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// The credentials of the principals.
    Principals = 1,
    /// The owner of every block.
    Owners = 2,
}

/// Where everything lies on a formatted disk. Each table has `*_table_blocks` logical blocks,
/// and logical block `i` is stored twice: at `*_table_start + 2 i` (copy A) and at
/// `*_table_start + 2 i + 1` (copy B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Blocks on the disk, table blocks included.
    pub block_count: u64,
    /// First block of the principal table (always 1: the superblock is block 0).
    pub principal_table_start: u64,
    /// Logical blocks of the principal table.
    pub principal_table_blocks: u64,
    /// First block of the owner table.
    pub owner_table_start: u64,
    /// Logical blocks of the owner table.
    pub owner_table_blocks: u64,
    /// First data block: blocks from here to `block_count` may be owned by principals.
    pub data_start: u64,
}

impl Layout {
    /// The layout of a disk of `block_count` blocks with a principal table of
    /// `principal_table_blocks` logical blocks. The owner table has an entry for every block
    /// number, table blocks included (theirs stay 0), so that an entry's place is the block
    /// number itself.
    pub fn new(block_count: u64, principal_table_blocks: u64) -> Result<Layout, FormatError> {
        if block_count > MAX_BLOCK_COUNT {
            return Err(FormatError::TooLarge);
        }
        if principal_table_blocks == 0 || principal_table_blocks > MAX_PRINCIPAL_TABLE_BLOCKS {
            return Err(FormatError::InvalidPrincipalTableSize);
        }
        let owner_table_blocks = block_count.div_ceil(OWNERS_PER_TABLE_BLOCK);
        let principal_table_start = 1;
        let owner_table_start = principal_table_start + 2 * principal_table_blocks;
        let data_start = owner_table_start + 2 * owner_table_blocks;
        if data_start >= block_count {
            return Err(FormatError::TooSmall);
        }
        Ok(Layout {
            block_count,
            principal_table_start,
            principal_table_blocks,
            owner_table_start,
            owner_table_blocks,
            data_start,
        })
    }

    /// How many principals the principal table holds.
    pub fn principal_capacity(&self) -> u64 {
        self.principal_table_blocks * PRINCIPALS_PER_TABLE_BLOCK
    }

    /// How many blocks principals may own.
    pub fn data_block_count(&self) -> u64 {
        self.block_count - self.data_start
    }

    /// Whether `block` is a data block (not the superblock, not a table block, on the disk).
    pub fn is_data_block(&self, block: u64) -> bool {
        (self.data_start..self.block_count).contains(&block)
    }

    /// Logical blocks in table `kind`.
    pub(super) fn table_blocks(&self, kind: TableKind) -> u64 {
        match kind {
            TableKind::Principals => self.principal_table_blocks,
            TableKind::Owners => self.owner_table_blocks,
        }
    }

    /// The disk block holding copy `slot` (0 for A, 1 for B) of logical block `index` of table
    /// `kind`.
    pub(super) fn copy_block(&self, kind: TableKind, index: u64, slot: u64) -> u64 {
        let start = match kind {
            TableKind::Principals => self.principal_table_start,
            TableKind::Owners => self.owner_table_start,
        };
        start + 2 * index + slot
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) lookup table, built at compile time.
const CRC32_TABLE: [u32; 256] = crc32_table();

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut value = index as u32;
        let mut bit = 0;
        while bit < 8 {
            value = if value & 1 != 0 {
                0xEDB8_8320 ^ (value >> 1)
            } else {
                value >> 1
            };
            bit += 1;
        }
        table[index] = value;
        index += 1;
    }
    table
}

/// The CRC-32 of the concatenation of `parts`. It detects every torn write whose landed prefix
/// differs from the old contents in fewer than 32 consecutive bits, and all others but one in
/// 2^32.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for part in parts {
        for &byte in *part {
            crc = CRC32_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    !crc
}

fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(word)
}

fn read_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(word)
}

fn write_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

fn write_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// A block buffer aligned to a page: it lies in exactly one physical frame, so a device can
/// reach it by DMA without a bounce buffer.
#[repr(C, align(4096))]
pub struct PageAlignedBlock(pub BlockBytes);

impl Deref for PageAlignedBlock {
    type Target = BlockBytes;

    fn deref(&self) -> &BlockBytes {
        &self.0
    }
}

impl DerefMut for PageAlignedBlock {
    fn deref_mut(&mut self) -> &mut BlockBytes {
        &mut self.0
    }
}

/// A block of zeros, on the heap (a block is too large to pass around on a kernel stack).
pub fn zeroed_block() -> Box<PageAlignedBlock> {
    Box::new(PageAlignedBlock([0u8; BLOCK_SIZE_BYTES]))
}

/// The superblock of `layout`.
pub fn encode_superblock(layout: &Layout) -> Box<PageAlignedBlock> {
    let mut block = zeroed_block();
    block[0..8].copy_from_slice(&SUPERBLOCK_MAGIC);
    write_u32(&mut block[..], 8, FORMAT_VERSION);
    write_u64(&mut block[..], 16, layout.block_count);
    write_u64(&mut block[..], 24, layout.principal_table_start);
    write_u64(&mut block[..], 32, layout.principal_table_blocks);
    write_u64(&mut block[..], 40, layout.owner_table_start);
    write_u64(&mut block[..], 48, layout.owner_table_blocks);
    write_u64(&mut block[..], 56, layout.data_start);
    let checksum = crc32(&[&block[..SUPERBLOCK_CHECKED_BYTES]]);
    write_u32(&mut block[..], SUPERBLOCK_CHECKED_BYTES, checksum);
    block
}

/// The layout recorded in superblock `block` of a disk of `device_block_count` blocks. The
/// recorded layout must be exactly the one [`Layout::new`] computes from its block count and
/// principal table size, so that no region can overlap another or lie beyond the disk.
pub fn decode_superblock(
    block: &BlockBytes,
    device_block_count: u64,
) -> Result<Layout, MountError> {
    let checksum = crc32(&[&block[..SUPERBLOCK_CHECKED_BYTES]]);
    let is_superblock = block[0..8] == SUPERBLOCK_MAGIC
        && read_u32(&block[..], SUPERBLOCK_CHECKED_BYTES) == checksum;
    if !is_superblock {
        return Err(MountError::NotFormatted);
    }
    let version = read_u32(&block[..], 8);
    if version != FORMAT_VERSION {
        return Err(MountError::UnsupportedVersion(version));
    }
    let recorded_block_count = read_u64(&block[..], 16);
    if recorded_block_count != device_block_count {
        return Err(MountError::SizeMismatch {
            recorded_block_count,
            device_block_count,
        });
    }
    let recorded = Layout {
        block_count: recorded_block_count,
        principal_table_start: read_u64(&block[..], 24),
        principal_table_blocks: read_u64(&block[..], 32),
        owner_table_start: read_u64(&block[..], 40),
        owner_table_blocks: read_u64(&block[..], 48),
        data_start: read_u64(&block[..], 56),
    };
    match Layout::new(recorded.block_count, recorded.principal_table_blocks) {
        Ok(expected) if expected == recorded => Ok(recorded),
        _ => Err(MountError::Corrupt {
            block: 0,
            reason: "the superblock records an impossible layout",
        }),
    }
}

/// Writes the header of a table block copy into `block`, whose payload is already in place,
/// and seals it with a checksum over everything else in the block.
pub fn seal(block: &mut BlockBytes, kind: TableKind, index: u64, sequence: u64) {
    write_u32(&mut block[..], 0, TABLE_BLOCK_MAGIC);
    write_u32(&mut block[..], 4, kind as u32);
    write_u64(&mut block[..], 8, index);
    write_u64(&mut block[..], 16, sequence);
    write_u32(&mut block[..], CHECKSUM_OFFSET, 0);
    write_u32(&mut block[..], 28, 0);
    let checksum = checksum_of_copy(block);
    write_u32(&mut block[..], CHECKSUM_OFFSET, checksum);
}

/// The sequence number of `block` if it is an intact copy of logical block `index` of table
/// `kind`; `None` if it is torn, stale from elsewhere, or never written.
pub fn unseal(block: &BlockBytes, kind: TableKind, index: u64) -> Option<u64> {
    let is_intact = read_u32(&block[..], 0) == TABLE_BLOCK_MAGIC
        && read_u32(&block[..], 4) == kind as u32
        && read_u64(&block[..], 8) == index
        && read_u32(&block[..], CHECKSUM_OFFSET) == checksum_of_copy(block);
    is_intact.then(|| read_u64(&block[..], 16))
}

fn checksum_of_copy(block: &BlockBytes) -> u32 {
    crc32(&[&block[..CHECKSUM_OFFSET], &block[CHECKSUM_OFFSET + 4..]])
}

/// Fills the payload of `block` with the principal records of `principals` (the slice this
/// table block covers, at most [`PRINCIPALS_PER_TABLE_BLOCK`] long); the rest of the payload
/// is zero.
pub fn encode_principals(block: &mut BlockBytes, principals: &[Option<Credential>]) {
    block[HEADER_BYTES..].fill(0);
    let (records, _) = block[HEADER_BYTES..].as_chunks_mut::<PRINCIPAL_RECORD_BYTES>();
    for (record, principal) in records.iter_mut().zip(principals) {
        if let Some(credential) = principal {
            write_u32(record, 0, PRINCIPAL_IN_USE);
            record[16..32].copy_from_slice(&credential.0);
        }
    }
}

/// The principal records in the payload of `block`, one per slot of the block. A record is
/// either all zero (unused) or in use with reserved bytes zero and a non-zero credential;
/// anything else is corruption.
pub fn decode_principals(
    block: &BlockBytes,
) -> Result<impl Iterator<Item = Option<Credential>> + '_, &'static str> {
    let (records, _) = block[HEADER_BYTES..].as_chunks::<PRINCIPAL_RECORD_BYTES>();
    if !records.iter().all(is_valid_principal_record) {
        return Err("a principal record is malformed");
    }
    Ok(records.iter().map(|record| {
        let mut credential = [0u8; 16];
        credential.copy_from_slice(&record[16..32]);
        (read_u32(record, 0) == PRINCIPAL_IN_USE).then_some(Credential(credential))
    }))
}

fn is_valid_principal_record(record: &[u8; PRINCIPAL_RECORD_BYTES]) -> bool {
    let is_reserved_zero = record[4..16].iter().all(|&byte| byte == 0);
    let is_credential_zero = record[16..32].iter().all(|&byte| byte == 0);
    match read_u32(record, 0) {
        0 => is_reserved_zero && is_credential_zero,
        PRINCIPAL_IN_USE => is_reserved_zero && !is_credential_zero,
        _ => false,
    }
}

/// The owner entry of a block owned by `owner` (or free). Principal indexes are far below
/// `u32::MAX` ([`MAX_PRINCIPAL_TABLE_BLOCKS`]), so the entry never saturates for a real one.
pub fn owner_entry(owner: Option<PrincipalId>) -> u32 {
    owner.map_or(0, |principal| principal.0.saturating_add(1))
}

/// The owner recorded by `entry`.
pub fn entry_owner(entry: u32) -> Option<PrincipalId> {
    entry.checked_sub(1).map(PrincipalId)
}

/// Fills the payload of `block` with `entries` (the slice this table block covers, at most
/// [`OWNERS_PER_TABLE_BLOCK`] long); the rest of the payload is zero.
pub fn encode_owners(block: &mut BlockBytes, entries: &[u32]) {
    block[HEADER_BYTES..].fill(0);
    let (slots, _) = block[HEADER_BYTES..].as_chunks_mut::<OWNER_ENTRY_BYTES>();
    for (slot, &entry) in slots.iter_mut().zip(entries) {
        *slot = entry.to_le_bytes();
    }
}

/// Every owner entry in the payload of `block`.
pub fn decode_owners(block: &BlockBytes) -> impl Iterator<Item = u32> + '_ {
    let (slots, _) = block[HEADER_BYTES..].as_chunks::<OWNER_ENTRY_BYTES>();
    slots.iter().map(|slot| u32::from_le_bytes(*slot))
}

//! The on-disk encodings: the superblock, a record, a checkpoint. All integers are
//! little-endian; every checksum is a CRC-32 seeded with the store's nonce, so that blocks left
//! by an earlier store on the same device never pass for this one's.

use super::crc32::Crc32;
use super::{KEY_BYTES_MAX, Layout, VALUE_BYTES_MAX};
use crate::block_device::{BLOCK_SIZE, Block};
use alloc::vec::Vec;

const SUPERBLOCK_MAGIC: u64 = u64::from_le_bytes(*b"EXOLOGS1");
const FORMAT_VERSION: u32 = 1;
const SUPERBLOCK_BYTES: usize = 32;

const RECORD_MAGIC: u32 = u32::from_le_bytes(*b"LREC");
/// Magic, kind, key length, reserved byte pair, value length, sequence number.
pub(crate) const RECORD_HEADER_BYTES: usize = 20;
const RECORD_CHECKSUM_BYTES: usize = 4;
/// The largest record: a full key and a full value.
pub(crate) const RECORD_BYTES_MAX: usize =
    RECORD_HEADER_BYTES + KEY_BYTES_MAX + VALUE_BYTES_MAX + RECORD_CHECKSUM_BYTES;

const CHECKPOINT_MAGIC: u32 = u32::from_le_bytes(*b"LCKP");
/// Magic, checkpoint sequence number, payload length, payload checksum, header checksum.
pub(crate) const CHECKPOINT_HEADER_BYTES: usize = 24;
/// Next record sequence, clock, head segment, head offset, segment count, entry count.
const CHECKPOINT_FIXED_BYTES: usize = 32;
/// Per segment: whether it is free, and the clock of its newest record.
const CHECKPOINT_SEGMENT_BYTES: usize = 9;
/// Per index entry, besides the key: key length, segment, offset, record length.
pub(crate) const CHECKPOINT_ENTRY_FIXED_BYTES: usize = 13;

/// Where the parts of a formatted device are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub layout: Layout,
    pub segment_count: u32,
    /// Seeds every checksum; a new format picks one the device's previous store did not use.
    pub nonce: u64,
}

impl Geometry {
    pub fn segment_bytes(&self) -> u32 {
        self.layout.segment_blocks * BLOCK_SIZE as u32
    }

    /// The first block of checkpoint slot 0 or 1 (block 0 is the superblock).
    pub fn slot_first_block(&self, slot: u64) -> u64 {
        1 + slot * u64::from(self.layout.checkpoint_slot_blocks)
    }

    pub fn slot_bytes(&self) -> usize {
        self.layout.checkpoint_slot_blocks as usize * BLOCK_SIZE
    }

    pub fn segment_first_block(&self, segment: u32) -> u64 {
        1 + 2 * u64::from(self.layout.checkpoint_slot_blocks)
            + u64::from(segment) * u64::from(self.layout.segment_blocks)
    }

    /// Bytes of a checkpoint payload left for index entries.
    pub fn index_bytes_max(&self) -> usize {
        let fixed = CHECKPOINT_HEADER_BYTES
            + CHECKPOINT_FIXED_BYTES
            + self.segment_count as usize * CHECKPOINT_SEGMENT_BYTES;
        self.slot_bytes().saturating_sub(fixed)
    }

    /// How many segments fit on a device of `block_count` blocks.
    pub fn segment_count_for(layout: Layout, block_count: u64) -> u64 {
        let reserved = 1 + 2 * u64::from(layout.checkpoint_slot_blocks);
        block_count.saturating_sub(reserved) / u64::from(layout.segment_blocks.max(1))
    }

    pub fn checksum(&self) -> Crc32 {
        Crc32::new().update(&self.nonce.to_le_bytes())
    }
}

/// Reads little-endian fields from a byte slice; every read past the end is `None`.
pub(crate) struct Cursor<'b> {
    bytes: &'b [u8],
    position: usize,
}

impl<'b> Cursor<'b> {
    pub fn new(bytes: &'b [u8]) -> Cursor<'b> {
        Cursor { bytes, position: 0 }
    }

    pub fn take(&mut self, count: usize) -> Option<&'b [u8]> {
        let end = self.position.checked_add(count)?;
        let taken = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(taken)
    }

    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

pub(crate) fn encode_superblock(geometry: &Geometry) -> Block {
    let mut bytes = Vec::with_capacity(SUPERBLOCK_BYTES);
    bytes.extend_from_slice(&SUPERBLOCK_MAGIC.to_le_bytes());
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&geometry.layout.segment_blocks.to_le_bytes());
    bytes.extend_from_slice(&geometry.layout.checkpoint_slot_blocks.to_le_bytes());
    bytes.extend_from_slice(&geometry.segment_count.to_le_bytes());
    bytes.extend_from_slice(&geometry.nonce.to_le_bytes());
    let checksum = Crc32::new().update(&bytes).value();
    bytes.extend_from_slice(&checksum.to_le_bytes());
    let mut block = Block::zeroed();
    block.0[..bytes.len()].copy_from_slice(&bytes);
    block
}

/// The geometry a superblock describes, if its checksum and fields are sound for a device of
/// `block_count` blocks.
pub(crate) fn decode_superblock(block: &Block, block_count: u64) -> Option<Geometry> {
    let mut cursor = Cursor::new(&block.0[..SUPERBLOCK_BYTES + 4]);
    let covered = cursor.take(SUPERBLOCK_BYTES)?;
    let checksum = cursor.u32()?;
    if Crc32::new().update(covered).value() != checksum {
        return None;
    }
    let mut fields = Cursor::new(covered);
    if fields.u64()? != SUPERBLOCK_MAGIC || fields.u32()? != FORMAT_VERSION {
        return None;
    }
    let layout = Layout {
        segment_blocks: fields.u32()?,
        checkpoint_slot_blocks: fields.u32()?,
    };
    let segment_count = fields.u32()?;
    let nonce = fields.u64()?;
    let is_sound = layout.check().is_ok()
        && segment_count >= 1
        && u64::from(segment_count) <= Geometry::segment_count_for(layout, block_count);
    is_sound.then_some(Geometry {
        layout,
        segment_count,
        nonce,
    })
}

/// Whether a record stores a value or deletes its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordKind {
    Put = 1,
    Tombstone = 2,
}

/// The fixed part of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub kind: RecordKind,
    pub key_len: usize,
    pub value_len: usize,
    pub sequence: u64,
}

impl RecordHeader {
    pub fn record_bytes(&self) -> usize {
        RECORD_HEADER_BYTES + self.key_len + self.value_len + RECORD_CHECKSUM_BYTES
    }

    /// The header at the start of `bytes`, if it is one; its fields are within limits.
    pub fn decode(bytes: &[u8]) -> Option<RecordHeader> {
        let mut cursor = Cursor::new(bytes);
        if cursor.u32()? != RECORD_MAGIC {
            return None;
        }
        let kind = match cursor.u8()? {
            1 => RecordKind::Put,
            2 => RecordKind::Tombstone,
            _ => return None,
        };
        let key_len = usize::from(cursor.u8()?);
        cursor.take(2)?;
        let value_len = cursor.u32()? as usize;
        let sequence = cursor.u64()?;
        let is_sound = value_len <= VALUE_BYTES_MAX && (kind == RecordKind::Put || value_len == 0);
        is_sound.then_some(RecordHeader {
            kind,
            key_len,
            value_len,
            sequence,
        })
    }
}

/// A whole record, checksum included. `key` is at most [`KEY_BYTES_MAX`] bytes and `value` at
/// most [`VALUE_BYTES_MAX`] (the caller checks).
pub(crate) fn encode_record(
    geometry: &Geometry,
    kind: RecordKind,
    sequence: u64,
    key: &[u8],
    value: &[u8],
) -> Vec<u8> {
    let mut bytes =
        Vec::with_capacity(RECORD_HEADER_BYTES + key.len() + value.len() + RECORD_CHECKSUM_BYTES);
    bytes.extend_from_slice(&RECORD_MAGIC.to_le_bytes());
    bytes.push(kind as u8);
    bytes.push(key.len() as u8);
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&(value.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&sequence.to_le_bytes());
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(value);
    let checksum = geometry.checksum().update(&bytes).value();
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes
}

/// Whether `bytes`, a whole record as its header sizes it, carries a correct checksum.
pub(crate) fn record_checksum_holds(geometry: &Geometry, bytes: &[u8]) -> bool {
    let Some(covered_len) = bytes.len().checked_sub(RECORD_CHECKSUM_BYTES) else {
        return false;
    };
    let (covered, stored) = bytes.split_at(covered_len);
    let expected = geometry.checksum().update(covered).value();
    stored == expected.to_le_bytes()
}

/// The key and value of a whole, checked record.
pub(crate) fn record_key_value(bytes: &[u8], header: &RecordHeader) -> (Vec<u8>, Vec<u8>) {
    let key_end = RECORD_HEADER_BYTES + header.key_len;
    let value_end = key_end + header.value_len;
    (
        bytes[RECORD_HEADER_BYTES..key_end].to_vec(),
        bytes[key_end..value_end].to_vec(),
    )
}

/// Where a record lies in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RecordPlace {
    pub segment: u32,
    /// Bytes from the start of the segment.
    pub offset: u32,
    pub length: u32,
}

/// Where the log continues: the next commit starts here, at a block boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogPosition {
    pub segment: u32,
    pub offset: u32,
}

/// A segment's line in the checkpoint's segment table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentRecord {
    pub is_free: bool,
    pub last_written: u64,
}

/// Everything a checkpoint holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub checkpoint_sequence: u64,
    pub next_sequence: u64,
    pub clock: u64,
    pub head: LogPosition,
    pub segments: Vec<SegmentRecord>,
    pub entries: Vec<(Vec<u8>, RecordPlace)>,
}

/// The blocks of a checkpoint slot, or `None` if it does not fit one.
pub(crate) fn encode_checkpoint<'k>(
    geometry: &Geometry,
    checkpoint_sequence: u64,
    next_sequence: u64,
    clock: u64,
    head: LogPosition,
    segments: &[SegmentRecord],
    entries: impl ExactSizeIterator<Item = (&'k [u8], RecordPlace)>,
) -> Option<Vec<Block>> {
    let mut payload = Vec::new();
    payload.extend_from_slice(&next_sequence.to_le_bytes());
    payload.extend_from_slice(&clock.to_le_bytes());
    payload.extend_from_slice(&head.segment.to_le_bytes());
    payload.extend_from_slice(&head.offset.to_le_bytes());
    payload.extend_from_slice(&(segments.len() as u32).to_le_bytes());
    payload.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for segment in segments {
        payload.push(u8::from(segment.is_free));
        payload.extend_from_slice(&segment.last_written.to_le_bytes());
    }
    for (key, place) in entries {
        payload.push(key.len() as u8);
        payload.extend_from_slice(key);
        payload.extend_from_slice(&place.segment.to_le_bytes());
        payload.extend_from_slice(&place.offset.to_le_bytes());
        payload.extend_from_slice(&place.length.to_le_bytes());
    }
    if CHECKPOINT_HEADER_BYTES + payload.len() > geometry.slot_bytes() {
        return None;
    }
    let mut header = Vec::with_capacity(CHECKPOINT_HEADER_BYTES);
    header.extend_from_slice(&CHECKPOINT_MAGIC.to_le_bytes());
    header.extend_from_slice(&checkpoint_sequence.to_le_bytes());
    header.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    header.extend_from_slice(&geometry.checksum().update(&payload).value().to_le_bytes());
    let header_checksum = geometry.checksum().update(&header).value();
    header.extend_from_slice(&header_checksum.to_le_bytes());
    header.extend_from_slice(&payload);
    Some(
        header
            .chunks(BLOCK_SIZE)
            .map(|chunk| {
                let mut block = Block::zeroed();
                block.0[..chunk.len()].copy_from_slice(chunk);
                block
            })
            .collect(),
    )
}

/// A checkpoint's sequence number and payload length, from the first block of its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointHeader {
    pub checkpoint_sequence: u64,
    pub payload_bytes: usize,
    payload_checksum: u32,
}

impl CheckpointHeader {
    pub fn decode(geometry: &Geometry, first_block: &Block) -> Option<CheckpointHeader> {
        let mut cursor = Cursor::new(&first_block.0);
        let covered = cursor.take(CHECKPOINT_HEADER_BYTES - 4)?;
        let header_checksum = cursor.u32()?;
        if geometry.checksum().update(covered).value() != header_checksum {
            return None;
        }
        let mut fields = Cursor::new(covered);
        if fields.u32()? != CHECKPOINT_MAGIC {
            return None;
        }
        let header = CheckpointHeader {
            checkpoint_sequence: fields.u64()?,
            payload_bytes: fields.u32()? as usize,
            payload_checksum: fields.u32()?,
        };
        let fits =
            CHECKPOINT_HEADER_BYTES.checked_add(header.payload_bytes)? <= geometry.slot_bytes();
        fits.then_some(header)
    }

    /// Blocks the slot's header and payload span.
    pub fn block_count(&self) -> usize {
        (CHECKPOINT_HEADER_BYTES + self.payload_bytes).div_ceil(BLOCK_SIZE)
    }

    /// The checkpoint in `slot_bytes` (the header and payload, as read), if its checksum holds
    /// and every field is consistent with `geometry`.
    pub fn decode_checkpoint(&self, geometry: &Geometry, slot_bytes: &[u8]) -> Option<Checkpoint> {
        let end = CHECKPOINT_HEADER_BYTES + self.payload_bytes;
        let payload = slot_bytes.get(CHECKPOINT_HEADER_BYTES..end)?;
        if geometry.checksum().update(payload).value() != self.payload_checksum {
            return None;
        }
        let mut cursor = Cursor::new(payload);
        let next_sequence = cursor.u64()?;
        let clock = cursor.u64()?;
        let head = LogPosition {
            segment: cursor.u32()?,
            offset: cursor.u32()?,
        };
        let segment_count = cursor.u32()?;
        let entry_count = cursor.u32()?;
        let head_is_sound = head.segment < geometry.segment_count
            && head.offset <= geometry.segment_bytes()
            && (head.offset as usize).is_multiple_of(BLOCK_SIZE);
        if segment_count != geometry.segment_count || !head_is_sound {
            return None;
        }
        let segments = (0..segment_count)
            .map(|_| {
                Some(SegmentRecord {
                    is_free: cursor.u8()? != 0,
                    last_written: cursor.u64()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        if segments[head.segment as usize].is_free {
            return None;
        }
        // Each entry takes at least its fixed bytes: a bound on the count before allocating.
        if entry_count as usize > payload.len() / CHECKPOINT_ENTRY_FIXED_BYTES {
            return None;
        }
        let mut entries = Vec::with_capacity(entry_count as usize);
        for _ in 0..entry_count {
            let key_len = usize::from(cursor.u8()?);
            let key = cursor.take(key_len)?.to_vec();
            let place = RecordPlace {
                segment: cursor.u32()?,
                offset: cursor.u32()?,
                length: cursor.u32()?,
            };
            if !place_is_sound(geometry, &segments, place, key_len) {
                return None;
            }
            entries.push((key, place));
        }
        Some(Checkpoint {
            checkpoint_sequence: self.checkpoint_sequence,
            next_sequence,
            clock,
            head,
            segments,
            entries,
        })
    }
}

/// Whether a checkpoint's index entry can point at a record: inside a segment in use, and as
/// long as some record with that key could be.
fn place_is_sound(
    geometry: &Geometry,
    segments: &[SegmentRecord],
    place: RecordPlace,
    key_len: usize,
) -> bool {
    let length = place.length as usize;
    let end = u64::from(place.offset) + u64::from(place.length);
    segments
        .get(place.segment as usize)
        .is_some_and(|segment| !segment.is_free)
        && end <= u64::from(geometry.segment_bytes())
        && length >= RECORD_HEADER_BYTES + key_len + RECORD_CHECKSUM_BYTES
        && length <= RECORD_BYTES_MAX
}

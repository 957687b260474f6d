//! The on-page format of the tree's nodes and of its meta page; every number little-endian.
//!
//! The layout is described in the parent module's documentation.

use super::{VALUE_BYTES, Value};
use crate::block_device::{BLOCK_SIZE, Block};

pub(super) const LEAF_MAGIC: u32 = u32::from_le_bytes(*b"BtLf");
pub(super) const INTERNAL_MAGIC: u32 = u32::from_le_bytes(*b"BtIn");
pub(super) const META_MAGIC: u32 = u32::from_le_bytes(*b"BtMe");
pub(super) const FORMAT_VERSION: u16 = 1;
/// The next-leaf field of the last leaf.
pub(super) const NO_PAGE: u64 = u64::MAX;

const HEADER_BYTES: usize = 16;
const LEAF_ENTRY_BYTES: usize = 8 + VALUE_BYTES;
const INTERNAL_FIRST_KEY: usize = HEADER_BYTES + 8;
const INTERNAL_PAIR_BYTES: usize = 16;

/// Pairs a leaf page holds at most.
pub const LEAF_ENTRIES_MAX: usize = (BLOCK_SIZE - HEADER_BYTES) / LEAF_ENTRY_BYTES;
/// Keys an internal page holds at most (it has one child more).
pub const INTERNAL_KEYS_MAX: usize = (BLOCK_SIZE - INTERNAL_FIRST_KEY) / INTERNAL_PAIR_BYTES;

pub(super) fn read_u16(block: &Block, offset: usize) -> u16 {
    let mut bytes = [0; 2];
    bytes.copy_from_slice(&block.0[offset..offset + 2]);
    u16::from_le_bytes(bytes)
}

pub(super) fn read_u32(block: &Block, offset: usize) -> u32 {
    let mut bytes = [0; 4];
    bytes.copy_from_slice(&block.0[offset..offset + 4]);
    u32::from_le_bytes(bytes)
}

pub(super) fn read_u64(block: &Block, offset: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&block.0[offset..offset + 8]);
    u64::from_le_bytes(bytes)
}

pub(super) fn write_u16(block: &mut Block, offset: usize, value: u16) {
    block.0[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

pub(super) fn write_u32(block: &mut Block, offset: usize, value: u32) {
    block.0[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

pub(super) fn write_u64(block: &mut Block, offset: usize, value: u64) {
    block.0[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// A node's header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) magic: u32,
    pub(super) count: usize,
    pub(super) level: u16,
    pub(super) next_leaf: u64,
}

pub(super) fn header(block: &Block) -> Header {
    Header {
        magic: read_u32(block, 0),
        count: usize::from(read_u16(block, 4)),
        level: read_u16(block, 6),
        next_leaf: read_u64(block, 8),
    }
}

/// Writes a header; `count` must fit the page (callers keep it under the maxima).
pub(super) fn write_header(block: &mut Block, header: Header) {
    write_u32(block, 0, header.magic);
    write_u16(block, 4, header.count as u16);
    write_u16(block, 6, header.level);
    write_u64(block, 8, header.next_leaf);
}

pub(super) fn set_count(block: &mut Block, count: usize) {
    write_u16(block, 4, count as u16);
}

fn leaf_entry(index: usize) -> usize {
    HEADER_BYTES + LEAF_ENTRY_BYTES * index
}

/// Key `index` of a leaf (`index < LEAF_ENTRIES_MAX`).
pub(super) fn leaf_key(block: &Block, index: usize) -> u64 {
    read_u64(block, leaf_entry(index))
}

/// Value `index` of a leaf (`index < LEAF_ENTRIES_MAX`).
pub(super) fn leaf_value(block: &Block, index: usize) -> &Value {
    let start = leaf_entry(index) + 8;
    block.0[start..start + VALUE_BYTES]
        .try_into()
        .unwrap_or(&[0; VALUE_BYTES])
}

pub(super) fn write_leaf_entry(block: &mut Block, index: usize, key: u64, value: &Value) {
    let start = leaf_entry(index);
    write_u64(block, start, key);
    block.0[start + 8..start + LEAF_ENTRY_BYTES].copy_from_slice(value);
}

/// Shifts leaf entries `index..count` one place right (room for an insertion at `index`).
pub(super) fn open_leaf_gap(block: &mut Block, index: usize, count: usize) {
    block
        .0
        .copy_within(leaf_entry(index)..leaf_entry(count), leaf_entry(index + 1));
}

/// Where a leaf's `count` keys would hold `key`: `Ok(index)` if present.
pub(super) fn search_leaf(block: &Block, count: usize, key: u64) -> Result<usize, usize> {
    search(count, |index| leaf_key(block, index), key)
}

/// Key `index` of an internal node (`index < INTERNAL_KEYS_MAX`).
pub(super) fn internal_key(block: &Block, index: usize) -> u64 {
    read_u64(block, INTERNAL_FIRST_KEY + INTERNAL_PAIR_BYTES * index)
}

/// Child `index` of an internal node (`index <= INTERNAL_KEYS_MAX`).
pub(super) fn internal_child(block: &Block, index: usize) -> u64 {
    read_u64(block, HEADER_BYTES + INTERNAL_PAIR_BYTES * index)
}

pub(super) fn write_internal_key(block: &mut Block, index: usize, key: u64) {
    write_u64(block, INTERNAL_FIRST_KEY + INTERNAL_PAIR_BYTES * index, key);
}

pub(super) fn write_internal_child(block: &mut Block, index: usize, child: u64) {
    write_u64(block, HEADER_BYTES + INTERNAL_PAIR_BYTES * index, child);
}

/// Which child of an internal node with `count` keys covers `key`.
pub(super) fn child_index_for(block: &Block, count: usize, key: u64) -> usize {
    match search(count, |index| internal_key(block, index), key) {
        Ok(index) => index + 1,
        Err(index) => index,
    }
}

/// Binary search over `count` increasing keys read by `key_at`.
fn search(count: usize, key_at: impl Fn(usize) -> u64, key: u64) -> Result<usize, usize> {
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = low + (high - low) / 2;
        match key_at(middle).cmp(&key) {
            core::cmp::Ordering::Less => low = middle + 1,
            core::cmp::Ordering::Greater => high = middle,
            core::cmp::Ordering::Equal => return Ok(middle),
        }
    }
    Err(low)
}

/// Shifts the (key, right child) pairs `index..count` of an internal node one place right
/// (room for a key at `index` and a child at `index + 1`).
pub(super) fn open_internal_gap(block: &mut Block, index: usize, count: usize) {
    let pair = |index: usize| INTERNAL_FIRST_KEY + INTERNAL_PAIR_BYTES * index;
    block
        .0
        .copy_within(pair(index)..pair(count), pair(index + 1));
}

/// Writes a whole leaf: `entries` (at most `LEAF_ENTRIES_MAX`) and the next leaf.
pub(super) fn write_leaf(block: &mut Block, entries: &[(u64, Value)], next_leaf: u64) {
    write_header(
        block,
        Header {
            magic: LEAF_MAGIC,
            count: entries.len(),
            level: 0,
            next_leaf,
        },
    );
    for (index, (key, value)) in entries.iter().enumerate() {
        write_leaf_entry(block, index, *key, value);
    }
}

/// Writes a whole internal node: `keys` (at most `INTERNAL_KEYS_MAX`) and one child more.
pub(super) fn write_internal(block: &mut Block, level: u16, keys: &[u64], children: &[u64]) {
    write_header(
        block,
        Header {
            magic: INTERNAL_MAGIC,
            count: keys.len(),
            level,
            next_leaf: NO_PAGE,
        },
    );
    for (index, key) in keys.iter().enumerate() {
        write_internal_key(block, index, *key);
    }
    for (index, child) in children.iter().enumerate() {
        write_internal_child(block, index, *child);
    }
}

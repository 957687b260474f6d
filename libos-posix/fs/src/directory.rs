//! The format of directory blocks: a chain of variable-length records covering each block.
//!
//! ```text
//! offset 0  inode number (u32, 0 for a free record)
//!        4  record length (u16, a multiple of 4, at least 8; the records of a block add up to
//!           exactly 4096, and none crosses a block)
//!        6  name length (u8, 1..=255 in a used record)
//!        7  kind (1 file, 2 directory)
//!        8  name bytes, then slack up to the record length
//! ```
//!
//! A new entry takes a free record big enough or the slack at the end of a used one; a removed
//! entry's space joins the record before it in the block (or, first in its block, becomes a
//! free record). `.` and `..` are not stored: the path walker resolves them.

use crate::block::{BLOCK_SIZE, get_u16, get_u32, put_u16, put_u32};
use crate::error::FsError;
use crate::inode::{Ino, Kind};
use core::fmt;

/// The longest name of a directory entry, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Bytes of a record before its name.
const RECORD_HEADER_LEN: usize = 8;

/// Record lengths are multiples of this.
const RECORD_ALIGN: usize = 4;

/// The space a record with a name of `name_len` bytes needs.
pub(crate) fn record_len_for(name_len: usize) -> usize {
    (RECORD_HEADER_LEN + name_len).next_multiple_of(RECORD_ALIGN)
}

/// One record of a directory block, as parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// Byte offset of the record in its block.
    pub offset: usize,
    /// Bytes up to the next record.
    pub len: usize,
    /// The entry it holds; `None` for a free record.
    pub entry: Option<(Ino, Kind)>,
    pub name_len: usize,
}

impl Record {
    /// Bytes at the end of the record that a new record could take.
    pub fn slack(&self) -> usize {
        match self.entry {
            Some(_) => self.len - record_len_for(self.name_len),
            None => self.len,
        }
    }

    /// The record's name within its block.
    pub fn name<'a>(&self, block: &'a [u8; BLOCK_SIZE]) -> &'a [u8] {
        let start = self.offset + RECORD_HEADER_LEN;
        &block[start..start + self.name_len]
    }
}

/// The records of a directory block, in order; stops after the first malformed one.
pub(crate) struct Records<'a> {
    block: &'a [u8; BLOCK_SIZE],
    next_offset: usize,
}

impl<'a> Records<'a> {
    /// The records of `block`.
    pub fn of(block: &'a [u8; BLOCK_SIZE]) -> Records<'a> {
        Records {
            block,
            next_offset: 0,
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next_offset >= BLOCK_SIZE {
            return None;
        }
        let parsed = parse_record(self.block, self.next_offset);
        self.next_offset = match parsed {
            Ok(record) => record.offset + record.len,
            Err(_) => BLOCK_SIZE,
        };
        Some(parsed)
    }
}

fn parse_record(block: &[u8; BLOCK_SIZE], offset: usize) -> Result<Record, &'static str> {
    let ino = get_u32(block, offset);
    let len = usize::from(get_u16(block, offset + 4));
    let name_len = usize::from(block[offset + 6]);
    if len < RECORD_HEADER_LEN || !len.is_multiple_of(RECORD_ALIGN) || offset + len > BLOCK_SIZE {
        return Err("directory record length out of range");
    }
    if ino == 0 {
        return Ok(Record {
            offset,
            len,
            entry: None,
            name_len: 0,
        });
    }
    let kind = Kind::from_code(block[offset + 7]).ok_or("directory record of unknown kind")?;
    if name_len == 0 || RECORD_HEADER_LEN + name_len > len {
        return Err("directory record name length out of range");
    }
    Ok(Record {
        offset,
        len,
        entry: Some((Ino(ino), kind)),
        name_len,
    })
}

/// Writes a used record of length `len` at `offset`.
pub(crate) fn write_record(
    block: &mut [u8; BLOCK_SIZE],
    offset: usize,
    len: usize,
    entry: (Ino, Kind),
    name: &[u8],
) {
    put_u32(block, offset, entry.0.0);
    put_u16(block, offset + 4, len as u16);
    block[offset + 6] = name.len() as u8;
    block[offset + 7] = entry.1.code();
    let name_start = offset + RECORD_HEADER_LEN;
    block[name_start..name_start + name.len()].copy_from_slice(name);
}

/// Writes a free record of length `len` at `offset`.
pub(crate) fn write_free_record(block: &mut [u8; BLOCK_SIZE], offset: usize, len: usize) {
    put_u32(block, offset, 0);
    put_u16(block, offset + 4, len as u16);
    block[offset + 6] = 0;
    block[offset + 7] = 0;
}

/// Changes the length of the record at `offset`.
pub(crate) fn set_record_len(block: &mut [u8; BLOCK_SIZE], offset: usize, len: usize) {
    put_u16(block, offset + 4, len as u16);
}

/// Changes the inode and kind of the used record at `offset`, keeping its name.
pub(crate) fn set_record_entry(block: &mut [u8; BLOCK_SIZE], offset: usize, entry: (Ino, Kind)) {
    put_u32(block, offset, entry.0.0);
    block[offset + 7] = entry.1.code();
}

/// Checks that `name` may name a directory entry: 1 to [`MAX_NAME_LEN`] bytes, no `/` and no
/// NUL. (`.` and `..` pass; callers decide what they mean.)
pub(crate) fn check_name(name: &[u8]) -> Result<(), FsError> {
    if name.len() > MAX_NAME_LEN {
        return Err(FsError::NameTooLong);
    }
    if name.is_empty() || name.iter().any(|&byte| byte == 0 || byte == b'/') {
        return Err(FsError::InvalidPath);
    }
    Ok(())
}

/// One entry of a directory, as [`crate::FileSystem::read_dir`] returns it.
#[derive(Clone, Copy)]
pub struct DirEntry {
    /// The inode the entry names.
    pub ino: Ino,
    /// What the inode is.
    pub kind: Kind,
    name_bytes: [u8; MAX_NAME_LEN],
    name_len: u8,
}

impl DirEntry {
    pub(crate) fn new(ino: Ino, kind: Kind, name: &[u8]) -> DirEntry {
        let mut name_bytes = [0; MAX_NAME_LEN];
        name_bytes[..name.len()].copy_from_slice(name);
        DirEntry {
            ino,
            kind,
            name_bytes,
            name_len: name.len() as u8,
        }
    }

    /// The entry's name: 1 to 255 bytes, no `/` or NUL.
    pub fn name(&self) -> &[u8] {
        &self.name_bytes[..usize::from(self.name_len)]
    }
}

impl PartialEq for DirEntry {
    fn eq(&self, other: &DirEntry) -> bool {
        self.ino == other.ino && self.kind == other.kind && self.name() == other.name()
    }
}

impl Eq for DirEntry {}

/// Shows the name as text where it is UTF-8.
impl fmt::Debug for DirEntry {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = formatter.debug_struct("DirEntry");
        debug.field("ino", &self.ino).field("kind", &self.kind);
        match core::str::from_utf8(self.name()) {
            Ok(text) => debug.field("name", &text),
            Err(_) => debug.field("name", &self.name()),
        };
        debug.finish()
    }
}

//! Inodes: the on-disk record of a file or directory (kind, link count, size, block pointers),
//! and the map from a block of a file to the pointer that holds its disk block.
//!
//! A pointer is a 32-bit block number; 0 means a hole (block 0 is the superblock, never data).
//! File block `n` is reached through `direct[n]` for `n < 12`, through the single indirect
//! block for the next 1024, and through the double indirect block (1024 pointers to indirect
//! blocks of 1024 pointers) for the next 1024 * 1024: files of up to about 4 GiB.

use crate::block::{BLOCK_SIZE, get_u32, get_u64, put_u32, put_u64};

/// Bytes of one inode in the inode table.
pub(crate) const INODE_SIZE: usize = 128;

/// Pointers held in the inode itself.
pub(crate) const DIRECT_POINTERS: usize = 12;

/// Pointers in one indirect block.
pub(crate) const POINTERS_PER_BLOCK: u64 = (BLOCK_SIZE / 4) as u64;

/// The first file block reached through the single indirect block.
pub(crate) const SINGLE_INDIRECT_START: u64 = DIRECT_POINTERS as u64;

/// The first file block reached through the double indirect block.
pub(crate) const DOUBLE_INDIRECT_START: u64 = SINGLE_INDIRECT_START + POINTERS_PER_BLOCK;

/// The most blocks a file can have.
pub const MAX_FILE_BLOCKS: u64 = DOUBLE_INDIRECT_START + POINTERS_PER_BLOCK * POINTERS_PER_BLOCK;

/// The largest file size in bytes (a little over 4 GiB).
pub const MAX_FILE_SIZE: u64 = MAX_FILE_BLOCKS * BLOCK_SIZE as u64;

/// An inode number. Inode 0 does not exist; [`Ino::ROOT`] is the root directory. A number stays
/// valid until the last link to its file or directory goes; then it may be reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ino(pub u32);

impl Ino {
    /// The root directory, fixed by the format.
    pub const ROOT: Ino = Ino(1);
}

/// What an inode holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A regular file: bytes.
    File,
    /// A directory: named links to inodes.
    Directory,
}

impl Kind {
    /// The code of the kind on the disk (in inodes and directory entries).
    pub(crate) fn code(self) -> u8 {
        match self {
            Kind::File => 1,
            Kind::Directory => 2,
        }
    }

    /// The kind with code `code`; `None` for 0 (free) or an unknown code.
    pub(crate) fn from_code(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::File),
            2 => Some(Kind::Directory),
            _ => None,
        }
    }
}

/// An inode as the file system works on it.
///
/// A directory's `links` is 2 plus its subdirectories (its entry in its parent, its own `.`,
/// and each child's `..`), as in POSIX; a file's is the number of entries naming it. `parent`
/// is a directory's containing directory (the root's is itself), which is how `..` resolves.
/// `next_orphan` links inodes on the orphan list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inode {
    /// `None` for a free inode.
    pub kind: Option<Kind>,
    pub links: u32,
    /// Data and indirect blocks held.
    pub blocks_used: u32,
    pub size: u64,
    pub direct: [u32; DIRECT_POINTERS],
    pub single_indirect: u32,
    pub double_indirect: u32,
    pub parent: u32,
    pub next_orphan: u32,
}

impl Inode {
    /// A new, empty file or directory; `parent` matters only for a directory.
    pub fn new(kind: Kind, parent: Ino) -> Inode {
        Inode {
            kind: Some(kind),
            links: match kind {
                Kind::File => 1,
                Kind::Directory => 2,
            },
            parent: match kind {
                Kind::File => 0,
                Kind::Directory => parent.0,
            },
            ..Inode::default()
        }
    }

    /// Whether the inode is a directory.
    pub fn is_directory(&self) -> bool {
        self.kind == Some(Kind::Directory)
    }

    /// Blocks the file's size covers.
    pub fn size_in_blocks(&self) -> u64 {
        self.size.div_ceil(BLOCK_SIZE as u64)
    }

    /// Writes the inode into its 128 bytes of an inode table block.
    pub fn encode(&self, bytes: &mut [u8]) {
        let bytes = &mut bytes[..INODE_SIZE];
        bytes[..4].copy_from_slice(&[self.kind.map_or(0, Kind::code), 0, 0, 0]);
        bytes[12..16].fill(0);
        bytes[88..].fill(0);
        put_u32(bytes, 4, self.links);
        put_u32(bytes, 8, self.blocks_used);
        put_u64(bytes, 16, self.size);
        // Two pointers a store: the fields are little-endian u32s side by side.
        let pair = |low: u32, high: u32| u64::from(low) | (u64::from(high) << 32);
        let (pointer_pairs, _) = self.direct.as_chunks::<2>();
        for (index, &[low, high]) in pointer_pairs.iter().enumerate() {
            put_u64(bytes, 24 + 8 * index, pair(low, high));
        }
        put_u64(bytes, 72, pair(self.single_indirect, self.double_indirect));
        put_u64(bytes, 80, pair(self.parent, self.next_orphan));
    }

    /// Reads an inode from its 128 bytes; fails on an unknown kind code.
    pub fn decode(bytes: &[u8]) -> Result<Inode, &'static str> {
        let kind = match bytes[0] {
            0 => None,
            code => Some(Kind::from_code(code).ok_or("inode of unknown kind")?),
        };
        let mut direct = [0; DIRECT_POINTERS];
        for (index, pointer) in direct.iter_mut().enumerate() {
            *pointer = get_u32(bytes, 24 + 4 * index);
        }
        Ok(Inode {
            kind,
            links: get_u32(bytes, 4),
            blocks_used: get_u32(bytes, 8),
            size: get_u64(bytes, 16),
            direct,
            single_indirect: get_u32(bytes, 72),
            double_indirect: get_u32(bytes, 76),
            parent: get_u32(bytes, 80),
            next_orphan: get_u32(bytes, 84),
        })
    }
}

/// Where the pointer to a file block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PointerPath {
    /// `direct[index]` of the inode.
    Direct(usize),
    /// Entry `index` of the single indirect block.
    Single(usize),
    /// Entry `inner` of the indirect block named by entry `outer` of the double indirect block.
    Double { outer: usize, inner: usize },
}

impl PointerPath {
    /// The path to file block `file_block`; `None` beyond [`MAX_FILE_BLOCKS`].
    pub fn of(file_block: u64) -> Option<PointerPath> {
        if file_block < SINGLE_INDIRECT_START {
            Some(PointerPath::Direct(file_block as usize))
        } else if file_block < DOUBLE_INDIRECT_START {
            Some(PointerPath::Single(
                (file_block - SINGLE_INDIRECT_START) as usize,
            ))
        } else if file_block < MAX_FILE_BLOCKS {
            let index = file_block - DOUBLE_INDIRECT_START;
            Some(PointerPath::Double {
                outer: (index / POINTERS_PER_BLOCK) as usize,
                inner: (index % POINTERS_PER_BLOCK) as usize,
            })
        } else {
            None
        }
    }
}

/// Pointer `index` of an indirect block.
pub(crate) fn pointer_at(block: &[u8; BLOCK_SIZE], index: usize) -> u32 {
    get_u32(block, 4 * index)
}

/// Sets pointer `index` of an indirect block.
pub(crate) fn set_pointer_at(block: &mut [u8; BLOCK_SIZE], index: usize, pointer: u32) {
    put_u32(block, 4 * index, pointer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_inode_covers_all_its_bytes_and_decodes_back() {
        let mut inode = Inode::new(Kind::Directory, Ino(7));
        inode.size = 0x0102_0304_0506;
        inode.direct[11] = 99;
        inode.double_indirect = 5;
        inode.next_orphan = 3;
        let mut over_zeros = [0u8; INODE_SIZE];
        let mut over_ones = [0xFFu8; INODE_SIZE];
        inode.encode(&mut over_zeros);
        inode.encode(&mut over_ones);
        assert_eq!(over_zeros, over_ones, "a byte was left as it was");
        assert_eq!(Inode::decode(&over_zeros), Ok(inode));
    }
}

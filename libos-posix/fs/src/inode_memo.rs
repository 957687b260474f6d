//! The inodes read or written last, decoded: finding one here costs a compare, where reading it
//! costs a cache lookup of its block and a decode (some 130 instructions, a dozen times in a
//! create-write-close-unlink). Every change of an inode goes through
//! `FileSystem::write_inode`, which writes its entry here too, so an entry never disagrees with
//! the cached block; a new mount starts empty.

use crate::inode::{Ino, Inode};

/// Entries: a path's directories and the file at its end (the file system value stays small,
/// the cache's table lives in the cache's pages).
const ENTRIES: usize = 4;

/// Decoded inodes by number, the oldest entry replaced first. The numbers are apart from the
/// inodes, so that a search compares a few words and copies only the inode it finds.
#[derive(Debug)]
pub(crate) struct InodeMemo {
    /// The number each entry holds; 0 (never an inode) for an empty one.
    numbers: [u32; ENTRIES],
    inodes: [Inode; ENTRIES],
    /// The entry the next new inode takes.
    next: usize,
}

impl InodeMemo {
    pub(crate) fn new() -> InodeMemo {
        InodeMemo {
            numbers: [0; ENTRIES],
            inodes: [Inode::default(); ENTRIES],
            next: 0,
        }
    }

    fn position(&self, ino: Ino) -> Option<usize> {
        self.numbers.iter().position(|&held| held == ino.0)
    }

    /// Inode `ino`, if it is here.
    #[inline]
    pub(crate) fn get(&self, ino: Ino) -> Option<Inode> {
        if ino.0 == 0 {
            return None;
        }
        Some(self.inodes[self.position(ino)?])
    }

    /// Whether inode `ino` is here and a directory.
    pub(crate) fn is_directory(&self, ino: Ino) -> bool {
        ino.0 != 0
            && self
                .position(ino)
                .is_some_and(|position| self.inodes[position].is_directory())
    }

    /// Keeps `inode` as inode `ino`: in its entry, or in place of the oldest.
    #[inline]
    pub(crate) fn put(&mut self, ino: Ino, inode: Inode) {
        let position = self.position(ino).unwrap_or_else(|| {
            let oldest = self.next;
            self.next = (oldest + 1) % ENTRIES;
            oldest
        });
        self.numbers[position] = ino.0;
        self.inodes[position] = inode;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inode::Kind;

    #[test]
    fn an_inode_is_found_updated_in_place_and_dropped_oldest_first() {
        let mut memo = InodeMemo::new();
        let file = Inode::new(Kind::File, Ino::ROOT);
        let directory = Inode::new(Kind::Directory, Ino::ROOT);
        assert_eq!(memo.get(Ino(3)), None);
        memo.put(Ino(3), file);
        memo.put(Ino(3), directory);
        assert_eq!(memo.get(Ino(3)), Some(directory));
        assert!(memo.is_directory(Ino(3)));
        assert!(!memo.is_directory(Ino(0)), "inode 0 is never here");
        for ino in 4..4 + ENTRIES as u32 - 1 {
            memo.put(Ino(ino), file);
        }
        assert_eq!(memo.get(Ino(3)), Some(directory), "updating took no entry");
        memo.put(Ino(100), file);
        assert_eq!(memo.get(Ino(3)), None, "the oldest went");
        assert_eq!(memo.get(Ino(100)), Some(file));
        assert_eq!(memo.get(Ino(4)), Some(file));
        assert!(!memo.is_directory(Ino(4)), "a file");
        assert!(!memo.is_directory(Ino(3)), "gone");
    }
}

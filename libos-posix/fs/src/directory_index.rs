//! Which names one directory holds, as counts of its entries by a hash of the name: a create
//! there learns that its name is absent from a count of zero, without a scan of the directory
//! (a scan parses every record of every block and compares every name), and learns where the
//! new entry fits from the one block that last had room.
//!
//! The index covers the directory whose blocks a search read through to the end last (a
//! search that missed, or a create): that search counted every entry. From then on every
//! change of the directory's entries goes through `FileSystem::insert_entry` and
//! `FileSystem::remove_entry`, which count the name in or out (`FileSystem::replace_entry`
//! keeps the name); a count that would go below zero or past its largest value drops the
//! index, as does freeing the directory. So a count of zero is proof of absence, and anything
//! else sends the caller to the disk's records: a shared count (two names of one hash) only
//! costs a scan. The block with room is a hint, nothing more: its records are parsed and
//! checked like any other before an entry goes there, and when none has room the whole
//! directory is searched. A new mount starts with no index.

use crate::inode::Ino;
use crate::short_bytes::hash;

/// Counts, a power of two (the file system value stays small).
const COUNTS: usize = 128;

/// The entries of one directory, counted by a hash of their names.
#[derive(Debug)]
pub(crate) struct DirectoryIndex {
    /// The directory covered; 0 (never an inode) when none is.
    directory: u32,
    /// Entries per hash of the name.
    counts: [u8; COUNTS],
    /// A block of the directory that had room for an entry when last seen; 0 (never a
    /// directory block) when none is known.
    room_block: u32,
}

/// The count that holds `name`.
pub(crate) fn count_of(name: &[u8]) -> usize {
    (hash(0, name) >> (32 - COUNTS.trailing_zeros())) as usize
}

/// Counts entries while a search reads a directory through; see
/// [`DirectoryIndex::finish_counting`].
#[derive(Debug)]
pub(crate) struct Counting {
    counts: [u8; COUNTS],
    /// Whether a count overflowed: the directory cannot be indexed.
    has_overflowed: bool,
}

impl Counting {
    pub(crate) const fn new() -> Counting {
        Counting {
            counts: [0; COUNTS],
            has_overflowed: false,
        }
    }

    /// Counts an entry named `name`.
    pub(crate) fn add(&mut self, name: &[u8]) {
        let count = &mut self.counts[count_of(name)];
        match count.checked_add(1) {
            Some(next) => *count = next,
            None => self.has_overflowed = true,
        }
    }
}

impl DirectoryIndex {
    pub(crate) const fn new() -> DirectoryIndex {
        DirectoryIndex {
            directory: 0,
            counts: [0; COUNTS],
            room_block: 0,
        }
    }

    /// Whether the index covers `directory`.
    pub(crate) fn covers(&self, directory: Ino) -> bool {
        directory.0 != 0 && self.directory == directory.0
    }

    /// Whether `directory` is covered and holds no entry named `name`.
    pub(crate) fn is_absent(&self, directory: Ino, name: &[u8]) -> bool {
        self.covers(directory) && self.counts[count_of(name)] == 0
    }

    /// Covers `directory` with the entries `counting` counted in all of its blocks, and
    /// `room_block` (0 for none) as the block with room.
    pub(crate) fn finish_counting(&mut self, directory: Ino, counting: &Counting, room_block: u32) {
        if counting.has_overflowed {
            self.forget();
            return;
        }
        self.directory = directory.0;
        self.counts = counting.counts;
        self.room_block = room_block;
    }

    /// A block of the covered directory that had room, if one is known.
    pub(crate) fn room_block(&self) -> Option<u32> {
        (self.room_block != 0).then_some(self.room_block)
    }

    /// Notes that `block` of the covered directory has room (or, 0, that none is known).
    pub(crate) fn set_room_block(&mut self, directory: Ino, block: u32) {
        if self.covers(directory) {
            self.room_block = block;
        }
    }

    /// Counts a new entry `name` in `directory`.
    pub(crate) fn added(&mut self, directory: Ino, name: &[u8]) {
        if !self.covers(directory) {
            return;
        }
        let count = &mut self.counts[count_of(name)];
        match count.checked_add(1) {
            Some(next) => *count = next,
            None => self.forget(),
        }
    }

    /// Counts out the entry `name` removed from `directory` in block `block`, which now has
    /// room.
    pub(crate) fn removed(&mut self, directory: Ino, name: &[u8], block: u32) {
        if !self.covers(directory) {
            return;
        }
        let count = &mut self.counts[count_of(name)];
        match count.checked_sub(1) {
            Some(next) => {
                *count = next;
                self.room_block = block;
            }
            None => self.forget(),
        }
    }

    /// Drops the index if it covers `directory`, which is being freed.
    pub(crate) fn forget_directory(&mut self, directory: Ino) {
        if self.directory == directory.0 {
            self.forget();
        }
    }

    /// Drops the index.
    pub(crate) fn forget(&mut self) {
        self.directory = 0;
        self.room_block = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two different names that share a count.
    fn colliding_names() -> (Vec<u8>, Vec<u8>) {
        let first = b"n0".to_vec();
        let bucket = count_of(&first);
        let second = (1..)
            .map(|number: u32| format!("n{number}").into_bytes())
            .find(|name| count_of(name) == bucket)
            .unwrap();
        (first, second)
    }

    fn covering(directory: Ino, names: &[&[u8]]) -> DirectoryIndex {
        let mut counting = Counting::new();
        for name in names {
            counting.add(name);
        }
        let mut index = DirectoryIndex::new();
        index.finish_counting(directory, &counting, 90);
        index
    }

    #[test]
    fn only_a_covered_directory_proves_a_name_absent() {
        let mut index = DirectoryIndex::new();
        assert!(!index.is_absent(Ino(5), b"a"), "nothing covered");
        assert!(!index.covers(Ino(0)));
        index = covering(Ino(5), &[b"a", b"b"]);
        assert!(!index.is_absent(Ino(5), b"a"));
        assert!(!index.is_absent(Ino(5), b"b"));
        let absent = (0..)
            .map(|number: u32| format!("c{number}").into_bytes())
            .find(|name| count_of(name) != count_of(b"a") && count_of(name) != count_of(b"b"))
            .unwrap();
        assert!(index.is_absent(Ino(5), &absent));
        assert!(!index.is_absent(Ino(6), &absent), "another directory");
        assert_eq!(index.room_block(), Some(90));
    }

    #[test]
    fn names_sharing_a_count_keep_each_other_present_until_both_go() {
        let (first, second) = colliding_names();
        let mut index = covering(Ino(5), &[&first]);
        index.added(Ino(5), &second);
        index.removed(Ino(5), &first, 91);
        assert!(
            !index.is_absent(Ino(5), &first),
            "the count is the second name's too"
        );
        assert!(!index.is_absent(Ino(5), &second));
        assert_eq!(index.room_block(), Some(91));
        index.removed(Ino(5), &second, 92);
        assert!(index.is_absent(Ino(5), &first));
        assert!(index.is_absent(Ino(5), &second));
    }

    #[test]
    fn a_count_that_would_leave_its_range_drops_the_index() {
        let mut index = covering(Ino(5), &[]);
        index.removed(Ino(5), b"never added", 91);
        assert!(!index.covers(Ino(5)), "a removal below zero");
        assert_eq!(index.room_block(), None);

        let mut index = covering(Ino(5), &[]);
        for _ in 0..u8::MAX {
            index.added(Ino(5), b"same");
        }
        assert!(index.covers(Ino(5)));
        index.added(Ino(5), b"same");
        assert!(!index.covers(Ino(5)), "an addition past the largest count");

        let mut counting = Counting::new();
        for _ in 0..=u8::MAX as usize {
            counting.add(b"same");
        }
        let mut index = covering(Ino(5), &[b"a"]);
        index.finish_counting(Ino(6), &counting, 90);
        assert!(
            !index.covers(Ino(6)),
            "a directory counted past the largest count"
        );
        assert!(!index.covers(Ino(5)), "nor the one before");
    }

    #[test]
    fn changes_elsewhere_leave_the_index_and_freeing_its_directory_drops_it() {
        let mut index = covering(Ino(5), &[b"a"]);
        index.removed(Ino(6), b"a", 91);
        index.added(Ino(6), b"zz");
        index.set_room_block(Ino(6), 93);
        assert!(!index.is_absent(Ino(5), b"a"));
        assert_eq!(index.room_block(), Some(90));
        index.forget_directory(Ino(6));
        assert!(index.covers(Ino(5)));
        index.forget_directory(Ino(5));
        assert!(!index.covers(Ino(5)));
    }
}

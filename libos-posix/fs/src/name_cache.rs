//! The directory entries found or added last, by directory and name: a path walk that finds a
//! component here goes straight to its inode, where a scan of the directory parses every
//! record before it (some 400 instructions for a short directory, three times in a
//! create-write-close-unlink). A hash of the directory and the name picks one place, which a
//! newer entry takes over.
//!
//! An entry is only ever what a scan of the cached directory block found or what this file
//! system wrote there, so it is as trustworthy as the block. It stays true because directory
//! records never move: every removal and every change of a record's inode goes through
//! `FileSystem::remove_entry` or `FileSystem::replace_entry`, which forget the entries at its
//! place, and a directory is freed only once empty, so no entry outlives its directory. A new
//! mount starts empty.

use crate::directory_contents::EntryLocation;
use crate::inode::{Ino, Kind};
use crate::short_bytes::{hash, same_bytes};

/// Places, a power of two (the file system value stays small: 16 of 40 bytes).
const PLACES: usize = 16;

/// The longest name remembered; longer ones are always scanned for.
const MAX_REMEMBERED_NAME: usize = 24;

/// One remembered entry.
#[derive(Clone, Copy, Debug)]
struct Remembered {
    /// The directory holding the entry; 0 (never an inode) for an empty place.
    directory: u32,
    block: u32,
    ino: u32,
    offset: u16,
    kind: Kind,
    name_len: u8,
    name: [u8; MAX_REMEMBERED_NAME],
}

impl Remembered {
    const EMPTY: Remembered = Remembered {
        directory: 0,
        block: 0,
        ino: 0,
        offset: 0,
        kind: Kind::File,
        name_len: 0,
        name: [0; MAX_REMEMBERED_NAME],
    };

    fn is(&self, directory: Ino, name: &[u8]) -> bool {
        self.directory == directory.0 && same_bytes(&self.name[..usize::from(self.name_len)], name)
    }
}

/// Entries by directory and name.
#[derive(Debug)]
pub(crate) struct NameCache {
    places: [Remembered; PLACES],
}

/// The place of `name` in `directory`.
fn place_of(directory: Ino, name: &[u8]) -> usize {
    (hash(directory.0, name) >> (32 - PLACES.trailing_zeros())) as usize
}

impl NameCache {
    pub(crate) const fn new() -> NameCache {
        NameCache {
            places: [Remembered::EMPTY; PLACES],
        }
    }

    /// Where the entry `name` of `directory` is, if it is remembered.
    pub(crate) fn get(&self, directory: Ino, name: &[u8]) -> Option<EntryLocation> {
        if name.len() > MAX_REMEMBERED_NAME || directory.0 == 0 {
            return None;
        }
        let place = &self.places[place_of(directory, name)];
        place.is(directory, name).then_some(EntryLocation {
            block: place.block,
            offset: usize::from(place.offset),
            ino: Ino(place.ino),
            kind: place.kind,
        })
    }

    /// Remembers that the entry `name` of `directory` is at `location`.
    pub(crate) fn put(&mut self, directory: Ino, name: &[u8], location: EntryLocation) {
        if name.len() > MAX_REMEMBERED_NAME {
            return;
        }
        let mut remembered = Remembered {
            directory: directory.0,
            block: location.block,
            ino: location.ino.0,
            offset: location.offset as u16,
            kind: location.kind,
            name_len: name.len() as u8,
            name: [0; MAX_REMEMBERED_NAME],
        };
        remembered.name[..name.len()].copy_from_slice(name);
        self.places[place_of(directory, name)] = remembered;
    }

    /// Forgets whatever entry is remembered at byte `offset` of directory block `block`.
    pub(crate) fn forget(&mut self, block: u32, offset: usize) {
        for place in &mut self.places {
            if place.block == block && usize::from(place.offset) == offset {
                *place = Remembered::EMPTY;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(block: u32, offset: usize, ino: u32) -> EntryLocation {
        EntryLocation {
            block,
            offset,
            ino: Ino(ino),
            kind: Kind::File,
        }
    }

    #[test]
    fn an_entry_is_found_by_directory_and_name_until_its_place_is_forgotten() {
        let mut names = NameCache::new();
        assert_eq!(names.get(Ino(1), b"a"), None);
        names.put(Ino(1), b"a", location(90, 16, 5));
        assert_eq!(names.get(Ino(1), b"a"), Some(location(90, 16, 5)));
        assert_eq!(names.get(Ino(2), b"a"), None, "another directory");
        assert_eq!(names.get(Ino(1), b"ab"), None, "another name");
        names.forget(90, 0);
        assert_eq!(names.get(Ino(1), b"a"), Some(location(90, 16, 5)));
        names.forget(90, 16);
        assert_eq!(names.get(Ino(1), b"a"), None);
    }

    #[test]
    fn long_names_are_not_remembered() {
        let mut names = NameCache::new();
        let long = [b'x'; MAX_REMEMBERED_NAME + 1];
        names.put(Ino(1), &long, location(90, 0, 5));
        assert_eq!(names.get(Ino(1), &long), None);
        let longest = [b'x'; MAX_REMEMBERED_NAME];
        names.put(Ino(1), &longest, location(90, 0, 5));
        assert_eq!(names.get(Ino(1), &longest), Some(location(90, 0, 5)));
    }
}

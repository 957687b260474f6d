//! The directory path walked last and the directory it named: the calls that work in one
//! directory (create, unlink, rename there...) walk the same path before the last component
//! again and again, and a remembered path skips the walk (a dozen lookups and inode copies).
//!
//! A path keeps naming the same directory until a directory is removed or renamed, so
//! `FileSystem::rmdir` and `FileSystem::rename` forget the path whatever they do; a
//! file's creation or removal leaves every directory's path as it was. A new mount starts
//! empty.

use crate::inode::Ino;

/// The longest path remembered; longer ones are always walked.
const MAX_REMEMBERED_PATH: usize = 56;

/// One directory path and the directory it names.
#[derive(Debug)]
pub(crate) struct DirectoryMemo {
    /// The directory; 0 (never an inode) when nothing is remembered.
    ino: u32,
    path_len: u8,
    path: [u8; MAX_REMEMBERED_PATH],
}

impl DirectoryMemo {
    pub(crate) const fn new() -> DirectoryMemo {
        DirectoryMemo {
            ino: 0,
            path_len: 0,
            path: [0; MAX_REMEMBERED_PATH],
        }
    }

    /// The directory `path` names, if it is the path remembered.
    pub(crate) fn get(&self, path: &[u8]) -> Option<Ino> {
        let is_remembered = self.ino != 0 && self.path[..usize::from(self.path_len)] == *path;
        is_remembered.then_some(Ino(self.ino))
    }

    /// Remembers that `path` names directory `ino`.
    pub(crate) fn put(&mut self, path: &[u8], ino: Ino) {
        if path.len() > MAX_REMEMBERED_PATH {
            return;
        }
        self.path[..path.len()].copy_from_slice(path);
        self.path_len = path.len() as u8;
        self.ino = ino.0;
    }

    /// Forgets the path remembered.
    pub(crate) fn forget(&mut self) {
        self.ino = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_put_last_is_found_until_forgotten() {
        let mut memo = DirectoryMemo::new();
        assert_eq!(memo.get(b"/"), None);
        memo.put(b"/a/", Ino(5));
        assert_eq!(memo.get(b"/a/"), Some(Ino(5)));
        assert_eq!(memo.get(b"/a"), None);
        memo.put(b"/b/", Ino(6));
        assert_eq!(memo.get(b"/a/"), None);
        assert_eq!(memo.get(b"/b/"), Some(Ino(6)));
        memo.forget();
        assert_eq!(memo.get(b"/b/"), None);
        let long = [b'/'; MAX_REMEMBERED_PATH + 1];
        memo.put(&long, Ino(7));
        assert_eq!(memo.get(&long), None);
    }
}

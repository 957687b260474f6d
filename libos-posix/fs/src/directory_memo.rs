//! The directory path walked last and the directory it named: the calls that work in one
//! directory (create, unlink, rename there...) walk the same path before the last component
//! again and again, and a remembered path skips the walk (a dozen lookups and inode copies).
//!
//! A path that is the remembered one followed by a single component is also split there at
//! once ([`DirectoryMemo::split`]): the remembered part was checked when it was walked, so only
//! the component's bytes need a look.
//!
//! A path keeps naming the same directory until a directory is removed or renamed, so
//! `FileSystem::rmdir` and `FileSystem::rename` forget the path whatever they do; a
//! file's creation or removal leaves every directory's path as it was. A new mount starts
//! empty.

use crate::inode::Ino;
use crate::short_bytes::{has_slash_or_nul, same_bytes};

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
        let is_remembered =
            self.ino != 0 && same_bytes(&self.path[..usize::from(self.path_len)], path);
        is_remembered.then_some(Ino(self.ino))
    }

    /// `path` as the remembered directory path followed by one component (no `/`, no NUL):
    /// the directory and the component; `None` for any other path.
    pub(crate) fn split<'p>(&self, path: &'p [u8]) -> Option<(Ino, &'p [u8])> {
        let parent_len = usize::from(self.path_len);
        if self.ino == 0 || path.len() <= parent_len || parent_len == 0 {
            return None;
        }
        let (parent, name) = path.split_at(parent_len);
        let is_single_component = !has_slash_or_nul(name);
        let parent_ends_in_slash = parent[parent_len - 1] == b'/';
        let is_remembered = parent_ends_in_slash && same_bytes(parent, &self.path[..parent_len]);
        (is_single_component && is_remembered).then_some((Ino(self.ino), name))
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

    #[test]
    fn only_the_remembered_path_and_one_clean_component_split_at_once() {
        let mut memo = DirectoryMemo::new();
        assert_eq!(memo.split(b"/a/b"), None, "nothing remembered");
        memo.put(b"/a/", Ino(5));
        assert_eq!(memo.split(b"/a/b"), Some((Ino(5), &b"b"[..])));
        assert_eq!(memo.split(b"/a/bc"), Some((Ino(5), &b"bc"[..])));
        assert_eq!(memo.split(b"/a/"), None, "no component");
        assert_eq!(memo.split(b"/a/b/"), None, "a trailing slash");
        assert_eq!(memo.split(b"/a/b/c"), None, "two components");
        assert_eq!(memo.split(b"/a//b"), None, "a repeated slash");
        assert_eq!(memo.split(b"/a/b\0"), None, "a NUL");
        assert_eq!(memo.split(b"/ab/c"), None, "another parent");
        assert_eq!(
            memo.split(b"/x/b"),
            None,
            "another parent of the same length"
        );
        memo.put(b"/a", Ino(6));
        assert_eq!(
            memo.split(b"/ab"),
            None,
            "a remembered path without its slash"
        );
        memo.put(b"/a/", Ino(5));
        memo.forget();
        assert_eq!(memo.split(b"/a/b"), None, "forgotten");
    }
}

//! Path operations: resolving absolute paths, and creating, removing and renaming entries.
//!
//! A path is absolute (`/a/b/c`); repeated slashes are one; `.` is the directory itself and
//! `..` its parent (the root's parent is the root). A trailing slash requires the path to name
//! a directory. Each call that changes the namespace does it in one step (one transaction),
//! so a crash leaves it wholly done or not done; freeing the blocks of a file or directory
//! whose last link went follows in further steps, through the orphan list, except for an
//! unlinked small file, freed within the unlink's step.

use crate::allocator::RELEASE_SMALL_FILE_BLOCKS;
use crate::block::Disk;
use crate::cache::CachedBlock;
use crate::directory::MAX_NAME_LEN;
use crate::directory_contents::{EntryLocation, Placement};
use crate::error::FsError;
use crate::filesystem::FileSystem;
use crate::inode::{Ino, Inode, Kind};
use crate::transaction::MAX_STEP_BLOCKS;
use core::ops::DerefMut;

/// Metadata blocks adding an entry changes: growing the directory (a directory block, two
/// indirect blocks, three bitmap blocks), the parent's inode, the new inode and the inode
/// bitmap.
const CREATE_STEP_BLOCKS: usize = 9;

/// Metadata blocks removing an entry changes: the directory block, the parent's inode, the
/// removed inode and the superblock (the orphan list).
const REMOVE_STEP_BLOCKS: usize = 4;

/// A path cut before its last component.
#[derive(Clone, Copy, Debug)]
struct SplitPath<'p> {
    /// Everything before the last component.
    parent: &'p [u8],
    /// The last component.
    name: &'p [u8],
    has_trailing_slash: bool,
    /// The directory `parent` names, when the split found it remembered.
    remembered_parent: Option<Ino>,
}

/// Checks that `path` is absolute and holds no NUL.
fn check_path(path: &[u8]) -> Result<(), FsError> {
    if path.first() != Some(&b'/') || path.contains(&0) {
        return Err(FsError::InvalidPath);
    }
    Ok(())
}

/// Checks a component of a path that `check_path` passed: cut at slashes, it holds neither
/// `/` nor NUL, so only its length can be wrong (what `check_name` checks, in one compare).
fn check_component(component: &[u8]) -> Result<(), FsError> {
    if component.len() > MAX_NAME_LEN {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// `path` cut before its last component; `None` for the root.
fn split_path(path: &[u8]) -> Result<Option<SplitPath<'_>>, FsError> {
    check_path(path)?;
    let Some(last_byte) = path.iter().rposition(|&byte| byte != b'/') else {
        return Ok(None);
    };
    let trimmed = &path[..=last_byte];
    let name_start = trimmed
        .iter()
        .rposition(|&byte| byte == b'/')
        .map_or(0, |slash| slash + 1);
    Ok(Some(SplitPath {
        parent: &trimmed[..name_start],
        name: &trimmed[name_start..],
        has_trailing_slash: trimmed.len() < path.len(),
        remembered_parent: None,
    }))
}

/// Takes one from the link count of `inode` (not stored).
fn drop_one_link(inode: &mut Inode) -> Result<(), FsError> {
    inode.links = inode
        .links
        .checked_sub(1)
        .ok_or(FsError::Corrupt("link count below its links"))?;
    Ok(())
}

fn is_dot_or_dot_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

impl<D: Disk, C: DerefMut<Target = [CachedBlock]>> FileSystem<D, C> {
    /// The inode an entry names, which must be in use.
    #[inline]
    pub(crate) fn linked_inode(&mut self, ino: Ino) -> Result<Inode, FsError> {
        match self.used_inode(ino) {
            Err(FsError::NotFound | FsError::InvalidArgument) => {
                Err(FsError::Corrupt("directory entry names a free inode"))
            }
            other => other,
        }
    }

    /// Follows every component of `path` (checked by `check_path`, or a part of such a path)
    /// from the root.
    fn walk(&mut self, path: &[u8]) -> Result<(Ino, Inode), FsError> {
        let mut current = Ino::ROOT;
        let mut inode = self.linked_inode(Ino::ROOT)?;
        for component in path.split(|&byte| byte == b'/') {
            if component.is_empty() || component == b"." {
                if !inode.is_directory() {
                    return Err(FsError::NotADirectory);
                }
                continue;
            }
            if !inode.is_directory() {
                return Err(FsError::NotADirectory);
            }
            current = if component == b".." {
                Ino(inode.parent)
            } else {
                check_component(component)?;
                self.find_entry((current, &inode), component)?
                    .ok_or(FsError::NotFound)?
                    .ino
            };
            inode = self.linked_inode(current)?;
        }
        Ok((current, inode))
    }

    /// Follows `path`, which must name a directory; a path walked last is not walked again.
    fn walk_to_directory(&mut self, path: &[u8]) -> Result<(Ino, Inode), FsError> {
        if let Some(ino) = self.directories.get(path) {
            let inode = self.linked_inode(ino)?;
            if inode.is_directory() {
                return Ok((ino, inode));
            }
        }
        let (ino, inode) = self.walk(path)?;
        if !inode.is_directory() {
            return Err(FsError::NotADirectory);
        }
        self.directories.put(path, ino);
        Ok((ino, inode))
    }

    /// `path` cut before its last component, as `split_path` cuts it; a path in the directory
    /// walked last is cut at the remembered directory without a look at its bytes before.
    fn split<'p>(&self, path: &'p [u8]) -> Result<Option<SplitPath<'p>>, FsError> {
        if let Some((parent_ino, name)) = self.directories.split(path) {
            return Ok(Some(SplitPath {
                parent: &path[..path.len() - name.len()],
                name,
                has_trailing_slash: false,
                remembered_parent: Some(parent_ino),
            }));
        }
        split_path(path)
    }

    /// The directory holding the last component of `split`, as
    /// [`FileSystem::walk_to_directory`] finds it.
    fn walk_to_parent(&mut self, split: &SplitPath<'_>) -> Result<(Ino, Inode), FsError> {
        if let Some(ino) = split.remembered_parent {
            let inode = self.linked_inode(ino)?;
            if inode.is_directory() {
                return Ok((ino, inode));
            }
        }
        self.walk_to_directory(split.parent)
    }

    /// The directory holding the last component of `split`, as
    /// [`FileSystem::walk_to_parent`] finds it, without a copy of its inode when the split
    /// found it remembered and its inode is at hand decoded.
    fn parent_directory(&mut self, split: &SplitPath<'_>) -> Result<Ino, FsError> {
        if let Some(ino) = split.remembered_parent
            && self.inodes.is_directory(ino)
        {
            return Ok(ino);
        }
        Ok(self.walk_to_parent(split)?.0)
    }

    /// The directory holding the last component of `split`, and the entry of that name.
    fn parent_and_entry(
        &mut self,
        split: &SplitPath<'_>,
    ) -> Result<(Ino, Option<EntryLocation>), FsError> {
        let parent = self.parent_directory(split)?;
        check_component(split.name)?;
        let found = self.search(parent, split.name)?.found;
        Ok((parent, found))
    }

    /// The inode `path` names.
    ///
    /// Errors: [`FsError::InvalidPath`] for a relative path or one holding NUL;
    /// [`FsError::NotFound`]; [`FsError::NotADirectory`] when a component before the last, or
    /// a path with a trailing slash, names a file; [`FsError::NameTooLong`].
    pub fn lookup(&mut self, path: impl AsRef<[u8]>) -> Result<Ino, FsError> {
        self.ensure_working()?;
        let path = path.as_ref();
        check_path(path)?;
        let (ino, inode) = self.walk(path)?;
        if path.ends_with(b"/") && !inode.is_directory() {
            return Err(FsError::NotADirectory);
        }
        Ok(ino)
    }

    /// Creates an empty file at `path` and returns its inode.
    ///
    /// Errors: [`FsError::Exists`] when the name is taken (`.`, `..` and `/` always are);
    /// [`FsError::IsADirectory`] for a path with a trailing slash; [`FsError::NoSpace`],
    /// [`FsError::NoInodes`]; and those of [`FileSystem::lookup`] for the parent.
    pub fn create(&mut self, path: impl AsRef<[u8]>) -> Result<Ino, FsError> {
        let path = path.as_ref();
        self.mutating(|file_system| file_system.make_entry(path, Kind::File))
    }

    /// Creates an empty directory at `path` and returns its inode.
    ///
    /// Errors: as [`FileSystem::create`], without [`FsError::IsADirectory`].
    pub fn mkdir(&mut self, path: impl AsRef<[u8]>) -> Result<Ino, FsError> {
        let path = path.as_ref();
        self.mutating(|file_system| file_system.make_entry(path, Kind::Directory))
    }

    fn make_entry(&mut self, path: &[u8], kind: Kind) -> Result<Ino, FsError> {
        let split = self.split(path)?.ok_or(FsError::Exists)?;
        if is_dot_or_dot_dot(split.name) {
            self.walk_to_parent(&split)?;
            return Err(FsError::Exists);
        }
        let parent = self.parent_directory(&split)?;
        check_component(split.name)?;
        let scan = self.search(parent, split.name)?;
        if scan.found.is_some() {
            return Err(FsError::Exists);
        }
        if kind == Kind::File && split.has_trailing_slash {
            return Err(FsError::IsADirectory);
        }
        self.add_entry(parent, split.name, scan.placement, kind)
    }

    /// Adds a new, empty `kind` named `name` to directory `parent` at `placement` (from a scan
    /// that did not find the name), in one step.
    fn add_entry(
        &mut self,
        parent: Ino,
        name: &[u8],
        placement: Placement,
        kind: Kind,
    ) -> Result<Ino, FsError> {
        self.make_room(CREATE_STEP_BLOCKS)?;
        if let (Kind::File, Placement::InRecord { block, record }) = (kind, placement) {
            // A file added in an existing block leaves its directory's inode as it was.
            self.reserve_inode()?;
            let ino = self.allocate_inode(&Inode::new(kind, parent))?;
            self.insert_in_record(parent, (block, record), name, (ino, kind))?;
            return Ok(ino);
        }
        let mut parent_inode = self.linked_inode(parent)?;
        let needed_blocks = self.blocks_needed_for(&parent_inode, placement)?;
        self.reserve_blocks(needed_blocks)?;
        self.reserve_inode()?;
        let ino = self.allocate_inode(&Inode::new(kind, parent))?;
        self.insert_entry((parent, &mut parent_inode), placement, name, (ino, kind))?;
        if kind == Kind::Directory {
            parent_inode.links += 1;
        }
        self.write_inode(parent, &parent_inode)?;
        Ok(ino)
    }

    /// The inode `path` names, as [`FileSystem::lookup`] finds it, or else a new empty file
    /// there, as [`FileSystem::create`] makes it; also whether it was made. One walk of the
    /// path where a lookup and then a create take two.
    ///
    /// Errors: those of [`FileSystem::lookup`] other than [`FsError::NotFound`] for the last
    /// component, and those of [`FileSystem::create`] other than [`FsError::Exists`].
    pub fn lookup_or_create(&mut self, path: impl AsRef<[u8]>) -> Result<(Ino, bool), FsError> {
        self.ensure_working()?;
        let path = path.as_ref();
        let Some(split) = self.split(path)? else {
            return Ok((Ino::ROOT, false));
        };
        if is_dot_or_dot_dot(split.name) {
            return Ok((self.lookup(path)?, false));
        }
        let parent = self.parent_directory(&split)?;
        check_component(split.name)?;
        let scan = self.search(parent, split.name)?;
        if let Some(found) = scan.found {
            let inode = self.linked_inode(found.ino)?;
            if split.has_trailing_slash && !inode.is_directory() {
                return Err(FsError::NotADirectory);
            }
            return Ok((found.ino, false));
        }
        if split.has_trailing_slash {
            return Err(FsError::IsADirectory);
        }
        let name = split.name;
        let placement = scan.placement;
        let ino = self
            .mutating(|file_system| file_system.add_entry(parent, name, placement, Kind::File))?;
        Ok((ino, true))
    }

    /// Removes the file entry `path`; the file goes with its last link.
    ///
    /// Errors: [`FsError::IsADirectory`] for a directory (and for `/`, `.`, `..`);
    /// [`FsError::NotFound`]; [`FsError::NotADirectory`] for a file named with a trailing
    /// slash; and those of [`FileSystem::lookup`] for the parent.
    pub fn unlink(&mut self, path: impl AsRef<[u8]>) -> Result<(), FsError> {
        let path = path.as_ref();
        self.mutating(|file_system| file_system.unlink_path(path))
    }

    fn unlink_path(&mut self, path: &[u8]) -> Result<(), FsError> {
        let split = self.split(path)?.ok_or(FsError::IsADirectory)?;
        if is_dot_or_dot_dot(split.name) {
            self.walk_to_parent(&split)?;
            return Err(FsError::IsADirectory);
        }
        let (parent, found) = self.parent_and_entry(&split)?;
        let found = found.ok_or(FsError::NotFound)?;
        if found.kind == Kind::Directory {
            return Err(FsError::IsADirectory);
        }
        if split.has_trailing_slash {
            return Err(FsError::NotADirectory);
        }
        let file = self.linked_inode(found.ino)?;
        if file.links == 1 && Self::is_small_file(&file) {
            self.make_room(REMOVE_STEP_BLOCKS + RELEASE_SMALL_FILE_BLOCKS)?;
            self.remove_entry(parent, found)?;
            return self.release_small_file(found.ino, &file);
        }
        self.make_room(REMOVE_STEP_BLOCKS)?;
        self.remove_entry(parent, found)?;
        self.drop_link(found.ino)
    }

    /// Takes one link from file `ino`; at the last, puts it on the orphan list and frees it.
    fn drop_link(&mut self, ino: Ino) -> Result<(), FsError> {
        let mut inode = self.linked_inode(ino)?;
        drop_one_link(&mut inode)?;
        if inode.links > 0 {
            return self.write_inode(ino, &inode);
        }
        self.push_orphan(ino, &mut inode)?;
        self.write_inode(ino, &inode)?;
        self.release_orphan(ino)
    }

    /// Makes the emptied directory `ino` an orphan and frees it.
    fn drop_directory(&mut self, ino: Ino) -> Result<(), FsError> {
        let mut inode = self.linked_inode(ino)?;
        inode.links = 0;
        self.push_orphan(ino, &mut inode)?;
        self.write_inode(ino, &inode)?;
        self.release_orphan(ino)
    }

    /// Removes the empty directory `path`.
    ///
    /// Errors: [`FsError::InvalidArgument`] for `/` and a last component `.` or `..`;
    /// [`FsError::NotADirectory`] for a file; [`FsError::NotEmpty`]; [`FsError::NotFound`];
    /// and those of [`FileSystem::lookup`] for the parent.
    pub fn rmdir(&mut self, path: impl AsRef<[u8]>) -> Result<(), FsError> {
        let path = path.as_ref();
        let removed = self.mutating(|file_system| file_system.rmdir_path(path));
        // Even the path just walked may have named the directory removed (`/a/b/../`).
        self.directories.forget();
        removed
    }

    fn rmdir_path(&mut self, path: &[u8]) -> Result<(), FsError> {
        let split = self.split(path)?.ok_or(FsError::InvalidArgument)?;
        if is_dot_or_dot_dot(split.name) {
            self.walk_to_parent(&split)?;
            return Err(FsError::InvalidArgument);
        }
        let (parent, found) = self.parent_and_entry(&split)?;
        let mut parent_inode = self.linked_inode(parent)?;
        let found = found.ok_or(FsError::NotFound)?;
        if found.kind != Kind::Directory {
            return Err(FsError::NotADirectory);
        }
        let directory = self.linked_inode(found.ino)?;
        if !self.is_empty_directory(&directory)? {
            return Err(FsError::NotEmpty);
        }
        self.make_room(REMOVE_STEP_BLOCKS)?;
        self.remove_entry(parent, found)?;
        drop_one_link(&mut parent_inode)?;
        self.write_inode(parent, &parent_inode)?;
        self.drop_directory(found.ino)
    }

    /// Renames `from` to `to`, replacing what `to` names: a file by a file, an empty
    /// directory by a directory. Renaming a name onto itself, or onto another link of the
    /// same file, does nothing.
    ///
    /// Errors: [`FsError::NotFound`] when `from` does not exist; [`FsError::IsADirectory`]
    /// for a file onto a directory; [`FsError::NotADirectory`] for a directory onto a file
    /// (or a file named with a trailing slash); [`FsError::NotEmpty`] onto a directory with
    /// entries; [`FsError::InvalidArgument`] for moving a directory into itself or below
    /// itself, and for `/`, `.` or `..` as either last component; [`FsError::NoSpace`]; and
    /// those of [`FileSystem::lookup`] for the parents.
    pub fn rename(&mut self, from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<(), FsError> {
        let (from, to) = (from.as_ref(), to.as_ref());
        let renamed = self.mutating(|file_system| file_system.rename_paths(from, to));
        // Even the path just walked may go through the directory moved or replaced.
        self.directories.forget();
        renamed
    }

    fn rename_paths(&mut self, from: &[u8], to: &[u8]) -> Result<(), FsError> {
        let source = self.split(from)?.ok_or(FsError::InvalidArgument)?;
        let target = self.split(to)?.ok_or(FsError::InvalidArgument)?;
        if is_dot_or_dot_dot(source.name) || is_dot_or_dot_dot(target.name) {
            return Err(FsError::InvalidArgument);
        }
        let (source_parent, moved) = self.parent_and_entry(&source)?;
        let mut source_parent_inode = self.linked_inode(source_parent)?;
        let moved = moved.ok_or(FsError::NotFound)?;
        let (target_parent, mut target_parent_inode) = self.walk_to_parent(&target)?;
        check_component(target.name)?;
        if (source.has_trailing_slash || target.has_trailing_slash) && moved.kind != Kind::Directory
        {
            return Err(FsError::NotADirectory);
        }
        let scan = self.scan_directory((target_parent, &target_parent_inode), target.name)?;
        if let Some(replaced) = scan.found {
            if replaced.ino == moved.ino {
                return Ok(());
            }
            self.check_replaceable(moved.kind, replaced)?;
        }
        if moved.kind == Kind::Directory {
            self.check_not_below(target_parent, moved.ino)?;
        }

        self.make_room(MAX_STEP_BLOCKS)?;
        let moved_entry = (moved.ino, moved.kind);
        match scan.found {
            Some(replaced) => {
                self.replace_entry(replaced, moved_entry)?;
            }
            None => {
                let needed_blocks = self.blocks_needed_for(&target_parent_inode, scan.placement)?;
                self.reserve_blocks(needed_blocks)?;
                self.insert_entry(
                    (target_parent, &mut target_parent_inode),
                    scan.placement,
                    target.name,
                    moved_entry,
                )?;
            }
        }
        // Record offsets never move, so the source entry is where the scan found it.
        self.remove_entry(source_parent, moved)?;

        let is_same_parent = source_parent == target_parent;
        if moved.kind == Kind::Directory && !is_same_parent {
            drop_one_link(&mut source_parent_inode)?;
            target_parent_inode.links += 1;
            let mut moved_inode = self.linked_inode(moved.ino)?;
            moved_inode.parent = target_parent.0;
            self.write_inode(moved.ino, &moved_inode)?;
        }
        if let Some(replaced) = scan.found
            && replaced.kind == Kind::Directory
        {
            drop_one_link(&mut target_parent_inode)?;
        }
        self.write_inode(target_parent, &target_parent_inode)?;
        if !is_same_parent {
            self.write_inode(source_parent, &source_parent_inode)?;
        }
        match scan.found {
            Some(replaced) if replaced.kind == Kind::Directory => self.drop_directory(replaced.ino),
            Some(replaced) => self.drop_link(replaced.ino),
            None => Ok(()),
        }
    }

    /// Checks that an entry of kind `moved_kind` may replace `replaced`.
    fn check_replaceable(
        &mut self,
        moved_kind: Kind,
        replaced: EntryLocation,
    ) -> Result<(), FsError> {
        match (moved_kind, replaced.kind) {
            (Kind::File, Kind::Directory) => Err(FsError::IsADirectory),
            (Kind::Directory, Kind::File) => Err(FsError::NotADirectory),
            (Kind::Directory, Kind::Directory) => {
                let directory = self.linked_inode(replaced.ino)?;
                if self.is_empty_directory(&directory)? {
                    Ok(())
                } else {
                    Err(FsError::NotEmpty)
                }
            }
            (Kind::File, Kind::File) => Ok(()),
        }
    }

    /// Fails with [`FsError::InvalidArgument`] when `directory` is `moved` or below it.
    fn check_not_below(&mut self, directory: Ino, moved: Ino) -> Result<(), FsError> {
        let mut current = directory;
        for _ in 0..self.layout.inode_count {
            if current == moved {
                return Err(FsError::InvalidArgument);
            }
            if current == Ino::ROOT {
                return Ok(());
            }
            current = Ino(self.linked_inode(current)?.parent);
        }
        Err(FsError::Corrupt("directory parents form a loop"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A split path's parent, name and trailing slash.
    type Parts<'p> = (&'p [u8], &'p [u8], bool);

    fn parts(path: &[u8]) -> Result<Option<Parts<'_>>, FsError> {
        Ok(split_path(path)?.map(|split| (split.parent, split.name, split.has_trailing_slash)))
    }

    #[test]
    fn a_path_splits_before_its_last_component() {
        assert_eq!(parts(b"/"), Ok(None));
        assert_eq!(parts(b"///"), Ok(None));
        assert_eq!(parts(b"/a"), Ok(Some((&b"/"[..], &b"a"[..], false))));
        assert_eq!(parts(b"/a/"), Ok(Some((&b"/"[..], &b"a"[..], true))));
        assert_eq!(
            parts(b"/ab//cd"),
            Ok(Some((&b"/ab//"[..], &b"cd"[..], false)))
        );
        assert_eq!(
            parts(b"/ab/cd//"),
            Ok(Some((&b"/ab/"[..], &b"cd"[..], true)))
        );
        assert_eq!(
            parts(b"/a/./.."),
            Ok(Some((&b"/a/./"[..], &b".."[..], false)))
        );
        assert_eq!(parts(b"a/b"), Err(FsError::InvalidPath));
        assert_eq!(parts(b""), Err(FsError::InvalidPath));
        assert_eq!(parts(b"/a\0/b"), Err(FsError::InvalidPath));
        assert_eq!(parts(b"/a/\0"), Err(FsError::InvalidPath));
    }
}

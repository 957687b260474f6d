//! A model of the namespace and file contents, with the result POSIX gives each call: the
//! reference the crash tests compare a recovered file system against.

use crate::FsError;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Names a file across renames.
pub(crate) type FileId = u32;

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Directory,
    File(FileId),
}

/// Paths (absolute, the root left out) and what they name; `None` for a directory.
pub(crate) type Namespace = BTreeMap<String, Option<FileId>>;

#[derive(Clone, Debug, Default)]
pub(crate) struct Model {
    nodes: BTreeMap<String, Node>,
    pub contents: BTreeMap<FileId, Vec<u8>>,
    next_file_id: FileId,
}

/// The directory part of `path`: "" for the root.
fn parent_of(path: &str) -> &str {
    &path[..path.rfind('/').unwrap_or(0)]
}

impl Model {
    pub fn node(&self, path: &str) -> Option<Node> {
        self.nodes.get(path).copied()
    }

    /// Every directory, the root ("") first.
    pub fn directories(&self) -> Vec<String> {
        let mut directories = Vec::from([String::new()]);
        directories.extend(
            self.nodes
                .iter()
                .filter(|(_, node)| **node == Node::Directory)
                .map(|(path, _)| path.clone()),
        );
        directories
    }

    /// Every file's path.
    pub fn files(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, node)| matches!(node, Node::File(_)))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Every path but the root.
    pub fn paths(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    fn has_children(&self, directory: &str) -> bool {
        let prefix = format!("{directory}/");
        self.nodes
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(path, _)| path.starts_with(&prefix))
    }

    pub fn namespace(&self) -> Namespace {
        self.nodes
            .iter()
            .map(|(path, node)| {
                let file = match node {
                    Node::File(id) => Some(*id),
                    Node::Directory => None,
                };
                (path.clone(), file)
            })
            .collect()
    }

    /// Creates a file or directory whose parent exists.
    pub fn make(&mut self, path: &str, is_directory: bool) -> Result<(), FsError> {
        assert!(parent_of(path).is_empty() || self.node(parent_of(path)) == Some(Node::Directory));
        if self.nodes.contains_key(path) {
            return Err(FsError::Exists);
        }
        let node = if is_directory {
            Node::Directory
        } else {
            self.next_file_id += 1;
            self.contents.insert(self.next_file_id, Vec::new());
            Node::File(self.next_file_id)
        };
        self.nodes.insert(String::from(path), node);
        Ok(())
    }

    pub fn unlink(&mut self, path: &str) -> Result<(), FsError> {
        match self.node(path) {
            None => Err(FsError::NotFound),
            Some(Node::Directory) => Err(FsError::IsADirectory),
            Some(Node::File(id)) => {
                self.nodes.remove(path);
                self.contents.remove(&id);
                Ok(())
            }
        }
    }

    pub fn rmdir(&mut self, path: &str) -> Result<(), FsError> {
        match self.node(path) {
            None => Err(FsError::NotFound),
            Some(Node::File(_)) => Err(FsError::NotADirectory),
            Some(Node::Directory) if self.has_children(path) => Err(FsError::NotEmpty),
            Some(Node::Directory) => {
                self.nodes.remove(path);
                Ok(())
            }
        }
    }

    /// Renames an existing `from` to `to` in an existing directory, checking in the order the
    /// file system does.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), FsError> {
        let moved = self.node(from).ok_or(FsError::NotFound)?;
        if from == to {
            return Ok(());
        }
        if let Some(replaced) = self.node(to) {
            match (moved, replaced) {
                (Node::File(_), Node::Directory) => return Err(FsError::IsADirectory),
                (Node::Directory, Node::File(_)) => return Err(FsError::NotADirectory),
                (Node::Directory, Node::Directory) if self.has_children(to) => {
                    return Err(FsError::NotEmpty);
                }
                _ => {}
            }
        }
        if moved == Node::Directory && to.starts_with(&format!("{from}/")) {
            return Err(FsError::InvalidArgument);
        }
        if let Some(Node::File(id)) = self.nodes.remove(to) {
            self.contents.remove(&id);
        }
        let prefix = format!("{from}/");
        let moving: Vec<String> = self
            .nodes
            .keys()
            .filter(|path| *path == from || path.starts_with(&prefix))
            .cloned()
            .collect();
        for old_path in moving {
            let node = self.nodes.remove(&old_path).unwrap();
            let new_path = format!("{to}{}", &old_path[from.len()..]);
            self.nodes.insert(new_path, node);
        }
        Ok(())
    }

    pub fn write(&mut self, id: FileId, offset: usize, data: &[u8]) {
        let contents = self.contents.get_mut(&id).unwrap();
        if contents.len() < offset + data.len() {
            contents.resize(offset + data.len(), 0);
        }
        contents[offset..offset + data.len()].copy_from_slice(data);
    }

    pub fn truncate(&mut self, id: FileId, size: usize) {
        self.contents.get_mut(&id).unwrap().resize(size, 0);
    }
}

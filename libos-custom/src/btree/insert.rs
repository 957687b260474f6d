//! Putting a pair: an update in place, an insertion into a leaf with room, or a split that
//! may climb to the root and grow the tree by a level.

use super::page::{self};
use super::{BTree, PageStore, Toward, TreeError, Value};
use alloc::vec::Vec;

/// What the leaf could do by itself.
enum LeafOutcome {
    Updated,
    Inserted,
    NeedsSplit,
}

impl<S: PageStore> BTree<S> {
    /// Stores `value` under `key`; returns whether the key is new.
    ///
    /// Errors: [`TreeError::Full`] (a split needs pages the store does not have; nothing
    /// changed); [`TreeError::Corrupt`]; [`TreeError::Store`].
    pub fn put(&mut self, key: u64, value: &Value) -> Result<bool, TreeError<S::Error>> {
        // (internal page, child index taken), from the root down.
        let mut path = Vec::with_capacity(usize::from(self.meta.root_level));
        let (mut page, mut level) = (self.meta.root, self.meta.root_level);
        while level > 0 {
            let (index, child) = self.child(page, level, Toward::Key(key))?;
            path.push((page, index));
            page = child;
            level -= 1;
        }
        let leaf_entries_max = self.meta.config.leaf_entries_max;
        let outcome = self.write_node(page, 0, |block, count| {
            match page::search_leaf(block, count, key) {
                Ok(index) => {
                    page::write_leaf_entry(block, index, key, value);
                    LeafOutcome::Updated
                }
                Err(index) if count < leaf_entries_max => {
                    page::open_leaf_gap(block, index, count);
                    page::write_leaf_entry(block, index, key, value);
                    page::set_count(block, count + 1);
                    LeafOutcome::Inserted
                }
                Err(_) => LeafOutcome::NeedsSplit,
            }
        })?;
        match outcome {
            LeafOutcome::Updated => Ok(false),
            LeafOutcome::Inserted => Ok(true),
            LeafOutcome::NeedsSplit => {
                self.split_and_insert(page, &path, key, value)?;
                Ok(true)
            }
        }
    }

    fn split_and_insert(
        &mut self,
        leaf: u64,
        path: &[(u64, usize)],
        key: u64,
        value: &Value,
    ) -> Result<(), TreeError<S::Error>> {
        // At worst every node on the path splits and a new root is added.
        let pages_needed = path.len() as u64 + 2;
        if self.meta.pages_in_use.saturating_add(pages_needed) > self.store.page_count() {
            return Err(TreeError::Full);
        }
        let mut pending = Some(self.split_leaf(leaf, key, value)?);
        for (depth, &(parent, child_index)) in path.iter().enumerate().rev() {
            let Some((separator, right)) = pending else {
                break;
            };
            let level = self.meta.root_level - depth as u16;
            pending = self.insert_into_internal(parent, level, child_index, separator, right)?;
        }
        if let Some((separator, right)) = pending {
            self.grow_root(separator, right)?;
        }
        self.write_meta()
    }

    /// Splits full leaf `leaf` around the new pair; returns the right half's first key and
    /// page.
    fn split_leaf(
        &mut self,
        leaf: u64,
        key: u64,
        value: &Value,
    ) -> Result<(u64, u64), TreeError<S::Error>> {
        let (mut entries, next_leaf) = self.read_node(leaf, 0, |block, count| {
            let entries: Vec<(u64, Value)> = (0..count)
                .map(|index| {
                    (
                        page::leaf_key(block, index),
                        *page::leaf_value(block, index),
                    )
                })
                .collect();
            (entries, page::header(block).next_leaf)
        })?;
        let position = entries.partition_point(|&(existing, _)| existing < key);
        entries.insert(position, (key, *value));
        let right = self.allocate()?;
        let (left_entries, right_entries) = entries.split_at(entries.len() / 2);
        self.store
            .write_page(right, |block| {
                page::write_leaf(block, right_entries, next_leaf)
            })
            .map_err(TreeError::Store)?;
        self.store
            .write_page(leaf, |block| page::write_leaf(block, left_entries, right))
            .map_err(TreeError::Store)?;
        let separator = right_entries.first().map_or(key, |&(first, _)| first);
        Ok((separator, right))
    }

    /// Adds `separator` and its right child after child `child_index` of internal node
    /// `page`; if the node splits, returns the key moving up and the new right node.
    fn insert_into_internal(
        &mut self,
        page: u64,
        level: u16,
        child_index: usize,
        separator: u64,
        right: u64,
    ) -> Result<Option<(u64, u64)>, TreeError<S::Error>> {
        let internal_keys_max = self.meta.config.internal_keys_max;
        let did_fit = self.write_node(page, level, |block, count| {
            if count >= internal_keys_max {
                return false;
            }
            let index = child_index.min(count);
            page::open_internal_gap(block, index, count);
            page::write_internal_key(block, index, separator);
            page::write_internal_child(block, index + 1, right);
            page::set_count(block, count + 1);
            true
        })?;
        if did_fit {
            return Ok(None);
        }
        let (mut keys, mut children) = self.read_node(page, level, |block, count| {
            let keys: Vec<u64> = (0..count)
                .map(|index| page::internal_key(block, index))
                .collect();
            let children: Vec<u64> = (0..=count)
                .map(|index| page::internal_child(block, index))
                .collect();
            (keys, children)
        })?;
        let index = child_index.min(keys.len());
        keys.insert(index, separator);
        children.insert(index + 1, right);
        let middle = keys.len() / 2;
        let new_page = self.allocate()?;
        self.store
            .write_page(new_page, |block| {
                page::write_internal(block, level, &keys[middle + 1..], &children[middle + 1..])
            })
            .map_err(TreeError::Store)?;
        self.store
            .write_page(page, |block| {
                page::write_internal(block, level, &keys[..middle], &children[..=middle])
            })
            .map_err(TreeError::Store)?;
        Ok(Some((keys[middle], new_page)))
    }

    /// A new root over the old one and `right`.
    fn grow_root(&mut self, separator: u64, right: u64) -> Result<(), TreeError<S::Error>> {
        let level = self.meta.root_level.checked_add(1).ok_or(TreeError::Full)?;
        let root = self.allocate()?;
        let children = [self.meta.root, right];
        self.store
            .write_page(root, |block| {
                page::write_internal(block, level, &[separator], &children)
            })
            .map_err(TreeError::Store)?;
        self.meta.root = root;
        self.meta.root_level = level;
        Ok(())
    }
}

//! The tree's invariants, checked page by page from the root (for tests and for an app that
//! wants to verify a tree it opened).

use super::page::{self, NO_PAGE};
use super::{BTree, Corruption, PageStore, TreeError, corrupt};
use alloc::vec;
use alloc::vec::Vec;
use hashbrown::HashSet;

/// What [`BTree::check`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeShape {
    /// Pairs in the leaves.
    pub pairs: u64,
    /// Leaf pages.
    pub leaves: u64,
    /// Internal pages.
    pub internal_nodes: u64,
    /// Levels, 1 for a single leaf.
    pub height: u32,
}

/// A node still to visit, with the key range its parent gives it.
struct Pending {
    page: u64,
    level: u16,
    /// Keys must be at least this.
    low: Option<u64>,
    /// Keys must be below this.
    high: Option<u64>,
}

impl<S: PageStore> BTree<S> {
    /// Checks every invariant: each node's magic, level (one less than its parent's) and
    /// count; keys strictly increasing within a node and inside the range its parent gives
    /// it; no page reached twice, every page in use; non-root leaves not empty; the leaf
    /// chain visiting exactly the leaves in key order and ending with the last.
    ///
    /// Errors: [`TreeError::Corrupt`] naming the first page found wrong; [`TreeError::Store`].
    pub fn check(&mut self) -> Result<TreeShape, TreeError<S::Error>> {
        let mut shape = TreeShape {
            height: self.height(),
            ..TreeShape::default()
        };
        let mut visited = HashSet::new();
        // Leaves in key order, each with the next leaf its header names.
        let mut leaves: Vec<(u64, u64)> = Vec::new();
        let mut to_visit = vec![Pending {
            page: self.meta.root,
            level: self.meta.root_level,
            low: None,
            high: None,
        }];
        while let Some(node) = to_visit.pop() {
            if !self.is_node_page(node.page) {
                return Err(corrupt(node.page, Corruption::PageOutOfRange));
            }
            if !visited.insert(node.page) {
                return Err(corrupt(node.page, Corruption::PageReachedTwice));
            }
            if node.level == 0 {
                let (count, next_leaf) = self.check_leaf(&node)?;
                if count == 0 && node.page != self.meta.root {
                    return Err(corrupt(node.page, Corruption::CountOutOfRange));
                }
                shape.pairs += count as u64;
                shape.leaves += 1;
                leaves.push((node.page, next_leaf));
            } else {
                let children = self.check_internal(&node)?;
                shape.internal_nodes += 1;
                // Pushed in reverse so that the leftmost child is visited first.
                to_visit.extend(children.into_iter().rev());
            }
        }
        let chain_is_right = leaves
            .iter()
            .zip(
                leaves
                    .iter()
                    .skip(1)
                    .map(|&(page, _)| page)
                    .chain([NO_PAGE]),
            )
            .all(|(&(_, next_leaf), expected)| next_leaf == expected);
        if !chain_is_right {
            return Err(corrupt(self.meta.root, Corruption::BrokenLeafChain));
        }
        if visited.len() as u64 + 1 != self.meta.pages_in_use {
            return Err(corrupt(self.meta.root, Corruption::PageOutOfRange));
        }
        Ok(shape)
    }

    /// A leaf's count and next leaf, if its keys are in order and in range.
    fn check_leaf(&mut self, node: &Pending) -> Result<(usize, u64), TreeError<S::Error>> {
        self.read_node(node.page, 0, |block, count| {
            let keys = (0..count).map(|index| page::leaf_key(block, index));
            check_keys(keys, node)?;
            Ok((count, page::header(block).next_leaf))
        })?
        .map_err(|corruption| corrupt(node.page, corruption))
    }

    /// An internal node's children with their key ranges, if its keys are in order and in
    /// range.
    fn check_internal(&mut self, node: &Pending) -> Result<Vec<Pending>, TreeError<S::Error>> {
        self.read_node(node.page, node.level, |block, count| {
            check_keys(
                (0..count).map(|index| page::internal_key(block, index)),
                node,
            )?;
            let children = (0..=count)
                .map(|index| Pending {
                    page: page::internal_child(block, index),
                    level: node.level - 1,
                    low: index
                        .checked_sub(1)
                        .map(|left| page::internal_key(block, left))
                        .or(node.low),
                    high: if index < count {
                        Some(page::internal_key(block, index))
                    } else {
                        node.high
                    },
                })
                .collect();
            Ok(children)
        })?
        .map_err(|corruption| corrupt(node.page, corruption))
    }
}

/// Whether `keys` increase strictly and lie in the node's range.
fn check_keys(keys: impl Iterator<Item = u64>, node: &Pending) -> Result<(), Corruption> {
    let mut previous = None;
    for key in keys {
        let is_in_order = previous.is_none_or(|previous| key > previous)
            && node.low.is_none_or(|low| key >= low)
            && node.high.is_none_or(|high| key < high);
        if !is_in_order {
            return Err(Corruption::KeysOutOfOrder);
        }
        previous = Some(key);
    }
    Ok(())
}

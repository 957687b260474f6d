//! Bulk loading: a tree built bottom-up from pairs in key order, leaves filled to a chosen
//! fill factor, in one pass and with one write per page.

use super::page::{self, NO_PAGE};
use super::{BTree, META_PAGE, Meta, PageStore, TreeConfig, TreeError, Value};
use alloc::vec::Vec;

impl<S: PageStore> BTree<S> {
    /// A tree on `store` holding `pairs`, which must come in strictly increasing key order;
    /// every node but the last of each level is filled to `fill_percent` % of its limit
    /// (clamped to 1..=100; leave room for later puts to avoid early splits). Overwrites the
    /// pages it uses, from page 0.
    ///
    /// Errors: [`TreeError::Unsorted`]; [`TreeError::BadConfig`]; [`TreeError::Full`];
    /// [`TreeError::Store`].
    pub fn bulk_load(
        store: S,
        config: TreeConfig,
        fill_percent: u8,
        pairs: impl IntoIterator<Item = (u64, Value)>,
    ) -> Result<Self, TreeError<S::Error>> {
        if !config.is_valid() {
            return Err(TreeError::BadConfig);
        }
        let fill_percent = usize::from(fill_percent.clamp(1, 100));
        let mut tree = BTree {
            store,
            meta: Meta {
                root: META_PAGE,
                root_level: 0,
                // The meta page.
                pages_in_use: 1,
                config,
            },
        };
        let pairs_per_leaf = (config.leaf_entries_max * fill_percent / 100).max(1);
        let mut nodes = tree.write_leaves(pairs_per_leaf, pairs)?;
        // At least 3 children a node, so that spreading them evenly leaves each node 2.
        let children_per_node = ((config.internal_keys_max + 1) * fill_percent / 100)
            .clamp(3, config.internal_keys_max + 1);
        let mut level = 0;
        while nodes.len() > 1 {
            level += 1;
            nodes = tree.write_internal_level(&nodes, level, children_per_node)?;
        }
        tree.meta.root = nodes.first().map_or(META_PAGE + 1, |&(_, page)| page);
        tree.meta.root_level = level;
        tree.write_meta()?;
        Ok(tree)
    }

    /// Writes the leaves on consecutive pages; returns each one's first key and page.
    fn write_leaves(
        &mut self,
        pairs_per_leaf: usize,
        pairs: impl IntoIterator<Item = (u64, Value)>,
    ) -> Result<Vec<(u64, u64)>, TreeError<S::Error>> {
        let mut leaves = Vec::new();
        let mut entries: Vec<(u64, Value)> = Vec::with_capacity(pairs_per_leaf);
        let mut previous_key = None;
        for (key, value) in pairs {
            if previous_key.is_some_and(|previous| key <= previous) {
                return Err(TreeError::Unsorted { key });
            }
            previous_key = Some(key);
            if entries.len() == pairs_per_leaf {
                // Leaves take consecutive pages, so the next one is the next page.
                let page = self.allocate()?;
                self.write_whole_leaf(page, &entries, page + 1)?;
                leaves.push((entries[0].0, page));
                entries.clear();
            }
            entries.push((key, value));
        }
        let page = self.allocate()?;
        self.write_whole_leaf(page, &entries, NO_PAGE)?;
        leaves.push((entries.first().map_or(0, |&(key, _)| key), page));
        Ok(leaves)
    }

    fn write_whole_leaf(
        &mut self,
        page: u64,
        entries: &[(u64, Value)],
        next_leaf: u64,
    ) -> Result<(), TreeError<S::Error>> {
        self.store
            .write_page(page, |block| page::write_leaf(block, entries, next_leaf))
            .map_err(TreeError::Store)
    }

    /// Writes the internal nodes over `children` (first key, page), spread evenly so that
    /// none is left with a single child; returns each node's first key and page.
    fn write_internal_level(
        &mut self,
        children: &[(u64, u64)],
        level: u16,
        children_per_node: usize,
    ) -> Result<Vec<(u64, u64)>, TreeError<S::Error>> {
        let node_count = children.len().div_ceil(children_per_node);
        let (base, extra) = (children.len() / node_count, children.len() % node_count);
        let mut nodes = Vec::with_capacity(node_count);
        let mut rest = children;
        for node in 0..node_count {
            let (group, after) = rest.split_at(base + usize::from(node < extra));
            rest = after;
            let keys: Vec<u64> = group[1..].iter().map(|&(key, _)| key).collect();
            let pages: Vec<u64> = group.iter().map(|&(_, page)| page).collect();
            let page = self.allocate()?;
            self.store
                .write_page(page, |block| {
                    page::write_internal(block, level, &keys, &pages)
                })
                .map_err(TreeError::Store)?;
            nodes.push((group[0].0, page));
        }
        Ok(nodes)
    }
}

//! A B+-tree from `u64` keys to fixed-size values, on pages of [`BLOCK_SIZE`] bytes that a
//! [`PageStore`] keeps: a buffer pool over the app's own disk blocks
//! ([`crate::memory::PoolPages`]), or a file.
//!
//! Page 0 is the meta page (root, height, pages in use); the other pages are nodes. Leaves
//! hold up to 63 pairs of a key and a [`VALUE_BYTES`]-byte value (64 bytes an entry) and are
//! chained in key order for scans; internal nodes hold up to 254 separator keys (the format is
//! below). The tree allocates pages itself, by raising the count of pages in use recorded in
//! the meta page, up to [`PageStore::page_count`]; it never frees one (there is no delete).
//!
//! Every page read is checked (magic, level, entry count, child page in range, keys in order
//! along a scan), so a corrupt page gives [`TreeError::Corrupt`], never a panic or an endless
//! loop. Updates are not crash-atomic: a store error in the middle of a split can leave the
//! tree inconsistent.
//!
//! # Page format
//!
//! Every number is little-endian; magic numbers are four ASCII bytes.
//!
//! Node header, bytes 0..16: magic `u32` (`"BtLf"` or `"BtIn"`), entry count
//! `u16` (pairs in a leaf, keys in an internal node), level `u16` (0 for leaves, one more
//! than its children for an internal node), and for a leaf the page of the next leaf in key
//! order (`u64::MAX` for the last).
//!
//! Leaf: entry `i` at `16 + 64 i`: key `u64`, then the [`VALUE_BYTES`]-byte value; keys
//! strictly increasing.
//!
//! Internal node with `n` keys: child 0 at byte 16, then key `i` at `24 + 16 i` and child
//! `i + 1` at `32 + 16 i`. Child `i` holds keys `k` with `key[i-1] <= k < key[i]`.
//!
//! Meta page (page 0): magic `u32` (`"BtMe"`), format version `u16`, root level `u16`,
//! root page `u64` at 8, pages in use `u64` at 16 (pages `0..pages_in_use` belong to the
//! tree), leaf entries max `u16` at 24, internal keys max `u16` at 26.
//!
//! ```
//! use libos_custom::block_device::MemoryBlocks;
//! use libos_custom::btree::{BTree, TreeConfig, VALUE_BYTES};
//! use libos_custom::memory::{BufferPool, PoolPages, TwoQueue};
//! use libos_custom::block_device::Block;
//!
//! let pool = BufferPool::new(MemoryBlocks::new(64), TwoQueue::new(), vec![Block::zeroed(); 8]);
//! let pages = PoolPages::new(pool, 0, 64);
//! let pairs = (0..1000u64).map(|key| (key, [key as u8; VALUE_BYTES]));
//! let mut tree = BTree::bulk_load(pages, TreeConfig::default(), 90, pairs).unwrap();
//! tree.put(5000, &[1; VALUE_BYTES]).unwrap();
//! assert_eq!(tree.get(7).unwrap(), Some([7; VALUE_BYTES]));
//! assert_eq!(tree.scan(|_, _| {}).unwrap(), 1001);
//! ```

mod build;
mod check;
mod insert;
mod page;

#[cfg(test)]
mod tests;

pub use check::TreeShape;
pub use page::{INTERNAL_KEYS_MAX, LEAF_ENTRIES_MAX};

use crate::block_device::{BLOCK_SIZE, Block};
use page::NO_PAGE;

/// Bytes in a value: a leaf entry (key and value) is 64 bytes.
pub const VALUE_BYTES: usize = 56;

/// A value.
pub type Value = [u8; VALUE_BYTES];

/// The meta page's number.
const META_PAGE: u64 = 0;

/// Pages numbered `0..page_count()`, each [`BLOCK_SIZE`] bytes, that a tree lives on.
///
/// Reads and writes go through closures so that an implementation can lend a page it holds
/// (a buffer pool's frame) without copying it. A page never written reads as whatever the
/// store holds there (zeros for a fresh disk or a file's hole); the tree writes every page
/// before it reads it.
pub trait PageStore {
    /// Why an access failed.
    type Error;

    /// How many pages there are; the tree uses pages `0..page_count()` and no others.
    fn page_count(&self) -> u64;

    /// Runs `read` on page `page`.
    fn read_page<R>(&mut self, page: u64, read: impl FnOnce(&Block) -> R)
    -> Result<R, Self::Error>;

    /// Runs `write` on page `page`, whose new contents must reach the store eventually (a
    /// pool marks it dirty; a file writes it back).
    fn write_page<R>(
        &mut self,
        page: u64,
        write: impl FnOnce(&mut Block) -> R,
    ) -> Result<R, Self::Error>;
}

/// Why a tree operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeError<E> {
    /// The store failed.
    Store(E),
    /// Page `page` does not hold what the tree expects there.
    Corrupt {
        /// The page found wrong (for a bad child, the parent).
        page: u64,
        /// What is wrong with it.
        corruption: Corruption,
    },
    /// No page is left to allocate (checked before a split starts, so the tree is intact).
    Full,
    /// A bulk load's pairs were not in strictly increasing key order at `key`.
    Unsorted {
        /// The first key not greater than the one before it.
        key: u64,
    },
    /// A [`TreeConfig`] out of range.
    BadConfig,
}

/// What is wrong with a corrupt page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The magic number is not the one its kind of page carries.
    BadMagic,
    /// The meta page has a format version this code does not read.
    BadVersion,
    /// The meta page's limits or counts are out of range.
    BadMeta,
    /// A node's level is not one less than its parent's.
    WrongLevel,
    /// A node holds more entries than the tree allows, or an internal node none.
    CountOutOfRange,
    /// A child or next-leaf page is outside the pages in use.
    PageOutOfRange,
    /// Keys are not strictly increasing, or lie outside the range the parent gives.
    KeysOutOfOrder,
    /// The leaf chain does not visit the leaves in key order, or loops.
    BrokenLeafChain,
    /// A page is reached twice from the root.
    PageReachedTwice,
}

/// How full nodes may get, at most the page format's maxima: smaller values make small
/// trees deep (the tests use them to split often).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeConfig {
    /// Pairs in a leaf, `2..=LEAF_ENTRIES_MAX`.
    pub leaf_entries_max: usize,
    /// Keys in an internal node, `2..=INTERNAL_KEYS_MAX`.
    pub internal_keys_max: usize,
}

impl Default for TreeConfig {
    /// Full pages.
    fn default() -> TreeConfig {
        TreeConfig {
            leaf_entries_max: LEAF_ENTRIES_MAX,
            internal_keys_max: INTERNAL_KEYS_MAX,
        }
    }
}

impl TreeConfig {
    fn is_valid(&self) -> bool {
        (2..=LEAF_ENTRIES_MAX).contains(&self.leaf_entries_max)
            && (2..=INTERNAL_KEYS_MAX).contains(&self.internal_keys_max)
    }
}

/// What the meta page says, kept in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Meta {
    root: u64,
    root_level: u16,
    pages_in_use: u64,
    config: TreeConfig,
}

/// Which child a descent takes.
#[derive(Clone, Copy)]
enum Toward {
    Key(u64),
    First,
}

/// A B+-tree on the pages of `S`.
#[derive(Debug)]
pub struct BTree<S> {
    store: S,
    meta: Meta,
}

impl<S: PageStore> BTree<S> {
    /// An empty tree on `store`, overwriting pages 0 and 1.
    ///
    /// Errors: [`TreeError::BadConfig`]; [`TreeError::Full`] (fewer than 2 pages);
    /// [`TreeError::Store`].
    pub fn create(store: S, config: TreeConfig) -> Result<Self, TreeError<S::Error>> {
        BTree::bulk_load(store, config, 100, core::iter::empty())
    }

    /// The tree already on `store`, from its meta page.
    ///
    /// Errors: [`TreeError::Corrupt`] (the meta page is not one, or out of range);
    /// [`TreeError::Store`].
    pub fn open(mut store: S) -> Result<Self, TreeError<S::Error>> {
        let page_count = store.page_count();
        let meta = store
            .read_page(META_PAGE, |block| read_meta(block, page_count))
            .map_err(TreeError::Store)?
            .map_err(|corruption| corrupt(META_PAGE, corruption))?;
        Ok(BTree { store, meta })
    }

    /// The value stored under `key`.
    ///
    /// Errors: [`TreeError::Corrupt`]; [`TreeError::Store`].
    pub fn get(&mut self, key: u64) -> Result<Option<Value>, TreeError<S::Error>> {
        let (mut page, mut level) = (self.meta.root, self.meta.root_level);
        while level > 0 {
            page = self.child(page, level, Toward::Key(key))?.1;
            level -= 1;
        }
        self.read_node(page, 0, |block, count| {
            let index = page::search_leaf(block, count, key).ok()?;
            Some(*page::leaf_value(block, index))
        })
    }

    /// Calls `visit` on every pair in increasing key order, following the leaf chain, and
    /// returns how many there were.
    ///
    /// Errors: [`TreeError::Corrupt`] (pairs before the corrupt page have been visited);
    /// [`TreeError::Store`].
    pub fn scan(&mut self, mut visit: impl FnMut(u64, &Value)) -> Result<u64, TreeError<S::Error>> {
        let (mut page, mut level) = (self.meta.root, self.meta.root_level);
        while level > 0 {
            page = self.child(page, level, Toward::First)?.1;
            level -= 1;
        }
        let mut previous_key = None;
        let mut pair_count = 0;
        // A chain longer than the pages in use loops.
        for _ in 0..self.meta.pages_in_use {
            let next_leaf = self
                .read_node(page, 0, |block, count| {
                    for index in 0..count {
                        let key = page::leaf_key(block, index);
                        if previous_key.is_some_and(|previous| key <= previous) {
                            return Err(Corruption::KeysOutOfOrder);
                        }
                        previous_key = Some(key);
                        visit(key, page::leaf_value(block, index));
                    }
                    pair_count += count as u64;
                    Ok(page::header(block).next_leaf)
                })?
                .map_err(|corruption| corrupt(page, corruption))?;
            if next_leaf == NO_PAGE {
                return Ok(pair_count);
            }
            if !self.is_node_page(next_leaf) {
                return Err(corrupt(page, Corruption::PageOutOfRange));
            }
            page = next_leaf;
        }
        Err(corrupt(page, Corruption::BrokenLeafChain))
    }

    /// Levels of nodes: 1 for a tree that is a single leaf.
    pub fn height(&self) -> u32 {
        u32::from(self.meta.root_level) + 1
    }

    /// Pages the tree uses, the meta page included.
    pub fn pages_in_use(&self) -> u64 {
        self.meta.pages_in_use
    }

    /// The node limits.
    pub fn config(&self) -> TreeConfig {
        self.meta.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (to flush a pool, say); writing the tree's pages breaks it.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Whether `page` may be a node: in use and not the meta page.
    fn is_node_page(&self, page: u64) -> bool {
        page != META_PAGE && page < self.meta.pages_in_use
    }

    /// Reads node `page`, expected at `level`, checks its header and runs `read` on it with
    /// its entry count.
    fn read_node<R>(
        &mut self,
        page: u64,
        level: u16,
        read: impl FnOnce(&Block, usize) -> R,
    ) -> Result<R, TreeError<S::Error>> {
        let config = self.meta.config;
        self.store
            .read_page(page, |block| {
                let count = check_header(block, level, &config)?;
                Ok(read(block, count))
            })
            .map_err(TreeError::Store)?
            .map_err(|corruption| corrupt(page, corruption))
    }

    /// [`read_node`](Self::read_node) for a change.
    fn write_node<R>(
        &mut self,
        page: u64,
        level: u16,
        write: impl FnOnce(&mut Block, usize) -> R,
    ) -> Result<R, TreeError<S::Error>> {
        let config = self.meta.config;
        self.store
            .write_page(page, |block| {
                let count = check_header(block, level, &config)?;
                Ok(write(block, count))
            })
            .map_err(TreeError::Store)?
            .map_err(|corruption| corrupt(page, corruption))
    }

    /// The index and page of the child of internal node `page` (at `level`) a descent takes.
    fn child(
        &mut self,
        page: u64,
        level: u16,
        toward: Toward,
    ) -> Result<(usize, u64), TreeError<S::Error>> {
        let (index, child) = self.read_node(page, level, |block, count| {
            let index = match toward {
                Toward::Key(key) => page::child_index_for(block, count, key),
                Toward::First => 0,
            };
            (index, page::internal_child(block, index))
        })?;
        if !self.is_node_page(child) {
            return Err(corrupt(page, Corruption::PageOutOfRange));
        }
        Ok((index, child))
    }

    /// Takes the next unused page.
    fn allocate(&mut self) -> Result<u64, TreeError<S::Error>> {
        if self.meta.pages_in_use >= self.store.page_count() {
            return Err(TreeError::Full);
        }
        self.meta.pages_in_use += 1;
        Ok(self.meta.pages_in_use - 1)
    }

    fn write_meta(&mut self) -> Result<(), TreeError<S::Error>> {
        let meta = self.meta;
        self.store
            .write_page(META_PAGE, |block| write_meta(block, &meta))
            .map_err(TreeError::Store)
    }
}

fn corrupt<E>(page: u64, corruption: Corruption) -> TreeError<E> {
    TreeError::Corrupt { page, corruption }
}

/// The entry count of a node that should be at `level`, if its header is right.
fn check_header(block: &Block, level: u16, config: &TreeConfig) -> Result<usize, Corruption> {
    let header = page::header(block);
    let (magic, count_range) = if level == 0 {
        (page::LEAF_MAGIC, 0..=config.leaf_entries_max)
    } else {
        (page::INTERNAL_MAGIC, 1..=config.internal_keys_max)
    };
    if header.magic != magic {
        return Err(Corruption::BadMagic);
    }
    if header.level != level {
        return Err(Corruption::WrongLevel);
    }
    if !count_range.contains(&header.count) {
        return Err(Corruption::CountOutOfRange);
    }
    Ok(header.count)
}

fn read_meta(block: &Block, page_count: u64) -> Result<Meta, Corruption> {
    if page::read_u32(block, 0) != page::META_MAGIC {
        return Err(Corruption::BadMagic);
    }
    if page::read_u16(block, 4) != page::FORMAT_VERSION {
        return Err(Corruption::BadVersion);
    }
    let meta = Meta {
        root_level: page::read_u16(block, 6),
        root: page::read_u64(block, 8),
        pages_in_use: page::read_u64(block, 16),
        config: TreeConfig {
            leaf_entries_max: usize::from(page::read_u16(block, 24)),
            internal_keys_max: usize::from(page::read_u16(block, 26)),
        },
    };
    let is_valid = meta.config.is_valid()
        && meta.pages_in_use <= page_count
        && meta.root != META_PAGE
        && meta.root < meta.pages_in_use;
    if !is_valid {
        return Err(Corruption::BadMeta);
    }
    Ok(meta)
}

fn write_meta(block: &mut Block, meta: &Meta) {
    block.0.fill(0);
    page::write_u32(block, 0, page::META_MAGIC);
    page::write_u16(block, 4, page::FORMAT_VERSION);
    page::write_u16(block, 6, meta.root_level);
    page::write_u64(block, 8, meta.root);
    page::write_u64(block, 16, meta.pages_in_use);
    // The config is checked against the page maxima, which fit in 16 bits.
    page::write_u16(block, 24, meta.config.leaf_entries_max as u16);
    page::write_u16(block, 26, meta.config.internal_keys_max as u16);
}

const _: () = assert!(BLOCK_SIZE == 4096 && LEAF_ENTRIES_MAX == 63 && INTERNAL_KEYS_MAX == 254);

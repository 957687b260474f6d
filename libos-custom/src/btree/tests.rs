//! The tree against a `BTreeMap` over random puts, gets and scans with small nodes (many
//! splits), bulk loads of every shape, a full store, and corrupt pages.

use super::page::{self, NO_PAGE};
use super::{BTree, Corruption, PageStore, TreeConfig, TreeError, VALUE_BYTES, Value};
use crate::block_device::{Block, MemoryBlocks};
use crate::memory::{BufferPool, Clock, PoolPages};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Pages in a vector: the simplest store.
#[derive(Clone)]
struct VecPages(Vec<Block>);

/// The store refused: a page out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OutOfRange;

impl PageStore for VecPages {
    type Error = OutOfRange;
    fn page_count(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_page<R>(&mut self, page: u64, read: impl FnOnce(&Block) -> R) -> Result<R, OutOfRange> {
        self.0.get(page as usize).map(read).ok_or(OutOfRange)
    }
    fn write_page<R>(
        &mut self,
        page: u64,
        write: impl FnOnce(&mut Block) -> R,
    ) -> Result<R, OutOfRange> {
        self.0.get_mut(page as usize).map(write).ok_or(OutOfRange)
    }
}

fn vec_pages(count: usize) -> VecPages {
    VecPages(vec![Block::zeroed(); count])
}

const SMALL: TreeConfig = TreeConfig {
    leaf_entries_max: 4,
    internal_keys_max: 3,
};

fn value(key: u64, version: u8) -> Value {
    let mut value = [version; VALUE_BYTES];
    value[..8].copy_from_slice(&key.to_le_bytes());
    value
}

/// Every pair the scan visits, in order.
fn scan_all<S: PageStore>(tree: &mut BTree<S>) -> Vec<(u64, Value)>
where
    S::Error: core::fmt::Debug,
{
    let mut pairs = Vec::new();
    let count = tree.scan(|key, value| pairs.push((key, *value))).unwrap();
    assert_eq!(count, pairs.len() as u64);
    pairs
}

#[derive(Clone, Debug)]
enum Operation {
    Put(u64, u8),
    Get(u64),
    Scan,
}

fn operations() -> impl Strategy<Value = Vec<Operation>> {
    let operation = prop_oneof![
        8 => (0..400u64, any::<u8>()).prop_map(|(key, version)| Operation::Put(key, version)),
        4 => (0..410u64).prop_map(Operation::Get),
        1 => Just(Operation::Scan),
    ];
    proptest::collection::vec(operation, 1..400)
}

fn check_against_model<S: PageStore>(mut tree: BTree<S>, operations: &[Operation])
where
    S::Error: core::fmt::Debug,
{
    let mut model = BTreeMap::new();
    for operation in operations {
        match *operation {
            Operation::Put(key, version) => {
                let is_new = tree.put(key, &value(key, version)).unwrap();
                assert_eq!(is_new, model.insert(key, value(key, version)).is_none());
            }
            Operation::Get(key) => assert_eq!(tree.get(key).unwrap(), model.get(&key).copied()),
            Operation::Scan => {
                assert!(scan_all(&mut tree).into_iter().eq(model.clone()));
            }
        }
    }
    let shape = tree.check().unwrap();
    assert_eq!(shape.pairs, model.len() as u64);
    assert!(scan_all(&mut tree).into_iter().eq(model));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn small_nodes_behave_like_a_btreemap(operations in operations()) {
        let tree = BTree::create(vec_pages(1000), SMALL).unwrap();
        check_against_model(tree, &operations);
    }

    #[test]
    fn a_tree_through_a_small_pool_behaves_like_a_btreemap(operations in operations()) {
        let pool = BufferPool::new(MemoryBlocks::new(1000), Clock::new(), vec![Block::zeroed(); 6])
            .with_write_batch(2);
        let tree = BTree::create(PoolPages::new(pool, 0, 1000), SMALL).unwrap();
        check_against_model(tree, &operations);
    }

    #[test]
    fn bulk_loads_of_any_size_and_fill_are_valid(
        count in 0..300u64,
        fill_percent in 0..=120u8,
        leaf_entries_max in 2..=8usize,
        internal_keys_max in 2..=5usize,
        extra in proptest::collection::vec(0..1000u64, 0..50),
    ) {
        let config = TreeConfig { leaf_entries_max, internal_keys_max };
        let pairs: Vec<(u64, Value)> = (0..count).map(|index| (index * 3, value(index * 3, 1))).collect();
        let mut tree = BTree::bulk_load(vec_pages(2000), config, fill_percent, pairs.clone()).unwrap();
        prop_assert_eq!(tree.check().unwrap().pairs, count);
        prop_assert_eq!(scan_all(&mut tree), pairs.clone());
        let mut model: BTreeMap<u64, Value> = pairs.into_iter().collect();
        for key in extra {
            tree.put(key, &value(key, 2)).unwrap();
            model.insert(key, value(key, 2));
        }
        prop_assert_eq!(tree.check().unwrap().pairs, model.len() as u64);
        prop_assert!(scan_all(&mut tree).into_iter().eq(model));
    }
}

#[test]
fn full_pages_hold_their_maxima_and_split_into_more_levels() {
    let pairs = (0..20_000u64).map(|key| (key, value(key, 0)));
    let mut tree = BTree::bulk_load(vec_pages(500), TreeConfig::default(), 100, pairs).unwrap();
    let shape = tree.check().unwrap();
    assert_eq!((shape.leaves, shape.height), (20_000u64.div_ceil(63), 3));
    for key in (0..20_000u64).step_by(7) {
        tree.put(key * 2 + 100_000, &value(key, 1)).unwrap();
    }
    assert_eq!(tree.check().unwrap().pairs, 20_000 + 20_000u64.div_ceil(7));
    assert_eq!(tree.get(19_999).unwrap(), Some(value(19_999, 0)));
}

#[test]
fn a_reopened_tree_is_the_same_tree() {
    let mut tree = BTree::create(vec_pages(100), SMALL).unwrap();
    for key in (0..60).rev() {
        tree.put(key, &value(key, 3)).unwrap();
    }
    let before = scan_all(&mut tree);
    let mut reopened = BTree::open(tree.into_store()).unwrap();
    assert_eq!(scan_all(&mut reopened), before);
    assert_eq!(reopened.check().unwrap().pairs, 60);
}

#[test]
fn unsorted_pairs_and_bad_configs_are_refused() {
    let pairs = [(1, value(1, 0)), (5, value(5, 0)), (5, value(5, 0))];
    assert_eq!(
        BTree::bulk_load(vec_pages(10), SMALL, 100, pairs).err(),
        Some(TreeError::Unsorted { key: 5 })
    );
    let config = TreeConfig {
        leaf_entries_max: 64,
        internal_keys_max: 3,
    };
    assert_eq!(
        BTree::create(vec_pages(10), config).err(),
        Some(TreeError::BadConfig)
    );
    assert_eq!(
        BTree::create(vec_pages(1), SMALL).err(),
        Some(TreeError::Full)
    );
}

#[test]
fn a_full_store_refuses_a_split_and_keeps_the_tree_intact() {
    let mut tree = BTree::create(vec_pages(12), SMALL).unwrap();
    let mut stored = 0;
    for key in 0..1000 {
        match tree.put(key, &value(key, 0)) {
            Ok(true) => stored += 1,
            Err(TreeError::Full) => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(stored > 8);
    assert_eq!(tree.check().unwrap().pairs, stored);
    assert!(tree.pages_in_use() <= 12);
}

/// A tree of small nodes with three levels, and its pages.
fn three_level_tree() -> BTree<VecPages> {
    let pairs = (0..40u64).map(|key| (key, value(key, 0)));
    let tree = BTree::bulk_load(vec_pages(100), SMALL, 100, pairs).unwrap();
    assert_eq!(tree.height(), 3);
    tree
}

/// Runs every operation on a corrupted tree; none may panic or loop.
fn exercise(tree: &mut BTree<VecPages>) -> Vec<Result<(), TreeError<OutOfRange>>> {
    vec![
        tree.get(17).map(drop),
        tree.scan(|_, _| {}).map(drop),
        tree.check().map(drop),
        tree.put(17, &value(17, 9)).map(drop),
        tree.put(1000, &value(1000, 9)).map(drop),
    ]
}

fn corrupt_root(tree: &mut BTree<VecPages>, change: impl FnOnce(&mut Block)) {
    let root = tree.meta.root as usize;
    change(&mut tree.store_mut().0[root]);
}

#[test]
fn corrupt_pages_give_errors() {
    let corruption_of = |tree: &mut BTree<VecPages>| match tree.get(17) {
        Err(TreeError::Corrupt { corruption, .. }) => corruption,
        other => panic!("{other:?}"),
    };
    let mut tree = three_level_tree();
    corrupt_root(&mut tree, |block| block.0[0] ^= 1);
    assert_eq!(corruption_of(&mut tree), Corruption::BadMagic);

    let mut tree = three_level_tree();
    corrupt_root(&mut tree, |block| page::set_count(block, 4));
    assert_eq!(corruption_of(&mut tree), Corruption::CountOutOfRange);

    let mut tree = three_level_tree();
    corrupt_root(&mut tree, |block| page::write_u16(block, 6, 1));
    assert_eq!(corruption_of(&mut tree), Corruption::WrongLevel);

    let mut tree = three_level_tree();
    corrupt_root(&mut tree, |block| {
        for child in 0..=3 {
            page::write_internal_child(block, child, 5000);
        }
    });
    assert_eq!(corruption_of(&mut tree), Corruption::PageOutOfRange);

    // A child pointing back at the root: the level check stops the descent.
    let mut tree = three_level_tree();
    let root = tree.meta.root;
    corrupt_root(&mut tree, |block| {
        for child in 0..=3 {
            page::write_internal_child(block, child, root);
        }
    });
    assert_eq!(corruption_of(&mut tree), Corruption::WrongLevel);
    for result in exercise(&mut tree) {
        assert!(matches!(result, Err(TreeError::Corrupt { .. })));
    }
}

#[test]
fn a_looping_leaf_chain_is_caught() {
    let mut tree = three_level_tree();
    // Leaves are pages 1..=10 in key order; the last points back at the first.
    page::write_u64(&mut tree.store_mut().0[10], 8, 1);
    assert!(matches!(
        tree.scan(|_, _| {}),
        Err(TreeError::Corrupt {
            corruption: Corruption::KeysOutOfOrder,
            ..
        })
    ));
    assert!(matches!(
        tree.check(),
        Err(TreeError::Corrupt {
            corruption: Corruption::BrokenLeafChain,
            ..
        })
    ));
    // An empty leaf pointing at itself loops without repeating keys.
    let mut tree = BTree::create(vec_pages(10), SMALL).unwrap();
    page::write_u64(&mut tree.store_mut().0[1], 8, 1);
    assert!(matches!(
        tree.scan(|_, _| {}),
        Err(TreeError::Corrupt {
            corruption: Corruption::BrokenLeafChain,
            ..
        })
    ));
    page::write_u64(&mut tree.store_mut().0[1], 8, NO_PAGE);
    assert_eq!(tree.scan(|_, _| {}), Ok(0));
}

#[test]
fn a_corrupt_meta_page_is_refused() {
    let mut pages = three_level_tree().into_store();
    pages.0[0].0[16] = 200; // pages in use past the store
    assert!(matches!(
        BTree::open(pages.clone()),
        Err(TreeError::Corrupt {
            page: 0,
            corruption: Corruption::BadMeta
        })
    ));
    pages.0[0].0[4] = 9;
    assert!(matches!(
        BTree::open(pages),
        Err(TreeError::Corrupt {
            corruption: Corruption::BadVersion,
            ..
        })
    ));
    assert!(matches!(
        BTree::open(vec_pages(4)),
        Err(TreeError::Corrupt {
            corruption: Corruption::BadMagic,
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes written over random places of random pages: every operation returns,
    /// with a value or an error, and never panics.
    #[test]
    fn random_damage_never_panics(
        damage in proptest::collection::vec((0..12usize, 0..64usize, any::<u8>()), 1..6),
    ) {
        let mut tree = three_level_tree();
        for (page, offset, byte) in damage {
            tree.store_mut().0[page].0[offset] = byte;
        }
        exercise(&mut tree);
        let pages = tree.into_store();
        if let Ok(mut reopened) = BTree::open(pages) {
            exercise(&mut reopened);
        }
    }
}

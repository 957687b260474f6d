//! What a revocation of a quarter of a warm 2Q pool costs, as `pooldb revoke` measures it in
//! the guest: the pool gives back its coldest frames (cooperative) or loses its newest slots
//! (as the abort protocol takes the newest frames), and the misses of the next reads are
//! compared with those of a pool that had three quarters of the frames all along (what
//! having less memory costs anyway) and of an unrevoked pool. Run with
//! `cargo test -p libos-custom --lib revocation -- --nocapture` to see the figures.

use crate::block_device::{Block, MemoryBlocks};
use crate::btree::{BTree, LEAF_ENTRIES_MAX, TreeConfig};
use crate::memory::workload::{self, Random, Scramble, Zipf, value_for_key};
use crate::memory::{BufferPool, PoolPages, TwoQueue};

const FRAMES: usize = 256;
const REVOKED: usize = FRAMES / 4;
const PAGES: u64 = FRAMES as u64 * 8;
const READS_BEFORE: u64 = 5_000;
const READS_AFTER: u64 = 5_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Revocation {
    None,
    SmallerAllAlong,
    Cooperative,
    Abort,
}

/// Reads after the revocation counted together, to show how long its effect lasts.
const READS_PER_PART: u64 = 500;

/// Blocks read by the reads after the revocation, in all and per [`READS_PER_PART`].
fn blocks_read_after(revocation: Revocation) -> (u64, Vec<u64>) {
    let keys = (PAGES - PAGES / 50 - 2) * LEAF_ENTRIES_MAX as u64;
    let loading_pool = BufferPool::new(
        MemoryBlocks::new(PAGES as usize),
        TwoQueue::new(),
        vec![Block::zeroed(); FRAMES],
    );
    let pairs = workload::sequential_pairs(keys);
    let store = PoolPages::new(loading_pool, 0, PAGES);
    let mut loaded = BTree::bulk_load(store, TreeConfig::default(), 100, pairs).unwrap();
    loaded.store_mut().pool_mut().flush().unwrap();
    let (device, _, _) = loaded.into_store().into_pool().into_parts();
    let frames = match revocation {
        Revocation::SmallerAllAlong => FRAMES - REVOKED,
        _ => FRAMES,
    };
    let pool = BufferPool::new(device, TwoQueue::new(), vec![Block::zeroed(); frames]);
    let mut tree = BTree::open(PoolPages::new(pool, 0, PAGES)).unwrap();
    let zipf = Zipf::new(keys as usize);
    let scramble = Scramble::new(keys);
    let mut random = Random::new(0x5EED_0001);
    let mut read = |tree: &mut BTree<_>, count| {
        for _ in 0..count {
            let key = scramble.apply(zipf.sample(&mut random).unwrap());
            assert_eq!(tree.get(key).unwrap(), Some(value_for_key(key)));
        }
    };
    read(&mut tree, READS_BEFORE);
    let pool = tree.store_mut().pool_mut();
    match revocation {
        Revocation::Cooperative => assert_eq!(pool.give_back(REVOKED).unwrap().len(), REVOKED),
        Revocation::Abort => {
            let newest: Vec<usize> = (FRAMES - REVOKED..FRAMES).collect();
            assert_eq!(pool.lose(&newest), 0);
        }
        Revocation::None | Revocation::SmallerAllAlong => {}
    }
    assert_eq!(
        pool.usable_slot_count(),
        if revocation == Revocation::None {
            FRAMES
        } else {
            FRAMES - REVOKED
        }
    );
    let blocks_read = |tree: &BTree<PoolPages<MemoryBlocks, TwoQueue, Vec<Block>>>| {
        tree.store().pool().stats().blocks_read
    };
    let before = blocks_read(&tree);
    let parts = (0..READS_AFTER / READS_PER_PART)
        .map(|_| {
            let part_start = blocks_read(&tree);
            read(&mut tree, READS_PER_PART);
            blocks_read(&tree) - part_start
        })
        .collect();
    (blocks_read(&tree) - before, parts)
}

#[test]
fn giving_the_coldest_frames_back_loses_at_most_half_the_hits_the_abort_loses() {
    let runs = [
        ("unrevoked", Revocation::None),
        ("smaller", Revocation::SmallerAllAlong),
        ("cooperative", Revocation::Cooperative),
        ("abort", Revocation::Abort),
    ]
    .map(|(name, revocation)| {
        let (total, parts) = blocks_read_after(revocation);
        println!("{name}: blocks read per {READS_PER_PART} reads after: {parts:?}");
        total as i64
    });
    let [unrevoked, smaller, cooperative, abort] = runs;
    println!(
        "blocks read by {READS_AFTER} reads after revoking {REVOKED} of {FRAMES} frames: \
         unrevoked {unrevoked}, {} frames all along {smaller}, cooperative {cooperative}, \
         abort {abort}",
        FRAMES - REVOKED
    );
    println!(
        "lost to the revocation (over the smaller pool): cooperative {}, abort {}; \
         over the unrevoked pool: cooperative {}, abort {}",
        cooperative - smaller,
        abort - smaller,
        cooperative - unrevoked,
        abort - unrevoked
    );
    assert!(unrevoked < smaller, "less memory costs nothing?");
    assert!(2 * (cooperative - smaller) <= abort - smaller);
}

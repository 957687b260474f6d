//! Blocks read per 1,000 operations by Clock and 2Q under Zipf point reads on a tree, with
//! and without a periodic full scan, at several pool/data ratios. Run with
//! `cargo test -p libos-custom --lib measure -- --nocapture` to see the table.

use crate::block_device::{Block, MemoryBlocks};
use crate::btree::{BTree, TreeConfig};
use crate::memory::workload::{self, ZipfScans};
use crate::memory::{BufferPool, Clock, PoolPages, ReplacementPolicy, TwoQueue};

/// Keys in the tree: 1,024 full leaves (and 6 internal pages).
const KEYS: u64 = 1024 * 63;
const POINT_READS: u64 = 20_000;
/// A full scan (1,024 leaves) after this many point reads.
const SCAN_EVERY: u64 = 2_000;

/// Blocks read per 1,000 operations (point reads and scans) over the run.
fn blocks_read_per_thousand(policy: impl ReplacementPolicy, ratio: u64, scan_every: u64) -> u64 {
    let data_pages = 1 + KEYS.div_ceil(63) + 6;
    let frames = vec![Block::zeroed(); (data_pages / ratio) as usize];
    let pool = BufferPool::new(MemoryBlocks::new(data_pages as usize), policy, frames);
    let pages = PoolPages::new(pool, 0, data_pages);
    let pairs = workload::sequential_pairs(KEYS);
    let mut tree = BTree::bulk_load(pages, TreeConfig::default(), 100, pairs).unwrap();
    assert_eq!(tree.pages_in_use(), data_pages);
    tree.store_mut().pool_mut().flush().unwrap();
    let reads_before = tree.store().pool().device().reads;
    let run = ZipfScans {
        key_count: KEYS,
        point_reads: POINT_READS,
        scan_every,
        seed: 42,
    };
    let report = workload::zipf_with_scans(&mut tree, &run).unwrap();
    assert_eq!(report.found_as_expected, POINT_READS);
    assert_eq!(report.pairs_scanned, report.scans * KEYS);
    let blocks_read = tree.store().pool().device().reads - reads_before;
    blocks_read * 1000 / (report.point_reads + report.scans)
}

#[test]
fn two_queue_reads_fewer_blocks_than_clock_when_scans_come() {
    println!("blocks read per 1,000 operations ({POINT_READS} Zipf point reads over {KEYS} keys)");
    println!("| pool/data | Clock, scans | 2Q, scans | Clock, no scan | 2Q, no scan |");
    println!("|---|---|---|---|---|");
    for ratio in [4, 8, 16, 32] {
        let clock_scans = blocks_read_per_thousand(Clock::new(), ratio, SCAN_EVERY);
        let two_queue_scans = blocks_read_per_thousand(TwoQueue::new(), ratio, SCAN_EVERY);
        let clock = blocks_read_per_thousand(Clock::new(), ratio, 0);
        let two_queue = blocks_read_per_thousand(TwoQueue::new(), ratio, 0);
        println!("| 1/{ratio} | {clock_scans} | {two_queue_scans} | {clock} | {two_queue} |");
        if ratio == 8 {
            assert!(
                two_queue_scans < clock_scans,
                "2Q {two_queue_scans} vs Clock {clock_scans}"
            );
        }
    }
}

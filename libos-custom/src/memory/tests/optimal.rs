//! How far replacement alone can go on `pooldb`'s workload: Belady's MIN (evict the page used
//! again furthest in the future, which no policy can beat) against 2Q and CLOCK (the POSIX
//! library OS's cache is a CLOCK of as many slots), with the program's sizes: 256 frames, data
//! 4 to 32 times larger, 10,000 Zipf point reads and a full scan after every 2,500. Run with
//! `cargo test -p libos-custom --lib optimal -- --nocapture` to see the table.

use crate::block_device::{Block, MemoryBlocks};
use crate::btree::{BTree, LEAF_ENTRIES_MAX, PageStore, TreeConfig};
use crate::memory::workload::{self, Random, Scramble, Zipf, value_for_key};
use crate::memory::{BufferPool, Clock, PoolPages, ReplacementPolicy, TwoQueue};
use std::collections::{BTreeSet, HashMap};

const FRAMES: usize = 256;
const POINT_READS: u64 = 10_000;
const SCAN_EVERY: u64 = 2_500;
const SEED: u64 = 0x5EED_0001;

/// Pages in memory, noting each page read and whether a scan read it.
struct TracedPages {
    pages: Vec<Block>,
    trace: Vec<(u64, bool)>,
    is_scanning: bool,
}

impl PageStore for TracedPages {
    type Error = ();

    fn page_count(&self) -> u64 {
        self.pages.len() as u64
    }

    fn read_page<R>(&mut self, page: u64, read: impl FnOnce(&Block) -> R) -> Result<R, ()> {
        self.trace.push((page, self.is_scanning));
        Ok(read(&self.pages[page as usize]))
    }

    fn write_page<R>(&mut self, page: u64, write: impl FnOnce(&mut Block) -> R) -> Result<R, ()> {
        Ok(write(&mut self.pages[page as usize]))
    }
}

/// Pages and keys of the program's tree with data `ratio` times the frames (as `pooldb`'s
/// `sizes`).
fn sizes(ratio: u64) -> (u64, u64) {
    let pages = FRAMES as u64 * ratio;
    (pages, (pages - pages / 50 - 2) * LEAF_ENTRIES_MAX as u64)
}

/// Runs the workload on `store`; `between` runs around each scan (true before, false after).
fn run_workload<S: PageStore>(
    tree: &mut BTree<S>,
    keys: u64,
    scan_every: u64,
    mut between: impl FnMut(&mut BTree<S>, bool),
) where
    S::Error: core::fmt::Debug,
{
    let zipf = Zipf::new(keys as usize);
    let scramble = Scramble::new(keys);
    let mut random = Random::new(SEED);
    for read in 1..=POINT_READS {
        let key = scramble.apply(zipf.sample(&mut random).unwrap());
        assert_eq!(tree.get(key).unwrap(), Some(value_for_key(key)));
        if scan_every != 0 && read % scan_every == 0 {
            between(tree, true);
            tree.scan(|_, _| {}).unwrap();
            between(tree, false);
        }
    }
}

/// The pages the workload reads at `ratio`, in order, each marked if a scan read it.
fn page_trace(ratio: u64, scan_every: u64) -> Vec<(u64, bool)> {
    let (pages, keys) = sizes(ratio);
    let store = TracedPages {
        pages: vec![Block::zeroed(); pages as usize],
        trace: Vec::new(),
        is_scanning: false,
    };
    let pairs = workload::sequential_pairs(keys);
    let mut tree = BTree::bulk_load(store, TreeConfig::default(), 100, pairs).unwrap();
    tree.store_mut().trace.clear();
    run_workload(&mut tree, keys, scan_every, |tree, is_scanning| {
        tree.store_mut().is_scanning = is_scanning;
    });
    tree.into_store().trace
}

/// Misses of Belady's MIN with `frames` frames over `trace`, starting empty: (point reads',
/// scans').
fn belady_misses(trace: &[(u64, bool)], frames: usize) -> (u64, u64) {
    // next_use[i]: when trace[i]'s page is read next (never: past the end, distinct per page).
    let mut next_use = vec![0; trace.len()];
    let mut seen_next: HashMap<u64, usize> = HashMap::new();
    for (index, &(page, _)) in trace.iter().enumerate().rev() {
        next_use[index] = seen_next
            .get(&page)
            .copied()
            .unwrap_or(trace.len() + page as usize);
        seen_next.insert(page, index);
    }
    let mut resident: HashMap<u64, usize> = HashMap::new();
    let mut by_next_use: BTreeSet<(usize, u64)> = BTreeSet::new();
    let (mut point_misses, mut scan_misses) = (0, 0);
    for (index, &(page, is_scan)) in trace.iter().enumerate() {
        if let Some(next) = resident.remove(&page) {
            by_next_use.remove(&(next, page));
        } else {
            *(if is_scan {
                &mut scan_misses
            } else {
                &mut point_misses
            }) += 1;
            if resident.len() == frames {
                let furthest = by_next_use.pop_last().unwrap();
                resident.remove(&furthest.1);
            }
        }
        resident.insert(page, next_use[index]);
        by_next_use.insert((next_use[index], page));
    }
    (point_misses, scan_misses)
}

/// Blocks `policy` reads at `ratio`, starting with the pool as the tree's load left it:
/// (point reads', scans').
fn policy_misses(policy: impl ReplacementPolicy, ratio: u64) -> (u64, u64) {
    let (pages, keys) = sizes(ratio);
    let frames = vec![Block::zeroed(); FRAMES];
    let pool = BufferPool::new(MemoryBlocks::new(pages as usize), policy, frames);
    let pairs = workload::sequential_pairs(keys);
    let store = PoolPages::new(pool, 0, pages);
    let mut tree = BTree::bulk_load(store, TreeConfig::default(), 100, pairs).unwrap();
    let reads = |tree: &BTree<PoolPages<MemoryBlocks, _, Vec<Block>>>| {
        tree.store().pool().stats().blocks_read
    };
    let start = reads(&tree);
    let mut scan_misses = 0;
    let mut scan_start = 0;
    run_workload(&mut tree, keys, SCAN_EVERY, |tree, is_starting| {
        if is_starting {
            scan_start = reads(tree);
        } else {
            scan_misses += reads(tree) - scan_start;
        }
    });
    (reads(&tree) - start - scan_misses, scan_misses)
}

#[test]
fn belady_matches_the_textbook_string() {
    let string = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
    let trace: Vec<(u64, bool)> = string.iter().map(|&page| (page, false)).collect();
    assert_eq!(belady_misses(&trace, 3), (9, 0));
    assert_eq!(belady_misses(&trace, 1), (20, 0));
}

#[test]
fn no_policy_reads_half_the_blocks_of_the_file_paths_clock_at_one_eighth() {
    println!("blocks read per 1,000 point reads (point reads + scans), {FRAMES} frames");
    println!("| pool/data | CLOCK | 2Q | MIN (cold start) | MIN, no scan |");
    println!("|---|---|---|---|---|");
    for ratio in [4, 8, 16, 32] {
        let per_1000 = |(point, scan): (u64, u64)| {
            let thousandths = |count: u64| count * 1000 / POINT_READS;
            (
                thousandths(point + scan),
                thousandths(point),
                thousandths(scan),
            )
        };
        let clock = per_1000(policy_misses(Clock::new(), ratio));
        let two_queue = per_1000(policy_misses(TwoQueue::new(), ratio));
        let optimal = per_1000(belady_misses(&page_trace(ratio, SCAN_EVERY), FRAMES));
        let optimal_without_scans = per_1000(belady_misses(&page_trace(ratio, 0), FRAMES));
        println!(
            "| 1/{ratio} | {} ({} + {}) | {} ({} + {}) | {} ({} + {}) | {} |",
            clock.0,
            clock.1,
            clock.2,
            two_queue.0,
            two_queue.1,
            two_queue.2,
            optimal.0,
            optimal.1,
            optimal.2,
            optimal_without_scans.0
        );
        // MIN starts empty, a policy with the pool the load left: the pool may save at most
        // its frames' worth of misses on it.
        let optimal_from_warm = optimal.0 - FRAMES as u64 * 1000 / POINT_READS;
        assert!(optimal_from_warm <= two_queue.0 && two_queue.0 <= clock.0);
        if ratio == 8 {
            assert!(
                2 * optimal_from_warm > clock.0,
                "MIN {optimal_from_warm} reads under half of CLOCK's {}",
                clock.0
            );
        }
    }
}

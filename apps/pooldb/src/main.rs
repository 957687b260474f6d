//! A database with its own buffer pool: a B+-tree key-value store (`libos_custom::btree`)
//! whose pages live on disk blocks this program owns, kept in a fixed number of frames it
//! binds itself, replaced by the policy it chooses (`libos_custom::memory`); and the same tree
//! over an ordinary file of the POSIX library OS, whose buffer cache decides instead.
//!
//! - `pooldb custom [2q|clock|lru] [RATIO]`: the tree on owned blocks, in a pool of
//!   [`POOL_FRAMES`] frames over data RATIO times larger (default 8);
//! - `pooldb posix [RATIO]`: the same tree in the file `/pooldb.db`, through the library OS's
//!   file calls and its cache of as many blocks;
//! - `pooldb revoke [unrevoked|smaller|cooperative|abort]`: the kernel takes a quarter of a
//!   warm pool's frames back, given by the program or taken by the abort protocol (see
//!   `revocation`), and the blocks read after are counted; `unrevoked` and `smaller` (a pool
//!   of three quarters of the frames all along) are the baselines;
//!
//! Each builds the tree, then makes Zipf-distributed point reads with a full scan now and then
//! (`libos_custom::memory::workload`), and reports the blocks read from the disk per 1,000
//! point reads and the instructions (or cycles) per point read. With `bench` first
//! (`pooldb bench custom` ...), each ratio of [`RATIOS`] is measured and printed as figure
//! lines `C1.<path> ...` for `make bench` (`pooldb bench revocation`: the four revocation
//! runs).
#![no_std]
#![no_main]

extern crate alloc;

mod file_pages;
mod owned_pool;
mod revocation;

use alloc::vec::Vec;
use libos_custom::block_device::Block;
use libos_custom::btree::{BTree, LEAF_ENTRIES_MAX, PageStore, TreeConfig, TreeError};
use libos_custom::memory::workload::{self, WorkloadReport, ZipfScans};
use libos_custom::memory::{Clock, Lru, ReplacementPolicy, TwoQueue};
use libos_posix::stopwatch::{Count, Stopwatch};
use libos_posix::{Args, println};

libos_posix::main!(main);

const NAME: &str = "pooldb";
/// Frames of the custom pool: as many as the POSIX library OS's buffer cache has slots.
pub const POOL_FRAMES: usize = libos_posix::files::CACHE_SLOTS;
/// Data-to-pool ratios `bench` measures.
pub const RATIOS: [u64; 4] = [4, 8, 16, 32];
/// The workload: point reads, and a full scan after every this many.
const POINT_READS: u64 = 10_000;
const SCAN_EVERY: u64 = 2_500;
const SEED: u64 = 0x5EED_0001;

/// What one run measured.
struct Measured {
    report: WorkloadReport,
    blocks_read: u64,
    ticks: u64,
}

impl Measured {
    fn blocks_read_per_1000(&self) -> u64 {
        self.blocks_read * 1000 / self.report.point_reads.max(1)
    }

    fn ticks_per_read(&self) -> u64 {
        self.ticks / self.report.point_reads.max(1)
    }
}

/// Tree pages for data `ratio` times the pool, and the keys that fill their leaves.
fn sizes(ratio: u64) -> (u64, u64) {
    let pages = POOL_FRAMES as u64 * ratio;
    // Full leaves, and room for the internal nodes (under 2% of the pages) and the meta page.
    let keys = (pages - pages / 50 - 2) * LEAF_ENTRIES_MAX as u64;
    (pages, keys)
}

/// A store lent to a tree, so that its owner gets it back (to free the blocks it holds).
struct Lent<'a, S>(&'a mut S);

impl<S: PageStore> PageStore for Lent<'_, S> {
    type Error = S::Error;

    fn page_count(&self) -> u64 {
        self.0.page_count()
    }

    fn read_page<R>(&mut self, page: u64, read: impl FnOnce(&Block) -> R) -> Result<R, S::Error> {
        self.0.read_page(page, read)
    }

    fn write_page<R>(
        &mut self,
        page: u64,
        write: impl FnOnce(&mut Block) -> R,
    ) -> Result<R, S::Error> {
        self.0.write_page(page, write)
    }
}

/// Builds the tree of `keys` keys on `store` and runs the workload on it, timed as `count`
/// says, counting the disk reads `blocks_read` reports.
fn build_and_run<S: PageStore>(
    store: &mut S,
    keys: u64,
    count: Count,
    blocks_read: impl Fn(&S) -> u64,
) -> Result<Measured, TreeError<S::Error>> {
    let mut tree = BTree::bulk_load(
        Lent(store),
        TreeConfig::default(),
        100,
        workload::sequential_pairs(keys),
    )?;
    let workload = ZipfScans {
        key_count: keys,
        point_reads: POINT_READS,
        scan_every: SCAN_EVERY,
        seed: SEED,
    };
    let read_before = blocks_read(tree.store().0);
    let stopwatch = Stopwatch::start(count);
    let report = workload::zipf_with_scans(&mut tree, &workload)?;
    let ticks = stopwatch.ticks();
    Ok(Measured {
        report,
        blocks_read: blocks_read(tree.store().0) - read_before,
        ticks,
    })
}

fn policy_named(name: &str) -> Option<PolicyChoice> {
    match name {
        "2q" => Some(PolicyChoice::TwoQueue),
        "clock" => Some(PolicyChoice::Clock),
        "lru" => Some(PolicyChoice::Lru),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum PolicyChoice {
    TwoQueue,
    Clock,
    Lru,
}

impl PolicyChoice {
    fn name(self) -> &'static str {
        match self {
            PolicyChoice::TwoQueue => "2q",
            PolicyChoice::Clock => "clock",
            PolicyChoice::Lru => "lru",
        }
    }
}

/// Runs the custom path with `policy` at each of `ratios`, on blocks allocated once for the
/// largest.
fn custom(
    policy: PolicyChoice,
    ratios: &[u64],
    count: Count,
) -> Result<Vec<Measured>, &'static str> {
    fn run<P: ReplacementPolicy>(
        make_policy: impl Fn() -> P,
        ratios: &[u64],
        count: Count,
    ) -> Result<Vec<Measured>, &'static str> {
        let most_pages = ratios
            .iter()
            .map(|&ratio| sizes(ratio).0)
            .max()
            .unwrap_or(0);
        owned_pool::with_blocks(most_pages, |blocks| {
            ratios
                .iter()
                .map(|&ratio| {
                    let (pages, keys) = sizes(ratio);
                    blocks.with_pool(make_policy(), pages, |store| {
                        build_and_run(store, keys, count, |store| store.pool().stats().blocks_read)
                            .map_err(|_| "the tree failed on the pool")
                    })
                })
                .collect()
        })
    }
    match policy {
        PolicyChoice::TwoQueue => run(TwoQueue::new, ratios, count),
        PolicyChoice::Clock => run(Clock::new, ratios, count),
        PolicyChoice::Lru => run(Lru::new, ratios, count),
    }
}

/// Runs the POSIX path at `ratio`.
fn posix(ratio: u64, count: Count) -> Result<Measured, &'static str> {
    let (pages, keys) = sizes(ratio);
    file_pages::with_file(pages, |store| {
        build_and_run(store, keys, count, |_| {
            libos_posix::files::blocks_read().unwrap_or(0)
        })
        .map_err(|_| "the tree failed on the file")
    })
}

fn print_run(path: &str, ratio: u64, measured: &Measured) {
    let report = &measured.report;
    println!(
        "{NAME}: {path}, data {ratio}x the {POOL_FRAMES}-page memory: {} point reads ({} found) \
         and {} scans read {} blocks ({} per 1,000 point reads), {} ticks per point read",
        report.point_reads,
        report.found_as_expected,
        report.scans,
        measured.blocks_read,
        measured.blocks_read_per_1000(),
        measured.ticks_per_read(),
    );
}

fn main(args: Args) -> i32 {
    let words: Vec<&str> = args.iter().collect();
    let outcome = match words.as_slice() {
        ["bench", path, rest @ ..] => bench(path, Count::from_arguments(rest.iter().copied())),
        ["custom", rest @ ..] => {
            let policy = rest.first().and_then(|word| policy_named(word));
            let ratio = ratio_argument(&rest[usize::from(policy.is_some())..]);
            let policy = policy.unwrap_or(PolicyChoice::TwoQueue);
            ratio.and_then(|ratio| {
                let path = alloc::format!("custom ({})", policy.name());
                for measured in custom(policy, &[ratio], Count::Cycles)? {
                    print_run(&path, ratio, &measured);
                }
                Ok(())
            })
        }
        ["revoke", rest @ ..] => match rest
            .first()
            .map_or(Some(revocation::Answer::Cooperative), |word| {
                revocation::Answer::named(word)
            }) {
            Some(answer) => revocation::run(answer).map_err(|_| "the revocation run failed"),
            None => Err("usage: pooldb revoke [unrevoked|smaller|cooperative|abort]"),
        },
        ["victim", answer] => match revocation::Answer::named(answer) {
            Some(answer) => revocation::victim(answer),
            None => Err("usage: pooldb victim unrevoked|smaller|cooperative|abort"),
        },
        ["posix", rest @ ..] => ratio_argument(rest).and_then(|ratio| {
            posix(ratio, Count::Cycles).map(|measured| print_run("posix", ratio, &measured))
        }),
        _ => Err(
            "usage: pooldb custom [2q|clock|lru] [RATIO] | pooldb posix [RATIO] | \
             pooldb revoke [unrevoked|smaller|cooperative|abort]",
        ),
    };
    match outcome {
        Ok(()) => 0,
        Err(why) => {
            println!("{NAME}: {why}");
            1
        }
    }
}

fn ratio_argument(rest: &[&str]) -> Result<u64, &'static str> {
    match rest.first() {
        None => Ok(8),
        Some(word) => word
            .parse::<u64>()
            .ok()
            .filter(|ratio| (1..=32).contains(ratio))
            .ok_or("the ratio is a whole number from 1 to 32"),
    }
}

/// The figure lines of one path for `make bench`.
fn bench(path: &str, count: Count) -> Result<(), &'static str> {
    let unit = count.unit();
    if path == "revocation" {
        for answer in [
            revocation::Answer::Unrevoked,
            revocation::Answer::Smaller,
            revocation::Answer::Cooperative,
            revocation::Answer::Ignoring,
        ] {
            revocation::run(answer).map_err(|_| "the revocation run failed")?;
        }
        return Ok(());
    }
    let (id, runs) = match path {
        "custom" => ("C1.custom", custom(PolicyChoice::TwoQueue, &RATIOS, count)?),
        "clock" => ("C1.clock", custom(PolicyChoice::Clock, &RATIOS, count)?),
        "posix" => (
            "C1.posix",
            RATIOS
                .iter()
                .map(|&ratio| posix(ratio, count))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => return Err("bench: the path is custom, clock, posix or revocation"),
    };
    for (ratio, measured) in RATIOS.into_iter().zip(runs) {
        println!(
            "{id} zipf_scan_1_{ratio}_blocks_read {} per_1000_reads",
            measured.blocks_read_per_1000()
        );
        println!(
            "{id} zipf_scan_1_{ratio}_read {} {unit}",
            measured.ticks_per_read()
        );
    }
    Ok(())
}

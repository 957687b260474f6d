//! A deterministic workload for the pool and the tree, usable in the guest (integer only, no
//! `std`): Zipf-distributed point reads (theta = 1) with a full scan every so often.

use crate::btree::{BTree, PageStore, TreeError, VALUE_BYTES, Value};
use alloc::vec::Vec;

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Random {
    state: u64,
}

impl Random {
    /// The generator for `seed`; the same seed gives the same numbers everywhere.
    pub fn new(seed: u64) -> Random {
        Random { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (0 for a bound of 0), by multiply-high: no modulo bias worth
    /// speaking of for bounds far below 2^64.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

/// Weight of rank 0; rank `i` weighs `WEIGHT_SCALE / (i + 1)`, so that a million ranks still
/// have distinct weights and their sum fits easily in 64 bits.
const WEIGHT_SCALE: u64 = 1 << 32;

/// Zipf's law over `item_count` ranks with theta = 1 (rank `i` drawn with probability
/// proportional to `1 / (i + 1)`), sampled by binary search in a cumulative table.
#[derive(Clone, Debug)]
pub struct Zipf {
    /// `cumulative[i]`: the weights of ranks `0..=i`.
    cumulative: Vec<u64>,
}

impl Zipf {
    /// The distribution over ranks `0..item_count` (8 bytes of table per rank).
    pub fn new(item_count: usize) -> Zipf {
        let cumulative = (1..=item_count as u64)
            .scan(0u64, |sum, rank| {
                *sum += WEIGHT_SCALE / rank;
                Some(*sum)
            })
            .collect();
        Zipf { cumulative }
    }

    /// A rank, 0 the most frequent; `None` over no items.
    pub fn sample(&self, random: &mut Random) -> Option<u64> {
        let total = *self.cumulative.last()?;
        let target = random.below(total);
        Some(self.cumulative.partition_point(|&sum| sum <= target) as u64)
    }
}

/// A fixed permutation of `0..count` (multiplication by a number coprime with `count`,
/// modulo `count`) that scatters neighbouring ranks far apart, so that hot keys land on
/// different pages.
#[derive(Clone, Copy, Debug)]
pub struct Scramble {
    count: u64,
    multiplier: u64,
}

impl Scramble {
    /// The permutation of `0..count`.
    pub fn new(count: u64) -> Scramble {
        // Near count / golden ratio, so that consecutive ranks are far apart.
        let mut multiplier = ((u128::from(count) * 0x9e37_79b9_7f4a_7c15) >> 64) as u64 | 1;
        while count > 1 && greatest_common_divisor(multiplier, count) != 1 {
            multiplier += 2;
        }
        Scramble { count, multiplier }
    }

    /// Where `rank` goes (`rank` itself when out of range).
    pub fn apply(&self, rank: u64) -> u64 {
        if rank >= self.count {
            return rank;
        }
        ((u128::from(rank) * u128::from(self.multiplier)) % u128::from(self.count)) as u64
    }
}

fn greatest_common_divisor(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The value the workload's trees store under `key`: its bytes repeated, so a reader can
/// check what it got.
pub fn value_for_key(key: u64) -> Value {
    let mut value = [0; VALUE_BYTES];
    for (chunk, byte) in value
        .chunks_mut(8)
        .zip(core::iter::repeat(key.to_le_bytes()))
    {
        chunk.copy_from_slice(&byte[..chunk.len()]);
    }
    value
}

/// The pairs `(key, value_for_key(key))` for keys `0..key_count`, sorted: what to bulk load
/// before [`zipf_with_scans`].
pub fn sequential_pairs(key_count: u64) -> impl Iterator<Item = (u64, Value)> {
    (0..key_count).map(|key| (key, value_for_key(key)))
}

/// What [`zipf_with_scans`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipfScans {
    /// The tree holds keys `0..key_count` (see [`sequential_pairs`]).
    pub key_count: u64,
    /// Point reads to make.
    pub point_reads: u64,
    /// A full scan after every this many point reads (0: never).
    pub scan_every: u64,
    /// The generator's seed.
    pub seed: u64,
}

/// What happened during [`zipf_with_scans`]; the device's counters say what it cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkloadReport {
    /// Point reads made.
    pub point_reads: u64,
    /// Point reads that found their key with the expected value.
    pub found_as_expected: u64,
    /// Full scans made.
    pub scans: u64,
    /// Pairs visited by the scans.
    pub pairs_scanned: u64,
}

/// Makes `workload.point_reads` reads of Zipf-distributed keys (ranks scrambled over
/// `0..key_count`), with a full scan after every `scan_every` of them.
///
/// Errors: the tree's.
pub fn zipf_with_scans<S: PageStore>(
    tree: &mut BTree<S>,
    workload: &ZipfScans,
) -> Result<WorkloadReport, TreeError<S::Error>> {
    let zipf = Zipf::new(usize::try_from(workload.key_count).unwrap_or(usize::MAX));
    let scramble = Scramble::new(workload.key_count);
    let mut random = Random::new(workload.seed);
    let mut report = WorkloadReport::default();
    for read in 1..=workload.point_reads {
        let Some(rank) = zipf.sample(&mut random) else {
            break;
        };
        let key = scramble.apply(rank);
        report.point_reads += 1;
        if tree.get(key)? == Some(value_for_key(key)) {
            report.found_as_expected += 1;
        }
        if workload.scan_every != 0 && read % workload.scan_every == 0 {
            report.pairs_scanned += tree.scan(|_, _| {})?;
            report.scans += 1;
        }
    }
    Ok(report)
}

//! Host tests of the log-structured store: the basics, a random workload against a model,
//! the cleaner, crash injection at every write, damaged media, and the cost table.

mod basic_tests;
mod cleaner_tests;
mod corruption_tests;
mod crash_device;
mod crash_tests;
mod measure_tests;
mod model_tests;

use super::{CleaningPolicy, Greedy, Layout, LogStore};
use crate::block_device::MemoryBlocks;
/// The seeded generator the tests draw from, so every run makes the same choices.
pub(crate) use crate::memory::workload::Random;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// True with probability `numerator / denominator`, drawn from `random`.
pub(crate) fn chance(random: &mut Random, numerator: u64, denominator: u64) -> bool {
    random.below(denominator) < numerator
}

/// Deterministic bytes named by `seed`, so a value read back tells which put wrote it.
pub(crate) fn value_bytes(seed: u64, length: usize) -> Vec<u8> {
    let mut random = Random::new(seed);
    (0..length).map(|_| random.next_u64() as u8).collect()
}

/// The smallest segments, one-block checkpoint slots and `segment_count` segments.
pub(crate) fn small_layout() -> Layout {
    Layout {
        segment_blocks: Layout::SEGMENT_BLOCKS_MIN,
        checkpoint_slot_blocks: 1,
    }
}

/// A device for `segment_count` segments of `layout`.
pub(crate) fn device_for(layout: Layout, segment_count: u32) -> MemoryBlocks {
    let blocks = 1 + 2 * layout.checkpoint_slot_blocks + segment_count * layout.segment_blocks;
    MemoryBlocks::new(blocks as usize)
}

pub(crate) fn formatted<C: CleaningPolicy>(
    layout: Layout,
    segment_count: u32,
    policy: C,
) -> LogStore<MemoryBlocks, C> {
    LogStore::format(device_for(layout, segment_count), policy, layout).expect("format")
}

/// Everything a store holds, read back through `get`.
pub(crate) fn contents<D: crate::block_device::BlockDevice, C: CleaningPolicy>(
    store: &mut LogStore<D, C>,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let keys: Vec<Vec<u8>> = store.keys().map(<[u8]>::to_vec).collect();
    keys.into_iter()
        .map(|key| {
            let value = store
                .get(&key)
                .expect("get")
                .expect("a listed key has a value");
            (key, value)
        })
        .collect()
}

/// A store formatted on a small device with the greedy policy.
pub(crate) fn small_store(segment_count: u32) -> LogStore<MemoryBlocks, Greedy> {
    formatted(small_layout(), segment_count, Greedy)
}

//! The cleaner: it keeps every live record while it reclaims space, under both policies, and
//! a store whose live data fill the device refuses puts without losing anything.

use super::{Random, chance, contents, small_layout, value_bytes};
use crate::block_device::MemoryBlocks;
use crate::log_store::{
    CLEANER_RESERVE_SEGMENTS, CleaningPolicy, CostBenefit, Greedy, Layout, LogStore, StoreError,
};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

/// Overwrites a hot set and a cold set of keys many times the device's size; returns the
/// bytes the cleaner copied per byte put.
fn overwrite_many_times<C: CleaningPolicy + Copy>(policy: C) -> (u64, u64) {
    let mut store: LogStore<MemoryBlocks, C> = super::formatted(small_layout(), 12, policy);
    let mut random = Random::new(7);
    let mut model = BTreeMap::new();
    let mut put_bytes = 0u64;
    for index in 0..4_000u64 {
        // Nine puts in ten go to 10 hot keys, the rest to 40 cold ones.
        let key = if chance(&mut random, 9, 10) {
            format!("hot{}", random.below(10))
        } else {
            format!("cold{}", random.below(40))
        };
        let value = value_bytes(index, 500 + random.below(600) as usize);
        put_bytes += value.len() as u64;
        store.put(key.as_bytes(), &value).unwrap();
        model.insert(key.into_bytes(), value);
        if index % 8 == 7 {
            store.commit().unwrap();
        }
    }
    store.commit().unwrap();
    let statistics = *store.statistics();
    assert!(statistics.segments_cleaned > 20, "{statistics:?}");
    assert!(store.free_segment_count() >= CLEANER_RESERVE_SEGMENTS);
    assert_eq!(contents(&mut store), model);
    let mut reopened = LogStore::open(store.into_device(), policy).unwrap();
    assert_eq!(contents(&mut reopened), model);
    (statistics.cleaner_bytes_copied, put_bytes)
}

#[test]
fn the_cleaner_keeps_live_data_while_reclaiming_space_under_both_policies() {
    let (greedy_copied, put_bytes) = overwrite_many_times(Greedy);
    let (cost_benefit_copied, _) = overwrite_many_times(CostBenefit);
    println!(
        "cleaner: {put_bytes} value bytes put; copied {greedy_copied} (greedy), \
         {cost_benefit_copied} (cost-benefit)"
    );
}

#[test]
fn an_explicit_round_frees_the_emptied_segments() {
    let mut store = super::small_store(10);
    for index in 0..60u64 {
        store
            .put(&index.to_le_bytes(), &value_bytes(index, 2_000))
            .unwrap();
    }
    store.commit().unwrap();
    for index in (0..60u64).filter(|index| index % 6 != 0) {
        store.delete(&index.to_le_bytes()).unwrap();
    }
    let free_before = store.free_segment_count();
    let kept = contents(&mut store);
    let mut freed = 0;
    loop {
        match store.clean().unwrap() {
            0 => break,
            round => freed += round,
        }
    }
    assert!(freed >= 2, "freed {freed}");
    assert!(store.free_segment_count() > free_before);
    assert_eq!(contents(&mut store), kept);
    let mut reopened = LogStore::open(store.into_device(), Greedy).unwrap();
    assert_eq!(contents(&mut reopened), kept);
}

#[test]
fn a_full_store_refuses_puts_keeps_its_data_and_recovers_space_after_deletes() {
    let layout = Layout {
        checkpoint_slot_blocks: 4,
        ..small_layout()
    };
    let mut store: LogStore<MemoryBlocks, Greedy> = super::formatted(layout, 6, Greedy);
    let mut model = BTreeMap::new();
    let refusal = (0..10_000u64)
        .find_map(|index| {
            let value = value_bytes(index, 3_000);
            match store.put_durable(&index.to_le_bytes(), &value) {
                Ok(()) => {
                    model.insert(index.to_le_bytes().to_vec(), value);
                    None
                }
                Err(error) => Some(error),
            }
        })
        .expect("the device fills up");
    assert_eq!(refusal, StoreError::Full);
    assert_eq!(contents(&mut store), model);
    let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    for key in keys.iter().step_by(2) {
        store.delete(key).unwrap();
        model.remove(key);
    }
    store.put_durable(b"room again", b"yes").unwrap();
    model.insert(b"room again".to_vec(), b"yes".to_vec());
    let mut reopened = LogStore::open(store.into_device(), Greedy).unwrap();
    assert_eq!(contents(&mut reopened), model);
}

//! Random operations against a `BTreeMap` model, reopening the store now and then: every
//! answer must agree, and a reopened store must hold exactly what was committed.

use super::{Random, chance, contents, small_layout, value_bytes};
use crate::block_device::MemoryBlocks;
use crate::log_store::{CleaningPolicy, CostBenefit, Greedy, LogStore};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

fn run_against_model<C: CleaningPolicy + Copy>(seed: u64, operation_count: usize, policy: C) {
    let mut random = Random::new(seed);
    let mut store: LogStore<MemoryBlocks, C> = super::formatted(small_layout(), 14, policy);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut committed = model.clone();
    let mut segments_cleaned = 0;
    for index in 0..operation_count {
        let key = format!("k{}", random.below(40)).into_bytes();
        let context = format!("seed {seed}, operation {index}");
        // A put or delete that has to clean commits the batch before it first.
        let commits_before = store.statistics().commits;
        let model_before = model.clone();
        let roll = random.below(100);
        let is_put_or_delete = roll < 60;
        match roll {
            0..45 => {
                let length = if chance(&mut random, 1, 30) {
                    16_384
                } else {
                    random.below(2_000)
                };
                let value = value_bytes(random.next_u64(), length as usize);
                store.put(&key, &value).expect(&context);
                model.insert(key, value);
            }
            45..60 => {
                let was_present = store.delete(&key).expect(&context);
                assert_eq!(was_present, model.remove(&key).is_some(), "{context}");
            }
            60..85 => assert_eq!(store.get(&key), Ok(model.get(&key).cloned()), "{context}"),
            85..95 => {
                store.commit().expect(&context);
                committed = model.clone();
            }
            95..98 => {
                store.checkpoint().expect(&context);
                committed = model.clone();
            }
            _ => {
                // Dropping the open batch is what a crash does to it.
                segments_cleaned += store.statistics().segments_cleaned;
                store = LogStore::open(store.into_device(), policy).expect(&context);
                model = committed.clone();
                assert_same(&contents(&mut store), &model, &context);
            }
        }
        if is_put_or_delete && store.statistics().commits > commits_before {
            committed = model_before;
        }
    }
    assert_same(&contents(&mut store), &model, "at the end");
    segments_cleaned += store.statistics().segments_cleaned;
    assert!(segments_cleaned > 0, "the workload must clean");
}

/// Compares a store's contents with the model, naming the keys that differ (values are long).
fn assert_same(
    actual: &BTreeMap<Vec<u8>, Vec<u8>>,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    context: &str,
) {
    let differing: Vec<(&Vec<u8>, Option<usize>, Option<usize>)> = actual
        .keys()
        .chain(model.keys())
        .filter(|key| actual.get(*key) != model.get(*key))
        .map(|key| {
            (
                key,
                actual.get(key).map(Vec::len),
                model.get(key).map(Vec::len),
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "{context}: (key, stored length, model length): {differing:?}"
    );
}

#[test]
fn random_operations_agree_with_a_model_greedy() {
    run_against_model(11, 3_000, Greedy);
}

#[test]
fn random_operations_agree_with_a_model_cost_benefit() {
    run_against_model(12, 3_000, CostBenefit);
}

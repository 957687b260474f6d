//! The store's calls one at a time: values round-trip, commits cost one write and one flush,
//! acknowledged blocks are never written again, limits are refused.

use super::crash_device::{DeviceEvent, RecordingDevice};
use super::{contents, device_for, small_layout, small_store, value_bytes};
use crate::block_device::{BLOCK_SIZE, MemoryBlocks};
use crate::log_store::{
    CostBenefit, Greedy, KEY_BYTES_MAX, Layout, LogStore, StoreError, VALUE_BYTES_MAX,
};
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

#[test]
fn puts_and_deletes_survive_reopening_once_committed() {
    let mut store = small_store(6);
    store.put(b"alpha", b"one").unwrap();
    store.put(b"beta", &value_bytes(1, 9_000)).unwrap();
    store.put(b"alpha", b"two").unwrap();
    assert_eq!(store.get(b"alpha"), Ok(Some(b"two".to_vec())));
    assert_eq!(store.delete(b"gamma"), Ok(false));
    store.commit().unwrap();
    assert_eq!(store.delete(b"beta"), Ok(true));
    store.put(b"uncommitted", b"lost").unwrap();
    assert_eq!(store.get(b"beta"), Ok(None));

    let mut reopened = LogStore::open(store.into_device(), Greedy).unwrap();
    assert_eq!(reopened.get(b"alpha"), Ok(Some(b"two".to_vec())));
    assert_eq!(reopened.get(b"beta"), Ok(Some(value_bytes(1, 9_000))));
    assert_eq!(reopened.get(b"uncommitted"), Ok(None));
    assert_eq!(reopened.len(), 2);
}

#[test]
fn a_commit_is_one_write_and_one_flush_and_an_empty_one_is_free() {
    let mut store = small_store(6);
    for index in 0..40u8 {
        store
            .put(&[index], &value_bytes(u64::from(index), 300))
            .unwrap();
    }
    let before = *store.statistics();
    store.commit().unwrap();
    let cost = store.statistics().since(&before);
    assert_eq!((cost.write_calls, cost.flushes, cost.commits), (1, 1, 1));
    // 40 records of 325 bytes: 13,000 bytes, four blocks.
    assert_eq!(cost.blocks_written, 4);
    let before = *store.statistics();
    store.commit().unwrap();
    assert_eq!(store.statistics().since(&before), Default::default());
}

#[test]
fn a_block_holding_acknowledged_records_is_never_written_again() {
    let layout = small_layout();
    let base = LogStore::format(device_for(layout, 16), Greedy, layout)
        .unwrap()
        .into_device();
    let mut store = LogStore::open(RecordingDevice::new(base), Greedy).unwrap();
    let first_segment_block = 1 + 2 * u64::from(layout.checkpoint_slot_blocks);
    let checkpoint_writes = store.device().events.len();
    for index in 0..60u64 {
        store
            .put_durable(&index.to_le_bytes(), &value_bytes(index, 100))
            .unwrap();
    }
    let mut written = BTreeSet::new();
    for event in &store.device().events[checkpoint_writes..] {
        if let DeviceEvent::Write { block, .. } = event {
            assert!(*block >= first_segment_block);
            assert!(written.insert(*block), "block {block} written twice");
        }
    }
    assert_eq!(written.len(), 60);
    // Each 132-byte record took a block of its own: the waste the rule costs.
    let statistics = store.statistics();
    assert_eq!(statistics.padding_bytes, 60 * (BLOCK_SIZE as u64 - 132));
}

#[test]
fn limits_are_refused_and_the_largest_record_fits() {
    let mut store = small_store(6);
    let long_key = [7u8; KEY_BYTES_MAX];
    let largest = value_bytes(5, VALUE_BYTES_MAX);
    assert_eq!(
        store.put(&[1; KEY_BYTES_MAX + 1], b""),
        Err(StoreError::KeyTooLong)
    );
    assert_eq!(
        store.delete(&[1; KEY_BYTES_MAX + 1]),
        Err(StoreError::KeyTooLong)
    );
    assert_eq!(
        store.put(b"k", &[0; VALUE_BYTES_MAX + 1]),
        Err(StoreError::ValueTooLarge)
    );
    for _ in 0..5 {
        store.put_durable(&long_key, &largest).unwrap();
    }
    store.put_durable(b"", b"").unwrap();
    let mut reopened = LogStore::open(store.into_device(), Greedy).unwrap();
    assert_eq!(reopened.get(&long_key), Ok(Some(largest)));
    assert_eq!(reopened.get(b""), Ok(Some(Vec::new())));
}

#[test]
fn format_refuses_bad_layouts_and_small_devices_and_open_refuses_blank_ones() {
    let too_small = Layout {
        segment_blocks: Layout::SEGMENT_BLOCKS_MIN - 1,
        checkpoint_slot_blocks: 1,
    };
    let no_slot = Layout {
        checkpoint_slot_blocks: 0,
        ..small_layout()
    };
    for layout in [too_small, no_slot] {
        let result = LogStore::format(MemoryBlocks::new(1_000), Greedy, layout);
        assert_eq!(result.err(), Some(StoreError::BadLayout));
    }
    let three_segments = device_for(small_layout(), 3);
    let result = LogStore::format(three_segments, Greedy, small_layout());
    assert_eq!(result.err(), Some(StoreError::DeviceTooSmall));
    let blank = LogStore::open(MemoryBlocks::new(100), CostBenefit);
    assert_eq!(blank.err(), Some(StoreError::NotFormatted));
}

#[test]
fn formatting_again_forgets_the_earlier_store() {
    let mut store = small_store(6);
    for index in 0..30u64 {
        store.put(&index.to_le_bytes(), b"old").unwrap();
    }
    store.checkpoint().unwrap();
    store.put_durable(b"after checkpoint", b"old").unwrap();
    let device = store.into_device();
    let mut reformatted = LogStore::format(device, Greedy, small_layout()).unwrap();
    assert!(reformatted.is_empty());
    // The new store's log starts where the old one's did: its records must not be replayed.
    reformatted.put_durable(b"new", b"value").unwrap();
    let mut reopened = LogStore::open(reformatted.into_device(), Greedy).unwrap();
    assert_eq!(contents(&mut reopened).len(), 1);
}

#[test]
fn new_keys_are_refused_once_the_index_would_not_fit_a_checkpoint() {
    let mut store = small_store(6);
    let mut accepted = 0u32;
    let refusal = loop {
        match store.put(&accepted.to_le_bytes(), b"") {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(refusal, StoreError::IndexFull);
    // One 4 KiB slot: 56 bytes of header and fixed fields, 9 per segment, 17 per key.
    assert_eq!(accepted, (4096 - 56 - 6 * 9) / 17);
    // Overwriting and deleting still work, and a checkpoint fits.
    store.put(&0u32.to_le_bytes(), b"again").unwrap();
    store.delete(&1u32.to_le_bytes()).unwrap();
    store.checkpoint().unwrap();
    let mut reopened = LogStore::open(store.into_device(), Greedy).unwrap();
    assert_eq!(reopened.len(), accepted as usize - 1);
    assert_eq!(
        reopened.get(&0u32.to_le_bytes()),
        Ok(Some(b"again".to_vec()))
    );
}

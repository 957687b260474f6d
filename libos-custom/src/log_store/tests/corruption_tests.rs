//! Damaged media: a bad checkpoint falls back to the other slot, a bad record ends the replay
//! or fails its read, and garbage anywhere never makes the store panic or loop.

use super::{Random, chance, contents, small_store, value_bytes};
use crate::block_device::{BLOCK_SIZE, Block, BlockDevice, MemoryBlocks};
use crate::log_store::format::{CHECKPOINT_HEADER_BYTES, Geometry};
use crate::log_store::{Greedy, LogStore, StoreError};
use alloc::vec::Vec;

fn flip_byte(device: &mut MemoryBlocks, block: u64, offset: usize) {
    let mut bytes = device.block(block).expect("block in range").clone();
    bytes.0[offset] ^= 0x5A;
    device.write(&[(block, &bytes)]).unwrap();
}

/// First block of slot 0 and 1, and of segment 0, for the small layout.
const SLOT_BLOCKS: [u64; 2] = [1, 2];
const FIRST_SEGMENT_BLOCK: u64 = 3;

/// A device whose store checkpointed (sequence 2 after format's 1, so slot 0 is newest),
/// then committed more after the checkpoint; and what it holds.
fn store_with_log_after_checkpoint() -> (MemoryBlocks, Vec<(u64, Vec<u8>)>) {
    let mut store = small_store(6);
    let mut values = Vec::new();
    for index in 0..12u64 {
        let value = value_bytes(index, 700);
        store.put(&index.to_le_bytes(), &value).unwrap();
        values.push((index, value));
        if index == 5 {
            store.checkpoint().unwrap();
        } else {
            store.commit().unwrap();
        }
    }
    (store.into_device(), values)
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_older_one() {
    let (mut device, values) = store_with_log_after_checkpoint();
    // Damage the payload of slot 0, the newest checkpoint.
    flip_byte(&mut device, SLOT_BLOCKS[0], CHECKPOINT_HEADER_BYTES + 3);
    let mut store = LogStore::open(device, Greedy).unwrap();
    for (index, value) in &values {
        assert_eq!(store.get(&index.to_le_bytes()), Ok(Some(value.clone())));
    }
}

#[test]
fn two_damaged_checkpoints_or_a_damaged_superblock_are_refused() {
    let (mut device, _) = store_with_log_after_checkpoint();
    let mut damaged_superblock = device.clone();
    flip_byte(&mut damaged_superblock, 0, 9);
    let result = LogStore::open(damaged_superblock, Greedy);
    assert_eq!(result.err(), Some(StoreError::NotFormatted));
    for slot in SLOT_BLOCKS {
        flip_byte(&mut device, slot, 5);
    }
    assert_eq!(
        LogStore::open(device, Greedy).err(),
        Some(StoreError::NoCheckpoint)
    );
}

#[test]
fn a_damaged_record_after_the_checkpoint_ends_the_replay_there() {
    let (mut device, values) = store_with_log_after_checkpoint();
    // Each commit took a block of its own: record 8 (after the checkpoint at record 5) is in
    // segment 0's ninth block, its last; records 9 to 11 went on in segment 1.
    flip_byte(&mut device, FIRST_SEGMENT_BLOCK + 8, 40);
    let mut store = LogStore::open(device, Greedy).unwrap();
    for (index, value) in &values {
        let expected = (*index < 8).then(|| value.clone());
        assert_eq!(
            store.get(&index.to_le_bytes()),
            Ok(expected),
            "record {index}"
        );
    }
}

#[test]
fn a_damaged_checkpointed_record_fails_its_read_and_its_cleaning() {
    let (mut device, _) = store_with_log_after_checkpoint();
    flip_byte(&mut device, FIRST_SEGMENT_BLOCK + 2, 100);
    let mut store = LogStore::open(device, Greedy).unwrap();
    assert_eq!(store.get(&2u64.to_le_bytes()), Err(StoreError::Corrupt));
    assert_eq!(
        store.get(&3u64.to_le_bytes()),
        Ok(Some(value_bytes(3, 700)))
    );
    // Force the head past segment 0 so that the cleaner may pick it.
    for index in 100..160u64 {
        store
            .put(&index.to_le_bytes(), &value_bytes(index, 700))
            .unwrap();
    }
    store.commit().unwrap();
    let cleaned = store.clean();
    assert!(
        matches!(cleaned, Err(StoreError::Corrupt) | Ok(_)),
        "{cleaned:?}"
    );
}

/// A checkpoint slot holding `payload` under a valid header.
fn checkpoint_slot(geometry: &Geometry, sequence: u64, payload: &[u8]) -> Block {
    let mut header = Vec::new();
    header.extend_from_slice(&u32::from_le_bytes(*b"LCKP").to_le_bytes());
    header.extend_from_slice(&sequence.to_le_bytes());
    header.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    header.extend_from_slice(&geometry.checksum().update(payload).value().to_le_bytes());
    let header_checksum = geometry.checksum().update(&header).value();
    header.extend_from_slice(&header_checksum.to_le_bytes());
    header.extend_from_slice(payload);
    let mut block = Block::zeroed();
    block.0[..header.len()].copy_from_slice(&header);
    block
}

#[test]
fn garbage_never_makes_open_or_the_store_panic() {
    let template = small_store(6).into_device();
    let geometry = crate::log_store::format::decode_superblock(
        template.block(0).unwrap(),
        template.block_count(),
    )
    .unwrap();
    let mut random = Random::new(99);
    for round in 0..300 {
        let mut device = template.clone();
        // Random blocks everywhere past the superblock, sometimes a checkpoint that passes its
        // checksums but says random things, sometimes valid-looking records.
        for block in 1..device.block_count() {
            if chance(&mut random, 1, 3) {
                let mut bytes = Block::zeroed();
                bytes
                    .0
                    .iter_mut()
                    .for_each(|byte| *byte = random.next_u64() as u8);
                device.write(&[(block, &bytes)]).unwrap();
            }
        }
        if round % 2 == 0 {
            let length = random.below(BLOCK_SIZE as u64 - 100) as usize;
            let mut payload: Vec<u8> = (0..length).map(|_| random.next_u64() as u8).collect();
            // Plausible fields, so that the parser gets further: 6 segments, a small count.
            if payload.len() >= 32 {
                payload[24..28].copy_from_slice(&6u32.to_le_bytes());
                payload[28..32].copy_from_slice(&(random.below(8) as u32).to_le_bytes());
                payload[16..24].fill(0);
            }
            let slot = checkpoint_slot(&geometry, u64::MAX - random.below(2), &payload);
            device
                .write(&[(SLOT_BLOCKS[round % 4 / 2], &slot)])
                .unwrap();
        }
        if let Ok(mut store) = LogStore::open(device, Greedy) {
            let keys: Vec<Vec<u8>> = store.keys().map(<[u8]>::to_vec).collect();
            for key in keys {
                let _ = store.get(&key);
            }
            let _ = store.put(b"after garbage", b"value");
            let _ = store.commit();
            let _ = store.clean();
        }
    }
    // The template itself still opens.
    let mut store = LogStore::open(template, Greedy).unwrap();
    assert!(contents(&mut store).is_empty());
}

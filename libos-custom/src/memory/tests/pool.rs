//! The pool against a model of what each block should hold, over random reads, writes,
//! flushes, give-backs and losses; and its batching, ordering and error cases one by one.

use crate::block_device::{Block, BlockDevice, DeviceError, MemoryBlocks};
use crate::memory::{BufferPool, Clock, Lru, PoolError, ReplacementPolicy, TwoQueue};
use proptest::prelude::*;
use std::collections::HashMap;

const BLOCKS: u64 = 24;

/// A device that checks every write call against the batch limit, and can refuse one block.
struct CheckedDevice {
    inner: MemoryBlocks,
    batch_pages_max: usize,
    failing_block: Option<u64>,
}

impl CheckedDevice {
    fn new(batch_pages_max: usize) -> CheckedDevice {
        let mut inner = MemoryBlocks::new(BLOCKS as usize);
        // Each block starts with its own number, so that a wrong slot shows.
        for block in 0..BLOCKS {
            inner.write(&[(block, &filled_block(block as u8))]).unwrap();
        }
        inner.write_calls = 0;
        inner.writes = 0;
        CheckedDevice {
            inner,
            batch_pages_max,
            failing_block: None,
        }
    }

    fn first_byte(&self, block: u64) -> u8 {
        self.inner.block(block).unwrap().0[0]
    }
}

impl BlockDevice for CheckedDevice {
    fn block_count(&self) -> u64 {
        self.inner.block_count()
    }
    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), DeviceError> {
        if self.failing_block == Some(block) {
            return Err(DeviceError::Failed);
        }
        self.inner.read(block, into)
    }
    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), DeviceError> {
        assert!(!writes.is_empty() && writes.len() <= self.batch_pages_max);
        if writes
            .iter()
            .any(|&(block, _)| self.failing_block == Some(block))
        {
            return Err(DeviceError::Failed);
        }
        self.inner.write(writes)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.inner.flush()
    }
}

/// The first, a middle and the last byte: a page is always written whole here.
fn sample_bytes(page: &Block) -> [u8; 3] {
    [page.0[0], page.0[2048], page.0[4095]]
}

fn filled_block(byte: u8) -> Block {
    Block([byte; crate::block_device::BLOCK_SIZE])
}

#[derive(Clone, Debug)]
enum Operation {
    Read(u64),
    Write(u64, u8),
    Flush,
    GiveBack(usize),
    Lose(Vec<usize>),
}

fn operations() -> impl Strategy<Value = Vec<Operation>> {
    let operation = prop_oneof![
        10 => (0..BLOCKS + 1).prop_map(Operation::Read),
        8 => (0..BLOCKS, any::<u8>()).prop_map(|(block, byte)| Operation::Write(block, byte)),
        1 => Just(Operation::Flush),
        1 => (0..3usize).prop_map(Operation::GiveBack),
        1 => proptest::collection::vec(0..10usize, 0..3).prop_map(Operation::Lose),
    ];
    proptest::collection::vec(operation, 1..200)
}

/// Runs `operations` on a pool of 8 frames, checking every read against the model (the
/// last byte written to each block, or the device's after a loss).
fn check_against_model(policy: impl ReplacementPolicy, operations: &[Operation]) {
    const BATCH: usize = 3;
    let device = CheckedDevice::new(BATCH);
    let mut pool =
        BufferPool::new(device, policy, vec![Block::zeroed(); 8]).with_write_batch(BATCH);
    let mut expected: HashMap<u64, u8> = (0..BLOCKS).map(|block| (block, block as u8)).collect();
    let mut lost_total = 0;
    for operation in operations {
        match operation {
            Operation::Read(block) => match pool.read(*block, sample_bytes) {
                Ok(bytes) => assert_eq!(bytes, [expected[block]; 3]),
                Err(PoolError::Device(DeviceError::OutOfRange)) => assert_eq!(*block, BLOCKS),
                Err(PoolError::NoFrame) => assert_eq!(pool.usable_slot_count(), 0),
                Err(error) => panic!("{error:?}"),
            },
            Operation::Write(block, byte) => match pool.write(*block, |page| page.0.fill(*byte)) {
                Ok(()) => {
                    expected.insert(*block, *byte);
                }
                Err(error) => {
                    assert_eq!(error, PoolError::NoFrame);
                    assert_eq!(pool.usable_slot_count(), 0);
                }
            },
            Operation::Flush => {
                pool.flush().unwrap();
                assert_eq!(pool.dirty_page_count(), 0);
            }
            Operation::GiveBack(count) => {
                let usable = pool.usable_slot_count();
                let retired = pool.give_back(*count).unwrap();
                assert_eq!(retired.len(), (*count).min(usable));
                assert_eq!(pool.usable_slot_count(), usable - retired.len());
                for slot in retired {
                    assert!((0..BLOCKS).all(|block| pool.slot_of(block) != Some(slot)));
                }
            }
            Operation::Lose(slots) => {
                let held: Vec<u64> = (0..BLOCKS)
                    .filter(|&block| {
                        pool.slot_of(block)
                            .is_some_and(|slot| slots.contains(&slot))
                    })
                    .collect();
                let dirty_before = pool.dirty_page_count();
                let changed = held
                    .iter()
                    .filter(|&&block| pool.device().first_byte(block) != expected[&block])
                    .count() as u64;
                let lost = pool.lose(slots);
                assert_eq!(lost, (dirty_before - pool.dirty_page_count()) as u64);
                assert!(lost >= changed && lost <= held.len() as u64);
                lost_total += lost;
                for block in held {
                    assert_eq!(pool.slot_of(block), None);
                    expected.insert(block, pool.device().first_byte(block));
                }
            }
        }
        assert!(pool.stats().blocks_written <= pool.stats().write_calls * BATCH as u64);
    }
    // Nothing written is lost except by `lose`: after a flush the device holds the model.
    pool.flush().unwrap();
    for block in 0..BLOCKS {
        assert_eq!(
            pool.device().first_byte(block),
            expected[&block],
            "block {block}"
        );
    }
    let stats = pool.stats();
    assert_eq!(stats.dirty_pages_lost, lost_total);
    assert_eq!(stats.blocks_read, pool.device().inner.reads);
    assert_eq!(stats.blocks_written, pool.device().inner.writes);
    assert_eq!(stats.write_calls, pool.device().inner.write_calls);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn pool_with_lru_keeps_contents_right(operations in operations()) {
        check_against_model(Lru::new(), &operations);
    }

    #[test]
    fn pool_with_clock_keeps_contents_right(operations in operations()) {
        check_against_model(Clock::new(), &operations);
    }

    #[test]
    fn pool_with_two_queue_keeps_contents_right(operations in operations()) {
        check_against_model(TwoQueue::new(), &operations);
    }
}

fn lru_pool(frames: usize, batch: usize) -> BufferPool<CheckedDevice, Lru, Vec<Block>> {
    BufferPool::new(
        CheckedDevice::new(batch),
        Lru::new(),
        vec![Block::zeroed(); frames],
    )
    .with_write_batch(batch)
}

#[test]
fn a_dirty_victim_goes_out_with_other_dirty_cold_pages_in_one_call() {
    let mut pool = lru_pool(8, 4);
    for block in 0..8 {
        pool.write(block, |page| page.0[0] = 100).unwrap();
    }
    pool.read(8, |_| ()).unwrap();
    assert_eq!(pool.stats().write_calls, 1);
    assert_eq!(pool.stats().blocks_written, 4);
    // The next three victims were written with the first: no more write calls.
    for block in 9..12 {
        pool.read(block, |_| ()).unwrap();
    }
    assert_eq!(pool.stats().write_calls, 1);
    assert_eq!(pool.dirty_page_count(), 4);
    assert_eq!(pool.device().first_byte(3), 100);
}

#[test]
fn give_back_takes_empty_then_clean_then_dirty_slots_coldest_first() {
    let mut pool = lru_pool(4, 4);
    pool.write(0, |page| page.0[0] = 1).unwrap();
    pool.read(1, |_| ()).unwrap();
    pool.read(2, |_| ()).unwrap();
    let empty = pool.give_back(1).unwrap();
    assert_eq!(
        pool.slot_of(0)
            .into_iter()
            .chain(pool.slot_of(1))
            .chain(pool.slot_of(2))
            .count(),
        3
    );
    assert!(!empty.iter().any(|&slot| Some(slot) == pool.slot_of(0)));
    // Block 0 is the coldest but dirty: the clean ones go first, in recency order.
    let slot_of_1 = pool.slot_of(1).unwrap();
    let slot_of_2 = pool.slot_of(2).unwrap();
    assert_eq!(pool.give_back(2).unwrap(), [slot_of_1, slot_of_2]);
    assert_eq!(pool.stats().write_calls, 0);
    let slot_of_0 = pool.slot_of(0).unwrap();
    assert_eq!(pool.give_back(5).unwrap(), [slot_of_0]);
    assert_eq!(pool.device().first_byte(0), 1);
    assert_eq!(pool.read(0, |_| ()), Err(PoolError::NoFrame));
    assert_eq!(pool.give_back(1).unwrap(), []);
}

#[test]
fn lose_forgets_dirty_pages_and_ignores_bad_slots() {
    let mut pool = lru_pool(4, 4);
    pool.write(5, |page| page.0[0] = 50).unwrap();
    pool.read(6, |_| ()).unwrap();
    let slots = [
        pool.slot_of(5).unwrap(),
        pool.slot_of(6).unwrap(),
        99,
        usize::MAX,
    ];
    assert_eq!(pool.lose(&slots), 1);
    assert_eq!(pool.lose(&slots), 0);
    assert_eq!(pool.stats().dirty_pages_lost, 1);
    assert_eq!(pool.usable_slot_count(), 2);
    assert_eq!(pool.read(5, |page| page.0[0]), Ok(5));
}

#[test]
fn device_errors_leave_the_pool_consistent() {
    let mut pool = lru_pool(2, 2);
    pool.device_mut().failing_block = Some(3);
    assert_eq!(
        pool.read(3, |_| ()),
        Err(PoolError::Device(DeviceError::Failed))
    );
    assert_eq!(
        pool.read(BLOCKS, |_| ()),
        Err(PoolError::Device(DeviceError::OutOfRange))
    );
    pool.device_mut().failing_block = None;
    pool.write(3, |page| page.0[0] = 33).unwrap();
    pool.write(4, |page| page.0[0] = 44).unwrap();
    // Writing the victim back fails: the miss fails and nothing is forgotten.
    pool.device_mut().failing_block = Some(3);
    assert_eq!(
        pool.read(7, |_| ()),
        Err(PoolError::Device(DeviceError::Failed))
    );
    assert_eq!(
        pool.give_back(2),
        Err(PoolError::Device(DeviceError::Failed))
    );
    assert_eq!(pool.flush(), Err(PoolError::Device(DeviceError::Failed)));
    assert_eq!(pool.usable_slot_count(), 2);
    pool.device_mut().failing_block = None;
    assert_eq!(pool.read(3, |page| page.0[0]), Ok(33));
    pool.flush().unwrap();
    assert_eq!(
        (pool.device().first_byte(3), pool.device().first_byte(4)),
        (33, 44)
    );
}

#[test]
fn a_pool_without_frames_refuses_instead_of_panicking() {
    let mut pool = BufferPool::new(MemoryBlocks::new(4), TwoQueue::new(), Vec::new());
    assert_eq!(pool.read(0, |_| ()), Err(PoolError::NoFrame));
    assert_eq!(pool.give_back(3), Ok(vec![]));
    assert_eq!(pool.lose(&[0]), 0);
    let (device, _, frames) = pool.into_parts();
    assert_eq!((device.reads, frames.len()), (0, 0));
}

//! Crash injection: a seeded workload of puts, deletes, commits, checkpoints and cleaning runs
//! on a recording device; then the power is cut at every write, once with every later write
//! dropped and once with the unflushed writes kept at random (sometimes tearing the one in
//! flight), and sometimes again during the recovery. Each time the store must open, and hold
//! exactly the state after some prefix of the operations that includes every acknowledged one.

use super::crash_device::{CrashImages, RecordingDevice};
use super::{Random, chance, contents, small_layout, value_bytes};
use crate::block_device::MemoryBlocks;
use crate::log_store::{CleaningPolicy, CostBenefit, Greedy, LogStore};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// Keys the workload picks from, so that they are overwritten and deleted often.
const KEY_COUNT: u64 = 8;

/// Segments of the crash device: few, so that the workload cleans.
const CRASH_SEGMENTS: u32 = 10;

#[derive(Clone, Debug)]
enum Operation {
    Put { key: Vec<u8>, value: Vec<u8> },
    PutDurable { key: Vec<u8>, value: Vec<u8> },
    Delete(Vec<u8>),
    Commit,
    Checkpoint,
    Clean,
}

/// What a run of the workload did, for judging crash images.
struct Recording {
    /// The model before any operation (index 0) and after each (index `operation + 1`).
    states: Vec<State>,
    /// For each operation that acknowledged everything before it: the writes issued when it
    /// returned, and the state index it made durable.
    acknowledgements: Vec<(usize, usize)>,
}

impl Recording {
    /// The index of the oldest state a crash before write `cut` may recover.
    fn oldest_allowed_state(&self, cut: usize) -> usize {
        self.acknowledgements
            .iter()
            .filter(|&&(writes, _)| writes <= cut)
            .map(|&(_, state)| state)
            .max()
            .unwrap_or(0)
    }
}

fn key(random: &mut Random) -> Vec<u8> {
    let index = random.below(KEY_COUNT);
    // One long key, so that records of every shape occur.
    if index == 0 {
        alloc::vec![b'k'; 200]
    } else {
        format!("key-{index}").into_bytes()
    }
}

fn value(random: &mut Random, seed: u64) -> Vec<u8> {
    let length = match random.below(20) {
        0..14 => random.below(600),
        14..19 => 600 + random.below(4_400),
        _ => 5_000 + random.below(16_384 - 5_000 + 1),
    };
    value_bytes(seed, length as usize)
}

fn choose_operation(random: &mut Random, seed: u64) -> Operation {
    match random.below(100) {
        0..45 => Operation::Put {
            key: key(random),
            value: value(random, seed),
        },
        45..52 => Operation::PutDurable {
            key: key(random),
            value: value(random, seed),
        },
        52..65 => Operation::Delete(key(random)),
        65..85 => Operation::Commit,
        85..93 => Operation::Checkpoint,
        _ => Operation::Clean,
    }
}

/// A freshly formatted device, the base every crash image starts from.
fn formatted_base<C: CleaningPolicy>(policy: C) -> MemoryBlocks {
    super::formatted(small_layout(), CRASH_SEGMENTS, policy).into_device()
}

fn record_workload<C: CleaningPolicy + Copy>(
    seed: u64,
    operation_count: usize,
    policy: C,
    base: &MemoryBlocks,
) -> (Recording, Vec<super::crash_device::DeviceEvent>) {
    let mut random = Random::new(seed);
    let mut store = LogStore::open(RecordingDevice::new(base.clone()), policy)
        .expect("open the workload's store");
    let mut model = State::new();
    let mut recording = Recording {
        states: Vec::from([model.clone()]),
        acknowledgements: Vec::new(),
    };
    for index in 0..operation_count {
        let operation = choose_operation(&mut random, seed * 1_000_000 + index as u64);
        let context = format!("seed {seed}, operation {index}: {operation:?}");
        let is_acknowledging = match &operation {
            Operation::Put { key, value } => {
                store.put(key, value).expect(&context);
                model.insert(key.clone(), value.clone());
                false
            }
            Operation::PutDurable { key, value } => {
                store.put_durable(key, value).expect(&context);
                model.insert(key.clone(), value.clone());
                true
            }
            Operation::Delete(key) => {
                let was_present = store.delete(key).expect(&context);
                assert_eq!(was_present, model.remove(key).is_some(), "{context}");
                false
            }
            Operation::Commit => store.commit().is_ok(),
            Operation::Checkpoint => store.checkpoint().is_ok(),
            Operation::Clean => store.clean().is_ok(),
        };
        recording.states.push(model.clone());
        if is_acknowledging {
            recording
                .acknowledgements
                .push((store.device().write_count, index + 1));
        }
    }
    assert!(
        store.statistics().segments_cleaned > 0,
        "seed {seed}: the workload must clean"
    );
    (recording, store.into_device().events)
}

/// Opens a crash image and checks it against the recording; returns the recovered state.
fn verify_image<C: CleaningPolicy + Copy>(
    image: MemoryBlocks,
    recording: &Recording,
    cut: usize,
    policy: C,
    context: &str,
) -> State {
    let mut store =
        LogStore::open(image, policy).unwrap_or_else(|error| panic!("{context}: open: {error:?}"));
    let recovered = contents(&mut store);
    let oldest = recording.oldest_allowed_state(cut);
    assert!(
        recording.states[oldest..].contains(&recovered),
        "{context}: the recovered store is no state from {oldest} on: {:?}",
        recovered.keys().collect::<Vec<_>>()
    );
    recovered
}

/// Crashes the recovery of `image` at each of its writes: the state must not change, and the
/// store must then take a new durable put.
fn verify_crashed_recovery<C: CleaningPolicy + Copy>(
    image: MemoryBlocks,
    expected: &State,
    policy: C,
    random: &mut Random,
    context: &str,
) {
    let store = LogStore::open(RecordingDevice::new(image.clone()), policy).expect(context);
    let events = store.into_device().events;
    let mut images = CrashImages::new(image, &events);
    for cut in 0..=images.write_count() {
        let context = format!("{context}, recovery cut {cut}");
        for second in [
            images.dropped_after(cut),
            images.reordered_at(cut, random, true),
        ] {
            let mut store = LogStore::open(second, policy)
                .unwrap_or_else(|error| panic!("{context}: {error:?}"));
            assert_eq!(&contents(&mut store), expected, "{context}");
            store
                .put_durable(b"after-recovery", b"new")
                .expect(&context);
            let mut reopened = LogStore::open(store.into_device(), policy).expect(&context);
            let mut expected_after = expected.clone();
            expected_after.insert(b"after-recovery".to_vec(), b"new".to_vec());
            assert_eq!(
                contents(&mut reopened),
                expected_after,
                "{context}: after a new put"
            );
        }
    }
}

fn crash_at_every_write<C: CleaningPolicy + Copy>(seed: u64, operation_count: usize, policy: C) {
    let base = formatted_base(policy);
    let (recording, events) = record_workload(seed, operation_count, policy, &base);
    let mut images = CrashImages::new(base, &events);
    let mut random = Random::new(seed ^ 0xC0FFEE);
    for cut in 0..=images.write_count() {
        let context = format!("seed {seed}, cut {cut} of {}", images.write_count());
        let dropped = images.dropped_after(cut);
        verify_image(
            dropped,
            &recording,
            cut,
            policy,
            &format!("{context}, later writes dropped"),
        );
        let may_tear = chance(&mut random, 1, 2);
        let reordered = images.reordered_at(cut, &mut random, may_tear);
        let context = format!("{context}, unflushed writes kept at random");
        let recovered = verify_image(reordered.clone(), &recording, cut, policy, &context);
        if cut % 23 == 0 {
            verify_crashed_recovery(reordered, &recovered, policy, &mut random, &context);
        }
    }
}

#[test]
fn a_crash_at_any_write_keeps_every_acknowledged_operation_greedy() {
    for seed in 1..=2 {
        crash_at_every_write(seed, 220, Greedy);
    }
}

#[test]
fn a_crash_at_any_write_keeps_every_acknowledged_operation_cost_benefit() {
    crash_at_every_write(3, 220, CostBenefit);
}

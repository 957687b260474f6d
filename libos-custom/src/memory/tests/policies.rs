//! Each policy against a plain model of the same algorithm (vectors and linear scans), over
//! random sequences of fills, uses, evictions and removals; and the contract every policy
//! owes the pool.

use crate::memory::{Clock, Lru, ReplacementPolicy, TwoQueue};
use proptest::prelude::*;
use std::collections::VecDeque;

const SLOTS: usize = 12;

#[derive(Clone, Debug)]
enum Event {
    /// Fill the first empty slot at or after this index with this block, or use the slot
    /// if it is filled.
    Access(usize, u64),
    /// Evict the policy's victim.
    Evict,
    /// Empty this slot if filled (given back or lost).
    Remove(usize),
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    let event = prop_oneof![
        6 => (0..SLOTS, 0..40u64).prop_map(|(slot, block)| Event::Access(slot, block)),
        3 => Just(Event::Evict),
        1 => (0..SLOTS + 2).prop_map(Event::Remove),
    ];
    proptest::collection::vec(event, 1..300)
}

/// The same algorithm, written the obvious way.
trait Model {
    fn filled(&mut self, slot: usize, block: u64);
    fn used(&mut self, slot: usize);
    fn emptied(&mut self, slot: usize);
    fn victim(&mut self) -> Option<usize>;
    /// Every filled slot, coldest first.
    fn coldest(&self) -> Vec<usize>;
}

/// Recency order, least recent first.
#[derive(Default)]
struct LruModel(Vec<usize>);

impl Model for LruModel {
    fn filled(&mut self, slot: usize, _block: u64) {
        self.0.push(slot);
    }
    fn used(&mut self, slot: usize) {
        self.0.retain(|&other| other != slot);
        self.0.push(slot);
    }
    fn emptied(&mut self, slot: usize) {
        self.0.retain(|&other| other != slot);
    }
    fn victim(&mut self) -> Option<usize> {
        self.0.first().copied()
    }
    fn coldest(&self) -> Vec<usize> {
        self.0.clone()
    }
}

/// A reference bit per slot, `None` when empty, and a hand.
struct ClockModel {
    bits: Vec<Option<bool>>,
    hand: usize,
}

impl Model for ClockModel {
    fn filled(&mut self, slot: usize, _block: u64) {
        self.bits[slot] = Some(true);
    }
    fn used(&mut self, slot: usize) {
        self.bits[slot] = Some(true);
    }
    fn emptied(&mut self, slot: usize) {
        self.bits[slot] = None;
    }
    fn victim(&mut self) -> Option<usize> {
        self.bits.iter().flatten().next()?;
        loop {
            let slot = self.hand;
            self.hand = (self.hand + 1) % SLOTS;
            match self.bits[slot] {
                Some(true) => self.bits[slot] = Some(false),
                Some(false) => return Some(slot),
                None => {}
            }
        }
    }
    fn coldest(&self) -> Vec<usize> {
        let order: Vec<usize> = (0..SLOTS).map(|step| (self.hand + step) % SLOTS).collect();
        let with_bit = |bit| {
            order
                .iter()
                .copied()
                .filter(move |&slot| self.bits[slot] == Some(bit))
        };
        with_bit(false).chain(with_bit(true)).collect()
    }
}

/// 2Q with queues of (slot, block), front = oldest.
struct TwoQueueModel {
    first_in: VecDeque<(usize, u64)>,
    hot: VecDeque<usize>,
    ghosts: VecDeque<u64>,
    first_in_max: usize,
    ghost_max: usize,
}

impl Model for TwoQueueModel {
    fn filled(&mut self, slot: usize, block: u64) {
        if let Some(position) = self.ghosts.iter().position(|&ghost| ghost == block) {
            self.ghosts.remove(position);
            self.hot.push_back(slot);
        } else {
            self.first_in.push_back((slot, block));
        }
    }
    fn used(&mut self, slot: usize) {
        if let Some(position) = self.hot.iter().position(|&other| other == slot) {
            self.hot.remove(position);
            self.hot.push_back(slot);
        }
    }
    fn emptied(&mut self, slot: usize) {
        if let Some(position) = self.first_in.iter().position(|&(other, _)| other == slot) {
            let (_, block) = self.first_in.remove(position).unwrap();
            self.ghosts.retain(|&ghost| ghost != block);
            self.ghosts.push_back(block);
            while self.ghosts.len() > self.ghost_max {
                self.ghosts.pop_front();
            }
        } else {
            self.hot.retain(|&other| other != slot);
        }
    }
    fn victim(&mut self) -> Option<usize> {
        let oldest_first_in = self.first_in.front().map(|&(slot, _)| slot);
        if self.first_in.len() > self.first_in_max || self.hot.is_empty() {
            oldest_first_in
        } else {
            self.hot.front().copied()
        }
    }
    fn coldest(&self) -> Vec<usize> {
        let excess = self.first_in.len().saturating_sub(self.first_in_max);
        let first_in: Vec<usize> = self.first_in.iter().map(|&(slot, _)| slot).collect();
        let mut order = first_in[..excess].to_vec();
        order.extend(self.hot.iter().copied());
        order.extend(&first_in[excess..]);
        order
    }
}

/// Replays `events` on the policy and the model, as a pool would, and compares every answer.
fn replay(policy: &mut impl ReplacementPolicy, model: &mut impl Model, events: &[Event]) {
    policy.start(SLOTS);
    let mut block_of_slot: Vec<Option<u64>> = vec![None; SLOTS];
    for event in events {
        match *event {
            Event::Access(slot, block) => {
                if block_of_slot[slot].is_some() {
                    policy.used(slot);
                    model.used(slot);
                } else if !block_of_slot.contains(&Some(block)) {
                    block_of_slot[slot] = Some(block);
                    policy.filled(slot, block);
                    model.filled(slot, block);
                }
            }
            Event::Evict => {
                let victim = policy.victim();
                assert_eq!(victim, model.victim());
                if let Some(slot) = victim {
                    assert!(block_of_slot[slot].is_some(), "victim {slot} is empty");
                    block_of_slot[slot] = None;
                    policy.emptied(slot);
                    model.emptied(slot);
                } else {
                    assert!(block_of_slot.iter().all(Option::is_none));
                }
            }
            Event::Remove(slot) => {
                // Out of range, or empty: the policy must ignore it (the model is not told).
                let is_filled = block_of_slot.get(slot).is_some_and(Option::is_some);
                policy.emptied(slot);
                if is_filled {
                    block_of_slot[slot] = None;
                    model.emptied(slot);
                }
            }
        }
        let mut coldest = Vec::new();
        policy.coldest(usize::MAX, &mut coldest);
        assert_eq!(coldest, model.coldest());
        let mut first_three = Vec::new();
        policy.coldest(3, &mut first_three);
        assert_eq!(first_three[..], coldest[..coldest.len().min(3)]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn lru_matches_its_model(events in events()) {
        replay(&mut Lru::new(), &mut LruModel::default(), &events);
    }

    #[test]
    fn clock_matches_its_model(events in events()) {
        let mut model = ClockModel { bits: vec![None; SLOTS], hand: 0 };
        replay(&mut Clock::new(), &mut model, &events);
    }

    #[test]
    fn two_queue_matches_its_model(events in events()) {
        let mut model = TwoQueueModel {
            first_in: VecDeque::new(),
            hot: VecDeque::new(),
            ghosts: VecDeque::new(),
            first_in_max: SLOTS / 4,
            ghost_max: SLOTS / 2,
        };
        replay(&mut TwoQueue::new(), &mut model, &events);
    }
}

#[test]
fn policies_ignore_calls_out_of_range_and_answer_nothing_when_empty() {
    fn exercise(mut policy: impl ReplacementPolicy) {
        policy.start(2);
        policy.filled(7, 1);
        policy.used(9);
        policy.emptied(5);
        assert_eq!(policy.victim(), None);
        policy.filled(1, 3);
        policy.filled(1, 4);
        assert_eq!(policy.victim(), Some(1));
        let mut coldest = Vec::new();
        policy.coldest(10, &mut coldest);
        assert_eq!(coldest, [1]);
    }
    exercise(Lru::new());
    exercise(Clock::new());
    exercise(TwoQueue::new());
    let mut unstarted = Clock::new();
    unstarted.filled(0, 0);
    assert_eq!(unstarted.victim(), None);
}

#[test]
fn two_queue_keeps_hot_pages_through_a_scan() {
    let mut policy = TwoQueue::new();
    policy.start(8);
    // Block 100 is seen, evicted to the ghost list, seen again: it becomes hot (Am).
    policy.filled(0, 100);
    policy.emptied(0);
    policy.filled(0, 100);
    // A scan of blocks seen once: every victim comes from A1in, never slot 0.
    for (slot, block) in (1..8).zip(200..) {
        policy.filled(slot, block);
    }
    for block in 300..400 {
        let victim = policy.victim().unwrap();
        assert_ne!(victim, 0, "the scan evicted the hot page");
        policy.emptied(victim);
        policy.filled(victim, block);
    }
}

#[test]
fn two_queue_resized_for_fewer_slots_names_its_first_in_excess_coldest() {
    let mut policy = TwoQueue::new();
    // Kin is 4 of 16 slots.
    policy.start(16);
    // Slots 0..8 hold hot blocks (seen, evicted to the ghost list, seen again).
    for slot in 0..8 {
        policy.filled(slot, slot as u64);
        policy.emptied(slot);
        policy.filled(slot, slot as u64);
    }
    // Slots 8..12 hold blocks seen once, oldest first: A1in is at Kin.
    for slot in 8..12 {
        policy.filled(slot, 100 + slot as u64);
    }
    let mut coldest = Vec::new();
    policy.coldest(2, &mut coldest);
    assert_eq!(coldest, [0, 1], "A1in within Kin goes after Am");
    // With 8 usable slots Kin is 2: the two oldest of A1in are now beyond it.
    policy.usable_slots_changed(8);
    coldest.clear();
    policy.coldest(3, &mut coldest);
    assert_eq!(coldest, [8, 9, 0]);
    assert_eq!(policy.victim(), Some(8));
    // Back to 16: A1in is within Kin again.
    policy.usable_slots_changed(16);
    assert_eq!(policy.victim(), Some(0));
}

//! Clock (second chance): a hand sweeps the slots; a slot used since the hand last passed
//! gets its reference bit cleared and is spared once.

use super::ReplacementPolicy;
use alloc::vec;
use alloc::vec::Vec;

/// Clock over a reference bit per slot. `filled` and `used` are O(1); `victim` is amortized
/// O(1) (each step of the hand clears a bit some access set, or finds the victim).
#[derive(Clone, Debug, Default)]
pub struct Clock {
    is_filled: Vec<bool>,
    is_referenced: Vec<bool>,
    filled_count: usize,
    hand: usize,
}

impl Clock {
    /// A policy for a pool to [`start`](ReplacementPolicy::start).
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Filled slots in the hand's order, starting at the hand.
    fn sweep_order(&self) -> impl Iterator<Item = usize> + '_ {
        let slot_count = self.is_filled.len();
        (0..slot_count)
            .map(move |step| (self.hand + step) % slot_count)
            .filter(|&slot| self.is_filled[slot])
    }
}

impl ReplacementPolicy for Clock {
    fn start(&mut self, slot_count: usize) {
        *self = Clock {
            is_filled: vec![false; slot_count],
            is_referenced: vec![false; slot_count],
            filled_count: 0,
            hand: 0,
        };
    }

    fn filled(&mut self, slot: usize, _block: u64) {
        if let Some(is_filled @ false) = self.is_filled.get_mut(slot) {
            *is_filled = true;
            // A new page has just been accessed: it gets its second chance like any other.
            self.is_referenced[slot] = true;
            self.filled_count += 1;
        }
    }

    fn used(&mut self, slot: usize) {
        if self.is_filled.get(slot) == Some(&true) {
            self.is_referenced[slot] = true;
        }
    }

    fn emptied(&mut self, slot: usize) {
        if let Some(is_filled @ true) = self.is_filled.get_mut(slot) {
            *is_filled = false;
            self.is_referenced[slot] = false;
            self.filled_count -= 1;
        }
    }

    fn victim(&mut self) -> Option<usize> {
        if self.filled_count == 0 {
            return None;
        }
        let slot_count = self.is_filled.len();
        // Two turns suffice: the first clears every bit it passes.
        for _ in 0..2 * slot_count {
            let slot = self.hand;
            self.hand = (self.hand + 1) % slot_count;
            if !self.is_filled[slot] {
                continue;
            }
            if self.is_referenced[slot] {
                self.is_referenced[slot] = false;
            } else {
                return Some(slot);
            }
        }
        None
    }

    fn coldest(&self, limit: usize, into: &mut Vec<usize>) {
        if self.is_filled.is_empty() {
            return;
        }
        // The hand takes unreferenced slots in its first turn and the others in its second.
        let unreferenced = self.sweep_order().filter(|&slot| !self.is_referenced[slot]);
        let referenced = self.sweep_order().filter(|&slot| self.is_referenced[slot]);
        into.extend(unreferenced.chain(referenced).take(limit));
    }
}

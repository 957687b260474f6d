//! Least recently used: evicts the slot whose last access is oldest.

use super::ReplacementPolicy;
use super::slot_list::SlotList;
use alloc::vec::Vec;

/// Least recently used, over one intrusive list (most recent at the front): every call O(1).
#[derive(Clone, Debug, Default)]
pub struct Lru {
    recency: SlotList,
}

impl Lru {
    /// A policy for a pool to [`start`](ReplacementPolicy::start).
    pub fn new() -> Lru {
        Lru::default()
    }
}

impl ReplacementPolicy for Lru {
    fn start(&mut self, slot_count: usize) {
        self.recency = SlotList::new(slot_count);
    }

    fn filled(&mut self, slot: usize, _block: u64) {
        self.recency.push_front(slot);
    }

    fn used(&mut self, slot: usize) {
        self.recency.move_to_front(slot);
    }

    fn emptied(&mut self, slot: usize) {
        self.recency.remove(slot);
    }

    fn victim(&mut self) -> Option<usize> {
        self.recency.back()
    }

    fn coldest(&self, limit: usize, into: &mut Vec<usize>) {
        into.extend(self.recency.iter_from_back().take(limit));
    }
}

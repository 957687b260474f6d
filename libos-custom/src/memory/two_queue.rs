//! 2Q (Johnson and Shasha, VLDB 1994), the full version: a block seen once waits in a FIFO
//! (A1in); when evicted from there its number goes to a ghost list (A1out); only a block
//! referenced again while remembered there enters the LRU of hot pages (Am). A scan touches
//! each block once, so it passes through A1in and never displaces Am.

use super::ReplacementPolicy;
use super::slot_list::SlotList;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use hashbrown::HashMap;

/// Scan-resistant 2Q over slots: A1in FIFO and Am LRU are intrusive lists over slot indices,
/// A1out a bounded FIFO of block numbers with a hash index. Every call is amortized O(1).
#[derive(Clone, Debug)]
pub struct TwoQueue {
    /// Percent of the slots A1in may keep before its oldest page is evicted first (Kin).
    first_in_percent: usize,
    /// Ghosts remembered, in percent of the slots (Kout).
    ghost_percent: usize,
    first_in_max: usize,
    ghost_max: usize,
    /// Seen once, newest at the front.
    first_in: SlotList,
    /// Seen again after a ghost hit, most recent at the front.
    hot: SlotList,
    /// The block each filled slot holds (for the ghost list when it leaves A1in).
    block_of_slot: Vec<u64>,
    /// Ghosts, oldest at the front, each with the sequence number it was remembered under.
    ghost_order: VecDeque<(u64, u64)>,
    /// Live ghosts: block to sequence number; an entry of `ghost_order` whose number differs
    /// is stale (the block came back or was remembered again).
    ghosts: HashMap<u64, u64>,
    ghost_sequence: u64,
}

impl TwoQueue {
    /// 2Q with the paper's recommended sizes: Kin 25 % of the slots, Kout 50 %.
    pub fn new() -> TwoQueue {
        TwoQueue::with_sizes(25, 50)
    }

    /// 2Q with Kin `first_in_percent` % of the slots (at least one slot) and Kout
    /// `ghost_percent` % (at least one ghost).
    pub fn with_sizes(first_in_percent: usize, ghost_percent: usize) -> TwoQueue {
        TwoQueue {
            first_in_percent,
            ghost_percent,
            first_in_max: 1,
            ghost_max: 1,
            first_in: SlotList::new(0),
            hot: SlotList::new(0),
            block_of_slot: Vec::new(),
            ghost_order: VecDeque::new(),
            ghosts: HashMap::new(),
            ghost_sequence: 0,
        }
    }

    fn remember_ghost(&mut self, block: u64) {
        self.ghost_sequence += 1;
        self.ghosts.insert(block, self.ghost_sequence);
        self.ghost_order.push_back((block, self.ghost_sequence));
        while self.ghosts.len() > self.ghost_max {
            let Some((oldest, sequence)) = self.ghost_order.pop_front() else {
                break;
            };
            if self.ghosts.get(&oldest) == Some(&sequence) {
                self.ghosts.remove(&oldest);
            }
        }
        // Stale entries (blocks that came back) would otherwise pile up while few ghosts
        // expire; dropping them once they are half the queue costs O(1) amortized.
        if self.ghost_order.len() > 2 * self.ghost_max {
            let ghosts = &self.ghosts;
            self.ghost_order
                .retain(|(block, sequence)| ghosts.get(block) == Some(sequence));
        }
    }
}

impl Default for TwoQueue {
    fn default() -> TwoQueue {
        TwoQueue::new()
    }
}

impl ReplacementPolicy for TwoQueue {
    fn start(&mut self, slot_count: usize) {
        *self = TwoQueue {
            first_in: SlotList::new(slot_count),
            hot: SlotList::new(slot_count),
            block_of_slot: vec![0; slot_count],
            ..TwoQueue::with_sizes(self.first_in_percent, self.ghost_percent)
        };
        self.usable_slots_changed(slot_count);
    }

    fn usable_slots_changed(&mut self, usable_slot_count: usize) {
        self.first_in_max = (usable_slot_count.saturating_mul(self.first_in_percent) / 100).max(1);
        self.ghost_max = (usable_slot_count.saturating_mul(self.ghost_percent) / 100).max(1);
    }

    fn filled(&mut self, slot: usize, block: u64) {
        if slot >= self.block_of_slot.len()
            || self.first_in.contains(slot)
            || self.hot.contains(slot)
        {
            return;
        }
        self.block_of_slot[slot] = block;
        if self.ghosts.remove(&block).is_some() {
            self.hot.push_front(slot);
        } else {
            self.first_in.push_front(slot);
        }
    }

    fn used(&mut self, slot: usize) {
        // A hit in A1in changes nothing: correlated references right after the first one
        // do not make a page hot.
        self.hot.move_to_front(slot);
    }

    fn emptied(&mut self, slot: usize) {
        if self.first_in.remove(slot) {
            self.remember_ghost(self.block_of_slot[slot]);
        } else {
            self.hot.remove(slot);
        }
    }

    fn victim(&mut self) -> Option<usize> {
        if self.first_in.len() > self.first_in_max || self.hot.len() == 0 {
            self.first_in.back().or(self.hot.back())
        } else {
            self.hot.back()
        }
    }

    fn coldest(&self, limit: usize, into: &mut Vec<usize>) {
        // Victims come from A1in while it is over Kin, then from Am, then from A1in again.
        let first_in_excess = self.first_in.len().saturating_sub(self.first_in_max);
        let first_in_oldest = self.first_in.iter_from_back().take(first_in_excess);
        let first_in_rest = self.first_in.iter_from_back().skip(first_in_excess);
        let order = first_in_oldest
            .chain(self.hot.iter_from_back())
            .chain(first_in_rest);
        into.extend(order.take(limit));
    }
}

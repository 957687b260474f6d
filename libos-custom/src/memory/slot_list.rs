//! A doubly linked list of slot indices threaded through vectors, so that pushing at the
//! front, removing any member and finding the back are O(1) without allocating.

use alloc::vec;
use alloc::vec::Vec;

/// Marks the end of the list, and a slot not in it.
const NONE: usize = usize::MAX;

/// Slots `0..capacity`, each at most once, in order from front (newest) to back (oldest).
#[derive(Clone, Debug, Default)]
pub(super) struct SlotList {
    /// Towards the front; `NONE` for the front and for non-members.
    previous: Vec<usize>,
    /// Towards the back; `NONE` for the back and for non-members.
    next: Vec<usize>,
    is_member: Vec<bool>,
    front: usize,
    back: usize,
    len: usize,
}

impl SlotList {
    /// An empty list for slots `0..capacity`.
    pub(super) fn new(capacity: usize) -> SlotList {
        SlotList {
            previous: vec![NONE; capacity],
            next: vec![NONE; capacity],
            is_member: vec![false; capacity],
            front: NONE,
            back: NONE,
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn contains(&self, slot: usize) -> bool {
        self.is_member.get(slot).copied().unwrap_or(false)
    }

    /// Adds `slot` at the front; does nothing for a member or an index out of range.
    pub(super) fn push_front(&mut self, slot: usize) {
        if slot >= self.is_member.len() || self.is_member[slot] {
            return;
        }
        self.is_member[slot] = true;
        self.previous[slot] = NONE;
        self.next[slot] = self.front;
        match self.front {
            NONE => self.back = slot,
            old_front => self.previous[old_front] = slot,
        }
        self.front = slot;
        self.len += 1;
    }

    /// Takes `slot` out; returns whether it was a member.
    pub(super) fn remove(&mut self, slot: usize) -> bool {
        if !self.contains(slot) {
            return false;
        }
        let (previous, next) = (self.previous[slot], self.next[slot]);
        match previous {
            NONE => self.front = next,
            _ => self.next[previous] = next,
        }
        match next {
            NONE => self.back = previous,
            _ => self.previous[next] = previous,
        }
        self.is_member[slot] = false;
        self.previous[slot] = NONE;
        self.next[slot] = NONE;
        self.len -= 1;
        true
    }

    /// Moves a member to the front; does nothing for a non-member.
    pub(super) fn move_to_front(&mut self, slot: usize) {
        if self.remove(slot) {
            self.push_front(slot);
        }
    }

    /// The oldest member.
    pub(super) fn back(&self) -> Option<usize> {
        (self.back != NONE).then_some(self.back)
    }

    /// Members from the back (oldest) to the front.
    pub(super) fn iter_from_back(&self) -> impl Iterator<Item = usize> + '_ {
        let mut cursor = self.back;
        core::iter::from_fn(move || {
            let slot = cursor;
            if slot == NONE {
                return None;
            }
            cursor = self.previous[slot];
            Some(slot)
        })
    }
}

//! The memory manager: page replacement policies behind [`ReplacementPolicy`], and a
//! [`BufferPool`] that keeps a device's blocks in a fixed set of frames, chooses victims by
//! the policy, writes dirty pages back in batches and gives frames back to the kernel
//! coldest-first.
//!
//! The pool owns the mechanism (which block is in which slot, what is dirty, reading a miss
//! into its slot, writing back); a policy only decides, over slot indices, which slot to empty
//! next and which slots are coldest. [`Clock`], [`Lru`] and [`TwoQueue`] are the policies here;
//! [`workload`] drives a [`crate::btree::BTree`] over the pool with Zipf reads and full scans.

mod clock;
mod lru;
mod pool;
mod pool_pages;
mod slot_list;
mod two_queue;
pub mod workload;

#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use lru::Lru;
pub use pool::{BufferPool, PoolError, PoolStats};
pub use pool_pages::PoolPages;
pub use two_queue::TwoQueue;

use alloc::vec::Vec;

/// What a page replacement policy is told about a pool's slots, and what it decides.
///
/// A pool has `slot_count` slots, `0..slot_count`, each empty or *filled* (holding one block).
/// The pool tells the policy every change: [`filled`](Self::filled) when a slot starts holding
/// a block, [`used`](Self::used) on each access to a filled slot, [`emptied`](Self::emptied)
/// when a slot stops holding its block (evicted, given back to the kernel, or lost). The
/// *evictable* slots are exactly the filled ones. The policy answers two questions:
/// [`victim`](Self::victim) (which filled slot to empty now) and [`coldest`](Self::coldest)
/// (the filled slots in the order it would evict them).
///
/// The pool's side of the contract: [`start`](Self::start) comes first; `filled` is called
/// only for an empty slot, `used` and `emptied` only for a filled one, every index is below
/// `slot_count`. The policy's side: its answers name only filled slots, and it never panics,
/// even when a caller breaks the pool's side (it ignores an index out of range or a call that
/// does not fit the slot's state). Every method should cost O(1), amortized at worst, except
/// `start` and `coldest`, which may cost O(`slot_count`).
///
/// A new policy is a type with these six methods. First in, first out, for instance, keeps
/// the filled slots in the order they were filled and ignores hits:
///
/// ```
/// use libos_custom::block_device::{Block, MemoryBlocks};
/// use libos_custom::memory::{BufferPool, ReplacementPolicy};
/// use std::collections::VecDeque;
///
/// /// First in, first out. (`emptied` is O(n) here; `Lru`'s intrusive list would make it O(1).)
/// #[derive(Default)]
/// struct Fifo {
///     slot_count: usize,
///     order: VecDeque<usize>,
/// }
///
/// impl ReplacementPolicy for Fifo {
///     fn start(&mut self, slot_count: usize) {
///         *self = Fifo { slot_count, order: VecDeque::with_capacity(slot_count) };
///     }
///     fn filled(&mut self, slot: usize, _block: u64) {
///         if slot < self.slot_count && !self.order.contains(&slot) {
///             self.order.push_back(slot);
///         }
///     }
///     fn used(&mut self, _slot: usize) {}
///     fn emptied(&mut self, slot: usize) {
///         self.order.retain(|&other| other != slot);
///     }
///     fn victim(&mut self) -> Option<usize> {
///         self.order.front().copied()
///     }
///     fn coldest(&self, limit: usize, into: &mut Vec<usize>) {
///         into.extend(self.order.iter().take(limit));
///     }
/// }
///
/// let mut pool = BufferPool::new(MemoryBlocks::new(8), Fifo::default(), vec![Block::zeroed(); 2]);
/// for block in [0, 1, 0, 2] {
///     pool.read(block, |_| ()).unwrap();
/// }
/// // Block 0 came in first, so block 2 replaced it although it was used again.
/// assert_eq!((pool.slot_of(0), pool.slot_of(1).is_some()), (None, true));
/// ```
pub trait ReplacementPolicy {
    /// Forgets everything and prepares for `slot_count` slots, all empty. The pool calls it
    /// once, from [`BufferPool::new`].
    fn start(&mut self, slot_count: usize);

    /// Slot `slot`, empty until now, holds block `block` (just read from the device). The
    /// block number lets a policy remember blocks it evicted (a ghost list).
    fn filled(&mut self, slot: usize, block: u64);

    /// Filled slot `slot` was read or written again (a hit).
    fn used(&mut self, slot: usize);

    /// Filled slot `slot` no longer holds its block: the pool evicted it (after asking
    /// [`victim`](Self::victim)), retired it, or lost it to the kernel.
    fn emptied(&mut self, slot: usize);

    /// The filled slot to empty next, or `None` if no slot is filled. It only chooses: the
    /// slot stays filled until [`emptied`](Self::emptied), which the pool calls next unless
    /// writing the victim back fails (then it may ask again later). A policy may update its
    /// own state here (a clock hand moves and clears reference bits).
    fn victim(&mut self) -> Option<usize>;

    /// Appends to `into` up to `limit` distinct filled slots, coldest (soonest to be evicted)
    /// first, without changing any state. With `limit` at least the number of filled slots
    /// it lists every one. The pool uses it to write dirty cold pages back together with a
    /// dirty victim, and to give frames back to the kernel coldest-first.
    fn coldest(&self, limit: usize, into: &mut Vec<usize>);

    /// Only `usable_slot_count` slots will be used from now on (the others are being given
    /// back to the kernel or were lost to it): a policy that sizes its queues by the slots
    /// resizes them, so that [`coldest`](Self::coldest) names first what the smaller pool
    /// would hold last. The pool calls it before choosing the slots to give back and after
    /// losing some. Policies without sizes ignore it (the default).
    fn usable_slots_changed(&mut self, usable_slot_count: usize) {
        let _ = usable_slot_count;
    }
}

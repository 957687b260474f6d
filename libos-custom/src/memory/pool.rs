//! The buffer pool: a device's blocks cached in a fixed set of frames (slots), replaced by a
//! [`ReplacementPolicy`], written back in batches, and handed back to the kernel on request.

use super::ReplacementPolicy;
use crate::block_device::{Block, BlockDevice, DeviceError};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::DerefMut;
use hashbrown::HashMap;

/// Why a pool operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// The device refused a read or a write (the pool's state is unchanged by a failed read;
    /// pages a failed write-back covered stay dirty).
    Device(DeviceError),
    /// No slot can take the block: every slot is retired or lost, or the policy named no
    /// filled slot to evict.
    NoFrame,
}

impl From<DeviceError> for PoolError {
    fn from(error: DeviceError) -> PoolError {
        PoolError::Device(error)
    }
}

/// What the pool has done since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Accesses that found their block in a slot.
    pub hits: u64,
    /// Accesses that had to read their block.
    pub misses: u64,
    /// Blocks read from the device.
    pub blocks_read: u64,
    /// Blocks written to the device.
    pub blocks_written: u64,
    /// Calls to [`BlockDevice::write`] (each a batch).
    pub write_calls: u64,
    /// Dirty pages whose frames the kernel took ([`BufferPool::lose`]).
    pub dirty_pages_lost: u64,
}

/// What one slot (frame) holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    Free,
    Holding {
        block: u64,
        is_dirty: bool,
    },
    /// Given back or lost: never used again.
    Retired,
}

/// How many times the write batch the pool looks among the coldest slots for dirty pages to
/// write together with a dirty victim: far enough to fill batches, near enough to stay cheap.
const COLD_WINDOW_PER_BATCH: usize = 4;

/// Blocks of a [`BlockDevice`] cached in the frames `M` (one slot per frame), replaced by
/// the policy `P`.
///
/// Accesses go through closures ([`read`](Self::read), [`write`](Self::write)), so no page
/// is borrowed while another is brought in and every filled slot is evictable. A miss is read
/// straight into the slot that will hold it. Dirty pages reach the device when evicted, by
/// [`flush`](Self::flush) or by [`give_back`](Self::give_back); a dirty victim goes out in
/// one [`BlockDevice::write`] together with other dirty cold pages, up to the write batch.
#[derive(Debug)]
pub struct BufferPool<D, P, M> {
    device: D,
    policy: P,
    frames: M,
    slots: Vec<SlotState>,
    slot_of_block: HashMap<u64, usize>,
    /// Slots to fill before evicting; entries retired meanwhile are skipped when popped.
    free_slots: Vec<usize>,
    write_batch_pages: usize,
    stats: PoolStats,
    /// Reused for the policy's coldest slots, so that evictions do not allocate for it.
    coldest_scratch: Vec<usize>,
}

impl<D: BlockDevice, P: ReplacementPolicy, M: DerefMut<Target = [Block]>> BufferPool<D, P, M> {
    /// Pages written in one device call unless [`with_write_batch`](Self::with_write_batch)
    /// says otherwise.
    pub const WRITE_BATCH_PAGES_DEFAULT: usize = 16;

    /// A pool of `frames.len()` empty slots over `device`; starts `policy` for them.
    pub fn new(device: D, mut policy: P, frames: M) -> Self {
        let slot_count = frames.len();
        policy.start(slot_count);
        BufferPool {
            device,
            policy,
            frames,
            slots: vec![SlotState::Free; slot_count],
            slot_of_block: HashMap::with_capacity(slot_count),
            free_slots: (0..slot_count).rev().collect(),
            write_batch_pages: Self::WRITE_BATCH_PAGES_DEFAULT,
            stats: PoolStats::default(),
            coldest_scratch: Vec::new(),
        }
    }

    /// Writes at most `pages` pages (at least one) per device call.
    pub fn with_write_batch(mut self, pages: usize) -> Self {
        self.write_batch_pages = pages.max(1);
        self
    }

    /// Runs `read` on block `block`'s contents, reading it into a slot on a miss.
    ///
    /// Errors: [`PoolError::Device`] (the block is out of range, or a read or the write-back
    /// of a dirty victim failed); [`PoolError::NoFrame`].
    pub fn read<R>(&mut self, block: u64, read: impl FnOnce(&Block) -> R) -> Result<R, PoolError> {
        let slot = self.slot_for(block)?;
        let frame = self.frames.get(slot).ok_or(PoolError::NoFrame)?;
        Ok(read(frame))
    }

    /// Runs `write` on block `block`'s contents and marks it dirty; errors as for
    /// [`read`](Self::read).
    pub fn write<R>(
        &mut self,
        block: u64,
        write: impl FnOnce(&mut Block) -> R,
    ) -> Result<R, PoolError> {
        let slot = self.slot_for(block)?;
        let frame = self.frames.get_mut(slot).ok_or(PoolError::NoFrame)?;
        if let SlotState::Holding { is_dirty, .. } = &mut self.slots[slot] {
            *is_dirty = true;
        }
        Ok(write(frame))
    }

    /// Writes every dirty page back, in batches, then flushes the device.
    ///
    /// Errors: [`PoolError::Device`]; pages not yet written stay dirty.
    pub fn flush(&mut self) -> Result<(), PoolError> {
        let dirty: Vec<usize> = (0..self.slots.len())
            .filter(|&slot| self.is_dirty(slot))
            .collect();
        self.write_back(&dirty)?;
        self.device.flush()?;
        Ok(())
    }

    /// Retires up to `count` slots so that the app can give their frames back to the
    /// kernel, and returns their indices: empty slots first, then the policy's coldest clean
    /// ones, then its coldest dirty ones, which are written back first. The policy is told
    /// the slots left first ([`ReplacementPolicy::usable_slots_changed`]), so that what goes
    /// is what a pool of that size would not hold. Retired slots are never used again.
    /// Either every chosen slot is retired or, if a write-back fails, none.
    ///
    /// Errors: [`PoolError::Device`] (a write-back failed).
    pub fn give_back(&mut self, count: usize) -> Result<Vec<usize>, PoolError> {
        let mut chosen: Vec<usize> = self
            .free_slots
            .iter()
            .rev()
            .copied()
            .filter(|&slot| self.slots[slot] == SlotState::Free)
            .take(count)
            .collect();
        if chosen.len() < count {
            let usable_after = self.usable_slot_count().saturating_sub(count);
            self.policy.usable_slots_changed(usable_after);
            let mut coldest = core::mem::take(&mut self.coldest_scratch);
            coldest.clear();
            self.policy.coldest(usize::MAX, &mut coldest);
            let is_holding =
                |slot: usize| matches!(self.slots.get(slot), Some(SlotState::Holding { .. }));
            let clean = coldest
                .iter()
                .copied()
                .filter(|&slot| is_holding(slot) && !self.is_dirty(slot));
            chosen.extend(clean.take(count - chosen.len()));
            let dirty: Vec<usize> = coldest
                .iter()
                .copied()
                .filter(|&slot| self.is_dirty(slot))
                .take(count - chosen.len())
                .collect();
            self.coldest_scratch = coldest;
            if let Err(error) = self.write_back(&dirty) {
                self.policy.usable_slots_changed(self.usable_slot_count());
                return Err(error);
            }
            chosen.extend(dirty);
        }
        for &slot in &chosen {
            self.retire(slot);
        }
        self.policy.usable_slots_changed(self.usable_slot_count());
        Ok(chosen)
    }

    /// The kernel took the frames of `slots` by force: forgets what they held, never uses
    /// them again, and tells the policy the slots left. Returns how many of them held dirty
    /// pages (lost). Indices out of range or already retired are ignored.
    pub fn lose(&mut self, slots: &[usize]) -> u64 {
        let lost = slots.iter().filter(|&&slot| self.retire(slot)).count() as u64;
        self.policy.usable_slots_changed(self.usable_slot_count());
        self.stats.dirty_pages_lost += lost;
        lost
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Slots not retired (empty or filled).
    pub fn usable_slot_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|&&state| state != SlotState::Retired)
            .count()
    }

    /// Dirty pages held now.
    pub fn dirty_page_count(&self) -> usize {
        (0..self.slots.len())
            .filter(|&slot| self.is_dirty(slot))
            .count()
    }

    /// The slot holding `block`, if any (a lookup: the policy is not told).
    pub fn slot_of(&self, block: u64) -> Option<usize> {
        self.slot_of_block.get(&block).copied()
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device, mutably (to read its counters, or to use blocks the pool does not cache).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// The policy.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// Takes the pool apart without writing anything back (call [`flush`](Self::flush)
    /// first to keep dirty pages).
    pub fn into_parts(self) -> (D, P, M) {
        (self.device, self.policy, self.frames)
    }

    fn is_dirty(&self, slot: usize) -> bool {
        matches!(
            self.slots.get(slot),
            Some(SlotState::Holding { is_dirty: true, .. })
        )
    }

    /// The slot holding `block`, reading it into one on a miss.
    fn slot_for(&mut self, block: u64) -> Result<usize, PoolError> {
        if let Some(&slot) = self.slot_of_block.get(&block) {
            self.stats.hits += 1;
            self.policy.used(slot);
            return Ok(slot);
        }
        // Checked before evicting, so that a bad block number costs no victim.
        if block >= self.device.block_count() {
            return Err(DeviceError::OutOfRange.into());
        }
        let slot = self.take_slot()?;
        self.stats.misses += 1;
        let read = match self.frames.get_mut(slot) {
            Some(frame) => self.device.read(block, frame),
            None => Err(DeviceError::Failed),
        };
        if let Err(error) = read {
            self.free_slots.push(slot);
            return Err(error.into());
        }
        self.stats.blocks_read += 1;
        self.slots[slot] = SlotState::Holding {
            block,
            is_dirty: false,
        };
        self.slot_of_block.insert(block, slot);
        self.policy.filled(slot, block);
        Ok(slot)
    }

    /// An empty slot: a free one, or the policy's victim, emptied (written back if dirty).
    fn take_slot(&mut self) -> Result<usize, PoolError> {
        while let Some(slot) = self.free_slots.pop() {
            if self.slots[slot] == SlotState::Free {
                return Ok(slot);
            }
        }
        let victim = self.policy.victim().ok_or(PoolError::NoFrame)?;
        let Some(&SlotState::Holding { block, is_dirty }) = self.slots.get(victim) else {
            return Err(PoolError::NoFrame);
        };
        if is_dirty {
            let batch = self.dirty_batch_with(victim);
            self.write_back(&batch)?;
        }
        self.slot_of_block.remove(&block);
        self.policy.emptied(victim);
        self.slots[victim] = SlotState::Free;
        Ok(victim)
    }

    /// `victim` and the dirty pages among the coldest, up to a batch.
    fn dirty_batch_with(&mut self, victim: usize) -> Vec<usize> {
        let mut coldest = core::mem::take(&mut self.coldest_scratch);
        coldest.clear();
        self.policy.coldest(
            self.write_batch_pages.saturating_mul(COLD_WINDOW_PER_BATCH),
            &mut coldest,
        );
        let mut batch = vec![victim];
        batch.extend(
            coldest
                .iter()
                .copied()
                .filter(|&slot| slot != victim && self.is_dirty(slot))
                .take(self.write_batch_pages - 1),
        );
        self.coldest_scratch = coldest;
        batch
    }

    /// Writes the dirty pages among `slots` back, a batch per device call, and marks them
    /// clean.
    fn write_back(&mut self, slots: &[usize]) -> Result<(), PoolError> {
        for chunk in slots.chunks(self.write_batch_pages) {
            let writes: Vec<(u64, &Block)> = chunk
                .iter()
                .filter_map(|&slot| match self.slots.get(slot) {
                    Some(&SlotState::Holding {
                        block,
                        is_dirty: true,
                    }) => Some((block, self.frames.get(slot)?)),
                    _ => None,
                })
                .collect();
            if writes.is_empty() {
                continue;
            }
            self.device.write(&writes)?;
            self.stats.write_calls += 1;
            self.stats.blocks_written += writes.len() as u64;
            for &slot in chunk {
                if let Some(SlotState::Holding { is_dirty, .. }) = self.slots.get_mut(slot) {
                    *is_dirty = false;
                }
            }
        }
        Ok(())
    }

    /// Retires `slot`; returns whether it held a dirty page (now lost).
    fn retire(&mut self, slot: usize) -> bool {
        let was_dirty = match self.slots.get(slot) {
            Some(&SlotState::Holding { block, is_dirty }) => {
                self.slot_of_block.remove(&block);
                self.policy.emptied(slot);
                is_dirty
            }
            Some(SlotState::Free) => false,
            Some(SlotState::Retired) | None => return false,
        };
        self.slots[slot] = SlotState::Retired;
        was_dirty
    }
}

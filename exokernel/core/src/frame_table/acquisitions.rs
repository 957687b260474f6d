//! The order in which each environment acquired its mappable frames, so that the abort protocol
//! can repossess the newest first.
//!
//! Each environment's frames are a log in acquisition order. A frame that leaves is not searched
//! for: it only loses its sequence number, which makes its log entry stale, and a log is
//! compacted when at least half of it is stale. Acquiring and leaving thus cost constant
//! amortized time, with no allocation per frame (an ordered map cost a node insert and removal
//! for every frame a spawn or a fork binds).

use super::FrameNumber;
use crate::environments::EnvId;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// The sequence number of a frame in no log (2^64 - 1 acquisitions cannot happen, so no real
/// sequence number is this).
const NOT_ACQUIRED: u64 = u64::MAX;

/// Stale entries a log may carry beyond as many as it has live ones before it is compacted.
const STALE_SLACK: usize = 8;

/// Room made for a log when it gets its first entry (growing it from one took six
/// reallocations and copies for a new address space's first pages).
const FIRST_ENTRIES: usize = 32;

/// Every environment's log.
#[derive(Debug)]
pub(super) struct Acquisitions {
    logs: BTreeMap<EnvId, Log>,
    /// Each frame's sequence number while it is listed ([`NOT_ACQUIRED`] otherwise).
    sequence_of: Vec<u64>,
    /// The sequence number the next acquisition gets.
    next: u64,
}

/// One environment's acquisitions, oldest first, stale entries among them.
#[derive(Debug, Default)]
struct Log {
    entries: Vec<(u64, FrameNumber)>,
    /// How many entries are not stale.
    live: usize,
}

impl Acquisitions {
    /// No acquisitions, for frames `0..frame_count`.
    pub(super) fn new(frame_count: usize) -> Acquisitions {
        Acquisitions {
            logs: BTreeMap::new(),
            sequence_of: vec![NOT_ACQUIRED; frame_count],
            next: 0,
        }
    }

    /// Lists `frame` (in range, not listed) as `id`'s newest acquisition.
    pub(super) fn note(&mut self, id: EnvId, frame: FrameNumber) {
        let Some(slot) = self.sequence_of.get_mut(frame as usize) else {
            return;
        };
        let sequence = self.next;
        // 2^64 acquisitions cannot happen; wrapping only keeps the kernel free of panics.
        self.next = sequence.wrapping_add(1);
        *slot = sequence;
        let log = self.logs.entry(id).or_insert_with(|| Log {
            entries: Vec::with_capacity(FIRST_ENTRIES),
            live: 0,
        });
        log.entries.push((sequence, frame));
        log.live += 1;
    }

    /// Unlists `frame` from `id`'s log, if it is listed.
    pub(super) fn forget(&mut self, id: EnvId, frame: FrameNumber) {
        let Some(slot) = self.sequence_of.get_mut(frame as usize) else {
            return;
        };
        if core::mem::replace(slot, NOT_ACQUIRED) == NOT_ACQUIRED {
            return;
        }
        let Some(log) = self.logs.get_mut(&id) else {
            return;
        };
        log.live = log.live.saturating_sub(1);
        if log.live == 0 {
            self.logs.remove(&id);
        } else if log.entries.len() >= 2 * log.live + STALE_SLACK {
            let sequence_of = &self.sequence_of;
            log.entries
                .retain(|&(sequence, frame)| is_current(sequence_of, sequence, frame));
        }
    }

    /// Unlists every frame of `id`.
    pub(super) fn release(&mut self, id: EnvId) {
        let Some(log) = self.logs.remove(&id) else {
            return;
        };
        for (sequence, frame) in log.entries {
            if is_current(&self.sequence_of, sequence, frame) {
                self.sequence_of[frame as usize] = NOT_ACQUIRED;
            }
        }
    }

    /// How many frames `id` has listed.
    pub(super) fn count(&self, id: EnvId) -> usize {
        self.logs.get(&id).map_or(0, |log| log.live)
    }

    /// `id`'s listed frames, oldest acquisition first.
    pub(super) fn of(&self, id: EnvId) -> impl DoubleEndedIterator<Item = FrameNumber> + '_ {
        self.logs
            .get(&id)
            .into_iter()
            .flat_map(|log| log.entries.iter())
            .filter(|&&(sequence, frame)| is_current(&self.sequence_of, sequence, frame))
            .map(|&(_, frame)| frame)
    }

    /// How many frames are listed, in every log together.
    #[cfg(test)]
    pub(super) fn listed_count(&self) -> usize {
        self.sequence_of
            .iter()
            .filter(|&&sequence| sequence != NOT_ACQUIRED)
            .count()
    }
}

/// Whether the log entry `(sequence, frame)` is not stale.
fn is_current(sequence_of: &[u64], sequence: u64, frame: FrameNumber) -> bool {
    sequence_of.get(frame as usize) == Some(&sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: EnvId = EnvId(1);

    #[test]
    fn a_log_of_mostly_stale_entries_is_compacted_and_keeps_its_order() {
        let mut acquisitions = Acquisitions::new(1000);
        for frame in 0..1000 {
            acquisitions.note(A, frame);
        }
        for frame in (0..1000).filter(|frame| frame % 10 != 0) {
            acquisitions.forget(A, frame);
        }
        let log = &acquisitions.logs[&A];
        assert_eq!(log.live, 100);
        assert!(log.entries.len() < 2 * 100 + STALE_SLACK);
        let listed: Vec<FrameNumber> = acquisitions.of(A).collect();
        assert_eq!(listed, (0..1000).step_by(10).collect::<Vec<_>>());
    }

    #[test]
    fn a_frame_acquired_again_is_listed_once_as_the_newest() {
        let mut acquisitions = Acquisitions::new(8);
        for frame in [3, 4, 5] {
            acquisitions.note(A, frame);
        }
        acquisitions.forget(A, 3);
        acquisitions.note(A, 3);
        assert_eq!(acquisitions.of(A).rev().collect::<Vec<_>>(), [3, 5, 4]);
        assert_eq!(acquisitions.count(A), 3);
        acquisitions.release(A);
        assert_eq!((acquisitions.count(A), acquisitions.listed_count()), (0, 0));
    }
}

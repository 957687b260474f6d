//! Moving a list of `(block, frame)` pairs through a disk's request queue: one request per run
//! of consecutive blocks (each block's frame its own piece of the request, wherever the frame
//! lies), several requests in the queue at once, and each completion matched to its request in
//! whatever order the device returns them.
//!
//! The queue itself (descriptors, interrupts, the device's status bytes) is the driver's, behind
//! [`RequestQueue`]; this file only decides what goes into which request and what a completion
//! means, so that it can be tested against a queue that completes out of order, fails a
//! request, or reports a request never made.

use crate::frame_table::FrameNumber;
use core::ops::Range;

/// The device's name for a request in its queue.
pub type Token = u16;

/// A disk's request queue, as [`transfer`] drives it.
pub trait RequestQueue {
    /// Why the device failed a request.
    type Error: Copy;

    /// Queues the request moving `run` (consecutive blocks, the first `run[0].0`, each with its
    /// frame) in request slot `slot`, which no other queued request uses; returns the request's
    /// token, or `Ok(None)` when the queue has no room for it now.
    fn submit(
        &mut self,
        slot: usize,
        run: &[(u64, FrameNumber)],
    ) -> Result<Option<Token>, Self::Error>;

    /// Waits until the device has completed a request; returns its token without taking it
    /// back.
    fn wait_for_completion(&mut self) -> Result<Token, Self::Error>;

    /// Takes back the completed request `token`, queued in slot `slot` to move `run`; returns
    /// what the device said of it.
    fn complete(
        &mut self,
        slot: usize,
        token: Token,
        run: &[(u64, FrameNumber)],
    ) -> Result<(), Self::Error>;
}

/// Why a transfer failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferError<E> {
    /// The device failed the request of `blocks` (the first failure; later requests were not
    /// queued, earlier ones completed).
    Failed { error: E, blocks: Range<u64> },
    /// No completion came: the device must be stopped, since requests are still in its queue.
    Wait(E),
    /// The device broke the queue's protocol: it completed a request that was never queued (or
    /// twice), or its empty queue refused a request. It must be stopped.
    Misbehaved,
}

/// The index ranges of `transfers` that each make one request: a run of consecutive block
/// numbers, at most `max_run` long (at least 1), in which no frame appears twice (so that a
/// frame is never handed to the device twice within one request).
pub fn runs(
    transfers: &[(u64, FrameNumber)],
    max_run: usize,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let max_run = max_run.max(1);
    let mut start = 0;
    core::iter::from_fn(move || {
        if start >= transfers.len() {
            return None;
        }
        let mut end = start + 1;
        while end < transfers.len()
            && end - start < max_run
            && transfers[end - 1].0.checked_add(1) == Some(transfers[end].0)
            && !transfers[start..end]
                .iter()
                .any(|&(_, frame)| frame == transfers[end].1)
        {
            end += 1;
        }
        let run = start..end;
        start = end;
        Some(run)
    })
}

/// A queued request: its token and the range of the transfer list it moves.
#[derive(Clone, Debug)]
struct Queued {
    token: Token,
    run: Range<usize>,
}

/// Moves every pair of `transfers` through `queue`: one request per run (see [`runs`]), up to
/// `SLOTS` requests queued at once, completions taken in the device's order. After a failure
/// no further request is queued, and those in the queue are taken back before the first
/// failure is returned (unless the device stops answering or misbehaves: then at once, with
/// requests still queued).
pub fn transfer<Q: RequestQueue, const SLOTS: usize>(
    queue: &mut Q,
    transfers: &[(u64, FrameNumber)],
    max_run: usize,
) -> Result<(), TransferError<Q::Error>> {
    let mut queued: [Option<Queued>; SLOTS] = core::array::from_fn(|_| None);
    let mut pending = runs(transfers, max_run).peekable();
    let mut first_failure = None;
    loop {
        while first_failure.is_none() {
            let Some(run) = pending.peek().cloned() else {
                break;
            };
            let Some(slot) = queued.iter().position(Option::is_none) else {
                break;
            };
            match queue.submit(slot, &transfers[run.clone()]) {
                Ok(Some(token)) => {
                    queued[slot] = Some(Queued { token, run });
                    pending.next();
                }
                Ok(None) if queued.iter().any(Option::is_some) => break,
                Ok(None) => return Err(TransferError::Misbehaved),
                Err(error) => first_failure = Some(failure(error, transfers, run)),
            }
        }
        if queued.iter().all(Option::is_none) {
            break;
        }
        let token = queue.wait_for_completion().map_err(TransferError::Wait)?;
        let slot = queued
            .iter()
            .position(|entry| entry.as_ref().is_some_and(|entry| entry.token == token))
            .ok_or(TransferError::Misbehaved)?;
        let Some(Queued { run, .. }) = queued[slot].take() else {
            return Err(TransferError::Misbehaved);
        };
        if let Err(error) = queue.complete(slot, token, &transfers[run.clone()]) {
            first_failure.get_or_insert_with(|| failure(error, transfers, run));
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// The failure of the request moving `run` of `transfers`.
fn failure<E>(error: E, transfers: &[(u64, FrameNumber)], run: Range<usize>) -> TransferError<E> {
    let first = transfers[run.start].0;
    TransferError::Failed {
        error,
        blocks: first..first + run.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn pairs(blocks: &[u64]) -> Vec<(u64, FrameNumber)> {
        blocks
            .iter()
            .enumerate()
            .map(|(index, &block)| (block, 100 + index as u64))
            .collect()
    }

    fn collected(transfers: &[(u64, FrameNumber)], max_run: usize) -> Vec<Range<usize>> {
        runs(transfers, max_run).collect()
    }

    #[test]
    fn consecutive_blocks_make_one_run_whatever_their_frames() {
        let transfers = [(7, 40), (8, 3), (9, 900), (10, 41)];
        assert_eq!(collected(&transfers, 64), vec![0..4]);
    }

    #[test]
    fn a_gap_a_step_back_or_a_repeated_block_starts_a_new_run() {
        let transfers = pairs(&[1, 2, 4, 5, 5, 3, 4]);
        assert_eq!(collected(&transfers, 64), vec![0..2, 2..4, 4..5, 5..7]);
    }

    #[test]
    fn a_run_stops_at_the_longest_request() {
        let transfers = pairs(&(0..10).collect::<Vec<_>>());
        assert_eq!(collected(&transfers, 4), vec![0..4, 4..8, 8..10]);
        assert_eq!(
            collected(&transfers, 0),
            (0..10).map(|i| i..i + 1).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_frame_named_twice_is_never_twice_in_one_run() {
        let transfers = [(1, 5), (2, 6), (3, 5), (4, 7)];
        assert_eq!(collected(&transfers, 64), vec![0..2, 2..4]);
    }

    #[test]
    fn the_last_block_number_ends_a_run() {
        let transfers = [(u64::MAX, 1), (0, 2)];
        assert_eq!(collected(&transfers, 64), vec![0..1, 1..2]);
        assert!(collected(&[], 64).is_empty());
    }

    /// A request in the fake queue: its token, its slot and what it moves.
    type FakeRequest = (Token, usize, Vec<(u64, FrameNumber)>);

    /// A queue that completes its requests in the order `pick` chooses and fails the request
    /// starting at `failing_block`.
    struct FakeQueue {
        room: usize,
        next_token: Token,
        queued: Vec<FakeRequest>,
        completed: Vec<Vec<(u64, FrameNumber)>>,
        most_queued: usize,
        failing_block: Option<u64>,
        refused_block: Option<u64>,
        stray_token: Option<Token>,
        silent: bool,
        pick_newest: bool,
    }

    impl FakeQueue {
        fn new(room: usize) -> FakeQueue {
            FakeQueue {
                room,
                next_token: 10,
                queued: Vec::new(),
                completed: Vec::new(),
                most_queued: 0,
                failing_block: None,
                refused_block: None,
                stray_token: None,
                silent: false,
                pick_newest: false,
            }
        }

        fn moved_blocks(&self) -> Vec<u64> {
            let mut blocks: Vec<u64> = self.completed.iter().flatten().map(|p| p.0).collect();
            blocks.sort_unstable();
            blocks
        }
    }

    impl RequestQueue for FakeQueue {
        type Error = &'static str;

        fn submit(
            &mut self,
            slot: usize,
            run: &[(u64, FrameNumber)],
        ) -> Result<Option<Token>, &'static str> {
            assert!(self.queued.iter().all(|entry| entry.1 != slot));
            if self.refused_block == Some(run[0].0) {
                return Err("refused");
            }
            if self.queued.len() == self.room {
                return Ok(None);
            }
            let token = self.next_token;
            self.next_token += 3;
            self.queued.push((token, slot, run.to_vec()));
            self.most_queued = self.most_queued.max(self.queued.len());
            Ok(Some(token))
        }

        fn wait_for_completion(&mut self) -> Result<Token, &'static str> {
            if let Some(token) = self.stray_token.take() {
                return Ok(token);
            }
            if self.silent || self.queued.is_empty() {
                return Err("timed out");
            }
            let index = if self.pick_newest {
                self.queued.len() - 1
            } else {
                0
            };
            Ok(self.queued[index].0)
        }

        fn complete(
            &mut self,
            slot: usize,
            token: Token,
            run: &[(u64, FrameNumber)],
        ) -> Result<(), &'static str> {
            let index = self
                .queued
                .iter()
                .position(|entry| entry.0 == token)
                .expect("only queued requests are completed");
            let (_, queued_slot, queued_run) = self.queued.remove(index);
            assert_eq!((queued_slot, queued_run.as_slice()), (slot, run));
            if self.failing_block == Some(run[0].0) {
                return Err("device error");
            }
            self.completed.push(run.to_vec());
            Ok(())
        }
    }

    fn blocks(range: Range<u64>) -> Vec<(u64, FrameNumber)> {
        pairs(&range.collect::<Vec<_>>())
    }

    #[test]
    fn every_block_moves_once_with_several_requests_queued() {
        let transfers = [blocks(0..20), blocks(50..70)].concat();
        let mut queue = FakeQueue::new(16);
        assert_eq!(transfer::<_, 4>(&mut queue, &transfers, 8), Ok(()));
        assert_eq!(queue.completed.len(), 6);
        assert_eq!(queue.most_queued, 4);
        let mut expected: Vec<u64> = transfers.iter().map(|p| p.0).collect();
        expected.sort_unstable();
        assert_eq!(queue.moved_blocks(), expected);
    }

    #[test]
    fn completions_in_reverse_order_are_matched_to_their_requests() {
        let transfers = blocks(0..40);
        let mut queue = FakeQueue::new(16);
        queue.pick_newest = true;
        assert_eq!(transfer::<_, 3>(&mut queue, &transfers, 4), Ok(()));
        assert_eq!(queue.moved_blocks(), (0..40).collect::<Vec<_>>());
        assert_ne!(queue.completed[0][0].0, 0);
    }

    #[test]
    fn a_full_queue_waits_for_room_instead_of_failing() {
        let transfers = blocks(0..12);
        let mut queue = FakeQueue::new(1);
        assert_eq!(transfer::<_, 8>(&mut queue, &transfers, 2), Ok(()));
        assert_eq!(queue.most_queued, 1);
        assert_eq!(queue.completed.len(), 6);
    }

    #[test]
    fn a_failed_request_names_its_blocks_and_the_others_are_drained() {
        let transfers = blocks(0..32);
        let mut queue = FakeQueue::new(16);
        queue.failing_block = Some(8);
        assert_eq!(
            transfer::<_, 4>(&mut queue, &transfers, 4),
            Err(TransferError::Failed {
                error: "device error",
                blocks: 8..12
            })
        );
        assert!(queue.queued.is_empty());
        assert!(
            !queue
                .moved_blocks()
                .iter()
                .any(|block| (8..12).contains(block))
        );
        // Nothing after the failure was queued: the four queued first, then one per completion
        // until the failure was seen.
        assert!(!queue.moved_blocks().contains(&31));
    }

    #[test]
    fn a_refused_request_is_reported_and_nothing_after_it_is_queued() {
        let transfers = blocks(0..16);
        let mut queue = FakeQueue::new(16);
        queue.refused_block = Some(4);
        assert_eq!(
            transfer::<_, 8>(&mut queue, &transfers, 4),
            Err(TransferError::Failed {
                error: "refused",
                blocks: 4..8
            })
        );
        assert_eq!(queue.moved_blocks(), (0..4).collect::<Vec<_>>());
    }

    #[test]
    fn a_token_never_issued_is_misbehaviour() {
        let transfers = blocks(0..8);
        let mut queue = FakeQueue::new(16);
        queue.stray_token = Some(11);
        assert_eq!(
            transfer::<_, 4>(&mut queue, &transfers, 2),
            Err(TransferError::Misbehaved)
        );
        assert!(queue.completed.is_empty());
    }

    #[test]
    fn an_empty_queue_that_refuses_room_is_misbehaviour() {
        let mut queue = FakeQueue::new(0);
        assert_eq!(
            transfer::<_, 4>(&mut queue, &blocks(0..2), 2),
            Err(TransferError::Misbehaved)
        );
    }

    #[test]
    fn a_silent_device_fails_the_wait() {
        let mut queue = FakeQueue::new(16);
        queue.silent = true;
        assert_eq!(
            transfer::<_, 4>(&mut queue, &blocks(0..2), 2),
            Err(TransferError::Wait("timed out"))
        );
    }

    #[test]
    fn an_empty_list_queues_nothing() {
        let mut queue = FakeQueue::new(16);
        assert_eq!(transfer::<_, 4>(&mut queue, &[], 2), Ok(()));
        assert!(queue.completed.is_empty());
    }
}

//! Scheduling inside the app's own CPU slices: which ready user-level thread runs next.
//!
//! The kernel gives an environment its slots and tells it, by upcall, when one ends; what runs
//! inside them is the app's business. [`threads`](crate::threads) does the mechanism (stacks,
//! context switches, the slot-end upcall); a [`SchedulingPolicy`] makes the one decision: of the
//! threads that are ready, which one gets the CPU. Swapping the policy changes nothing else.
//!
//! Every ready thread enters the policy as a [`Ready`] record, telling how it became ready
//! ([`Readiness`]) and how much of its expected work it has done; the runtime then asks
//! [`SchedulingPolicy::next`] for the thread to run. Costs are in the runtime's clock units
//! (for the guest, time-stamp-counter ticks).
//!
//! Two policies: [`Fcfs`] (first come, first served: a thread keeps the CPU, across yields and
//! preemptions, until it ends; the run-to-completion order with threads) and [`ShortestFirst`]
//! (shortest expected work first: a long thread that yields or is preempted goes behind the
//! short ones that arrived meanwhile).
//!
//! A policy must not allocate after it is made (the runtime calls it from the slot-end upcall,
//! which may interrupt the allocator): each one takes its capacity up front, and the runtime
//! never has more ready threads than the capacity it was started with.

use alloc::collections::{BinaryHeap, VecDeque};
use core::cmp::{Ordering, Reverse};

/// A user-level thread's index in the runtime's table.
pub type ThreadId = usize;

/// How a thread became ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Just created.
    New,
    /// It gave up the CPU at a yield point.
    Yielded,
    /// The runtime took the CPU from it when a slot ended.
    Preempted,
}

/// A ready thread, as the policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The thread.
    pub thread: ThreadId,
    /// When it was created, in clock units.
    pub arrival: u64,
    /// The work it was expected to need when created (the app's estimate), in clock units.
    pub expected: u64,
    /// The CPU time it has had so far, in clock units.
    pub ran: u64,
    /// How it became ready.
    pub readiness: Readiness,
}

/// Chooses which ready thread runs next.
///
/// Contract: every record given to [`enter`](SchedulingPolicy::enter) comes back out of
/// [`next`](SchedulingPolicy::next) exactly once; `enter` is never called with more records
/// held than the capacity the policy was made with; neither allocates.
pub trait SchedulingPolicy: Send {
    /// A thread became ready.
    fn enter(&mut self, ready: Ready);
    /// Takes out the thread to run now, or `None` when no thread is ready.
    fn next(&mut self) -> Option<Ready>;
    /// How many threads are ready.
    fn len(&self) -> usize;
    /// Whether no thread is ready.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The policy's name, for reports.
    fn name(&self) -> &'static str;
}

/// First come, first served: threads run in the order they were created, and a thread that
/// yields or is preempted resumes before any other.
#[derive(Debug)]
pub struct Fcfs {
    queue: VecDeque<Ready>,
}

impl Fcfs {
    /// A policy that holds up to `capacity` ready threads without allocating.
    pub fn with_capacity(capacity: usize) -> Fcfs {
        Fcfs {
            queue: VecDeque::with_capacity(capacity),
        }
    }
}

impl SchedulingPolicy for Fcfs {
    fn enter(&mut self, ready: Ready) {
        match ready.readiness {
            Readiness::New => self.queue.push_back(ready),
            Readiness::Yielded | Readiness::Preempted => self.queue.push_front(ready),
        }
    }

    fn next(&mut self) -> Option<Ready> {
        self.queue.pop_front()
    }

    fn len(&self) -> usize {
        self.queue.len()
    }

    fn name(&self) -> &'static str {
        "fcfs"
    }
}

/// Shortest expected work first; ties go to the earlier arrival, then the lower thread index.
///
/// It ranks by the whole estimate, not by what is left of it: a thread that ran past its
/// estimate (the app guessed wrong, or it was charged for time it waited) would otherwise
/// rank as nearly done and keep the CPU from every short thread. A steady stream of short
/// threads can keep a long one waiting; the app bounds that by its load.
#[derive(Debug)]
pub struct ShortestFirst {
    heap: BinaryHeap<Reverse<ByExpected>>,
}

/// A ready record ordered by expected work, arrival, thread.
#[derive(Debug, PartialEq, Eq)]
struct ByExpected(Ready);

impl ByExpected {
    fn key(&self) -> (u64, u64, ThreadId) {
        (self.0.expected, self.0.arrival, self.0.thread)
    }
}

impl Ord for ByExpected {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for ByExpected {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl ShortestFirst {
    /// A policy that holds up to `capacity` ready threads without allocating.
    pub fn with_capacity(capacity: usize) -> ShortestFirst {
        ShortestFirst {
            heap: BinaryHeap::with_capacity(capacity),
        }
    }
}

impl SchedulingPolicy for ShortestFirst {
    fn enter(&mut self, ready: Ready) {
        self.heap.push(Reverse(ByExpected(ready)));
    }

    fn next(&mut self) -> Option<Ready> {
        self.heap.pop().map(|Reverse(ByExpected(ready))| ready)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }

    fn name(&self) -> &'static str {
        "shortest-first"
    }
}

#[cfg(test)]
mod tests;

//! The server's workload, the same for every path: an open-loop schedule of requests (arrival
//! times fixed in advance, so a slow server does not slow its clients), 0.5% of them long; the
//! CPU work each does; and what a run measured.

use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use libos_custom::memory::workload::Random;
use libos_posix::clock;

/// Requests in one run.
pub const REQUESTS: usize = 2_000;
/// One request in this many is long (0.5%).
pub const LONG_EVERY: usize = 200;
/// Work rounds of a short request.
pub const SHORT_ROUNDS: u64 = 10_000;
/// How many times a short request's work a long one does.
pub const LONG_FACTOR: u64 = 1_000;
/// Long work reaches a yield point after this many rounds (one short request's worth).
pub const YIELD_ROUNDS: u64 = SHORT_ROUNDS;
/// Share of the server's CPU the requests keep busy, in percent: the mean gap between
/// arrivals is set from the measured cost of the work so that the load is the same whatever
/// the machine's speed.
const LOAD_PERCENT: u64 = 40;
const SEED: u64 = 0x5C4E_D001;

/// Whether request `index` is long.
pub fn is_long(index: usize) -> bool {
    index % LONG_EVERY == LONG_EVERY / 2
}

/// Work rounds of request `index`.
pub fn rounds(index: usize) -> u64 {
    if is_long(index) {
        SHORT_ROUNDS * LONG_FACTOR
    } else {
        SHORT_ROUNDS
    }
}

/// `rounds` rounds of CPU work, calling `yield_point` after every [`YIELD_ROUNDS`]. Each round
/// goes through `black_box`, and the rounds between two yield points are a loop of their own,
/// so that a round costs the same whatever `yield_point` is.
pub fn work(rounds: u64, yield_point: fn()) {
    let mut state = rounds;
    let mut left = rounds;
    while left > 0 {
        let chunk = left.min(YIELD_ROUNDS);
        for _ in 0..chunk {
            state = black_box(
                state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407),
            );
        }
        left -= chunk;
        if chunk == YIELD_ROUNDS {
            yield_point();
        }
    }
}

/// The clock's ticks of one short request's work, measured (the least of a few runs).
pub fn short_request_ticks() -> u64 {
    (0..5)
        .map(|_| {
            let start = clock::ticks();
            work(SHORT_ROUNDS, || {});
            clock::ticks() - start
        })
        .min()
        .unwrap_or(1)
        .max(1)
}

/// The arrival times, finish times and progress of one run, in statics so that the thread
/// runtime's poll function (which may run in the slot-end upcall) reads them without locks or
/// allocation.
pub struct Run {
    arrivals: [AtomicU64; REQUESTS],
    finishes: [AtomicU64; REQUESTS],
    /// Requests admitted so far (arrivals are in order).
    admitted: AtomicUsize,
    /// Ticks of one short request, for the cost estimates.
    short_ticks: AtomicU64,
}

/// The run in progress (one per program).
pub static RUN: Run = Run {
    arrivals: [const { AtomicU64::new(0) }; REQUESTS],
    finishes: [const { AtomicU64::new(0) }; REQUESTS],
    admitted: AtomicUsize::new(0),
    short_ticks: AtomicU64::new(1),
};

impl Run {
    /// Plans arrivals from `start` on, exponentially spaced for the load [`LOAD_PERCENT`] of a
    /// CPU whose short request costs `short_ticks`.
    pub fn plan(&self, start: u64, short_ticks: u64) {
        let total_rounds: u64 = (0..REQUESTS).map(rounds).sum();
        let mean_gap =
            total_rounds / SHORT_ROUNDS * short_ticks * 100 / LOAD_PERCENT / REQUESTS as u64;
        let mut random = Random::new(SEED);
        let mut at = start;
        for arrival in &self.arrivals {
            arrival.store(at, Ordering::Relaxed);
            at += exponential(&mut random, mean_gap);
        }
        for finish in &self.finishes {
            finish.store(0, Ordering::Relaxed);
        }
        self.admitted.store(0, Ordering::Release);
        self.short_ticks.store(short_ticks, Ordering::Release);
    }

    /// When request `index` arrives.
    pub fn arrival(&self, index: usize) -> u64 {
        self.arrivals[index].load(Ordering::Relaxed)
    }

    /// The expected ticks of request `index`.
    pub fn expected_ticks(&self, index: usize) -> u64 {
        rounds(index) / SHORT_ROUNDS * self.short_ticks.load(Ordering::Relaxed)
    }

    /// The next request not yet admitted, if it has arrived by `now`; admits it.
    pub fn admit(&self, now: u64) -> Option<usize> {
        let next = self.admitted.load(Ordering::Acquire);
        (next < REQUESTS && self.arrival(next) <= now).then(|| {
            self.admitted.store(next + 1, Ordering::Release);
            next
        })
    }

    /// Gives back the request [`admit`](Run::admit) just returned (no room to start it).
    pub fn readmit_later(&self, index: usize) {
        self.admitted.store(index, Ordering::Release);
    }

    /// When the next request not yet admitted arrives, if one is left.
    pub fn next_arrival(&self) -> Option<u64> {
        let next = self.admitted.load(Ordering::Acquire);
        (next < REQUESTS).then(|| self.arrival(next))
    }

    /// Records that request `index` finished now.
    pub fn finish(&self, index: usize) {
        self.finishes[index].store(clock::ticks(), Ordering::Release);
    }

    /// Whether request `index` was served.
    pub fn is_finished(&self, index: usize) -> bool {
        self.finishes[index].load(Ordering::Acquire) != 0
    }

    /// The latencies of the finished requests of one class (`long` or short), in ticks.
    pub fn latencies(&self, long: bool) -> Vec<u64> {
        (0..REQUESTS)
            .filter(|&index| is_long(index) == long)
            .filter(|&index| self.is_finished(index))
            .map(|index| {
                let finish = self.finishes[index].load(Ordering::Acquire);
                finish.saturating_sub(self.arrival(index))
            })
            .collect()
    }
}

/// An exponentially distributed gap of mean `mean`, from 16 bits of randomness.
fn exponential(random: &mut Random, mean: u64) -> u64 {
    // -ln(u) for u uniform in (0, 1], by the bit length of u's 16-bit numerator: coarse but
    // deterministic and free of floating point.
    let numerator = random.below(1 << 16) + 1;
    let log2_scaled = 16 * 1024 - (numerator.ilog2() as u64 * 1024 + fraction_log2(numerator));
    // ln(x) = log2(x) * ln(2); ln(2) ~ 709 / 1024.
    mean * log2_scaled * 709 / (1024 * 1024)
}

/// The fractional part of log2(n), scaled by 1024, by linear interpolation between powers of
/// two.
fn fraction_log2(n: u64) -> u64 {
    let floor = 1u64 << n.ilog2();
    (n - floor) * 1024 / floor
}

/// Median and 99th percentile of `values` (ticks), in microseconds of a clock with this rate.
pub fn median_and_p99_microseconds(mut values: Vec<u64>, ticks_per_millisecond: u64) -> (u64, u64) {
    values.sort_unstable();
    let at = |per_mille: usize| {
        values
            .get((values.len() * per_mille / 1000).min(values.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let microseconds = |ticks: u64| ticks * 1000 / ticks_per_millisecond.max(1);
    (microseconds(at(500)), microseconds(at(990)))
}

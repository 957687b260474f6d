//! Spans of the time-stamp counter for benchmarks, counted as instructions or as cycles.
//!
//! Under QEMU's `-icount shift=0` the counter passes one tick per instruction the guest
//! retires, but while the CPU halts (idle, or inside a call waiting for the disk) it passes at
//! the host's pace, which differs from run to run. A span that counts instructions therefore
//! leaves out the ticks the kernel counted as halted (`exo_abi::KernelCounters::halted_ticks`),
//! one system call at each end; a span that counts cycles keeps them, since the wait is part
//! of what the operation took.

use crate::{clock, syscall};

/// What a span's figure counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// Instructions retired (under `-icount`): the CPU's halts left out.
    Instructions,
    /// Cycles of the counter, halts included.
    Cycles,
}

impl Count {
    /// `Instructions` when `arguments` hold the word `icount` (how the bench says it runs
    /// under `-icount`), `Cycles` otherwise.
    pub fn from_arguments<'a>(mut arguments: impl Iterator<Item = &'a str>) -> Self {
        if arguments.any(|argument| argument == "icount") {
            Self::Instructions
        } else {
            Self::Cycles
        }
    }

    /// The unit of a figure: `instructions` or `cycles`.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Instructions => "instructions",
            Self::Cycles => "cycles",
        }
    }

    fn halted_ticks(self) -> u64 {
        match self {
            Self::Instructions => syscall::kernel_counters().halted_ticks,
            Self::Cycles => 0,
        }
    }
}

/// A span under way, from [`Stopwatch::start`].
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    count: Count,
    start: u64,
    halted_at_start: u64,
}

/// What a [`Stopwatch`] measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    /// The figure: instructions (halts left out) or cycles, as the stopwatch counts.
    pub ticks: u64,
    /// Ticks of the guest's clock, halts included: what a rate is reckoned from.
    pub clock_ticks: u64,
}

impl Stopwatch {
    /// Starts a span counted as `count`.
    pub fn start(count: Count) -> Self {
        let halted_at_start = count.halted_ticks();
        Self {
            count,
            start: clock::ticks(),
            halted_at_start,
        }
    }

    /// The span from the start to now.
    pub fn stop(&self) -> Elapsed {
        let clock_ticks = clock::ticks().wrapping_sub(self.start);
        let halted = self
            .count
            .halted_ticks()
            .saturating_sub(self.halted_at_start);
        Elapsed {
            ticks: clock_ticks.saturating_sub(halted),
            clock_ticks,
        }
    }

    /// [`Elapsed::ticks`] from the start to now.
    pub fn ticks(&self) -> u64 {
        self.stop().ticks
    }
}

//! How test programs report: a tally of expectations, each one that fails printed as
//! `PROGRAM: FAILED what: expected .., got ..` and counted, so that a program runs all its
//! checks and reports every failure before it exits ([`Checker`], [`report_run`] when setting
//! the checks up may fail too); or, for a program that stops at its first failure, that
//! failure ([`report`]).

use core::fmt::Debug;
use exo_abi::Error;
use libos_posix::println;

/// The failed expectations of one program.
#[derive(Debug)]
pub struct Checker {
    program: &'static str,
    failures: u32,
}

impl Checker {
    /// A tally for the program named `program` (the prefix of its messages).
    pub const fn new(program: &'static str) -> Checker {
        Checker {
            program,
            failures: 0,
        }
    }

    /// Checks that `got` is `expected`; `what` names the check in the message.
    pub fn expect<T: PartialEq + Debug>(&mut self, what: &str, got: T, expected: T) {
        if got != expected {
            self.failures += 1;
            println!(
                "{}: FAILED {what}: expected {expected:?}, got {got:?}",
                self.program
            );
        }
    }

    /// Prints `PROGRAM: all checks passed` or `PROGRAM: N checks failed` and returns the
    /// matching exit status (0 or 1).
    pub fn report(&self) -> i32 {
        report_failures(self.program, self.failures)
    }

    /// How many checks failed.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Prints `NAME: all checks passed` or `NAME: FAILED: why` and returns the matching exit
/// status (0 or 1), for test programs.
pub fn report(name: &str, outcome: Result<(), &str>) -> i32 {
    match outcome {
        Ok(()) => {
            println!("{name}: all checks passed");
            0
        }
        Err(failure) => {
            println!("{name}: FAILED: {failure}");
            1
        }
    }
}

/// Prints `NAME: all checks passed`, `NAME: N checks failed` or, when the program could not
/// set its checks up, `NAME: setup failed: why`, for a `run` that returns how many checks
/// failed; returns the matching exit status (0 or 1).
pub fn report_run(name: &str, run: Result<u32, Error>) -> i32 {
    match run {
        Ok(failures) => report_failures(name, failures),
        Err(error) => {
            println!("{name}: setup failed: {}", error.describe());
            1
        }
    }
}

fn report_failures(name: &str, failures: u32) -> i32 {
    match failures {
        0 => {
            println!("{name}: all checks passed");
            0
        }
        failures => {
            println!("{name}: {failures} checks failed");
            1
        }
    }
}

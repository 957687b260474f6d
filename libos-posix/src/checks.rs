//! How test programs report: a tally of expectations, each one that fails printed as
//! `PROGRAM: FAILED what: expected .., got ..` and counted, so that a program runs all its
//! checks and reports every failure before it exits; or, for a program that stops at its first
//! failure, one outcome.

use crate::println;
use core::fmt::Debug;

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
        match self.failures {
            0 => {
                println!("{}: all checks passed", self.program);
                0
            }
            failures => {
                println!("{}: {failures} checks failed", self.program);
                1
            }
        }
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

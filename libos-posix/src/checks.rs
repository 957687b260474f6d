//! A tally of expectations for test programs: each one that fails is printed as
//! `PROGRAM: FAILED what: expected .., got ..` and counted, so that a program runs all its
//! checks and reports every failure before it exits.

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

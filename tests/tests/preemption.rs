//! The timer takes the CPU back: a program that spins forever without a system call does not
//! keep the others from running. Init blocks right after starting both programs, so the spinner
//! runs next (round robin); `hello` can only run if the timer preempts it. (Whether the spinner
//! prints its own line before a tick takes the CPU away is timing, so it is not checked.)
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, PROGRAM_FAILED, Scenario};

#[test]
fn a_spinning_program_does_not_starve_the_others() {
    let outcome = Scenario::programs(&["hostile-spin&", "hello"]).run();
    outcome.assert_line_order(&[
        "init: hostile-spin (env 2) started in the background",
        "init: hello (env 3) killed by general protection fault (vector 13)",
        "init: all programs done",
    ]);
    // `hello` ends by a fault: a failed program for the machine's status.
    outcome.assert_status(PROGRAM_FAILED);
}

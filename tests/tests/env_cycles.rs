//! 10,000 environments created and destroyed in every way (built and run to their exit, killed
//! running or unstarted, dropped then killed, faulting, spawned, spawned to use a disk block):
//! afterwards the free frame count, the room in the capability table and the disk's lowest
//! free block are exactly where they started (release build, for time).
#![forbid(unsafe_code)]

use std::time::Duration;

use system_tests::{OutcomeAssertions, Scenario};

#[test]
fn ten_thousand_environments_leave_nothing_behind() {
    let outcome = Scenario::programs(&["env-cycles:10000"])
        .release()
        .without_net()
        .timeout(Duration::from_secs(600))
        .run();
    outcome.assert_status(0);
    outcome.assert_contains("env-cycles: all checks passed (10000 cycles");
    outcome.assert_program_ended("env-cycles", "exited with status 0");
    outcome.assert_contains("exokernel: tables consistent");
    outcome.assert_frames_returned();
}

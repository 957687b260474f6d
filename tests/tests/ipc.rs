//! Protected control transfer between environments, on the debug and the release build: calls
//! and replies cross address spaces with their words intact and the caller's id, a lent page
//! is written by the server, callers at once each get only their own replies, forged and
//! misused handles are refused, a deferred call is answered when the server's child ends, a
//! caller blocked on a server that does not answer is killed by its parent, and a server's
//! death wakes its callers with an error.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

fn calls_pass(scenario: Scenario) {
    let outcome = scenario.run();
    outcome.assert_status(0);
    outcome.assert_contains("ipc: all checks passed");
    outcome.assert_program_ended("ipc", "exited with status 0");
    outcome.assert_frames_returned();
}

#[test]
fn calls_cross_address_spaces_in_order_and_each_failure_is_reported() {
    calls_pass(Scenario::programs(&["ipc"]));
}

#[test]
fn calls_cross_address_spaces_on_a_release_build_too() {
    calls_pass(Scenario::programs(&["ipc"]).release());
}

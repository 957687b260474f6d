//! Pages as secure bindings: frames allocated by physical name or any, bound, protected,
//! queried, unbound and freed through system calls; refused requests change nothing; a store to
//! a read-only page reaches the program's own fault handler.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

#[test]
fn frames_are_bound_checked_and_taken_back() {
    let outcome = Scenario::programs(&["page-bindings"]).run();
    outcome.assert_status(0);
    outcome.assert_contains("page-bindings: all checks passed");
    outcome.assert_program_ended("page-bindings", "exited with status 0");
    outcome.assert_frames_returned();
}

#[test]
fn pages_are_shared_flushed_and_granted_between_environments() {
    let outcome = Scenario::programs(&["page-sharing"]).run();
    outcome.assert_status(0);
    outcome.assert_contains("page-sharing: all checks passed");
    outcome.assert_program_ended("page-sharing", "exited with status 0");
    outcome.assert_frames_returned();
}

fn fork_keeps_the_code(scenario: Scenario) {
    let outcome = scenario.run();
    outcome.assert_status(0);
    outcome.assert_contains("fork-code: all checks passed");
    outcome.assert_program_ended("fork-code", "exited with status 0");
}

#[test]
fn a_forked_child_borrows_the_code_whole_unless_it_was_made_writable() {
    fork_keeps_the_code(Scenario::programs(&["fork-code"]));
}

#[test]
fn a_forked_child_borrows_the_code_whole_unless_it_was_made_writable_on_a_release_build() {
    fork_keeps_the_code(Scenario::programs(&["fork-code"]).release());
}

//! Visible revocation and the abort protocol: a cooperative environment chooses what to give
//! back; one that ignores the request loses specific frames and slots at the deadline, each
//! recorded in its repossession vector, yet keeps its guaranteed minimum and runs on; one that
//! cannot be asked loses them at once; one that moves frames to itself instead of freeing them
//! still owes them.
#![forbid(unsafe_code)]

use system_tests::{Outcome, OutcomeAssertions, Scenario};

fn run_mode(mode: &str) -> Outcome {
    let outcome = Scenario::new().args(&format!("revocation:{mode}")).run();
    outcome.assert_status(0);
    outcome.assert_contains("revocation: all checks passed");
    outcome.assert_program_ended("revocation", "exited with status 0");
    outcome.assert_frames_returned();
    outcome
}

#[test]
fn a_cooperative_environment_chooses_what_to_give_back() {
    let outcome = run_mode("polite");
    outcome.assert_contains("revocation: polite worker freed 10 frames, 0 repossessed");
}

#[test]
fn an_ignored_request_ends_in_repossession() {
    let outcome = run_mode("ignore");
    outcome.assert_line_order(&[
        "revocation: ignoring worker lost 10 frames and 2 slots by force",
        "the worker keeps its minimum",
    ]);
}

#[test]
fn an_environment_that_cannot_be_asked_loses_resources_at_once() {
    let outcome = run_mode("unreachable");
    outcome.assert_contains("revocation: unreachable worker lost 5 frames at once");
}

#[test]
fn granting_frames_to_itself_is_not_giving_them_back() {
    let outcome = run_mode("evasive");
    outcome.assert_contains(
        "revocation: evasive worker moved 10 frames to itself, still owed 10, lost 10 by force; 10 came back",
    );
}

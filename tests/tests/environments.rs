//! Environments built by hand: a child made empty runs code shared into it and a stack bound
//! into it; children are waited for without hanging and killed (running, unstarted, by
//! themselves, and a grandchild through a capability delegated to a sibling), with every
//! refusal; the page flags and the binding list a library OS reads its address space with; the
//! console read without input.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

#[test]
fn environments_are_built_started_killed_and_inspected() {
    let outcome = Scenario::programs(&["environments"]).run();
    outcome.assert_status(0);
    outcome.assert_contains("environments: all checks passed");
    outcome.assert_program_ended("environments", "exited with status 0");
    outcome.assert_line_with(&["(exit-42) ended: exited with status 42"]);
    outcome.assert_line_with(&["(sleeper) ended: killed"]);
    outcome.assert_line_with(&["(unstarted) ended: killed"]);
    outcome.assert_line_with(&["(grandchild) ended: killed"]);
    outcome.assert_line_with(&["(environments) ended: killed"]);
    outcome.assert_frames_returned();
}

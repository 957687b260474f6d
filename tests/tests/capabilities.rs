//! Capabilities: forged, stale, dropped and narrowed handles are refused with their errors, a
//! child cannot act on its parent beyond giving it frames, and a capability delegated to a
//! sibling works for exactly the right it carries.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

#[test]
fn forged_and_overreaching_capabilities_are_refused_and_delegation_works() {
    let outcome = Scenario::programs(&["capabilities"]).run();
    outcome.assert_status(0);
    outcome.assert_contains("capabilities: all checks passed");
    outcome.assert_program_ended("capabilities", "exited with status 0");
    outcome.assert_frames_returned();
}

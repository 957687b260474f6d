//! Downloaded filters without a network: a consumer sleeps on a wake-up predicate until its
//! producer writes; hostile modules are refused at load or struck out and unloaded at run, each
//! with its error, and the kernel goes on with consistent tables.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

#[test]
fn wake_up_predicates_wake_consumers_and_hostile_filters_are_contained() {
    let outcome = Scenario::programs(&["filters"]).run();
    outcome.assert_status(0);
    outcome.assert_contains("filters: consumer woke after 1 sleep(s) and read 1");
    outcome.assert_contains("filter refused: imports a function the contract does not offer");
    outcome.assert_contains("filter refused: linear memory declared too large");
    outcome.assert_contains("filter refused: not a valid WebAssembly module");
    for filter in 2..=5 {
        outcome.assert_contains(&format!("filter {filter} unloaded after 3 strikes"));
    }
    outcome.assert_contains("filters: all checks passed");
    outcome.assert_program_ended("filters", "exited with status 0");
    outcome.assert_frames_returned();
}

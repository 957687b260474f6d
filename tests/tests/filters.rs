//! Downloaded filters without a network: a consumer sleeps on a wake-up predicate until its
//! producer writes (with the predicate in both forms); hostile modules are refused at load or struck out and unloaded at run, each
//! with its error, and the kernel goes on with consistent tables.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

#[test]
fn wake_up_predicates_wake_consumers_and_hostile_filters_are_contained() {
    let outcome = Scenario::programs(&["filters"]).run();
    outcome.assert_status(0);
    // Twice: the predicate reading through the accessors, then from its own memory.
    assert_eq!(
        outcome
            .serial
            .matches("filters: consumer woke after 1 sleep(s) and read 1")
            .count(),
        2,
        "{}",
        outcome.serial
    );
    outcome.assert_contains("filter refused: imports a function the contract does not offer");
    outcome.assert_contains("filter refused: linear memory declared too large");
    outcome.assert_contains("filter refused: not a valid WebAssembly module");
    // The two consumers' filters are 1 and 2.
    for filter in 3..=6 {
        outcome.assert_contains(&format!("filter {filter} unloaded after 3 strikes"));
    }
    outcome.assert_contains("filters: all checks passed");
    outcome.assert_program_ended("filters", "exited with status 0");
    outcome.assert_frames_returned();
}

//! Attacks on the protection rules that no single bad argument makes (`hostile-protection`):
//! pushing capabilities and frames onto the parent, subtrees that outlive their root, a child
//! that kills its parent (and so itself), a slot hog, an LDT selector, a `syscall` at the end of
//! the user half, the null page, a revocation of `u64::MAX` frames, on the debug and the
//! release build; and, as init, a packet ring whose header words hold the largest
//! counters. The kernel stays up, the attacker alone suffers, and every frame comes back.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

/// Runs the attacks in `scenario` and checks each was contained.
fn attacks_are_contained(scenario: Scenario) {
    let outcome = scenario.run();
    outcome.assert_status(0);
    outcome.assert_contains("hostile-protection: 0 of 400 pushes into the parent accepted");
    outcome.assert_contains("hostile-protection: all checks passed");
    outcome.assert_lacks("killing its parent returned");
    outcome.assert_program_ended("hostile-protection", "exited with status 0");
    outcome.assert_contains("all reachable from init");
    outcome.assert_frames_returned();
}

#[test]
fn attacks_on_consent_reachability_and_the_cpu_are_contained() {
    attacks_are_contained(Scenario::programs(&["hostile-protection"]));
}

/// Release builds do not check arithmetic overflow: a count the kernel mishandles wraps there
/// instead of panicking, so the attacks run on both builds.
#[test]
fn attacks_are_contained_on_a_release_build_too() {
    attacks_are_contained(Scenario::programs(&["hostile-protection"]).release());
}

#[test]
fn ring_counters_written_by_the_library_os_wrap() {
    let outcome = Scenario::new()
        .init("hostile-protection")
        .args("rings")
        .without_disk()
        .run();
    outcome.assert_contains("hostile-protection: all checks passed");
    outcome.assert_status(0);
}

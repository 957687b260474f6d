//! The seeded system-call fuzzer, 10^5 calls in all (four seeds, two boots side by side, on
//! the release build): no call's answer breaks its documented contract, the fuzzer keeps
//! running and releases everything, every frame comes back and the kernel's tables are
//! consistent at power-off. `make soak` runs 10^6 calls.
#![forbid(unsafe_code)]

use std::time::Duration;

use system_tests::{OutcomeAssertions, Scenario};

const CALLS_PER_SEED: u32 = 25_000;

fn fuzz(seeds: [u32; 2]) {
    let programs = seeds.map(|seed| format!("fuzz-syscalls:{seed}:{CALLS_PER_SEED}"));
    let outcome = Scenario::programs(&programs.each_ref().map(String::as_str))
        .release()
        .without_net()
        .timeout(Duration::from_secs(600))
        .run();
    outcome.assert_status(0);
    for seed in seeds {
        outcome.assert_contains(&format!(
            "fuzz-syscalls: seed {seed}: all checks passed ({CALLS_PER_SEED} calls)"
        ));
    }
    outcome.assert_lacks("CONTRACT BROKEN");
    outcome.assert_contains("exokernel: tables consistent");
    outcome.assert_frames_returned();
}

#[test]
fn seeds_1_and_2_break_nothing() {
    fuzz([1, 2]);
}

#[test]
fn seeds_3_and_4_break_nothing() {
    fuzz([3, 4]);
}

//! A program that never ends: the harness must kill the guest at the timeout.
#![forbid(unsafe_code)]

use std::time::Duration;

use system_tests::{OutcomeAssertions, Scenario};

#[test]
fn a_hanging_guest_is_killed_at_the_timeout() {
    // The release build: its boot takes a fraction of the timeout (a debug build's ramdisk
    // alone takes the BIOS half a minute to read).
    let outcome = Scenario::programs(&["hostile-spin"])
        .release()
        .timeout(Duration::from_secs(40))
        .run();
    outcome.assert_timed_out();
    outcome.assert_contains("exokernel: ready");
}

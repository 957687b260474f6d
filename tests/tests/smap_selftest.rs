//! The SMAP self-test: the kernel touching user memory outside the user-copy path must fault.
#![forbid(unsafe_code)]

use system_tests::guest_status::KERNEL_FAULT;
use system_tests::{OutcomeAssertions, Scenario, SelfTest};

#[test]
fn kernel_access_to_user_memory_faults_under_smap() {
    let outcome = Scenario::new().self_test(SelfTest::Smap).run();
    outcome.assert_status(KERNEL_FAULT);
    outcome.assert_line_order(&["smap selftest: touching user memory at", "KERNEL FAULT"]);
    outcome.assert_line_with(&["KERNEL FAULT", "page fault"]);
}

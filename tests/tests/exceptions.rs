//! User-level exceptions: delivered to the environment's own handler, which resumes the faulting
//! code; a handler that faults, or cannot be given its frame, ends its environment only.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, PROGRAM_FAILED, Scenario, guest_status};

#[test]
fn exceptions_reach_the_handler_and_resume() {
    let outcome = Scenario::programs(&["exception-upcalls"]).run();
    outcome.assert_status(0);
    outcome.assert_line_order(&[
        "exception-upcalls: breakpoint handled and resumed",
        "exception-upcalls: breakpoint with the direction flag set handled and resumed",
        "exception-upcalls: invalid opcode handled and resumed",
        "exception-upcalls: faulting load handled and resumed",
        "exception-upcalls: all checks passed",
    ]);
    outcome.assert_program_ended("exception-upcalls", "exited with status 0");
    outcome.assert_frames_returned();
}

#[test]
fn a_fault_inside_the_handler_ends_the_environment() {
    let outcome = Scenario::programs(&["hostile-handler-fault", "hello"]).run();
    outcome.assert_status(PROGRAM_FAILED);
    outcome.assert_line_with(&[
        "(hostile-handler-fault) page fault",
        "fault inside its exception handler",
    ]);
    outcome.assert_program_ended("hostile-handler-fault", "killed by page fault (vector 14)");
    outcome.assert_program_ended("hello", "killed by general protection fault (vector 13)");
    outcome.assert_frames_returned();
}

#[test]
fn an_unwritable_handler_stack_ends_the_environment() {
    let outcome = Scenario::new()
        .init("hostile-handler-fault")
        .args("unmapped-stack")
        .run();
    outcome.assert_line_with(&[
        "(hostile-handler-fault) invalid opcode",
        "its handler stack is not writable",
    ]);
    outcome.assert_status(guest_status::INIT_FAULTED);
}

//! Hostile programs, all in one boot: each is stopped with the right reason, the kernel goes on
//! to the next one, every program gives back all its frames, and none can exhaust the kernel
//! heap.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use system_tests::{Outcome, OutcomeAssertions, PROGRAM_FAILED, Scenario};

const PAGE_FAULT: &str = "killed by page fault (vector 14)";
const GP_FAULT: &str = "killed by general protection fault (vector 13)";

/// Each hostile program, in the order init runs them, with how it must end and whether the
/// kernel reports a fault for it.
const HOSTILE: [(&str, &str, bool); 6] = [
    ("hostile-null", PAGE_FAULT, true),
    ("hostile-kernel-write", PAGE_FAULT, true),
    ("hostile-privileged", GP_FAULT, true),
    ("hostile-syscalls", "exited with status 0", false),
    ("hostile-spawn", "exited with status 0", false),
    ("hostile-heap", "exited with status 0", false),
];

/// The one boot both tests check.
fn hostile_boot() -> &'static Outcome {
    static OUTCOME: OnceLock<Outcome> = OnceLock::new();
    OUTCOME.get_or_init(|| Scenario::programs(&HOSTILE.map(|(name, _, _)| name)).run())
}

#[test]
fn each_hostile_program_is_stopped_and_the_kernel_goes_on() {
    let outcome = hostile_boot();
    // The first programs are killed, as they must be: the status says a program failed.
    outcome.assert_status(PROGRAM_FAILED);
    let mut order = vec!["exokernel: ready, ".to_owned()];
    for (name, reason, is_fault) in HOSTILE {
        let report = outcome.assert_program_ended(name, reason);
        if is_fault {
            order.push(format!("exokernel: env {} ({name}) ended:", report.env_id));
        }
        order.push(format!("init: {name} (env {}) {reason}", report.env_id));
    }
    order.push("init: all programs done".to_owned());
    outcome.assert_line_order(&order.iter().map(String::as_str).collect::<Vec<_>>());
    outcome.assert_line_order(&[
        "hostile-syscalls: all checks passed",
        "init: hostile-syscalls (env ",
    ]);
    outcome.assert_line_order(&[
        "hostile-spawn: 255 children held, then Some(NoMemory)",
        "hostile-spawn: 255 children reaped",
        "hostile-spawn: unreapable children spawned until Some(NoMemory)",
        "init: hostile-spawn (env ",
    ]);
}

#[test]
fn every_program_gives_back_all_its_frames() {
    let outcome = hostile_boot();
    outcome.assert_frames_returned();
}

#[test]
fn no_program_can_exhaust_the_kernel_heap() {
    let outcome = hostile_boot();
    // The first programs are killed, as they must be: the status says a program failed.
    outcome.assert_status(PROGRAM_FAILED);
    outcome.assert_line_with(&[
        "hostile-heap: ",
        " bindings of one frame, then Some(NoMemory)",
    ]);
    outcome.assert_line_order(&[
        "hostile-heap: 4 of 4 filter loaders refused with NoMemory",
        "hostile-heap: all checks passed",
        "exokernel: tables consistent: ",
        "exokernel: kernel heap: ",
    ]);
}

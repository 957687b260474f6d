//! `make run`'s configuration (init running `hello`) boots under both firmwares; `hello` ends by a
//! fault, so the machine's status says a program failed.
#![forbid(unsafe_code)]

use system_tests::{Firmware, OutcomeAssertions, PROGRAM_FAILED, Scenario};

const GP_FAULT: &str = "killed by general protection fault (vector 13)";

fn boots_hello(firmware: Firmware) {
    let outcome = Scenario::programs(&["hello"]).firmware(firmware).run();
    outcome.assert_status(PROGRAM_FAILED);
    outcome.assert_line_order(&[
        "exokernel: ready, ",
        "Hello from ring 3!",
        "hello: CPL=3",
        "exokernel: env 2 (hello) ended:",
        &format!("init: hello (env 2) {GP_FAULT}"),
        "init: all programs done",
    ]);
    outcome.assert_program_ended("hello", GP_FAULT);
    outcome.assert_frames_returned();
}

#[test]
fn bios_boot_runs_hello_in_ring_3() {
    boots_hello(Firmware::Bios);
}

#[test]
fn uefi_boot_runs_hello_in_ring_3() {
    boots_hello(Firmware::Uefi);
}

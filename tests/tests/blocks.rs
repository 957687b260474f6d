//! Disk blocks as a protected resource: owned through a durable credential, moved by vectored
//! requests straight into the owner's pages, every refusal (another owner's block, a page that
//! is not the caller's or is read-only), repossession, and ownership that survives a reboot.
#![forbid(unsafe_code)]

use std::fs;

use system_tests::{Firmware, OutcomeAssertions, Scenario, scratch_disk};

#[test]
fn blocks_are_owned_checked_and_repossessed() {
    let outcome = Scenario::new().args("blocks:checks").run();
    outcome.assert_status(0);
    outcome.assert_contains("blocks: all checks passed");
    outcome.assert_program_ended("blocks", "exited with status 0");
    outcome.assert_frames_returned();
}

#[test]
fn a_credential_gives_the_blocks_back_after_a_reboot() {
    let disk = scratch_disk("blocks-persist");
    let first = Scenario::new()
        .args("blocks:persist-write")
        .disk(&disk)
        .run();
    first.assert_status(0);
    first.assert_contains("exokernel: blocks: 40821 free of 65397 data blocks");
    first.assert_contains("blocks: all checks passed");
    let second = Scenario::new()
        .firmware(Firmware::Uefi)
        .args("blocks:persist-read")
        .disk(&disk)
        .run();
    second.assert_status(0);
    second.assert_lacks("formatting");
    second.assert_line_with(&["blocks: blocks", "came back with their data"]);
    let _ = fs::remove_file(&disk);
}

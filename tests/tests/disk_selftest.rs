//! The disk self-test: the kernel writes a pattern to the last blocks of the virtio-blk disk from
//! some frames, reads it back into others and compares, one block at a time and in vectored
//! requests; the data reaches the disk file and survives a reboot under the other firmware.
#![forbid(unsafe_code)]

use std::fs;
use std::path::Path;

use system_tests::guest_status::SELF_TEST_FAILED;
use system_tests::{
    DEFAULT_DISK_BLOCKS, DISK_BLOCK_BYTES, Firmware, LogLevel, OutcomeAssertions, Scenario,
    SelfTest, scratch_disk,
};

/// The byte the self-test writes at `offset` of block `block` (`pattern_byte` in
/// `exokernel/kernel/src/selftest.rs`).
fn pattern_byte(block: u64, offset: usize) -> u8 {
    ((offset as u64 * 7 + block * 13 + 1) % 251) as u8
}

/// Whether block `block` of the disk file at `disk` holds the self-test's pattern.
fn file_block_holds_pattern(disk: &Path, block: u64) -> bool {
    let bytes = fs::read(disk).expect("the disk file exists after the run");
    let start = (block * DISK_BLOCK_BYTES) as usize;
    let Some(contents) = bytes.get(start..start + DISK_BLOCK_BYTES as usize) else {
        return false;
    };
    contents
        .iter()
        .enumerate()
        .all(|(offset, &byte)| byte == pattern_byte(block, offset))
}

#[test]
fn the_pattern_reaches_the_disk_file_and_survives_a_reboot() {
    let disk = scratch_disk("disk-selftest");
    let last_block = DEFAULT_DISK_BLOCKS - 1;
    let passed = "exokernel: self-test disk: passed (5 blocks written and read back, 4 of them in \
                  one vectored request each way)";

    let first = Scenario::new().self_test(SelfTest::Disk).disk(&disk).run();
    first.assert_status(0);
    first.assert_line_order(&[
        &format!("exokernel: disk: virtio-blk, {DEFAULT_DISK_BLOCKS} blocks of 4096 bytes"),
        "exokernel: ready, ",
        &format!("exokernel: self-test disk: the last block ({last_block}) does not hold"),
        passed,
        "exokernel: tables consistent",
    ]);
    for block in last_block - 4..=last_block {
        if !file_block_holds_pattern(&disk, block) {
            first.fail(&format!(
                "block {block} of {} lacks the pattern",
                disk.display()
            ));
        }
    }
    if file_block_holds_pattern(&disk, last_block - 5) {
        first.fail("the self-test wrote below its blocks");
    }

    let second = Scenario::new()
        .firmware(Firmware::Uefi)
        .self_test(SelfTest::Disk)
        .disk(&disk)
        .run();
    second.assert_status(0);
    second.assert_line_order(&[
        &format!("exokernel: self-test disk: the last block ({last_block}) already holds"),
        passed,
    ]);
    let _ = fs::remove_file(&disk);
}

// The tests below choose log levels of their own only so that their boot images differ from the
// one above: two QEMUs running at once cannot both open one image file for writing.

#[test]
fn without_a_disk_the_kernel_goes_on_and_the_selftest_fails() {
    let outcome = Scenario::new()
        .self_test(SelfTest::Disk)
        .log(LogLevel::Warn)
        .without_disk()
        .run();
    outcome.assert_status(SELF_TEST_FAILED);
    outcome.assert_line_order(&[
        "exokernel: disk: none",
        "exokernel: ready, ",
        "exokernel: self-test disk: failed: no disk",
    ]);
}

#[test]
fn every_scenario_gets_a_fresh_disk_of_its_own() {
    let outcome = Scenario::new()
        .self_test(SelfTest::Disk)
        .log(LogLevel::Debug)
        .run();
    outcome.assert_status(0);
    outcome.assert_contains(&format!(
        "the last block ({}) does not hold the test pattern",
        system_tests::DEFAULT_DISK_BLOCKS - 1
    ));
}

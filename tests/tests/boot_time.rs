//! The bench's boot-time row (B11): `make run`'s configuration on the release build boots from
//! QEMU's start to the shell's prompt within a generous bound, and the row is a figure line the
//! bench's readers take. (The goal, a few seconds, is the bench's to report, not this test's:
//! tests share the host's cores.)
#![forbid(unsafe_code)]

use std::fs;
use std::time::Duration;

use boot::bench_report::Figure;
use boot::boot_time::measure_boot_to_prompt;
use boot::{DEFAULT_DISK_BLOCKS, DiskOptions, Firmware, Profile, Workspace};
use system_tests::scratch_disk;

/// The bound on a release boot to the prompt (some 3 s alone), with room for tests running
/// side by side.
const BOUND: Duration = Duration::from_secs(60);

#[test]
fn a_release_boot_reaches_the_prompt_within_the_bound_and_gives_the_row() {
    let workspace = Workspace::locate().unwrap();
    let disk = DiskOptions {
        path: scratch_disk("boot-time"),
        blocks: DEFAULT_DISK_BLOCKS,
        is_fresh: true,
    };
    let measured = measure_boot_to_prompt(
        &workspace,
        Profile::Release,
        Firmware::Bios,
        &disk,
        BOUND * 2,
    )
    .unwrap();
    let _ = fs::remove_file(&disk.path);
    let time = match measured {
        Ok(time) => time,
        Err(outcome) => panic!(
            "no prompt: {}\n--- serial transcript ---\n{}--- end ---",
            outcome.ending(),
            outcome.serial
        ),
    };
    let line = time.figure_line();
    let figure = Figure::parse(&line).unwrap_or_else(|| panic!("not a figure line: {line}"));
    assert_eq!(
        (
            figure.id.as_str(),
            figure.name.as_str(),
            figure.unit.as_str()
        ),
        ("B11", "boot_to_prompt_release_bios", "ms")
    );
    assert_eq!(figure.value, time.to_prompt.as_millis() as u64);
    assert!(
        time.to_prompt < BOUND,
        "the prompt came after {:?}, over the bound of {BOUND:?}",
        time.to_prompt
    );
}

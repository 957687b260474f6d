//! The CPU time-slice vector: environments get the CPU in proportion to the slots they own, an
//! environment that spins in its slot-end (epilogue) upcall is aborted and loses its next slot,
//! and the slice calls refuse bad requests. The timing tests run with guest time counted in
//! instructions, so that a busy host cannot stretch a grace period.
#![forbid(unsafe_code)]

use system_tests::{OutcomeAssertions, Scenario};

/// The counts the kernel reports for an environment that owned slots.
#[derive(Debug)]
struct SliceReport {
    owned_run: u64,
    forfeited: u64,
    aborts: u64,
    epilogues: u64,
}

/// Reads `exokernel: env N slices: A owned run, B best effort, C forfeited, D aborts, E
/// epilogues` for environment `id`.
fn slice_report(serial: &str, id: u32) -> SliceReport {
    let prefix = format!("exokernel: env {id} slices: ");
    let line = serial
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no slice report for env {id} in:\n{serial}"));
    let numbers: Vec<u64> = line
        .split(", ")
        .map(|part| part.split(' ').next().unwrap().parse().unwrap())
        .collect();
    SliceReport {
        owned_run: numbers[0],
        forfeited: numbers[2],
        aborts: numbers[3],
        epilogues: numbers[4],
    }
}

/// The environment id printed after `label is env ` in the app's line.
fn env_id_after(serial: &str, label: &str) -> u32 {
    let start = serial.find(label).expect("the app names its workers") + label.len();
    serial[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn cpu_time_follows_slot_counts() {
    let outcome = Scenario::new()
        .args("slices:share")
        .instruction_clocked()
        .run();
    outcome.assert_status(0);
    outcome.assert_line_with(&["slices: counted", "of the slot ratio"]);
    outcome.assert_contains("slices: all checks passed");
    outcome.assert_frames_returned();
}

#[test]
fn spinning_in_the_epilogue_loses_the_next_slot() {
    let outcome = Scenario::new()
        .args("slices:epilogue")
        .instruction_clocked()
        .run();
    outcome.assert_status(0);
    outcome.assert_contains("slices: all checks passed");
    let serial = &outcome.serial;
    let polite = slice_report(serial, env_id_after(serial, "polite is env "));
    let spinner = slice_report(serial, env_id_after(serial, "spinner is env "));
    let context = format!("polite {polite:?}, spinner {spinner:?}");
    // The spinner never leaves its first epilogue: every slot it gets ends in an abort, and
    // every abort costs it the slot after.
    assert_eq!(spinner.epilogues, 1, "{context}");
    assert!(spinner.aborts >= 5, "{context}");
    assert!(spinner.forfeited + 1 >= spinner.aborts, "{context}");
    assert!(spinner.owned_run <= spinner.forfeited + 2, "{context}");
    // The polite worker yields within its grace nearly always, and keeps its slots.
    assert!(polite.epilogues >= 10, "{context}");
    assert!(polite.aborts * 10 <= polite.epilogues, "{context}");
    assert!(polite.owned_run > spinner.owned_run * 3 / 2, "{context}");
    outcome.assert_frames_returned();
}

#[test]
fn slice_calls_refuse_bad_requests() {
    let outcome = Scenario::new().args("slices:calls").run();
    outcome.assert_status(0);
    outcome.assert_contains("slices: all checks passed");
    outcome.assert_frames_returned();
}

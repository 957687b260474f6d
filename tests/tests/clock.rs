//! The clocks apps get (`libos_posix::time`, from the kernel's `ClockInfo`): `date` prints the
//! host's date and time (QEMU's real-time clock follows the host clock), and an `Instant`
//! measures a `Sleep` of known length (the `usertests` cases `clocks` and
//! `instant_arithmetic`), on debug and release builds.
#![forbid(unsafe_code)]

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};
use system_tests::{Outcome, OutcomeAssertions, Scenario};

/// How far `date`'s time may be from the host's span of the run: it reads the real-time clock
/// to the second at boot and counts from there with the time-stamp counter.
const TOLERANCE_SECONDS: u64 = 5;

fn host_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the host clock is after 1970")
        .as_secs()
}

/// What the host's `date` makes of `arguments` (GNU date).
fn host_date(arguments: &[&str]) -> String {
    let output = Command::new("date")
        .args(arguments)
        .output()
        .expect("the host has date");
    assert!(output.status.success(), "date {arguments:?}: {output:?}");
    String::from_utf8(output.stdout)
        .expect("date prints UTF-8")
        .trim()
        .to_owned()
}

/// The line `date` printed (`Mon Dec  7 09:30:15 UTC 2026`), from the shell's transcript.
fn date_line(outcome: &Outcome) -> String {
    const WEEKDAYS: [&str; 7] = ["Sun ", "Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat "];
    let line = outcome.serial.lines().find_map(|line| {
        let at = WEEKDAYS.iter().filter_map(|day| line.find(day)).min()?;
        Some(&line[at..]).filter(|rest| rest.contains(" UTC "))
    });
    match line {
        Some(line) => line.trim().to_owned(),
        None => outcome.fail("no line of date's form"),
    }
}

/// Runs `date` and the clock cases of `usertests` in the shell; checks the printed time
/// against the host's clock around the run.
fn date_and_instants(scenario: Scenario) {
    let (start, start_year) = (host_now(), host_date(&["-u", "+%Y"]));
    let mut shell = scenario.start();
    shell.command("date", " UTC ");
    let summary = shell.command("/tests/usertests clocks instant_arithmetic", " passed, ");
    shell.command("poweroff", "init: file system synced");
    let outcome = shell.finish();
    let (end, end_year) = (host_now(), host_date(&["-u", "+%Y"]));
    outcome.assert_status(0);
    if !summary.contains("2 passed, 0 failed") {
        outcome.fail(&format!("usertests: {summary}"));
    }

    let printed = date_line(&outcome);
    let year = printed.rsplit(' ').next().unwrap_or_default();
    if year != start_year && year != end_year {
        outcome.fail(&format!(
            "date printed {printed:?}; the host's year is {end_year}"
        ));
    }
    let seconds: u64 = host_date(&["-u", "-d", &printed, "+%s"])
        .parse()
        .expect("date +%s prints a number");
    let span = start - TOLERANCE_SECONDS..=end + TOLERANCE_SECONDS;
    if !span.contains(&seconds) {
        outcome.fail(&format!(
            "date printed {printed:?} ({seconds}), outside the run's {span:?} (host seconds)"
        ));
    }
}

#[test]
fn date_prints_this_year_and_instants_measure_a_sleep() {
    date_and_instants(Scenario::new());
}

#[test]
fn date_and_instants_on_a_release_build() {
    date_and_instants(Scenario::new().release());
}

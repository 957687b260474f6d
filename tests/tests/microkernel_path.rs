//! The microkernel path: `init micro` starts the file server, a separate environment that owns
//! the disk partition, and the process server, which creates, waits for and kills every
//! process; every process's file and process calls go to them by protected control transfer.
//! The shell and usertests work there as on the library OS path (debug and release builds),
//! and the file system is the same: what one path wrote, the other reads. A hostile client of
//! the file server (malformed requests, its page unbound under the server's window) gets
//! errors, and the server goes on serving; a hostile client of the process server (forged
//! pids, others' children, past its limit) is refused, and a process that ends without waiting
//! leaves no orphan running; both hostile clients run on debug and release builds.
#![forbid(unsafe_code)]

use std::fs;
use std::time::Duration;
use system_tests::{OutcomeAssertions, Scenario, scratch_disk};

const USERTESTS_TIMEOUT: Duration = Duration::from_secs(600);

fn start_served_shell(scenario: Scenario) -> system_tests::Running {
    let mut running = scenario.args("micro").start();
    running.expect_line(
        "init: the file and process servers serve the world",
        Duration::from_secs(120),
    );
    running.expect_line("init: file system mounted", Duration::from_secs(60));
    running
}

/// Runs `usertests` in `shell` and fails, with the whole transcript, unless every case passed.
fn run_usertests(shell: &mut system_tests::Running) -> Result<(), String> {
    shell.send_line("/tests/usertests");
    match shell.wait_for_line(" passed, ", USERTESTS_TIMEOUT) {
        Ok(line) if line.contains(" passed, 0 failed") => Ok(()),
        Ok(line) => Err(format!("usertests: {line}")),
        Err(error) => Err(format!("usertests: {error}")),
    }
}

#[test]
fn usertests_pass_with_the_file_server_and_its_files_are_the_library_oses() {
    let disk = scratch_disk("microkernel-path");
    let mut shell = start_served_shell(Scenario::new().disk(&disk));
    if let Err(failure) = run_usertests(&mut shell) {
        shell.stop().fail(&failure);
    }
    assert_eq!(shell.command_output("mkdir /served"), [""; 0]);
    assert_eq!(
        shell.command_output("echo written by the file server > /served/note"),
        [""; 0]
    );
    shell.command("cat /served/note | wc", "      1       5      27");
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);

    // The library OS path, on the same disk, reads what the server wrote.
    let mut shell = Scenario::new().disk(&disk).start();
    shell.expect_line("init: file system mounted", Duration::from_secs(120));
    shell.command("cat /served/note", "written by the file server");
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);
    let _ = fs::remove_file(&disk);
}

#[test]
fn usertests_pass_with_the_file_server_on_a_release_build() {
    let disk = scratch_disk("microkernel-path-release");
    let mut shell = start_served_shell(Scenario::new().release().disk(&disk));
    if let Err(failure) = run_usertests(&mut shell) {
        shell.stop().fail(&failure);
    }
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);
    let _ = fs::remove_file(&disk);
}

#[test]
fn a_hostile_client_gets_errors_and_the_file_server_goes_on() {
    file_server_goes_on(Scenario::programs(&["hostile-file-client"]));
}

#[test]
fn a_hostile_client_gets_errors_from_the_file_server_on_a_release_build_too() {
    file_server_goes_on(Scenario::programs(&["hostile-file-client"]).release());
}

fn file_server_goes_on(scenario: Scenario) {
    let outcome = scenario.run();
    outcome.assert_status(0);
    outcome.assert_contains("hostile-file-client: all checks passed");
    outcome.assert_program_ended("hostile-file-client", "exited with status 0");
}

#[test]
fn a_hostile_client_of_the_process_server_is_refused_and_orphans_are_killed() {
    process_server_refuses(Scenario::programs(&["hostile-process-client"]));
}

#[test]
fn a_hostile_client_of_the_process_server_is_refused_on_a_release_build_too() {
    process_server_refuses(Scenario::programs(&["hostile-process-client"]).release());
}

fn process_server_refuses(scenario: Scenario) {
    let outcome = scenario.run();
    outcome.assert_status(0);
    outcome.assert_contains("hostile-process-client: all checks passed");
    outcome.assert_program_ended("hostile-process-client", "exited with status 0");
    let orphan = outcome
        .serial
        .lines()
        .find_map(|line| line.strip_prefix("hostile-process-client: orphan "))
        .unwrap_or_else(|| outcome.fail("the orphaner named no orphan"))
        .trim()
        .to_owned();
    outcome.assert_contains(&format!(
        "env {orphan} (hostile-process-client) ended: killed"
    ));
}

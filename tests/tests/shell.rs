//! The library OS's world as a person uses it: init mounts the file system and runs the shell
//! on the serial console; commands are typed and their output read back. Files persist across
//! a reboot on the same disk, and across a crash once the shell has idled 5 s; usertests (each
//! case in its own forked process, with a leak check) pass on the debug and on the release build
//! (optimisation moves the library's statics, so a forked child that touched copy-on-write memory
//! before registering its fault handler can pass in one profile and die in the other); Ctrl-C
//! stops a foreground program; a missing command gets a clear message.
#![forbid(unsafe_code)]

use std::fs;
use std::time::Duration;
use system_tests::{OutcomeAssertions, Scenario, scratch_disk};

const USERTESTS_TIMEOUT: Duration = Duration::from_secs(600);

fn shell_on(disk: &std::path::Path) -> system_tests::Running {
    start_shell(Scenario::new().disk(disk))
}

fn start_shell(scenario: Scenario) -> system_tests::Running {
    let mut running = scenario.start();
    running.expect_line("init: file system mounted", Duration::from_secs(120));
    running
}

/// Runs `usertests` in `shell` and fails, with the whole transcript, unless every case passed.
fn after_usertests_passed(mut shell: system_tests::Running) -> system_tests::Running {
    shell.send_line("/tests/usertests");
    match shell.wait_for_line(" passed, ", USERTESTS_TIMEOUT) {
        Ok(line) if line.contains(" passed, 0 failed") => {}
        // The whole transcript says which case failed and why.
        Ok(line) => shell.stop().fail(&format!("usertests: {line}")),
        Err(error) => shell.stop().fail(&format!("usertests: {error}")),
    }
    shell
}

#[test]
fn files_made_in_the_shell_survive_a_reboot() {
    let disk = scratch_disk("shell");
    let mut shell = shell_on(&disk);
    shell.command("mkdir /data", "(mkdir) ended: exited with status 0");
    shell.command(
        "echo hello world > /data/greeting",
        "(echo) ended: exited with status 0",
    );
    shell.command(
        "echo again >> /data/greeting",
        "(echo) ended: exited with status 0",
    );
    shell.command("cat /data/greeting | wc", "      2       3      18");
    shell.command("ls -l /data", "greeting");
    shell.command("frobnicate", "sh: frobnicate: command not found");
    shell.command(
        "cat < /data/missing",
        "sh: /data/missing: No such file or directory",
    );
    shell.send_line("cd /data");
    shell.command("cat greeting", "again");
    shell.command("poweroff", "init: file system synced");
    let outcome = shell.finish();
    outcome.assert_status(0);

    let mut shell = shell_on(&disk);
    shell.command("cat /data/greeting", "hello world");
    shell.command("rm /data/greeting", "(rm) ended: exited with status 0");
    shell.command("rmdir /data", "(rmdir) ended: exited with status 0");
    shell.command("ls /", "bin");
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);
    let _ = fs::remove_file(&disk);
}

/// Without `sync` or `poweroff`, what was made more than 5 s ago survives the machine being
/// killed: the library commits in the background (here, while the shell idles at its prompt).
#[test]
fn changes_survive_a_crash_after_five_idle_seconds() {
    let disk = scratch_disk("commit");
    let mut shell = shell_on(&disk);
    shell.command("mkdir /kept", "(mkdir) ended: exited with status 0");
    shell.command(
        "echo durable > /kept/note",
        "(echo) ended: exited with status 0",
    );
    std::thread::sleep(Duration::from_secs(6));
    shell.stop();

    let mut shell = shell_on(&disk);
    shell.command("ls /kept", "note");
    shell.command("cat /kept/note", "durable");
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);
    let _ = fs::remove_file(&disk);
}

#[test]
fn usertests_pass_and_ctrl_c_stops_the_foreground_program() {
    let disk = scratch_disk("usertests");
    let mut shell = after_usertests_passed(shell_on(&disk));
    shell.send_line("cat");
    shell.expect_line("$ cat", Duration::from_secs(30));
    shell.send(b"\x03");
    shell.expect_line("^C", Duration::from_secs(30));
    shell.command("echo still here", "still here");
    shell.command("ps", "PID");
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);
    let _ = fs::remove_file(&disk);
}

#[test]
fn usertests_pass_on_a_release_build() {
    let disk = scratch_disk("release-usertests");
    let mut shell = after_usertests_passed(start_shell(Scenario::new().release().disk(&disk)));
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);
    let _ = fs::remove_file(&disk);
}

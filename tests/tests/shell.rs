//! The library OS's world as a person uses it: init mounts the file system and runs the shell
//! on the serial console; commands are typed and their output read back, and a successful
//! command prints nothing but its own output. Files persist across
//! a reboot on the same disk, and across a crash once the shell has idled 10 s; usertests (each
//! case in its own forked process, with a leak check) pass on the debug and on the release build
//! (optimisation moves the library's statics, so a forked child that touched copy-on-write memory
//! before registering its fault handler can pass in one profile and die in the other); Ctrl-C
//! stops a foreground program; a missing command gets a clear message. The shell does what a
//! Unix shell's user expects (see `the_shell_behaves_as_a_unix_shell`), and `exit 3` in init's
//! shell ends the machine with status 3.
#![forbid(unsafe_code)]

use std::fs;
use std::time::Duration;
use system_tests::{LogLevel, OutcomeAssertions, Scenario, scratch_disk};

const USERTESTS_TIMEOUT: Duration = Duration::from_secs(600);

/// What a successful command that prints nothing prints.
const NOTHING: [&str; 0] = [];

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
    assert_eq!(shell.command_output("mkdir /data"), NOTHING);
    assert_eq!(
        shell.command_output("echo hello world > /data/greeting"),
        NOTHING
    );
    assert_eq!(
        shell.command_output("echo again >> /data/greeting"),
        NOTHING
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
    assert_eq!(shell.command_output("rm /data/greeting"), NOTHING);
    assert_eq!(shell.command_output("rmdir /data"), NOTHING);
    shell.command("ls /", "bin");
    shell.command("poweroff", "init: file system synced");
    shell.finish().assert_status(0);
    let _ = fs::remove_file(&disk);
}

/// Without `sync` or `poweroff`, what was made more than 5 s ago survives the machine being
/// killed: the library commits in the background (here, while the shell idles at its prompt).
/// The test idles 10 s: the commit starts 4 s after the last one, and its journal writes, each
/// polled to completion, took over 2 s more on a host loaded by other builds.
#[test]
fn changes_survive_a_crash_after_ten_idle_seconds() {
    let disk = scratch_disk("commit");
    let mut shell = shell_on(&disk);
    assert_eq!(shell.command_output("mkdir /kept"), NOTHING);
    assert_eq!(shell.command_output("echo durable > /kept/note"), NOTHING);
    std::thread::sleep(Duration::from_secs(10));
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

/// At the default log level (warn) a program ended by a fault is reported once; `$?`, `pwd`,
/// scripts, commands on standard input, Tab completion, background jobs that leave the terminal to
/// the foreground, the line limit, the working directory's limit and Ctrl-D behave as a Unix
/// shell's user expects; `exit 3` ends the machine with status 3.
#[test]
fn the_shell_behaves_as_a_unix_shell() {
    let mut shell = start_shell(Scenario::new().log(LogLevel::Warn));
    assert_eq!(shell.command_output("pwd"), ["/"]);
    assert_eq!(shell.command_output("echo $?"), ["0"]);
    let hello = shell.command_output("hello");
    assert_eq!(hello[..2], ["Hello from ring 3!", "hello: CPL=3"]);
    assert_eq!(hello.len(), 3, "one report of the fault: {hello:?}");
    assert!(
        hello[2].starts_with("hello: killed by general protection fault at 0x"),
        "{hello:?}"
    );
    assert_eq!(shell.command_output("echo $? '$?'"), ["141 $?"]);
    assert_eq!(
        shell.command_output("frobnicate"),
        ["sh: frobnicate: command not found"]
    );
    assert_eq!(shell.command_output("echo $?"), ["127"]);

    // Commands from standard input, and from a script file.
    let listing = shell.command_output("echo ls / | sh");
    assert!(
        listing.iter().any(|line| line.contains("bin")),
        "{listing:?}"
    );
    assert_eq!(
        shell.command_output("echo 'echo from a script' > /script"),
        NOTHING
    );
    assert_eq!(shell.command_output("echo 'exit 4' >> /script"), NOTHING);
    assert_eq!(shell.command_output("sh /script"), ["from a script"]);
    assert_eq!(shell.command_output("echo $?"), ["4"]);

    // Tab completes a command, a unique path, and the common start of several, which a second
    // Tab lists.
    shell.send(b"ech\t");
    shell.command("completed", "completed");
    assert_eq!(shell.command_output("echo first > /tab-alpha"), NOTHING);
    assert_eq!(shell.command_output("echo second > /tab-alps"), NOTHING);
    shell.send(b"cat /tab-al\t\t");
    shell.expect_line("tab-alpha  tab-alps", Duration::from_secs(60));
    shell.send(b"s\t");
    assert_eq!(shell.command_output(""), ["second"]);

    // A background job that reads the terminal gets end of file: the typed lines stay the
    // shell's.
    // It reads end of file at once, so the shell may report it done before its next prompt.
    let started = shell.command_output("cat &");
    assert!(
        started.first().is_some_and(|line| line.starts_with('['))
            && started[1..].iter().all(|line| line == "[done] cat"),
        "{started:?}"
    );
    shell.command("echo typed for the shell", "typed for the shell");

    // The longest line runs (its words fill a program's 2,048 bytes of arguments exactly); a
    // longer one is refused with a message, not run cut short.
    let longest = format!("echo {}", "x".repeat(2042));
    assert_eq!(longest.len(), 2047);
    shell.command(&longest, &"x".repeat(2042));
    shell.send_line(&format!("echo {}", "y".repeat(3000)));
    shell.expect_line(
        "sh: line too long: a command line holds at most 2047 bytes",
        Duration::from_secs(60),
    );
    assert_eq!(shell.command_output("echo $?"), ["2"]);

    // `cd` refuses a working directory whose path the children could not be given.
    let name = "d".repeat(70);
    for _ in 0..14 {
        shell.send_line(&format!("mkdir {name}"));
        shell.send_line(&format!("cd {name}"));
    }
    assert_eq!(shell.command_output("pwd")[0].len(), 14 * 71);
    shell.send_line(&format!("mkdir {name}"));
    shell.command(
        &format!("cd {name}"),
        "File name too long (a working directory's path may be at most 1024 bytes)",
    );
    assert_eq!(shell.command_output("pwd")[0].len(), 14 * 71);
    // `..` shortens the path rather than lengthening it.
    assert_eq!(shell.command_output("cd ./.."), NOTHING);
    assert_eq!(shell.command_output("pwd")[0].len(), 13 * 71);
    assert_eq!(
        shell.command_output("echo still working"),
        ["still working"]
    );
    shell.send_line("cd /");

    // Ctrl-D ends the shell; init starts a new one.
    shell.send(b"\x04");
    shell.expect_line(
        "init: the shell ended at end of input; starting a new one",
        Duration::from_secs(60),
    );
    assert_eq!(shell.command_output("pwd"), ["/"]);
    shell.send_line("exit 3");
    let outcome = shell.finish();
    outcome.assert_status(3);
    outcome.assert_contains("[done] cat");
    outcome.assert_lacks(") ended: ");
}

/// A program run by init that fails gives the machine its status: the first failure's.
#[test]
fn a_failing_program_under_init_gives_the_machine_its_status() {
    // `kill` without operands exits with status 2; `hello` is then killed by a fault.
    let outcome = Scenario::programs(&["true", "kill", "hello"]).run();
    outcome.assert_program_ended("true", "exited with status 0");
    outcome.assert_program_ended("kill", "exited with status 2");
    outcome.assert_program_ended("hello", "killed by general protection fault (vector 13)");
    outcome.assert_status(2);
}

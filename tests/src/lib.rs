//! The QEMU test harness: a test declares a [`Scenario`], runs it, and checks the [`Outcome`]
//! with the assertions of [`OutcomeAssertions`], which print the whole serial transcript when
//! they fail.
//!
//! The guest (kernel and apps, debug profile unless a scenario asks for
//! [`release`](Scenario::release)) is built once per test process and profile; each scenario
//! gets its own boot image and, unless it names one, its own fresh data disk (the kernel's
//! virtio-blk device), so tests in one file run in parallel. Every scenario has the network
//! device on QEMU's user-mode network too (each QEMU has a network of its own).
//!
//! A test that talks to the guest while it runs starts the scenario instead of running it
//! ([`Scenario::start`]), waits for the guest to say it is ready ([`Running::wait_for_line`]),
//! talks to it through forwarded ports ([`Scenario::forward_udp`], [`free_udp_ports`]) or types
//! on its serial console ([`Running::send`], [`Running::send_line`], [`Running::command`]), then
//! ends the run ([`Running::finish`] or [`Running::stop`]) and checks the [`Outcome`] as usual.
//!
//! ```no_run
//! # use system_tests::{OutcomeAssertions, Scenario};
//! // Init without arguments runs the shell.
//! let mut shell = Scenario::new().start();
//! shell.command("echo hello", "hello");
//! shell.send_line("poweroff");
//! shell.finish().assert_status(0);
//! ```
#![forbid(unsafe_code)]

mod init_report;

use std::fmt;
use std::fs;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use boot::guest_status;
pub use boot::qemu_args::{GATEWAY_IP, GUEST_IP, GUEST_MAC};
pub use boot::{
    DEFAULT_DISK_BLOCKS, DISK_BLOCK_BYTES, Firmware, LogLevel, NoLine, Outcome, SelfTest,
};
pub use init_report::{ProgramReport, program_reports};

use boot::{
    BootOptions, CapturedRun, DiskOptions, GuestBinaries, NetOptions, Profile, QemuOptions,
    UdpForward, Workspace,
};

/// How long a scenario may run unless it says otherwise: boots take 2 to 5 s under TCG, more
/// when tests run side by side on two cores.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The guest status when a program init ran (`Scenario::programs`) was killed or could not start;
/// one that exited with a non-zero status gives that status (at most 63).
pub const PROGRAM_FAILED: u8 = 1;

/// The shell's prompt, as the serial line of an empty command line shows it.
pub const SHELL_PROMPT: &str = "$ ";

/// How long [`Running::command`] waits for the line it expects (and never past the scenario's
/// timeout): the first command may wait for the boot, and each starts programs under TCG.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// One boot of the system: firmware, what the kernel is told in `boot.cfg`, the data disk, the
/// network, and a timeout.
#[derive(Clone, Debug)]
pub struct Scenario {
    firmware: Firmware,
    options: BootOptions,
    disk: ScenarioDisk,
    /// `None`: no network device.
    net: Option<NetOptions>,
    timeout: Duration,
    is_instruction_clocked: bool,
    profile: Profile,
}

/// The data disk a scenario attaches.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ScenarioDisk {
    /// An empty disk of [`DEFAULT_DISK_BLOCKS`] of its own, deleted after the run.
    Fresh,
    /// The disk file at this path, created empty when missing and kept after the run.
    At(PathBuf),
    /// No data disk.
    Absent,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::new()
    }
}

impl Scenario {
    /// BIOS, `init` with no arguments, log level info, no self-test, a fresh data disk of its
    /// own, the network device with no forwarded port, [`DEFAULT_TIMEOUT`].
    pub fn new() -> Scenario {
        Scenario {
            firmware: Firmware::Bios,
            options: BootOptions {
                args: String::new(),
                log_level: LogLevel::Info,
                ..BootOptions::default()
            },
            disk: ScenarioDisk::Fresh,
            net: Some(NetOptions::default()),
            timeout: DEFAULT_TIMEOUT,
            is_instruction_clocked: false,
            profile: Profile::Debug,
        }
    }

    /// Build the kernel and the apps with the release profile: long runs (fuzzing, soak
    /// tests) go several times faster than on the debug build.
    pub fn release(mut self) -> Scenario {
        self.profile = Profile::Release;
        self
    }

    /// Run QEMU with `-icount shift=0`: guest time advances with guest instructions, so
    /// timing-dependent behaviour (slot ends, grace periods) does not depend on how busy the
    /// host is.
    pub fn instruction_clocked(mut self) -> Scenario {
        self.is_instruction_clocked = true;
        self
    }

    /// `init` running `programs` one after the other.
    pub fn programs(programs: &[&str]) -> Scenario {
        Scenario::new().args(&programs.join(" "))
    }

    /// The firmware that starts the image (default BIOS).
    pub fn firmware(mut self, firmware: Firmware) -> Scenario {
        self.firmware = firmware;
        self
    }

    /// The program started as init (default `init`).
    pub fn init(mut self, program: &str) -> Scenario {
        self.options.init = program.to_owned();
        self
    }

    /// Init's argument string.
    pub fn args(mut self, args: &str) -> Scenario {
        self.options.args = args.to_owned();
        self
    }

    /// Run a kernel self-test instead of init.
    pub fn self_test(mut self, self_test: SelfTest) -> Scenario {
        self.options.self_test = Some(self_test);
        self
    }

    /// Kernel log level.
    pub fn log(mut self, level: LogLevel) -> Scenario {
        self.options.log_level = level;
        self
    }

    /// Kill QEMU after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Scenario {
        self.timeout = timeout;
        self
    }

    /// Attach the data disk at `path`, created empty when missing and kept after the run:
    /// scenarios naming the same path see each other's writes (run them one after the other).
    pub fn disk(mut self, path: impl Into<PathBuf>) -> Scenario {
        self.disk = ScenarioDisk::At(path.into());
        self
    }

    /// Attach no data disk.
    pub fn without_disk(mut self) -> Scenario {
        self.disk = ScenarioDisk::Absent;
        self
    }

    /// Attach no network device (the kernel then says `net: none`).
    pub fn without_net(mut self) -> Scenario {
        self.net = None;
        self
    }

    /// Forward UDP datagrams sent to `127.0.0.1:host_port` on the host to the guest's
    /// `guest_port` (at [`GUEST_IP`]); the guest's replies from that port come back to the
    /// sender. Take `host_port` from [`free_udp_ports`]. Attaches the network device if
    /// [`without_net`](Self::without_net) removed it.
    pub fn forward_udp(mut self, host_port: u16, guest_port: u16) -> Scenario {
        self.net
            .get_or_insert_with(NetOptions::default)
            .udp_forwards
            .push(UdpForward {
                host_port,
                guest_port,
            });
        self
    }

    /// Builds the image for this scenario (and the guest, once per process), boots it and waits
    /// until it ends or times out.
    ///
    /// Panics when the guest cannot be built or QEMU cannot run: that is no outcome to check.
    pub fn run(&self) -> Outcome {
        self.start().finish()
    }

    /// Like [`run`](Self::run), but returns as soon as QEMU has started, so the test can read
    /// the serial output as it comes and talk to the guest, typing on its serial console at any
    /// time ([`Running::send`]). The scenario's timeout counts from now.
    pub fn start(&self) -> Running {
        let (workspace, guest) = guest(self.profile);
        let image = boot::create_image(workspace, guest, &self.options, self.firmware)
            .unwrap_or_else(|error| panic!("creating the image for {self:?}: {error:#}"));
        let disk = self.prepare_disk(workspace, guest);
        let qemu = QemuOptions {
            disk: disk.clone(),
            net: self.net.clone(),
            icount: self.is_instruction_clocked,
            ..QemuOptions::new(self.firmware, image)
        };
        let mut running = Running {
            scenario: self.clone(),
            qemu: None,
            fresh_disk: disk.filter(|_| self.disk == ScenarioDisk::Fresh),
        };
        match boot::start_captured(&qemu, self.timeout) {
            Ok(qemu) => running.qemu = Some(qemu),
            Err(error) => panic!("running QEMU for {self:?}: {error:#}"),
        }
        running
    }

    /// Creates the scenario's data disk when needed, with the user's programs in its file
    /// system's `/bin` and the test programs in `/tests`; returns its path.
    fn prepare_disk(&self, workspace: &Workspace, guest: &GuestBinaries) -> Option<PathBuf> {
        let (path, is_fresh) = match &self.disk {
            ScenarioDisk::Fresh => (unique_disk_path(workspace, "scenario"), true),
            ScenarioDisk::At(path) => (path.clone(), false),
            ScenarioDisk::Absent => return None,
        };
        let options = DiskOptions {
            path,
            blocks: DEFAULT_DISK_BLOCKS,
            is_fresh,
        };
        boot::prepare_disk(&options)
            .and_then(|_| {
                boot::install_programs(&options.path, boot::PROGRAMS_DIRECTORY, &guest.apps)
            })
            .and_then(|_| {
                boot::install_programs(
                    &options.path,
                    boot::TEST_PROGRAMS_DIRECTORY,
                    &guest.test_programs,
                )
            })
            .unwrap_or_else(|error| panic!("preparing the disk for {self:?}: {error:#}"));
        Some(options.path)
    }
}

/// A scenario's QEMU while it runs (from [`Scenario::start`]). Dropping it before it ends kills
/// QEMU; a scenario's own fresh data disk is deleted when it is dropped.
#[derive(Debug)]
pub struct Running {
    scenario: Scenario,
    /// `Some` until the run ends.
    qemu: Option<CapturedRun>,
    fresh_disk: Option<PathBuf>,
}

/// A serial line that [`Running::wait_for_line`] did not see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineNotSeen {
    /// What the line should have contained.
    pub text: String,
    /// How long the test waited.
    pub waited: Duration,
    /// Whether time ran out (the wait's, or the scenario's) or the guest's output ended.
    pub reason: NoLine,
}

impl fmt::Display for LineNotSeen {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = &self.text;
        match self.reason {
            NoLine::TimedOut => write!(
                formatter,
                "no serial line containing {text:?} within {:?}",
                self.waited
            ),
            NoLine::Ended => write!(
                formatter,
                "QEMU ended before a serial line containing {text:?}"
            ),
        }
    }
}

impl std::error::Error for LineNotSeen {}

impl Running {
    /// Reads the serial output as it comes until a line contains `text`, for at most `timeout`
    /// (and not past the scenario's own timeout); returns that line. The lines before it are
    /// passed over (they stay in the final transcript), so successive calls look for lines in
    /// order.
    pub fn wait_for_line(&mut self, text: &str, timeout: Duration) -> Result<String, LineNotSeen> {
        self.wait_for(text, timeout, |line| line.contains(text))
    }

    /// Reads the serial output as it comes until `is_wanted` accepts a line, for at most
    /// `timeout`; returns that line. A failure names the line as containing `text`.
    fn wait_for(
        &mut self,
        text: &str,
        timeout: Duration,
        mut is_wanted: impl FnMut(&str) -> bool,
    ) -> Result<String, LineNotSeen> {
        let started = Instant::now();
        let qemu = self.qemu_mut();
        loop {
            match qemu.next_line(started + timeout) {
                Ok(line) if is_wanted(&line) => return Ok(line),
                Ok(_) => {}
                Err(reason) => {
                    return Err(LineNotSeen {
                        text: text.to_owned(),
                        waited: started.elapsed(),
                        reason,
                    });
                }
            }
        }
    }

    /// [`wait_for_line`](Self::wait_for_line), failing the test when the line does not come:
    /// QEMU is then killed and the failure shows the whole transcript.
    #[track_caller]
    pub fn expect_line(&mut self, text: &str, timeout: Duration) -> String {
        match self.wait_for_line(text, timeout) {
            Ok(line) => line,
            Err(error) => self.end(true).fail(&error.to_string()),
        }
    }

    /// Types `bytes` on the guest's serial console, after those typed before; returns at once.
    /// They reach the guest once the kernel says it is ready (bytes typed earlier wait for that),
    /// and only as fast as the guest reads them, so none is lost. Fails the test when the input
    /// is closed ([`close_input`](Self::close_input)) or QEMU has ended.
    #[track_caller]
    pub fn send(&mut self, bytes: &[u8]) {
        if let Err(error) = self.qemu_mut().send(bytes) {
            self.end(true).fail(&format!(
                "typing {:?}: {error}",
                String::from_utf8_lossy(bytes)
            ));
        }
    }

    /// Types `line` and a line feed (`\n`), which the console takes as Enter.
    #[track_caller]
    pub fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\n").as_bytes());
    }

    /// Types the command `line` ([`send_line`](Self::send_line)) and waits, for at most
    /// [`COMMAND_TIMEOUT`], for a later serial line that contains `expected`; returns that line.
    /// The first line containing `line` itself is the console's echo of the command and does
    /// not count, so `command("echo hello", "hello")` waits for the output. Fails the test as
    /// [`expect_line`](Self::expect_line) does.
    #[track_caller]
    pub fn command(&mut self, line: &str, expected: &str) -> String {
        self.send_line(line);
        let mut output = CommandOutput::new(line, expected);
        match self.wait_for(expected, COMMAND_TIMEOUT, |seen| output.is_expected(seen)) {
            Ok(seen) => seen,
            Err(error) => self
                .end(true)
                .fail(&format!("after typing {line:?}: {error}")),
        }
    }

    /// Types the shell command `line`, then an empty line, and returns every serial line between
    /// the echo of `line` and the shell's next prompt, which the empty line completes (`$ `
    /// alone): all that running the command printed, kernel lines included. For commands that
    /// do not read their standard input (one that does would take the empty line), shorter than
    /// a terminal row (so that their echo is one line). Fails the test
    /// as [`expect_line`](Self::expect_line) does when the prompt does not come within
    /// [`COMMAND_TIMEOUT`].
    #[track_caller]
    pub fn command_output(&mut self, line: &str) -> Vec<String> {
        self.send_line(line);
        self.send_line("");
        let mut output = Vec::new();
        let mut is_echoed = false;
        let waited = self.wait_for("the next prompt", COMMAND_TIMEOUT, |seen| {
            if !is_echoed {
                is_echoed = seen.ends_with(line);
                return false;
            }
            if seen == SHELL_PROMPT {
                return true;
            }
            output.push(seen.to_owned());
            false
        });
        if let Err(error) = waited {
            self.end(true)
                .fail(&format!("after typing {line:?}: {error}"));
        }
        output
    }

    /// Closes the guest's serial input: the bytes typed so far still reach it, then nothing
    /// more (its reads find no input, as if nobody typed). QEMU and the guest go on.
    pub fn close_input(&mut self) {
        self.qemu_mut().close_input();
    }

    /// Waits until the guest ends, or QEMU is killed at the scenario's timeout.
    pub fn finish(mut self) -> Outcome {
        self.end(false)
    }

    /// Kills QEMU now, unless it has ended: for a guest that never ends by itself, such as a
    /// server. The outcome then counts as timed out, unless the guest had ended.
    pub fn stop(mut self) -> Outcome {
        self.end(true)
    }

    fn qemu_mut(&mut self) -> &mut CapturedRun {
        self.qemu
            .as_mut()
            .expect("a Running keeps its QEMU until it ends, which consumes it")
    }

    /// Ends the run (now when `at_once`, else when QEMU ends or at the scenario's timeout).
    fn end(&mut self, at_once: bool) -> Outcome {
        let qemu = self
            .qemu
            .take()
            .expect("a Running keeps its QEMU until it ends, which consumes it");
        let outcome = if at_once { qemu.stop() } else { qemu.finish() };
        let scenario = &self.scenario;
        let outcome =
            outcome.unwrap_or_else(|error| panic!("running QEMU for {scenario:?}: {error:#}"));
        eprintln!(
            "system-tests: {:?} -> {}",
            scenario.options,
            outcome.ending()
        );
        outcome
    }
}

/// Tells the output of a typed command from its echo: see [`Running::command`].
struct CommandOutput<'a> {
    /// The command, until a line has echoed it.
    unechoed: Option<&'a str>,
    expected: &'a str,
}

impl<'a> CommandOutput<'a> {
    fn new(command: &'a str, expected: &'a str) -> CommandOutput<'a> {
        CommandOutput {
            unechoed: Some(command).filter(|command| !command.is_empty()),
            expected,
        }
    }

    /// Takes the next serial line; true when it is the output that was expected.
    fn is_expected(&mut self, line: &str) -> bool {
        if self.unechoed.is_some_and(|command| line.contains(command)) {
            self.unechoed = None;
            return false;
        }
        line.contains(self.expected)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Dropping the QEMU first kills it, so that it no longer holds the disk file.
        self.qemu = None;
        if let Some(disk) = &self.fresh_disk {
            let _ = fs::remove_file(disk);
        }
    }
}

/// `count` distinct UDP ports of the host's loopback interface that no socket uses now, for
/// [`Scenario::forward_udp`]. The operating system picks them; another program could take one
/// before QEMU binds it, which is unlikely within a test run.
pub fn free_udp_ports(count: usize) -> Vec<u16> {
    let sockets: Vec<UdpSocket> = (0..count)
        .map(|_| {
            UdpSocket::bind(("127.0.0.1", 0))
                .unwrap_or_else(|error| panic!("binding a UDP socket on 127.0.0.1: {error}"))
        })
        .collect();
    sockets
        .iter()
        .map(|socket| {
            socket
                .local_addr()
                .unwrap_or_else(|error| panic!("reading a UDP socket's address: {error}"))
                .port()
        })
        .collect()
}

/// A path for a data disk no other test uses, under `target/images/disks/`, with no file there
/// yet: for scenarios that share a disk through [`Scenario::disk`]. The caller removes the file.
pub fn scratch_disk(name: &str) -> PathBuf {
    let workspace =
        Workspace::locate().unwrap_or_else(|error| panic!("locating the workspace: {error:#}"));
    let path = unique_disk_path(&workspace, name);
    let _ = fs::remove_file(&path);
    path
}

/// `target/images/disks/<name>-<process>-<count>.img`, unique among the running tests.
fn unique_disk_path(workspace: &Workspace, name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let file_name = format!("{name}-{}-{count}.img", process::id());
    workspace.images_dir().join("disks").join(file_name)
}

/// The workspace and the guest binaries of `profile`, built on first use.
fn guest(profile: Profile) -> &'static (Workspace, GuestBinaries) {
    type Built = OnceLock<Result<(Workspace, GuestBinaries), String>>;
    static DEBUG: Built = OnceLock::new();
    static RELEASE: Built = OnceLock::new();
    let once = match profile {
        Profile::Debug => &DEBUG,
        Profile::Release => &RELEASE,
    };
    let built = once.get_or_init(|| {
        let workspace = Workspace::locate().map_err(|error| format!("{error:#}"))?;
        let guest = boot::build_guest(&workspace, profile).map_err(|error| format!("{error:#}"))?;
        Ok((workspace, guest))
    });
    match built {
        Ok(built) => built,
        Err(error) => panic!("building the guest failed: {error}"),
    }
}

/// Checks on an [`Outcome`]; each failure shows the whole transcript.
pub trait OutcomeAssertions {
    /// The guest powered off with `status` (and did not time out).
    fn assert_status(&self, status: u8);
    /// QEMU had to be killed at the timeout.
    fn assert_timed_out(&self);
    /// The transcript contains `text`.
    fn assert_contains(&self, text: &str);
    /// The transcript does not contain `text`.
    fn assert_lacks(&self, text: &str);
    /// Some line contains every one of `parts`.
    fn assert_line_with(&self, parts: &[&str]);
    /// Each of `texts` occurs after the previous one.
    fn assert_line_order(&self, texts: &[&str]);
    /// Init's report for `program`, which must exist and end with `reason`.
    fn assert_program_ended(&self, program: &str, reason: &str) -> ProgramReport;
    /// Every program init reported on got back exactly the frames it started with.
    fn assert_frames_returned(&self);
    /// Fails the test with `message` and the transcript.
    fn fail(&self, message: &str) -> !;
}

impl OutcomeAssertions for Outcome {
    #[track_caller]
    fn assert_status(&self, status: u8) {
        if self.timed_out || self.guest_status != Some(status) {
            self.fail(&format!(
                "expected guest status {status}, but {}",
                self.ending()
            ));
        }
    }

    #[track_caller]
    fn assert_timed_out(&self) {
        if !self.timed_out {
            self.fail(&format!("expected a timeout, but {}", self.ending()));
        }
    }

    #[track_caller]
    fn assert_contains(&self, text: &str) {
        if !self.serial.contains(text) {
            self.fail(&format!("the transcript lacks {text:?}"));
        }
    }

    #[track_caller]
    fn assert_lacks(&self, text: &str) {
        if self.serial.contains(text) {
            self.fail(&format!("the transcript contains {text:?}"));
        }
    }

    #[track_caller]
    fn assert_line_with(&self, parts: &[&str]) {
        if !self
            .serial_lines()
            .any(|line| parts.iter().all(|part| line.contains(part)))
        {
            self.fail(&format!("no line contains all of {parts:?}"));
        }
    }

    #[track_caller]
    fn assert_line_order(&self, texts: &[&str]) {
        let mut position = 0;
        for text in texts {
            match self.serial[position..].find(text) {
                Some(offset) => position += offset + text.len(),
                None => self.fail(&format!(
                    "{text:?} does not follow the earlier texts of {texts:?}"
                )),
            }
        }
    }

    #[track_caller]
    fn assert_program_ended(&self, program: &str, reason: &str) -> ProgramReport {
        let reports = program_reports(&self.serial);
        let Some(report) = reports.iter().find(|report| report.name == program) else {
            self.fail(&format!("init reported nothing about {program}"));
        };
        if report.reason != reason {
            self.fail(&format!("{program} {}, expected: {reason}", report.reason));
        }
        report.clone()
    }

    #[track_caller]
    fn assert_frames_returned(&self) {
        let reports = program_reports(&self.serial);
        if reports.is_empty() {
            self.fail("init reported on no program");
        }
        for report in &reports {
            match report.frames {
                Some((before, after)) if before == after => {}
                Some((before, after)) => self.fail(&format!(
                    "{} (env {}) leaked frames: {before} free before, {after} after",
                    report.name, report.env_id
                )),
                None => self.fail(&format!("init gave no frame count for {}", report.name)),
            }
        }
    }

    #[track_caller]
    fn fail(&self, message: &str) -> ! {
        panic!(
            "{message}\nQEMU: {}\n--- serial transcript ---\n{}\n--- end of transcript ---{}",
            self.ending(),
            self.serial.trim_end(),
            if self.qemu_stderr.is_empty() {
                String::new()
            } else {
                format!("\n--- QEMU stderr ---\n{}", self.qemu_stderr.trim_end())
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echo_of_a_command_is_not_its_output() {
        let mut output = CommandOutput::new("echo hello", "hello");
        assert!(!output.is_expected("$ echo hello"));
        assert!(output.is_expected("hello"));
    }

    #[test]
    fn only_the_first_line_with_the_command_is_its_echo() {
        let mut output = CommandOutput::new("cat notes", "cat notes");
        assert!(!output.is_expected("earlier output"));
        assert!(!output.is_expected("$ cat notes"));
        assert!(output.is_expected("remember to cat notes"));
    }

    #[test]
    fn without_an_echo_the_output_counts_at_once() {
        let mut output = CommandOutput::new("ls", "hello");
        assert!(output.is_expected("hello"));
        let mut empty_command = CommandOutput::new("", "$ ");
        assert!(empty_command.is_expected("$ "));
    }
}

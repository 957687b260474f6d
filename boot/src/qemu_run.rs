//! Running QEMU: attached to the terminal, or with the serial output captured, under a timeout;
//! a captured run can also be read line by line while the guest runs.

use std::env;
use std::ffi::OsStr;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::firmware::{Firmware, OVMF_PATH};
use crate::outcome::{Ending, Outcome};
use crate::qemu_args::{QEMU_PROGRAM, QemuOptions, SerialMode, qemu_args};

/// Set to `1` to copy the guest's serial output to standard error while it is captured.
pub const ECHO_VARIABLE: &str = "EXO_ECHO";
/// How often a running QEMU is checked for having exited.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How long QEMU may take to stop after `SIGTERM` before it is killed outright.
const TERMINATE_GRACE: Duration = Duration::from_secs(2);

/// QEMU could not be used; the boot tool exits with `exit_codes::QEMU_UNAVAILABLE`.
#[derive(Debug)]
pub enum QemuError {
    /// The program or the firmware is not installed.
    Missing(String),
    /// QEMU started but reported an error of its own and quit (bad argument, image, port).
    Failed(String),
}

impl fmt::Display for QemuError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QemuError::Missing(what) => write!(
                formatter,
                "{what} is missing: run `make setup` (or `apt-get install qemu-system-x86 ovmf`)"
            ),
            QemuError::Failed(message) => write!(formatter, "QEMU failed to start: {message}"),
        }
    }
}

impl std::error::Error for QemuError {}

/// Boots with the serial port on the terminal; waits for QEMU (killing it after `timeout`).
pub fn run_interactive(options: &QemuOptions, timeout: Option<Duration>) -> Result<Ending> {
    let mut command = qemu_command(options, SerialMode::Interactive)?;
    command
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut command)?;
    let stderr = forward_stderr(child.stderr.take().expect("QEMU's stderr is piped"));
    let (status, timed_out) = wait_with_timeout(&mut child, timeout)?;
    let qemu_stderr = stderr.join().unwrap_or_default();
    check_qemu_did_not_fail(status, timed_out, &qemu_stderr)?;
    Ok(Ending::from_qemu(status.code(), timed_out))
}

/// Boots with the serial port captured; kills QEMU after `timeout`.
///
/// With `EXO_ECHO=1` each serial line is also copied to standard error as it arrives (written
/// directly, so it shows even inside `cargo test`'s output capture).
pub fn run_captured(options: &QemuOptions, timeout: Duration) -> Result<Outcome> {
    start_captured(options, timeout)?.finish()
}

/// Boots with the serial port captured and returns while the guest runs; QEMU is killed
/// `timeout` after the start unless it ended earlier. Echoes as [`run_captured`] does.
pub fn start_captured(options: &QemuOptions, timeout: Duration) -> Result<CapturedRun> {
    let mut command = qemu_command(options, SerialMode::Captured)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut command)?;
    let deadline = Instant::now() + timeout;
    let echo_prefix = is_echo_enabled().then(|| echo_prefix(&options.image));
    let (line_sender, lines) = mpsc::channel();
    let serial = read_serial(
        child.stdout.take().expect("QEMU's stdout is piped"),
        echo_prefix,
        Some(line_sender),
    );
    let stderr = read_all(child.stderr.take().expect("QEMU's stderr is piped"));
    Ok(CapturedRun {
        child,
        deadline,
        lines,
        serial: Some(serial),
        stderr: Some(stderr),
    })
}

/// A QEMU started by [`start_captured`], with its serial output captured.
///
/// [`next_line`](Self::next_line) hands out the serial lines as they arrive, each once, in order;
/// the whole transcript goes into the [`Outcome`] of [`finish`](Self::finish) or
/// [`stop`](Self::stop) whether or not they were read. Dropping a run that has not ended kills
/// QEMU.
#[derive(Debug)]
pub struct CapturedRun {
    child: Child,
    /// When QEMU is killed unless it ended earlier.
    deadline: Instant,
    lines: Receiver<String>,
    /// The serial reader, which returns the whole transcript; taken when the run ends.
    serial: Option<JoinHandle<String>>,
    /// The standard-error reader; taken when the run ends.
    stderr: Option<JoinHandle<String>>,
}

/// Why [`CapturedRun::next_line`] gave no line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoLine {
    /// None arrived in time.
    TimedOut,
    /// The serial output ended: QEMU exited, and every line has been handed out.
    Ended,
}

impl CapturedRun {
    /// The next serial line, without its line break or `\r` (a last line without a line break
    /// comes when the output ends), waiting for it until `until` or the run's deadline, whichever
    /// is earlier.
    pub fn next_line(&mut self, until: Instant) -> Result<String, NoLine> {
        let until = until.min(self.deadline);
        let wait = until.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(NoLine::TimedOut),
            Err(RecvTimeoutError::Disconnected) => Err(NoLine::Ended),
        }
    }

    /// Waits for QEMU to end, killing it at the deadline, and returns what came of the run.
    pub fn finish(mut self) -> Result<Outcome> {
        let deadline = self.deadline;
        self.end(deadline)
    }

    /// Kills QEMU now, unless it has ended, and returns what came of the run (a killed run's
    /// outcome counts as timed out): for a guest that never ends by itself, such as a server.
    pub fn stop(mut self) -> Result<Outcome> {
        self.end(Instant::now())
    }

    /// Waits for QEMU until `deadline`, then kills it; collects the outcome.
    fn end(&mut self, deadline: Instant) -> Result<Outcome> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        let (status, timed_out) = wait_with_timeout(&mut self.child, Some(timeout))?;
        let serial = join_text(self.serial.take());
        let qemu_stderr = join_text(self.stderr.take());
        check_qemu_did_not_fail(status, timed_out, &qemu_stderr)?;
        Ok(Outcome::new(status.code(), timed_out, serial, qemu_stderr))
    }
}

impl Drop for CapturedRun {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The text a reader thread returned; empty if there is none or it panicked.
fn join_text(reader: Option<JoinHandle<String>>) -> String {
    reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default()
}

/// Fails with [`QemuError::Missing`] unless QEMU (and, for UEFI, OVMF) is installed.
pub fn check_installed(firmware: Firmware) -> Result<(), QemuError> {
    if !is_on_path(QEMU_PROGRAM) {
        return Err(QemuError::Missing(QEMU_PROGRAM.to_owned()));
    }
    if firmware == Firmware::Uefi && !Path::new(OVMF_PATH).is_file() {
        return Err(QemuError::Missing(format!("the OVMF firmware {OVMF_PATH}")));
    }
    Ok(())
}

/// The first error line QEMU wrote about itself (its warnings do not count).
///
/// QEMU exits with 1 on its own errors, which is also the code of guest status 0; this line
/// tells the two apart.
pub fn qemu_error_line(qemu_stderr: &str) -> Option<&str> {
    let prefix = format!("{QEMU_PROGRAM}:");
    qemu_stderr
        .lines()
        .find(|line| line.starts_with(&prefix) && !line.contains("warning:"))
}

fn qemu_command(options: &QemuOptions, serial: SerialMode) -> Result<Command> {
    check_installed(options.firmware)?;
    if !options.image.is_file() {
        anyhow::bail!("no disk image at {}", options.image.display());
    }
    if let Some(disk) = options.disk.as_ref().filter(|disk| !disk.is_file()) {
        anyhow::bail!("no data disk at {}", disk.display());
    }
    let mut command = Command::new(QEMU_PROGRAM);
    command.args(qemu_args(options, serial));
    Ok(command)
}

fn spawn(command: &mut Command) -> Result<Child> {
    let args: Vec<&OsStr> = command.get_args().collect();
    eprintln!(
        "boot: {QEMU_PROGRAM} {}",
        args.join(OsStr::new(" ")).to_string_lossy()
    );
    command.spawn().map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => QemuError::Missing(QEMU_PROGRAM.to_owned()).into(),
        _ => anyhow::Error::new(QemuError::Failed(error.to_string())),
    })
}

fn check_qemu_did_not_fail(status: ExitStatus, timed_out: bool, qemu_stderr: &str) -> Result<()> {
    if timed_out || status.code() != Some(1) {
        return Ok(());
    }
    match qemu_error_line(qemu_stderr) {
        Some(line) => Err(QemuError::Failed(line.to_owned()).into()),
        None => Ok(()),
    }
}

/// Waits for `child`; after `timeout` kills it. Returns its status and whether it timed out.
fn wait_with_timeout(child: &mut Child, timeout: Option<Duration>) -> Result<(ExitStatus, bool)> {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    loop {
        if let Some(status) = child.try_wait().context("waiting for QEMU")? {
            return Ok((status, false));
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok((terminate(child)?, true));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Stops `child`: politely first (QEMU then gives the terminal back in its normal mode), then
/// with `SIGKILL`. QEMU may exit by itself meanwhile; its status is then still right.
fn terminate(child: &mut Child) -> Result<ExitStatus> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    let grace_deadline = Instant::now() + TERMINATE_GRACE;
    while Instant::now() < grace_deadline {
        if let Some(status) = child.try_wait().context("waiting for QEMU to stop")? {
            return Ok(status);
        }
        thread::sleep(POLL_INTERVAL);
    }
    let _ = child.kill();
    child.wait().context("waiting for the killed QEMU")
}

fn is_echo_enabled() -> bool {
    env::var_os(ECHO_VARIABLE).is_some_and(|value| !value.is_empty() && value != "0")
}

fn echo_prefix(image: &Path) -> String {
    let stem = image.file_stem().unwrap_or_default().to_string_lossy();
    format!("[{stem}] ")
}

/// Collects the serial output line by line, without `\r`, echoing it when asked and sending each
/// line (without its line break) to `lines` when given.
fn read_serial(
    pipe: impl Read + Send + 'static,
    echo_prefix: Option<String>,
    lines: Option<Sender<String>>,
) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut transcript = String::new();
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(count) if count > 0) {
            let text = String::from_utf8_lossy(&line).replace('\r', "");
            let bare = text.trim_end_matches('\n');
            if let Some(prefix) = &echo_prefix {
                let _ = writeln!(io::stderr().lock(), "{prefix}{bare}");
            }
            if let Some(lines) = &lines {
                // Nobody may be listening any more; the transcript keeps the line anyway.
                let _ = lines.send(bare.to_owned());
            }
            transcript.push_str(&text);
            line.clear();
        }
        transcript
    })
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Copies QEMU's standard error to ours while keeping it to look for QEMU's own errors.
fn forward_stderr(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(count) = pipe.read(&mut buffer) {
            if count == 0 {
                break;
            }
            let _ = io::stderr().write_all(&buffer[..count]);
            kept.extend_from_slice(&buffer[..count]);
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

fn is_on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|path| env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_errors_are_told_from_warnings() {
        let stderr = "qemu-system-x86_64: warning: TCG doesn't support requested feature\n\
                      qemu-system-x86_64: -drive format=raw,file=x: Could not open 'x'\n";
        assert_eq!(
            qemu_error_line(stderr),
            Some("qemu-system-x86_64: -drive format=raw,file=x: Could not open 'x'")
        );
        assert_eq!(
            qemu_error_line("qemu-system-x86_64: warning: something\n"),
            None
        );
        assert_eq!(qemu_error_line(""), None);
    }

    #[test]
    fn missing_tools_point_at_make_setup() {
        let message = QemuError::Missing(QEMU_PROGRAM.to_owned()).to_string();
        assert!(message.contains("make setup"), "{message}");
        assert!(
            message.contains("apt-get install qemu-system-x86 ovmf"),
            "{message}"
        );
    }

    #[test]
    fn the_serial_reader_drops_carriage_returns_and_keeps_a_partial_last_line() {
        let input: &'static [u8] = b"one\r\ntwo\r\nthree";
        let transcript = read_serial(input, None, None).join().unwrap();
        assert_eq!(transcript, "one\ntwo\nthree");
    }

    #[test]
    fn the_serial_reader_sends_each_line_as_it_comes() {
        let input: &'static [u8] = b"one\r\n\ntwo";
        let (sender, lines) = mpsc::channel();
        let transcript = read_serial(input, None, Some(sender)).join().unwrap();
        assert_eq!(lines.iter().collect::<Vec<_>>(), ["one", "", "two"]);
        assert_eq!(transcript, "one\n\ntwo");
    }

    /// A captured run of the shell script `script` in place of QEMU, killed at `deadline`.
    fn captured_script(script: &str, deadline: Instant) -> CapturedRun {
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let serial = read_serial(child.stdout.take().unwrap(), None, Some(sender));
        let stderr = read_all(child.stderr.take().unwrap());
        CapturedRun {
            child,
            deadline,
            lines,
            serial: Some(serial),
            stderr: Some(stderr),
        }
    }

    #[test]
    fn a_captured_run_hands_out_lines_until_the_output_ends() {
        let script = "echo first; sleep 0.2; echo second; exit 3";
        let mut run = captured_script(script, Instant::now() + Duration::from_secs(30));
        let soon = Instant::now() + Duration::from_secs(30);
        assert_eq!(run.next_line(soon), Ok("first".to_owned()));
        assert_eq!(run.next_line(soon), Ok("second".to_owned()));
        assert_eq!(run.next_line(soon), Err(NoLine::Ended));
        let outcome = run.finish().unwrap();
        assert_eq!(outcome.serial, "first\nsecond\n");
        assert_eq!(outcome.qemu_exit_code, Some(3));
        assert!(!outcome.timed_out);
    }

    #[test]
    fn a_stopped_run_is_killed_at_once_and_its_lines_kept() {
        let started = Instant::now();
        let script = "echo serving; exec sleep 30";
        let mut run = captured_script(script, started + Duration::from_secs(60));
        let line = run.next_line(started + Duration::from_secs(30));
        assert_eq!(line, Ok("serving".to_owned()));
        let quiet = run.next_line(Instant::now() + Duration::from_millis(100));
        assert_eq!(quiet, Err(NoLine::TimedOut));
        let outcome = run.stop().unwrap();
        assert!(outcome.timed_out);
        assert_eq!(outcome.serial, "serving\n");
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn a_child_past_its_deadline_is_killed() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let started = Instant::now();
        let (status, timed_out) =
            wait_with_timeout(&mut child, Some(Duration::from_millis(100))).unwrap();
        assert!(timed_out);
        assert!(!status.success());
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_child_that_exits_in_time_reports_its_code() {
        let mut child = Command::new("sh").args(["-c", "exit 33"]).spawn().unwrap();
        let (status, timed_out) =
            wait_with_timeout(&mut child, Some(Duration::from_secs(30))).unwrap();
        assert!(!timed_out);
        assert_eq!(
            Ending::from_qemu(status.code(), timed_out),
            Ending::GuestStatus(16)
        );
    }
}

//! Running QEMU: attached to the terminal, or with the serial output captured, under a timeout;
//! a captured run can also be read line by line, and typed into, while the guest runs.
//!
//! Serial input that does not come from a person at the terminal (a pipe, a file, a test) is
//! held back until the kernel says it is ready ([`KERNEL_READY_TEXT`]): before that, OVMF reads
//! the serial port as its own console, and the bootloader and the kernel each reset the UART's
//! receive FIFO, so early bytes would be lost.

use std::env;
use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
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
/// The start of the line the kernel prints once it has set up the serial port for good and
/// started init (`exokernel/kernel/src/main.rs`); serial input other than the terminal's waits
/// for it.
pub const KERNEL_READY_TEXT: &str = "exokernel: ready, ";
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

/// Where the serial input of a run on the terminal ([`run_interactive`]) comes from.
#[derive(Debug)]
pub enum ConsoleInput {
    /// The terminal itself, in raw mode (see [`SerialMode::Terminal`]).
    Terminal,
    /// Our standard input, which is not a terminal (a pipe, a file), passed on once the kernel
    /// is ready. Its end does not end the run.
    Stdin,
    /// The bytes of `file`, opened from `path`, passed on once the kernel is ready; our
    /// standard input is not read. The end of the file does not end the run.
    File { path: PathBuf, file: File },
}

impl ConsoleInput {
    /// How QEMU connects the serial port for this input.
    pub fn serial_mode(&self) -> SerialMode {
        match self {
            ConsoleInput::Terminal => SerialMode::Terminal,
            ConsoleInput::Stdin | ConsoleInput::File { .. } => SerialMode::Piped,
        }
    }
}

impl fmt::Display for ConsoleInput {
    /// One line for the user before the guest starts: where the serial input comes from.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = "passed to the guest once the kernel is ready";
        match self {
            ConsoleInput::Terminal => formatter.write_str(
                "serial console on this terminal (Ctrl-A X quits QEMU, Ctrl-A H lists its keys)",
            ),
            ConsoleInput::Stdin => write!(formatter, "serial input from standard input, {held}"),
            ConsoleInput::File { path, .. } => {
                write!(formatter, "serial input from {}, {held}", path.display())
            }
        }
    }
}

/// Boots with the serial output on our standard output and the serial input from `input`; waits
/// for QEMU (killing it after `timeout`).
///
/// On the terminal QEMU uses our standard input and output itself. Otherwise both go through
/// pipes: the output is copied to ours byte for byte as it comes, and the input is passed on
/// once the kernel is ready.
pub fn run_interactive(
    options: &QemuOptions,
    input: ConsoleInput,
    timeout: Option<Duration>,
) -> Result<Ending> {
    let mut command = qemu_command(options, input.serial_mode())?;
    let relayed_input: Option<Box<dyn Read + Send>> = match input {
        ConsoleInput::Terminal => None,
        ConsoleInput::Stdin => Some(Box::new(io::stdin())),
        ConsoleInput::File { file, .. } => Some(Box::new(file)),
    };
    let is_relayed = relayed_input.is_some();
    let stdio = || {
        if is_relayed {
            Stdio::piped()
        } else {
            Stdio::inherit()
        }
    };
    command
        .stdin(stdio())
        .stdout(stdio())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut command)?;
    let stderr = forward_stderr(child.stderr.take().expect("QEMU's stderr is piped"));
    let relay = relayed_input.map(|source| {
        let (ready_sender, ready) = mpsc::channel();
        let output = relay_serial(
            child.stdout.take().expect("QEMU's stdout is piped"),
            io::stdout(),
            ready_sender,
        );
        // Not waited for: it may be blocked reading an input that never ends.
        feed_console(
            ready,
            source,
            child.stdin.take().expect("QEMU's stdin is piped"),
        );
        output
    });
    let (status, timed_out) = wait_with_timeout(&mut child, timeout)?;
    if let Some(output) = relay {
        let _ = output.join();
    }
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
    let mut command = qemu_command(options, SerialMode::Piped)?;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = spawn(&mut command)?;
    let echo_prefix = is_echo_enabled().then(|| echo_prefix(&options.image));
    Ok(CapturedRun::attach(
        child,
        Instant::now() + timeout,
        echo_prefix,
    ))
}

/// A QEMU started by [`start_captured`], with its serial output captured and its serial input
/// open.
///
/// [`next_line`](Self::next_line) hands out the serial lines as they arrive, each once, in order;
/// the whole transcript goes into the [`Outcome`] of [`finish`](Self::finish) or
/// [`stop`](Self::stop) whether or not they were read. [`send`](Self::send) types on the serial
/// console at any time. Dropping a run that has not ended kills QEMU.
#[derive(Debug)]
pub struct CapturedRun {
    child: Child,
    /// When QEMU is killed unless it ended earlier.
    deadline: Instant,
    lines: Receiver<String>,
    /// The bytes to type, for the thread that passes them to QEMU; `None` once the input is
    /// closed.
    input: Option<Sender<Vec<u8>>>,
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

/// [`CapturedRun::send`] found the guest's serial input closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputClosed;

impl fmt::Display for InputClosed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(
            "the guest's serial input is closed (it was closed, or QEMU ended or stopped reading)",
        )
    }
}

impl std::error::Error for InputClosed {}

impl CapturedRun {
    /// Captures the serial port of `child` (a QEMU with all three standard streams piped), which
    /// is killed at `deadline`; echoes each line to standard error after `echo_prefix`, if any.
    fn attach(mut child: Child, deadline: Instant, echo_prefix: Option<String>) -> CapturedRun {
        let (line_sender, lines) = mpsc::channel();
        let (ready_sender, ready) = mpsc::channel();
        let (input, typed) = mpsc::channel();
        let serial = read_serial(
            child.stdout.take().expect("QEMU's stdout is piped"),
            echo_prefix,
            Some(line_sender),
            Some(ready_sender),
        );
        let stderr = read_all(child.stderr.take().expect("QEMU's stderr is piped"));
        // Ends by itself when the input is closed, when QEMU ends, or when the serial output ends
        // before the kernel is ready.
        feed_console(
            ready,
            TypedBytes::new(typed),
            child.stdin.take().expect("QEMU's stdin is piped"),
        );
        CapturedRun {
            child,
            deadline,
            lines,
            input: Some(input),
            serial: Some(serial),
            stderr: Some(stderr),
        }
    }

    /// Types `bytes` on the guest's serial console, after those sent before. Returns at once:
    /// the bytes reach the guest once the kernel is ready, as fast as it takes them from its
    /// UART (nothing is lost while it does not read). Fails when the input is closed
    /// ([`close_input`](Self::close_input)) or QEMU no longer takes it.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), InputClosed> {
        let input = self.input.as_ref().ok_or(InputClosed)?;
        input.send(bytes.to_vec()).map_err(|_| InputClosed)
    }

    /// Ends the serial input after the bytes sent so far. QEMU and the guest go on; the guest
    /// receives nothing more.
    pub fn close_input(&mut self) {
        self.input = None;
    }

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

    /// Closes the serial input (the bytes sent so far still reach the guest), waits for QEMU to
    /// end, killing it at the deadline, and returns what came of the run.
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
        // The bytes sent so far still reach the guest; nothing can be sent any more.
        self.close_input();
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

/// Collects the serial output line by line, without `\r`, echoing it when asked, sending each
/// line (without its line break) to `lines` when given, and saying on `ready`, when given, that
/// the kernel is ready.
fn read_serial(
    pipe: impl Read + Send + 'static,
    echo_prefix: Option<String>,
    lines: Option<Sender<String>>,
    ready: Option<Sender<()>>,
) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut transcript = String::new();
        let mut line = Vec::new();
        let mut ready_watch = ReadyWatch::default();
        while matches!(reader.read_until(b'\n', &mut line), Ok(count) if count > 0) {
            if let Some(ready) = &ready
                && ready_watch.observe(&line)
            {
                let _ = ready.send(());
            }
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

/// Copies QEMU's serial output to `output` (our standard output) as it comes, byte for byte, and
/// says on `ready` when the kernel is ready.
fn relay_serial(
    mut pipe: impl Read + Send + 'static,
    mut output: impl Write + Send + 'static,
    ready: Sender<()>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut ready_watch = ReadyWatch::default();
        let mut buffer = [0u8; 4096];
        while let Ok(count) = pipe.read(&mut buffer) {
            if count == 0 {
                break;
            }
            let bytes = &buffer[..count];
            // Our standard output may be closed (`| head`): QEMU's output is drained all the same.
            let _ = output.write_all(bytes).and_then(|()| output.flush());
            if ready_watch.observe(bytes) {
                let _ = ready.send(());
            }
        }
    })
}

/// Passes `source`'s bytes to QEMU's standard input (`qemu_stdin`) once `ready` says the kernel
/// is ready, then closes it; gives up when the serial output ends before that. QEMU takes the
/// bytes only as the guest's UART has room for them, so they wait in the pipe meanwhile.
fn feed_console(
    ready: Receiver<()>,
    mut source: impl Read + Send + 'static,
    mut qemu_stdin: impl Write + Send + 'static,
) -> JoinHandle<()> {
    thread::spawn(move || {
        if ready.recv().is_ok() {
            // Ends when the source does, or when QEMU stops reading.
            let _ = io::copy(&mut source, &mut qemu_stdin);
        }
    })
}

/// The bytes sent through [`CapturedRun::send`], read in order: reading waits for the next bytes
/// sent, and finds the end once the input is closed.
struct TypedBytes {
    sent: Receiver<Vec<u8>>,
    /// The bytes last received, of which `taken` have been read.
    pending: Vec<u8>,
    taken: usize,
}

impl TypedBytes {
    fn new(sent: Receiver<Vec<u8>>) -> TypedBytes {
        TypedBytes {
            sent,
            pending: Vec::new(),
            taken: 0,
        }
    }
}

impl Read for TypedBytes {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.taken == self.pending.len() {
            match self.sent.recv() {
                Ok(bytes) => {
                    self.pending = bytes;
                    self.taken = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let count = buffer.len().min(self.pending.len() - self.taken);
        buffer[..count].copy_from_slice(&self.pending[self.taken..self.taken + count]);
        self.taken += count;
        Ok(count)
    }
}

/// Looks for [`KERNEL_READY_TEXT`] in a byte stream read piece by piece (the text may be split
/// across pieces).
#[derive(Debug, Default)]
struct ReadyWatch {
    has_seen: bool,
    /// The last bytes read, too few to hold the whole text.
    tail: Vec<u8>,
}

impl ReadyWatch {
    /// Takes the next piece of the stream; true when it completes the text's first occurrence.
    fn observe(&mut self, piece: &[u8]) -> bool {
        if self.has_seen {
            return false;
        }
        let text = KERNEL_READY_TEXT.as_bytes();
        self.tail.extend_from_slice(piece);
        if self.tail.windows(text.len()).any(|window| window == text) {
            self.has_seen = true;
            self.tail = Vec::new();
            return true;
        }
        let kept = text.len() - 1;
        if self.tail.len() > kept {
            self.tail.drain(..self.tail.len() - kept);
        }
        false
    }
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
        let transcript = read_serial(input, None, None, None).join().unwrap();
        assert_eq!(transcript, "one\ntwo\nthree");
    }

    #[test]
    fn the_serial_reader_sends_each_line_as_it_comes() {
        let input: &'static [u8] = b"one\r\n\ntwo";
        let (sender, lines) = mpsc::channel();
        let transcript = read_serial(input, None, Some(sender), None).join().unwrap();
        assert_eq!(lines.iter().collect::<Vec<_>>(), ["one", "", "two"]);
        assert_eq!(transcript, "one\n\ntwo");
    }

    /// A captured run of the shell script `script` in place of QEMU, killed at `deadline`.
    fn captured_script(script: &str, deadline: Instant) -> CapturedRun {
        let child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        CapturedRun::attach(child, deadline, None)
    }

    /// A stand-in for QEMU that says whether any input came before it printed the kernel's ready
    /// line, then prints its input back, then `after input`, then stays until killed.
    const ECHOING_GUEST: &str = "if timeout 0.5 head -c 1 >/dev/null 2>&1; then echo early input; fi; \
                                 echo 'exokernel: ready, 7 free frames'; \
                                 cat; echo after input; exec sleep 30";

    fn in_seconds(seconds: u64) -> Instant {
        Instant::now() + Duration::from_secs(seconds)
    }

    #[test]
    fn input_sent_early_waits_for_the_kernel_then_arrives_whole_and_in_order() {
        let mut run = captured_script(ECHOING_GUEST, in_seconds(60));
        let script: Vec<String> = (1..=50)
            .map(|number| format!("command number {number} with some arguments"))
            .collect();
        for line in &script {
            run.send(format!("{line}\n").as_bytes()).unwrap();
        }
        let ready = run.next_line(in_seconds(30)).unwrap();
        assert!(ready.starts_with(KERNEL_READY_TEXT), "{ready}");
        for line in &script {
            assert_eq!(run.next_line(in_seconds(30)).as_ref(), Ok(line));
        }
        run.send(b"and one sent later\n").unwrap();
        assert_eq!(
            run.next_line(in_seconds(30)),
            Ok("and one sent later".to_owned())
        );
        let outcome = run.stop().unwrap();
        assert!(
            !outcome.serial.contains("early input"),
            "{}",
            outcome.serial
        );
    }

    #[test]
    fn closing_the_input_ends_only_the_input() {
        let mut run = captured_script(ECHOING_GUEST, in_seconds(60));
        run.send(b"last words").unwrap();
        run.close_input();
        assert_eq!(run.send(b"too late"), Err(InputClosed));
        let ready = run.next_line(in_seconds(30)).unwrap();
        assert!(ready.starts_with(KERNEL_READY_TEXT), "{ready}");
        assert_eq!(
            run.next_line(in_seconds(30)),
            Ok("last wordsafter input".to_owned())
        );
        let still_running = run.next_line(Instant::now() + Duration::from_millis(300));
        assert_eq!(still_running, Err(NoLine::TimedOut));
        assert!(run.stop().unwrap().timed_out, "it ran until it was stopped");
    }

    #[test]
    fn input_for_a_run_that_ended_is_refused() {
        let mut run = captured_script("echo bye", in_seconds(60));
        assert_eq!(run.next_line(in_seconds(30)), Ok("bye".to_owned()));
        assert_eq!(run.next_line(in_seconds(30)), Err(NoLine::Ended));
        // The thread that types gives up once the output has ended without the kernel's line.
        let refused = (0..200).any(|_| {
            thread::sleep(POLL_INTERVAL);
            run.send(b"anyone?").is_err()
        });
        assert!(refused);
        assert!(!run.finish().unwrap().timed_out);
    }

    #[test]
    fn the_ready_text_is_found_across_pieces_and_only_once() {
        let mut watch = ReadyWatch::default();
        assert!(!watch.observe(b"boot\r\nexokernel: re"));
        assert!(!watch.observe(b"ad"));
        assert!(watch.observe(b"y, 3 free frames\r\n"));
        assert!(!watch.observe(KERNEL_READY_TEXT.as_bytes()));
        let mut other = ReadyWatch::default();
        assert!(!other.observe(b"exokernel: ready"));
        assert!(!other.observe(b"\r\nexokernel: not ready, "));
    }

    #[test]
    fn the_relayed_output_says_when_the_kernel_is_ready() {
        let (sender, ready) = mpsc::channel();
        let output: &'static [u8] = b"BdsDxe: loading\r\nexokernel: ready, 9 free frames\r\n$ ";
        relay_serial(output, io::sink(), sender).join().unwrap();
        assert_eq!(ready.try_recv(), Ok(()));
        let (sender, ready) = mpsc::channel();
        let output: &'static [u8] = b"exokernel: cannot start: no ramdisk\r\n";
        relay_serial(output, io::sink(), sender).join().unwrap();
        assert!(ready.try_recv().is_err());
    }

    #[test]
    fn typed_bytes_read_in_order_until_the_input_closes() {
        let (sender, sent) = mpsc::channel();
        for piece in [&b"ab"[..], b"", b"cde"] {
            sender.send(piece.to_vec()).unwrap();
        }
        drop(sender);
        let mut bytes = Vec::new();
        TypedBytes::new(sent).read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, b"abcde");
    }

    #[test]
    fn the_terminal_is_used_directly_and_other_input_through_pipes() {
        let terminal = ConsoleInput::Terminal;
        assert_eq!(terminal.serial_mode(), SerialMode::Terminal);
        assert!(terminal.to_string().contains("Ctrl-A X quits QEMU"));
        assert_eq!(ConsoleInput::Stdin.serial_mode(), SerialMode::Piped);
        let file = ConsoleInput::File {
            path: PathBuf::from("/dev/null"),
            file: File::open("/dev/null").unwrap(),
        };
        assert_eq!(file.serial_mode(), SerialMode::Piped);
        assert!(file.to_string().contains("from /dev/null"));
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

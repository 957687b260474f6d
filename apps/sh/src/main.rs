//! The shell: runs programs from `/bin` (or a path) with arguments, `|` pipes and `<`, `>`,
//! `>>` redirections, in the foreground or, ending with `&`, in the background (see
//! `sh_core::command` for the syntax, `$?` included).
//!
//! `sh` on a terminal reads command lines with line editing, history and Tab completion (see
//! `sh-core`); `sh FILE` runs the commands of a script file, and `sh` whose standard input is not
//! the terminal runs the commands read from it (`echo ls | sh`), each ending with the status of
//! its last command. A command line holds at most `MAX_LINE_BYTES` (2,047) bytes, so that the
//! words of any command fit the 2,048 bytes of a program's arguments; a longer line is refused
//! with a message and not run.
//!
//! Built-ins: `cd [DIR]`, `pwd`, `exit [STATUS]` (0 to 255; the last command's status without
//! one), `poweroff` (sync the disk, end the shell with status 0; init then powers the machine
//! off), `jobs`. A program that fails to start gets `sh: NAME: MESSAGE` (`command not found` for
//! a missing one, status 127). A program ended by a CPU exception is reported once, on standard
//! error, as a Unix shell reports a signal: when the library's handler ends it, by the library in
//! the dying program (`NAME: killed by page fault at RIP (address A)`, exit status 128 plus the
//! vector, all the wait tells the shell); when the kernel ends it, or something kills it, by the
//! shell from the wait status (`NAME: killed by page fault (vector 14)`, `NAME: killed`; status 128
//! plus the vector, 137 for a kill). A non-zero exit status is the program's own business and
//! only `$?` tells it. Ctrl-C stops the foreground programs, which the shell then does not
//! report.
//!
//! One job has the terminal at a time: a background job's standard input, unless redirected, is
//! an empty pipe, so a background program that reads it gets end of file at once (what a POSIX
//! shell without job control does) and the typed lines go to the shell and its foreground job.
//!
//! The session shell, `sh -l` (the one init runs), ends at Ctrl-D on an empty line with
//! `sh_core::session::END_OF_INPUT_STATUS`, for init to start a new shell; any other shell ends
//! there with the last command's status, as `exit` does.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libos_posix::descriptors::{self, Descriptor, STDERR, STDIN, STDOUT};
use libos_posix::files::{self, OpenOptions};
use libos_posix::process::{self, Child, Stdio};
use libos_posix::startup::{ARGUMENT_BYTES_MAX, DIRECTORY_BYTES_MAX};
use libos_posix::{Errno, ExitReason, eprintln, print, println, syscall, world};
use sh_core::command::{self, Command, CommandLine};
use sh_core::completion::{self, Request, WordKind};
use sh_core::line_editor::{Event, LineEditor, MAX_LINE_BYTES};
use sh_core::session::{END_OF_INPUT_STATUS, EXIT_STATUS_MAX, SESSION_OPTION};

libos_posix::main!(main);

const PROMPT: &str = "$ ";
const HISTORY_LINES: usize = 100;
/// The built-in commands, for completion.
const BUILTINS: [&str; 5] = ["cd", "exit", "jobs", "poweroff", "pwd"];

/// Status of a command that could not start, and of one not found (as POSIX shells give).
const CANNOT_RUN: u32 = 126;
const NOT_FOUND: u32 = 127;
/// Status of a line that could not be parsed, or was too long.
const BAD_LINE: u32 = 2;
/// A program ended by force has 128 plus a number: the CPU exception's vector, or this for a
/// kill (the number of SIGKILL, so `$?` reads as in a Unix shell).
const KILLED_NUMBER: u32 = 9;

// Every word of a line of the longest length fits a program's arguments, each with its NUL.
const _: () = assert!(MAX_LINE_BYTES < ARGUMENT_BYTES_MAX);

fn main(args: libos_posix::Args) -> i32 {
    if world::require().is_err() {
        eprintln!("sh: not started by the library OS (no world)");
        return 1;
    }
    let arguments: Vec<&str> = args.iter().collect();
    let mut shell = Shell::new();
    let status = match arguments.as_slice() {
        [] | [SESSION_OPTION] if is_terminal(STDIN) => {
            shell.interactive(arguments.first() == Some(&SESSION_OPTION))
        }
        [] => shell.run_input(STDIN, "standard input"),
        [script] => match OpenOptions::new().read(true).open(script) {
            Ok(file) => shell.run_input(file.descriptor(), script),
            Err(error) => {
                eprintln!("sh: {script}: {error}");
                NOT_FOUND
            }
        },
        _ => {
            eprintln!("sh: usage: sh [-l | FILE]");
            BAD_LINE
        }
    };
    status as i32
}

fn is_terminal(fd: usize) -> bool {
    descriptors::get(fd) == Ok(Descriptor::Terminal)
}

struct Shell {
    /// Background pipelines still running, each with its command line.
    background: Vec<(String, Vec<Child>)>,
    /// Ctrl-C presses already acted on.
    interrupts_seen: u64,
    /// The status of the last command, for `$?`.
    last_status: u32,
}

/// What running a command line asks of the shell.
enum Next {
    /// Read the next line.
    Continue,
    /// End the shell with this status.
    End(u32),
}

impl Shell {
    fn new() -> Shell {
        Shell {
            background: Vec::new(),
            interrupts_seen: world::get().map_or(0, |world| world.terminal.interrupts()),
            last_status: 0,
        }
    }

    /// Reads and runs command lines typed on the terminal until `exit` or end of input.
    fn interactive(&mut self, is_session: bool) -> u32 {
        let mut editor = LineEditor::new(HISTORY_LINES);
        editor.set_prompt(PROMPT);
        loop {
            self.report_finished_background();
            print!("{PROMPT}");
            let line = match self.read_line(&mut editor) {
                Some(Event::Line(line)) => line,
                Some(Event::LineTooLong) => {
                    report_too_long("");
                    self.last_status = BAD_LINE;
                    continue;
                }
                Some(Event::EndOfInput) => {
                    print!("\n");
                    return if is_session {
                        END_OF_INPUT_STATUS
                    } else {
                        self.last_status
                    };
                }
                None => {
                    eprintln!("sh: the terminal is gone");
                    return CANNOT_RUN;
                }
                Some(Event::Interrupt | Event::Complete(_)) => continue,
            };
            if let Next::End(status) = self.run_line(&line) {
                return status;
            }
        }
    }

    /// Reads one line from the terminal, echoing the editing and completing at Tab; `None`
    /// when the terminal fails.
    fn read_line(&mut self, editor: &mut LineEditor) -> Option<Event> {
        let terminal = &world::get()?.terminal;
        let mut bytes = [0u8; 1];
        let mut echo = Vec::new();
        loop {
            // One byte at a time: what is typed after Enter stays in the terminal for the next
            // line, or for the program that line starts.
            let count = terminal.read_raw(&mut bytes);
            let interrupts = terminal.interrupts();
            if interrupts != self.interrupts_seen {
                self.interrupts_seen = interrupts;
                print!("^C\r\n");
                return Some(Event::Interrupt);
            }
            if count == 0 {
                // Idle at the prompt: the time to make recent changes durable (see files).
                let _ = files::commit_if_due();
                syscall::sleep(1);
                continue;
            }
            let event = editor.feed(bytes[0], &mut echo);
            if let Some(Event::Complete(request)) = &event {
                editor.complete(&candidates(request), &mut echo);
            }
            let _ = descriptors::write(STDOUT, &echo);
            echo.clear();
            match event {
                None | Some(Event::Complete(_)) => {}
                event => return event,
            }
        }
    }

    /// Runs the command lines read from descriptor `fd` (`source` names it in messages) until
    /// its end or `exit`; returns the shell's status.
    fn run_input(&mut self, fd: usize, source: &str) -> u32 {
        let mut reader = LineReader::new(fd);
        let mut number = 0;
        loop {
            number += 1;
            match reader.next_line() {
                Ok(Some(Ok(line))) => {
                    if let Next::End(status) = self.run_line(&line) {
                        return status;
                    }
                }
                Ok(Some(Err(TooLong))) => {
                    report_too_long(&format!("{source}: line {number}: "));
                    self.last_status = BAD_LINE;
                }
                Ok(None) => return self.last_status,
                Err(error) => {
                    eprintln!("sh: reading {source}: {error}");
                    return BAD_LINE;
                }
            }
        }
    }

    /// Parses and runs one command line.
    fn run_line(&mut self, line: &str) -> Next {
        match command::parse(line, self.last_status) {
            Ok(command_line) if command_line.is_empty() => Next::Continue,
            Ok(command_line) => self.run(&command_line),
            Err(error) => {
                eprintln!("sh: {error}");
                self.last_status = BAD_LINE;
                Next::Continue
            }
        }
    }

    /// Runs a command line.
    fn run(&mut self, command_line: &CommandLine) -> Next {
        if let [command] = command_line.commands.as_slice()
            && let Some(next) = self.builtin(command)
        {
            return next;
        }
        let children = match start_pipeline(&command_line.commands, command_line.background) {
            Ok(children) => children,
            Err(status) => {
                self.last_status = status;
                return Next::Continue;
            }
        };
        if command_line.background {
            for child in &children {
                println!("[{}]", child.pid());
            }
            let description = describe(command_line);
            self.background.push((description, children));
            self.last_status = 0;
        } else {
            self.last_status = self.wait_foreground(children, &command_line.commands);
        }
        Next::Continue
    }

    /// Runs `command` if it is a built-in: `Some(next)` then.
    fn builtin(&mut self, command: &Command) -> Option<Next> {
        let arguments: Vec<&str> = command.arguments.iter().map(String::as_str).collect();
        let status = match (command.program.as_str(), arguments.as_slice()) {
            ("cd", []) => change_directory("/"),
            ("cd", [directory]) => change_directory(directory),
            ("cd", _) => fail("cd: too many arguments"),
            ("pwd", []) => {
                println!("{}", process::current_directory());
                0
            }
            ("pwd", _) => fail("pwd: too many arguments"),
            ("exit", []) => return Some(Next::End(self.last_status)),
            ("exit", [status]) => match status.parse::<u32>() {
                Ok(status) if status <= EXIT_STATUS_MAX => return Some(Next::End(status)),
                _ => fail(&format!(
                    "exit: {status}: a status from 0 to {EXIT_STATUS_MAX} is required"
                )),
            },
            ("exit", _) => fail("exit: too many arguments"),
            ("poweroff", _) => {
                if let Err(error) = files::sync() {
                    eprintln!("sh: poweroff: {error}");
                }
                return Some(Next::End(0));
            }
            ("jobs", _) => {
                for (description, children) in &self.background {
                    let pids: Vec<String> = children
                        .iter()
                        .map(|child| format!("{}", child.pid()))
                        .collect();
                    println!("[{}] running  {description}", pids.join(" "));
                }
                0
            }
            _ => return None,
        };
        self.last_status = status;
        Some(Next::Continue)
    }

    /// Waits for every program of a foreground pipeline, stopping them all on Ctrl-C, reports
    /// those ended by force (but not by Ctrl-C), and returns the last one's status.
    fn wait_foreground(&mut self, children: Vec<Child>, commands: &[Command]) -> u32 {
        let Some(world) = world::get() else {
            return CANNOT_RUN;
        };
        let mut running: Vec<(Child, &Command)> = children.into_iter().zip(commands).collect();
        let last_pid = running.last().map(|(child, _)| child.pid());
        let mut last_status = 0;
        let mut is_interrupted = false;
        while !running.is_empty() {
            let interrupts = world.terminal.interrupts();
            if interrupts != self.interrupts_seen {
                self.interrupts_seen = interrupts;
                is_interrupted = true;
                print!("^C\r\n");
                for (child, _) in &running {
                    let _ = process::kill(child.pid());
                }
            }
            let mut index = 0;
            while index < running.len() {
                match process::try_wait(&running[index].0) {
                    Ok(None) => index += 1,
                    Ok(Some(reason)) => {
                        let (child, command) = running.swap_remove(index);
                        let is_stopped_by_user = is_interrupted && reason == ExitReason::Killed;
                        if !matches!(reason, ExitReason::Exited(_)) && !is_stopped_by_user {
                            eprintln!("{}: {reason}", command.program);
                        }
                        if Some(child.pid()) == last_pid {
                            last_status = status_of(reason);
                        }
                    }
                    Err(error) => {
                        eprintln!("sh: waiting for {}: {error}", running[index].1.program);
                        running.swap_remove(index);
                    }
                }
            }
            if !running.is_empty() {
                let _ = files::commit_if_due();
                syscall::sleep(1);
            }
        }
        last_status
    }

    /// Reports background pipelines that have ended and forgets them.
    fn report_finished_background(&mut self) {
        self.background.retain_mut(|(description, children)| {
            children.retain(|child| match process::try_wait(child) {
                Ok(None) => true,
                Ok(Some(ExitReason::Exited(_))) | Err(_) => false,
                Ok(Some(reason)) => {
                    eprintln!("[{}] {reason}", child.pid());
                    false
                }
            });
            if children.is_empty() {
                println!("[done] {description}");
            }
            !children.is_empty()
        });
    }
}

/// The shell's status for a program that ended with `reason`.
fn status_of(reason: ExitReason) -> u32 {
    match reason {
        ExitReason::Exited(status) => status,
        ExitReason::Faulted(vector) => 128 + u32::from(vector),
        ExitReason::Killed => 128 + KILLED_NUMBER,
    }
}

/// `cd`: changes the working directory; the library refuses one whose path is too long to hand
/// to children.
fn change_directory(directory: &str) -> u32 {
    match process::change_directory(directory) {
        Ok(()) => 0,
        Err(error @ Errno::NameTooLong) => fail(&format!(
            "cd: {directory}: {error} (a working directory's path may be at most {DIRECTORY_BYTES_MAX} bytes)"
        )),
        Err(error) => fail(&format!("cd: {directory}: {error}")),
    }
}

/// Prints `sh: MESSAGE`; returns the status of a failed built-in.
fn fail(message: &str) -> u32 {
    eprintln!("sh: {message}");
    1
}

fn report_too_long(place: &str) {
    eprintln!("sh: {place}line too long: a command line holds at most {MAX_LINE_BYTES} bytes");
}

/// The completions of `request`: commands (built-ins and `/bin`'s programs) or paths, each the
/// whole word, directories ending in `/`.
fn candidates(request: &Request) -> Vec<String> {
    match request.kind {
        WordKind::Command => {
            let mut names: Vec<String> = BUILTINS.iter().map(|name| String::from(*name)).collect();
            if let Ok(entries) = files::read_dir("/bin") {
                names.extend(entries.into_iter().map(|entry| entry.name));
            }
            names.retain(|name| name.starts_with(&request.word));
            names
        }
        WordKind::Path => {
            let parts = completion::path_parts(&request.word);
            let Ok(entries) = files::read_dir(parts.directory) else {
                return Vec::new();
            };
            entries
                .into_iter()
                .filter(|entry| completion::offers(&entry.name, parts.name_prefix))
                .map(|entry| {
                    let mut word = format!("{}{}", parts.kept, entry.name);
                    if entry.is_directory {
                        word.push('/');
                    }
                    word
                })
                .collect()
        }
    }
}

/// A line longer than [`MAX_LINE_BYTES`], read and dropped.
struct TooLong;

/// Splits what a descriptor gives into lines.
struct LineReader {
    fd: usize,
    buffer: Vec<u8>,
    is_at_end: bool,
}

impl LineReader {
    fn new(fd: usize) -> LineReader {
        LineReader {
            fd,
            buffer: Vec::new(),
            is_at_end: false,
        }
    }

    /// The next line, without its line ending; `None` at the end of the input.
    fn next_line(&mut self) -> Result<Option<Result<String, TooLong>>, Errno> {
        let mut chunk = [0u8; 512];
        loop {
            if let Some(end) = self.buffer.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).take(end).collect();
                return Ok(Some(checked_line(&line)));
            }
            if self.buffer.len() > MAX_LINE_BYTES {
                // Drop the rest of the line as it comes.
                self.skip_line()?;
                return Ok(Some(Err(TooLong)));
            }
            if self.is_at_end {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                let line = core::mem::take(&mut self.buffer);
                return Ok(Some(checked_line(&line)));
            }
            let count = descriptors::read(self.fd, &mut chunk)?;
            self.is_at_end = count == 0;
            self.buffer.extend_from_slice(&chunk[..count]);
        }
    }

    /// Reads and drops bytes up to and including the next line feed.
    fn skip_line(&mut self) -> Result<(), Errno> {
        let mut chunk = [0u8; 512];
        loop {
            if let Some(end) = self.buffer.iter().position(|&byte| byte == b'\n') {
                self.buffer.drain(..=end);
                return Ok(());
            }
            self.buffer.clear();
            if self.is_at_end {
                return Ok(());
            }
            let count = descriptors::read(self.fd, &mut chunk)?;
            self.is_at_end = count == 0;
            self.buffer.extend_from_slice(&chunk[..count]);
        }
    }
}

/// `line` as text, unless it is too long; bytes that are not UTF-8 become U+FFFD.
fn checked_line(line: &[u8]) -> Result<String, TooLong> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE_BYTES {
        return Err(TooLong);
    }
    Ok(String::from_utf8_lossy(line).into_owned())
}

/// Starts every command of a pipeline, connected by pipes; prints why when one cannot start
/// (those started already are stopped) and returns the status for that. A background pipeline
/// reads, unless redirected, from an empty pipe rather than the terminal.
fn start_pipeline(commands: &[Command], is_background: bool) -> Result<Vec<Child>, u32> {
    let mut children = Vec::new();
    let mut previous_read_end: Option<usize> = None;
    if is_background && commands.first().is_some_and(|first| first.stdin.is_none()) {
        previous_read_end = Some(empty_input()?);
    }
    for (index, command) in commands.iter().enumerate() {
        let is_last = index + 1 == commands.len();
        let started = start_one(command, previous_read_end.take(), is_last);
        match started {
            Ok((child, next_read_end)) => {
                children.push(child);
                previous_read_end = next_read_end;
            }
            Err(status) => {
                for child in children {
                    let _ = process::kill(child.pid());
                    let _ = process::wait(child);
                }
                return Err(status);
            }
        }
    }
    Ok(children)
}

/// The read end of a pipe whose write end is closed: reading it gives end of file.
fn empty_input() -> Result<usize, u32> {
    let (read_end, write_end) = descriptors::pipe().map_err(|error| {
        eprintln!("sh: pipe: {error}");
        CANNOT_RUN
    })?;
    let _ = descriptors::close(write_end);
    Ok(read_end)
}

/// Starts one command reading `input` (a pipe's read end, closed here afterwards) or its own
/// redirection; returns the child and, unless it is last, the read end of its output pipe.
fn start_one(
    command: &Command,
    input: Option<usize>,
    is_last: bool,
) -> Result<(Child, Option<usize>), u32> {
    let mut to_close = Vec::new();
    let outcome = (|| {
        let stdin = match (&command.stdin, input) {
            (Some(path), input) => {
                to_close.extend(input);
                let file = OpenOptions::new().read(true).open(path).map_err(|error| {
                    eprintln!("sh: {path}: {error}");
                    1u32
                })?;
                let fd = file.descriptor();
                core::mem::forget(file);
                to_close.push(fd);
                fd
            }
            (None, Some(read_end)) => {
                to_close.push(read_end);
                read_end
            }
            (None, None) => STDIN,
        };
        let mut next_read_end = None;
        let stdout = match (&command.stdout, is_last) {
            (_, false) => {
                let (read_end, write_end) = descriptors::pipe().map_err(|error| {
                    eprintln!("sh: pipe: {error}");
                    CANNOT_RUN
                })?;
                next_read_end = Some(read_end);
                to_close.push(write_end);
                write_end
            }
            (Some(output), true) => {
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .append(output.append)
                    .truncate(!output.append)
                    .open(&output.path)
                    .map_err(|error| {
                        eprintln!("sh: {}: {error}", output.path);
                        1u32
                    })?;
                let fd = file.descriptor();
                core::mem::forget(file);
                to_close.push(fd);
                fd
            }
            (None, true) => STDOUT,
        };
        let path = process::program_path(&command.program);
        let mut arguments: Vec<&str> = Vec::with_capacity(command.arguments.len() + 1);
        arguments.push(&command.program);
        arguments.extend(command.arguments.iter().map(String::as_str));
        let argument_bytes: usize = arguments.iter().map(|argument| argument.len() + 1).sum();
        let started = if argument_bytes > ARGUMENT_BYTES_MAX {
            eprintln!(
                "sh: {}: arguments too long: {argument_bytes} bytes with their terminators, at most {ARGUMENT_BYTES_MAX}",
                command.program
            );
            Err(CANNOT_RUN)
        } else {
            let stdio = Stdio {
                stdin,
                stdout,
                stderr: STDERR,
            };
            process::spawn(&path, &arguments, stdio).map_err(|error| match error {
                Errno::NotFound => {
                    eprintln!("sh: {}: command not found", command.program);
                    NOT_FOUND
                }
                error => {
                    eprintln!("sh: {}: {error}", command.program);
                    CANNOT_RUN
                }
            })
        };
        match started {
            Ok(child) => Ok((child, next_read_end)),
            Err(status) => {
                if let Some(read_end) = next_read_end {
                    let _ = descriptors::close(read_end);
                }
                Err(status)
            }
        }
    })();
    for fd in to_close {
        let _ = descriptors::close(fd);
    }
    outcome
}

fn describe(command_line: &CommandLine) -> String {
    let names: Vec<&str> = command_line
        .commands
        .iter()
        .map(|command| command.program.as_str())
        .collect();
    names.join(" | ")
}

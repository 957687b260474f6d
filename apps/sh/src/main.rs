//! The shell: reads command lines on the terminal with line editing and history (see
//! `sh-core`), and runs programs from `/bin` (or a path) with arguments, `|` pipes and `<`,
//! `>`, `>>` redirections, in the foreground or, ending with `&`, in the background.
//!
//! Built-ins: `cd [DIR]`, `exit [STATUS]`, `poweroff` (sync the disk, end the shell; init then
//! powers the machine off), `jobs`. A program that fails to start gets `sh: NAME: MESSAGE`
//! (`command not found` for a missing one). A foreground program that ends with a
//! non-zero status, or is killed, is reported. Ctrl-C stops the foreground programs.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libos_posix::descriptors::{self, STDERR, STDIN, STDOUT};
use libos_posix::files::{self, OpenOptions};
use libos_posix::process::{self, Child, Stdio};
use libos_posix::{Errno, ExitReason, eprintln, print, println, syscall, world};
use sh_core::command::{self, Command, CommandLine};
use sh_core::line_editor::{Event, LineEditor};

libos_posix::main!(main);

const PROMPT: &str = "$ ";
const HISTORY_LINES: usize = 100;

fn main(_args: libos_posix::Args) -> i32 {
    let Ok(world) = world::require() else {
        eprintln!("sh: not started by the library OS (no world)");
        return 1;
    };
    let mut shell = Shell {
        editor: LineEditor::new(HISTORY_LINES),
        background: Vec::new(),
        interrupts_seen: world.terminal.interrupts(),
    };
    shell.editor.set_prompt(PROMPT);
    loop {
        shell.report_finished_background();
        print!("{PROMPT}");
        let line = match shell.read_line() {
            Some(Event::Line(line)) => line,
            Some(Event::Interrupt) => continue,
            Some(Event::EndOfInput) | None => return 0,
        };
        match command::parse(&line) {
            Ok(command_line) if command_line.is_empty() => {}
            Ok(command_line) => {
                if let Some(status) = shell.run(&command_line) {
                    return status;
                }
            }
            Err(error) => eprintln!("sh: {error}"),
        }
    }
}

struct Shell {
    editor: LineEditor,
    /// Background pipelines still running, each with its command line.
    background: Vec<(String, Vec<Child>)>,
    /// Ctrl-C presses already acted on.
    interrupts_seen: u64,
}

impl Shell {
    /// Reads one line from the terminal, echoing the editing; `None` when the terminal fails.
    fn read_line(&mut self) -> Option<Event> {
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
            for &byte in &bytes[..count] {
                let event = self.editor.feed(byte, &mut echo);
                let _ = descriptors::write(STDOUT, &echo);
                echo.clear();
                if event.is_some() {
                    return event;
                }
            }
        }
    }

    /// Runs a command line; `Some(status)` when the shell must end with that status.
    fn run(&mut self, command_line: &CommandLine) -> Option<i32> {
        if let [command] = command_line.commands.as_slice()
            && let Some(outcome) = self.builtin(command)
        {
            return outcome;
        }
        let children = match start_pipeline(&command_line.commands) {
            Ok(children) => children,
            Err(()) => return None,
        };
        if command_line.background {
            for child in &children {
                println!("[{}]", child.pid());
            }
            let description = describe(command_line);
            self.background.push((description, children));
        } else {
            self.wait_foreground(children, &command_line.commands);
        }
        None
    }

    /// Runs `command` if it is a built-in: `Some(outcome)` then.
    fn builtin(&mut self, command: &Command) -> Option<Option<i32>> {
        let arguments: Vec<&str> = command.arguments.iter().map(String::as_str).collect();
        match (command.program.as_str(), arguments.as_slice()) {
            ("cd", []) => report_error("cd", process::change_directory("/")),
            ("cd", [directory]) => report_error("cd", process::change_directory(directory)),
            ("cd", _) => eprintln!("sh: cd: too many arguments"),
            ("exit", []) => return Some(Some(0)),
            ("exit", [status]) => match status.parse::<i32>() {
                Ok(status) => return Some(Some(status)),
                Err(_) => eprintln!("sh: exit: {status}: numeric argument required"),
            },
            ("poweroff", _) => {
                report_error("poweroff", files::sync());
                return Some(Some(0));
            }
            ("jobs", _) => {
                for (description, children) in &self.background {
                    let pids: Vec<String> = children
                        .iter()
                        .map(|child| format!("{}", child.pid()))
                        .collect();
                    println!("[{}] running  {description}", pids.join(" "));
                }
            }
            _ => return None,
        }
        Some(None)
    }

    /// Waits for every program of a foreground pipeline, stopping them all on Ctrl-C, and
    /// reports how the last one (or any killed one) ended.
    fn wait_foreground(&mut self, children: Vec<Child>, commands: &[Command]) {
        let Some(world) = world::get() else { return };
        let mut running: Vec<(Child, &Command)> = children.into_iter().zip(commands).collect();
        let last_pid = running.last().map(|(child, _)| child.pid());
        while !running.is_empty() {
            let interrupts = world.terminal.interrupts();
            if interrupts != self.interrupts_seen {
                self.interrupts_seen = interrupts;
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
                        report_ending(&command.program, reason, Some(child.pid()) == last_pid);
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
    }

    /// Reports background pipelines that have ended and forgets them.
    fn report_finished_background(&mut self) {
        self.background.retain_mut(|(description, children)| {
            children.retain(|child| !matches!(process::try_wait(child), Ok(Some(_)) | Err(_)));
            if children.is_empty() {
                println!("[done] {description}");
            }
            !children.is_empty()
        });
    }
}

/// Starts every command of a pipeline, connected by pipes; prints why when one cannot start
/// (those started already are stopped).
fn start_pipeline(commands: &[Command]) -> Result<Vec<Child>, ()> {
    let mut children = Vec::new();
    let mut previous_read_end: Option<usize> = None;
    for (index, command) in commands.iter().enumerate() {
        let is_last = index + 1 == commands.len();
        let started = start_one(command, previous_read_end.take(), is_last);
        match started {
            Ok((child, next_read_end)) => {
                children.push(child);
                previous_read_end = next_read_end;
            }
            Err(()) => {
                for child in children {
                    let _ = process::kill(child.pid());
                    let _ = process::wait(child);
                }
                return Err(());
            }
        }
    }
    Ok(children)
}

/// Starts one command reading `input` (a pipe's read end, closed here afterwards) or its own
/// redirection; returns the child and, unless it is last, the read end of its output pipe.
fn start_one(
    command: &Command,
    input: Option<usize>,
    is_last: bool,
) -> Result<(Child, Option<usize>), ()> {
    let mut to_close = Vec::new();
    let outcome = (|| {
        let stdin = match (&command.stdin, input) {
            (_, Some(read_end)) => {
                to_close.push(read_end);
                read_end
            }
            (Some(path), None) => {
                let file = OpenOptions::new().read(true).open(path).map_err(|error| {
                    eprintln!("sh: {path}: {error}");
                })?;
                let fd = file.descriptor();
                core::mem::forget(file);
                to_close.push(fd);
                fd
            }
            (None, None) => STDIN,
        };
        let mut next_read_end = None;
        let stdout = match (&command.stdout, is_last) {
            (_, false) => {
                let (read_end, write_end) = descriptors::pipe().map_err(|error| {
                    eprintln!("sh: pipe: {error}");
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
                    })?;
                let fd = file.descriptor();
                core::mem::forget(file);
                to_close.push(fd);
                fd
            }
            (None, true) => STDOUT,
        };
        let path = program_path(&command.program);
        let mut arguments: Vec<&str> = Vec::with_capacity(command.arguments.len() + 1);
        arguments.push(&command.program);
        arguments.extend(command.arguments.iter().map(String::as_str));
        let stdio = Stdio {
            stdin,
            stdout,
            stderr: STDERR,
        };
        match process::spawn(&path, &arguments, stdio) {
            Ok(child) => Ok((child, next_read_end)),
            Err(error) => {
                if let Some(read_end) = next_read_end {
                    let _ = descriptors::close(read_end);
                }
                match error {
                    Errno::NotFound => eprintln!("sh: {}: command not found", command.program),
                    error => eprintln!("sh: {}: {error}", command.program),
                }
                Err(())
            }
        }
    })();
    for fd in to_close {
        let _ = descriptors::close(fd);
    }
    outcome
}

/// Where the program named `name` is: itself when it has a slash, else in `/bin`.
fn program_path(name: &str) -> String {
    if name.contains('/') {
        String::from(name)
    } else {
        format!("/bin/{name}")
    }
}

fn report_ending(program: &str, reason: ExitReason, is_last: bool) {
    match reason {
        ExitReason::Exited(0) => {}
        ExitReason::Exited(status) if is_last => eprintln!("sh: {program}: exit status {status}"),
        ExitReason::Exited(_) => {}
        reason => eprintln!("sh: {program}: {reason}"),
    }
}

fn report_error(what: &str, result: Result<(), Errno>) {
    if let Err(error) = result {
        eprintln!("sh: {what}: {error}");
    }
}

fn describe(command_line: &CommandLine) -> String {
    let names: Vec<&str> = command_line
        .commands
        .iter()
        .map(|command| command.program.as_str())
        .collect();
    names.join(" | ")
}

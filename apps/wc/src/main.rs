//! Counts the lines, words and bytes of files.
//!
//! Usage: `wc [-l] [-w] [-c] [FILE...]`
//!
//! `-l` counts newlines, `-w` words (runs of bytes other than space, tab, newline, vertical
//! tab, form feed and carriage return), `-c` bytes; without any of them it counts all three.
//! Each operand gets a line with its counts, always in the order lines, words, bytes, each
//! right-aligned in 7 columns and separated by a space, then a space and the operand:
//!
//! ```text
//!       3      12      64 notes.txt
//! ```
//!
//! Several operands add a `total` line. Without operands it counts standard input and prints
//! no name; the operand `-` is standard input too. An operand that cannot be read is reported,
//! the others are still counted, and the status becomes 1.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libos_posix::descriptors::{self, STDIN};
use libos_posix::files::File;
use libos_posix::{Errno, eprintln, println};

libos_posix::main!(main);

const USAGE: &str = "usage: wc [-l] [-w] [-c] [FILE...]";
/// Bytes read at a time.
const BUFFER_BYTES: usize = 4096;

/// Which counts to print.
#[derive(Clone, Copy, Debug, Default)]
struct Columns {
    lines: bool,
    words: bool,
    bytes: bool,
}

/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    columns: Columns,
    paths: Vec<&'static str>,
}

/// The counts of one input, or a total.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    lines: u64,
    words: u64,
    bytes: u64,
}

impl Counts {
    /// Adds `other` to these counts, for the total.
    fn add(&mut self, other: Counts) {
        self.lines += other.lines;
        self.words += other.words;
        self.bytes += other.bytes;
    }
}

/// Counts an input given chunk by chunk; a word may go on from one chunk into the next.
#[derive(Debug, Default)]
struct Counter {
    counts: Counts,
    is_inside_word: bool,
}

impl Counter {
    /// Counts `chunk`, the next bytes of the input.
    fn update(&mut self, chunk: &[u8]) {
        self.counts.bytes += chunk.len() as u64;
        for &byte in chunk {
            if byte == b'\n' {
                self.counts.lines += 1;
            }
            let is_space = matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
            if !is_space && !self.is_inside_word {
                self.counts.words += 1;
            }
            self.is_inside_word = !is_space;
        }
    }
}

fn main(args: libos_posix::Args) -> i32 {
    let options = match parse_arguments(&args) {
        Ok(options) => options,
        Err(option) => {
            eprintln!("wc: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    if options.paths.is_empty() {
        return match count(|buffer| descriptors::read(STDIN, buffer)) {
            Ok(counts) => {
                println!("{}", format_line(counts, options.columns, None));
                0
            }
            Err(error) => {
                eprintln!("wc: standard input: {error}");
                1
            }
        };
    }
    let mut status = 0;
    let mut total = Counts::default();
    for &path in &options.paths {
        match count_operand(path) {
            Ok(counts) => {
                println!("{}", format_line(counts, options.columns, Some(path)));
                total.add(counts);
            }
            Err(error) => {
                eprintln!("wc: {path}: {error}");
                status = 1;
            }
        }
    }
    if options.paths.len() > 1 {
        println!("{}", format_line(total, options.columns, Some("total")));
    }
    status
}

/// Reads the options (`-l`, `-w`, `-c`, alone or grouped, until `--` or the first operand)
/// and the operands; an unknown option letter is the error. No count option chooses all.
fn parse_arguments(args: &libos_posix::Args) -> Result<Options, char> {
    let mut options = Options::default();
    options.paths = args.options_and_operands(|flag| {
        match flag {
            'l' => options.columns.lines = true,
            'w' => options.columns.words = true,
            'c' => options.columns.bytes = true,
            _ => return false,
        }
        true
    })?;
    let columns = &mut options.columns;
    if !(columns.lines || columns.words || columns.bytes) {
        *columns = Columns {
            lines: true,
            words: true,
            bytes: true,
        };
    }
    Ok(options)
}

/// Counts operand `path` (`-` for standard input).
fn count_operand(path: &str) -> Result<Counts, Errno> {
    if path == "-" {
        return count(|buffer| descriptors::read(STDIN, buffer));
    }
    let file = File::open(path)?;
    if file.metadata()?.is_directory() {
        return Err(Errno::IsADirectory);
    }
    count(|buffer| file.read(buffer))
}

/// Counts what `read` gives until it gives nothing.
fn count(mut read: impl FnMut(&mut [u8]) -> Result<usize, Errno>) -> Result<Counts, Errno> {
    let mut buffer = [0; BUFFER_BYTES];
    let mut counter = Counter::default();
    loop {
        let length = read(&mut buffer)?;
        if length == 0 {
            return Ok(counter.counts);
        }
        counter.update(&buffer[..length]);
    }
}

/// One output line: the chosen counts, each right-aligned in 7 columns and separated by a
/// space, then a space and `name` if there is one.
fn format_line(counts: Counts, columns: Columns, name: Option<&str>) -> String {
    let chosen = [
        (columns.lines, counts.lines),
        (columns.words, counts.words),
        (columns.bytes, counts.bytes),
    ];
    let mut fields: Vec<String> = chosen
        .iter()
        .filter(|&&(is_chosen, _)| is_chosen)
        .map(|&(_, count)| format!("{count:>7}"))
        .collect();
    fields.extend(name.map(String::from));
    fields.join(" ")
}

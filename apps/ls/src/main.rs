//! Lists directories and files.
//!
//! Usage: `ls [-l] [PATH...]`
//!
//! Without operands it lists the working directory. A directory operand is listed by its
//! entries (without `.` and `..`), a file operand by its own name, one name per line, sorted
//! bytewise. File operands come first, then each directory; with several operands each
//! directory's listing starts with a `PATH:` line and follows the previous listing after an
//! empty line. An operand that does not exist is reported and the status becomes 1.
//!
//! `-l` describes each entry on its line: a type character (`d` for a directory, `-` for a
//! file), the number of links right-aligned in 5 columns, a space, the size in bytes
//! right-aligned in 7 columns, a space and the name (a wider number widens its column):
//!
//! ```text
//! d    2       0 bin
//! -    1    1234 notes.txt
//! ```
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libos_posix::files::{self, Metadata};
use libos_posix::{Errno, eprintln, println, process};

libos_posix::main!(main);

const USAGE: &str = "usage: ls [-l] [PATH...]";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    long_format: bool,
    paths: Vec<&'static str>,
}

fn main(args: libos_posix::Args) -> i32 {
    let options = match parse_arguments(&args) {
        Ok(options) => options,
        Err(option) => {
            eprintln!("ls: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let operands: Vec<String> = if options.paths.is_empty() {
        alloc::vec![process::current_directory()]
    } else {
        options
            .paths
            .iter()
            .map(|&path| String::from(path))
            .collect()
    };
    list_operands(&operands, options.long_format)
}

/// Lists `operands`: the files first, then each directory's entries; returns the status.
fn list_operands(operands: &[String], long_format: bool) -> i32 {
    let mut status = 0;
    let mut file_operands = Vec::new();
    let mut directory_operands = Vec::new();
    for operand in operands {
        match files::metadata(operand) {
            Ok(metadata) if metadata.is_directory() => directory_operands.push(operand),
            Ok(metadata) => file_operands.push((operand, metadata)),
            Err(error) => status = report(operand, error),
        }
    }
    file_operands.sort_unstable_by_key(|(operand, _)| *operand);
    directory_operands.sort_unstable();
    for (operand, metadata) in &file_operands {
        print_entry(operand, metadata, long_format);
    }
    let shows_headers = operands.len() > 1;
    for (index, directory) in directory_operands.iter().enumerate() {
        if shows_headers {
            let separator = if index > 0 || !file_operands.is_empty() {
                "\n"
            } else {
                ""
            };
            println!("{separator}{directory}:");
        }
        status = status.max(list_directory(directory, long_format));
    }
    status
}

/// Reads the options (`-l`, alone or grouped, until `--` or the first operand) and the
/// operands; an unknown option letter is the error.
fn parse_arguments(args: &libos_posix::Args) -> Result<Options, char> {
    let mut options = Options::default();
    options.paths = args.options_and_operands(|flag| {
        match flag {
            'l' => options.long_format = true,
            _ => return false,
        }
        true
    })?;
    Ok(options)
}

/// Prints the entries of `directory`, sorted by name; returns the status (1 if the directory,
/// or in the long format one of its entries, could not be read).
fn list_directory(directory: &str, long_format: bool) -> i32 {
    let mut entries = match files::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) => return report(directory, error),
    };
    entries.sort_unstable_by(|left, right| left.name.cmp(&right.name));
    let mut status = 0;
    for entry in &entries {
        if !long_format {
            println!("{}", entry.name);
            continue;
        }
        let path = files::join(directory, &entry.name);
        match files::metadata(&path) {
            Ok(metadata) => print_entry(&entry.name, &metadata, true),
            Err(error) => status = report(&path, error),
        }
    }
    status
}

/// Prints one entry: its name, or its long-format line.
fn print_entry(name: &str, metadata: &Metadata, long_format: bool) {
    if long_format {
        println!(
            "{}",
            long_line(metadata.is_directory(), metadata.links, metadata.size, name)
        );
    } else {
        println!("{name}");
    }
}

/// The long format's line for an entry (see the module documentation).
fn long_line(is_directory: bool, links: u32, size: u64, name: &str) -> String {
    let kind = if is_directory { 'd' } else { '-' };
    format!("{kind}{links:>5} {size:>7} {name}")
}

/// Reports `error` about `path` on standard error; returns the failure status, 1.
fn report(path: &str, error: Errno) -> i32 {
    eprintln!("ls: {path}: {error}");
    1
}

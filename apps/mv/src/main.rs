//! Moves (renames) a file or directory.
//!
//! Usage: `mv SOURCE DESTINATION`
//!
//! Renames `SOURCE` to `DESTINATION`, replacing a file there. If `DESTINATION` is a directory,
//! `SOURCE` moves into it under its own name. A missing source is reported against the source,
//! any other failure against the target. There are no options: `--` ends them, and any other
//! leading argument that starts with `-` is an unknown option.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use libos_posix::eprintln;
use libos_posix::files;

libos_posix::main!(main);

const USAGE: &str = "usage: mv SOURCE DESTINATION";

fn main(args: libos_posix::Args) -> i32 {
    let operands = match operands(args.iter()) {
        Ok(operands) => operands,
        Err(option) => {
            eprintln!("mv: unknown option {option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let [source, destination] = operands[..] else {
        eprintln!("mv: expected a source and a destination");
        eprintln!("{USAGE}");
        return 2;
    };
    if let Err(error) = files::metadata(source) {
        eprintln!("mv: {source}: {error}");
        return 1;
    }
    let target = match files::metadata(destination) {
        Ok(metadata) if metadata.is_directory() => join(destination, file_name(source)),
        _ => String::from(destination),
    };
    match files::rename(source, &target) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("mv: {target}: {error}");
            1
        }
    }
}

/// The operands: the arguments after an optional `--`. A first argument that starts with `-`,
/// other than `-` and `--`, is an unknown option and the error.
fn operands(
    arguments: impl Iterator<Item = &'static str>,
) -> Result<Vec<&'static str>, &'static str> {
    let mut arguments = arguments.peekable();
    if let Some(option) =
        arguments.next_if(|argument| argument.starts_with('-') && *argument != "-")
        && option != "--"
    {
        return Err(option);
    }
    Ok(arguments.collect())
}

/// The last component of `path`, ignoring trailing slashes.
fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `name` inside `directory`.
fn join(directory: &str, name: &str) -> String {
    if directory.ends_with('/') {
        format!("{directory}{name}")
    } else {
        format!("{directory}/{name}")
    }
}

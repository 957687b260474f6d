//! Writes its words to standard output, separated by single spaces and followed by a newline.
//!
//! Usage: `echo [-n] [WORD...]`
//!
//! `-n` as the first argument leaves the newline out. Every other argument is a word, even one
//! that starts with `-`. The line goes out in one write; if that fails, the status is 1.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use libos_posix::descriptors::{self, STDOUT};
use libos_posix::eprintln;

libos_posix::main!(main);

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter().peekable();
    let ends_with_newline = words.next_if_eq(&"-n").is_none();
    let line = join_words(words, ends_with_newline);
    match descriptors::write(STDOUT, line.as_bytes()) {
        Ok(_) => 0,
        Err(error) => {
            eprintln!("echo: standard output: {error}");
            1
        }
    }
}

/// `words` separated by single spaces, with a newline at the end if `ends_with_newline`.
fn join_words<'a>(words: impl Iterator<Item = &'a str>, ends_with_newline: bool) -> String {
    let mut line = String::new();
    for (index, word) in words.enumerate() {
        if index > 0 {
            line.push(' ');
        }
        line.push_str(word);
    }
    if ends_with_newline {
        line.push('\n');
    }
    line
}

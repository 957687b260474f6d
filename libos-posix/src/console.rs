//! `print!`, `println!`, `eprint!` and `eprintln!`: formatted output to standard output and
//! standard error (the terminal unless the parent redirected them).

use crate::descriptors::{self, STDERR, STDOUT};
use crate::syscall;
use core::fmt;

/// Formats into a small buffer and hands full chunks to a descriptor (or, with `None`, to the
/// kernel console), so that one line costs one write.
struct LineBuffer {
    fd: Option<usize>,
    bytes: [u8; 256],
    len: usize,
}

impl LineBuffer {
    fn flush(&mut self) {
        if self.len > 0 {
            let bytes = &self.bytes[..self.len];
            // Output has nowhere to report its own failure.
            match self.fd {
                Some(fd) => drop(descriptors::write(fd, bytes)),
                None => drop(syscall::debug_write(bytes)),
            }
            self.len = 0;
        }
    }
}

impl fmt::Write for LineBuffer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for chunk in text.as_bytes().chunks(self.bytes.len()) {
            if self.len + chunk.len() > self.bytes.len() {
                self.flush();
            }
            self.bytes[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

fn print_to(fd: Option<usize>, arguments: fmt::Arguments) {
    let mut buffer = LineBuffer {
        fd,
        bytes: [0; 256],
        len: 0,
    };
    let _ = fmt::write(&mut buffer, arguments);
    buffer.flush();
}

#[doc(hidden)]
pub fn print(arguments: fmt::Arguments) {
    print_to(Some(STDOUT), arguments);
}

#[doc(hidden)]
pub fn eprint(arguments: fmt::Arguments) {
    print_to(Some(STDERR), arguments);
}

/// Prints straight to the kernel console, taking no lock and allocating nothing: for code that
/// may have interrupted the library inside one of its locks.
pub(crate) fn print_to_kernel_console(arguments: fmt::Arguments) {
    print_to(None, arguments);
}

/// Prints to standard output.
#[macro_export]
macro_rules! print {
    ($($argument:tt)*) => { $crate::console::print(format_args!($($argument)*)) };
}

/// Prints a line to standard output.
#[macro_export]
macro_rules! println {
    ($($argument:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($argument)*))) };
}

/// Prints to standard error.
#[macro_export]
macro_rules! eprint {
    ($($argument:tt)*) => { $crate::console::eprint(format_args!($($argument)*)) };
}

/// Prints a line to standard error.
#[macro_export]
macro_rules! eprintln {
    ($($argument:tt)*) => { $crate::console::eprint(format_args!("{}\n", format_args!($($argument)*))) };
}

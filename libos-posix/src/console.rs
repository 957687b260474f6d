//! `print!` and `println!` to the kernel console.

use core::fmt;

/// Formats into a small buffer and hands full chunks to the kernel, so that one line costs one
/// system call.
struct LineBuffer {
    bytes: [u8; 256],
    len: usize,
}

impl LineBuffer {
    fn flush(&mut self) {
        if self.len > 0 {
            let _ = crate::syscall::debug_write(&self.bytes[..self.len]);
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

#[doc(hidden)]
pub fn print(arguments: fmt::Arguments) {
    let mut buffer = LineBuffer {
        bytes: [0; 256],
        len: 0,
    };
    let _ = fmt::write(&mut buffer, arguments);
    buffer.flush();
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($argument:tt)*) => { $crate::console::print(format_args!($($argument)*)) };
}

/// Prints a line to the console.
#[macro_export]
macro_rules! println {
    ($($argument:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($argument)*))) };
}

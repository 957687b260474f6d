//! The kernel console on the first serial port, and the `kprint!`/`kprintln!` macros. Newlines
//! go out as CR LF so that terminals in raw mode show lines properly.

use crate::arch::serial::write_byte;
use core::fmt;

static CONSOLE: spin::Mutex<()> = spin::Mutex::new(());

/// Writes raw bytes (for example a user environment's debug output).
pub fn write_bytes(bytes: &[u8]) {
    let _guard = CONSOLE.lock();
    for &byte in bytes {
        if byte == b'\n' {
            write_byte(b'\r');
        }
        write_byte(byte);
    }
}

/// Releases the console lock whoever holds it, so that the fault and panic paths can always
/// print (the kernel runs on one CPU; the holder will never resume).
pub fn break_lock() {
    if CONSOLE.is_locked() {
        // SAFETY: only called on paths that never return to the interrupted holder.
        unsafe { CONSOLE.force_unlock() };
    }
}

struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_bytes(text.as_bytes());
        Ok(())
    }
}

#[doc(hidden)]
pub fn print(arguments: fmt::Arguments) {
    let _ = fmt::write(&mut Console, arguments);
}

/// Prints to the kernel console.
#[macro_export]
macro_rules! kprint {
    ($($argument:tt)*) => { $crate::console::print(format_args!($($argument)*)) };
}

/// Prints a line to the kernel console.
#[macro_export]
macro_rules! kprintln {
    ($($argument:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($argument)*))) };
}

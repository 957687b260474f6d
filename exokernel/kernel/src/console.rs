//! The kernel console: the first serial port (a 16550 UART at I/O port 0x3F8), and the
//! `kprint!`/`kprintln!` macros. Newlines go out as CR LF so that terminals in raw mode show
//! lines properly.

use core::fmt;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3F8;
const LINE_STATUS_TRANSMIT_EMPTY: u8 = 1 << 5;

static CONSOLE: spin::Mutex<()> = spin::Mutex::new(());

/// Sets the UART to 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on, no interrupts.
pub fn init() {
    let settings: [(u16, u8); 6] = [(1, 0x00), (3, 0x80), (0, 0x01), (1, 0x00), (3, 0x03), (2, 0xC7)];
    for (offset, value) in settings {
        // SAFETY: standard 16550 initialisation on COM1's ports; no memory is touched.
        unsafe { Port::<u8>::new(COM1 + offset).write(value) };
    }
}

fn write_byte(byte: u8) {
    let mut line_status = Port::<u8>::new(COM1 + 5);
    let mut data = Port::<u8>::new(COM1);
    // SAFETY: reading the line status and writing the data register of COM1 have no effect on
    // memory.
    unsafe {
        while line_status.read() & LINE_STATUS_TRANSMIT_EMPTY == 0 {}
        data.write(byte);
    }
}

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

//! The first serial port: a 16550 UART at I/O port 0x3F8, polled, 115200 baud 8N1.

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3F8;
const LINE_STATUS_TRANSMIT_EMPTY: u8 = 1 << 5;

/// Sets 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on, no interrupts.
pub fn init() {
    let settings: [(u16, u8); 6] = [
        (1, 0x00),
        (3, 0x80),
        (0, 0x01),
        (1, 0x00),
        (3, 0x03),
        (2, 0xC7),
    ];
    for (offset, value) in settings {
        // SAFETY: standard 16550 initialisation on COM1's ports; no memory is touched.
        unsafe { Port::<u8>::new(COM1 + offset).write(value) };
    }
}

/// Sends one byte, waiting until the transmitter can take it.
pub fn write_byte(byte: u8) {
    let mut line_status = Port::<u8>::new(COM1 + 5);
    let mut data = Port::<u8>::new(COM1);
    // SAFETY: reading the line status and writing the data register of COM1 have no effect on
    // memory.
    unsafe {
        while line_status.read() & LINE_STATUS_TRANSMIT_EMPTY == 0 {}
        data.write(byte);
    }
}

//! The first serial port: a 16550 UART at I/O port 0x3F8, polled both ways, 115200 baud 8N1.

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3F8;
const LINE_STATUS_DATA_READY: u8 = 1 << 0;
const LINE_STATUS_TRANSMIT_EMPTY: u8 = 1 << 5;

/// Sets 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on, no interrupts, and reads
/// the receive register once. That drops a byte received before (the FIFO reset drops the
/// others), but tells the host side it may send again: QEMU's serial multiplexer
/// (`-serial mon:stdio`) holds back what it could not deliver until the receive register is
/// read, which polling reads only once a byte is there.
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
    // SAFETY: reading COM1's receive register has no effect on memory.
    unsafe { Port::<u8>::new(COM1).read() };
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

/// Takes one received byte, if the receiver holds one; never waits.
pub fn read_byte() -> Option<u8> {
    let mut line_status = Port::<u8>::new(COM1 + 5);
    let mut data = Port::<u8>::new(COM1);
    // SAFETY: reading the line status and the receive buffer register of COM1 has no effect on
    // memory; reading the data takes the byte out of the UART, which is what is wanted.
    unsafe {
        if line_status.read() & LINE_STATUS_DATA_READY == 0 {
            return None;
        }
        Some(data.read())
    }
}

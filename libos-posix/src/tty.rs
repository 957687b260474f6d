//! The terminal: the serial console as every process of the library OS sees it. Typed bytes
//! come from the kernel ([`syscall::console_read`]) into a ring in the world, so that whoever
//! looks first (the shell polling while it waits, or a program reading its standard input)
//! keeps them for whoever reads them. Ctrl-C is taken out of the stream and counted; the shell
//! stops its foreground job when the count moves.
//!
//! Programs read lines ("cooked"): the terminal echoes what is typed, handles backspace, and
//! returns a line at Enter; Ctrl-D on an empty line is end of file. The shell reads raw bytes
//! and edits lines itself.

use crate::lock::SharedLock;
use crate::runtime::shared_cell::Locked;
use crate::syscall;
use core::sync::atomic::{AtomicU64, Ordering};

const RING_BYTES: usize = 1024;
const INTERRUPT: u8 = 0x03;
const END_OF_FILE: u8 = 0x04;
const BACKSPACE: u8 = 0x7f;
const CONTROL_H: u8 = 0x08;

/// The terminal's shared state. All zeros is an empty terminal.
#[repr(C)]
#[derive(Debug)]
pub struct Terminal {
    /// Ctrl-C presses so far.
    interrupts: AtomicU64,
    input: Locked<Input>,
}

/// Typed bytes not yet read, written only under the terminal's lock.
#[repr(C)]
#[derive(Debug)]
struct Input {
    /// Bytes ever received and consumed; the ring holds the difference.
    received: u64,
    consumed: u64,
    ring: [u8; RING_BYTES],
}

impl Terminal {
    /// The lock a killer takes so that its victim is not inside a terminal operation.
    pub fn lock(&self) -> &SharedLock {
        self.input.lock()
    }

    /// How many times Ctrl-C was pressed so far (after taking in what was typed).
    pub fn interrupts(&self) -> u64 {
        self.with(|_| ());
        self.interrupts.load(Ordering::Acquire)
    }

    fn with<T>(&self, action: impl FnOnce(&mut Input) -> T) -> T {
        self.input.with(|input| {
            self.take_in(input);
            action(input)
        })
    }

    /// Moves what the kernel has buffered into the ring, counting and dropping Ctrl-C.
    fn take_in(&self, input: &mut Input) {
        let mut bytes = [0u8; 64];
        loop {
            let room = RING_BYTES - (input.received - input.consumed) as usize;
            if room == 0 {
                return;
            }
            let wanted = room.min(bytes.len());
            let count = syscall::console_read(&mut bytes[..wanted], true).unwrap_or(0);
            if count == 0 {
                return;
            }
            for &byte in &bytes[..count] {
                if byte == INTERRUPT {
                    self.interrupts.fetch_add(1, Ordering::AcqRel);
                    continue;
                }
                input.ring[(input.received % RING_BYTES as u64) as usize] = byte;
                input.received += 1;
            }
        }
    }

    /// Takes up to `buffer.len()` typed bytes, raw; 0 when nothing was typed.
    pub fn read_raw(&self, buffer: &mut [u8]) -> usize {
        self.with(|input| {
            let mut count = 0;
            while count < buffer.len() && input.consumed < input.received {
                buffer[count] = input.ring[(input.consumed % RING_BYTES as u64) as usize];
                input.consumed += 1;
                count += 1;
            }
            count
        })
    }

    /// Reads one line the cooked way into `buffer` (the newline included when it fits), echoing
    /// as it goes; 0 at end of file (Ctrl-D on an empty line), or when Ctrl-C is pressed
    /// meanwhile (the shell stops the reader then).
    pub fn read_line(&self, buffer: &mut [u8]) -> usize {
        let interrupts = self.interrupts();
        let mut len = 0;
        let mut byte = [0u8; 1];
        loop {
            if self.read_raw(&mut byte) == 0 {
                if self.interrupts() != interrupts {
                    return 0;
                }
                syscall::sleep(1);
                continue;
            }
            match byte[0] {
                b'\r' | b'\n' => {
                    echo(b"\r\n");
                    if len < buffer.len() {
                        buffer[len] = b'\n';
                        len += 1;
                    }
                    return len;
                }
                END_OF_FILE if len == 0 => return 0,
                BACKSPACE | CONTROL_H => {
                    if len > 0 {
                        len -= 1;
                        echo(b"\x08 \x08");
                    }
                }
                byte if byte >= 0x20 && len < buffer.len() => {
                    buffer[len] = byte;
                    len += 1;
                    echo(&[byte]);
                    if len == buffer.len() {
                        return len;
                    }
                }
                _ => {}
            }
        }
    }
}

/// Writes `bytes` to the console.
pub fn echo(bytes: &[u8]) {
    for chunk in bytes.chunks(exo_abi::DEBUG_WRITE_MAX_BYTES as usize) {
        let _ = syscall::debug_write(chunk);
    }
}

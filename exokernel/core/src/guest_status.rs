//! The status a guest reports when it powers QEMU off through the isa-debug-exit device, and
//! what the boot tool makes of QEMU's exit code.
//!
//! The kernel writes a status `s` to port [`DEBUG_EXIT_PORT`]; QEMU then exits with code
//! `(s << 1) | 1`. The boot tool turns that back into `s` and exits with it.
//!
//! | status | meaning |
//! |---|---|
//! | 0 ..= 63 | the init environment powered off with this status (or exited with it) |
//! | [`INIT_FAULTED`] | the init environment was killed by a CPU exception |
//! | [`BAD_BOOT`] | the kernel could not start init (missing ramdisk, bad `boot.cfg`, no such program) |
//! | [`KERNEL_FAULT`] | the kernel took an exception or panicked |
//! | [`SELF_TEST_FAILED`] | a kernel self-test found the opposite of what it expected |

/// I/O port of QEMU's isa-debug-exit device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
pub const DEBUG_EXIT_PORT: u16 = 0xf4;
/// Init was killed by a CPU exception.
pub const INIT_FAULTED: u8 = 64;
/// The kernel could not start init.
pub const BAD_BOOT: u8 = 65;
/// A kernel self-test failed.
pub const SELF_TEST_FAILED: u8 = 66;
/// The kernel faulted or panicked.
pub const KERNEL_FAULT: u8 = 100;

/// The guest status carried by QEMU exit code `qemu_exit_code`, or `None` when QEMU ended
/// without the guest writing to the debug-exit port (QEMU then exits with 0, or an error of
/// its own).
pub fn from_qemu_exit_code(qemu_exit_code: i32) -> Option<u8> {
    if qemu_exit_code & 1 == 1 && (1..=255).contains(&qemu_exit_code) {
        Some((qemu_exit_code >> 1) as u8)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_debug_exit_codes() {
        assert_eq!(from_qemu_exit_code(1), Some(0));
        assert_eq!(from_qemu_exit_code(33), Some(16));
        assert_eq!(
            from_qemu_exit_code((i32::from(KERNEL_FAULT) << 1) | 1),
            Some(KERNEL_FAULT)
        );
        assert_eq!(from_qemu_exit_code(0), None);
        assert_eq!(from_qemu_exit_code(2), None);
        assert_eq!(from_qemu_exit_code(-1), None);
    }
}

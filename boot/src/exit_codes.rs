//! The boot tool's own exit codes. `boot run` exits with the guest's status (see
//! `exo_core::guest_status`); host-side outcomes use codes the guest never reports.

use exo_core::guest_status::{BAD_BOOT, INIT_FAULTED, KERNEL_FAULT, SELF_TEST_FAILED};

/// The host tool failed before the guest ran: a bad command line, a build error, an I/O error,
/// or `boot bench` found no figures.
pub const HOST_ERROR: u8 = 123;
/// The timeout expired and QEMU was killed.
pub const TIMED_OUT: u8 = 124;
/// QEMU ended without the guest writing a status (a triple fault under `-no-reboot`, or the
/// user quit QEMU).
pub const NO_GUEST_STATUS: u8 = 125;
/// QEMU or OVMF is missing, or QEMU refused to start.
pub const QEMU_UNAVAILABLE: u8 = 126;

/// A few words on what a guest status means, for the closing line of `boot run`.
pub fn guest_status_meaning(status: u8) -> &'static str {
    match status {
        0 => "success",
        1..=63 => "init's own status",
        INIT_FAULTED => "init was killed by a CPU exception",
        BAD_BOOT => "the kernel could not start init",
        SELF_TEST_FAILED => "a kernel self-test failed",
        KERNEL_FAULT => "the kernel faulted or panicked",
        _ => "unknown status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_codes_are_outside_the_statuses_the_kernel_uses() {
        for code in [HOST_ERROR, TIMED_OUT, NO_GUEST_STATUS, QEMU_UNAVAILABLE] {
            assert_eq!(guest_status_meaning(code), "unknown status");
        }
        assert_eq!(
            guest_status_meaning(KERNEL_FAULT),
            "the kernel faulted or panicked"
        );
    }
}

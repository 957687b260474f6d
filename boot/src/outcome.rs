//! What came of one QEMU run, and how it maps to the boot tool's exit code.

use std::fmt;

use exo_core::guest_status::from_qemu_exit_code;

use crate::exit_codes::{NO_GUEST_STATUS, TIMED_OUT, guest_status_meaning};

/// How a guest run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The guest powered off through the isa-debug-exit device with this status.
    GuestStatus(u8),
    /// The timeout expired; QEMU was killed.
    TimedOut,
    /// QEMU exited (or was killed by a signal: `None`) without the guest reporting a status.
    NoGuestStatus { qemu_exit_code: Option<i32> },
}

impl Ending {
    /// The ending of a QEMU process that exited with `qemu_exit_code` (`None`: killed by a
    /// signal).
    pub fn from_qemu(qemu_exit_code: Option<i32>, timed_out: bool) -> Ending {
        if timed_out {
            return Ending::TimedOut;
        }
        match qemu_exit_code.and_then(from_qemu_exit_code) {
            Some(status) => Ending::GuestStatus(status),
            None => Ending::NoGuestStatus { qemu_exit_code },
        }
    }

    /// The boot tool's exit code for this ending: the guest status itself, or a host code.
    pub fn exit_code(self) -> u8 {
        match self {
            Ending::GuestStatus(status) => status,
            Ending::TimedOut => TIMED_OUT,
            Ending::NoGuestStatus { .. } => NO_GUEST_STATUS,
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::GuestStatus(status) => write!(
                formatter,
                "guest powered off with status {status} ({})",
                guest_status_meaning(*status)
            ),
            Ending::TimedOut => formatter.write_str("timed out; QEMU was killed"),
            Ending::NoGuestStatus {
                qemu_exit_code: Some(code),
            } => write!(
                formatter,
                "QEMU exited with code {code} without a guest status (triple fault? QEMU quit?)"
            ),
            Ending::NoGuestStatus {
                qemu_exit_code: None,
            } => formatter.write_str("QEMU was killed by a signal without a guest status"),
        }
    }
}

/// The result of a captured QEMU run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status the guest wrote to the isa-debug-exit port, if it did.
    pub guest_status: Option<u8>,
    /// QEMU's own exit code (`None` when it was killed by a signal).
    pub qemu_exit_code: Option<i32>,
    /// Everything the guest wrote to the serial port, with `\r` removed.
    pub serial: String,
    /// What QEMU itself wrote to its standard error.
    pub qemu_stderr: String,
    /// Whether the timeout expired and QEMU was killed.
    pub timed_out: bool,
}

impl Outcome {
    /// The outcome of a finished QEMU process.
    pub fn new(
        qemu_exit_code: Option<i32>,
        timed_out: bool,
        serial: String,
        qemu_stderr: String,
    ) -> Outcome {
        let guest_status = match Ending::from_qemu(qemu_exit_code, timed_out) {
            Ending::GuestStatus(status) => Some(status),
            _ => None,
        };
        Outcome {
            guest_status,
            qemu_exit_code,
            serial,
            qemu_stderr,
            timed_out,
        }
    }

    /// How the run ended.
    pub fn ending(&self) -> Ending {
        Ending::from_qemu(self.qemu_exit_code, self.timed_out)
    }

    /// The serial transcript's lines.
    pub fn serial_lines(&self) -> impl Iterator<Item = &str> {
        self.serial.lines()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_codes::NO_GUEST_STATUS;
    use exo_core::guest_status::KERNEL_FAULT;

    #[test]
    fn maps_qemu_exit_codes_to_endings_and_exit_codes() {
        assert_eq!(Ending::from_qemu(Some(1), false), Ending::GuestStatus(0));
        let kernel_fault = (i32::from(KERNEL_FAULT) << 1) | 1;
        assert_eq!(
            Ending::from_qemu(Some(kernel_fault), false).exit_code(),
            KERNEL_FAULT
        );
        assert_eq!(
            Ending::from_qemu(Some(0), false).exit_code(),
            NO_GUEST_STATUS
        );
        assert_eq!(Ending::from_qemu(None, false).exit_code(), NO_GUEST_STATUS);
        assert_eq!(Ending::from_qemu(Some(1), true), Ending::TimedOut);
        assert_eq!(Ending::TimedOut.exit_code(), 124);
    }

    #[test]
    fn describes_each_ending_in_one_line() {
        assert_eq!(
            Ending::GuestStatus(0).to_string(),
            "guest powered off with status 0 (success)"
        );
        assert!(
            Ending::NoGuestStatus {
                qemu_exit_code: Some(0)
            }
            .to_string()
            .contains("code 0")
        );
        assert!(!Ending::TimedOut.to_string().contains('\n'));
    }

    #[test]
    fn an_outcome_keeps_the_guest_status_only_when_it_did_not_time_out() {
        let outcome = Outcome::new(Some(1), false, "a\nb\n".to_owned(), String::new());
        assert_eq!(outcome.guest_status, Some(0));
        assert_eq!(outcome.serial_lines().collect::<Vec<_>>(), ["a", "b"]);
        let killed = Outcome::new(None, true, String::new(), String::new());
        assert_eq!(killed.guest_status, None);
        assert_eq!(killed.ending(), Ending::TimedOut);
    }
}

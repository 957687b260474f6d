//! How an environment ended, as reported by [`Syscall::Wait`](crate::Syscall::Wait).

/// How an environment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// It called [`Syscall::Exit`](crate::Syscall::Exit) with this status.
    Exited(u32),
    /// The kernel ended it because it raised this CPU exception in user mode
    /// (vector number, see [`exception_name`]).
    Faulted(u8),
    /// An environment holding [`CONTROL`](crate::capability::Rights::CONTROL) over it or an
    /// ancestor ended it ([`Syscall::EnvironmentKill`](crate::Syscall::EnvironmentKill)).
    Killed,
}

const TAG_SHIFT: u32 = 32;
const TAG_EXITED: u64 = 1;
const TAG_FAULTED: u64 = 2;
const TAG_KILLED: u64 = 3;

impl ExitReason {
    /// Packs the reason into one result word: a tag in bits 32..40, the status or vector in
    /// bits 0..32 (0 for [`ExitReason::Killed`]).
    pub fn encode(self) -> u64 {
        match self {
            ExitReason::Exited(status) => (TAG_EXITED << TAG_SHIFT) | u64::from(status),
            ExitReason::Faulted(vector) => (TAG_FAULTED << TAG_SHIFT) | u64::from(vector),
            ExitReason::Killed => TAG_KILLED << TAG_SHIFT,
        }
    }

    /// Unpacks a word made by [`ExitReason::encode`]; `None` for any other word.
    pub fn decode(word: u64) -> Option<ExitReason> {
        let detail = word & 0xFFFF_FFFF;
        match word >> TAG_SHIFT {
            TAG_EXITED => Some(ExitReason::Exited(detail as u32)),
            TAG_FAULTED => u8::try_from(detail).ok().map(ExitReason::Faulted),
            TAG_KILLED if detail == 0 => Some(ExitReason::Killed),
            _ => None,
        }
    }
}

impl core::fmt::Display for ExitReason {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ExitReason::Exited(status) => write!(formatter, "exited with status {status}"),
            ExitReason::Faulted(vector) => {
                write!(
                    formatter,
                    "killed by {} (vector {vector})",
                    exception_name(*vector)
                )
            }
            ExitReason::Killed => formatter.write_str("killed"),
        }
    }
}

/// The name of x86 exception vector `vector` (Intel SDM vol. 3A, table 6-1).
pub fn exception_name(vector: u8) -> &'static str {
    match vector {
        0 => "divide error",
        1 => "debug exception",
        2 => "non-maskable interrupt",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range exceeded",
        6 => "invalid opcode",
        7 => "device not available",
        8 => "double fault",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        18 => "machine check",
        19 => "SIMD floating-point exception",
        20 => "virtualization exception",
        21 => "control protection exception",
        _ => "reserved exception",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for reason in [
            ExitReason::Exited(0),
            ExitReason::Exited(u32::MAX),
            ExitReason::Faulted(13),
            ExitReason::Faulted(255),
            ExitReason::Killed,
        ] {
            assert_eq!(ExitReason::decode(reason.encode()), Some(reason));
            assert!(reason.encode() <= i64::MAX as u64);
        }
    }

    #[test]
    fn garbage_does_not_decode() {
        assert_eq!(ExitReason::decode(0), None);
        assert_eq!(ExitReason::decode((2 << 32) | 256), None);
        assert_eq!(ExitReason::decode(7 << 32), None);
        assert_eq!(ExitReason::decode((3 << 32) | 1), None);
    }

    #[test]
    fn reasons_read_as_the_console_says_them() {
        assert_eq!(ExitReason::Killed.to_string(), "killed");
        assert_eq!(ExitReason::Exited(3).to_string(), "exited with status 3");
        assert_eq!(
            ExitReason::Faulted(14).to_string(),
            "killed by page fault (vector 14)"
        );
    }

    #[test]
    fn names_known_vectors() {
        assert_eq!(exception_name(14), "page fault");
        assert_eq!(exception_name(13), "general protection fault");
        assert_eq!(exception_name(9), "reserved exception");
    }
}

//! Error codes and the encoding of a call's result in `rax`.

/// Why a call failed. The discriminant is the code carried (negated) in `rax`.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No call has this number.
    NoSuchCall = 1,
    /// A pointer or range is outside the user half, wraps around, or covers a page that is not
    /// mapped with the access the call needs.
    BadAddress = 2,
    /// A length is over the call's limit.
    TooLong = 3,
    /// The caller lacks the right to make this call.
    PermissionDenied = 4,
    /// The named thing does not exist.
    NotFound = 5,
    /// An argument is out of its documented range or malformed.
    InvalidArgument = 6,
    /// The kernel ran out of physical frames for the request, or it would go over the
    /// [kernel-memory quota](crate::kernel_memory).
    NoMemory = 7,
    /// An executable is not a static x86_64 ELF executable that fits the user half.
    BadExecutable = 8,
    /// No environment with this id exists for the caller to act on.
    NoSuchEnvironment = 9,
    /// The named resource (a frame) is not free, or is not there at all.
    Unavailable = 10,
    /// The place is already taken (a page that is already mapped).
    Occupied = 11,
    /// A capability handle names nothing the caller holds: forged, dropped, or never issued.
    BadCapability = 12,
    /// A code this version of the interface does not know (from a newer kernel).
    Unrecognized = 0xFFFF,
}

impl Error {
    /// Every error, for tests and tables.
    pub const ALL: [Error; 13] = [
        Error::NoSuchCall,
        Error::BadAddress,
        Error::TooLong,
        Error::PermissionDenied,
        Error::NotFound,
        Error::InvalidArgument,
        Error::NoMemory,
        Error::BadExecutable,
        Error::NoSuchEnvironment,
        Error::Unavailable,
        Error::Occupied,
        Error::BadCapability,
        Error::Unrecognized,
    ];

    /// The error with code `code`; unknown codes give [`Error::Unrecognized`].
    pub fn from_code(code: u64) -> Error {
        Error::ALL
            .into_iter()
            .find(|error| *error as u64 == code)
            .unwrap_or(Error::Unrecognized)
    }

    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Error::NoSuchCall => "no such system call",
            Error::BadAddress => "bad address",
            Error::TooLong => "too long",
            Error::PermissionDenied => "permission denied",
            Error::NotFound => "not found",
            Error::InvalidArgument => "invalid argument",
            Error::NoMemory => "out of memory",
            Error::BadExecutable => "bad executable",
            Error::NoSuchEnvironment => "no such environment",
            Error::Unavailable => "resource unavailable",
            Error::Occupied => "already occupied",
            Error::BadCapability => "bad capability",
            Error::Unrecognized => "unrecognized error",
        }
    }
}

/// Encodes a call's result as the word returned in `rax`. Success values must not exceed
/// `i64::MAX`; the kernel never returns larger ones.
pub fn encode_result(result: Result<u64, Error>) -> u64 {
    match result {
        Ok(value) => {
            debug_assert!(value <= i64::MAX as u64);
            value
        }
        Err(error) => (error as u64).wrapping_neg(),
    }
}

/// Decodes the word returned in `rax`.
#[inline]
pub fn decode_result(word: u64) -> Result<u64, Error> {
    if (word as i64) >= 0 {
        Ok(word)
    } else {
        Err(Error::from_code(word.wrapping_neg()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_round_trips() {
        for error in Error::ALL {
            assert_eq!(decode_result(encode_result(Err(error))), Err(error));
            assert_eq!(Error::from_code(error as u64), error);
        }
    }

    #[test]
    fn values_round_trip_up_to_i64_max() {
        for value in [0, 1, 4096, i64::MAX as u64] {
            assert_eq!(decode_result(encode_result(Ok(value))), Ok(value));
        }
    }

    #[test]
    fn unknown_codes_decode_as_unrecognized() {
        assert_eq!(
            decode_result(12345u64.wrapping_neg()),
            Err(Error::Unrecognized)
        );
        assert_eq!(decode_result(u64::MAX - 1000), Err(Error::Unrecognized));
    }
}

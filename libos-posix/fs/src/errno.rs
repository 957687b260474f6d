//! The library OS's error codes, POSIX-style: what the file system, descriptors and processes
//! report to programs (`libos_posix::Errno`). They live here, below the library, so that each
//! file-system error is one of them ([`FsError::errno`](crate::FsError::errno)) and shares its
//! message.

use core::fmt;

/// Why a library call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// No such file or directory (ENOENT).
    NotFound,
    /// The name exists already (EEXIST).
    Exists,
    /// A path component, or the target, is not a directory (ENOTDIR).
    NotADirectory,
    /// The target is a directory (EISDIR).
    IsADirectory,
    /// The directory is not empty (ENOTEMPTY).
    NotEmpty,
    /// A name is longer than 255 bytes (ENAMETOOLONG).
    NameTooLong,
    /// An argument is malformed or out of range (EINVAL).
    InvalidArgument,
    /// The descriptor is not open, or not open for this (EBADF).
    BadDescriptor,
    /// Every descriptor slot is in use (EMFILE).
    TooManyOpenFiles,
    /// The disk is full, or every inode is used (ENOSPC).
    NoSpace,
    /// The file would exceed the largest size (EFBIG).
    FileTooLarge,
    /// Writing to a pipe nobody reads (EPIPE).
    BrokenPipe,
    /// Memory, pipes or process slots ran out (ENOMEM / EAGAIN).
    NoMemory,
    /// The caller may not do this (EPERM).
    PermissionDenied,
    /// The disk failed, or what it holds is damaged (EIO).
    Io,
    /// The file is not an executable program (ENOEXEC).
    NotExecutable,
    /// No such process, or not a child of the caller (ESRCH / ECHILD).
    NoSuchProcess,
    /// The library OS has no file system (it was started outside a world with one).
    NoFileSystem,
    /// A buffer the call was given cannot be reached (EFAULT).
    BadAddress,
}

impl Errno {
    /// Every error code, in the order of their numbers ([`Errno::code`]).
    pub const ALL: [Errno; 19] = [
        Errno::NotFound,
        Errno::Exists,
        Errno::NotADirectory,
        Errno::IsADirectory,
        Errno::NotEmpty,
        Errno::NameTooLong,
        Errno::InvalidArgument,
        Errno::BadDescriptor,
        Errno::TooManyOpenFiles,
        Errno::NoSpace,
        Errno::FileTooLarge,
        Errno::BrokenPipe,
        Errno::NoMemory,
        Errno::PermissionDenied,
        Errno::Io,
        Errno::NotExecutable,
        Errno::NoSuchProcess,
        Errno::NoFileSystem,
        Errno::BadAddress,
    ];

    /// Its number, from 1, for messages between environments.
    pub fn code(self) -> u64 {
        Errno::ALL
            .iter()
            .position(|errno| *errno == self)
            .map_or(0, |index| index as u64 + 1)
    }

    /// The error numbered `code` ([`Errno::code`]); `None` for a number no error has.
    pub fn from_code(code: u64) -> Option<Errno> {
        let index = usize::try_from(code.checked_sub(1)?).ok()?;
        Errno::ALL.get(index).copied()
    }

    /// The message a shell prints for it.
    pub fn describe(self) -> &'static str {
        match self {
            Errno::NotFound => "No such file or directory",
            Errno::Exists => "File exists",
            Errno::NotADirectory => "Not a directory",
            Errno::IsADirectory => "Is a directory",
            Errno::NotEmpty => "Directory not empty",
            Errno::NameTooLong => "File name too long",
            Errno::InvalidArgument => "Invalid argument",
            Errno::BadDescriptor => "Bad file descriptor",
            Errno::TooManyOpenFiles => "Too many open files",
            Errno::NoSpace => "No space left on device",
            Errno::FileTooLarge => "File too large",
            Errno::BrokenPipe => "Broken pipe",
            Errno::NoMemory => "Out of memory",
            Errno::PermissionDenied => "Operation not permitted",
            Errno::Io => "Input/output error",
            Errno::NotExecutable => "Exec format error",
            Errno::NoSuchProcess => "No such process",
            Errno::NoFileSystem => "No file system",
            Errno::BadAddress => "Bad address",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.describe())
    }
}

impl From<exo_abi::Error> for Errno {
    fn from(error: exo_abi::Error) -> Errno {
        use exo_abi::Error;
        match error {
            Error::NoMemory => Errno::NoMemory,
            Error::PermissionDenied | Error::BadCapability => Errno::PermissionDenied,
            Error::NoSuchEnvironment => Errno::NoSuchProcess,
            Error::BadExecutable => Errno::NotExecutable,
            Error::NotFound => Errno::NotFound,
            Error::Unavailable => Errno::Io,
            _ => Errno::InvalidArgument,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_no_other_number_names_an_error() {
        for errno in Errno::ALL {
            assert_eq!(Errno::from_code(errno.code()), Some(errno));
        }
        for code in [0, Errno::ALL.len() as u64 + 1, u64::MAX] {
            assert_eq!(Errno::from_code(code), None);
        }
    }
}

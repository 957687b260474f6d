//! The errors of file system calls, with the POSIX-like message of each.

use crate::block::IoError;
use crate::errno::Errno;
use core::fmt;

/// Why a file system call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsError {
    /// A path component or an inode does not exist (`ENOENT`).
    NotFound,
    /// The name is already taken (`EEXIST`).
    Exists,
    /// A directory was needed (`ENOTDIR`).
    NotADirectory,
    /// The call does not apply to a directory (`EISDIR`).
    IsADirectory,
    /// The directory still has entries (`ENOTEMPTY`).
    NotEmpty,
    /// A name is longer than [`crate::MAX_NAME_LEN`] bytes (`ENAMETOOLONG`).
    NameTooLong,
    /// The path is not absolute, or holds a NUL byte.
    InvalidPath,
    /// The request makes no sense: an inode number out of range, removing the root, moving a
    /// directory into itself (`EINVAL`).
    InvalidArgument,
    /// No free data block is left (`ENOSPC`).
    NoSpace,
    /// No free inode is left (`ENOSPC`).
    NoInodes,
    /// The file would exceed [`crate::MAX_FILE_SIZE`] (`EFBIG`).
    FileTooLarge,
    /// The device failed; the file system refuses every later call until it is mounted again
    /// (`EIO`).
    Io,
    /// The on-disk structures are damaged beyond what a crash can do (`EUCLEAN`); the reason
    /// says what was found.
    Corrupt(&'static str),
    /// The buffer cache has too few usable slots for the call, even after committing.
    NoCache,
    /// The caller's side of a transfer ([`FileSystem::read_with`](crate::FileSystem::read_with),
    /// [`FileSystem::write_with`](crate::FileSystem::write_with)) could not take or give the
    /// bytes (`EFAULT`).
    BadBuffer,
}

impl FsError {
    /// The library OS's error code for it.
    pub fn errno(&self) -> Errno {
        match self {
            FsError::NotFound => Errno::NotFound,
            FsError::Exists => Errno::Exists,
            FsError::NotADirectory => Errno::NotADirectory,
            FsError::IsADirectory => Errno::IsADirectory,
            FsError::NotEmpty => Errno::NotEmpty,
            FsError::NameTooLong => Errno::NameTooLong,
            FsError::InvalidPath | FsError::InvalidArgument => Errno::InvalidArgument,
            FsError::NoSpace | FsError::NoInodes => Errno::NoSpace,
            FsError::FileTooLarge => Errno::FileTooLarge,
            FsError::NoCache => Errno::NoMemory,
            FsError::BadBuffer => Errno::BadAddress,
            FsError::Io | FsError::Corrupt(_) => Errno::Io,
        }
    }

    /// The message `strerror` would give for the matching POSIX error: its code's, or a more
    /// precise one where the code covers more than this error.
    pub fn describe(&self) -> &'static str {
        match self {
            FsError::InvalidPath => "Invalid path",
            FsError::NoInodes => "No space left on device (no free inodes)",
            FsError::Corrupt(_) => "Structure needs cleaning",
            FsError::NoCache => "Cannot allocate memory (buffer cache exhausted)",
            _ => self.errno().describe(),
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Corrupt(reason) => write!(formatter, "{}: {reason}", self.describe()),
            _ => formatter.write_str(self.describe()),
        }
    }
}

impl From<FsError> for Errno {
    fn from(error: FsError) -> Errno {
        error.errno()
    }
}

impl From<IoError> for FsError {
    fn from(_: IoError) -> FsError {
        FsError::Io
    }
}

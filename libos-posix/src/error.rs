//! The library's error codes, POSIX-style: [`Errno`], defined with the file system's errors in
//! `posix_fs` so that both share one table of codes and messages.

pub use posix_fs::Errno;

/// A library call's result.
pub type Result<T> = core::result::Result<T, Errno>;

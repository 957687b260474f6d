//! Where the library OS keeps its file system on the disk, and the credential it owns the
//! blocks with. The disk's first blocks hold the kernel's ownership table; the partition starts
//! well after them, so that the blocks below stay free for programs that allocate raw blocks
//! (tests, benchmarks). The boot tool formats the partition and records every block of it, in
//! the kernel's table, as owned by the principal this credential names.
//!
//! The credential is a bearer secret compiled into every program linked with the library OS:
//! it keeps the file system's blocks from other principals' programs, not from a program that
//! reads this source. A deployment that needs more would have init receive it from the boot
//! tool instead.

/// The first disk block of the partition (32 MiB into the disk).
pub const FIRST_BLOCK: u64 = 8192;
/// Blocks of the partition the boot tool makes by default: 96 MiB, so a 64 MiB file fits.
pub const DEFAULT_PARTITION_BLOCKS: u64 = 24 * 1024;
/// The library OS's disk credential (see the module docs).
pub const CREDENTIAL: [u8; 16] = *b"libos-posix-fs-1";

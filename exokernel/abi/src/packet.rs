//! Packets: the receive ring a library OS gives the kernel with
//! [`Syscall::PacketBind`](crate::Syscall::PacketBind), and the limits of
//! [`Syscall::PacketSend`](crate::Syscall::PacketSend).
//!
//! # The receive ring
//!
//! `1 + slots` consecutive pages of the environment's address space, each bound writable to a
//! frame it owns. The first page is the header, three little-endian `u64` words:
//!
//! | word | written by | meaning |
//! |---|---|---|
//! | [`PRODUCED`] | kernel | frames delivered so far |
//! | [`CONSUMED`] | library OS | frames it has finished with |
//! | [`DROPPED`] | kernel | frames dropped because the ring was full |
//!
//! Frame `n` (counting from 0) is in slot page `1 + n % slots`: its length in the first `u64`,
//! then its bytes from [`SLOT_DATA_OFFSET`]. The kernel writes a slot only while
//! `produced - consumed < slots`, writes the slot before it advances `produced`, and never
//! reads the slots back. The counters are modulo 2^64: the kernel computes `produced - consumed`
//! and advances `produced` and `dropped` with wrapping arithmetic, so whatever the library OS
//! writes in the header can only misplace or drop its own frames.

/// Header word: frames delivered so far.
pub const PRODUCED: usize = 0;
/// Header word: frames the library OS has finished with.
pub const CONSUMED: usize = 1;
/// Header word: frames dropped because the ring was full.
pub const DROPPED: usize = 2;
/// Where a frame's bytes start in its slot page, after its length.
pub const SLOT_DATA_OFFSET: usize = 8;
/// Most slot pages of one ring.
pub const RING_SLOTS_MAX: u64 = 64;
/// Most bytes of an Ethernet frame (without its checksum) sent or received.
pub const FRAME_BYTES_MAX: u64 = 1514;
/// Fewest bytes of a frame sent: an Ethernet header.
pub const FRAME_BYTES_MIN: u64 = 14;

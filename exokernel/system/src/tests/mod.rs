//! Host tests of the system calls, on the fake machine (`crate::fake`): each call's effects on
//! the kernel's tables and on the page tables, and its refusals.

mod clock;
mod consent;
mod counters;
mod environments;
mod ipc;
mod packets;
mod pages;
mod receive;
mod refusals;

use crate::fake::{Booted, PROGRAM_ENTRY};
use crate::platform::Platform;

/// A writable page of every program in the fake ramdisk (its data segment).
const DATA_PAGE: u64 = PROGRAM_ENTRY + 0x1000;
/// A free page address of the user half, for bindings.
const FREE_PAGE: u64 = 0x1000_0000;

impl Booted {
    /// Writes `bytes` into the running environment's data page at `offset` and returns their
    /// address, for calls that take a string.
    fn put(&mut self, offset: u64, bytes: &[u8]) -> u64 {
        crate::fake::Fake::write_user(DATA_PAGE + offset, bytes);
        DATA_PAGE + offset
    }
}

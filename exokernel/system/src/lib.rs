//! The exokernel's state and everything it does in answer to a system call, a trap or the end of
//! a slot, generic over the [`Platform`](platform::Platform) it runs on: the PC (the
//! `exokernel` crate) or, in host tests, a fake that records what was asked of it. The policy-free
//! tables it keeps are `exo_core`'s; the filter sandbox is `exo_filter`'s.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod blocks;
pub mod capabilities;
pub mod clock;
pub mod consistency;
pub mod console_input;
pub mod counters;
pub mod environment;
pub mod exceptions;
pub mod filters;
pub mod ipc;
pub mod ipc_fast_path;
pub mod kernel;
pub mod kernel_memory;
pub mod lifecycle;
pub mod packets;
pub mod page_batches;
pub mod pages;
pub mod platform;
pub mod revocation;
pub mod scheduler;
pub mod slices;
pub mod syscalls;
pub mod trap_frame;
pub mod user_memory;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

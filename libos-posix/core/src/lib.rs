//! The logic of `libos-posix`'s std-like API that needs no kernel, so that it builds and is
//! tested on the host: the civil calendar (`calendar`), conversions between time-stamp counter
//! ticks and durations (`ticks`), command-line arguments with their options (`args`), and the
//! list of processes the library OS keeps in shared memory (`process_list`).
//! `libos-posix` re-exports what apps use.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod args;
pub mod calendar;
pub mod process_list;
pub mod ticks;

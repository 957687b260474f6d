//! The POSIX-flavoured library OS, linked into each app. For now it is the user-side runtime:
//! the program entry point, typed system calls, console printing, the panic handler and
//! user-level exception handling; the process and file world grows here.
//!
//! An app is a `#![no_std]`, `#![no_main]` binary that names its main function with
//! [`main!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! libos_posix::main!(main);
//! fn main(args: libos_posix::Args) -> i32 {
//!     libos_posix::println!("hello, {}", args.as_str());
//!     0
//! }
//! ```
#![no_std]

pub mod checks;
pub mod console;
mod entry;
pub mod exceptions;
#[cfg(feature = "heap")]
pub mod heap;
pub mod net;
pub mod shared_words;
pub mod syscall;

pub use entry::Args;
pub use exo_abi::{Error, ExceptionFrame, ExitReason};

//! The POSIX-flavoured library OS, linked into each app. Processes and files are built here,
//! at user level, out of what the kernel protects (pages, disk blocks, time slices, upcalls):
//! spawning programs from the file system, copy-on-write fork, pipes, a journaled file system
//! with a buffer cache shared by every process of the library OS, and a terminal.
//!
//! An app is a `#![no_std]`, `#![no_main]` binary that names its main function with
//! [`main!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! libos_posix::main!(main);
//! fn main(args: libos_posix::Args) -> i32 {
//!     libos_posix::println!("hello, {}", args.iter().next().unwrap_or("world"));
//!     0
//! }
//! ```
//!
//! The parts, from the bottom: `syscall` (typed kernel calls), `layout` (where things live in
//! an address space), `world` (memory shared by every process: terminal, pipes, process table,
//! file system), `descriptors` and `files` (file descriptors, the file API), `process`,
//! `images`, `loader` and `fork` (processes), `bare` (programs started outside the world), `exceptions` and `faults` (upcalls). Beside
//! them, the std-like API: `time` (`Instant`, `SystemTime`), `collections` (`HashMap`,
//! `HashSet`), [`Args`] with getopt-style options, and `prelude`, which brings the common
//! names in one `use libos_posix::prelude::*;`. And the network: `net` (packet receive
//! rings), `udp` (datagram sockets) and `arp` (answering ARP for the guest's address).
//!
//! Every `unsafe` operation is in `runtime`, behind safe functions (and one `unsafe`
//! constructor, [`shared_words::SharedWords::new`], whose page the caller binds); the compiler
//! holds the rest of the crate to that.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod arp;
pub mod bare;
pub mod clock;
pub mod collections;
pub mod console;
pub mod descriptors;
mod entry;
pub mod error;
pub mod exceptions;
mod faults;
pub mod file_client;
pub mod file_server;
pub mod files;
pub mod fork;
mod images;
pub mod layout;
mod loader;
pub mod lock;
pub mod net;
pub mod pipe_service;
pub mod pipes;
pub mod prelude;
pub mod process;
pub mod process_client;
pub mod process_server;
pub mod process_table;
#[allow(unsafe_code)]
mod runtime;
pub mod servers;
pub mod startup;
pub mod stopwatch;
pub mod syscall;
pub mod time;
pub mod tty;
pub mod udp;
pub mod world;

pub use error::Errno;
pub use exo_abi::{Error, ExceptionFrame, ExitReason};
pub use posix_core::args::{Args, OptionError, Options};
pub use runtime::shared_words;

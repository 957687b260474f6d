//! Application-specific resource managers for library OSes.
//!
//! An exokernel leaves management to user code; this crate holds the managers an app takes
//! over its own resources with, each kind behind a trait so that one policy can be swapped and
//! the rest kept: page replacement and a buffer pool over the app's own frames ([`memory`],
//! with a B+-tree on top, [`btree`]), a log-structured disk layout on its own blocks
//! ([`log_store`]), both on a [`block_device::BlockDevice`] ([`kernel_blocks`] is the one over
//! the kernel's block calls), user-level threads in the app's own CPU slices ([`threads`])
//! under a swappable policy ([`scheduling`]), a UDP server that answers from its own receive
//! ring ([`network`]), and [`filter`]: a builder that turns a declarative predicate over
//! bytes (a conjunction of masked field tests) into the WebAssembly module a library OS
//! downloads into the kernel, following the contract in [`exo_abi::filter`]. The same
//! predicates serve as packet filters (which received frames an environment claims) and as
//! wake-up predicates (when a sleeping environment should run again). The crate's README is
//! the guide for writing a new policy.
//!
//! ```
//! use libos_custom::filter::{Comparison, Predicate};
//!
//! // Claim UDP datagrams to port 53 (Ethernet II, IPv4 without options).
//! let dns = Predicate::udp_destination_port(53);
//! let module: Vec<u8> = dns.to_wasm();
//! assert!(module.starts_with(b"\0asm"));
//! assert!(module.len() <= exo_abi::filter::MODULE_BYTES_MAX);
//!
//! // Wake up once the producer's counter, a native-endian word at offset 0, reaches 5.
//! let ready = Predicate::new().word(0, Comparison::GreaterOrEqual, 5);
//! assert!(!ready.matches(&4u32.to_ne_bytes()));
//! assert!(ready.matches(&5u32.to_ne_bytes()));
//! let module = ready.to_wasm();
//! # assert!(module.starts_with(b"\0asm"));
//! ```

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod block_device;
pub mod btree;
pub mod filter;
pub mod kernel_blocks;
pub mod log_store;
pub mod memory;
pub mod network;
pub mod scheduling;
#[allow(unsafe_code)]
pub mod threads;

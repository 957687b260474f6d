//! Policy-free kernel logic that touches no hardware, so it builds and is tested on the host:
//! the boot ramdisk format and boot configuration, the splitting of disk transfers into requests, capability tables, the frame ownership table, the persistent
//! disk-block ownership table, the console input ring, the kernel-memory quota, user-range checks, ELF load plans, the environment table, the
//! bookkeeping of visible revocation and the abort protocol with the repossession vector's
//! format, and the CPU time-slice vector with its scheduling decisions.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod block_requests;
pub mod block_table;
pub mod boot_config;
pub mod capabilities;
pub mod console_ring;
#[cfg(any(test, feature = "std"))]
pub mod elf_builder;
pub mod elf_plan;
pub mod endpoints;
pub mod environments;
pub mod exception_handler;
pub mod frame_table;
pub mod guest_status;
pub mod kernel_memory;
pub mod mappings;
pub mod ramdisk;
pub mod regions;
pub mod revocation;
pub mod rtc;
pub mod slices;
pub mod user_layout;
pub mod user_range;

/// Size of a page and of a physical frame, in bytes.
pub const PAGE_SIZE: u64 = 4096;

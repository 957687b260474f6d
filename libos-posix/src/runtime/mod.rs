//! The library's runtime: the one module of this crate allowed `unsafe` (the crate root denies
//! it everywhere else). Each submodule wraps one kind of raw access (an instruction, a naked
//! entry point, memory at a fixed address) in functions and types that are safe to call, and
//! says next to each `unsafe` why it is sound. The rest of the library, the policy, is safe
//! Rust built on these.
//!
//! Safe here means safe for any caller, with one stance the whole library takes: the system
//! calls that change this environment's own address space (unbinding or rebinding a page the
//! program still uses, say) are safe functions, as writing `/proc/self/mem` is safe in Rust's
//! standard library. What a wrapper here relies on is memory that it bound itself, or that it
//! checked is bound, or that the kernel or a parent of this library placed by contract.

pub(crate) mod bound_page;
pub(crate) mod exception_entry;
pub(crate) mod fork_entry;
pub(crate) mod heap;
pub(crate) mod image;
pub(crate) mod owned_pages;
pub(crate) mod program_entry;
pub(crate) mod scratch;
pub(crate) mod shared_cell;
pub mod shared_words;
pub(crate) mod staging;
pub(crate) mod syscall_instruction;
pub(crate) mod timestamp;
pub(crate) mod world_memory;

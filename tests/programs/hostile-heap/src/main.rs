//! Hostile: tries to exhaust the kernel heap. It binds one frame at page after page, up to
//! 90,000 of them (each binding costs kernel heap), and must be refused with `NoMemory` long
//! before the heap runs out; then it unbinds them all. Then it starts children that each load
//! as many large filters as one environment may hold, all at once, and each must be refused
//! with `NoMemory` too. Afterwards its kernel-memory charge must be back where it started (its
//! frames come back when it ends: the page tables of the bindings stay until then). Exits 0
//! when every check passed.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use exo_abi::PageRights;
use exo_abi::filter::{FILTERS_PER_ENVIRONMENT_MAX, MODULE_BYTES_MAX};
use libos_posix::syscall::Capability;
use libos_posix::{Error, ExitReason, println, syscall};

libos_posix::main!(main);

const NAME: &str = "hostile-heap";
const PAGE_BYTES: u64 = 4096;
/// More bindings than the kernel heap could hold without a quota.
const BINDINGS_TRIED: u64 = 90_000;
/// Where the bindings start: far from the program, its heap and its stack.
const BINDINGS_BASE: u64 = 0x2000_0000_0000;
/// Children loading filters at the same time: together they would take more than the global
/// limit.
const FILTER_LOADERS: usize = 4;
/// A child's exit status when every load it tried until the first refusal was refused with
/// `NoMemory`.
const REFUSED_WITH_NO_MEMORY: i32 = 0;

fn main(args: libos_posix::Args) -> i32 {
    if args.as_str() == "filters" {
        return load_filters_until_refused();
    }
    let charge_before = syscall::kernel_memory(Capability::SELF);
    let mut is_passing = bind_until_refused();
    is_passing &= run_filter_loaders();
    let charge_after = syscall::kernel_memory(Capability::SELF);
    println!("{NAME}: kernel memory charged {charge_before:?} -> {charge_after:?} bytes");
    is_passing &= charge_after == charge_before;
    if is_passing {
        println!("{NAME}: all checks passed");
        0
    } else {
        1
    }
}

/// Binds one frame at consecutive pages until the kernel refuses, then unbinds them all.
fn bind_until_refused() -> bool {
    let Ok(frame) = syscall::frame_allocate(None) else {
        println!("{NAME}: no frame to bind");
        return false;
    };
    let charge_empty = syscall::kernel_memory(Capability::SELF).unwrap_or(0);
    let mut bound = 0;
    let refusal = loop {
        if bound == BINDINGS_TRIED {
            break None;
        }
        let address = BINDINGS_BASE + bound * PAGE_BYTES;
        if let Err(error) = syscall::page_map(address, frame, PageRights::WRITABLE) {
            break Some(error);
        }
        bound += 1;
    };
    let charge_full = syscall::kernel_memory(Capability::SELF).unwrap_or(0);
    println!("{NAME}: {bound} bindings of one frame, then {refusal:?}");
    println!(
        "{NAME}: kernel memory charged {charge_empty} -> {charge_full} bytes, {} per binding",
        (charge_full - charge_empty) / bound.max(1)
    );
    let unbound = (0..bound)
        .filter(|page| syscall::page_unmap(BINDINGS_BASE + page * PAGE_BYTES).is_ok())
        .count() as u64;
    let is_freed = syscall::frame_free(frame).is_ok();
    println!("{NAME}: {unbound} bindings removed");
    refusal == Some(Error::NoMemory) && unbound == bound && is_freed
}

/// Starts the filter loaders together, waits for them all, and checks that each was refused
/// with `NoMemory`.
fn run_filter_loaders() -> bool {
    // An array, not a vector: this environment's own heap must not grow between the two
    // readings of its charge.
    let mut children = [Capability::SELF; FILTER_LOADERS];
    for child in &mut children {
        match syscall::spawn(NAME, "filters") {
            Ok(spawned) => *child = spawned,
            Err(error) => {
                println!("{NAME}: could not start a filter loader: {error:?}");
                return false;
            }
        }
    }
    let expected = Ok(ExitReason::Exited(REFUSED_WITH_NO_MEMORY as u32));
    let refused = children
        .into_iter()
        .filter(|&child| syscall::wait(child) == expected)
        .count();
    println!("{NAME}: {refused} of {FILTER_LOADERS} filter loaders refused with NoMemory");
    refused == FILTER_LOADERS
}

/// Loads large filters until refused; the kernel unloads them when this environment ends.
fn load_filters_until_refused() -> i32 {
    let module = large_module();
    let mut loaded = 0;
    let refusal = loop {
        if loaded == FILTERS_PER_ENVIRONMENT_MAX {
            break None;
        }
        if let Err(error) = syscall::filter_load(&module) {
            break Some(error);
        }
        loaded += 1;
        // Let the other loaders run between loads, so that they load together.
        syscall::yield_now();
    };
    let charge = syscall::kernel_memory(Capability::SELF);
    println!(
        "{NAME}: env {} loaded {loaded} filters of {} bytes ({charge:?} bytes charged), then {refusal:?}",
        syscall::environment_id(),
        module.len()
    );
    if refusal == Some(Error::NoMemory) {
        REFUSED_WITH_NO_MEMORY
    } else {
        1
    }
}

/// A valid filter of nearly [`MODULE_BYTES_MAX`] bytes that makes the kernel allocate all it
/// can: a linear memory of the most pages allowed, the largest table allowed, and a `run`
/// function whose body is one long run of calls (never run: loading is what costs).
fn large_module() -> Vec<u8> {
    const CALL_AND_DROP: [u8; 3] = [0x10, 0x00, 0x1a];
    const BODY_END: [u8; 3] = [0x41, 0x00, 0x0b];
    // Sections before the code: header, type, function, table, memory, export.
    let mut module = [
        [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00].as_slice(),
        &[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f],
        &[0x03, 0x02, 0x01, 0x00],
        &[0x04, 0x07, 0x01, 0x70, 0x01, 0x80, 0x08, 0x80, 0x08],
        &[0x05, 0x04, 0x01, 0x01, 0x01, 0x01],
        &[0x07, 0x07, 0x01, 0x03, b'r', b'u', b'n', 0x00, 0x00],
    ]
    .concat();
    // The code section with its three-byte size, one body with its three-byte size: 1 + 3 +
    // 1 + 3 bytes of headers, the body's local count, the calls, and the end.
    let headers = 1 + 3 + 1 + 3 + 1;
    let calls = (MODULE_BYTES_MAX - module.len() - headers - BODY_END.len()) / CALL_AND_DROP.len();
    let body_len = 1 + calls * CALL_AND_DROP.len() + BODY_END.len();
    let section_len = 1 + 3 + body_len;
    module.push(0x0a);
    module.extend_from_slice(&padded_leb128(section_len));
    module.push(0x01);
    module.extend_from_slice(&padded_leb128(body_len));
    module.push(0x00);
    for _ in 0..calls {
        module.extend_from_slice(&CALL_AND_DROP);
    }
    module.extend_from_slice(&BODY_END);
    module
}

/// `value` (below 2^21) as an unsigned LEB128 number padded to three bytes.
fn padded_leb128(value: usize) -> [u8; 3] {
    [
        (value & 0x7f) as u8 | 0x80,
        ((value >> 7) & 0x7f) as u8 | 0x80,
        ((value >> 14) & 0x7f) as u8,
    ]
}

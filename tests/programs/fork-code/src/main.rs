//! Fork and the program's code. A forked child borrows its parent's code regions whole,
//! read-only, unless the parent made a page there writable through the library's calls (a
//! program that patches its code); then the child gets the code page by page, the patched page
//! as the parent binds it: writable, with the patch in it. Run by the kernel, so that its code
//! is bound page by page (a program the library spawns borrows its code from the spawner).
//! Exits 0 when every check passed.
#![no_std]
#![no_main]

use exo_abi::{Error, PageRights};
use libos_posix::fork::{Fork, fork};
use libos_posix::{ExitReason, process, syscall, world};
use test_support::checks::{Checker, report_run};

libos_posix::main!(main);

const NAME: &str = "fork-code";
/// Read-only data, which the linker puts in the code regions; the second check patches it.
static PATCHABLE: [u8; 8] = *b"as built";
const PATCH: u8 = b'P';

/// What a child found at the patchable page, as its exit status: a base, so that 0 is never a
/// finding, and one bit for each of what it checks.
const FOUND: u32 = 16;
const FOUND_WRITABLE: u32 = 1;
const FOUND_OWN_BINDING: u32 = 2;
const FOUND_PATCH: u32 = 4;

fn patchable_address() -> u64 {
    core::hint::black_box(PATCHABLE.as_ptr() as u64)
}

fn page_of(address: u64) -> u64 {
    address & !0xfff
}

/// The child's half: reports what it sees at the patchable page.
fn report_what_the_child_sees() -> ! {
    let mut found = FOUND;
    if let Ok(page) = syscall::page_query(page_of(patchable_address())) {
        if page.rights.contains(PageRights::WRITABLE) {
            found |= FOUND_WRITABLE;
        }
        // A binding of its own is derived from the parent's; a borrowed region shows the
        // parent's own, which derives from nothing.
        if page.is_derived {
            found |= FOUND_OWN_BINDING;
        }
    }
    // SAFETY: the address is the static's, bound readable; read through a pointer so that the
    // compiler does not fold the constant.
    if unsafe { (patchable_address() as *const u8).read_volatile() } == PATCH {
        found |= FOUND_PATCH;
    }
    process::exit(found);
}

/// Forks; returns what the child found.
fn what_a_child_sees() -> Result<ExitReason, Error> {
    match fork().map_err(|_| Error::NoMemory)? {
        Fork::Child => report_what_the_child_sees(),
        Fork::Parent(child) => process::wait(child).map_err(|_| Error::NotFound),
    }
}

fn run() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    world::start_as_root(NAME).map_err(|(_, _)| Error::NotFound)?;
    check.expect(
        "a child of a program that never made its code writable borrows it whole",
        what_a_child_sees()?,
        ExitReason::Exited(FOUND),
    );

    let page = page_of(patchable_address());
    let rights = syscall::page_query(page)?.rights;
    syscall::page_protect(page, rights | PageRights::WRITABLE)?;
    // SAFETY: the page holding the static is now bound writable, and nothing else reads the
    // static meanwhile (one thread).
    unsafe { (patchable_address() as *mut u8).write_volatile(PATCH) };
    check.expect(
        "a child of a program that patched its code gets the patched page writable",
        what_a_child_sees()?,
        ExitReason::Exited(FOUND | FOUND_WRITABLE | FOUND_OWN_BINDING | FOUND_PATCH),
    );
    // SAFETY: as above.
    unsafe { (patchable_address() as *mut u8).write_volatile(b'a') };
    syscall::page_protect(page, rights)?;
    Ok(check.failures())
}

fn main(_args: libos_posix::Args) -> i32 {
    report_run(NAME, run())
}

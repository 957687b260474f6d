//! Pages as secure bindings: allocate frames (any, or by physical name), bind them, change and
//! read their rights, take them away; every refused request gets its documented error and
//! changes nothing. A write to a read-only page reaches this program's own fault handler, which
//! makes the page writable and resumes. Exits 0 when every check passed.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use exo_abi::PageRights;
use exo_abi::{Error, ExceptionFrame, PageBinding, stubs};
use libos_posix::{exceptions, println, syscall};
use test_support::checks::Checker;

libos_posix::main!(main);

/// Where this program binds its pages.
const PAGE: u64 = 0x5000_0000_0000;
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;
const PAGE_FAULT: u64 = 14;

static WRITE_FAULTS: AtomicU64 = AtomicU64::new(0);

/// Makes the faulting page writable again, so the write that faulted can go through.
fn unprotect_on_fault(frame: &mut ExceptionFrame) -> bool {
    let page = frame.fault_address & !0xFFF;
    if frame.vector != PAGE_FAULT || page != PAGE {
        return false;
    }
    WRITE_FAULTS.fetch_add(1, Ordering::Relaxed);
    syscall::page_protect(PAGE, PageRights::WRITABLE).is_ok()
}

fn write(address: u64, value: u64) {
    // SAFETY: `address` is a page this program bound writable (or one whose fault its handler
    // repairs).
    unsafe { (address as *mut u64).write_volatile(value) }
}

fn read(address: u64) -> u64 {
    // SAFETY: `address` is a page this program bound.
    unsafe { (address as *const u64).read_volatile() }
}

fn main(_args: libos_posix::Args) -> i32 {
    let mut check = Checker::new("page-bindings");
    let Ok(frame) = syscall::frame_allocate(None) else {
        println!("page-bindings: cannot allocate a frame");
        return 1;
    };
    check.expect(
        "map read-write",
        syscall::page_map(PAGE, frame, PageRights::WRITABLE),
        Ok(()),
    );
    write(PAGE, 0xfeed);
    check.expect("read back", read(PAGE), 0xfeed);
    check.expect(
        "query",
        syscall::page_query(PAGE).map(|page| (page.frame, page.rights)),
        Ok((frame, PageRights::WRITABLE)),
    );

    exceptions::set_handler(unprotect_on_fault).expect("the handler registers");
    check.expect(
        "protect read-only",
        syscall::page_protect(PAGE, PageRights::empty()),
        Ok(()),
    );
    check.expect(
        "query read-only",
        syscall::page_query(PAGE).map(|page| (page.frame, page.rights)),
        Ok((frame, PageRights::empty())),
    );
    write(PAGE, 0xbeef);
    check.expect("write after the fault was repaired", read(PAGE), 0xbeef);
    check.expect("write faults", WRITE_FAULTS.load(Ordering::Relaxed), 1);
    exceptions::clear_handler();

    check.expect(
        "map an unaligned page",
        syscall::page_map(PAGE + 8, frame, PageRights::empty()),
        Err(Error::BadAddress),
    );
    check.expect(
        "map into the kernel half",
        syscall::page_map(KERNEL_HALF, frame, PageRights::empty()),
        Err(Error::BadAddress),
    );
    check.expect(
        "map over a mapping",
        syscall::page_map(PAGE, frame, PageRights::empty()),
        Err(Error::Occupied),
    );
    check.expect(
        "map with unknown rights",
        stubs::page_map::<syscall::Kernel>(PAGE + 0x1000, frame, 8),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "map a frame it does not own",
        syscall::page_map(PAGE + 0x1000, 1, PageRights::empty()),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "map a frame that is not RAM",
        syscall::page_map(PAGE + 0x1000, u64::MAX >> 12, PageRights::empty()),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "protect with unknown rights",
        stubs::page_protect::<syscall::Kernel>(PAGE, PageRights::EXECUTABLE.bits() << 4),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "unmap an empty page",
        syscall::page_unmap(PAGE + 0x1000),
        Err(Error::NotFound),
    );
    check.expect(
        "query an empty page",
        syscall::page_query(PAGE + 0x1000),
        Err(Error::NotFound),
    );
    check.expect(
        "free a frame it does not own",
        syscall::frame_free(1),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "allocate frame 0",
        syscall::frame_allocate(Some(0)),
        Err(Error::Unavailable),
    );
    check.expect(
        "allocate its own frame again",
        syscall::frame_allocate(Some(frame)),
        Err(Error::Unavailable),
    );
    check.expect(
        "allocate past RAM",
        syscall::frame_allocate(Some(u64::MAX - 1)),
        Err(Error::Unavailable),
    );
    check.expect(
        "the binding survived the refusals",
        syscall::page_query(PAGE).map(|page| (page.frame, page.rights)),
        Ok((frame, PageRights::WRITABLE)),
    );

    check.expect("unmap", syscall::page_unmap(PAGE), Ok(()));
    check.expect(
        "query after unmap",
        syscall::page_query(PAGE),
        Err(Error::NotFound),
    );
    check.expect("free", syscall::frame_free(frame), Ok(()));
    check.expect(
        "allocate by physical name",
        syscall::frame_allocate(Some(frame)),
        Ok(frame),
    );
    check.expect(
        "map the named frame",
        syscall::page_map(PAGE, frame, PageRights::WRITABLE),
        Ok(()),
    );
    check.expect("a reallocated frame holds zeros", read(PAGE), 0);
    check.expect("free while mapped", syscall::frame_free(frame), Ok(()));
    check.expect(
        "freeing removed the binding",
        syscall::page_query(PAGE),
        Err(Error::NotFound),
    );

    check_batches(&mut check);
    check_usage(&mut check);

    check.report()
}

/// Where the batch checks bind their pages.
const BATCH_PAGES: u64 = 0x5100_0000_0000;
/// Pages in a batch.
const BATCH: usize = 8;

/// The batch forms bind and unbind whole or not at all, and the frame list names exactly the
/// frames this program owns.
fn check_batches(check: &mut Checker) {
    let mut bindings = [PageBinding::default(); BATCH];
    for (index, binding) in bindings.iter_mut().enumerate() {
        let Ok(frame) = syscall::frame_allocate(None) else {
            check.expect("allocate batch frames", false, true);
            return;
        };
        *binding = PageBinding {
            page_address: BATCH_PAGES + index as u64 * 0x1000,
            frame,
            rights: PageRights::WRITABLE.bits(),
        };
    }
    // The newest frames: the list's last page, found by reading it page by page.
    let mut listed = [0u64; 64];
    let mut first = 0;
    let mut count = syscall::frame_list(&mut listed, first).unwrap_or(0);
    while count == listed.len() {
        first += count as u64;
        count = syscall::frame_list(&mut listed, first).unwrap_or(0);
        if count < BATCH {
            first -= BATCH as u64;
            count = syscall::frame_list(&mut listed, first).unwrap_or(0);
        }
    }
    let owns_all = bindings
        .iter()
        .all(|binding| listed[..count].contains(&binding.frame));
    check.expect("the frame list names the new frames", owns_all, true);
    check.expect(
        "the newest frames are listed last",
        listed[count.saturating_sub(BATCH)..count]
            .iter()
            .zip(&bindings)
            .all(|(listed, binding)| *listed == binding.frame),
        true,
    );

    let mut duplicate = bindings;
    duplicate[BATCH - 1].page_address = duplicate[0].page_address;
    check.expect(
        "a batch naming a page twice",
        syscall::page_map_batch(&duplicate),
        Err(Error::Occupied),
    );
    let mut foreign = bindings;
    foreign[BATCH - 1].frame = 1;
    check.expect(
        "a batch with a foreign frame",
        syscall::page_map_batch(&foreign),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "a refused batch bound nothing",
        syscall::page_query(BATCH_PAGES),
        Err(Error::NotFound),
    );
    check.expect("map a batch", syscall::page_map_batch(&bindings), Ok(()));
    let all_bound = bindings.iter().all(|binding| {
        syscall::page_query(binding.page_address).map(|page| (page.frame, page.rights))
            == Ok((binding.frame, PageRights::WRITABLE))
    });
    check.expect("every page of the batch is bound", all_bound, true);
    let too_many = [bindings[0]; exo_abi::PAGE_BATCH_MAX as usize + 1];
    check.expect(
        "a batch over the maximum",
        syscall::page_map_batch(&too_many),
        Err(Error::TooLong),
    );
    let addresses: [u64; BATCH] = core::array::from_fn(|index| bindings[index].page_address);
    let mut with_unbound = addresses;
    with_unbound[BATCH - 1] = BATCH_PAGES + 0x10_0000;
    check.expect(
        "an unmap batch with an unbound page",
        syscall::page_unmap_batch(&with_unbound),
        Err(Error::NotFound),
    );
    check.expect(
        "a refused unmap batch unbound nothing",
        syscall::page_query(BATCH_PAGES).is_ok(),
        true,
    );
    check.expect(
        "unmap a batch",
        syscall::page_unmap_batch(&addresses),
        Ok(()),
    );
    let none_bound = addresses
        .iter()
        .all(|&address| syscall::page_query(address) == Err(Error::NotFound));
    check.expect("no page of the batch is bound", none_bound, true);
    for binding in bindings {
        let _ = syscall::frame_free(binding.frame);
    }
}

/// Where the usage checks bind their pages.
const USAGE_PAGES: u64 = 0x5200_0000_0000;

/// The MMU's accessed and dirty bits reach the program through `PageUsage`: a read sets the
/// accessed bit only, a write both, clearing makes the next use set them again, a rights change
/// keeps them, and a hostile buffer or clear mask is refused.
fn check_usage(check: &mut Checker) {
    use exo_abi::PageUse;
    // The words reported are page addresses with the bits in their low bits.
    const ACCESSED: u64 = PageUse::ACCESSED.bits();
    const DIRTY: u64 = PageUse::DIRTY.bits();
    let mut pages = [0u64; 3];
    for (index, page) in pages.iter_mut().enumerate() {
        *page = USAGE_PAGES + index as u64 * 0x1000;
        let bound = syscall::frame_allocate(None)
            .and_then(|frame| syscall::page_map(*page, frame, PageRights::WRITABLE));
        check.expect("bind a usage page", bound, Ok(()));
    }
    let range = USAGE_PAGES..USAGE_PAGES + 0x3000;
    let report = |clear| {
        let mut words = [0u64; 8];
        let count = syscall::page_usage(&mut words, range.clone(), clear).unwrap_or(usize::MAX);
        words[..count.min(words.len())].to_vec()
    };
    check.expect("fresh pages are unused", report(PageUse::all()), Vec::new());
    read(pages[0]);
    write(pages[2], 7);
    check.expect(
        "a read sets accessed, a write accessed and dirty",
        report(PageUse::ACCESSED),
        vec![pages[0] | ACCESSED, pages[2] | ACCESSED | DIRTY],
    );
    check.expect(
        "accessed was cleared, dirty kept",
        report(PageUse::empty()),
        vec![pages[2] | DIRTY],
    );
    read(pages[2]);
    check.expect(
        "the next use sets a cleared bit again",
        report(PageUse::all()),
        vec![pages[2] | ACCESSED | DIRTY],
    );
    write(pages[1], 1);
    check.expect(
        "a rights change keeps the bits",
        syscall::page_protect(pages[1], PageRights::empty()).map(|_| report(PageUse::empty())),
        Ok(vec![pages[1] | ACCESSED | DIRTY]),
    );
    check.expect(
        "unknown clear bits",
        stubs_page_usage(pages[0], range.start, 1 << 5),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "a buffer in the kernel half",
        stubs_page_usage(KERNEL_HALF, range.start, PageUse::all().bits()),
        Err(Error::BadAddress),
    );
    check.expect(
        "a refused buffer cleared nothing",
        report(PageUse::all()),
        vec![pages[1] | ACCESSED | DIRTY],
    );
    for page in pages {
        let _ = syscall::page_query(page).and_then(|binding| syscall::frame_free(binding.frame));
    }
}

/// `PageUsage` with a buffer address of the caller's choosing.
fn stubs_page_usage(buffer: u64, from: u64, clear: u64) -> Result<u64, Error> {
    let result = syscall::raw(
        exo_abi::Syscall::PageUsage.number(),
        [buffer, 8, from, u64::MAX, clear, 0],
    );
    exo_abi::decode_result(result)
}

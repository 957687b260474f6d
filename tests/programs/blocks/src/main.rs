//! Disk blocks seen from user mode: ownership through a durable credential, vectored transfers
//! straight into the caller's pages, every refusal, and ownership that survives a reboot.
//!
//! - `blocks checks`: allocation (any, by number), vectored write/flush/read back, a run of
//!   consecutive blocks moved in one call through scattered pages, block calls made while a
//!   child spins (the CPU halts in each call for the disk, and the slots that end meanwhile
//!   still go to the child), and the refusals (a list with a foreign block moves none of its
//!   own); a child with another credential (`blocks intruder BLOCK`) can neither free, read
//!   nor take the parent's block; a request for blocks that is ignored ends in repossession.
//! - `blocks persist-write` then, after a reboot on the same disk, `blocks persist-read`: the
//!   credential gives the blocks back with their data.
//!
//! Exits 0 when every check passed.
#![no_std]
#![no_main]

use exo_abi::PageRights;
use exo_abi::repossession::{self, ResourceKind};
use exo_abi::{BLOCK_TRANSFERS_MAX, BlockTransfer, Error, ExitReason};
use libos_posix::{println, syscall};
use test_support::checks;
use test_support::waiting::wait_for_page;

libos_posix::main!(main);

const NAME: &str = "blocks";
const PAGE_BYTES: u64 = 4096;
/// The owner of the blocks this program keeps across reboots.
const CREDENTIAL: [u8; 16] = *b"blocks-app-owner";
/// Another owner, for the intruder and the revocation worker.
const OTHER_CREDENTIAL: [u8; 16] = *b"someone-else-key";
/// Where the pages that blocks move through are bound, one after the other.
const PAGES: u64 = 0x5000_0000_0000;
/// A page bound read-only.
const READ_ONLY_PAGE: u64 = 0x5800_0000_0000;
/// The repossession vector of the revocation worker.
const VECTOR: u64 = 0x5900_0000_0000;
/// A page the parent shares with the revocation worker; the worker sets its first word when
/// it holds its blocks.
const SHARED_PAGE: u64 = 0x5a00_0000_0000;
/// A page the parent shares with the spinning child, which counts in its first word.
const COUNTER_PAGE: u64 = 0x5b00_0000_0000;
/// Block calls the parent makes while the child spins: each reads RUN_BLOCKS blocks, and all
/// of them take many 4 ms slots.
const CONTENDED_CALLS: u64 = 400;
/// Blocks the transfer checks move.
const TRANSFER_BLOCKS: u64 = 8;
/// Consecutive blocks the run checks move in one call (the kernel makes one device request of
/// them), through pages after the transfer checks' ones.
const RUN_BLOCKS: u64 = 32;
const RUN_PAGES: u64 = 2 * TRANSFER_BLOCKS;

type Check = Result<(), &'static str>;

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    let outcome = match (words.next(), words.next()) {
        (Some("checks"), None) => checks(),
        (Some("persist-write"), None) => persist_write(),
        (Some("persist-read"), None) => persist_read(),
        (Some("intruder"), Some(block)) => return intruder(block),
        (Some("worker"), None) => return revocation_worker(),
        (Some("counter"), None) => counter(),
        _ => Err("usage: blocks checks|persist-write|persist-read"),
    };
    checks::report(NAME, outcome)
}

fn page(index: u64) -> u64 {
    PAGES + index * PAGE_BYTES
}

fn words_of(address: u64) -> *mut u64 {
    address as *mut u64
}

/// Binds `count` fresh pages from `page(first)` on.
fn bind_pages(first: u64, count: u64) -> Result<(), Error> {
    for index in first..first + count {
        let frame = syscall::frame_allocate(None)?;
        syscall::page_map(page(index), frame, PageRights::WRITABLE)?;
    }
    Ok(())
}

/// Fills page `index` with a pattern naming `block`.
fn fill(index: u64, block: u64) {
    for word in 0..PAGE_BYTES / 8 {
        // SAFETY: page(index) is bound writable (bind_pages) and spans PAGE_BYTES.
        unsafe {
            words_of(page(index))
                .add(word as usize)
                .write_volatile(block << 32 | word)
        };
    }
}

/// Whether page `index` holds the pattern of `block`.
fn holds(index: u64, block: u64) -> bool {
    (0..PAGE_BYTES / 8).all(|word| {
        // SAFETY: as in `fill`.
        unsafe { words_of(page(index)).add(word as usize).read_volatile() == block << 32 | word }
    })
}

fn transfers(blocks: &[u64], first_page: u64) -> [BlockTransfer; TRANSFER_BLOCKS as usize] {
    let mut list = [BlockTransfer::default(); TRANSFER_BLOCKS as usize];
    for (index, (entry, &block)) in list.iter_mut().zip(blocks).enumerate() {
        *entry = BlockTransfer {
            block,
            page_address: page(first_page + index as u64),
        };
    }
    list
}

fn expect(got: Result<impl Sized, Error>, expected: Error, what: &'static str) -> Check {
    match got {
        Err(error) if error == expected => Ok(()),
        Err(error) => {
            println!("{NAME}: {what}: got {error:?}, expected {expected:?}");
            Err(what)
        }
        Ok(_) => {
            println!("{NAME}: {what}: succeeded, expected {expected:?}");
            Err(what)
        }
    }
}

/// Allocates TRANSFER_BLOCKS blocks, writes a pattern from pages 0.., reads it back into pages
/// TRANSFER_BLOCKS.., compares.
fn write_and_read_back() -> Result<[u64; TRANSFER_BLOCKS as usize], &'static str> {
    let mut blocks = [0; TRANSFER_BLOCKS as usize];
    for block in &mut blocks {
        *block = syscall::block_allocate(None).map_err(|_| "block_allocate")?;
    }
    for (index, &block) in blocks.iter().enumerate() {
        fill(index as u64, block);
    }
    syscall::block_write(&transfers(&blocks, 0)).map_err(|_| "block_write")?;
    syscall::block_flush().map_err(|_| "block_flush")?;
    syscall::block_read(&transfers(&blocks, TRANSFER_BLOCKS)).map_err(|_| "block_read")?;
    let is_same = blocks
        .iter()
        .enumerate()
        .all(|(index, &block)| holds(TRANSFER_BLOCKS + index as u64, block));
    if !is_same {
        return Err("the blocks read back differ from what was written");
    }
    Ok(blocks)
}

fn checks() -> Check {
    expect(
        syscall::block_allocate(None),
        Error::PermissionDenied,
        "allocating without a credential",
    )?;
    expect(
        syscall::block_credential(&[0; 16]),
        Error::InvalidArgument,
        "the zero credential",
    )?;
    syscall::block_credential(&CREDENTIAL).map_err(|_| "block_credential")?;
    expect(
        syscall::block_credential(&OTHER_CREDENTIAL),
        Error::InvalidArgument,
        "a second credential",
    )?;
    bind_pages(0, 2 * TRANSFER_BLOCKS).map_err(|_| "binding pages")?;
    let blocks = write_and_read_back()?;
    // Before `named` is taken: the run is allocated from the first free block on.
    check_runs()?;
    let named = blocks[TRANSFER_BLOCKS as usize - 1] + 10;
    if syscall::block_allocate(Some(named)) != Ok(named) {
        return Err("allocating a block by number");
    }
    expect(
        syscall::block_allocate(Some(named)),
        Error::Occupied,
        "allocating an owned block",
    )?;
    expect(
        syscall::block_allocate(Some(0)),
        Error::InvalidArgument,
        "allocating the table",
    )?;
    expect(
        syscall::block_allocate(Some(1 << 40)),
        Error::InvalidArgument,
        "a block past the end",
    )?;
    expect(
        syscall::block_free(named + 1),
        Error::PermissionDenied,
        "freeing a free block",
    )?;
    let list = transfers(&blocks, 0);
    let too_long = [list[0]; BLOCK_TRANSFERS_MAX as usize + 1];
    expect(
        syscall::block_read(&too_long),
        Error::TooLong,
        "a list over the maximum",
    )?;
    let unbound = [BlockTransfer {
        block: blocks[0],
        page_address: 0x6000_0000_0000,
    }];
    expect(
        syscall::block_read(&unbound),
        Error::BadAddress,
        "reading into an unbound page",
    )?;
    let frame = syscall::frame_allocate(None).map_err(|_| "frame_allocate")?;
    syscall::page_map(READ_ONLY_PAGE, frame, PageRights::empty()).map_err(|_| "page_map")?;
    let read_only = [BlockTransfer {
        block: blocks[0],
        page_address: READ_ONLY_PAGE,
    }];
    expect(
        syscall::block_read(&read_only),
        Error::PermissionDenied,
        "reading into a read-only page",
    )?;
    syscall::block_write(&read_only).map_err(|_| "writing from a read-only page")?;
    let mixed = [
        list[0],
        BlockTransfer {
            block: named + 1,
            page_address: page(0),
        },
    ];
    expect(
        syscall::block_write(&mixed),
        Error::PermissionDenied,
        "a list with a foreign block",
    )?;
    check_intruder(named)?;
    check_revocation()?;
    for block in blocks.into_iter().chain([named]) {
        syscall::block_free(block).map_err(|_| "block_free")?;
    }
    expect(
        syscall::block_free(named),
        Error::PermissionDenied,
        "freeing a block twice",
    )?;
    Ok(())
}

/// A run of consecutive blocks written in one call from pages in reverse order, read back in
/// one call into pages in another order; one page named for two consecutive blocks of a read
/// ends up holding one of them; a write whose list ends with a block of no one's moves none of
/// the caller's blocks.
fn check_runs() -> Check {
    bind_pages(RUN_PAGES, 2 * RUN_BLOCKS).map_err(|_| "binding the run's pages")?;
    let first = syscall::block_allocate(None).map_err(|_| "block_allocate")?;
    for block in first + 1..first + RUN_BLOCKS {
        if syscall::block_allocate(Some(block)) != Ok(block) {
            return Err("allocating a run of blocks");
        }
    }
    let mut list = [BlockTransfer::default(); RUN_BLOCKS as usize];
    for (offset, entry) in (0..RUN_BLOCKS).zip(list.iter_mut()) {
        let index = RUN_PAGES + RUN_BLOCKS - 1 - offset;
        fill(index, first + offset);
        *entry = BlockTransfer {
            block: first + offset,
            page_address: page(index),
        };
    }
    syscall::block_write(&list).map_err(|_| "writing a run")?;
    // 7 is prime to RUN_BLOCKS: every page of the second half once, out of order.
    let read_page = |offset: u64| RUN_PAGES + RUN_BLOCKS + (offset * 7) % RUN_BLOCKS;
    for (offset, entry) in (0..RUN_BLOCKS).zip(list.iter_mut()) {
        entry.page_address = page(read_page(offset));
    }
    syscall::block_read(&list).map_err(|_| "reading a run")?;
    if !(0..RUN_BLOCKS).all(|offset| holds(read_page(offset), first + offset)) {
        return Err("a run read back differs from what was written");
    }
    let shared = page(RUN_PAGES);
    let twice = [first, first + 1].map(|block| BlockTransfer {
        block,
        page_address: shared,
    });
    syscall::block_read(&twice).map_err(|_| "reading two blocks into one page")?;
    if !holds(RUN_PAGES, first) && !holds(RUN_PAGES, first + 1) {
        return Err("a page named twice holds neither block");
    }
    fill(RUN_PAGES, first + RUN_BLOCKS);
    let with_foreign = [
        BlockTransfer {
            block: first,
            page_address: shared,
        },
        BlockTransfer {
            block: first + RUN_BLOCKS,
            page_address: shared,
        },
    ];
    expect(
        syscall::block_write(&with_foreign),
        Error::PermissionDenied,
        "a run ending in a block of no one's",
    )?;
    syscall::block_read(&twice[..1]).map_err(|_| "reading the run's first block")?;
    if !holds(RUN_PAGES, first) {
        return Err("a refused list moved one of its blocks");
    }
    check_contended(&list)?;
    for block in first..first + RUN_BLOCKS {
        syscall::block_free(block).map_err(|_| "freeing the run")?;
    }
    Ok(())
}

/// Makes CONTENDED_CALLS block calls of `list` while a child that never yields counts: the
/// child must count meanwhile. A slot that ended while a call waited for the disk, and whose
/// end were then lost, would leave this environment running to the end of its calls and the
/// child's count unchanged.
fn check_contended(list: &[BlockTransfer]) -> Check {
    let frame = syscall::frame_allocate(None).map_err(|_| "frame_allocate")?;
    syscall::page_map(COUNTER_PAGE, frame, PageRights::WRITABLE).map_err(|_| "page_map")?;
    let child = syscall::spawn(NAME, "counter").map_err(|_| "spawn counter")?;
    syscall::page_share(COUNTER_PAGE, child, COUNTER_PAGE, PageRights::WRITABLE)
        .map_err(|_| "page_share")?;
    // SAFETY: COUNTER_PAGE is bound writable in this environment (above).
    let count = || unsafe { words_of(COUNTER_PAGE).read_volatile() };
    while count() == 0 {
        syscall::sleep(1_000);
    }
    let before = count();
    let mut outcome = Ok(());
    for _ in 0..CONTENDED_CALLS {
        if syscall::block_read(list).is_err() {
            outcome = Err("a block call while a child spins");
            break;
        }
    }
    let after = count();
    syscall::kill_environment(child, 0).map_err(|_| "killing the counter")?;
    syscall::wait(child).map_err(|_| "reaping the counter")?;
    outcome?;
    println!(
        "{NAME}: the spinning child counted {} during {CONTENDED_CALLS} block calls",
        after - before
    );
    if after == before {
        return Err("a child got no slot while block calls waited for the disk");
    }
    Ok(())
}

/// The spinning child: counts in the page its parent shares, never yielding, until killed.
fn counter() -> ! {
    wait_for_page(COUNTER_PAGE);
    let mut count = 0u64;
    loop {
        count = count.wrapping_add(1).max(1);
        // SAFETY: the parent shared COUNTER_PAGE writable into this child (waited for above).
        unsafe { words_of(COUNTER_PAGE).write_volatile(count) };
    }
}

/// Runs a child with another credential against `block`, which this environment owns.
fn check_intruder(block: u64) -> Check {
    let mut args = [0u8; 32];
    let args = number_args(&mut args, "intruder ", block);
    let child = syscall::spawn(NAME, args).map_err(|_| "spawn intruder")?;
    match syscall::wait(child) {
        Ok(ExitReason::Exited(0)) => Ok(()),
        _ => Err("the intruder reached a block it does not own"),
    }
}

fn number_args<'a>(buffer: &'a mut [u8; 32], prefix: &str, number: u64) -> &'a str {
    let mut digits = [0u8; 20];
    let mut length = 0;
    let mut rest = number;
    loop {
        digits[length] = b'0' + (rest % 10) as u8;
        length += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    buffer[..prefix.len()].copy_from_slice(prefix.as_bytes());
    for (index, digit) in digits[..length].iter().rev().enumerate() {
        buffer[prefix.len() + index] = *digit;
    }
    core::str::from_utf8(&buffer[..prefix.len() + length]).unwrap_or("")
}

/// Another owner tries the parent's block: every try is refused. Exit status 0 means so.
fn intruder(block: &str) -> i32 {
    let Ok(block) = block.parse::<u64>() else {
        return 2;
    };
    let tried = syscall::block_credential(&OTHER_CREDENTIAL)
        .map_err(|_| "credential")
        .and_then(|_| bind_pages(0, 1).map_err(|_| "bind"))
        .and_then(|()| expect(syscall::block_free(block), Error::PermissionDenied, "free"))
        .and_then(|()| {
            let read = [BlockTransfer {
                block,
                page_address: page(0),
            }];
            expect(syscall::block_read(&read), Error::PermissionDenied, "read")
        })
        .and_then(|()| {
            expect(
                syscall::block_allocate(Some(block)),
                Error::Occupied,
                "take",
            )
        })
        .and_then(|()| {
            expect(
                syscall::block_credential(&CREDENTIAL),
                Error::InvalidArgument,
                "rebind",
            )
        });
    if tried.is_ok() { 0 } else { 1 }
}

/// Owns four blocks and ignores the request for two; checks what its vector says. Exit status
/// 0 means the two were taken and recorded, and are no longer its own.
fn revocation_worker() -> i32 {
    let ready = syscall::block_credential(&OTHER_CREDENTIAL).is_ok()
        && (0..4).all(|_| syscall::block_allocate(None).is_ok())
        && bind_pages(0, 1).is_ok()
        && syscall::frame_allocate(None)
            .and_then(|frame| syscall::page_map(VECTOR, frame, PageRights::WRITABLE))
            .and_then(|()| syscall::set_repossession_vector(VECTOR))
            .is_ok();
    if !ready {
        return 2;
    }
    wait_for_page(SHARED_PAGE);
    // SAFETY: the parent shared SHARED_PAGE writable into this worker (checked above).
    unsafe { words_of(SHARED_PAGE).write_volatile(1) };
    // No upcall is enabled: the kernel cannot ask, so it takes the blocks at once.
    // SAFETY: VECTOR is bound (above) and spans one page.
    let vector = || unsafe { *(VECTOR as *const [u8; repossession::PAGE_BYTES]) };
    while repossession::header(&vector()).written_count < 2 {
        syscall::sleep(1_000);
    }
    let vector = vector();
    let Ok(records) = repossession::unread(&vector, 0) else {
        return 3;
    };
    let mut taken = 0;
    for record in records {
        let read = [BlockTransfer {
            block: record.name,
            page_address: page(0),
        }];
        let is_gone = record.kind() == Some(ResourceKind::Block)
            && syscall::block_read(&read) == Err(Error::PermissionDenied);
        if !is_gone {
            return 4;
        }
        taken += 1;
    }
    if taken == 2 { 0 } else { 5 }
}

fn check_revocation() -> Check {
    let frame = syscall::frame_allocate(None).map_err(|_| "frame_allocate")?;
    syscall::page_map(SHARED_PAGE, frame, PageRights::WRITABLE).map_err(|_| "page_map")?;
    let worker = syscall::spawn(NAME, "worker").map_err(|_| "spawn worker")?;
    syscall::page_share(SHARED_PAGE, worker, SHARED_PAGE, PageRights::WRITABLE)
        .map_err(|_| "page_share")?;
    // SAFETY: SHARED_PAGE is bound writable in this environment (above).
    while unsafe { words_of(SHARED_PAGE).read_volatile() } == 0 {
        syscall::sleep(1_000);
    }
    syscall::revoke(worker, ResourceKind::Block, 2, 1_000_000).map_err(|_| "revoke blocks")?;
    // The worker may already have read its vector and ended (NoSuchEnvironment).
    let query = syscall::revocation_query(worker, ResourceKind::Block);
    if !matches!(query, Err(Error::NotFound | Error::NoSuchEnvironment)) {
        return Err("the blocks of an environment that cannot be asked were not taken");
    }
    match syscall::wait(worker) {
        Ok(ExitReason::Exited(0)) => Ok(()),
        _ => Err("the revocation worker's vector does not match what was taken"),
    }
}

fn persist_write() -> Check {
    if syscall::block_credential(&CREDENTIAL) != Ok(true) {
        return Err("the credential is not new on a fresh disk");
    }
    bind_pages(0, 2 * TRANSFER_BLOCKS).map_err(|_| "binding pages")?;
    let blocks = write_and_read_back()?;
    println!(
        "{NAME}: wrote blocks {} to {}",
        blocks[0],
        blocks[blocks.len() - 1]
    );
    Ok(())
}

fn persist_read() -> Check {
    if syscall::block_credential(&CREDENTIAL) != Ok(false) {
        return Err("the credential was forgotten across the reboot");
    }
    bind_pages(0, TRANSFER_BLOCKS).map_err(|_| "binding pages")?;
    let first = syscall::block_allocate(None).map_err(|_| "block_allocate")?;
    // The blocks written before the reboot are the lowest data blocks, still owned: the first
    // free one comes after them.
    let blocks: [u64; TRANSFER_BLOCKS as usize] =
        core::array::from_fn(|index| first - TRANSFER_BLOCKS + index as u64);
    syscall::block_read(&transfers(&blocks, 0)).map_err(|_| "reading the kept blocks")?;
    let is_same = blocks
        .iter()
        .enumerate()
        .all(|(index, &block)| holds(index as u64, block));
    if !is_same {
        return Err("the kept blocks lost their data");
    }
    println!(
        "{NAME}: blocks {} to {} came back with their data",
        blocks[0],
        blocks[blocks.len() - 1]
    );
    Ok(())
}

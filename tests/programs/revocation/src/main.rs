//! Visible revocation and the abort protocol seen from user mode.
//!
//! - `revocation polite`: the worker is asked for 10 frames and frees 10 of its own choice
//!   before the deadline; nothing is repossessed.
//! - `revocation ignore`: the worker ignores a request for 10 frames and one for its 2 slots;
//!   at the deadline the kernel takes them, the repossessed pages are unbound, and the worker
//!   reads each one in its repossession vector. A request for far more frames than it has
//!   leaves it its guaranteed minimum: it runs on and exits normally.
//! - `revocation unreachable`: the worker never enabled the upcall, so it cannot be asked; the
//!   abort runs at once and the vector says why.
//! - `revocation evasive`: the worker answers a request for 10 frames by granting 10 of its
//!   frames to itself; nothing came back, so the request stays owed in full and the abort takes
//!   them at the deadline.
//!
//! The worker is this program spawned with the argument `worker MODE`. Exits 0 when every check
//! passed.
#![no_std]
#![no_main]

use core::time::Duration;
use exo_abi::PageRights;
use exo_abi::repossession::{self, Reason, ResourceKind};
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, ExceptionFrame, upcall};
use libos_posix::shared_words::SharedWords;
use libos_posix::syscall::Capability;
use libos_posix::{ExitReason, exceptions, println, syscall};
use test_support::checks;
use test_support::waiting::{wait_for_page, wait_until};

libos_posix::main!(main);

const NAME: &str = "revocation";
const PAGE_SIZE: u64 = 4096;
/// Where the parent binds the page it shares with its worker.
const PAGE: u64 = 0x5000_0000_0000;
/// Where the shared page appears in the worker.
const WORKER_PAGE: u64 = 0x5100_0000_0000;
/// The worker's repossession vector.
const VECTOR: u64 = 0x5200_0000_0000;
/// Where the worker binds its extra frames, one page each.
const EXTRA_PAGES: u64 = 0x6000_0000_0000;
/// Frames the worker takes beyond what the loader gave it.
const EXTRA_FRAMES: u64 = 100;
/// Frames asked back by the first request.
const ASKED_FRAMES: u64 = 10;

/// Words of the shared page.
const STOP: u64 = 0;
const READY: u64 = 1;
const FREED: u64 = 2;
const REPOSSESSED_FRAMES: u64 = 3;
const REPOSSESSED_SLOTS: u64 = 4;
const LAST_REASON: u64 = 5;
const CHECK_FAILED: u64 = 6;
const LAST_SEEN_SEQUENCE: u64 = 7;
/// Where the worker lists its extra frames, oldest first; a freed one reads 0.
const FRAME_LIST: u64 = 64;

/// The shared page as the parent binds it.
// SAFETY: the parent binds PAGE writable before it touches a word of it.
const PARENT_WORDS: SharedWords = unsafe { SharedWords::new(PAGE) };
/// The shared page as a worker sees it.
// SAFETY: a worker touches no word of it before `page_query` finds WORKER_PAGE bound, and the
// parent shares it writable.
const WORKER_WORDS: SharedWords = unsafe { SharedWords::new(WORKER_PAGE) };

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    let outcome = match (words.next(), words.next()) {
        (Some("worker"), Some(mode)) => return worker(mode),
        (Some("polite"), None) => polite(),
        (Some("ignore"), None) => ignore(),
        (Some("unreachable"), None) => unreachable(),
        (Some("evasive"), None) => evasive(),
        _ => Err("usage: revocation polite|ignore|unreachable|evasive"),
    };
    checks::report(NAME, outcome)
}

// The worker.

fn worker(mode: &str) -> i32 {
    wait_for_page(WORKER_PAGE);
    if take_frames().is_err() {
        return 2;
    }
    let Ok(vector_frame) = syscall::frame_allocate(None) else {
        return 3;
    };
    let registered = syscall::page_map(VECTOR, vector_frame, PageRights::WRITABLE)
        .and_then(|()| syscall::set_repossession_vector(VECTOR));
    if registered.is_err() {
        return 4;
    }
    let handler: exceptions::Handler = match mode {
        "polite" => give_back_oldest,
        "evasive" => move_instead_of_freeing,
        "ignore" => ignore_requests,
        "unreachable" => ignore_requests,
        _ => return 5,
    };
    if mode != "unreachable" {
        let enabled = exceptions::set_handler(handler).and_then(|()| {
            syscall::set_upcalls(Upcalls::REVOCATION_REQUEST | Upcalls::REPOSSESSED)
        });
        if enabled.is_err() {
            return 6;
        }
    }
    if mode == "ignore" && (0..2).any(|_| syscall::slice_allocate(None).is_err()) {
        return 7;
    }
    WORKER_WORDS.write(READY, 1);
    while WORKER_WORDS.read(STOP) == 0 {
        syscall::sleep(1_000);
    }
    if mode == "unreachable" {
        read_vector();
    }
    0
}

/// Takes the extra frames, binds each and lists it in the shared page.
fn take_frames() -> Result<(), Error> {
    for index in 0..EXTRA_FRAMES {
        let frame = syscall::frame_allocate(None)?;
        syscall::page_map(EXTRA_PAGES + index * PAGE_SIZE, frame, PageRights::WRITABLE)?;
        WORKER_WORDS.write(FRAME_LIST + index, frame);
    }
    Ok(())
}

/// Complies: frees the oldest extra frames it still has (its own choice), as many as asked.
fn give_back_oldest(frame: &mut ExceptionFrame) -> bool {
    match frame.vector {
        upcall::REVOCATION_REQUEST if frame.error_code == ResourceKind::Frame.code() => {
            let mut owed = frame.fault_address;
            for index in 0..EXTRA_FRAMES {
                let listed = WORKER_WORDS.read(FRAME_LIST + index);
                if owed == 0 {
                    break;
                }
                if listed != 0 && syscall::frame_free(listed).is_ok() {
                    WORKER_WORDS.write(FRAME_LIST + index, 0);
                    WORKER_WORDS.increment(FREED);
                    owed -= 1;
                }
            }
            true
        }
        upcall::REPOSSESSED => {
            read_vector();
            true
        }
        _ => false,
    }
}

/// Pretends to comply: grants as many of its frames as asked to itself, which changes
/// ownership records but gives nothing back; counts them in FREED.
fn move_instead_of_freeing(frame: &mut ExceptionFrame) -> bool {
    match frame.vector {
        upcall::REVOCATION_REQUEST if frame.error_code == ResourceKind::Frame.code() => {
            for index in 0..frame.fault_address.min(EXTRA_FRAMES) {
                let listed = WORKER_WORDS.read(FRAME_LIST + index);
                if syscall::frame_grant(listed, Capability::SELF).is_ok() {
                    WORKER_WORDS.increment(FREED);
                }
            }
            true
        }
        upcall::REPOSSESSED => {
            read_vector();
            true
        }
        _ => false,
    }
}

/// Does not comply; learns from the vector what was taken.
fn ignore_requests(frame: &mut ExceptionFrame) -> bool {
    match frame.vector {
        upcall::REVOCATION_REQUEST => true,
        upcall::REPOSSESSED => {
            read_vector();
            true
        }
        _ => false,
    }
}

/// Counts the new records of the vector and checks that each repossessed resource is really
/// gone: a frame is no longer bound where the worker had it, a slot is no longer its own.
fn read_vector() {
    // SAFETY: the vector page is bound at VECTOR (registered above) and spans one page.
    let page = unsafe { &*(VECTOR as *const [u8; repossession::PAGE_BYTES]) };
    let copy = *page;
    let Ok(unread) = repossession::unread(&copy, WORKER_WORDS.read(LAST_SEEN_SEQUENCE)) else {
        WORKER_WORDS.write(CHECK_FAILED, 1);
        return;
    };
    WORKER_WORDS.write(LAST_SEEN_SEQUENCE, unread.newest_sequence);
    for record in unread {
        WORKER_WORDS.write(LAST_REASON, record.reason_code);
        let is_gone = match record.kind() {
            Some(ResourceKind::Frame) => {
                WORKER_WORDS.increment(REPOSSESSED_FRAMES);
                !frame_is_still_bound(record.name)
            }
            Some(ResourceKind::Slot) => {
                WORKER_WORDS.increment(REPOSSESSED_SLOTS);
                syscall::slice_free(record.name) == Err(Error::PermissionDenied)
            }
            _ => false,
        };
        if !is_gone {
            WORKER_WORDS.write(CHECK_FAILED, 1);
        }
    }
}

/// Whether `frame`, one of the extra frames, is still bound at its page.
fn frame_is_still_bound(frame: u64) -> bool {
    (0..EXTRA_FRAMES).any(|index| {
        WORKER_WORDS.read(FRAME_LIST + index) == frame
            && syscall::page_query(EXTRA_PAGES + index * PAGE_SIZE).is_ok()
    })
}

// The parent.

/// Spawns the worker in `mode`, shares the page with it and waits until it is ready.
fn start_worker(mode: &str) -> Result<Capability, &'static str> {
    let frame = syscall::frame_allocate(None).map_err(|_| "frame_allocate")?;
    syscall::page_map(PAGE, frame, PageRights::WRITABLE).map_err(|_| "page_map")?;
    let mut args = [0u8; 32];
    let args = worker_args(&mut args, mode);
    let worker = syscall::spawn(NAME, args).map_err(|_| "spawn worker")?;
    syscall::page_share(PAGE, worker, WORKER_PAGE, PageRights::WRITABLE)
        .map_err(|_| "page_share")?;
    wait_for_worker(|| PARENT_WORDS.read(READY) == 1)?;
    Ok(worker)
}

fn worker_args<'a>(buffer: &'a mut [u8; 32], mode: &str) -> &'a str {
    let prefix = b"worker ";
    buffer[..prefix.len()].copy_from_slice(prefix);
    buffer[prefix.len()..prefix.len() + mode.len()].copy_from_slice(mode.as_bytes());
    core::str::from_utf8(&buffer[..prefix.len() + mode.len()]).unwrap_or("")
}

/// Waits until `condition` holds, for at most 5 s.
fn wait_for_worker(condition: impl Fn() -> bool) -> Result<(), &'static str> {
    wait_until(Duration::from_secs(5), condition)
        .then_some(())
        .ok_or("timed out waiting for the worker")
}

fn stop_worker(worker: Capability) -> Result<(), &'static str> {
    PARENT_WORDS.write(STOP, 1);
    match syscall::wait(worker) {
        Ok(ExitReason::Exited(0)) => Ok(()),
        _ => Err("the worker did not exit normally"),
    }
}

fn request_is_over(worker: Capability, kind: ResourceKind) -> bool {
    syscall::revocation_query(worker, kind) == Err(Error::NotFound)
}

fn polite() -> Result<(), &'static str> {
    let worker = start_worker("polite")?;
    syscall::revoke(worker, ResourceKind::Frame, ASKED_FRAMES, 5_000_000).map_err(|_| "revoke")?;
    wait_for_worker(|| request_is_over(worker, ResourceKind::Frame))?;
    // The request is over at the worker's last free, which may come just before the worker
    // counts it.
    wait_for_worker(|| PARENT_WORDS.read(FREED) >= ASKED_FRAMES)?;
    let (freed, repossessed) = (
        PARENT_WORDS.read(FREED),
        PARENT_WORDS.read(REPOSSESSED_FRAMES),
    );
    println!("{NAME}: polite worker freed {freed} frames, {repossessed} repossessed");
    if freed != ASKED_FRAMES || repossessed != 0 {
        return Err("a cooperative revocation took frames by force");
    }
    stop_worker(worker)
}

fn ignore() -> Result<(), &'static str> {
    let worker = start_worker("ignore")?;
    syscall::revoke(worker, ResourceKind::Frame, ASKED_FRAMES, 20_000).map_err(|_| "revoke")?;
    syscall::revoke(worker, ResourceKind::Slot, 2, 20_000).map_err(|_| "revoke slots")?;
    if syscall::revoke(worker, ResourceKind::Slot, 1, 20_000) != Err(Error::Occupied) {
        return Err("a second request of one kind was not refused");
    }
    wait_for_worker(|| request_is_over(worker, ResourceKind::Frame))?;
    wait_for_worker(|| PARENT_WORDS.read(REPOSSESSED_FRAMES) == ASKED_FRAMES)?;
    wait_for_worker(|| PARENT_WORDS.read(REPOSSESSED_SLOTS) == 2)?;
    if PARENT_WORDS.read(LAST_REASON) != Reason::DeadlineMissed.code()
        || PARENT_WORDS.read(CHECK_FAILED) != 0
    {
        return Err("the repossession vector does not match what was taken");
    }
    println!("{NAME}: ignoring worker lost {ASKED_FRAMES} frames and 2 slots by force");
    let free_before = syscall::free_frames();
    syscall::revoke(worker, ResourceKind::Frame, 1 << 40, 20_000).map_err(|_| "revoke all")?;
    wait_for_worker(|| request_is_over(worker, ResourceKind::Frame))?;
    wait_for_worker(|| PARENT_WORDS.read(REPOSSESSED_FRAMES) > ASKED_FRAMES)?;
    let taken = syscall::free_frames() - free_before;
    println!("{NAME}: a request for every frame took {taken}; the worker keeps its minimum");
    if PARENT_WORDS.read(CHECK_FAILED) != 0 || taken == 0 {
        return Err("the abort did not take what the vector says");
    }
    stop_worker(worker)
}

fn unreachable() -> Result<(), &'static str> {
    let worker = start_worker("unreachable")?;
    syscall::revoke(worker, ResourceKind::Frame, 5, 5_000_000).map_err(|_| "revoke")?;
    if !request_is_over(worker, ResourceKind::Frame) {
        return Err("an environment that cannot be asked still owes");
    }
    stop_worker(worker)?;
    let repossessed = PARENT_WORDS.read(REPOSSESSED_FRAMES);
    if repossessed != 5 || PARENT_WORDS.read(LAST_REASON) != Reason::Unreachable.code() {
        return Err("the vector does not say the worker could not be asked");
    }
    println!("{NAME}: unreachable worker lost {repossessed} frames at once");
    Ok(())
}

fn evasive() -> Result<(), &'static str> {
    let worker = start_worker("evasive")?;
    let free_before = syscall::free_frames();
    syscall::revoke(worker, ResourceKind::Frame, ASKED_FRAMES, 200_000).map_err(|_| "revoke")?;
    wait_for_worker(|| PARENT_WORDS.read(FREED) >= ASKED_FRAMES)?;
    let owed = syscall::revocation_query(worker, ResourceKind::Frame);
    if owed != Ok(ASKED_FRAMES) {
        return Err("frames granted to itself counted as given back");
    }
    wait_for_worker(|| request_is_over(worker, ResourceKind::Frame))?;
    wait_for_worker(|| PARENT_WORDS.read(REPOSSESSED_FRAMES) == ASKED_FRAMES)?;
    let returned = syscall::free_frames() - free_before;
    println!(
        "{NAME}: evasive worker moved {} frames to itself, still owed {ASKED_FRAMES}, lost {} by force; {returned} came back",
        PARENT_WORDS.read(FREED),
        PARENT_WORDS.read(REPOSSESSED_FRAMES)
    );
    if returned != ASKED_FRAMES {
        return Err("the free pool did not get the frames back");
    }
    stop_worker(worker)
}

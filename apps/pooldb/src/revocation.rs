//! What a revocation costs the database: the program spawns itself as a victim with the
//! database warm in its pool, asks the kernel to take a quarter of the pool's frames back
//! (`Revoke`), and the victim counts the blocks it reads after. Two victims are not revoked:
//! one with the whole pool, and one whose pool had three quarters of the frames all along; the
//! misses a revoked victim makes beyond the latter's are the hits it lost to the revocation
//! itself (which frames went, and how), rather than to having less memory after it. A
//! cooperative victim answers the revocation request upcall by giving back its coldest clean
//! frames (`BufferPool::give_back`); an ignoring one lets the deadline pass, and the abort
//! protocol takes its newest frames, whatever they hold (the victim learns which from its
//! repossession vector and forgets them, `BufferPool::lose`).
//!
//! The victim's frames for the pool are the newest it acquires (the heap is grown before they
//! are bound), so that what the abort protocol takes first is pool memory.

use crate::owned_pool::{self, OwnedBlocks};
use crate::{Lent, NAME, POOL_FRAMES, SEED, sizes};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use exo_abi::PageRights;
use exo_abi::repossession::{self, ResourceKind};
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, ExceptionFrame, upcall};
use libos_custom::block_device::Block;
use libos_custom::btree::BTree;
use libos_custom::memory::workload::{Random, Scramble, Zipf, value_for_key};
use libos_custom::memory::{BufferPool, PoolPages, TwoQueue};
use libos_posix::syscall::{self, Capability, Kernel};
use libos_posix::{bare, exceptions, println};

/// Frames the revocation asks for: a quarter of the pool.
pub const REVOKED_FRAMES: u64 = POOL_FRAMES as u64 / 4;
/// The data-to-pool ratio of the experiment.
const RATIO: u64 = 8;
/// Point reads before the revocation (warming the pool) and after it (counted).
const READS_BEFORE: u64 = 5_000;
const READS_AFTER: u64 = 5_000;
/// The page the parent shares with its victim: the victim's state word.
const STATE_PAGE: u64 = 0x5100_0000_0000;
/// The victim's repossession vector.
const VECTOR_PAGE: u64 = 0x5100_0000_1000;
/// Where the victim binds the pool it runs with.
const RUN_POOL_ADDRESS: u64 = 0x6200_0000_0000;
/// Values of the state word.
const WARMING: u64 = 0;
const WARM: u64 = 1;
const GO_ON: u64 = 2;

/// How a victim treats a revocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Nothing is revoked: the baseline.
    Unrevoked,
    /// Nothing is revoked, and the pool had the frames a revocation leaves all along.
    Smaller,
    Cooperative,
    Ignoring,
}

impl Answer {
    pub fn name(self) -> &'static str {
        match self {
            Answer::Unrevoked => "unrevoked",
            Answer::Smaller => "smaller",
            Answer::Cooperative => "cooperative",
            Answer::Ignoring => "abort",
        }
    }

    pub fn named(name: &str) -> Option<Answer> {
        [
            Answer::Unrevoked,
            Answer::Smaller,
            Answer::Cooperative,
            Answer::Ignoring,
        ]
        .into_iter()
        .find(|answer| answer.name() == name)
    }
}

fn state() -> *mut u64 {
    STATE_PAGE as *mut u64
}

/// Runs a victim that answers as `answer`, revokes [`REVOKED_FRAMES`] of its frames once it is
/// warm (unless unrevoked) and waits for it; the victim prints its figures.
pub fn run(answer: Answer) -> Result<(), Error> {
    if syscall::page_query(STATE_PAGE).is_err() {
        let frame = syscall::frame_allocate(None)?;
        syscall::page_map(STATE_PAGE, frame, PageRights::WRITABLE)?;
    }
    // SAFETY: STATE_PAGE is bound writable in this environment (just above).
    unsafe { state().write_volatile(WARMING) };
    let arguments = alloc::format!("victim {}", answer.name());
    let victim = bare::spawn(NAME, &arguments).map_err(|_| Error::Unavailable)?;
    syscall::page_share(STATE_PAGE, victim, STATE_PAGE, PageRights::WRITABLE)?;
    let (victim_id, _) = syscall::capability_inspect(victim)?;
    // SAFETY: as above, for every access to the state word below.
    while unsafe { state().read_volatile() } == WARMING {
        if syscall::yield_to(victim_id).is_err() {
            break;
        }
    }
    if !matches!(answer, Answer::Unrevoked | Answer::Smaller) {
        revoke(victim, victim_id, answer)?;
    }
    // SAFETY: as above.
    unsafe { state().write_volatile(GO_ON) };
    match syscall::wait(victim)? {
        exo_abi::ExitReason::Exited(0) => Ok(()),
        _ => Err(Error::Unavailable),
    }
}

fn revoke(victim: Capability, victim_id: u32, answer: Answer) -> Result<(), Error> {
    // A cooperative victim has a second; the ignoring one's deadline passes at once.
    let deadline_microseconds = if answer == Answer::Cooperative {
        1_000_000
    } else {
        1
    };
    syscall::revoke(
        victim,
        ResourceKind::Frame,
        REVOKED_FRAMES,
        deadline_microseconds,
    )?;
    // Over when the kernel has no request left (or the victim has ended).
    while syscall::revocation_query(victim, ResourceKind::Frame).is_ok() {
        let _ = syscall::yield_to(victim_id);
    }
    Ok(())
}

/// Frames the kernel asked for and the victim has not given back yet.
static REQUESTED: AtomicU64 = AtomicU64::new(0);
/// Whether the victim answers requests (a cooperative one).
static ANSWERS: AtomicBool = AtomicBool::new(false);
/// The frame behind each slot of the running pool.
static SLOT_FRAMES: [AtomicU64; POOL_FRAMES] = [const { AtomicU64::new(0) }; POOL_FRAMES];

fn on_upcall(frame: &mut ExceptionFrame) -> bool {
    match frame.vector {
        upcall::REVOCATION_REQUEST => {
            if ANSWERS.load(Ordering::Relaxed) {
                REQUESTED.fetch_add(frame.fault_address, Ordering::Relaxed);
            }
            true
        }
        upcall::REPOSSESSED => true,
        _ => false,
    }
}

/// The victim: builds the tree, warms its pool, then waits for the parent while answering the
/// kernel as `answer` says, and counts the blocks its next point reads read.
pub fn victim(answer: Answer) -> Result<(), &'static str> {
    ANSWERS.store(answer == Answer::Cooperative, Ordering::Relaxed);
    let (pages, keys) = sizes(RATIO);
    owned_pool::with_blocks(pages, |blocks| {
        blocks.with_pool(TwoQueue::new(), pages, |store| {
            BTree::bulk_load(
                Lent(store),
                Default::default(),
                100,
                libos_custom::memory::workload::sequential_pairs(keys),
            )
            .map(|_| ())
            .map_err(|_| "cannot build the tree")?;
            store
                .pool_mut()
                .flush()
                .map_err(|_| "cannot write the tree")
        })?;
        run_victim(blocks, answer, pages, keys)
    })
}

fn run_victim(
    blocks: &mut OwnedBlocks,
    answer: Answer,
    pages: u64,
    keys: u64,
) -> Result<(), &'static str> {
    let zipf = Zipf::new(keys as usize);
    let scramble = Scramble::new(keys);
    let mut random = Random::new(SEED);
    // Grown now, so that the run allocates from memory the heap holds and the newest frames
    // are the pool's.
    drop(Vec::<u8>::with_capacity(1 << 20));
    let bound_vector = syscall::frame_allocate(None)
        .and_then(|frame| syscall::page_map(VECTOR_PAGE, frame, PageRights::WRITABLE))
        .and_then(|()| syscall::set_repossession_vector(VECTOR_PAGE))
        .and_then(|()| exceptions::set_handler(on_upcall))
        .and_then(|()| syscall::set_upcalls(Upcalls::REVOCATION_REQUEST | Upcalls::REPOSSESSED));
    bound_vector.map_err(|_| "cannot register for revocations")?;
    let mut frames = bind_run_frames()?;
    if answer == Answer::Smaller {
        frames = frames.split_at_mut(POOL_FRAMES - REVOKED_FRAMES as usize).0;
    }
    let device = blocks.take_device().ok_or("the blocks are in use")?;
    let pool = BufferPool::new(device, TwoQueue::new(), frames);
    let mut tree =
        BTree::open(PoolPages::new(pool, 0, pages)).map_err(|_| "cannot open the tree")?;
    let mut read = |tree: &mut BTree<_>, count: u64| -> Result<(), &'static str> {
        for _ in 0..count {
            let rank = zipf.sample(&mut random).ok_or("no keys")?;
            let key = scramble.apply(rank);
            if tree.get(key).map_err(|_| "a read failed")? != Some(value_for_key(key)) {
                return Err("a read found the wrong value");
            }
        }
        Ok(())
    };
    read(&mut tree, READS_BEFORE)?;
    // The parent shares the state page right after spawning this program.
    while syscall::page_query(STATE_PAGE).is_err() {
        syscall::yield_now();
    }
    // SAFETY: STATE_PAGE is bound writable (checked just above); the parent writes it too,
    // one word, read and written whole.
    unsafe { state().write_volatile(WARM) };
    let mut last_seen = 0;
    // SAFETY: as above.
    while unsafe { state().read_volatile() } != GO_ON {
        give_back_requested(tree.store_mut().pool_mut())?;
        forget_repossessed(tree.store_mut().pool_mut(), &mut last_seen);
        syscall::yield_now();
    }
    give_back_requested(tree.store_mut().pool_mut())?;
    forget_repossessed(tree.store_mut().pool_mut(), &mut last_seen);
    let before = tree.store().pool().stats().blocks_read;
    read(&mut tree, READS_AFTER)?;
    let blocks_read = tree.store().pool().stats().blocks_read - before;
    println!(
        "C1.custom revocation_{}_blocks_read_after {} per_1000_reads",
        answer.name(),
        blocks_read * 1000 / READS_AFTER
    );
    println!(
        "C1.custom revocation_{}_blocks_read_by_{READS_AFTER}_reads {blocks_read} blocks",
        answer.name()
    );
    println!(
        "C1.custom revocation_{}_frames_left {} frames",
        answer.name(),
        tree.store().pool().usable_slot_count()
    );
    let pool = tree.into_store().into_pool();
    let (device, _, _) = pool.into_parts();
    blocks.put_device(device);
    Ok(())
}

/// Binds the running pool's frames, the newest this program acquires, and records each.
fn bind_run_frames() -> Result<&'static mut [Block], &'static str> {
    for (index, slot_frame) in SLOT_FRAMES.iter().enumerate() {
        let frame = syscall::frame_allocate(None).map_err(|_| "cannot allocate the pool")?;
        syscall::page_map(
            RUN_POOL_ADDRESS + index as u64 * 4096,
            frame,
            PageRights::WRITABLE,
        )
        .map_err(|_| "cannot bind the pool")?;
        slot_frame.store(frame, Ordering::Relaxed);
    }
    // SAFETY: the pages from RUN_POOL_ADDRESS on are bound writable to frames this program
    // owns, page-aligned, and reached through this slice alone; a page the kernel takes back is
    // never touched again (the pool forgets its slot before the next access).
    Ok(unsafe { core::slice::from_raw_parts_mut(RUN_POOL_ADDRESS as *mut Block, POOL_FRAMES) })
}

type RunPool =
    BufferPool<libos_custom::kernel_blocks::KernelBlocks<Kernel>, TwoQueue, &'static mut [Block]>;

/// Gives back as many of the coldest frames as the kernel asked for, freeing each.
fn give_back_requested(pool: &mut RunPool) -> Result<(), &'static str> {
    let requested = REQUESTED.swap(0, Ordering::Relaxed);
    if requested == 0 {
        return Ok(());
    }
    let slots = pool
        .give_back(requested as usize)
        .map_err(|_| "cannot give frames back")?;
    for slot in slots {
        let frame = SLOT_FRAMES[slot].load(Ordering::Relaxed);
        syscall::frame_free(frame).map_err(|_| "cannot free a frame")?;
    }
    Ok(())
}

/// Forgets the slots whose frames the kernel took, as the repossession vector tells.
fn forget_repossessed(pool: &mut RunPool, last_seen: &mut u64) {
    // SAFETY: VECTOR_PAGE is bound to a frame of this program's (registered above); the
    // kernel may append while it is copied, which `unread` detects.
    let page: [u8; repossession::PAGE_BYTES] =
        unsafe { (VECTOR_PAGE as *const [u8; repossession::PAGE_BYTES]).read_volatile() };
    let Ok(unread) = repossession::unread(&page, *last_seen) else {
        return;
    };
    let newest = unread.newest_sequence;
    let taken: Vec<usize> = unread
        .filter(|record| record.kind_code == ResourceKind::Frame.code())
        .filter_map(|record| {
            SLOT_FRAMES
                .iter()
                .position(|frame| frame.load(Ordering::Relaxed) == record.name)
        })
        .collect();
    *last_seen = newest;
    pool.lose(&taken);
}

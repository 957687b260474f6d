//! Hostile: the attacks on the protection rules that no single bad argument makes. Each runs in
//! a child (this program spawned with the attack's name), so an attack that works harms the
//! parent, which checks:
//!
//! - `pushes`: a child copies capabilities and grants frames into its parent through `PARENT`,
//!   to fill its capability table and memory; every one is refused (no consent).
//! - `tree`: a child builds a subtree (unstarted environments holding frames, a sleeping
//!   grandchild) and exits; the subtree ends with it and every frame comes back.
//! - `tree-kill`: the same subtree, its root killed by the parent.
//! - `ancestor-kill`: a grandchild given `CONTROL` over its parent kills it, and so ends with
//!   it.
//! - `hog`: a child takes every slot it can and spins without an epilogue; it gets at most
//!   `OWNED_SLOTS_MAX` and the parent, which owns none, still runs and kills it.
//! - `ldt`: a child loads a selector of the local descriptor table, which must fault.
//! - `edge-syscall`, `edge-call`, `edge-reply`: a child runs `syscall` in the last two bytes of
//!   the user half, so that the return address is past it, as a null call and as an endpoint
//!   call and reply (whose entry saves the registers in place and tries the transfer's fast
//!   path first); each must fault in user mode.
//! - the null page cannot be bound;
//! - a revocation of `u64::MAX` frames takes what it may and nothing more.
//!
//! `rings`, run as init (it injects packets): a receive ring whose header words hold
//! `u64::MAX` takes a frame and a drop with the counters wrapping, not the kernel down; frames
//! from unmapped memory, the kernel half, or of a length Ethernet does not have are refused,
//! and the frames after them delivered whole, a short one with none of a long one's bytes.
//!
//! Exits 0 when every check passed.
#![no_std]
#![no_main]

use exo_abi::PageRights;
use exo_abi::Syscall;
use exo_abi::capability::Rights;
use exo_abi::decode_result;
use exo_abi::packet::{CONSUMED, DROPPED, PRODUCED};
use exo_abi::repossession::ResourceKind;
use exo_abi::slice::OWNED_SLOTS_MAX;
use libos_custom::filter::Predicate;
use libos_posix::net::ReceiveRing;
use libos_posix::shared_words::SharedWords;
use libos_posix::syscall::Capability;
use libos_posix::{Error, ExitReason, println, syscall};
use test_support::checks::Checker;
use test_support::waiting::wait_for_page;

libos_posix::main!(main);

const NAME: &str = "hostile-protection";
/// Where the parent binds the page it shares with a child.
const PAGE: u64 = 0x5000_0000_0000;
/// Where a child sees it.
const CHILD_PAGE: u64 = 0x5100_0000_0000;
/// Words of the shared page.
const READY: u64 = 0;
const SLOTS_OWNED: u64 = 1;
/// Frames each unstarted environment of a subtree is given.
const FRAMES_PER_UNSTARTED: u64 = 8;
/// The last page of the user half.
const LAST_USER_PAGE: u64 = exo_abi::USER_END - 4096;
/// Where the receive ring goes.
const RING: u64 = 0x5400_0000_0000;

// SAFETY: the parent binds PAGE writable before it touches a word of it.
const PARENT_WORDS: SharedWords = unsafe { SharedWords::new(PAGE) };
// SAFETY: a child touches no word of it before `page_query` finds CHILD_PAGE bound, and the
// parent shares it writable.
const CHILD_WORDS: SharedWords = unsafe { SharedWords::new(CHILD_PAGE) };

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "" => parent(),
        "rings" => rings(),
        "pushes" => pushes(),
        "tree" => tree(false),
        "tree-kill" => tree(true),
        "hog" => hog(),
        "ancestor-kill" => give_control_to_child(),
        "ancestor-killer" => kill_parent(),
        "ldt" => load_ldt_selector(),
        "edge-syscall" => edge_syscall(Syscall::Null),
        "edge-call" => edge_syscall(Syscall::EndpointCall),
        "edge-reply" => edge_syscall(Syscall::EndpointReplyAndWait),
        "quit" => 0,
        "sleeper" => loop {
            syscall::sleep(1_000_000);
        },
        _ => 2,
    }
}

fn parent() -> i32 {
    let mut check = Checker::new(NAME);
    let Ok(frame) = syscall::frame_allocate(None) else {
        return 3;
    };
    if syscall::page_map(PAGE, frame, PageRights::WRITABLE).is_err() {
        return 3;
    }
    let free_before = syscall::free_frames();
    check.expect(
        "pushes into the parent",
        run_child("pushes"),
        Ok(ExitReason::Exited(0)),
    );
    check.expect(
        "the parent can still hold children",
        (0..200).try_for_each(|_| spawn_and_reap("quit")),
        Ok(()),
    );
    check.expect(
        "frames back after pushes",
        syscall::free_frames(),
        free_before,
    );
    check.expect(
        "subtree of an exited root",
        run_child("tree"),
        Ok(ExitReason::Exited(0)),
    );
    check.expect(
        "frames back after the subtree",
        syscall::free_frames(),
        free_before,
    );
    check.expect(
        "subtree of a killed root",
        run_child("tree-kill"),
        Ok(ExitReason::Killed),
    );
    check.expect(
        "frames back after the kill",
        syscall::free_frames(),
        free_before,
    );
    check.expect(
        "killed by its child",
        run_child("ancestor-kill"),
        Ok(ExitReason::Killed),
    );
    check.expect(
        "frames back after that",
        syscall::free_frames(),
        free_before,
    );
    check.expect("slot hog", run_child("hog"), Ok(ExitReason::Killed));
    check.expect(
        "slots the hog got",
        PARENT_WORDS.read(SLOTS_OWNED),
        OWNED_SLOTS_MAX,
    );
    check.expect(
        "LDT selector",
        run_child("ldt"),
        Ok(ExitReason::Faulted(13)),
    );
    for (what, mode) in [
        ("syscall at the end of the user half", "edge-syscall"),
        ("endpoint call at the end of the user half", "edge-call"),
        ("endpoint reply at the end of the user half", "edge-reply"),
    ] {
        check.expect(what, run_child(mode), Ok(ExitReason::Faulted(13)));
    }
    check.expect(
        "bind the null page",
        syscall::page_map(0, frame, PageRights::empty()),
        Err(Error::BadAddress),
    );
    check.expect(
        "revoke u64::MAX frames",
        revoke_everything(),
        Ok(ExitReason::Killed),
    );
    check.expect(
        "frames back at the end",
        syscall::free_frames(),
        free_before,
    );
    check.report()
}

/// Asks a child that cannot be asked (no upcalls) for `u64::MAX` frames: the abort runs at once
/// and takes what it can; then kills the child.
fn revoke_everything() -> Result<ExitReason, Error> {
    let child = syscall::spawn(NAME, "sleeper")?;
    syscall::revoke(child, ResourceKind::Frame, u64::MAX, 1_000)?;
    syscall::kill_environment(child, 0)?;
    syscall::wait(child)
}

/// Spawns this program with `args`, which fails at once on an unknown mode.
fn spawn_and_reap(args: &str) -> Result<(), Error> {
    let child = syscall::spawn(NAME, args)?;
    syscall::wait(child).map(|_| ())
}

/// Runs attack `mode` in a child (which sees the shared page when it needs it); the parent
/// kills it once it says it is ready, when the attack waits to be killed.
fn run_child(mode: &'static str) -> Result<ExitReason, Error> {
    PARENT_WORDS.write(READY, 0);
    let child = syscall::spawn(NAME, mode)?;
    if matches!(mode, "tree" | "tree-kill" | "hog") {
        syscall::page_share(PAGE, child, CHILD_PAGE, PageRights::WRITABLE)?;
    }
    if matches!(mode, "tree-kill" | "hog") {
        while PARENT_WORDS.read(READY) == 0 {
            syscall::sleep(1_000);
        }
        if mode == "hog" {
            // Without best-effort slots this sleep would never end: the hog owns every slot.
            for _ in 0..20 {
                syscall::sleep(1_000);
            }
        }
        syscall::kill_environment(child, 0)?;
    }
    syscall::wait(child)
}

fn pushes() -> i32 {
    let mut accepted = 0;
    for _ in 0..300 {
        accepted += u32::from(
            syscall::capability_copy(Capability::SELF, Rights::GRANT, Capability::PARENT).is_ok(),
        );
    }
    for _ in 0..100 {
        let Ok(frame) = syscall::frame_allocate(None) else {
            return 3;
        };
        accepted += u32::from(syscall::frame_grant(frame, Capability::PARENT).is_ok());
    }
    println!("{NAME}: {accepted} of 400 pushes into the parent accepted");
    if accepted == 0 { 0 } else { 1 }
}

/// Builds a subtree (three unstarted environments holding frames, a sleeping child), then
/// exits or waits to be killed.
fn tree(wait_to_be_killed: bool) -> i32 {
    wait_for_page(CHILD_PAGE);
    for _ in 0..3 {
        let Ok(unstarted) = syscall::create_environment("unstarted") else {
            return 3;
        };
        for _ in 0..FRAMES_PER_UNSTARTED {
            let granted = syscall::frame_allocate(None)
                .and_then(|frame| syscall::frame_grant(frame, unstarted));
            if granted.is_err() {
                return 4;
            }
        }
    }
    if syscall::spawn(NAME, "sleeper").is_err() {
        return 5;
    }
    CHILD_WORDS.write(READY, 1);
    if wait_to_be_killed {
        loop {
            syscall::sleep(1_000_000);
        }
    }
    0
}

/// Spawns a child, gives it `CONTROL` over this environment, and waits to be killed.
fn give_control_to_child() -> i32 {
    let given = syscall::spawn(NAME, "ancestor-killer")
        .and_then(|child| syscall::capability_copy(Capability::SELF, Rights::CONTROL, child));
    if given.is_err() {
        return 3;
    }
    loop {
        syscall::sleep(1_000_000);
    }
}

/// Kills its parent through the capability the parent copied into its table: the first copy a
/// table receives after `PARENT` lands in slot 1, generation 1.
fn kill_parent() -> i32 {
    let over_parent = Capability(1 << 32 | 1);
    while syscall::capability_inspect(over_parent).is_err() {
        syscall::yield_now();
    }
    let killed = syscall::kill_environment(over_parent, 0);
    println!("{NAME}: killing its parent returned {killed:?}");
    1
}

fn hog() -> i32 {
    wait_for_page(CHILD_PAGE);
    let mut owned = 0;
    while syscall::slice_allocate(None).is_ok() {
        owned += 1;
    }
    CHILD_WORDS.write(SLOTS_OWNED, owned);
    CHILD_WORDS.write(READY, 1);
    loop {
        core::hint::spin_loop();
    }
}

fn load_ldt_selector() -> i32 {
    // Index 0 of the local descriptor table (TI = 1), requested privilege level 3.
    let selector: u16 = 0b111;
    // SAFETY: deliberately faulting: with no local descriptor table the load raises a general
    // protection fault and the kernel ends this environment; `fs` is not used by this program.
    unsafe { core::arch::asm!("mov fs, {0:x}", in(reg) selector, options(nostack)) };
    1
}

fn edge_syscall(call: Syscall) -> i32 {
    let code_at = LAST_USER_PAGE + 4094;
    let bound = syscall::frame_allocate(None)
        .and_then(|frame| syscall::page_map(LAST_USER_PAGE, frame, PageRights::WRITABLE));
    if bound.is_err() {
        return 3;
    }
    // SAFETY: the page is bound writable just above; the two bytes are its last two.
    unsafe { (code_at as *mut [u8; 2]).write_volatile([0x0f, 0x05]) };
    if syscall::page_protect(LAST_USER_PAGE, PageRights::EXECUTABLE).is_err() {
        return 4;
    }
    // SAFETY: deliberately faulting, and never returning: the page's last two bytes hold a
    // `syscall` (written and made executable above), which returns to the first address past
    // the user half; the kernel refuses that with a general protection fault that ends this
    // environment (rax is the call; the others are whatever they hold).
    unsafe {
        core::arch::asm!("jmp {0}", in(reg) code_at, in("rax") call.number(), options(noreturn))
    }
}

/// Run as init: packets through a ring whose counters the library OS set to the edge.
fn rings() -> i32 {
    let mut check = Checker::new(NAME);
    let Ok(filter) = syscall::filter_load(&Predicate::new().to_wasm()) else {
        return 3;
    };
    let Ok(mut ring) = ReceiveRing::bind(filter, RING, 1) else {
        return 4;
    };
    let header = |word: usize| (RING as *mut u64).wrapping_add(word);
    let write = |word: usize, value: u64| {
        // SAFETY: the ring's header page is bound writable at RING (see `ReceiveRing::bind`).
        unsafe { header(word).write_volatile(value) }
    };
    // SAFETY: as above.
    let read = |word: usize| unsafe { header(word).read_volatile() };
    let packet = [0xffu8; 60];
    write(PRODUCED, u64::MAX);
    write(CONSUMED, u64::MAX);
    check.expect(
        "deliver at PRODUCED = u64::MAX",
        syscall::packet_inject(&packet),
        Ok(true),
    );
    check.expect("PRODUCED wrapped", read(PRODUCED), 0);
    let mut buffer = [0u8; 64];
    check.expect("the frame is there", ring.receive(&mut buffer), Some(60));
    write(CONSUMED, u64::MAX);
    write(DROPPED, u64::MAX);
    check.expect(
        "drop at DROPPED = u64::MAX",
        syscall::packet_inject(&packet),
        Ok(true),
    );
    check.expect("DROPPED wrapped", read(DROPPED), 0);
    // Frames the kernel refuses to copy in, then frames it takes: the buffer it copies them
    // into is the same for every call, and a refusal must leave it fit for the next.
    let inject = |address: u64, len: u64| {
        decode_result(syscall::raw(
            Syscall::PacketInject.number(),
            [address, len, 0, 0, 0, 0],
        ))
    };
    let long = [0xaau8; 1514];
    check.expect(
        "inject from unmapped memory",
        inject(RING + 0x10_0000, 60),
        Err(Error::BadAddress),
    );
    check.expect(
        "inject from the kernel half",
        inject(0xffff_8000_0000_0000, 60),
        Err(Error::BadAddress),
    );
    // The ring's two pages are mapped, the page after them not.
    check.expect(
        "inject a frame running off the ring's end",
        inject(RING + 2 * 4096 - 30, 60),
        Err(Error::BadAddress),
    );
    check.expect(
        "inject a frame longer than Ethernet's",
        inject(long.as_ptr() as u64, 1515),
        Err(Error::TooLong),
    );
    check.expect(
        "inject a frame shorter than its header",
        inject(long.as_ptr() as u64, 13),
        Err(Error::InvalidArgument),
    );
    write(CONSUMED, read(PRODUCED));
    check.expect(
        "a long frame after them",
        syscall::packet_inject(&long),
        Ok(true),
    );
    let mut received = [0u8; 1514];
    check.expect(
        "the long frame is there",
        ring.receive(&mut received),
        Some(1514),
    );
    check.expect(
        "all of it",
        received[..1514].iter().all(|&byte| byte == 0xaa),
        true,
    );
    let short = [0x11u8; 60];
    check.expect(
        "a short frame after it",
        syscall::packet_inject(&short),
        Ok(true),
    );
    check.expect(
        "the short frame is there",
        ring.receive(&mut received),
        Some(60),
    );
    check.expect(
        "with its own bytes, not the long one's",
        received[..60].iter().all(|&byte| byte == 0x11),
        true,
    );
    check.report()
}

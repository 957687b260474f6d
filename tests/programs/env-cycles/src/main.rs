//! Environment create/destroy cycles: `env-cycles CYCLES` makes and ends CYCLES environments in
//! every way there is (built by hand and run to its exit, killed running or unstarted, its
//! handle dropped before the kill, started at an unmapped address, spawned, spawned to use a
//! disk block), then checks that the free frame count, the room in its capability table
//! (`CAPABILITIES_MAX - 1`: it holds PARENT), the kernel heap charged to it and the disk's
//! lowest free block are exactly what they were. Exits 0 when every check passed.
#![no_std]
#![no_main]

use exo_abi::PageRights;
use exo_abi::capability::CAPABILITIES_MAX;
use exo_abi::{Error, ExitReason};
use libos_posix::println;
use libos_posix::syscall::{self, Capability};
use test_support::hand_built_child::{self, exit_with_status};

libos_posix::main!(main);

const NAME: &str = "env-cycles";
const PAGE: u64 = 4096;
/// The stack page of a child built by hand, in its address space.
const CHILD_STACK: u64 = 0x3400_0000_0000;
/// An address nothing is bound at in a child built by hand.
const UNMAPPED: u64 = 0x1000;
/// The owner of the blocks the parent and its block-using children allocate.
const CREDENTIAL: [u8; 16] = *b"env-cycles-owner";
/// Every this many cycles, one spawns a child that allocates and frees a disk block.
const BLOCK_CHILD_EVERY: u64 = 100;

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    let outcome = match (words.next(), words.next()) {
        (Some("block-user"), None) => use_a_block(),
        (Some(cycles), None) => match cycles.parse::<u64>() {
            Ok(cycles) => run(cycles),
            Err(_) => Err("CYCLES is a number"),
        },
        _ => Err("usage: env-cycles CYCLES"),
    };
    match outcome {
        Ok(()) => 0,
        Err(failure) => {
            println!("{NAME}: FAILED: {failure}");
            1
        }
    }
}

/// The child that binds the parent's credential, allocates a block, writes it and frees it.
fn use_a_block() -> Result<(), &'static str> {
    syscall::block_credential(&CREDENTIAL).map_err(|_| "binding the credential")?;
    let block = syscall::block_allocate(None).map_err(|_| "allocating a block")?;
    syscall::block_free(block).map_err(|_| "freeing the block")
}

/// What the cycles must leave as they found it.
#[derive(Debug, PartialEq)]
struct Resources {
    free_frames: u64,
    capability_room: usize,
    kernel_memory_bytes: u64,
    lowest_free_block: u64,
}

fn resources() -> Result<Resources, &'static str> {
    Ok(Resources {
        free_frames: syscall::free_frames(),
        capability_room: capability_room()?,
        kernel_memory_bytes: syscall::kernel_memory(Capability::SELF)
            .map_err(|_| "reading its kernel memory charge")?,
        lowest_free_block: lowest_free_block()?,
    })
}

/// How many more capabilities it can hold: fills its table with copies of SELF, then drops
/// them.
fn capability_room() -> Result<usize, &'static str> {
    let mut held = [0u64; CAPABILITIES_MAX];
    let mut count = 0;
    loop {
        let copy = syscall::capability_copy(
            Capability::SELF,
            exo_abi::capability::Rights::GRANT,
            Capability::SELF,
        );
        match copy {
            Ok(copy) if count < held.len() => {
                held[count] = copy.0;
                count += 1;
            }
            Ok(_) => return Err("more capabilities than CAPABILITIES_MAX"),
            Err(Error::NoMemory) => break,
            Err(_) => return Err("copying SELF into its own table"),
        }
    }
    for &handle in &held[..count] {
        syscall::capability_drop(Capability(handle)).map_err(|_| "dropping a copy of SELF")?;
    }
    Ok(count)
}

/// The block the disk would give next (allocated and freed again).
fn lowest_free_block() -> Result<u64, &'static str> {
    let block = syscall::block_allocate(None).map_err(|_| "allocating a block")?;
    syscall::block_free(block).map_err(|_| "freeing a block")?;
    Ok(block)
}

fn run(cycles: u64) -> Result<(), &'static str> {
    syscall::block_credential(&CREDENTIAL).map_err(|_| "binding the credential")?;
    let before = resources()?;
    if before.capability_room != CAPABILITIES_MAX - 1 {
        return Err("cannot hold CAPABILITIES_MAX - 1 capabilities at the start");
    }
    println!("{NAME}: {cycles} cycles from {before:?}");
    let step = (cycles / 10).max(1);
    for cycle in 0..cycles {
        one_cycle(cycle).map_err(|(what, error)| {
            println!("{NAME}: cycle {cycle}: {what}: {error:?}");
            "a cycle failed"
        })?;
        if (cycle + 1) % step == 0 {
            println!(
                "{NAME}: {}% ({} cycles)",
                (cycle + 1) * 100 / cycles,
                cycle + 1
            );
        }
    }
    let after = resources()?;
    if after != before {
        println!("{NAME}: after the cycles: {after:?}");
        return Err("resources did not come back");
    }
    println!("{NAME}: all checks passed ({cycles} cycles, resources back: {after:?})");
    Ok(())
}

type Step<T> = Result<T, (&'static str, Error)>;

fn step<T>(what: &'static str, result: Result<T, Error>) -> Step<T> {
    result.map_err(|error| (what, error))
}

fn expect_end(child: Capability, expected: ExitReason) -> Step<()> {
    let reason = step("waiting", syscall::wait(child))?;
    if reason == expected {
        Ok(())
    } else {
        Err(("the child ended otherwise", Error::Unrecognized))
    }
}

/// One environment made and ended, the way `cycle` chooses.
fn one_cycle(cycle: u64) -> Step<()> {
    if cycle % BLOCK_CHILD_EVERY == BLOCK_CHILD_EVERY - 1 {
        let child = step("spawning", syscall::spawn(NAME, "block-user"))?;
        return expect_end(child, ExitReason::Exited(0));
    }
    match cycle % 8 {
        0..=2 => {
            let child = built_child()?;
            let entry = exit_with_status as *const () as u64;
            step(
                "starting",
                syscall::start_environment(child, entry, CHILD_STACK + PAGE, 0, 0),
            )?;
            expect_end(child, ExitReason::Exited(hand_built_child::STATUS))
        }
        3 => {
            let child = built_child()?;
            step("killing", syscall::kill_environment(child, 0))?;
            expect_end(child, ExitReason::Killed)
        }
        4 => {
            let child = step("creating", syscall::create_environment("unstarted"))?;
            if step("waiting without hanging", syscall::try_wait(child))?.is_some() {
                return Err(("an unstarted child ended", Error::Unrecognized));
            }
            step("killing", syscall::kill_environment(child, 0))?;
            expect_end(child, ExitReason::Killed)
        }
        5 => {
            let child = built_child()?;
            let (id, _) = step("inspecting", syscall::capability_inspect(child))?;
            step("dropping", syscall::capability_drop(child))?;
            step(
                "killing through SELF",
                syscall::kill_environment(Capability::SELF, id),
            )
        }
        6 => {
            let child = built_child()?;
            step(
                "starting",
                syscall::start_environment(child, UNMAPPED, CHILD_STACK + PAGE, 0, 0),
            )?;
            match step("waiting", syscall::wait(child))? {
                ExitReason::Faulted(_) => Ok(()),
                _ => Err((
                    "a child started at an unmapped address did not fault",
                    Error::Unrecognized,
                )),
            }
        }
        _ => {
            let child = step("spawning", syscall::spawn("true", ""))?;
            expect_end(child, ExitReason::Exited(0))
        }
    }
}

/// A child built by hand: the page of `hand_built_child::exit_with_status` shared in, and a stack page of its own.
fn built_child() -> Step<Capability> {
    let child = step("creating", syscall::create_environment("cycle"))?;
    let code_page = (exit_with_status as *const () as u64) & !(PAGE - 1);
    // The function is a few bytes; it may straddle a page boundary.
    for page in [code_page, code_page + PAGE] {
        step(
            "sharing code",
            syscall::page_share(page, child, page, PageRights::EXECUTABLE),
        )?;
    }
    let frame = step("allocating", syscall::frame_allocate(None))?;
    step("granting", syscall::frame_grant(frame, child))?;
    step(
        "binding the stack",
        syscall::page_map_into(child, CHILD_STACK, frame, PageRights::WRITABLE),
    )?;
    Ok(child)
}

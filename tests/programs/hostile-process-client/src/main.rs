//! A hostile client of the process server. The parent starts the servers and a world whose
//! processes the process server makes (the microkernel path), then, with raw calls to the
//! server beside the library's: checks that a handle the server gives cannot reap behind its
//! back; sends unknown operations, forged pids and bad flags; waits for a process it did not
//! make, kills itself and its own parent (each refused); creates environments past its limit;
//! lets a child try to wait for its sibling (refused) while the parent's own wait for that
//! sibling is deferred until it ends; and runs an `orphaner` child that exits without waiting
//! for its child, which the server then kills (the test reads the kernel's line for it).
//! Run without arguments. Exits 0 when every check passed.
#![no_std]
#![no_main]

extern crate alloc;

use exo_abi::capability::Rights;
use exo_abi::{Error, capability::PARENT};
use libos_posix::process::{self, Stdio};
use libos_posix::process_client::{BUILDER_RIGHTS, CREATE, KILL, WAIT, WAIT_NO_HANG};
use libos_posix::process_server::CHILDREN_MAX;
use libos_posix::syscall::{self, Capability};
use libos_posix::{Errno, ExitReason, println, servers, world};
use test_support::checks::{Checker, report_run};

libos_posix::main!(main);

const NAME: &str = "hostile-process-client";
const PROGRAM: &str = "/tests/hostile-process-client";
/// How a `nap` child exits.
const NAP_STATUS: u32 = 3;
const NAP_MICROSECONDS: u64 = 300_000;

/// This process's handle to call the process server.
fn server_handle() -> Option<Capability> {
    let endpoint = world::get()?.process_server()?;
    syscall::capability_find(|id, rights| {
        u64::from(id) == endpoint && rights.contains(Rights::CALL)
    })
}

/// The server's answer to `words`: its reply, or the error it named.
fn ask(handle: Capability, words: [u64; 4]) -> Result<[u64; 4], Errno> {
    match syscall::endpoint_call(handle, words) {
        Ok([0, rest @ ..]) => Ok([0, rest[0], rest[1], rest[2]]),
        Ok([code, ..]) => Err(Errno::from_code(code).unwrap_or(Errno::Io)),
        Err(_) => Err(Errno::Io),
    }
}

/// Creates an environment through the raw call: its pid and this process's handle.
fn create(handle: Capability) -> Result<(u64, Capability), Errno> {
    ask(handle, [CREATE, u64::from_le_bytes(*b"created\0"), 0, 0])
        .map(|reply| (reply[1], Capability(reply[2])))
}

/// Kills and reaps what [`create`] made.
fn discard(handle: Capability, pid: u64) -> bool {
    ask(handle, [KILL, pid, 0, 0]).is_ok()
        && ask(handle, [WAIT, pid, 0, 0]).is_ok_and(|reply| reply[1] == 1)
}

fn parent() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    let servers = servers::start().map_err(|_| Error::NotFound)?;
    world::start_as_root_served(NAME, &servers).map_err(|_| Error::NotFound)?;
    let handle = server_handle().ok_or(Error::NotFound)?;
    let own = u64::from(syscall::environment_id());
    let parent = syscall::capability_inspect(Capability(PARENT)).map_or(0, |(id, _)| id);

    // What the server gives: a handle to build with, not to reap with.
    let (pid, builder) = create(handle).map_err(|_| Error::NotFound)?;
    check.expect(
        "the rights of the handle to build with",
        syscall::capability_inspect(builder).map(|(_, rights)| rights),
        Ok(BUILDER_RIGHTS),
    );
    check.expect(
        "reap behind the server's back",
        syscall::wait(builder),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "wait with unknown flags",
        ask(handle, [WAIT, pid, 2, 0]),
        Err(Errno::InvalidArgument),
    );
    check.expect(
        "look at a child that never started",
        ask(handle, [WAIT, pid, WAIT_NO_HANG, 0]),
        Ok([0; 4]),
    );
    check.expect("kill and reap it", discard(handle, pid), true);

    for (what, words, error) in [
        ("no operation", [0, 0, 0, 0], Errno::InvalidArgument),
        (
            "an unknown operation",
            [99, 1, 2, 3],
            Errno::InvalidArgument,
        ),
        ("wait for pid 0", [WAIT, 0, 0, 0], Errno::NoSuchProcess),
        ("wait for itself", [WAIT, own, 0, 0], Errno::NoSuchProcess),
        (
            "wait for its parent",
            [WAIT, u64::from(parent), 0, 0],
            Errno::NoSuchProcess,
        ),
        (
            "wait for a reaped child",
            [WAIT, pid, 0, 0],
            Errno::NoSuchProcess,
        ),
        (
            "wait for pid 2^64 - 1",
            [WAIT, u64::MAX, 0, 0],
            Errno::NoSuchProcess,
        ),
        ("kill itself", [KILL, own, 0, 0], Errno::InvalidArgument),
        (
            "kill its parent",
            [KILL, u64::from(parent), 0, 0],
            Errno::NoSuchProcess,
        ),
        (
            "kill pid 2^32 - 1",
            [KILL, u64::from(u32::MAX), 0, 0],
            Errno::NoSuchProcess,
        ),
        (
            "kill a reaped child",
            [KILL, pid, 0, 0],
            Errno::NoSuchProcess,
        ),
    ] {
        check.expect(what, ask(handle, words), Err(error));
    }

    // Past its limit of living children, creation fails; the children made go again.
    let mut made = alloc::vec::Vec::new();
    let failed = loop {
        match create(handle) {
            Ok((pid, _)) if made.len() <= CHILDREN_MAX => made.push(pid),
            Ok(_) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    check.expect("create past the limit", failed, Err(Errno::NoMemory));
    check.expect("children made before the limit", made.len(), CHILDREN_MAX);
    let discarded = made.iter().filter(|&&pid| discard(handle, pid)).count();
    check.expect("children killed and reaped", discarded, CHILDREN_MAX);

    // A sibling cannot wait for the napping child; its parent's wait is deferred until the
    // child ends, and the server serves the sibling meanwhile.
    let nap =
        process::spawn(PROGRAM, &[NAME, "nap"], Stdio::INHERIT).map_err(|_| Error::NotFound)?;
    let mut arguments_buffer = [0u8; 16];
    let nap_pid = format_decimal(nap.pid(), &mut arguments_buffer);
    let sibling = process::spawn(PROGRAM, &[NAME, "sibling", nap_pid], Stdio::INHERIT);
    check.expect(
        "the napping child's end, after a deferred wait",
        process::wait(nap),
        Ok(ExitReason::Exited(NAP_STATUS)),
    );
    check.expect(
        "the sibling was refused",
        sibling.and_then(process::wait),
        Ok(ExitReason::Exited(0)),
    );

    // A process that ends without waiting for its child: the server kills the child.
    let orphaner = process::spawn(PROGRAM, &[NAME, "orphaner"], Stdio::INHERIT)
        .and_then(process::wait)
        .map_err(|_| Error::NotFound)?;
    match orphaner {
        ExitReason::Exited(orphan) if orphan != 0 => {
            println!("{NAME}: orphan {orphan}");
            // The server killed it when it learnt that its parent ended, before it answered
            // this process's wait: there is nothing left to kill.
            check.expect(
                "kill the orphan",
                ask(handle, [KILL, u64::from(orphan), 0, 0]),
                Err(Errno::NoSuchProcess),
            );
        }
        other => check.expect("the orphaner's end", other, ExitReason::Exited(1)),
    }
    Ok(check.failures())
}

/// `value` in decimal, in `buffer`.
fn format_decimal(value: u32, buffer: &mut [u8; 16]) -> &str {
    let mut at = buffer.len();
    let mut rest = value;
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    core::str::from_utf8(&buffer[at..]).unwrap_or("0")
}

/// Tries to wait for and kill-check its sibling `pid`: exits 0 when the wait is refused.
fn sibling(pid: &str) -> i32 {
    let (Some(handle), Ok(pid)) = (server_handle(), pid.parse::<u64>()) else {
        return 2;
    };
    match ask(handle, [WAIT, pid, 0, 0]) {
        Err(Errno::NoSuchProcess) => 0,
        _ => 1,
    }
}

/// Spawns a child that naps long, and exits with its pid without waiting for it (and without
/// the library's exit, which would kill it first).
fn orphaner() -> i32 {
    match process::spawn(PROGRAM, &[NAME, "long-nap"], Stdio::INHERIT) {
        Ok(child) => syscall::exit(child.pid()),
        Err(_) => 0,
    }
}

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    match (words.next(), words.next()) {
        (Some("nap"), _) => {
            syscall::sleep(NAP_MICROSECONDS);
            NAP_STATUS as i32
        }
        (Some("long-nap"), _) => {
            syscall::sleep(60_000_000);
            0
        }
        (Some("sibling"), Some(pid)) => sibling(pid),
        (Some("orphaner"), _) => orphaner(),
        _ => report_run(NAME, parent()),
    }
}

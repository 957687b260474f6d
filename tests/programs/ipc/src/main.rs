//! Protected control transfer across address spaces, hostile callers included. The parent
//! spawns a `serve` child that creates an endpoint and hands the parent a handle to call it;
//! then it calls it many times (the replies carry the words back changed and the caller's
//! id, which the kernel writes), lends it a page, forges and misuses handles, lets `client`
//! children call it at once (each checks its own replies), kills a `hang` child the server
//! never answers, has a call deferred until a child of the server ends (the server answers
//! others meanwhile), grants it bytes to copy out of and into (once, read-only, unmapped), and
//! finally has the server die while a `late` child waits in its queue.
//! Run without arguments. Exits 0 when every check passed.
#![no_std]
#![no_main]

use core::time::Duration;
use exo_abi::PageRights;
use exo_abi::capability::Rights;
use exo_abi::ipc::{GrantFlags, LendFlags, Message};
use exo_abi::{Error, encode_result};
use libos_posix::syscall::{self, Answer, Capability, Received, Served};
use libos_posix::{ExitReason, shared_words::SharedWords};
use test_support::checks::{Checker, report_run};
use test_support::waiting::wait_until;

libos_posix::main!(main);

const NAME: &str = "ipc";

/// Operations, in a call's first word.
const ECHO: u64 = 1;
/// The server sleeps [`HANG_MICROSECONDS`] before replying.
const HANG: u64 = 2;
/// The server reads the lent page's first word and writes twice it in the second.
const LEND: u64 = 3;
/// The server sleeps [`HANG_MICROSECONDS`], then exits without replying.
const DIE: u64 = 4;
/// The server defers the call, starts a `nap` child that calls it once and exits with
/// [`NAP_STATUS`], and answers the deferred call when that child has ended, with its exit
/// status and how many calls it served meanwhile.
const AFTER_CHILD: u64 = 5;
const NAP_STATUS: u32 = 7;
/// The server copies the first 16 bytes its caller granted, reverses them and copies them
/// into the next 16; it replies each copy's result word.
const GRANTED: u64 = 6;
const HANG_MICROSECONDS: u64 = 200_000;

/// Where the server binds lent pages.
const WINDOW: u64 = 0x6000_0000_0000;
/// The parent's page it lends.
const LENT_PAGE: u64 = 0x6100_0000_0000;
// SAFETY: the parent binds the page writable before it touches a word; while the page is lent
// the parent is blocked in its call.
const LENT_WORDS: SharedWords = unsafe { SharedWords::new(LENT_PAGE) };
// SAFETY: the server touches its window only while a lent page is bound there.
const WINDOW_WORDS: SharedWords = unsafe { SharedWords::new(WINDOW) };

const WAIT_LIMIT: Duration = Duration::from_secs(10);
/// Calls each `client` child makes.
const CLIENT_CALLS: u64 = 300;

/// Waits until someone gives this environment a handle with exactly `wanted` rights.
fn await_handle(wanted: Rights) -> Option<Capability> {
    wait_until(WAIT_LIMIT, || {
        syscall::capability_find(|_, held| held == wanted).is_some()
    });
    syscall::capability_find(|_, held| held == wanted)
}

/// The server: answers each operation above, forever (or until [`DIE`]).
fn serve() -> i32 {
    let Some(parent) = await_handle(Rights::GRANT) else {
        return 2;
    };
    let Ok(endpoint) = syscall::endpoint_create() else {
        return 3;
    };
    if syscall::capability_copy(endpoint, Rights::CALL, parent).is_err() {
        return 4;
    }
    // The deferred AFTER_CHILD call: its caller, the child, and the calls served since.
    let mut deferred: Option<(u32, Capability, u64)> = None;
    let mut answer = Answer::Nothing;
    loop {
        let Ok(served) = syscall::endpoint_serve(endpoint, answer, WINDOW, true) else {
            return 5;
        };
        answer = Answer::Nothing;
        match served {
            Served::ChildEnded => {
                let Some((caller, child, calls)) = deferred else {
                    return 6;
                };
                if let Ok(Some(reason)) = syscall::try_wait(child) {
                    let reply = [AFTER_CHILD, reason.encode(), calls, 0];
                    if syscall::endpoint_reply(endpoint, caller, reply).is_err() {
                        return 7;
                    }
                    deferred = None;
                }
            }
            Served::Call(call) if call.message[0] == AFTER_CHILD => {
                let Ok(child) = spawn_client("nap", endpoint) else {
                    return 8;
                };
                deferred = Some((call.caller, child, 0));
                answer = Answer::Defer;
            }
            Served::Call(call) => {
                if let Some((_, _, calls)) = deferred.as_mut() {
                    *calls += 1;
                }
                answer = Answer::Reply(self::answer(endpoint, call));
            }
        }
    }
}

fn answer(endpoint: Capability, call: Received) -> Message {
    let [operation, first, second, _] = call.message;
    match operation {
        ECHO => [ECHO, first + 1, second + 1, u64::from(call.caller)],
        HANG => {
            syscall::sleep(HANG_MICROSECONDS);
            [HANG, 0, 0, 0]
        }
        LEND if call.has_lent_page => {
            let value = WINDOW_WORDS.read(0);
            WINDOW_WORDS.write(1, value * 2);
            [LEND, 1, value, 0]
        }
        LEND => [LEND, 0, 0, 0],
        DIE => {
            syscall::sleep(HANG_MICROSECONDS);
            syscall::exit(0)
        }
        GRANTED => {
            let mut bytes = [0; 16];
            let taken = syscall::endpoint_copy_from(endpoint, call.caller, 0, &mut bytes);
            bytes.reverse();
            let given = syscall::endpoint_copy_to(endpoint, call.caller, 16, &bytes);
            [
                GRANTED,
                encode_result(taken.map(|()| 0)),
                encode_result(given.map(|()| 0)),
                0,
            ]
        }
        _ => [0; 4],
    }
}

/// A child given a handle to call the server (by its parent).
fn client(operation: u64) -> i32 {
    let Some(endpoint) = await_handle(Rights::CALL) else {
        return 2;
    };
    let own = u64::from(syscall::environment_id());
    match operation {
        ECHO => {
            for call in 0..CLIENT_CALLS {
                let word = own << 20 | call;
                let reply = syscall::endpoint_call(endpoint, [ECHO, word, word * 3, 0]);
                if reply != Ok([ECHO, word + 1, word * 3 + 1, own]) {
                    return 1;
                }
            }
            0
        }
        HANG => {
            let _ = syscall::endpoint_call(endpoint, [HANG, 0, 0, 0]);
            // Killed while it waits: it never gets here.
            1
        }
        AFTER_CHILD => match syscall::endpoint_call(endpoint, [ECHO, 0, 0, 0]) {
            Ok(_) => NAP_STATUS as i32,
            Err(_) => 1,
        },
        _ => match syscall::endpoint_call(endpoint, [ECHO, 0, 0, 0]) {
            Err(Error::NoSuchEnvironment) => 0,
            _ => 1,
        },
    }
}

/// Spawns `ipc ROLE` and gives it a handle to call `endpoint`.
fn spawn_client(role: &str, endpoint: Capability) -> Result<Capability, Error> {
    let child = syscall::spawn(NAME, role)?;
    syscall::capability_copy(endpoint, Rights::CALL, child)?;
    Ok(child)
}

fn parent() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    let own = u64::from(syscall::environment_id());
    let server = syscall::spawn(NAME, "serve")?;
    syscall::capability_copy(Capability::SELF, Rights::GRANT, server)?;
    let endpoint = await_handle(Rights::CALL).ok_or(Error::NotFound)?;

    let mut wrong = 0;
    for call in 0..1_000 {
        if syscall::endpoint_call(endpoint, [ECHO, call, call * 7, 0])
            != Ok([ECHO, call + 1, call * 7 + 1, own])
        {
            wrong += 1;
        }
    }
    check.expect("wrong replies of 1,000 calls", wrong, 0);
    // A round trip is two kernel entries (the call, the reply) and two switches, as the kernel
    // counts them; a timer interrupt or two may fall inside the 100.
    let before = syscall::kernel_counters();
    for call in 0..100 {
        let _ = syscall::endpoint_call(endpoint, [ECHO, call, 0, 0]);
    }
    let after = syscall::kernel_counters();
    let per_hundred = |count: u64| (count + 50) / 100;
    check.expect(
        "kernel entries per round trip",
        per_hundred(after.entries - before.entries - 1),
        2,
    );
    check.expect(
        "switches per round trip",
        per_hundred(after.switches - before.switches),
        2,
    );

    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(LENT_PAGE, frame, PageRights::WRITABLE)?;
    LENT_WORDS.write(0, 21);
    check.expect(
        "lend a page the server writes",
        syscall::endpoint_call_lending(endpoint, [LEND, 0, 0, 0], LENT_PAGE, LendFlags::WRITABLE),
        Ok([LEND, 1, 21, 0]),
    );
    check.expect("the server's write", LENT_WORDS.read(1), 42);
    check.expect(
        "the lent page is back with the caller alone",
        syscall::endpoint_call(endpoint, [LEND, 0, 0, 0]),
        Ok([LEND, 0, 0, 0]),
    );
    check.expect(
        "lend a page that is not bound",
        syscall::endpoint_call_lending(
            endpoint,
            [LEND, 0, 0, 0],
            LENT_PAGE + 0x1000,
            LendFlags::empty(),
        ),
        Err(Error::NotFound),
    );

    check_granted_bytes(&mut check, endpoint)?;

    for forged in [0, 1, endpoint.0 + 1, endpoint.0 ^ (1 << 32), u64::MAX - 1] {
        check.expect(
            "call through a forged handle",
            syscall::endpoint_call(Capability(forged), [ECHO, 0, 0, 0]),
            Err(Error::BadCapability),
        );
    }
    check.expect(
        "call an environment",
        syscall::endpoint_call(server, [ECHO, 0, 0, 0]),
        Err(Error::BadCapability),
    );
    check.expect(
        "receive through a handle that only calls",
        syscall::endpoint_wait(endpoint, 0),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "copy the right to receive",
        syscall::capability_copy(endpoint, Rights::CALL | Rights::RECEIVE, Capability::SELF),
        Err(Error::InvalidArgument),
    );

    // A deferred call is answered once the server's child has ended; the server served the
    // child's call meanwhile; a client cannot reply.
    check.expect(
        "the deferred call's answer",
        syscall::endpoint_call(endpoint, [AFTER_CHILD, 0, 0, 0]),
        Ok([AFTER_CHILD, ExitReason::Exited(NAP_STATUS).encode(), 1, 0]),
    );
    check.expect(
        "reply through a handle that only calls",
        syscall::endpoint_reply(endpoint, syscall::environment_id(), [0; 4]),
        Err(Error::PermissionDenied),
    );

    // Callers at once: each checks its own replies.
    let clients: [Result<Capability, Error>; 3] = [0; 3].map(|_| spawn_client("client", endpoint));
    for client in clients {
        check.expect(
            "a client got only its own replies",
            syscall::wait(client?),
            Ok(ExitReason::Exited(0)),
        );
    }

    // A server that does not answer cannot hold its caller: its parent kills it, and the
    // late reply goes nowhere.
    let hanging = spawn_client("hang", endpoint)?;
    syscall::sleep(HANG_MICROSECONDS / 4);
    syscall::kill_environment(hanging, 0)?;
    check.expect(
        "the caller blocked in a call is killed",
        syscall::wait(hanging),
        Ok(ExitReason::Killed),
    );
    check.expect(
        "the server goes on after its reply went nowhere",
        syscall::endpoint_call(endpoint, [ECHO, 1, 1, 0]),
        Ok([ECHO, 2, 2, own]),
    );

    // The server dies while one caller is served and another waits in the queue.
    let late = spawn_client("late", endpoint)?;
    check.expect(
        "the call being served when the server dies",
        syscall::endpoint_call(endpoint, [DIE, 0, 0, 0]),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "a caller waiting on the dying server got the error",
        syscall::wait(late),
        Ok(ExitReason::Exited(0)),
    );
    check.expect(
        "a call to a dead endpoint fails at once",
        syscall::endpoint_call(endpoint, [ECHO, 0, 0, 0]),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "the server exited",
        syscall::wait(server),
        Ok(ExitReason::Exited(0)),
    );
    Ok(check.failures())
}

/// Granted bytes: the server copies out of and into them through the kernel, for one call
/// only, never into a read-only grant, never from memory that is not there.
fn check_granted_bytes(check: &mut Checker, endpoint: Capability) -> Result<(), Error> {
    let ok = encode_result(Ok(0));
    let mut granted = [0u8; 32];
    granted[..16].copy_from_slice(b"granted for one!");
    syscall::endpoint_grant(&raw const granted, GrantFlags::WRITABLE)?;
    check.expect(
        "copies out of and into a writable grant",
        syscall::endpoint_call(endpoint, [GRANTED, 0, 0, 0]),
        Ok([GRANTED, ok, ok, 0]),
    );
    check.expect(
        "the server's bytes, once, in the grant",
        &core::hint::black_box(granted)[..],
        &b"granted for one!!eno rof detnarg"[..],
    );
    let not_found = encode_result(Err(Error::NotFound));
    check.expect(
        "a grant serves one call",
        syscall::endpoint_call(endpoint, [GRANTED, 0, 0, 0]),
        Ok([GRANTED, not_found, not_found, 0]),
    );
    syscall::endpoint_grant(&raw const granted, GrantFlags::empty())?;
    check.expect(
        "a read-only grant takes no copy in",
        syscall::endpoint_call(endpoint, [GRANTED, 0, 0, 0]),
        Ok([GRANTED, ok, encode_result(Err(Error::PermissionDenied)), 0]),
    );
    let nothing_there = core::ptr::slice_from_raw_parts((LENT_PAGE + 0x1000) as *const u8, 32);
    syscall::endpoint_grant(nothing_there, GrantFlags::WRITABLE)?;
    let bad_address = encode_result(Err(Error::BadAddress));
    check.expect(
        "a grant over nothing mapped",
        syscall::endpoint_call(endpoint, [GRANTED, 0, 0, 0]),
        Ok([GRANTED, bad_address, bad_address, 0]),
    );
    let kernel_half = core::ptr::slice_from_raw_parts(0xffff_8000_0000_0000 as *const u8, 16);
    check.expect(
        "a grant in the kernel half",
        syscall::endpoint_grant(kernel_half, GrantFlags::WRITABLE),
        Err(Error::BadAddress),
    );
    Ok(())
}

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "serve" => serve(),
        "client" => client(ECHO),
        "hang" => client(HANG),
        "late" => client(DIE),
        "nap" => client(AFTER_CHILD),
        _ => report_run(NAME, parent()),
    }
}

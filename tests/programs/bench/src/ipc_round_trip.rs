//! B2: protected control transfer round trips (call and reply) between the bench and an echo
//! server in its own address space: this program spawned with the argument `echo-server`.

use crate::{ITERATIONS, counted_ticks_per, print_counted, ticks_per_iteration};
use core::hint::black_box;
use exo_abi::Error;
use exo_abi::capability::Rights;
use libos_posix::println;
use libos_posix::syscall::{self, Capability};

/// How many times a side yields, waiting for the other's handle, before it gives up.
const HANDSHAKE_YIELDS: u32 = 100_000;

/// Waits for a capability with exactly `rights` that another environment gives this one.
fn await_capability(rights: Rights) -> Option<Capability> {
    (0..HANDSHAKE_YIELDS).find_map(|_| {
        let found = syscall::capability_find(|_, held| held == rights);
        if found.is_none() {
            syscall::yield_now();
        }
        found
    })
}

/// The echo server: creates an endpoint, gives its parent a handle to call it, and replies
/// to every call with the words it carried, until it is killed.
pub fn echo_server() -> i32 {
    let Some(parent) = await_capability(Rights::GRANT) else {
        return 2;
    };
    let Ok(endpoint) = syscall::endpoint_create() else {
        return 3;
    };
    if syscall::capability_copy(endpoint, Rights::CALL, parent).is_err() {
        return 4;
    }
    let mut received = syscall::endpoint_wait(endpoint, 0);
    loop {
        let Ok(call) = received else {
            return 5;
        };
        received = syscall::endpoint_reply_and_wait(endpoint, call.message, 0);
    }
}

/// Prints the two B2 rows: one word each way, and four.
pub fn b2(unit: &str, empty_loop: u64) -> Result<(), Error> {
    let server = syscall::spawn("bench", "echo-server")?;
    syscall::capability_copy(Capability::SELF, Rights::GRANT, server)?;
    let endpoint = await_capability(Rights::CALL).ok_or(Error::NotFound)?;
    let (one_word, counted) = counted_ticks_per(ITERATIONS, || {
        let reply = syscall::endpoint_call(endpoint, [black_box(1), 0, 0, 0]);
        black_box(reply.map(|[first, ..]| first)).ok();
    });
    let four_words = ticks_per_iteration(|| {
        let reply = syscall::endpoint_call(endpoint, black_box([1, 2, 3, 4]));
        black_box(reply).ok();
    });
    syscall::kill_environment(server, 0)?;
    syscall::wait(server)?;
    println!(
        "B2 ipc_round_trip {} {unit}",
        one_word.saturating_sub(empty_loop)
    );
    println!(
        "B2 ipc_round_trip_4_words {} {unit}",
        four_words.saturating_sub(empty_loop)
    );
    print_counted("B2", "ipc_round_trip", &counted);
    Ok(())
}

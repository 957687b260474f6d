//! Waiting for another environment: until a condition holds, with a time limit, or until a
//! page it shares appears.

use core::time::Duration;
use libos_posix::syscall;

/// Sleeps in 1 ms steps until `condition` holds, for at most about `limit`; returns whether it
/// came to hold.
pub fn wait_until(limit: Duration, condition: impl Fn() -> bool) -> bool {
    for _ in 0..limit.as_millis() {
        if condition() {
            return true;
        }
        syscall::sleep(1_000);
    }
    false
}

/// Yields until a page is bound at `address` (another environment shares it in).
pub fn wait_for_page(address: u64) {
    while syscall::page_query(address).is_err() {
        syscall::yield_now();
    }
}

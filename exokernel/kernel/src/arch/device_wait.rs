//! Halting inside a kernel call until a device has done its work: the CPU sleeps until the
//! device's interrupt instead of spinning on its memory (under emulation the spinning vCPU
//! takes the host CPU the device's own I/O thread needs), bounded by a deadline.
//!
//! The bound uses the one-shot APIC timer, which the scheduler arms for its slots; the wait
//! borrows it and gives it back as it found it (`clock::restore_timer`). A timer interrupt
//! taken during the wait is the wait's, not the scheduler's (`is_waiting`): a slot that ends
//! meanwhile ends right after the call returns, when the restored timer fires in user mode. So
//! nothing switches environments, and no handler but the timer's and the devices' (which only
//! acknowledge their interrupt in kernel mode) runs inside the kernel call.

use super::{clock, cpu};
use core::sync::atomic::{AtomicBool, Ordering};
use exo_system::counters;

static IS_WAITING: AtomicBool = AtomicBool::new(false);

/// Whether a device wait is under way: a timer interrupt now is the wait's own.
pub fn is_waiting() -> bool {
    IS_WAITING.load(Ordering::Relaxed)
}

/// Halts until `is_done` holds, checking it after every interrupt, or until
/// `timeout_microseconds` have passed; returns whether `is_done` held. The device must
/// interrupt once `is_done` holds (an interrupt that arrives before the halt waits in the APIC
/// and ends the halt at once, so none is missed).
pub fn halt_until(timeout_microseconds: u64, mut is_done: impl FnMut() -> bool) -> bool {
    if is_done() {
        return true;
    }
    let slot_timer = clock::timer_state();
    let start = clock::now_microseconds();
    let deadline = start.saturating_add(timeout_microseconds);
    IS_WAITING.store(true, Ordering::Relaxed);
    let is_done = loop {
        let now = clock::now_microseconds();
        if now >= deadline {
            break is_done();
        }
        clock::interrupt_after(deadline - now);
        counters::note_halted(cpu::wait_for_interrupt());
        if is_done() {
            break true;
        }
    };
    IS_WAITING.store(false, Ordering::Relaxed);
    clock::restore_timer(slot_timer, clock::now_microseconds().saturating_sub(start));
    is_done
}

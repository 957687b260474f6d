//! Carrying out the slice vector's decisions: switching environments, arming the one-shot
//! timer, delivering slot upcalls, waking sleepers, polling the devices (received frames,
//! console input), and idling when nothing can run. An idle CPU halts until the slot timer,
//! armed for every slot, idle ones included, so the devices are polled at least once a slot;
//! while a receive ring is bound it also wakes every [`NETWORK_POLL_MICROSECONDS`] to poll the
//! network device, which does not interrupt, so that a frame arriving while the CPU idles does
//! not wait for the slot's end.
//!
//! The decisions themselves (who owns which slot, epilogue, grace, abort) are made by
//! `exo_core::slices`; this file only applies them to the CPU.

use crate::exceptions;
use crate::kernel::Kernel;
use crate::kprintln;
use crate::platform::{AddressSpace, Platform};
use crate::trap_frame::TrapFrame;
use core::sync::atomic::{AtomicBool, Ordering};
use exo_abi::upcall;
use exo_core::environments::EnvId;
use exo_core::guest_status::KERNEL_FAULT;
use exo_core::slices::{Decision, Timer, Upcall};

/// Why the running environment gives up the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The one-shot timer expired: the slot or the epilogue grace has ended.
    TimerExpired,
    /// It yielded, or it is blocked now (waiting, sleeping).
    Yielded,
    /// It ended; the scheduler already chose what follows.
    Ended,
}

/// How often an idle CPU polls the network device while some receive ring is bound: a frame
/// that arrives while the CPU idles waits this long at most instead of the rest of the slot
/// (up to `SLOT_LENGTH_MICROSECONDS`, 4 ms, the p99 round trip of a UDP echo before).
pub const NETWORK_POLL_MICROSECONDS: u64 = 250;

/// Set by a timer interrupt that arrives while the kernel idles.
static TIMER_FIRED_WHILE_IDLE: AtomicBool = AtomicBool::new(false);

/// Notes a timer interrupt taken in kernel mode, which happens only while the kernel idles.
pub fn note_timer_while_idle() {
    TIMER_FIRED_WHILE_IDLE.store(true, Ordering::Relaxed);
}

impl<P: Platform> Kernel<P> {
    /// Starts the first slot and enters its environment's registers into `frame`.
    pub fn start_scheduling(&mut self, frame: &mut TrapFrame) {
        let decision = self.slices.start(&self.environments);
        self.carry_out(decision, frame);
    }

    /// Moves the CPU on after `event` of the running environment, whose registers are in
    /// `frame`; on return `frame` holds whatever runs next.
    pub fn reschedule(&mut self, frame: &mut TrapFrame, event: Event) {
        self.wake_sleepers();
        self.receive_packets();
        self.poll_console();
        self.evaluate_wake_up_predicates();
        let decision = match event {
            Event::TimerExpired => Some(self.slices.timer_expired(&self.environments)),
            Event::Yielded => self
                .current
                .and_then(|current| self.slices.yield_now(current, &self.environments).ok()),
            Event::Ended => self.decided_on_ending.take(),
        };
        let decision = decision.unwrap_or_else(|| self.slices.start(&self.environments));
        self.carry_out(decision, frame);
    }

    /// Switches to the decision's environment (or idles until one can run), arms the timer and
    /// delivers the slot upcall it names.
    pub fn carry_out(&mut self, mut decision: Decision, frame: &mut TrapFrame) {
        self.abort_overdue_requests();
        loop {
            if let Timer::Arm { after_microseconds } = decision.timer {
                P::interrupt_after(after_microseconds);
                self.slot_timer_deadline = P::now_microseconds().saturating_add(after_microseconds);
            }
            if let Some(aborted) = decision.aborted {
                log::debug!(
                    "env {} aborted: it did not yield in its epilogue",
                    aborted.0
                );
            }
            self.switch_to(decision.run, frame);
            let Some(running) = decision.run else {
                decision = self.idle_until_decision();
                continue;
            };
            match self.deliver_slot_upcall(running, decision, frame) {
                Some(next) => decision = next,
                None => {
                    self.deliver_pending_upcall(running, frame);
                    return;
                }
            }
        }
    }

    /// Moves the CPU from `from`, the running environment, to the runnable `to` on `from`'s
    /// time, as protected control transfer does: straight to it when the slot allows,
    /// otherwise through the scheduler (`from` has blocked). On return `frame` holds whatever
    /// runs next.
    pub fn hand_over(&mut self, from: EnvId, to: EnvId, frame: &mut TrapFrame) {
        if self.slices.hand_over(from, to) {
            self.switch_to(Some(to), frame);
        } else {
            self.reschedule(frame, Event::Yielded);
        }
    }

    /// Saves the registers of the environment leaving the CPU and loads those of `next`.
    fn switch_to(&mut self, next: Option<EnvId>, frame: &mut TrapFrame) {
        if self.current == next {
            return;
        }
        if let Some(current) = self.current
            && let Some(machine) = self.environments.machine_mut(current)
        {
            machine.registers = *frame;
        }
        if let Some(next) = next {
            let machine = self
                .environments
                .machine(next)
                .expect("the scheduler runs only living environments");
            *frame = machine.registers;
            machine.address_space.activate();
            self.counters.switches += 1;
        }
        self.current = next;
    }

    /// Delivers the decision's upcall to `running`. When it cannot be delivered (the environment
    /// is inside its handler), an epilogue counts as a yield, so that nobody is charged for an
    /// upcall it never saw; the decision that follows is returned.
    fn deliver_slot_upcall(
        &mut self,
        running: EnvId,
        decision: Decision,
        frame: &mut TrapFrame,
    ) -> Option<Decision> {
        let upcall = decision.upcall?;
        let event = match upcall {
            Upcall::Epilogue => upcall::SLICE_EPILOGUE,
            Upcall::Prologue => upcall::SLICE_PROLOGUE,
        };
        let machine = self.environments.machine(running)?;
        let position = decision.slot_position as u64;
        let delivered = exceptions::deliver_event(machine, frame, event, position, 0).is_ok();
        if delivered || upcall == Upcall::Prologue {
            return None;
        }
        self.slices.yield_now(running, &self.environments).ok()
    }

    /// Delivers one posted event to `running` when it is outside its handler; the rest wait for
    /// its next turn.
    fn deliver_pending_upcall(&mut self, running: EnvId, frame: &mut TrapFrame) {
        let Some(machine) = self.environments.machine_mut(running) else {
            return;
        };
        let Some((&event, &(first, second))) = machine.pending_upcalls.first_key_value() else {
            return;
        };
        match exceptions::deliver_event(machine, frame, event, first, second) {
            Err(exceptions::Undeliverable::FaultInsideHandler) => {}
            _ => {
                machine.pending_upcalls.remove(&event);
            }
        }
    }

    /// Halts until the timer ends the idle slot or a sleeper wakes, and returns what to run.
    fn idle_until_decision(&mut self) -> Decision {
        loop {
            if self.environments.living_count() == 0 {
                self.power_off_when_done();
            }
            let can_wake = !self.sleepers.is_empty()
                || !self.predicate_sleepers.is_empty()
                || !self.console_readers.is_empty()
                || P::net_is_present();
            if !can_wake && !self.environments.has_runnable() {
                kprintln!(P, "exokernel: every living environment is blocked for good");
                self.power_off(KERNEL_FAULT);
            }
            let is_polling = self.filters.has_bindings() && P::net_is_present();
            // Whether the timer, when it fires, marks the slot's end rather than a poll.
            let is_slot_end_armed = !is_polling || self.arm_network_poll();
            TIMER_FIRED_WHILE_IDLE.store(false, Ordering::Relaxed);
            P::wait_for_interrupt();
            self.abort_overdue_requests();
            let has_woken = self.wake_sleepers()
                | self.receive_packets()
                | self.poll_console()
                | self.evaluate_wake_up_predicates()
                || self.environments.has_runnable();
            if TIMER_FIRED_WHILE_IDLE.load(Ordering::Relaxed) && is_slot_end_armed {
                return self.slices.timer_expired(&self.environments);
            }
            if has_woken && let Some(decision) = self.slices.wake_from_idle(&self.environments) {
                // The woken environment gets the rest of the slot: its end, not a poll.
                if !is_slot_end_armed {
                    let left = self
                        .slot_timer_deadline
                        .saturating_sub(P::now_microseconds());
                    P::interrupt_after(left);
                }
                return decision;
            }
        }
    }

    /// Arms the timer for the next network poll, or for the slot's end when that comes first;
    /// returns whether it is the slot's end.
    fn arm_network_poll(&mut self) -> bool {
        let left = self
            .slot_timer_deadline
            .saturating_sub(P::now_microseconds());
        if left > NETWORK_POLL_MICROSECONDS {
            P::interrupt_after(NETWORK_POLL_MICROSECONDS);
            false
        } else {
            P::interrupt_after(left);
            true
        }
    }

    /// Puts the running environment to sleep for `microseconds` (at least until the next slot
    /// boundary after that).
    pub fn sleep_current(&mut self, microseconds: u64) {
        let current = self.current.expect("called by the running environment");
        self.predicate_sleepers.retain(|stale| stale.env != current);
        if self.environments.sleep(current) {
            let deadline = P::now_microseconds().saturating_add(microseconds);
            self.sleepers.insert((deadline, current));
        }
    }

    /// Ends `env`'s sleep, whatever it slept on (a posted upcall or a frame for it wakes it);
    /// returns whether it slept.
    pub fn end_sleep(&mut self, env: EnvId) -> bool {
        let was_asleep = self.environments.wake(env);
        if was_asleep {
            self.sleepers.retain(|&(_, sleeper)| sleeper != env);
            self.console_readers.remove(&env);
        }
        was_asleep
    }

    /// Wakes every sleeper whose deadline has passed; returns whether any woke.
    fn wake_sleepers(&mut self) -> bool {
        if self.sleepers.is_empty() {
            return false;
        }
        let now = P::now_microseconds();
        let mut has_woken = false;
        while let Some(&(deadline, id)) = self.sleepers.first()
            && deadline <= now
        {
            self.sleepers.pop_first();
            has_woken |= self.environments.wake(id);
        }
        has_woken
    }
}

#[cfg(test)]
mod tests {
    use super::NETWORK_POLL_MICROSECONDS;
    use crate::fake::{Booted, Fake, timer_deadline};
    use crate::platform::Platform;

    #[test]
    fn an_idle_network_poll_comes_before_the_slot_end_and_never_after_it() {
        let mut booted = Booted::new();
        // The fake clock stands still while the kernel does not idle.
        let now = Fake::now_microseconds();
        booted.kernel.slot_timer_deadline = now + 4_000;
        assert!(
            !booted.kernel.arm_network_poll(),
            "a poll, not the slot's end"
        );
        assert_eq!(timer_deadline(), Some(now + NETWORK_POLL_MICROSECONDS));

        booted.kernel.slot_timer_deadline = now + 100;
        assert!(
            booted.kernel.arm_network_poll(),
            "the slot ends before a poll would"
        );
        assert_eq!(timer_deadline(), Some(now + 100));

        booted.kernel.slot_timer_deadline = now;
        assert!(
            booted.kernel.arm_network_poll(),
            "a slot end due now fires at once"
        );
        assert_eq!(timer_deadline(), Some(now));
    }
}

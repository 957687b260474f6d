//! Carrying out the slice vector's decisions: switching environments, arming the one-shot
//! timer, delivering slot upcalls, waking sleepers, taking what the devices brought (received
//! frames, console input), and idling when nothing can run. An idle CPU halts until an
//! interrupt: the slot timer, armed for every slot, idle ones included, so the console is
//! looked at at least once a slot, or the network device's, raised by a frame that arrives
//! while the CPU idles; the frames are then demultiplexed at once, and an environment they
//! wake gets the rest of the slot. While the device holds more frames than one batch took it
//! raises nothing, so the idle CPU takes them batch after batch instead of halting.
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
            TIMER_FIRED_WHILE_IDLE.store(false, Ordering::Relaxed);
            if !self.has_frames_waiting {
                P::wait_for_interrupt();
            }
            self.abort_overdue_requests();
            let has_woken = self.wake_sleepers()
                | self.receive_packets()
                | self.poll_console()
                | self.evaluate_wake_up_predicates()
                || self.environments.has_runnable();
            if TIMER_FIRED_WHILE_IDLE.load(Ordering::Relaxed) {
                return self.slices.timer_expired(&self.environments);
            }
            if has_woken && let Some(decision) = self.slices.wake_from_idle(&self.environments) {
                return decision;
            }
        }
    }

    /// Puts the running environment to sleep for `microseconds` (at least until the next slot
    /// boundary after that), unless a frame reached its rings since it last slept; returns
    /// whether it sleeps.
    pub fn sleep_current(&mut self, microseconds: u64) -> bool {
        let current = self.current.expect("called by the running environment");
        self.predicate_sleepers.retain(|stale| stale.env != current);
        if self.take_frame_since_sleep(current) {
            return false;
        }
        let is_asleep = self.environments.sleep(current);
        if is_asleep {
            let deadline = P::now_microseconds().saturating_add(microseconds);
            self.sleepers.insert((deadline, current));
        }
        is_asleep
    }

    /// Whether a frame reached one of `env`'s rings while it was awake since it last slept
    /// (`Machine::has_frame_since_sleep`), forgetting it: a sleep it asks for now returns at
    /// once.
    pub fn take_frame_since_sleep(&mut self, env: EnvId) -> bool {
        self.environments
            .machine_mut(env)
            .is_some_and(|machine| core::mem::take(&mut machine.has_frame_since_sleep))
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

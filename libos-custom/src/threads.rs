//! User-level threads inside the app's own CPU slices, scheduled by a swappable
//! [`SchedulingPolicy`].
//!
//! The program's first thread (thread 0, the *main* thread) starts the runtime with
//! [`start`], creates threads with [`spawn`] and lends them the CPU with [`run_ready`], which
//! returns when none is ready. A thread gives the CPU up at [`yield_point`]s, which long work
//! calls now and then, and ends by returning from its entry function. Whenever the runtime
//! decides (at a yield point, a thread's end, a slot end) it first calls the app's *poll*
//! function, which admits the work that arrived meanwhile by spawning threads for it; then the
//! policy picks the thread to run; the main thread runs when no other is ready.
//!
//! Preemption: the app's slot-end (epilogue) upcall handler yields the slot as the kernel asks
//! through [`at_slot_end`], with the upcall's frame; the runtime saves the interrupted
//! thread from the frame, re-enters it into the policy as preempted, and puts the chosen
//! thread's registers in the frame, which the handler resumes. A thread interrupted where a
//! switch is unsafe is not switched: inside [`critical`] sections (and inside the runtime's
//! own), or where the app says so (`may_switch`, for example while the library OS holds its
//! allocator's lock). The switch it missed happens when the section ends.
//!
//! Nothing here allocates after [`start`] (stacks and the policy's room are taken up front),
//! so [`at_slot_end`] may run while the interrupted thread is inside the allocator.

mod context;

use crate::scheduling::{Readiness, Ready, SchedulingPolicy, ThreadId};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use exo_abi::{ExceptionFrame, UserRegisters};
use spin::Mutex;

/// The main thread's index.
pub const MAIN: ThreadId = 0;

/// Flags a new thread starts with: interrupts enabled (a user-mode `popfq` cannot change
/// them anyway) and everything else clear.
const INITIAL_FLAGS: u64 = 0x202;

/// What the runtime needs from the app.
pub struct Options {
    /// Picks the next thread.
    pub policy: Box<dyn SchedulingPolicy>,
    /// Most threads alive at once besides the main thread (the policy must hold as many).
    pub capacity: usize,
    /// Bytes of each thread's stack.
    pub stack_bytes: usize,
    /// The clock costs are measured in (monotonic).
    pub clock: fn() -> u64,
    /// Admits the work that arrived since it last ran, by calling [`spawn`]; called at every
    /// scheduling decision, possibly from the slot-end upcall, so it must not allocate.
    pub poll: fn(),
}

/// Why a call of the runtime failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// [`start`] was not called, or [`stop`] was.
    NotStarted,
    /// [`start`] was called already.
    AlreadyStarted,
    /// As many threads as the capacity are alive.
    Full,
    /// [`stop`] with threads still alive, or [`run_ready`] from a thread other than main.
    Busy,
}

/// What the runtime counted since [`start`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Threads created.
    pub spawned: u64,
    /// Switches from one thread to another, of every kind.
    pub switches: u64,
    /// Switches made at slot ends.
    pub preemptions: u64,
    /// Slot ends that found the running thread where it could not be switched.
    pub deferred: u64,
}

struct Thread {
    registers: UserRegisters,
    stack: Box<[u8]>,
    entry: fn(usize),
    argument: usize,
    arrival: u64,
    expected: u64,
    ran: u64,
}

impl Thread {
    fn unused(stack: Box<[u8]>) -> Thread {
        Thread {
            registers: UserRegisters::default(),
            stack,
            entry: |_| {},
            argument: 0,
            arrival: 0,
            expected: 0,
            ran: 0,
        }
    }

    fn record(&self, thread: ThreadId, readiness: Readiness) -> Ready {
        Ready {
            thread,
            arrival: self.arrival,
            expected: self.expected,
            ran: self.ran,
            readiness,
        }
    }
}

struct Runtime {
    threads: Vec<Thread>,
    free: Vec<ThreadId>,
    policy: Box<dyn SchedulingPolicy>,
    current: ThreadId,
    /// When `current` got the CPU.
    since: u64,
    clock: fn() -> u64,
    poll: fn(),
    counts: Counts,
}

impl Runtime {
    /// Charges the running thread for its time so far.
    fn charge(&mut self) {
        let now = (self.clock)();
        let ran = now.saturating_sub(self.since);
        self.threads[self.current].ran += ran;
        self.since = now;
    }

    /// Takes the next thread out of the policy, main when none is ready, and makes it current;
    /// returns the one that was.
    fn choose(&mut self) -> ThreadId {
        let next = self.policy.next().map_or(MAIN, |ready| ready.thread);
        let previous = self.current;
        self.current = next;
        if next != previous {
            self.counts.switches += 1;
        }
        previous
    }

    /// Pointers to the registers of `from` and `to` (stable: the table never grows).
    fn contexts(
        &mut self,
        from: ThreadId,
        to: ThreadId,
    ) -> (*mut UserRegisters, *const UserRegisters) {
        let base = self.threads.as_mut_ptr();
        // SAFETY: both indices come from the table (`choose` and `current` only hold its
        // indices), so the pointers stay inside the allocation.
        unsafe {
            (
                &raw mut (*base.add(from)).registers,
                &raw const (*base.add(to)).registers,
            )
        }
    }
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
/// Above zero while a thread must not be switched by a slot end: inside [`critical`], inside
/// the runtime's own decisions, and from a decision to the end of the switch it makes.
static CRITICAL: AtomicUsize = AtomicUsize::new(0);
/// A slot end was deferred; the next end of a critical section yields.
static PENDING: AtomicBool = AtomicBool::new(false);

/// Starts the runtime, with the caller as the main thread.
pub fn start(options: Options) -> Result<(), Error> {
    let mut runtime = RUNTIME.lock();
    if runtime.is_some() {
        return Err(Error::AlreadyStarted);
    }
    let mut threads = Vec::with_capacity(options.capacity + 1);
    threads.push(Thread::unused(Box::default()));
    for _ in 0..options.capacity {
        let stack = vec![0u8; options.stack_bytes].into_boxed_slice();
        threads.push(Thread::unused(stack));
    }
    *runtime = Some(Runtime {
        threads,
        free: (1..=options.capacity).rev().collect(),
        policy: options.policy,
        current: MAIN,
        since: (options.clock)(),
        clock: options.clock,
        poll: options.poll,
        counts: Counts::default(),
    });
    CRITICAL.store(0, Ordering::Release);
    PENDING.store(false, Ordering::Release);
    Ok(())
}

/// Stops the runtime once no thread but main is alive, and returns its counts.
pub fn stop() -> Result<Counts, Error> {
    let mut runtime = RUNTIME.lock();
    let running = runtime.as_ref().ok_or(Error::NotStarted)?;
    if running.free.len() + 1 != running.threads.len() {
        return Err(Error::Busy);
    }
    let counts = running.counts;
    *runtime = None;
    Ok(counts)
}

/// The counts so far.
pub fn counts() -> Result<Counts, Error> {
    RUNTIME
        .lock()
        .as_ref()
        .map(|runtime| runtime.counts)
        .ok_or(Error::NotStarted)
}

/// Creates a thread that runs `entry(argument)`, expected to need `expected` clock units of
/// CPU; it is ready at once and runs when the policy picks it.
pub fn spawn(entry: fn(usize), argument: usize, expected: u64) -> Result<ThreadId, Error> {
    let _section = Section::enter();
    let mut guard = RUNTIME.lock();
    let runtime = guard.as_mut().ok_or(Error::NotStarted)?;
    let thread = runtime.free.pop().ok_or(Error::Full)?;
    let now = (runtime.clock)();
    let slot = &mut runtime.threads[thread];
    let top = slot.stack.as_ptr_range().end as u64 & !15;
    slot.registers = UserRegisters {
        // As if `begin` had been called: its return-address slot leaves the stack 8 bytes
        // below 16-byte alignment.
        rsp: top - 8,
        rip: begin as *const () as u64,
        rflags: INITIAL_FLAGS,
        ..UserRegisters::default()
    };
    slot.entry = entry;
    slot.argument = argument;
    slot.arrival = now;
    slot.expected = expected;
    slot.ran = 0;
    let ready = slot.record(thread, Readiness::New);
    runtime.policy.enter(ready);
    runtime.counts.spawned += 1;
    Ok(thread)
}

/// From the main thread: runs the ready threads until none is ready (admitting new work
/// through the poll function meanwhile). Returns whether any ran.
pub fn run_ready() -> Result<bool, Error> {
    let section = Section::enter();
    poll();
    let mut guard = RUNTIME.lock();
    let runtime = guard.as_mut().ok_or(Error::NotStarted)?;
    if runtime.current != MAIN {
        return Err(Error::Busy);
    }
    if runtime.policy.is_empty() {
        return Ok(false);
    }
    runtime.charge();
    let from = runtime.choose();
    let (from, to) = runtime.contexts(from, runtime.current);
    drop(guard);
    // SAFETY: `from` is this thread's slot; `to` was saved by a switch, a preemption or
    // `spawn`; the section raised CRITICAL, which the switch lowers.
    unsafe { context::switch(from, to, &CRITICAL) };
    section.forget();
    Ok(true)
}

/// Gives the CPU to a thread the policy prefers, if any is ready; otherwise returns at once.
/// Long work calls this now and then. From the main thread it does nothing.
pub fn yield_point() {
    PENDING.store(false, Ordering::Release);
    let section = Section::enter();
    poll();
    let mut guard = RUNTIME.lock();
    let Some(runtime) = guard.as_mut() else {
        return;
    };
    if runtime.current == MAIN || runtime.policy.is_empty() {
        return;
    }
    runtime.charge();
    let me = runtime.current;
    let record = runtime.threads[me].record(me, Readiness::Yielded);
    runtime.policy.enter(record);
    runtime.choose();
    if runtime.current == me {
        return;
    }
    let (from, to) = runtime.contexts(me, runtime.current);
    drop(guard);
    // SAFETY: as in `run_ready`.
    unsafe { context::switch(from, to, &CRITICAL) };
    section.forget();
}

/// Runs `body` so that no slot end switches threads inside it; a switch that was due happens
/// when it returns.
pub fn critical<R>(body: impl FnOnce() -> R) -> R {
    let section = Section::enter();
    let result = body();
    drop(section);
    result
}

/// From the slot-end upcall handler: charges the interrupted thread for its time, calls
/// `give_up_slot` (the kernel's yield, which returns when the next slot of this program
/// starts), then switches `frame` to the thread the policy picks, saving the interrupted one.
/// A thread interrupted where it must not be switched (`may_switch` false, or inside a critical
/// section or a switch) is left to run on: the switch waits for the end of its section.
/// Returns whether `frame` now holds another thread.
pub fn at_slot_end(frame: &mut ExceptionFrame, may_switch: bool, give_up_slot: fn()) -> bool {
    let deferred = !may_switch
        || CRITICAL.load(Ordering::Acquire) != 0
        || context::is_switching(frame.registers.rip)
        || RUNTIME.try_lock().is_none_or(|runtime| runtime.is_none());
    if deferred {
        if let Some(mut guard) = RUNTIME.try_lock()
            && let Some(runtime) = guard.as_mut()
        {
            runtime.counts.deferred += 1;
        }
        PENDING.store(true, Ordering::Release);
        give_up_slot();
        return false;
    }
    // Cleared first, so that the section's end cannot yield from the handler's stack.
    PENDING.store(false, Ordering::Release);
    let section = Section::enter();
    if let Some(runtime) = RUNTIME.lock().as_mut() {
        runtime.charge();
    }
    give_up_slot();
    poll();
    let mut guard = RUNTIME.lock();
    let Some(runtime) = guard.as_mut() else {
        return false;
    };
    // The time between the slots was nobody's.
    runtime.since = (runtime.clock)();
    let me = runtime.current;
    if me == MAIN && runtime.policy.is_empty() {
        return false;
    }
    if me != MAIN {
        let record = runtime.threads[me].record(me, Readiness::Preempted);
        runtime.policy.enter(record);
    }
    runtime.choose();
    let next = runtime.current;
    if next == me {
        return false;
    }
    runtime.counts.preemptions += 1;
    runtime.threads[me].registers = frame.registers;
    frame.registers = runtime.threads[next].registers;
    drop(guard);
    drop(section);
    true
}

/// Calls the app's poll function inside the caller's section.
fn poll() {
    let poll = RUNTIME.lock().as_ref().map(|runtime| runtime.poll);
    if let Some(poll) = poll {
        poll();
    }
}

/// Where every thread starts: runs its entry function, then ends it.
extern "C" fn begin() -> ! {
    let (entry, argument) = {
        let guard = RUNTIME.lock();
        let runtime = guard
            .as_ref()
            .expect("a thread runs only while the runtime does");
        let thread = &runtime.threads[runtime.current];
        (thread.entry, thread.argument)
    };
    entry(argument);
    finish()
}

/// Ends the running thread and switches to the next.
fn finish() -> ! {
    let section = Section::enter();
    poll();
    let mut guard = RUNTIME.lock();
    let runtime = guard
        .as_mut()
        .expect("a thread runs only while the runtime does");
    runtime.charge();
    let me = runtime.current;
    runtime.free.push(me);
    runtime.choose();
    let (from, to) = runtime.contexts(me, runtime.current);
    drop(guard);
    section.forget();
    // SAFETY: as in `run_ready`; `from` is the ending thread's slot, which nothing reuses
    // before this switch is over (CRITICAL stays raised until it is).
    unsafe { context::switch(from, to, &CRITICAL) };
    unreachable!("an ended thread is never resumed")
}

/// A critical section: raises [`CRITICAL`] and, when the last one ends with a slot end
/// deferred, yields.
struct Section;

impl Section {
    fn enter() -> Section {
        CRITICAL.fetch_add(1, Ordering::AcqRel);
        Section
    }

    /// Leaves the count raised for [`context::switch`] to lower on the far side.
    fn forget(self) {
        core::mem::forget(self);
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        let was = CRITICAL.fetch_sub(1, Ordering::AcqRel);
        if was == 1 && PENDING.load(Ordering::Acquire) {
            yield_point();
        }
    }
}

#[cfg(test)]
mod tests;

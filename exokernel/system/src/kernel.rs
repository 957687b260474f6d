//! The kernel's state (frame table, environment table, ramdisk, the running environment) and
//! the decisions that move the CPU between environments.
//!
//! The kernel runs on one CPU with interrupts off; the state sits behind one lock that every
//! trap takes for its whole duration.

use crate::blocks::Blocks;
use crate::filters::PredicateSleeper;
use crate::kprintln;
use crate::packets::{PacketCounters, Ring};
use crate::platform::{AddressSpace, Platform};
use crate::trap_frame::TrapFrame;
use crate::{consistency, environment};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::marker::PhantomData;
use exo_abi::kernel_memory::ENVIRONMENT_BYTES;
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, ExitReason, encode_result};
use exo_core::capabilities::CapabilityTable;
use exo_core::console_ring::ConsoleRing;
use exo_core::endpoints::Endpoints;
use exo_core::environments::{EnvId, EnvironmentTable};
use exo_core::exception_handler::ExceptionHandler;
use exo_core::frame_table::{FrameNumber, FrameTable};
use exo_core::guest_status::{INIT_FAULTED, KERNEL_FAULT};
use exo_core::kernel_memory::KernelMemory;
use exo_core::mappings::{MappingDatabase, Place, Removal};
use exo_core::ramdisk::Ramdisk;
use exo_core::regions::Regions;
use exo_core::revocation::RevocationTable;
use exo_core::slices::{Decision, SliceScheduler};
use exo_core::user_range::UserRange;
use exo_filter::Sandbox;
use exo_filter::table::FilterTable;

/// What the kernel keeps per environment beyond the portable table entry.
#[derive(Debug)]
pub struct Machine<P: Platform> {
    pub address_space: P::AddressSpace,
    /// The user registers while the environment is not running, and those of the endpoint call
    /// or reply it is making (`crate::syscalls::fast_transfer`).
    pub registers: TrapFrame,
    /// Where its exceptions and enabled upcalls go; `None` ends it on any exception.
    pub exception_handler: Option<ExceptionHandler>,
    /// The kernel events it receives as upcalls (`exo_abi::upcall::Upcalls`).
    pub upcalls_enabled: Upcalls,
    /// Events posted and not yet delivered, by event number, with their two arguments.
    pub pending_upcalls: BTreeMap<u64, (u64, u64)>,
    /// The frame of its repossession vector, if it registered one.
    pub repossession_frame: Option<FrameNumber>,
    /// The frames it owned when it started: the abort protocol never takes it below these
    /// (`exo_core::revocation::guaranteed_count`).
    pub frames_at_start: usize,
    /// Its rights over other environments and endpoints, by handle.
    pub capabilities: CapabilityTable,
    /// Where a page lent with the next call it receives is bound (0: nowhere).
    pub receive_window: u64,
    /// The page lent with the call it serves, bound at its window until it replies.
    pub lent: Option<Lent>,
    /// Whether its wait for a call ends when one of its children ends
    /// ([`exo_abi::ipc::ReplyAndWaitFlags::CHILD_ENDS`]).
    pub wakes_on_child_end: bool,
    /// Whether one of its children ended since it last learnt of it through
    /// [`exo_abi::ipc::CHILD_ENDED`].
    pub child_ended: bool,
    /// The bytes it offers the server of its next call, until that call returns
    /// ([`exo_abi::Syscall::EndpointGrant`]).
    pub grant: Option<Grant>,
    /// Whether a frame reached one of its receive rings while it was awake, since it last
    /// slept: its next [`exo_abi::Syscall::Sleep`] then returns at once, so that a frame
    /// delivered between its look at the ring and its sleep does not wait for the next one.
    pub has_frame_since_sleep: bool,
}

/// Bytes an environment granted to the servers holding its calls.
#[derive(Clone, Copy, Debug)]
pub struct Grant {
    pub range: UserRange,
    pub is_writable: bool,
}

/// A page lent for the duration of a call: bound at `window` in the server, derived from the
/// caller's binding at `source`.
#[derive(Clone, Copy, Debug)]
pub struct Lent {
    pub window: u64,
    pub source: Place,
}

/// The whole kernel state, on platform `P`.
pub struct Kernel<P: Platform> {
    pub frames: FrameTable,
    /// Every user binding, with what it was derived from, so that revocation finds them all.
    pub mappings: MappingDatabase,
    /// Every region bound whole into another environment ([`exo_abi::Syscall::RegionShare`]).
    pub regions: Regions,
    pub environments: EnvironmentTable<Machine<P>>,
    /// The environment whose registers are in the current trap frame.
    pub current: Option<EnvId>,
    /// The time-slice vector and the decisions at slot boundaries.
    pub slices: SliceScheduler,
    /// Sleeping environments by wake-up time (microseconds of `Platform::now_microseconds`).
    pub sleepers: BTreeSet<(u64, EnvId)>,
    /// What the scheduler chose when the running environment ended, to be carried out.
    pub decided_on_ending: Option<Decision>,
    /// Outstanding revocation requests.
    pub revocations: RevocationTable,
    /// Disk-block ownership, when there is a usable disk.
    pub blocks: Option<Blocks<P>>,
    /// The interpreter that loads downloaded filters.
    pub sandbox: Sandbox,
    /// Loaded filters, and the ones bound to packet receive with their rings.
    pub filters: FilterTable<EnvId, Ring>,
    /// Environments blocked in `SleepUntil`.
    pub predicate_sleepers: Vec<PredicateSleeper>,
    /// What happened to received frames.
    pub packet_counters: PacketCounters,
    /// Where `PacketSend` and `PacketInject` copy the caller's frame in, allocated once at
    /// boot (where it splits no later free space) and kept, so that a frame costs no
    /// allocation.
    pub frame_buffer: Vec<u8>,
    /// Whether the network device held more frames than the last batch took: it raises no
    /// interrupt for them, so the idle loop takes them instead of halting.
    pub has_frames_waiting: bool,
    /// What the kernel heap holds on each environment's behalf.
    pub kernel_memory: KernelMemory,
    /// Bytes received on the serial console and not read yet.
    pub console_input: ConsoleRing,
    /// Environments blocked in `ConsoleRead` until a byte arrives.
    pub console_readers: BTreeSet<EnvId>,
    /// The endpoints of protected control transfer, their servers and their callers.
    pub endpoints: Endpoints,
    /// Kernel entries and switches, for benchmarks.
    pub counters: crate::counters::Counters,
    ramdisk: Ramdisk<'static>,
    /// How the first environment (init) ended, which becomes the power-off status.
    init_ending: Option<ExitReason>,
    platform: PhantomData<P>,
}

impl<P: Platform> Kernel<P> {
    /// The kernel state at boot: `frames` as the boot found them, programs from `ramdisk`, no
    /// environment yet.
    pub fn new(frames: FrameTable, ramdisk: Ramdisk<'static>) -> Kernel<P> {
        Kernel {
            frames,
            mappings: MappingDatabase::default(),
            regions: Regions::default(),
            environments: EnvironmentTable::default(),
            current: None,
            slices: SliceScheduler::new(),
            sleepers: BTreeSet::new(),
            decided_on_ending: None,
            revocations: RevocationTable::new(),
            blocks: None,
            sandbox: Sandbox::new(),
            filters: FilterTable::default(),
            predicate_sleepers: Vec::new(),
            packet_counters: PacketCounters::default(),
            frame_buffer: alloc::vec![0; exo_abi::packet::FRAME_BYTES_MAX as usize],
            has_frames_waiting: false,
            // No environment is charged anything until the limits are set, once booted.
            kernel_memory: KernelMemory::new(0, 0),
            console_input: ConsoleRing::new(),
            console_readers: BTreeSet::new(),
            endpoints: Endpoints::default(),
            counters: crate::counters::Counters::default(),
            ramdisk,
            init_ending: None,
            platform: PhantomData,
        }
    }
}

impl<P: Platform> Kernel<P> {
    /// The running environment's machine state.
    pub fn current_machine(&mut self) -> &mut Machine<P> {
        let current = self.current.expect("called while an environment runs");
        self.environments
            .machine_mut(current)
            .expect("the running environment is alive")
    }

    /// The running environment's address space.
    pub fn current_address_space(&self) -> &P::AddressSpace {
        let current = self.current.expect("called while an environment runs");
        &self
            .environments
            .machine(current)
            .expect("the running environment is alive")
            .address_space
    }

    /// Creates an environment running ramdisk program `name` with argument string `args`.
    /// Fails with `NoMemory` when the table is full or the parent's or the global quota of
    /// kernel memory has no room for it.
    pub fn spawn(
        &mut self,
        name: &str,
        args: &[u8],
        parent: Option<EnvId>,
    ) -> Result<EnvId, Error> {
        let program = self.ramdisk.find(name).ok_or(Error::NotFound)?.data;
        self.charge_creation(parent)?;
        let (frames, mappings, kernel_memory) =
            (&mut self.frames, &mut self.mappings, &self.kernel_memory);
        let created = self.environments.create(String::from(name), parent, |id| {
            let mut machine =
                environment::load::<P>(id, program, args, frames, mappings, kernel_memory)?;
            machine.capabilities = CapabilityTable::at_birth(parent);
            machine.frames_at_start = frames.memory_frame_count(id);
            Ok(machine)
        });
        let id = created.inspect_err(|_| self.refund_creation(parent))?;
        log::debug!(
            "env {} ({name}) created, {} frames",
            id.0,
            self.frames.count_owned_by(id)
        );
        Ok(id)
    }

    /// Creates an environment named `name`, child of `parent`, with an empty address space; it
    /// runs once started. Fails with `NoMemory` when the table is full or no frame is free for
    /// its page table.
    pub fn create_unstarted(&mut self, name: &str, parent: EnvId) -> Result<EnvId, Error> {
        self.charge_creation(Some(parent))?;
        let frames = &mut self.frames;
        let created = self
            .environments
            .create_unstarted(String::from(name), Some(parent), |id| {
                let mut machine = environment::empty::<P>(id, frames)?;
                machine.capabilities = CapabilityTable::at_birth(Some(parent));
                Ok(machine)
            });
        let id = created.inspect_err(|_| self.refund_creation(Some(parent)))?;
        log::debug!("env {} ({name}) created empty by env {}", id.0, parent.0);
        Ok(id)
    }

    /// Charges a new environment to its creator, if it has one.
    fn charge_creation(&mut self, creator: Option<EnvId>) -> Result<(), Error> {
        match creator {
            Some(creator) => self.charge(creator, ENVIRONMENT_BYTES),
            None => Ok(()),
        }
    }

    /// Gives back what [`Kernel::charge_creation`] charged, once the environment is gone.
    fn refund_creation(&mut self, creator: Option<EnvId>) {
        if let Some(creator) = creator {
            self.kernel_memory.refund(creator, ENVIRONMENT_BYTES);
        }
    }

    /// Ends environment `id` with `reason`, and every living descendant of it before it (killed,
    /// deepest first), so that no environment is ever left unreachable from init: reports each,
    /// frees every frame each had, and wakes a parent waiting for it.
    pub fn end(&mut self, id: EnvId, reason: ExitReason) {
        for descendant in self.environments.living_descendants_deepest_first(id) {
            self.end_one(descendant, ExitReason::Killed);
        }
        self.end_one(id, reason);
        self.note_holdings_changed();
    }

    /// Ends environment `id`, whose descendants have ended.
    fn end_one(&mut self, id: EnvId, reason: ExitReason) {
        let (name, creator) = self
            .environments
            .get(id)
            .map(|environment| (environment.name.clone(), environment.parent))
            .unzip();
        // The machine state needs no teardown of its own: its frames are all charged to `id`.
        let Some(ending) = self.environments.end(id, reason) else {
            return;
        };
        report_ending(id, &name.unwrap_or_default(), reason);
        // Leave the ended address space before its frames are freed.
        if self.current == Some(id) {
            P::activate_kernel_root();
        }
        let removals = self.mappings.remove_environment(id);
        self.clear_page_table_entries(&removals);
        // Its page tables go with its frames: every region it lent leaves its borrowers first.
        for (borrower, region) in self.regions.end_environment(id) {
            if let Some(machine) = self.environments.machine_mut(borrower) {
                machine
                    .address_space
                    .return_region(region * exo_abi::region::BYTES);
            }
        }
        self.frames.release_environment(id);
        self.kernel_memory.release_environment(id);
        self.refund_creation(creator.flatten());
        self.report_slices(id);
        self.sleepers.retain(|&(_, sleeper)| sleeper != id);
        self.console_readers.remove(&id);
        self.revocations.cancel_environment(id);
        self.filters.remove_owner(id);
        self.predicate_sleepers.retain(|sleeper| sleeper.env != id);
        crate::ipc::environment_ended(self, id);
        if let Some(parent) = creator.flatten() {
            crate::ipc::child_ended(self, parent);
        }
        if let Some(blocks) = self.blocks.as_mut() {
            blocks.table.release_environment(id);
        }
        let decided = self.slices.release_environment(id, &self.environments);
        // The decision taken when the running environment ended may name this one, which then
        // ends before it runs (a killer inside the subtree it kills ends first, the rest after):
        // the decision the slices take now replaces it.
        let was_to_run = self
            .decided_on_ending
            .is_some_and(|decision| decision.run == Some(id));
        if self.current == Some(id) || was_to_run {
            if self.current == Some(id) {
                self.current = None;
            }
            self.decided_on_ending = decided;
        }
        if let Some((parent, reason)) = ending.woken_parent
            && let Some(machine) = self.environments.machine_mut(parent)
        {
            machine.registers.rax = encode_result(Ok(reason.encode()));
        }
        if self.is_init(id) {
            self.init_ending = Some(reason);
        }
    }

    /// Clears the page-table entries of removed bindings in every address space that had one.
    pub fn clear_page_table_entries(&mut self, removals: &[Removal]) {
        for removal in removals {
            if let Some(machine) = self.environments.machine_mut(removal.place.environment) {
                machine
                    .address_space
                    .unmap(removal.place.page * exo_core::PAGE_SIZE);
            }
        }
    }

    /// Prints the slice accounting of an environment that owned slots, for tests to read.
    fn report_slices(&self, id: EnvId) {
        let statistics = self.slices.statistics(id);
        if statistics.owned_slots_run + statistics.slots_forfeited + statistics.aborts == 0 {
            return;
        }
        kprintln!(
            P,
            "exokernel: env {} slices: {} owned run, {} best effort, {} forfeited, {} aborts, {} epilogues",
            id.0,
            statistics.owned_slots_run,
            statistics.best_effort_slots_run,
            statistics.slots_forfeited,
            statistics.aborts,
            statistics.epilogues_delivered
        );
    }

    /// Powers off when no environment is left.
    pub fn power_off_when_done(&self) -> ! {
        let status = match self.init_ending {
            Some(ExitReason::Exited(status)) => {
                status.min(exo_abi::POWER_OFF_STATUS_MAX as u32) as u8
            }
            // Init cannot be killed (`EnvironmentKill` refuses it); were it, it died by force too.
            Some(ExitReason::Faulted(_) | ExitReason::Killed) => INIT_FAULTED,
            None => KERNEL_FAULT,
        };
        kprintln!(
            P,
            "exokernel: no environment left; powering off with status {status}"
        );
        self.power_off(status)
    }

    /// Ends the machine with `status` once the kernel's tables pass their consistency check,
    /// and with [`KERNEL_FAULT`] when they do not.
    pub fn power_off(&self, status: u8) -> ! {
        if P::net_is_present() {
            let counters = self.packet_counters;
            kprintln!(
                P,
                "exokernel: net: {} frames received, {} delivered, {} unclaimed, {} dropped (ring full), {} dropped (ring broken); {} receive interrupts in user mode",
                counters.received,
                counters.delivered,
                counters.unclaimed,
                counters.ring_full,
                counters.ring_broken,
                counters.interrupts
            );
        }
        match consistency::check(self) {
            Ok(summary) => {
                kprintln!(
                    P,
                    "exokernel: tables consistent: {} free frames, {} bindings, {} living environments, all reachable from init",
                    summary.free_frames,
                    summary.bindings,
                    summary.living_environments
                );
                kprintln!(
                    P,
                    "exokernel: kernel heap: {} bytes in use, {} charged to environments{}",
                    P::heap_in_use(),
                    self.charged_in_total(),
                    summary.charges
                );
            }
            Err(inconsistency) => {
                kprintln!(P, "exokernel: TABLES INCONSISTENT: {inconsistency}");
                P::power_off(KERNEL_FAULT)
            }
        }
        P::power_off(status)
    }

    /// Whether `id` is the init environment (the first one created).
    pub fn is_init(&self, id: EnvId) -> bool {
        id == EnvId(1)
    }
}

/// Reports how environment `id` ended, at the level it belongs to: its parent learns the reason
/// by waiting (a shell reports an abnormal end itself), so an exit with status 0 is a debug
/// record, and any other end an info record, which `--log warn` leaves out.
fn report_ending(id: EnvId, name: &str, reason: ExitReason) {
    if reason == ExitReason::Exited(0) {
        log::debug!("exokernel: env {} ({name}) ended: {reason}", id.0);
    } else {
        log::info!("exokernel: env {} ({name}) ended: {reason}", id.0);
    }
}

//! The kernel's state (frame table, environment table, ramdisk, the running environment) and
//! the decisions that move the CPU between environments.
//!
//! The kernel runs on one CPU with interrupts off; the state sits behind one lock that every
//! trap takes for its whole duration.

use crate::arch::clock;
use crate::arch::cpu::exit_qemu;
use crate::arch::paging::{self, AddressSpace};
use crate::arch::trap::{TrapFrame, enter_user};
use crate::{consistency, environment};
use crate::kprintln;
use alloc::string::String;
use exo_abi::{Error, ExitReason, encode_result};
use exo_core::environments::{EnvId, EnvironmentTable};
use exo_core::exception_handler::ExceptionHandler;
use exo_core::frame_table::FrameTable;
use exo_core::guest_status::{INIT_FAULTED, KERNEL_FAULT};
use exo_core::mappings::{MappingDatabase, Removal};
use exo_core::ramdisk::Ramdisk;

/// Most environments the table holds at once, living or ended but not yet reaped.
const MAX_ENVIRONMENTS: usize = 1024;

/// What the kernel keeps per environment beyond the portable table entry.
#[derive(Debug)]
pub struct Machine {
    pub address_space: AddressSpace,
    /// The user registers while the environment is not running.
    pub registers: TrapFrame,
    /// Where its exceptions go; `None` ends it on any exception.
    pub exception_handler: Option<ExceptionHandler>,
}

/// The whole kernel state.
pub struct Kernel {
    pub frames: FrameTable,
    /// Every user binding, with what it was derived from, so that revocation finds them all.
    pub mappings: MappingDatabase,
    pub environments: EnvironmentTable<Machine>,
    /// The environment whose registers are in the current trap frame.
    pub current: Option<EnvId>,
    ramdisk: Ramdisk<'static>,
    /// How the first environment (init) ended, which becomes the power-off status.
    init_ending: Option<ExitReason>,
}

static KERNEL: spin::Mutex<Option<Kernel>> = spin::Mutex::new(None);

/// Installs the kernel state; called once at boot.
pub fn install(frames: FrameTable, ramdisk: Ramdisk<'static>) {
    let kernel = Kernel {
        frames,
        mappings: MappingDatabase::default(),
        environments: EnvironmentTable::default(),
        current: None,
        ramdisk,
        init_ending: None,
    };
    *KERNEL.lock() = Some(kernel);
}

/// Runs `action` on the kernel state.
pub fn with<T>(action: impl FnOnce(&mut Kernel) -> T) -> T {
    let mut guard = KERNEL.lock();
    action(guard.as_mut().expect("kernel state installed at boot"))
}

/// Starts running environment `first`; the kernel is entered only through traps afterwards.
pub fn run(first: EnvId) -> ! {
    let registers = with(|kernel| {
        kernel.current = Some(first);
        let machine = kernel
            .environments
            .machine(first)
            .expect("the first environment was just created");
        machine.address_space.activate();
        machine.registers
    });
    clock::interrupt_after(10_000);
    enter_user(&registers)
}

impl Kernel {
    /// The running environment's machine state.
    pub fn current_machine(&mut self) -> &mut Machine {
        let current = self.current.expect("called while an environment runs");
        self.environments
            .machine_mut(current)
            .expect("the running environment is alive")
    }

    /// The running environment's address space.
    pub fn current_address_space(&self) -> &AddressSpace {
        let current = self.current.expect("called while an environment runs");
        &self
            .environments
            .machine(current)
            .expect("the running environment is alive")
            .address_space
    }

    /// Creates an environment running ramdisk program `name` with argument string `args`.
    /// Fails with `NoMemory` when the table is full, so that a program spawning children it
    /// never reaps cannot exhaust the kernel heap.
    pub fn spawn(
        &mut self,
        name: &str,
        args: &[u8],
        parent: Option<EnvId>,
    ) -> Result<EnvId, Error> {
        if self.environments.len() >= MAX_ENVIRONMENTS {
            return Err(Error::NoMemory);
        }
        let program = self.ramdisk.find(name).ok_or(Error::NotFound)?.data;
        let (frames, mappings) = (&mut self.frames, &mut self.mappings);
        let id = self.environments.create(String::from(name), parent, |id| {
            environment::load(id, program, args, frames, mappings)
        })?;
        log::debug!(
            "env {} ({name}) created, {} frames",
            id.0,
            self.frames.count_owned_by(id)
        );
        Ok(id)
    }

    /// Ends environment `id` with `reason`: reports it, frees every frame it had, and wakes a
    /// parent waiting for it.
    pub fn end(&mut self, id: EnvId, reason: ExitReason) {
        let name = self
            .environments
            .get(id)
            .map(|environment| environment.name.clone());
        // The machine state needs no teardown of its own: its frames are all charged to `id`.
        let Some(ending) = self.environments.end(id, reason) else {
            return;
        };
        kprintln!(
            "exokernel: env {} ({}) ended: {reason}",
            id.0,
            name.unwrap_or_default()
        );
        // Leave the ended address space before its frames are freed.
        if self.current == Some(id) {
            paging::activate_kernel_root();
        }
        let removals = self.mappings.remove_environment(id);
        self.clear_page_table_entries(&removals);
        self.frames.release_environment(id);
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

    /// Saves the running environment's registers (if it is alive) and loads those of the next
    /// runnable one into `frame`. Powers off when no environment is left.
    pub fn switch_away(&mut self, frame: &mut TrapFrame) {
        let Some(next) = self.environments.next_runnable(self.current) else {
            self.power_off_when_done()
        };
        // The only runnable environment keeps the CPU: its registers are in `frame` already.
        if self.current == Some(next) {
            return;
        }
        if let Some(current) = self.current
            && let Some(machine) = self.environments.machine_mut(current)
        {
            machine.registers = *frame;
        }
        let machine = self
            .environments
            .machine(next)
            .expect("runnable environments are alive");
        *frame = machine.registers;
        machine.address_space.activate();
        self.current = Some(next);
    }

    fn power_off_when_done(&self) -> ! {
        if self.environments.living_count() > 0 {
            panic!("every living environment is blocked");
        }
        let status = match self.init_ending {
            Some(ExitReason::Exited(status)) => {
                status.min(exo_abi::POWER_OFF_STATUS_MAX as u32) as u8
            }
            Some(ExitReason::Faulted(_)) => INIT_FAULTED,
            None => KERNEL_FAULT,
        };
        kprintln!("exokernel: no environment left; powering off with status {status}");
        self.power_off(status)
    }

    /// Ends the machine with `status` once the kernel's tables pass their consistency check,
    /// and with [`KERNEL_FAULT`] when they do not.
    pub fn power_off(&self, status: u8) -> ! {
        match consistency::check(self) {
            Ok(summary) => kprintln!(
                "exokernel: tables consistent: {} free frames, {} bindings, {} living environments",
                summary.free_frames,
                summary.bindings,
                summary.living_environments
            ),
            Err(inconsistency) => {
                kprintln!("exokernel: TABLES INCONSISTENT: {inconsistency}");
                exit_qemu(KERNEL_FAULT)
            }
        }
        exit_qemu(status)
    }

    /// Whether `id` is the init environment (the first one created).
    pub fn is_init(&self, id: EnvId) -> bool {
        id == EnvId(1)
    }
}

//! The one kernel state, on the PC: `exo_system::kernel::Kernel` behind the lock every trap
//! takes for its whole duration (one CPU, interrupts off in the kernel).

use crate::arch::syscall_entry;
use crate::arch::trap::{TrapFrame, enter_user};
use crate::pc::Pc;
use exo_core::frame_table::FrameTable;
use exo_core::ramdisk::Ramdisk;

/// The kernel state on this machine.
pub type Kernel = exo_system::kernel::Kernel<Pc>;

static KERNEL: spin::Mutex<Option<Kernel>> = spin::Mutex::new(None);

/// Installs the kernel state; called once at boot.
pub fn install(frames: FrameTable, ramdisk: Ramdisk<'static>) {
    *KERNEL.lock() = Some(Kernel::new(frames, ramdisk));
}

/// Runs `action` on the kernel state.
pub fn with<T>(action: impl FnOnce(&mut Kernel) -> T) -> T {
    with_entry_pointed(|kernel| {
        let result = action(kernel);
        follow_running(kernel);
        result
    })
}

/// Runs `action` on the kernel state; the action itself leaves the entry of endpoint calls and
/// replies pointed at the environment that runs next (with [`follow_running`], or knowing it).
#[inline]
pub fn with_entry_pointed<T>(action: impl FnOnce(&mut Kernel) -> T) -> T {
    let mut guard = KERNEL.lock();
    action(guard.as_mut().expect("kernel state installed at boot"))
}

/// Points the entry of endpoint calls and replies at the saved registers of the environment
/// that runs next. The running environment changes only under the kernel lock, so following it
/// at the end of every [`with`] misses no change; when it has not changed this is one compare.
fn follow_running(kernel: &mut Kernel) {
    if let Some(running) = kernel.current
        && !syscall_entry::saves_transfers_of(running)
        && let Some(machine) = kernel.environments.machine_mut(running)
    {
        syscall_entry::save_transfers_in(running, &mut machine.registers);
    }
}

/// Starts scheduling; the kernel is entered only through traps afterwards.
pub fn run() -> ! {
    let mut registers = TrapFrame::default();
    with(|kernel| kernel.start_scheduling(&mut registers));
    enter_user(&registers)
}

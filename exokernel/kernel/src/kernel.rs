//! The one kernel state, on the PC: `exo_system::kernel::Kernel` behind the lock every trap
//! takes for its whole duration (one CPU, interrupts off in the kernel), but for the fast path
//! of protected control transfer, which needs none: see [`with_unlocked_at_user_entry`].

use crate::arch::syscall_entry;
use crate::arch::trap::{TrapFrame, enter_user};
use crate::pc::Pc;
use exo_core::frame_table::FrameTable;
use exo_core::ramdisk::Ramdisk;
use spin::mutex::SpinMutex;

/// The kernel state on this machine.
pub type Kernel = exo_system::kernel::Kernel<Pc>;

static KERNEL: SpinMutex<Option<Kernel>> = SpinMutex::new(None);

/// Installs the kernel state; called once at boot.
pub fn install(frames: FrameTable, ramdisk: Ramdisk<'static>) {
    *KERNEL.lock() = Some(Kernel::new(frames, ramdisk));
}

/// Runs `action` on the kernel state. Never inlined, so that the paths which take no lock (the
/// null call's) keep their callers' frames small.
#[inline(never)]
pub fn with<T>(action: impl FnOnce(&mut Kernel) -> T) -> T {
    let mut guard = KERNEL.lock();
    action(guard.as_mut().expect("kernel state installed at boot"))
}

/// [`with`] for a trap after which another environment may run: the entry of endpoint calls and
/// replies then follows it ([`follow_running`]).
pub fn with_switching<T>(action: impl FnOnce(&mut Kernel) -> T) -> T {
    with(|kernel| {
        let result = action(kernel);
        follow_running(kernel);
        result
    })
}

/// Runs `action` on the kernel state without taking its lock, for the fast path of protected
/// control transfer and for a page protection, which take none (as the null call takes none).
/// The action leaves the entry of endpoint calls and replies pointed at the environment that
/// runs next.
#[inline(always)]
pub fn with_unlocked_at_user_entry<T>(action: impl FnOnce(&mut Kernel) -> T) -> T {
    debug_assert!(
        !KERNEL.is_locked(),
        "user code ran with the kernel state locked"
    );
    // SAFETY: called only by the `syscall` entry's handlers, entered from user mode on the
    // kernel's one CPU with interrupts off. Whatever held the lock released it before user code
    // ran (the handling of every trap ends before the exit to user mode), and nothing else runs
    // until the action returns: this is the only reference to the state meanwhile.
    let kernel = unsafe { &mut *KERNEL.as_mut_ptr() };
    action(kernel.as_mut().expect("kernel state installed at boot"))
}

/// Points the entry of endpoint calls and replies at the saved registers of the environment
/// that runs next; when it has not changed this is one compare. Whatever may change the running
/// environment calls it before the exit to user mode: [`with_switching`], a system call that
/// does not resume its caller, and the transfer fast path (which points the entry itself).
pub fn follow_running(kernel: &mut Kernel) {
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
    with_switching(|kernel| kernel.start_scheduling(&mut registers));
    enter_user(&registers)
}

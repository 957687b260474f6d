//! Kernel self-tests chosen in `boot.cfg`; each ends the machine with its verdict.

use crate::arch::cpu::exit_qemu;
use crate::kernel;
use crate::kprintln;
use exo_core::environments::EnvId;
use exo_core::guest_status::SELF_TEST_FAILED;

/// Reads a mapped user page of environment `victim` from the kernel without lifting SMAP. The
/// read must fault (and the fault handler ends the machine with the kernel-fault status); if it
/// succeeds, SMAP is not protecting the kernel and the test fails.
pub fn smap(victim: EnvId) -> ! {
    let address = kernel::with(|kernel| {
        kernel.current = Some(victim);
        let address_space = kernel.current_address_space();
        address_space.activate();
        let entry = kernel.environments.machine(victim).map(|m| m.registers.rip);
        entry.expect("the victim environment is alive")
    });
    kprintln!("smap selftest: touching user memory at {address:#x} without the user-copy path");
    // SAFETY: deliberately unsound if SMAP were off: it reads a user page the kernel may not
    // touch here. With SMAP on, the CPU raises a page fault before any byte is read.
    let byte = unsafe { (address as *const u8).read_volatile() };
    kprintln!("smap selftest: FAILED: the kernel read user byte {byte:#x} at {address:#x}");
    exit_qemu(SELF_TEST_FAILED)
}

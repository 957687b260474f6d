//! CPU features and privileged instructions: protection bits, user-memory access windows,
//! faulting-address register, halting and the QEMU exit port.

use super::clock;
use core::arch::asm;
use x86_64::instructions::port::Port;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr2, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

/// Why the CPU cannot run this kernel.
#[derive(Debug)]
pub enum MissingFeature {
    Smep,
    Smap,
    NoExecute,
}

/// Turns on no-execute pages, supervisor-mode execution and access prevention (SMEP, SMAP) and
/// write protection of read-only pages in ring 0 (Intel SDM vol. 3A, 4.6).
pub fn enable_protections() -> Result<(), MissingFeature> {
    let extended = core::arch::x86_64::__cpuid_count(7, 0);
    let amd_features = core::arch::x86_64::__cpuid(0x8000_0001);
    if extended.ebx & (1 << 7) == 0 {
        return Err(MissingFeature::Smep);
    }
    if extended.ebx & (1 << 20) == 0 {
        return Err(MissingFeature::Smap);
    }
    if amd_features.edx & (1 << 20) == 0 {
        return Err(MissingFeature::NoExecute);
    }
    // SAFETY: the features were checked above; the kernel never executes user pages, reaches
    // user memory only inside `with_user_access`, and never writes its own read-only pages.
    unsafe {
        Efer::update(|flags| flags.insert(EferFlags::NO_EXECUTE_ENABLE));
        Cr0::update(|flags| flags.insert(Cr0Flags::WRITE_PROTECT));
        Cr4::update(|flags| {
            flags.insert(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION);
            flags.insert(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION);
        });
    }
    Ok(())
}

/// Runs `access` with SMAP lifted, the only way the kernel touches user memory. The caller must
/// have checked that every user page `access` touches is mapped user-accessible.
pub fn with_user_access<T>(access: impl FnOnce() -> T) -> T {
    // Neither `stac` nor `clac` is marked `nomem`: they must stay compiler barriers, or the
    // optimiser may move the user-memory accesses of `access` outside the window (it did, in
    // an inlined 16-byte copy, which then faulted under SMAP).
    // SAFETY: `stac` only sets RFLAGS.AC; SMAP is supported (checked at boot).
    unsafe { asm!("stac", options(nostack)) };
    let result = access();
    // SAFETY: `clac` only clears RFLAGS.AC.
    unsafe { asm!("clac", options(nostack)) };
    result
}

/// The address of the last page fault.
pub fn faulting_address() -> u64 {
    Cr2::read_raw()
}

/// Halts with interrupts enabled until one arrives and is handled, then disables them again;
/// returns the time-stamp-counter ticks that took.
pub fn wait_for_interrupt() -> u64 {
    let start = clock::read_tsc();
    // SAFETY: the kernel idles here holding no user-memory access window; `sti` takes effect
    // after `hlt` starts, so no interrupt is lost between them, and the only interrupt handlers
    // that run in kernel mode (the timer's, the disk's and the network's) touch no kernel state
    // but an atomic flag.
    unsafe { asm!("sti", "hlt", "cli", options(nomem, nostack)) };
    clock::read_tsc().wrapping_sub(start)
}

/// Stops the CPU for good.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Asks QEMU's isa-debug-exit device to end the emulator with `status`; halts if there is no
/// such device.
pub fn exit_qemu(status: u8) -> ! {
    let mut port = Port::<u32>::new(exo_core::guest_status::DEBUG_EXIT_PORT);
    // SAFETY: the debug-exit port has no effect on memory; on a machine without the device the
    // write is ignored.
    unsafe { port.write(u32::from(status)) };
    halt_forever()
}

//! Reading the serial console: the bytes the port receives are polled into a ring
//! (`exo_core::console_ring`) whenever the kernel schedules or idles, and `ConsoleRead` takes
//! them. The console is one device for everyone; which program reads it is the library OSes'
//! business. A reader that finds nothing sleeps until a byte arrives; then every sleeping reader
//! wakes and its call restarts, so the first to run gets the bytes and the others sleep again.

use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::syscalls::Outcome;
use crate::trap_frame::TrapFrame;
use crate::user_memory::{check_writable, copy_to_user};
use alloc::vec;
use exo_abi::{CONSOLE_READ_MAX_BYTES, ConsoleReadFlags, Error, arguments};
use exo_core::environments::EnvId;

/// Length of the `syscall` instruction, by which a blocked read's return address is moved back
/// so that the call runs again when the reader wakes (its `rax` still holds the call number).
const SYSCALL_INSTRUCTION_BYTES: u64 = 2;

/// [`exo_abi::Syscall::ConsoleRead`], whose arguments are in the caller's `frame`.
pub fn console_read<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::ConsoleRead,
    frame: &mut TrapFrame,
) -> Outcome {
    match read(kernel, a.buffer, a.len, a.flags) {
        Ok(Some(count)) => Outcome::Return(Ok(count)),
        Ok(None) => {
            frame.rip = frame.rip.wrapping_sub(SYSCALL_INSTRUCTION_BYTES);
            kernel
                .predicate_sleepers
                .retain(|stale| stale.env != caller);
            if kernel.environments.sleep(caller) {
                kernel.console_readers.insert(caller);
            }
            Outcome::Blocked
        }
        Err(error) => Outcome::Return(Err(error)),
    }
}

/// Copies buffered bytes to the caller's buffer: how many, or `None` when the caller must wait
/// for the first one.
fn read<P: Platform>(
    kernel: &mut Kernel<P>,
    buffer: u64,
    len: u64,
    flags: u64,
) -> Result<Option<u64>, Error> {
    let flags = ConsoleReadFlags::from_bits(flags).ok_or(Error::InvalidArgument)?;
    if len > CONSOLE_READ_MAX_BYTES {
        return Err(Error::TooLong);
    }
    check_writable::<P>(kernel.current_address_space(), buffer, len)?;
    kernel.poll_console();
    if len == 0 {
        return Ok(Some(0));
    }
    if kernel.console_input.is_empty() {
        let is_nonblocking = flags.contains(ConsoleReadFlags::NONBLOCKING);
        return Ok(is_nonblocking.then_some(0));
    }
    let mut bytes = vec![0; kernel.console_input.len().min(len as usize)];
    let count = kernel.console_input.take(&mut bytes);
    copy_to_user::<P>(kernel.current_address_space(), buffer, &bytes)?;
    Ok(Some(count as u64))
}

impl<P: Platform> Kernel<P> {
    /// Moves the bytes the console port holds into the ring, as many as fit; when bytes are
    /// waiting, wakes every reader that sleeps for them. Returns whether any woke.
    pub fn poll_console(&mut self) -> bool {
        self.console_input.fill_from(P::console_byte);
        if self.console_input.is_empty() {
            return false;
        }
        let mut has_woken = false;
        for reader in core::mem::take(&mut self.console_readers) {
            has_woken |= self.environments.wake(reader);
        }
        has_woken
    }
}

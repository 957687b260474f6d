//! What the kernel tells of time ([`exo_abi::Syscall::ClockInfo`]): the platform's clock facts,
//! measured and read once at boot, copied to the caller.

use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::user_memory::copy_to_user;
use exo_abi::Error;

/// [`exo_abi::Syscall::ClockInfo`].
pub fn clock_info<P: Platform>(kernel: &Kernel<P>, buffer: u64) -> Result<u64, Error> {
    copy_to_user::<P>(
        kernel.current_address_space(),
        buffer,
        &P::clock_info().to_bytes(),
    )?;
    Ok(0)
}

//! The time-slice system calls: allocating and freeing slots, choosing upcalls, and directed
//! yield. Each call is documented in `exo_abi::Syscall`.

use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::syscalls::Outcome;
use crate::trap_frame::TrapFrame;
use exo_abi::slice::SLOT_ANY;
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, encode_result};
use exo_core::environments::EnvId;

pub fn slice_allocate<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    position: u64,
) -> Result<u64, Error> {
    let position = match position {
        SLOT_ANY => None,
        position => Some(usize::try_from(position).map_err(|_| Error::InvalidArgument)?),
    };
    kernel
        .slices
        .allocate(caller, position)
        .map(|position| position as u64)
}

pub fn slice_free<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    position: u64,
) -> Result<u64, Error> {
    let position = usize::try_from(position).map_err(|_| Error::InvalidArgument)?;
    kernel.slices.free(caller, position)?;
    kernel.note_holdings_changed();
    Ok(0)
}

pub fn set_upcalls<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    enabled: u64,
) -> Result<u64, Error> {
    let machine = kernel.current_machine();
    let enabled = Upcalls::from_bits(enabled).ok_or(Error::InvalidArgument)?;
    if !enabled.is_empty() && machine.exception_handler.is_none() {
        return Err(Error::InvalidArgument);
    }
    machine.upcalls_enabled = enabled;
    kernel.slices.set_upcalls(
        caller,
        enabled.contains(Upcalls::SLICE_EPILOGUE),
        enabled.contains(Upcalls::SLICE_PROLOGUE),
    );
    Ok(0)
}

pub fn yield_to<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    target: u64,
    frame: &mut TrapFrame,
) -> Outcome {
    let Ok(target) = u32::try_from(target) else {
        return Outcome::Return(Err(Error::Unavailable));
    };
    match kernel
        .slices
        .yield_to(caller, EnvId(target), &kernel.environments)
    {
        Ok(decision) => {
            frame.rax = encode_result(Ok(0));
            kernel.carry_out(decision, frame);
            Outcome::Switched
        }
        Err(error) => Outcome::Return(Err(error)),
    }
}

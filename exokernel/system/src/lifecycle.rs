//! Environments built by hand and ended by force: `EnvironmentCreate`, `EnvironmentStart` and
//! `EnvironmentKill`. A library OS creates an empty environment, fills its address space
//! (`FrameGrant` and `PageMapInto`, or `PageShare`) and starts it; whoever holds `CONTROL` over
//! an environment may kill it or any of its living descendants. Each call is documented in
//! `exo_abi::Syscall`; the table rules (unstarted, descendants) are
//! `exo_core::environments`'.

use crate::capabilities::{self, environment_named, target_of};
use crate::environment::first_registers;
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::syscalls::{Outcome, copy_in};
use exo_abi::capability::Rights;
use exo_abi::{Error, ExitReason, arguments};
use exo_core::environments::{EnvId, EnvState};

/// [`exo_abi::Syscall::EnvironmentCreate`].
pub fn environment_create<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    name: u64,
    name_len: u64,
) -> Result<u64, Error> {
    let name = copy_in(kernel, name, name_len, exo_abi::PROGRAM_NAME_MAX_BYTES)?;
    let name = core::str::from_utf8(&name).map_err(|_| Error::InvalidArgument)?;
    if !capabilities::has_room(kernel, caller) {
        return Err(Error::NoMemory);
    }
    let child = kernel.create_unstarted(name, caller)?;
    capabilities::hold_child(kernel, caller, child)
}

/// [`exo_abi::Syscall::EnvironmentStart`].
pub fn environment_start<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::EnvironmentStart,
) -> Result<u64, Error> {
    let target = environment_named(kernel, caller, a.environment, Rights::CONTROL)?;
    let is_unstarted = kernel
        .environments
        .get(target)
        .is_some_and(|environment| environment.state == EnvState::Unstarted);
    if !is_unstarted {
        return Err(Error::InvalidArgument);
    }
    if a.rip >= exo_abi::USER_END || a.rsp >= exo_abi::USER_END {
        return Err(Error::BadAddress);
    }
    let frames_at_start = kernel.frames.memory_frame_count(target);
    let machine = kernel
        .environments
        .machine_mut(target)
        .expect("checked alive above");
    machine.registers = first_registers::<P>(a.rip, a.rsp, a.rdi, a.rsi);
    machine.frames_at_start = frames_at_start;
    kernel.environments.start(target)?;
    Ok(0)
}

/// [`exo_abi::Syscall::EnvironmentKill`]: the caller's call ends with it when it kills itself.
pub fn environment_kill<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    handle: u64,
    id: u64,
) -> Outcome {
    let victim = match victim_of(kernel, caller, handle, id) {
        Ok(victim) => victim,
        Err(error) => return Outcome::Return(Err(error)),
    };
    kernel.end(victim, ExitReason::Killed);
    // The caller may have been in the subtree it killed.
    if kernel.environments.machine(caller).is_none() {
        Outcome::Ended
    } else {
        Outcome::Return(Ok(0))
    }
}

/// The environment `id` (0: the one `handle` names), when `caller`'s capability `handle`
/// carries `CONTROL` over it or one of its ancestors.
fn victim_of<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    handle: u64,
    id: u64,
) -> Result<EnvId, Error> {
    let subtree = target_of(kernel, caller, handle, Rights::CONTROL)?;
    let victim = match id {
        0 => subtree,
        id => EnvId(u32::try_from(id).map_err(|_| Error::NoSuchEnvironment)?),
    };
    if kernel.is_init(victim) {
        return Err(Error::PermissionDenied);
    }
    if !kernel.environments.is_living_descendant(victim, subtree) {
        return Err(Error::NoSuchEnvironment);
    }
    Ok(victim)
}

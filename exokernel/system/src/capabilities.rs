//! Capability calls, and the one check every call that acts on another environment makes:
//! the handle must name a capability of the caller's, with the rights the call needs, over an
//! environment that is still alive. The table rules are `exo_core::capabilities`'.

use crate::kernel::{Kernel, Machine};
use crate::platform::Platform;
use exo_abi::Error;
use exo_abi::capability::Rights;
use exo_core::capabilities::{self, Capability, Object};
use exo_core::environments::EnvId;

fn machine_of<P: Platform>(kernel: &Kernel<P>, caller: EnvId) -> &Machine<P> {
    kernel
        .environments
        .machine(caller)
        .expect("the caller of a system call is alive")
}

/// The machine state of `caller`, the living environment making a call.
pub fn caller_machine<P: Platform>(kernel: &mut Kernel<P>, caller: EnvId) -> &mut Machine<P> {
    kernel
        .environments
        .machine_mut(caller)
        .expect("the caller of a system call is alive")
}

/// The environment, living or ended, that `caller`'s capability `handle` names, when it
/// carries the `needed` rights.
pub fn target_of<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    handle: u64,
    needed: Rights,
) -> Result<EnvId, Error> {
    capabilities::resolve(
        &machine_of(kernel, caller).capabilities,
        caller,
        handle,
        needed,
    )
}

/// The living environment that `caller`'s capability `handle` names, when it carries the
/// `needed` rights.
pub fn environment_named<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    handle: u64,
    needed: Rights,
) -> Result<EnvId, Error> {
    let target = target_of(kernel, caller, handle, needed)?;
    if kernel.environments.machine(target).is_some() {
        Ok(target)
    } else {
        Err(Error::NoSuchEnvironment)
    }
}

/// Gives `caller` a capability with every right over its new child `child` (spawned or
/// created empty).
/// The caller's room was checked before the child was made.
pub fn hold_child<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    child: EnvId,
) -> Result<u64, Error> {
    caller_machine(kernel, caller)
        .capabilities
        .insert(Capability::over_environment(child, Rights::ALL))
}

/// The child that `caller`'s capability `handle` lets it wait for. Unlike other rights, this
/// one reaches an ended child that is not reaped yet.
pub fn child_to_reap<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    handle: u64,
) -> Result<EnvId, Error> {
    target_of(kernel, caller, handle, Rights::WAIT)
}

/// Drops the handle of a child that is reaped, or will be when it ends.
pub fn drop_reaped<P: Platform>(kernel: &mut Kernel<P>, caller: EnvId, handle: u64) {
    // The handle was resolved just before, so it is there to remove.
    let _ = caller_machine(kernel, caller).capabilities.remove(handle);
}

/// Whether `caller` can hold one more capability.
pub fn has_room<P: Platform>(kernel: &Kernel<P>, caller: EnvId) -> bool {
    machine_of(kernel, caller).capabilities.has_room()
}

/// [`exo_abi::Syscall::CapabilityCopy`]. Rights bits no right is named by are refused as
/// rights that cannot move are ([`Error::InvalidArgument`]), once the handle is known good.
pub fn capability_copy<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    handle: u64,
    wanted_rights: u64,
    receiver: u64,
) -> Result<u64, Error> {
    let copy = capabilities::held(&machine_of(kernel, caller).capabilities, caller, handle)?
        .narrowed(Rights::from_bits(wanted_rights).ok_or(Error::InvalidArgument)?)?;
    let receiver = environment_named(kernel, caller, receiver, Rights::GRANT)?;
    kernel
        .environments
        .machine_mut(receiver)
        .expect("checked alive above")
        .capabilities
        .insert(copy)
}

/// [`exo_abi::Syscall::CapabilityDrop`]. Dropping the one handle that waits for a child means
/// nobody can reap it, so the child leaves the table when it ends.
pub fn capability_drop<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    handle: u64,
) -> Result<u64, Error> {
    let dropped = caller_machine(kernel, caller).capabilities.remove(handle)?;
    if let Some(child) = dropped.environment()
        && dropped.rights.contains(Rights::WAIT)
    {
        kernel.environments.disown(child);
    }
    Ok(0)
}

/// [`exo_abi::Syscall::CapabilityInspect`].
pub fn capability_inspect<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    handle: u64,
) -> Result<u64, Error> {
    let capability = machine_of(kernel, caller).capabilities.get(handle)?;
    let id = match capability.object {
        Object::Environment(target) => u64::from(target.0),
        Object::Endpoint(endpoint) => endpoint.0 & 0xFFFF_FFFF,
    };
    Ok(id | capability.rights.bits() << 32)
}

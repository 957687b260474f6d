//! Protected control transfer (see `exo_abi::ipc`): the endpoint calls, carried out with the
//! bookkeeping of `exo_core::endpoints`.
//!
//! The fast path, a call to a waiting server and its reply, switches between the two
//! environments without the scheduler: the kernel writes the message into the receiver's saved
//! registers and hands it the rest of the slot (`Kernel::hand_over`), with no allocation and no
//! lock beyond the one every call takes. Every other case (a busy server, queued callers, a
//! slot in its epilogue) goes through the scheduler and stays in arrival order.

use crate::capabilities;
use crate::kernel::{Kernel, Lent};
use crate::pages;
use crate::platform::Platform;
use crate::syscalls::Outcome;
use crate::trap_frame::TrapFrame;
use exo_abi::capability::rights;
use exo_abi::ipc::{LEND_FLAGS, LEND_KEEP, LEND_WRITABLE, LENT, Message, REPLY};
use exo_abi::kernel_memory::ENDPOINT_BYTES;
use exo_abi::{Error, arguments, encode_result};
use exo_core::PAGE_SIZE;
use exo_core::capabilities::{Capability, Object, resolve_endpoint};
use exo_core::endpoints::{EndpointId, Step};
use exo_core::environments::EnvId;
use exo_core::mappings::{PageRights, Place};

/// [`exo_abi::Syscall::EndpointCreate`].
pub fn endpoint_create<P: Platform>(kernel: &mut Kernel<P>, caller: EnvId) -> Result<u64, Error> {
    if !capabilities::has_room(kernel, caller) {
        return Err(Error::NoMemory);
    }
    kernel.charge(caller, ENDPOINT_BYTES)?;
    let endpoint = kernel.endpoints.create(caller);
    let capability = Capability {
        object: Object::Endpoint(endpoint),
        rights: rights::CALL | rights::RECEIVE,
    };
    capabilities::caller_machine(kernel, caller)
        .capabilities
        .insert(capability)
}

/// [`exo_abi::Syscall::EndpointCall`].
pub fn endpoint_call<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::EndpointCall,
    frame: &mut TrapFrame,
) -> Outcome {
    let step = endpoint_named(kernel, caller, a.endpoint, rights::CALL).and_then(|endpoint| {
        check_lend(kernel, caller, a.lend)?;
        let message = [a.word0, a.word1, a.word2, a.word3];
        kernel.endpoints.call(endpoint, caller, message, a.lend)
    });
    match step {
        Err(error) => Outcome::Return(Err(error)),
        Ok(Step::Deliver {
            server,
            message,
            lend,
            ..
        }) => {
            kernel.environments.block_in_call(caller);
            kernel.environments.end_receive(server);
            let received = receive_word(kernel, caller, server, lend);
            if let Some(machine) = kernel.environments.machine_mut(server) {
                put_message(&mut machine.registers, Ok(received), message);
            }
            kernel.hand_over(caller, server, frame);
            Outcome::Switched
        }
        Ok(_) => {
            kernel.environments.block_in_call(caller);
            Outcome::Blocked
        }
    }
}

/// [`exo_abi::Syscall::EndpointReplyAndWait`].
pub fn endpoint_reply_and_wait<P: Platform>(
    kernel: &mut Kernel<P>,
    server: EnvId,
    a: arguments::EndpointReplyAndWait,
    frame: &mut TrapFrame,
) -> Outcome {
    match reply_and_wait(kernel, server, a, frame) {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Return(Err(error)),
    }
}

fn reply_and_wait<P: Platform>(
    kernel: &mut Kernel<P>,
    server: EnvId,
    a: arguments::EndpointReplyAndWait,
    frame: &mut TrapFrame,
) -> Result<Outcome, Error> {
    let endpoint = endpoint_named(kernel, server, a.endpoint, rights::RECEIVE)?;
    let window = a.flags & !(PAGE_SIZE - 1);
    if a.flags & (PAGE_SIZE - 1) & !REPLY != 0 {
        return Err(Error::InvalidArgument);
    }
    if window != 0 {
        let place = pages::place_of(server, window)?;
        let lent = capabilities::caller_machine(kernel, server).lent;
        let is_freed_by_reply =
            a.flags & REPLY != 0 && lent.is_some_and(|lent| lent.window == window);
        if kernel.mappings.lookup(place).is_some() && !is_freed_by_reply {
            return Err(Error::Occupied);
        }
    }
    let (woken, next) = if a.flags & REPLY != 0 {
        let reply = [a.word0, a.word1, a.word2, a.word3];
        let steps = kernel.endpoints.reply_and_wait(endpoint, server, reply)?;
        take_back_lent_page(kernel, server);
        steps
    } else {
        (None, kernel.endpoints.wait(endpoint, server)?)
    };
    capabilities::caller_machine(kernel, server).receive_window = window;
    let woken = woken.and_then(|step| wake_caller(kernel, step));
    match next {
        Step::Deliver {
            caller,
            message,
            lend,
            ..
        } => {
            let received = receive_word(kernel, caller, server, lend);
            put_message(frame, Ok(received), message);
            Ok(Outcome::Switched)
        }
        _ => {
            kernel.environments.block_in_receive(server);
            match woken {
                Some(caller) => {
                    kernel.hand_over(server, caller, frame);
                    Ok(Outcome::Switched)
                }
                None => Ok(Outcome::Blocked),
            }
        }
    }
}

/// The endpoint `caller`'s capability `handle` names, with the `needed` rights.
fn endpoint_named<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    handle: u64,
    needed: u64,
) -> Result<EndpointId, Error> {
    let machine = kernel
        .environments
        .machine(caller)
        .expect("the caller of a system call is alive");
    resolve_endpoint(&machine.capabilities, handle, needed)
}

/// Checks a page a caller lends: 0, or one of its bindings, writable if lent writable.
fn check_lend<P: Platform>(kernel: &Kernel<P>, caller: EnvId, lend: u64) -> Result<(), Error> {
    if lend == 0 {
        return Ok(());
    }
    if lend & (PAGE_SIZE - 1) & !LEND_FLAGS != 0 {
        return Err(Error::InvalidArgument);
    }
    let place = pages::place_of(caller, lend & !LEND_FLAGS)?;
    let binding = kernel.mappings.lookup(place).ok_or(Error::NotFound)?;
    if lend & LEND_WRITABLE != 0 && !binding.rights.is_writable {
        return Err(Error::PermissionDenied);
    }
    Ok(())
}

/// The word a server receives with a call from `caller`: the caller's id, with [`LENT`] when
/// the page it lends is now bound at the server's window (which it then uses up).
fn receive_word<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    server: EnvId,
    lend: u64,
) -> u64 {
    let caller_word = u64::from(caller.0);
    let Some(window) = kernel
        .environments
        .machine(server)
        .map(|machine| machine.receive_window)
    else {
        return caller_word;
    };
    if lend == 0 || window == 0 {
        return caller_word;
    }
    let source = Place::new(caller, lend / PAGE_SIZE);
    let rights = PageRights {
        is_writable: lend & LEND_WRITABLE != 0,
        is_executable: false,
    };
    // The lend was checked when the call was made; whatever changed since (a revocation of the
    // caller's page) only means the call arrives without it.
    if pages::share_binding(kernel, source, server, window, rights).is_err() {
        return caller_word;
    }
    let machine = capabilities::caller_machine(kernel, server);
    machine.receive_window = 0;
    if lend & LEND_KEEP == 0 {
        machine.lent = Some(Lent { window, source });
    }
    caller_word | LENT
}

/// Unbinds the page lent for the call `server` served, if it is still the lent one there.
fn take_back_lent_page<P: Platform>(kernel: &mut Kernel<P>, server: EnvId) {
    let Some(lent) = capabilities::caller_machine(kernel, server).lent.take() else {
        return;
    };
    let place = Place::new(server, lent.window / PAGE_SIZE);
    let is_still_lent = kernel
        .mappings
        .lookup(place)
        .is_some_and(|binding| binding.parent == Some(lent.source));
    if is_still_lent && let Ok(removals) = kernel.mappings.unmap(place) {
        kernel.clear_page_table_entries(&removals);
    }
}

/// Carries out a [`Step::Reply`]: the caller gets the reply (or the error) and becomes
/// runnable. Returns it, when it was waiting.
fn wake_caller<P: Platform>(kernel: &mut Kernel<P>, step: Step) -> Option<EnvId> {
    let Step::Reply { caller, reply } = step else {
        return None;
    };
    let machine = kernel.environments.machine_mut(caller)?;
    match reply {
        Ok(message) => put_message(&mut machine.registers, Ok(0), message),
        Err(error) => machine.registers.rax = encode_result(Err(error)),
    }
    kernel.environments.end_call(caller).then_some(caller)
}

/// Writes a result and a message into the registers a call returns them in.
fn put_message(registers: &mut TrapFrame, result: Result<u64, Error>, message: Message) {
    registers.rax = encode_result(result);
    [registers.rsi, registers.rdx, registers.r10, registers.r8] = message;
}

/// `env` has ended: its endpoints go, and the callers they held wake with an error.
pub fn environment_ended<P: Platform>(kernel: &mut Kernel<P>, env: EnvId) {
    for step in kernel.endpoints.environment_ended(env) {
        wake_caller(kernel, step);
    }
}

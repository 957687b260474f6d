//! Protected control transfer (see `exo_abi::ipc`): the endpoint calls, carried out with the
//! bookkeeping of `exo_core::endpoints`.
//!
//! The fast path, a call to a waiting server and its reply, switches between the two
//! environments without the scheduler: the kernel writes the message into the receiver's saved
//! registers and hands it the rest of the slot (`Kernel::hand_over`), with no allocation and no
//! lock beyond the one every call takes. Every other case (a busy server, queued callers, a
//! slot in its epilogue) goes through the scheduler and stays in arrival order.

use crate::capabilities;
use crate::kernel::{Grant, Kernel, Lent};
use crate::pages;
use crate::platform::{AddressSpace, FrameCopy, Platform};
use crate::scheduler::Event;
use crate::syscalls::Outcome;
use crate::trap_frame::TrapFrame;
use crate::user_memory;
use exo_abi::capability::Rights;
use exo_abi::ipc::{
    CHILD_ENDED, COPY_BYTES_MAX, CopyFlags, GrantFlags, LENT, LendFlags, Message, ReplyAndWaitFlags,
};
use exo_abi::kernel_memory::ENDPOINT_BYTES;
use exo_abi::{Error, PageRights, arguments, encode_result};
use exo_core::PAGE_SIZE;
use exo_core::capabilities::{Capability, Object, resolve_endpoint};
use exo_core::endpoints::Step;
use exo_core::environments::{EnvId, EnvState};
use exo_core::mappings::{MappingDatabase, Place};
use exo_core::user_range::UserRange;

/// [`exo_abi::Syscall::EndpointCreate`].
pub fn endpoint_create<P: Platform>(kernel: &mut Kernel<P>, caller: EnvId) -> Result<u64, Error> {
    if !capabilities::has_room(kernel, caller) {
        return Err(Error::NoMemory);
    }
    kernel.charge(caller, ENDPOINT_BYTES)?;
    let endpoint = kernel.endpoints.create(caller);
    let capability = Capability {
        object: Object::Endpoint(endpoint),
        rights: Rights::CALL | Rights::RECEIVE,
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
    let message = [a.word0, a.word1, a.word2, a.word3];
    let Kernel {
        environments,
        endpoints,
        mappings,
        slices,
        ..
    } = &mut *kernel;
    let Some(caller_environment) = environments.get_mut(caller) else {
        return Outcome::Return(Err(Error::NoSuchEnvironment));
    };
    let Some(machine) = caller_environment.machine.as_mut() else {
        return Outcome::Return(Err(Error::NoSuchEnvironment));
    };
    let step = resolve_endpoint(&machine.capabilities, a.endpoint, Rights::CALL).and_then(|id| {
        check_lend(mappings, caller, a.lend)?;
        endpoints.call(id, caller, message, a.lend)
    });
    let server = match step {
        Err(error) => {
            machine.grant = None;
            return Outcome::Return(Err(error));
        }
        Ok(Step::Deliver { server, .. }) => server,
        Ok(_) => {
            caller_environment.state = EnvState::Calling;
            return Outcome::Blocked;
        }
    };
    caller_environment.state = EnvState::Calling;
    // The server waits: straight to it, unless the slot is in its epilogue's grace.
    let is_direct = slices.hand_over(caller, server);
    if is_direct {
        machine.registers = *frame;
    }
    let received = if a.lend == 0 {
        u64::from(caller.0)
    } else {
        receive_word(kernel, caller, server, a.lend)
    };
    let received = encode_result(Ok(received));
    if is_direct {
        switch_to_receiver(kernel, server, received, message, frame);
    } else {
        kernel.environments.end_receive(server);
        if let Some(machine) = kernel.environments.machine_mut(server) {
            put_message(&mut machine.registers, received, message);
        }
        kernel.reschedule(frame, Event::Yielded);
    }
    Outcome::Switched
}

/// The end of the fast path: `receiver`, blocked, runs now with `result` and `message` in its
/// registers; the registers of the environment leaving the CPU are saved already.
fn switch_to_receiver<P: Platform>(
    kernel: &mut Kernel<P>,
    receiver: EnvId,
    result: u64,
    message: Message,
    frame: &mut TrapFrame,
) {
    let environment = kernel
        .environments
        .get_mut(receiver)
        .expect("a blocked receiver is alive");
    environment.state = EnvState::Runnable;
    let machine = environment
        .machine
        .as_ref()
        .expect("a blocked receiver is alive");
    *frame = machine.registers;
    put_message(frame, result, message);
    machine.address_space.activate();
    kernel.current = Some(receiver);
    kernel.counters.switches += 1;
}

/// [`exo_abi::Syscall::EndpointReplyAndWait`].
pub fn endpoint_reply_and_wait<P: Platform>(
    kernel: &mut Kernel<P>,
    server: EnvId,
    a: arguments::EndpointReplyAndWait,
    frame: &mut TrapFrame,
) -> Outcome {
    let Served {
        woken,
        next,
        lent,
        learns_of_ended_child,
        hands_back,
    } = match serve(kernel, server, a, frame) {
        Ok(served) => served,
        Err(error) => return Outcome::Return(Err(error)),
    };
    if let Some(lent) = lent {
        take_back_lent_page(kernel, server, lent);
    }
    // The fast path: straight back to the caller.
    if let Some((caller, message)) = hands_back {
        if let Some(machine) = kernel.environments.machine_mut(caller) {
            machine.grant = None;
        }
        switch_to_receiver(kernel, caller, encode_result(Ok(0)), message, frame);
        return Outcome::Switched;
    }
    if learns_of_ended_child {
        if let Some(woken) = woken {
            wake_caller(kernel, woken);
        }
        return Outcome::Return(Ok(CHILD_ENDED));
    }
    if let Step::Deliver {
        caller,
        message,
        lend,
        ..
    } = next
    {
        // The server goes on with the next queued call; the caller it replied to is runnable.
        if let Some(woken) = woken {
            wake_caller(kernel, woken);
        }
        let received = encode_result(Ok(receive_word(kernel, caller, server, lend)));
        put_message(frame, received, message);
        return Outcome::Switched;
    }
    let Some(woken) = woken else {
        kernel.environments.block_in_receive(server);
        return Outcome::Blocked;
    };
    wake_caller(kernel, woken);
    kernel.environments.block_in_receive(server);
    kernel.reschedule(frame, Event::Yielded);
    Outcome::Switched
}

/// What a reply and wait comes to.
struct Served {
    /// The caller to wake, if any.
    woken: Option<Step>,
    /// The server's next step.
    next: Step,
    /// The page lent for the call answered, to take back.
    lent: Option<Lent>,
    /// Whether the server, instead of waiting, learns that a child ended (it stopped waiting).
    learns_of_ended_child: bool,
    /// On the fast path, the caller to switch straight back to with its reply: the server's
    /// registers are saved and it waits already.
    hands_back: Option<(EnvId, Message)>,
}

/// The checks and the bookkeeping of a reply and wait.
#[inline(always)]
fn serve<P: Platform>(
    kernel: &mut Kernel<P>,
    server: EnvId,
    a: arguments::EndpointReplyAndWait,
    frame: &TrapFrame,
) -> Result<Served, Error> {
    let Kernel {
        environments,
        endpoints,
        slices,
        ..
    } = kernel;
    let environment = environments
        .get_mut(server)
        .ok_or(Error::NoSuchEnvironment)?;
    let machine = environment
        .machine
        .as_mut()
        .ok_or(Error::NoSuchEnvironment)?;
    let endpoint = resolve_endpoint(&machine.capabilities, a.endpoint, Rights::RECEIVE)?;
    let window = a.flags & !(PAGE_SIZE - 1);
    let flags =
        ReplyAndWaitFlags::from_bits(a.flags & (PAGE_SIZE - 1)).ok_or(Error::InvalidArgument)?;
    let is_reply = flags.contains(ReplyAndWaitFlags::REPLY);
    let is_deferral = flags.contains(ReplyAndWaitFlags::DEFER);
    if is_reply && is_deferral {
        return Err(Error::InvalidArgument);
    }
    // Whether the window is free is checked when a page arrives (it then arrives without the
    // page), not here: a server names its window on every wait.
    if window != 0 {
        pages::place_of(server, window)?;
    }
    let (woken, next) = if is_reply {
        let reply = [a.word0, a.word1, a.word2, a.word3];
        endpoints.reply_and_wait(endpoint, server, reply)?
    } else if is_deferral {
        (None, endpoints.defer_and_wait(endpoint, server)?)
    } else {
        (None, endpoints.wait(endpoint, server)?)
    };
    machine.receive_window = window;
    machine.wakes_on_child_end = flags.contains(ReplyAndWaitFlags::CHILD_ENDS);
    let lent = if is_reply || is_deferral {
        machine.lent.take()
    } else {
        None
    };
    let learns_of_ended_child =
        next == Step::ServerWaits && machine.wakes_on_child_end && machine.child_ended;
    if learns_of_ended_child {
        machine.child_ended = false;
        endpoints.stop_waiting(server);
    }
    let hands_back = match woken {
        Some(Step::Reply {
            caller,
            reply: Ok(message),
        }) if next == Step::ServerWaits
            && !learns_of_ended_child
            && slices.hand_over(server, caller) =>
        {
            machine.registers = *frame;
            environment.state = EnvState::Receiving;
            Some((caller, message))
        }
        _ => None,
    };
    Ok(Served {
        woken,
        next,
        lent,
        learns_of_ended_child,
        hands_back,
    })
}

/// Checks a page a caller lends: 0, or one of its bindings, writable if lent writable.
fn check_lend(mappings: &MappingDatabase, caller: EnvId, lend: u64) -> Result<(), Error> {
    if lend == 0 {
        return Ok(());
    }
    let flags = LendFlags::from_bits(lend & (PAGE_SIZE - 1)).ok_or(Error::InvalidArgument)?;
    let place = pages::place_of(caller, lend & !(PAGE_SIZE - 1))?;
    let binding = mappings.lookup(place).ok_or(Error::NotFound)?;
    if flags.contains(LendFlags::WRITABLE) && !binding.rights.contains(PageRights::WRITABLE) {
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
    // The flags were checked with the call (check_lend): no other bit is set below the page.
    let flags = LendFlags::from_bits_truncate(lend);
    let mut rights = PageRights::empty();
    rights.set(PageRights::WRITABLE, flags.contains(LendFlags::WRITABLE));
    // The lend was checked when the call was made; whatever changed since (a revocation of the
    // caller's page) only means the call arrives without it.
    if pages::share_binding(kernel, source, server, window, rights).is_err() {
        return caller_word;
    }
    let machine = capabilities::caller_machine(kernel, server);
    machine.receive_window = 0;
    if !flags.contains(LendFlags::KEEP) {
        machine.lent = Some(Lent { window, source });
    }
    caller_word | LENT
}

/// Unbinds the page `lent` for the call `server` served, if it is still the lent one there.
fn take_back_lent_page<P: Platform>(kernel: &mut Kernel<P>, server: EnvId, lent: Lent) {
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
    machine.grant = None;
    match reply {
        Ok(message) => put_message(&mut machine.registers, encode_result(Ok(0)), message),
        Err(error) => machine.registers.rax = encode_result(Err(error)),
    }
    kernel.environments.end_call(caller).then_some(caller)
}

/// Writes a result word and a message into the registers a call returns them in.
fn put_message(registers: &mut TrapFrame, result: u64, message: Message) {
    registers.rax = result;
    [registers.rsi, registers.rdx, registers.r10, registers.r8] = message;
}

/// `env` has ended: its endpoints go, and the callers they held wake with an error.
pub fn environment_ended<P: Platform>(kernel: &mut Kernel<P>, env: EnvId) {
    for step in kernel.endpoints.environment_ended(env) {
        wake_caller(kernel, step);
    }
}

/// [`exo_abi::Syscall::EndpointReply`]: the deferred caller becomes runnable; the server
/// goes on.
pub fn endpoint_reply<P: Platform>(
    kernel: &mut Kernel<P>,
    server: EnvId,
    a: arguments::EndpointReply,
) -> Result<u64, Error> {
    let Kernel {
        environments,
        endpoints,
        ..
    } = &mut *kernel;
    let machine = environments
        .machine(server)
        .ok_or(Error::NoSuchEnvironment)?;
    let endpoint = resolve_endpoint(&machine.capabilities, a.endpoint, Rights::RECEIVE)?;
    let caller = EnvId(u32::try_from(a.caller).map_err(|_| Error::NotFound)?);
    let reply = [a.word0, a.word1, a.word2, a.word3];
    let step = endpoints.reply_to(endpoint, server, caller, reply)?;
    wake_caller(kernel, step);
    Ok(0)
}

/// [`exo_abi::Syscall::EndpointGrant`].
pub fn endpoint_grant<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::EndpointGrant,
) -> Result<u64, Error> {
    let flags = GrantFlags::from_bits(a.flags).ok_or(Error::InvalidArgument)?;
    let range = UserRange::new(a.address, a.length)?;
    capabilities::caller_machine(kernel, caller).grant = (!range.is_empty()).then_some(Grant {
        range,
        is_writable: flags.contains(GrantFlags::WRITABLE),
    });
    Ok(0)
}

/// [`exo_abi::Syscall::EndpointCopy`]: the running server copies between its memory and the
/// bytes a caller whose call it holds granted.
pub fn endpoint_copy<P: Platform>(
    kernel: &mut Kernel<P>,
    server: EnvId,
    a: arguments::EndpointCopy,
) -> Result<u64, Error> {
    let flags = CopyFlags::from_bits(a.flags).ok_or(Error::InvalidArgument)?;
    let own = UserRange::with_limit(a.address, a.length, COPY_BYTES_MAX)?;
    let server_machine = kernel
        .environments
        .machine(server)
        .ok_or(Error::NoSuchEnvironment)?;
    let endpoint = resolve_endpoint(&server_machine.capabilities, a.endpoint, Rights::RECEIVE)?;
    let caller = EnvId(u32::try_from(a.caller).map_err(|_| Error::NotFound)?);
    if !kernel.endpoints.holds_call(endpoint, server, caller) {
        return Err(Error::NotFound);
    }
    let caller_machine = kernel.environments.machine(caller).ok_or(Error::NotFound)?;
    let grant = caller_machine.grant.ok_or(Error::NotFound)?;
    let direction = if flags.contains(CopyFlags::TO_GRANT) {
        if !grant.is_writable {
            return Err(Error::PermissionDenied);
        }
        FrameCopy::UserToFrame
    } else {
        FrameCopy::FrameToUser
    };
    let is_inside_grant = a
        .offset
        .checked_add(a.length)
        .is_some_and(|end| end <= grant.range.len());
    if !is_inside_grant {
        return Err(Error::InvalidArgument);
    }
    let granted = UserRange::new(grant.range.start() + a.offset, a.length)?;
    user_memory::copy_between_spaces::<P>(
        &server_machine.address_space,
        own,
        &caller_machine.address_space,
        granted,
        direction,
    )?;
    Ok(0)
}

/// A child of `parent` has ended: `parent` learns of it now if it waits for calls with
/// [`ReplyAndWaitFlags::CHILD_ENDS`], or when it next waits so.
pub fn child_ended<P: Platform>(kernel: &mut Kernel<P>, parent: EnvId) {
    let Some(environment) = kernel.environments.get_mut(parent) else {
        return;
    };
    let is_waiting_for_it = environment.state == EnvState::Receiving;
    let Some(machine) = environment.machine.as_mut() else {
        return;
    };
    machine.child_ended = true;
    if is_waiting_for_it && machine.wakes_on_child_end {
        machine.child_ended = false;
        machine.registers.rax = encode_result(Ok(CHILD_ENDED));
        environment.state = EnvState::Runnable;
        kernel.endpoints.stop_waiting(parent);
    }
}

//! The fast path of protected control transfer: a call to a server that waits with nobody
//! queued, and a plain reply (no flags, no window) to a caller when nobody else is queued, both
//! while the slot is in progress. These are B2's two halves and what every call to a server
//! that keeps up comes to.
//!
//! It is tried before the call is decoded (`crate::syscalls::transfer`) and either completes the
//! transfer or changes nothing: every other case (a lent page, a window or other flags, a busy
//! server, queued callers, a page still lent, a slot in its epilogue, any error) goes to the
//! general path in `crate::ipc`, which also returns the errors. The checks are the general
//! path's: the handle names an endpoint with the right (CALL or RECEIVE), the endpoint is
//! served by the replier, the environment switched to is blocked in the transfer.

use crate::kernel::Kernel;
use crate::platform::{AddressSpace, Platform};
use crate::trap_frame::TrapFrame;
use exo_abi::capability::rights;
use exo_abi::ipc::REPLY;
use exo_abi::{Syscall, encode_result};
use exo_core::capabilities::resolve_endpoint;
use exo_core::endpoints::EndpointId;
use exo_core::environments::{EnvId, EnvState};

/// Whether the call in `frame` may take the fast path (an endpoint call or reply), judged by
/// `crate::syscalls::decode` without the kernel lock: every other call pays this compare.
#[inline(always)]
pub fn is_candidate(frame: &TrapFrame) -> bool {
    // The two numbers are consecutive: one compare.
    const _: () = assert!(Syscall::EndpointReplyAndWait as u64 == Syscall::EndpointCall as u64 + 1);
    frame.rax.wrapping_sub(Syscall::EndpointCall as u64) < 2
}

/// Completes the running environment's call in `frame` when it is a fast-path transfer and
/// returns the environment switched to, whose saved registers now hold its result and which
/// runs from them (`crate::syscalls::Transferred::SavedRegisters`); the frame is left as it was.
/// Otherwise returns `None` having changed nothing.
#[inline]
pub fn try_transfer<P: Platform>(kernel: &mut Kernel<P>, frame: &TrapFrame) -> Option<EnvId> {
    // Registers: rdi the endpoint handle, rsi, rdx, r10, r8 the words, r9 the lent page (a
    // call) or the flags (a reply and wait).
    let is_call = if frame.rax == Syscall::EndpointCall.number() && frame.r9 == 0 {
        true
    } else if frame.rax == Syscall::EndpointReplyAndWait.number() && frame.r9 == REPLY {
        false
    } else {
        return None;
    };
    let sender = kernel.current?;
    let (endpoint, receiver) = fast_case(kernel, sender, frame.rdi, is_call)?;
    let Kernel {
        environments,
        endpoints,
        slices,
        counters,
        current,
        ..
    } = kernel;
    // The receiver is blocked in the matching half of the transfer.
    let (sender_waits_in, receiver_waits_in) = if is_call {
        (EnvState::Calling, EnvState::Receiving)
    } else {
        (EnvState::Receiving, EnvState::Calling)
    };
    // The receiver first (one lookup: checked, then changed), the sender after.
    let environment = environments.get_mut(receiver)?;
    if environment.state != receiver_waits_in {
        return None;
    }
    let receiver_machine = environment.machine.as_mut()?;
    if !slices.hand_over(sender, receiver) {
        return None;
    }
    // From here on the transfer happens.
    let message = [frame.rsi, frame.rdx, frame.r10, frame.r8];
    let received = if is_call {
        endpoints.deliver_to_waiting_server(endpoint, sender);
        // The server gets its caller's id.
        u64::from(sender.0)
    } else {
        endpoints.reply_to_lone_caller(endpoint);
        // The caller's call returns: its grant goes with it.
        receiver_machine.grant = None;
        0
    };
    environment.state = EnvState::Runnable;
    let registers = &mut receiver_machine.registers;
    registers.rax = encode_result(Ok(received));
    [registers.rsi, registers.rdx, registers.r10, registers.r8] = message;
    receiver_machine.address_space.activate();
    let environment = environments
        .get_mut(sender)
        .expect("the running environment is in the table");
    environment.state = sender_waits_in;
    if let Some(machine) = environment.machine.as_mut() {
        machine.registers = *frame;
        if !is_call {
            machine.receive_window = 0;
            machine.wakes_on_child_end = false;
        }
    }
    *current = Some(receiver);
    counters.switches += 1;
    Some(receiver)
}

/// The endpoint `handle` names and who the fast path would switch to: the server waiting on
/// it (a call), or the lone caller the sender serves on it (a reply, when no page is lent).
#[inline]
fn fast_case<P: Platform>(
    kernel: &Kernel<P>,
    sender: EnvId,
    handle: u64,
    is_call: bool,
) -> Option<(EndpointId, EnvId)> {
    let machine = kernel.environments.machine(sender)?;
    let needed = if is_call {
        rights::CALL
    } else {
        rights::RECEIVE
    };
    let endpoint = resolve_endpoint(&machine.capabilities, handle, needed).ok()?;
    let receiver = if is_call {
        kernel.endpoints.waiting_server(endpoint, sender)
    } else if machine.lent.is_none() {
        kernel.endpoints.lone_caller(endpoint, sender)
    } else {
        None
    };
    Some((endpoint, receiver?))
}

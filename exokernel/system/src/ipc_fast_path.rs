//! The fast path of protected control transfer: a call to a server that waits with nobody
//! queued, and a plain reply (no flags, no window) to a caller when nobody else is queued, both
//! while the slot is in progress. These are B2's two halves and what every call to a server
//! that keeps up comes to.
//!
//! It is tried before the call is decoded (`crate::syscalls::fast_transfer`) and either
//! completes the transfer or changes nothing: every other case (a lent page, a window or other flags, a busy
//! server, queued callers, a page still lent, a slot in its epilogue, any error) goes to the
//! general path in `crate::ipc`, which also returns the errors. The checks are the general
//! path's: the handle names an endpoint with the right (CALL or RECEIVE), the endpoint is
//! served by the replier, the environment switched to is blocked in the transfer.

use crate::kernel::{Kernel, Machine};
use crate::platform::{AddressSpace, Platform};
use crate::trap_frame::TrapFrame;
use exo_abi::capability::Rights;
use exo_abi::ipc::ReplyAndWaitFlags;
use exo_abi::{Syscall, USER_END, encode_result};
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

/// Completes the running environment's call (`IS_CALL`) or reply when it is a fast-path
/// transfer and returns the environment switched to and its saved registers, which now hold
/// its result and which it runs from (`crate::syscalls::fast_transfer`). Otherwise returns
/// `None` having changed nothing. Each kind is compiled apart, with its own constants.
///
/// The caller's registers are read from its own saved registers, where the transfer entry put
/// them (`crate::syscalls::fast_transfer`): switching away from it saves nothing.
#[inline(always)]
pub fn try_transfer<const IS_CALL: bool, P: Platform>(
    kernel: &mut Kernel<P>,
) -> Option<(EnvId, *mut TrapFrame)> {
    let sender = kernel.current?;
    let call = sent_call::<IS_CALL, P>(kernel.environments.machine(sender)?)?;
    let Kernel {
        environments,
        endpoints,
        slices,
        counters,
        current,
        ..
    } = kernel;
    let transfer = if IS_CALL {
        endpoints.fast_call(call.endpoint, sender)
    } else if !call.page_lent {
        endpoints.fast_reply(call.endpoint, sender)
    } else {
        None
    }?;
    let receiver = transfer.receiver;
    // The receiver first (one lookup: checked, then changed), the sender after. The receiver
    // is blocked in the matching half of the transfer.
    let environment = environments.get_mut(receiver)?;
    let is_blocked_in_matching_half = if IS_CALL {
        matches!(environment.state, EnvState::Receiving)
    } else {
        matches!(environment.state, EnvState::Calling)
    };
    if !is_blocked_in_matching_half {
        return None;
    }
    let receiver_machine = environment.machine.as_mut()?;
    if !slices.hand_over(sender, receiver) {
        return None;
    }
    // From here on the transfer happens.
    transfer.complete();
    let received = if IS_CALL {
        // The server gets its caller's id.
        u64::from(sender.0)
    } else {
        // The caller's call returns: its grant goes with it.
        receiver_machine.grant = None;
        0
    };
    environment.state = EnvState::Runnable;
    let registers = &mut receiver_machine.registers;
    registers.rax = encode_result(Ok(received));
    [registers.rsi, registers.rdx, registers.r10, registers.r8] = call.message;
    let registers: *mut TrapFrame = registers;
    receiver_machine.address_space.activate();
    let environment = environments
        .get_mut(sender)
        .expect("the running environment is in the table");
    if IS_CALL {
        environment.state = EnvState::Calling;
    } else {
        environment.state = EnvState::Receiving;
        if let Some(machine) = environment.machine.as_mut() {
            machine.receive_window = 0;
            machine.wakes_on_child_end = false;
        }
    }
    *current = Some(receiver);
    counters.switches += 1;
    Some((receiver, registers))
}

/// A call or reply the fast path may take, read from the sender's saved registers.
struct SentCall {
    endpoint: EndpointId,
    message: [u64; 4],
    /// Whether the sender serves a call that lent it a page (a reply then unbinds it).
    page_lent: bool,
}

/// The plain call (`IS_CALL`, no page lent) or reply (no flag but `ReplyAndWaitFlags::REPLY`,
/// no window) in the saved registers of `machine`, through an endpoint handle with the right
/// for it.
#[inline(always)]
fn sent_call<const IS_CALL: bool, P: Platform>(machine: &Machine<P>) -> Option<SentCall> {
    let registers = &machine.registers;
    // Registers: rdi the endpoint handle, rsi, rdx, r10, r8 the words, r9 the lent page (a
    // call) or the flags (a reply and wait). A return past the user half is `decode`'s to
    // refuse.
    let (number, r9, needed) = if IS_CALL {
        (Syscall::EndpointCall, 0, Rights::CALL)
    } else {
        (
            Syscall::EndpointReplyAndWait,
            ReplyAndWaitFlags::REPLY.bits(),
            Rights::RECEIVE,
        )
    };
    if registers.rax != number.number() || registers.r9 != r9 || registers.rip >= USER_END {
        return None;
    }
    Some(SentCall {
        endpoint: resolve_endpoint(&machine.capabilities, registers.rdi, needed).ok()?,
        message: [registers.rsi, registers.rdx, registers.r10, registers.r8],
        page_lent: machine.lent.is_some(),
    })
}

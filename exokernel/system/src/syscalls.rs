//! System-call dispatch: decode the call and its arguments, check them, act. Each call is
//! documented in `exo_abi::Syscall`.

use crate::blocks;
use crate::capabilities;
use crate::console_input;
use crate::exceptions;
use crate::filters;
use crate::ipc;
use crate::ipc_fast_path;
use crate::kernel::Kernel;
use crate::kernel_memory;
use crate::kprintln;
use crate::lifecycle;
use crate::packets;
use crate::page_batches;
use crate::pages;
use crate::platform::Platform;
use crate::revocation;
use crate::scheduler::Event;
use crate::slices;
use crate::trap_frame::TrapFrame;
use crate::user_memory::copy_from_user;
use alloc::vec;
use alloc::vec::Vec;
use exo_abi::upcall::Upcalls;
use exo_abi::{Call, Error, ExitReason, Syscall, WaitFlags, arguments, encode_result};
use exo_core::environments::{EnvId, WaitMode, WaitOutcome};
use exo_core::exception_handler::ExceptionHandler;
use exo_core::user_range::UserRange;

/// What happens to the caller after a call that needs the kernel state.
pub enum Outcome {
    /// It resumes at once with this result.
    Return(Result<u64, Error>),
    /// It gets this result, but gives up the rest of its slot.
    Reschedule(Result<u64, Error>),
    /// It is blocked; its result is set when it wakes.
    Blocked,
    /// It has ended.
    Ended,
    /// The call has already put whatever runs next into the frame, whose registers may all
    /// have changed.
    Switched,
}

/// What a system call needs once decoded, which needs no kernel state (see [`decode`]).
pub enum Pending {
    /// Make this call.
    Call(Call),
    /// An endpoint call or reply, not decoded yet: [`transfer`] tries the fast path first.
    Transfer,
    /// [`exo_abi::Syscall::PageProtect`], which a library OS's fault handler makes on every
    /// fault it resolves: made straight from the registers, without the call table's decoding
    /// and dispatch, and (like the endpoint fast path) without the kernel lock, since it
    /// always resumes its caller.
    Protect,
    /// The call would return outside the user half (see [`decode`]).
    ReturnOutsideUserHalf,
}

/// The first step of every system call, taken without the kernel lock: answers an unknown call
/// and [`exo_abi::Syscall::Null`] (which touches no kernel state) in `frame.rax` and returns
/// `None`; otherwise returns what [`handle`] is to do with the kernel state.
///
/// A `syscall` in the last bytes of the user half would return past it (the caller's `rcx` is
/// the address after the instruction); every other saved or started `rip` is checked to be in
/// the user half. Neither `sysretq` nor `iretq` may return there: both fault in ring 0 on Intel
/// processors (Intel SDM vol. 2B, SYSRET and IRET). So such a call is not made, and the caller
/// takes the general-protection fault its next instruction fetch would raise.
#[inline]
pub fn decode(frame: &mut TrapFrame) -> Option<Pending> {
    if frame.rip >= exo_abi::USER_END {
        return Some(Pending::ReturnOutsideUserHalf);
    }
    if frame.rax == Syscall::Null.number() {
        frame.rax = 0;
        return None;
    }
    if ipc_fast_path::is_candidate(frame) {
        return Some(Pending::Transfer);
    }
    if frame.rax == Syscall::PageProtect.number() {
        return Some(Pending::Protect);
    }
    decode_call(frame).map(Pending::Call)
}

/// The call in `frame`'s registers, or `None` with [`Error::NoSuchCall`] in `frame.rax`.
#[inline(always)]
fn decode_call(frame: &mut TrapFrame) -> Option<Call> {
    let arguments = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let call = Call::decode(frame.rax, arguments);
    if call.is_none() {
        frame.rax = encode_result(Err(Error::NoSuchCall));
    }
    call
}

/// The fast path of an endpoint call (`IS_CALL`) or reply ([`Pending::Transfer`]) of the
/// running environment, whose registers the entry saved straight into its own saved registers
/// (`Machine::registers`) rather than a trap frame, so that switching away from it copies none
/// of them (`crate::ipc_fast_path`). Returns the environment switched to and its saved
/// registers, which hold its result and which it runs from; otherwise `None`, having changed
/// nothing: [`general_transfer`] then makes the call.
#[inline(always)]
pub fn fast_transfer<const IS_CALL: bool, P: Platform>(
    kernel: &mut Kernel<P>,
) -> Option<(EnvId, *mut TrapFrame)> {
    let switched = ipc_fast_path::try_transfer::<IS_CALL, P>(kernel)?;
    kernel.counters.entries += 1;
    Some(switched)
}

/// Makes the endpoint call or reply [`fast_transfer`] did not: copies the registers the entry
/// saved in place into `frame`, and decodes and handles the call there as any other. Returns
/// as [`handle`] does.
pub fn general_transfer<P: Platform>(kernel: &mut Kernel<P>, frame: &mut TrapFrame) -> bool {
    *frame = kernel.current_machine().registers;
    match decode(frame) {
        Some(pending) => handle(kernel, pending, frame),
        None => true,
    }
}

/// Carries out `pending` for the running environment, whose registers are in `frame`. Returns
/// whether the caller resumes directly with only `rax` changed (the entry then uses `sysretq`);
/// otherwise the frame now holds another environment, and the entry leaves through `iretq`.
pub fn handle<P: Platform>(
    kernel: &mut Kernel<P>,
    pending: Pending,
    frame: &mut TrapFrame,
) -> bool {
    kernel.counters.entries += 1;
    match pending {
        Pending::Call(call) => invoke(kernel, call, frame),
        Pending::Transfer => match decode_call(frame) {
            Some(call) => invoke(kernel, call, frame),
            None => true,
        },
        Pending::Protect => {
            protect(kernel, frame);
            true
        }
        Pending::ReturnOutsideUserHalf => {
            exceptions::handle_user_exception(kernel, frame, exceptions::GENERAL_PROTECTION_VECTOR);
            false
        }
    }
}

/// [`handle`] for [`Pending::Protect`], which the entry makes without the kernel lock; the
/// caller resumes with only `rax` changed.
#[inline]
pub fn handle_protect<P: Platform>(kernel: &mut Kernel<P>, frame: &mut TrapFrame) {
    kernel.counters.entries += 1;
    protect(kernel, frame);
}

/// Makes [`Pending::Protect`] for the running environment, whose registers are in `frame`.
#[inline]
fn protect<P: Platform>(kernel: &mut Kernel<P>, frame: &mut TrapFrame) {
    let caller = kernel
        .current
        .expect("a system call comes from the running environment");
    frame.rax = encode_result(pages::page_protect(kernel, caller, frame.rdi, frame.rsi));
}

fn invoke<P: Platform>(kernel: &mut Kernel<P>, call: Call, frame: &mut TrapFrame) -> bool {
    let caller = kernel
        .current
        .expect("a system call comes from the running environment");
    let outcome = match call {
        Call::Null(_) => Outcome::Return(Ok(0)),
        Call::DebugWrite(a) => Outcome::Return(debug_write(kernel, a.address, a.len)),
        Call::Exit(a) => {
            kernel.end(caller, ExitReason::Exited(a.status as u32));
            Outcome::Ended
        }
        Call::Yield(_) => Outcome::Reschedule(Ok(0)),
        Call::EnvironmentId(_) => Outcome::Return(Ok(u64::from(caller.0))),
        Call::PowerOff(a) => Outcome::Return(power_off(kernel, caller, a.status)),
        Call::Spawn(a) => Outcome::Return(spawn(kernel, caller, a)),
        Call::Wait(a) => wait(kernel, caller, a.child, a.flags),
        Call::FreeFrames(_) => Outcome::Return(Ok(kernel.frames.free_count() as u64)),
        Call::FrameAllocate(a) => Outcome::Return(pages::frame_allocate(kernel, caller, a.frame)),
        Call::FrameFree(a) => Outcome::Return(pages::frame_free(kernel, caller, a.frame)),
        Call::PageMap(a) => Outcome::Return(pages::page_map(
            kernel, caller, a.address, a.frame, a.rights,
        )),
        Call::PageUnmap(a) => Outcome::Return(pages::page_unmap(kernel, caller, a.address)),
        Call::PageProtect(a) => {
            Outcome::Return(pages::page_protect(kernel, caller, a.address, a.rights))
        }
        Call::PageQuery(a) => Outcome::Return(pages::page_query(kernel, caller, a.address)),
        Call::PageShare(a) => Outcome::Return(pages::page_share(kernel, caller, a)),
        Call::RegionShare(a) => Outcome::Return(pages::region_share(kernel, caller, a)),
        Call::PageCopyInto(a) => Outcome::Return(pages::page_copy_into(kernel, caller, a)),
        Call::PageFlush(a) => Outcome::Return(pages::page_flush(kernel, caller, a.address)),
        Call::FrameGrant(a) => {
            Outcome::Return(pages::frame_grant(kernel, caller, a.frame, a.target))
        }
        Call::SetExceptionHandler(a) => Outcome::Return(set_exception_handler(kernel, a)),
        Call::SliceAllocate(a) => {
            Outcome::Return(slices::slice_allocate(kernel, caller, a.position))
        }
        Call::SliceFree(a) => Outcome::Return(slices::slice_free(kernel, caller, a.position)),
        Call::SetUpcalls(a) => Outcome::Return(slices::set_upcalls(kernel, caller, a.enabled)),
        Call::YieldTo(a) => slices::yield_to(kernel, caller, a.target, frame),
        Call::SetRepossessionVector(a) => Outcome::Return(revocation::set_repossession_vector(
            kernel, caller, a.address,
        )),
        Call::Revoke(a) => Outcome::Return(revocation::revoke(kernel, caller, a)),
        Call::RevocationQuery(a) => Outcome::Return(revocation::revocation_query(
            kernel, caller, a.target, a.kind,
        )),
        Call::BlockCredential(a) => {
            Outcome::Return(blocks::block_credential(kernel, caller, a.credential))
        }
        Call::BlockAllocate(a) => Outcome::Return(blocks::block_allocate(kernel, caller, a.block)),
        Call::BlockFree(a) => Outcome::Return(blocks::block_free(kernel, caller, a.block)),
        Call::BlockRead(a) => Outcome::Return(blocks::block_transfer(
            kernel,
            caller,
            a.transfers,
            a.count,
            blocks::Direction::Read,
        )),
        Call::BlockWrite(a) => Outcome::Return(blocks::block_transfer(
            kernel,
            caller,
            a.transfers,
            a.count,
            blocks::Direction::Write,
        )),
        Call::BlockFlush(_) => Outcome::Return(blocks::block_flush(kernel)),
        Call::PageMapBatch(a) => Outcome::Return(page_batches::page_map_batch(
            kernel, caller, a.bindings, a.count,
        )),
        Call::PageUnmapBatch(a) => Outcome::Return(page_batches::page_unmap_batch(
            kernel,
            caller,
            a.addresses,
            a.count,
        )),
        Call::FrameList(a) => Outcome::Return(page_batches::frame_list(
            kernel, caller, a.buffer, a.capacity, a.first,
        )),
        Call::CapabilityCopy(a) => Outcome::Return(capabilities::capability_copy(
            kernel,
            caller,
            a.capability,
            a.rights,
            a.receiver,
        )),
        Call::CapabilityDrop(a) => {
            Outcome::Return(capabilities::capability_drop(kernel, caller, a.capability))
        }
        Call::CapabilityInspect(a) => Outcome::Return(capabilities::capability_inspect(
            kernel,
            caller,
            a.capability,
        )),
        Call::FilterLoad(a) => {
            Outcome::Return(filters::filter_load(kernel, caller, a.module, a.len))
        }
        Call::FilterUnload(a) => Outcome::Return(filters::filter_unload(kernel, caller, a.filter)),
        Call::PacketBind(a) => Outcome::Return(packets::packet_bind(
            kernel, caller, a.filter, a.ring, a.slots,
        )),
        Call::PacketSend(a) => Outcome::Return(packets::packet_send(kernel, a.frame, a.len)),
        Call::PacketInject(a) => {
            Outcome::Return(packets::packet_inject(kernel, caller, a.frame, a.len))
        }
        Call::SleepUntil(a) => {
            match filters::sleep_until(kernel, caller, a.filter, a.address, a.len) {
                Ok(true) => Outcome::Reschedule(Ok(0)),
                other => Outcome::Return(other.map(|_| 0)),
            }
        }
        Call::Sleep(a) => {
            if kernel.sleep_current(a.microseconds) {
                Outcome::Reschedule(Ok(0))
            } else {
                Outcome::Return(Ok(0))
            }
        }
        Call::EnvironmentCreate(a) => Outcome::Return(lifecycle::environment_create(
            kernel, caller, a.name, a.name_len,
        )),
        Call::EnvironmentStart(a) => {
            Outcome::Return(lifecycle::environment_start(kernel, caller, a))
        }
        Call::EnvironmentKill(a) => lifecycle::environment_kill(kernel, caller, a.subtree, a.id),
        Call::PageMapInto(a) => Outcome::Return(pages::page_map_into(kernel, caller, a)),
        Call::PageList(a) => Outcome::Return(page_batches::page_list(kernel, caller, a)),
        Call::PageUsage(a) => Outcome::Return(page_batches::page_usage(kernel, caller, a)),
        Call::PageCopyBatch(a) => Outcome::Return(page_batches::page_copy_batch(kernel, caller, a)),
        Call::ConsoleRead(a) => console_input::console_read(kernel, caller, a, frame),
        Call::EndpointCreate(_) => Outcome::Return(ipc::endpoint_create(kernel, caller)),
        Call::EndpointCall(a) => ipc::endpoint_call(kernel, caller, a, frame),
        Call::EndpointReplyAndWait(a) => ipc::endpoint_reply_and_wait(kernel, caller, a, frame),
        Call::EndpointReply(a) => Outcome::Return(ipc::endpoint_reply(kernel, caller, a)),
        Call::EndpointGrant(a) => Outcome::Return(ipc::endpoint_grant(kernel, caller, a)),
        Call::EndpointCopy(a) => Outcome::Return(ipc::endpoint_copy(kernel, caller, a)),
        Call::ClockInfo(a) => Outcome::Return(crate::clock::clock_info(kernel, a.buffer)),
        Call::KernelCounters(a) => {
            Outcome::Return(crate::counters::kernel_counters(kernel, a.buffer))
        }
        Call::KernelMemory(a) => {
            Outcome::Return(kernel_memory::kernel_memory(kernel, caller, a.target))
        }
    };
    match outcome {
        Outcome::Return(result) => {
            frame.rax = encode_result(result);
            true
        }
        Outcome::Reschedule(result) => {
            frame.rax = encode_result(result);
            kernel.reschedule(frame, Event::Yielded);
            false
        }
        Outcome::Blocked => {
            kernel.reschedule(frame, Event::Yielded);
            false
        }
        Outcome::Ended => {
            kernel.reschedule(frame, Event::Ended);
            false
        }
        Outcome::Switched => false,
    }
}

/// Copies a checked user range of at most `max_len` bytes into a kernel buffer.
pub fn copy_in<P: Platform>(
    kernel: &Kernel<P>,
    address: u64,
    len: u64,
    max_len: u64,
) -> Result<Vec<u8>, Error> {
    let range = UserRange::with_limit(address, len, max_len)?;
    let mut buffer = vec![0; range.len() as usize];
    copy_from_user::<P>(kernel.current_address_space(), range, &mut buffer)?;
    Ok(buffer)
}

fn debug_write<P: Platform>(kernel: &Kernel<P>, address: u64, len: u64) -> Result<u64, Error> {
    let bytes = copy_in(kernel, address, len, exo_abi::DEBUG_WRITE_MAX_BYTES)?;
    P::write_console(&bytes);
    Ok(len)
}

fn power_off<P: Platform>(kernel: &Kernel<P>, caller: EnvId, status: u64) -> Result<u64, Error> {
    if !kernel.is_init(caller) {
        return Err(Error::PermissionDenied);
    }
    if status > exo_abi::POWER_OFF_STATUS_MAX {
        return Err(Error::InvalidArgument);
    }
    kprintln!(
        P,
        "exokernel: env {} powers off with status {status}",
        caller.0
    );
    kernel.power_off(status as u8)
}

fn spawn<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::Spawn,
) -> Result<u64, Error> {
    let name = copy_in(kernel, a.name, a.name_len, exo_abi::PROGRAM_NAME_MAX_BYTES)?;
    let args = copy_in(kernel, a.args, a.args_len, exo_abi::ARGUMENTS_MAX_BYTES)?;
    let name = core::str::from_utf8(&name).map_err(|_| Error::InvalidArgument)?;
    core::str::from_utf8(&args).map_err(|_| Error::InvalidArgument)?;
    if !capabilities::has_room(kernel, caller) {
        return Err(Error::NoMemory);
    }
    let child = kernel.spawn(name, &args, Some(caller))?;
    capabilities::hold_child(kernel, caller, child)
}

fn set_exception_handler<P: Platform>(
    kernel: &mut Kernel<P>,
    a: arguments::SetExceptionHandler,
) -> Result<u64, Error> {
    let handler = match a.entry {
        0 => None,
        _ => Some(ExceptionHandler::new(a.entry, a.stack, a.stack_len)?),
    };
    let machine = kernel.current_machine();
    machine.exception_handler = handler;
    if handler.is_none() {
        machine.upcalls_enabled = Upcalls::empty();
        let current = kernel.current.expect("called by the running environment");
        kernel.slices.set_upcalls(current, false, false);
    }
    Ok(0)
}

/// The handle goes as soon as the wait is sure to reap: at once, or when the child ends; a wait
/// that does not hang on a living child keeps it.
fn wait<P: Platform>(kernel: &mut Kernel<P>, caller: EnvId, handle: u64, flags: u64) -> Outcome {
    let Some(flags) = WaitFlags::from_bits(flags) else {
        return Outcome::Return(Err(Error::InvalidArgument));
    };
    let mode = if flags.contains(WaitFlags::NO_HANG) {
        WaitMode::NoHang
    } else {
        WaitMode::Block
    };
    let child = match capabilities::child_to_reap(kernel, caller, handle) {
        Ok(child) => child,
        Err(error) => return Outcome::Return(Err(error)),
    };
    let outcome = kernel.environments.wait(caller, child, mode);
    if outcome.is_ok() {
        capabilities::drop_reaped(kernel, caller, handle);
    }
    match outcome {
        Ok(WaitOutcome::Reaped(reason)) => Outcome::Return(Ok(reason.encode())),
        Ok(WaitOutcome::Blocked) => Outcome::Blocked,
        Err(error) => Outcome::Return(Err(error)),
    }
}

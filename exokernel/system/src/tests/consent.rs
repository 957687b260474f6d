//! Consent and exceptions, seen from a child: init yields, and the child it spawned runs.

use super::DATA_PAGE;
use crate::exceptions::handle_user_exception;
use crate::fake::{Booted, Fake, PROGRAM_ENTRY, take_console};
use crate::platform::Platform;
use exo_abi::Syscall::{
    CapabilityCopy, FrameAllocate, FrameGrant, SetExceptionHandler, SetUpcalls, Spawn, Yield,
};
use exo_abi::capability::{PARENT, Rights, SELF};
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, FRAME_ANY};
use exo_core::environments::EnvId;

/// Init spawns `child` and yields to it; returns the child's id, now running.
fn child_running(booted: &mut Booted) -> EnvId {
    let name = booted.put(0, b"child");
    booted.call(Spawn, &[name, 5, 0, 0]).expect("spawned");
    booted.call(Yield, &[]).expect("yielded");
    let child = booted.kernel.current.expect("someone runs");
    assert_ne!(child, booted.init);
    child
}

#[test]
fn a_child_cannot_push_frames_or_capabilities_onto_its_parent() {
    let mut booted = Booted::new();
    child_running(&mut booted);
    let frame = booted.call(FrameAllocate, &[FRAME_ANY]).expect("a frame");
    assert_eq!(
        booted.call(FrameGrant, &[frame, PARENT]),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        booted.call(CapabilityCopy, &[SELF, 0, PARENT]),
        Err(Error::PermissionDenied)
    );
    // What it may do: keep a copy of PARENT for itself, with no right.
    assert!(booted.call(CapabilityCopy, &[PARENT, 0, SELF]).is_ok());
}

#[test]
fn unknown_rights_bits_are_refused_once_the_handle_is_known_good() {
    let mut booted = Booted::new();
    let unknown = 1 << 7;
    assert_eq!(
        booted.call(CapabilityCopy, &[SELF, unknown, SELF]),
        Err(Error::InvalidArgument)
    );
    assert_eq!(
        booted.call(CapabilityCopy, &[77, unknown, SELF]),
        Err(Error::BadCapability),
        "a forged handle is named before the rights"
    );
    assert!(
        booted
            .call(CapabilityCopy, &[SELF, Rights::SHARE.bits(), SELF])
            .is_ok()
    );
}

#[test]
fn an_exception_without_a_handler_ends_only_the_environment_that_raised_it() {
    let mut booted = Booted::new();
    let child = child_running(&mut booted);
    let free_before_child =
        booted.kernel.frames.free_count() + booted.kernel.frames.count_owned_by(child);
    handle_user_exception(&mut booted.kernel, &mut booted.frame, 6);
    let console = take_console();
    assert!(console.contains("invalid opcode"), "{console}");
    assert!(
        console.contains("(child) ended: killed by invalid opcode"),
        "{console}"
    );
    assert_eq!(booted.kernel.current, Some(booted.init));
    assert!(booted.kernel.frames.free_count() >= free_before_child);
    assert!(crate::consistency::check(&booted.kernel).is_ok());
}

#[test]
fn upcalls_need_known_bits_and_a_handler() {
    let mut booted = Booted::new();
    child_running(&mut booted);
    let epilogue = Upcalls::SLICE_EPILOGUE.bits();
    assert_eq!(
        booted.call(SetUpcalls, &[epilogue]),
        Err(Error::InvalidArgument),
        "no handler yet"
    );
    booted
        .call(SetExceptionHandler, &[PROGRAM_ENTRY, DATA_PAGE, 4096])
        .expect("registered");
    assert_eq!(
        booted.call(SetUpcalls, &[epilogue | 1 << 5]),
        Err(Error::InvalidArgument),
        "an unknown bit"
    );
    assert_eq!(booted.call(SetUpcalls, &[epilogue]), Ok(0));
    let child = booted.kernel.current.expect("the child runs");
    let machine = booted.kernel.environments.machine(child).expect("alive");
    assert_eq!(machine.upcalls_enabled, Upcalls::SLICE_EPILOGUE);
}

#[test]
fn an_exception_reaches_the_handler_with_its_frame_on_the_handler_stack() {
    let mut booted = Booted::new();
    child_running(&mut booted);
    booted
        .call(SetExceptionHandler, &[PROGRAM_ENTRY, DATA_PAGE, 4096])
        .expect("registered");
    booted.frame.rip = PROGRAM_ENTRY + 0x10;
    booted.frame.rbx = 0x1234;
    booted.frame.error_code = 0;
    handle_user_exception(&mut booted.kernel, &mut booted.frame, 3);
    assert_eq!(booted.frame.rip, PROGRAM_ENTRY);
    let frame_address = booted.frame.rsp;
    assert!((DATA_PAGE..DATA_PAGE + 4096).contains(&frame_address));
    assert_eq!(booted.frame.rdi, frame_address);
    let mut words = [0u8; 8 * 3];
    Fake::read_user(frame_address, &mut words);
    assert_eq!(
        u64::from_le_bytes(words[..8].try_into().unwrap()),
        3,
        "the vector"
    );
    // A fault on the handler stack itself cannot be delivered: the environment ends.
    handle_user_exception(&mut booted.kernel, &mut booted.frame, 13);
    assert!(take_console().contains("fault inside its exception handler"));
    assert_eq!(booted.kernel.current, Some(booted.init));
}

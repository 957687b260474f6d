use crate::fake::{Booted, PROGRAM_ENTRY, leaves_of, take_console};
use exo_abi::Syscall::{
    EnvironmentCreate, EnvironmentKill, EnvironmentStart, Exit, FrameAllocate, FrameGrant,
    FreeFrames, PageMapInto, Spawn, Wait,
};
use exo_abi::{Error, ExitReason, FRAME_ANY, PageRights, WaitFlags};

#[test]
fn an_environment_built_by_hand_is_started_killed_and_reaped_leaving_nothing() {
    let mut booted = Booted::new();
    let free_before = booted.call(FreeFrames, &[]).expect("counted");
    let name = booted.put(0, b"built");
    let child = booted.call(EnvironmentCreate, &[name, 5]).expect("created");
    let frame = booted.call(FrameAllocate, &[FRAME_ANY]).expect("frame");
    booted.call(FrameGrant, &[frame, child]).expect("granted");
    booted
        .call(
            PageMapInto,
            &[child, PROGRAM_ENTRY, frame, PageRights::EXECUTABLE.bits()],
        )
        .expect("bound in the child");
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    assert_eq!(leaves_of(&booted.kernel, child_id).len(), 1);
    assert_eq!(
        booted.call(Wait, &[child, WaitFlags::NO_HANG.bits()]),
        Err(Error::Unavailable)
    );
    booted
        .call(EnvironmentStart, &[child, PROGRAM_ENTRY, 0x7000_0000, 0, 0])
        .expect("started");
    assert_eq!(
        booted.call(EnvironmentStart, &[child, PROGRAM_ENTRY, 0x7000_0000, 0, 0]),
        Err(Error::InvalidArgument)
    );
    assert_eq!(booted.call(EnvironmentKill, &[child, 0]), Ok(0));
    assert!(take_console().contains("(built) ended: killed"));
    let reason = booted.call(Wait, &[child, 0]).expect("reaped");
    assert_eq!(ExitReason::decode(reason), Some(ExitReason::Killed));
    assert_eq!(booted.call(FreeFrames, &[]), Ok(free_before));
    assert_eq!(booted.call(Wait, &[child, 0]), Err(Error::BadCapability));
    assert!(crate::consistency::check(&booted.kernel).is_ok());
}

#[test]
fn a_start_outside_the_user_half_is_refused() {
    let mut booted = Booted::new();
    let name = booted.put(0, b"x");
    let child = booted.call(EnvironmentCreate, &[name, 1]).expect("created");
    for (rip, rsp) in [(exo_abi::USER_END, 0x1000), (0x1000, u64::MAX)] {
        assert_eq!(
            booted.call(EnvironmentStart, &[child, rip, rsp, 0, 0]),
            Err(Error::BadAddress)
        );
    }
}

#[test]
fn spawn_loads_a_ramdisk_program_and_refuses_what_is_not_there() {
    let mut booted = Booted::new();
    let name = booted.put(0, b"child");
    let missing = booted.put(16, b"nobody");
    assert_eq!(
        booted.call(Spawn, &[missing, 6, 0, 0]),
        Err(Error::NotFound)
    );
    assert_eq!(
        booted.call(Spawn, &[name, 5, 0, 1 << 20]),
        Err(Error::TooLong)
    );
    let handle = booted.call(Spawn, &[name, 5, 0, 0]).expect("spawned");
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    let leaves = leaves_of(&booted.kernel, child_id);
    assert!(leaves.contains_key(&PROGRAM_ENTRY));
    assert!(leaves.len() > 2, "code, data and a stack");
    assert_eq!(booted.call(EnvironmentKill, &[handle, 0]), Ok(0));
    assert!(crate::consistency::check(&booted.kernel).is_ok());
}

#[test]
fn exit_ends_the_caller_and_its_descendants() {
    let mut booted = Booted::new();
    let name = booted.put(0, b"child");
    booted.call(Spawn, &[name, 5, 0, 0]).expect("spawned");
    booted.call(Spawn, &[name, 5, 0, 0]).expect("spawned");
    assert_eq!(booted.kernel.environments.living_count(), 3);
    let init = booted.init;
    // Init's exit ends everything; the kernel then powers off, which the fake machine reports.
    let powered_off =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| booted.call(Exit, &[7])));
    assert!(powered_off.is_err());
    let console = take_console();
    assert_eq!(console.matches("ended: killed").count(), 2, "{console}");
    assert!(console.contains(&format!(
        "env {} (init) ended: exited with status 7",
        init.0
    )));
}

#[test]
fn an_environment_chosen_to_run_next_that_ends_first_is_not_run() {
    use crate::scheduler::Event;
    use exo_core::slices::{Decision, Timer};
    let mut booted = Booted::new();
    let name = booted.put(0, b"child");
    booted.call(Spawn, &[name, 5, 0, 0]).expect("spawned");
    let child = booted.kernel.environments.ids().last().expect("the child");
    // As when the running environment, a killer inside the subtree it kills, ended first and
    // the slices chose `child`, which ends next in the same kill.
    booted.kernel.decided_on_ending = Some(Decision {
        slot_position: 0,
        run: Some(child),
        upcall: None,
        timer: Timer::Keep,
        aborted: None,
    });
    booted.kernel.end(child, ExitReason::Killed);
    assert_ne!(
        booted
            .kernel
            .decided_on_ending
            .and_then(|decision| decision.run),
        Some(child)
    );
    let mut frame = booted.frame;
    booted.kernel.reschedule(&mut frame, Event::Ended);
    assert!(
        booted.kernel.current.is_none_or(|running| booted
            .kernel
            .environments
            .machine(running)
            .is_some())
    );
}

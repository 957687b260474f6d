//! Taking received frames: the network device's interrupt in user mode takes one batch and
//! leaves the running environment on the CPU; frames beyond the batch raise nothing, so an idle
//! CPU takes them all before it halts; a frame delivered to an environment while it runs makes
//! its next sleep return at once.

use super::FREE_PAGE;
use crate::fake::{
    Booted, FAKE_RECEIVE_BATCH, arrive, frames_not_taken, halts, halts_before_drained,
};
use exo_abi::FRAME_ANY;
use exo_abi::PageRights;
use exo_abi::Syscall::{FilterLoad, FrameAllocate, PacketBind, PageMap, Sleep, SleepUntil};
use exo_core::PAGE_SIZE;

/// `(module (func (export "run") (result i32) i32.const 1))`: a filter that claims every
/// frame.
const CLAIM_ALL: [u8; 36] = [
    0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00, // magic and version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7F, // one type: [] -> [i32]
    0x03, 0x02, 0x01, 0x00, // one function of that type
    0x07, 0x07, 0x01, 0x03, b'r', b'u', b'n', 0x00, 0x00, // exported as `run`
    0x0A, 0x06, 0x01, 0x04, 0x00, 0x41, 0x01, 0x0B, // its body: i32.const 1
];

/// Frames more than two batches hold.
const STORM: usize = 2 * FAKE_RECEIVE_BATCH + 1;

/// `count` minimal Ethernet frames nobody claims.
fn frames(count: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..count).map(|number| {
        let mut frame = vec![0xFF; 60];
        frame[12] = number as u8;
        frame
    })
}

#[test]
fn an_interrupt_takes_one_batch_and_the_running_environment_keeps_the_cpu() {
    let mut booted = Booted::new();
    arrive(frames(STORM));
    booted.kernel.receive_packets_on_interrupt();
    let counters = booted.kernel.packet_counters;
    assert_eq!(counters.interrupts, 1);
    assert_eq!(counters.received, FAKE_RECEIVE_BATCH as u64);
    assert_eq!(counters.unclaimed, counters.received);
    assert_eq!(frames_not_taken(), STORM - FAKE_RECEIVE_BATCH);
    assert!(booted.kernel.has_frames_waiting);
    assert_eq!(booted.kernel.current, Some(booted.init));
}

#[test]
fn the_batch_that_takes_the_last_frame_says_none_is_waiting() {
    let mut booted = Booted::new();
    arrive(frames(FAKE_RECEIVE_BATCH - 1));
    booted.kernel.receive_packets_on_interrupt();
    assert!(!booted.kernel.has_frames_waiting);
    assert_eq!(frames_not_taken(), 0);
    assert_eq!(
        booted.kernel.packet_counters.received,
        FAKE_RECEIVE_BATCH as u64 - 1
    );
}

#[test]
fn an_idle_cpu_takes_every_waiting_frame_before_it_halts() {
    let mut booted = Booted::new();
    arrive(frames(STORM));
    let halted = halts();
    // Init sleeps: nothing can run, and the CPU idles until it wakes.
    assert_eq!(booted.call(Sleep, &[1_000]), Ok(0));
    assert_eq!(halts_before_drained(), Some(halted));
    assert!(
        halts() > halted,
        "the CPU halted once the frames were taken"
    );
    assert_eq!(booted.kernel.packet_counters.received, STORM as u64);
    assert_eq!(booted.kernel.packet_counters.interrupts, 0);
    assert!(!booted.kernel.has_frames_waiting);
    assert_eq!(booted.kernel.current, Some(booted.init));
}

/// The same filter matching nothing: a wake-up predicate that never comes true.
fn never_matches() -> [u8; 36] {
    let mut module = CLAIM_ALL;
    // The operand of `i32.const`.
    module[34] = 0x00;
    module
}

/// Binds a filter claiming every frame to a fresh ring of the running environment at
/// [`FREE_PAGE`], with `slots` slots.
fn claim_every_frame(booted: &mut Booted, slots: u64) {
    for page in 0..=slots {
        let frame = booted.call(FrameAllocate, &[FRAME_ANY]).expect("a frame");
        let address = FREE_PAGE + page * PAGE_SIZE;
        let writable = PageRights::WRITABLE.bits();
        assert_eq!(booted.call(PageMap, &[address, frame, writable]), Ok(0));
    }
    let module = booted.put(0, &CLAIM_ALL);
    let filter = booted
        .call(FilterLoad, &[module, CLAIM_ALL.len() as u64])
        .expect("the filter loads");
    assert_eq!(booted.call(PacketBind, &[filter, FREE_PAGE, slots]), Ok(0));
}

#[test]
fn a_frame_delivered_while_its_receiver_runs_makes_its_next_sleep_return_at_once() {
    let mut booted = Booted::new();
    claim_every_frame(&mut booted, 4);
    arrive(frames(1));
    booted.kernel.receive_packets_on_interrupt();
    assert_eq!(booted.kernel.packet_counters.delivered, 1);
    let halted = halts();
    assert_eq!(booted.call(Sleep, &[1_000_000]), Ok(0));
    assert_eq!(halts(), halted, "the sleep returned without idling");
    assert_eq!(booted.kernel.current, Some(booted.init));
    // Once only: the next sleep sleeps.
    assert_eq!(booted.call(Sleep, &[1_000]), Ok(0));
    assert!(halts() > halted, "the second sleep idled");
}

#[test]
fn a_frame_delivered_while_its_receiver_runs_makes_its_next_predicate_sleep_return_at_once() {
    let mut booted = Booted::new();
    claim_every_frame(&mut booted, 8);
    let never = never_matches();
    let module = booted.put(64, &never);
    let predicate = booted
        .call(FilterLoad, &[module, never.len() as u64])
        .expect("the predicate loads");
    let watched = booted.put(128, &[0; 8]);
    // One frame more than the interrupt takes: a return through the scheduler would take it
    // (and wake the sleeper with it), a return at once leaves it.
    arrive(frames(FAKE_RECEIVE_BATCH + 1));
    booted.kernel.receive_packets_on_interrupt();
    assert_eq!(booted.call(SleepUntil, &[predicate, watched, 8]), Ok(0));
    assert_eq!(
        frames_not_taken(),
        1,
        "the predicate sleep returned at once"
    );
    assert!(booted.kernel.predicate_sleepers.is_empty());
    assert_eq!(booted.kernel.current, Some(booted.init));
}

//! Time: the TSC as the kernel's clock and the APIC timer for slot deadlines, both calibrated
//! at boot against the legacy PIT, whose input clock is fixed at 1.193182 MHz.
//!
//! Under QEMU `-icount` every clock here advances with retired instructions, so a calibration
//! made in that mode stays right for the whole run.

use super::{apic, rtc};
use core::sync::atomic::{AtomicU64, Ordering};
use exo_abi::ClockInfo;
use x86_64::instructions::port::Port;

const PIT_FREQUENCY_HZ: u64 = 1_193_182;
/// Length of the calibration window.
const CALIBRATION_MICROSECONDS: u64 = 10_000;
const PIT_CHANNEL_2_DATA: u16 = 0x42;
const PIT_COMMAND: u16 = 0x43;
/// Port B of the keyboard controller: bit 0 gates PIT channel 2, bit 1 drives the speaker,
/// bit 5 reads channel 2's output.
const PORT_B: u16 = 0x61;
const CHANNEL_2_GATE: u8 = 1 << 0;
const SPEAKER_ENABLE: u8 = 1 << 1;
const CHANNEL_2_OUTPUT: u8 = 1 << 5;
/// Channel 2, low then high byte, mode 0 (interrupt on terminal count), binary.
const CHANNEL_2_ONE_SHOT: u8 = 0b1011_0000;

static TSC_TICKS_PER_SECOND: AtomicU64 = AtomicU64::new(1);
static APIC_TICKS_PER_MILLISECOND: AtomicU64 = AtomicU64::new(1);

/// Measures the TSC and the APIC timer against the PIT; call once with interrupts off.
pub fn calibrate() {
    let pit_count = (PIT_FREQUENCY_HZ * CALIBRATION_MICROSECONDS / 1_000_000) as u16;
    let mut port_b = Port::<u8>::new(PORT_B);
    let mut command = Port::<u8>::new(PIT_COMMAND);
    let mut data = Port::<u8>::new(PIT_CHANNEL_2_DATA);
    // SAFETY: programming PIT channel 2 and its gate in port B touches no memory; channel 2 is
    // used by nothing else (the speaker stays off).
    unsafe {
        let gate_off = port_b.read() & !(CHANNEL_2_GATE | SPEAKER_ENABLE);
        port_b.write(gate_off);
        command.write(CHANNEL_2_ONE_SHOT);
        data.write(pit_count as u8);
        data.write((pit_count >> 8) as u8);
        apic::start_silent_countdown(u32::MAX);
        let tsc_start = read_tsc();
        port_b.write(gate_off | CHANNEL_2_GATE);
        while port_b.read() & CHANNEL_2_OUTPUT == 0 {
            core::hint::spin_loop();
        }
        let tsc_elapsed = read_tsc() - tsc_start;
        let apic_elapsed = u64::from(u32::MAX - apic::remaining_ticks());
        port_b.write(gate_off);
        let milliseconds = CALIBRATION_MICROSECONDS / 1000;
        // The window is exactly `pit_count` PIT periods.
        let tsc_per_second = tsc_elapsed * PIT_FREQUENCY_HZ / u64::from(pit_count);
        TSC_TICKS_PER_SECOND.store(tsc_per_second.max(1), Ordering::Relaxed);
        APIC_TICKS_PER_MILLISECOND.store((apic_elapsed / milliseconds).max(1), Ordering::Relaxed);
    }
    log::info!(
        "clock: TSC {} ticks/s, APIC timer {} ticks/ms, {} ms since reset",
        TSC_TICKS_PER_SECOND.load(Ordering::Relaxed),
        APIC_TICKS_PER_MILLISECOND.load(Ordering::Relaxed),
        read_tsc() * 1000 / TSC_TICKS_PER_SECOND.load(Ordering::Relaxed).max(1)
    );
}

/// The time-stamp counter.
pub fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` reads a counter; CR4.TSD is clear, and the kernel runs in ring 0 anyway.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Microseconds since an arbitrary moment at boot.
pub fn now_microseconds() -> u64 {
    let ticks = u128::from(read_tsc()) * 1_000_000;
    (ticks / u128::from(TSC_TICKS_PER_SECOND.load(Ordering::Relaxed))) as u64
}

/// What library OSes are told of time: the counter's rate and the real-time clock's reading
/// at boot (`rtc`).
pub fn info() -> ClockInfo {
    let (boot_tsc, boot_time) = rtc::boot_reading();
    ClockInfo {
        tsc_ticks_per_second: TSC_TICKS_PER_SECOND.load(Ordering::Relaxed),
        boot_tsc,
        boot_time,
    }
}

/// Raises one timer interrupt `microseconds` from now, replacing any earlier deadline.
pub fn interrupt_after(microseconds: u64) {
    let ticks = microseconds * APIC_TICKS_PER_MILLISECOND.load(Ordering::Relaxed) / 1000;
    apic::arm_one_shot(u32::try_from(ticks).unwrap_or(u32::MAX));
}

/// What the one-shot timer was doing when something borrowed it (see `device_wait`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerState {
    /// Not counting (or counting masked, as calibration left it), and no interrupt of it
    /// waiting.
    Stopped,
    /// Counting down: it would have fired this many microseconds later.
    Counting { microseconds_left: u64 },
    /// It fired, and its interrupt waits for interrupts to be enabled.
    Expired,
}

/// What the timer is doing now.
pub fn timer_state() -> TimerState {
    let ticks = u64::from(apic::remaining_ticks());
    if apic::is_timer_masked() {
        TimerState::Stopped
    } else if ticks > 0 {
        let per_millisecond = APIC_TICKS_PER_MILLISECOND.load(Ordering::Relaxed);
        TimerState::Counting {
            microseconds_left: ticks * 1000 / per_millisecond,
        }
    } else if apic::is_timer_interrupt_pending() {
        TimerState::Expired
    } else {
        TimerState::Stopped
    }
}

/// Puts the timer back as `state` found it, `elapsed_microseconds` later: a deadline still
/// ahead is armed again, one passed meanwhile (or an interrupt that was waiting) fires at once.
pub fn restore_timer(state: TimerState, elapsed_microseconds: u64) {
    match state {
        TimerState::Stopped => apic::stop_timer(),
        TimerState::Counting { microseconds_left } => {
            interrupt_after(microseconds_left.saturating_sub(elapsed_microseconds));
        }
        TimerState::Expired => interrupt_after(0),
    }
}

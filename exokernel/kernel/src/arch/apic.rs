//! The local APIC timer (one-shot, armed by the scheduler for each slot) and the legacy 8259
//! PICs (remapped and masked).
//!
//! The APIC registers are reached through the bootloader's map of physical memory. That map is
//! write-back cacheable; the firmware's MTRRs make the APIC range uncacheable, and an uncacheable
//! MTRR wins over a write-back PAT type (Intel SDM vol. 3A, 12.5.2.2).

use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

/// Vector of the APIC timer interrupt.
pub const TIMER_VECTOR: u8 = 0x30;
/// Vector of the disk's completion interrupt (an MSI-X message, `msix`). Its priority class (4)
/// is above the timer's.
pub const DISK_VECTOR: u8 = 0x40;
/// Vector of the network device's receive interrupt (an MSI-X message, `msix`): a frame has
/// arrived. Same priority class as the disk's.
pub const NET_VECTOR: u8 = 0x41;
/// Vector the APIC uses for spurious interrupts.
pub const SPURIOUS_VECTOR: u8 = 0xFF;
/// First vector of the remapped legacy PICs; their spurious IRQ 7 and 15 arrive at +7 and +15.
pub const LEGACY_PIC_BASE: u8 = 0x20;

const IA32_APIC_BASE: u32 = 0x1B;
const REGISTER_ID: u64 = 0x20;
const REGISTER_EOI: u64 = 0xB0;
const REGISTER_SPURIOUS: u64 = 0xF0;
/// The first of the eight 32-bit interrupt request registers, 16 bytes apart.
const REGISTER_IRR: u64 = 0x200;
const REGISTER_LVT_TIMER: u64 = 0x320;
const REGISTER_TIMER_INITIAL: u64 = 0x380;
const REGISTER_TIMER_CURRENT: u64 = 0x390;
const REGISTER_TIMER_DIVIDE: u64 = 0x3E0;
const APIC_SOFTWARE_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const DIVIDE_BY_16: u32 = 0b0011;

static APIC_BASE: spin::Once<u64> = spin::Once::new();

fn write_register(offset: u64, value: u32) {
    let base = *APIC_BASE.get().expect("APIC initialised");
    // SAFETY: `base` maps the local APIC's 4 KiB register page and `offset` is one of its
    // 32-bit registers.
    unsafe { ((base + offset) as *mut u32).write_volatile(value) };
}

/// Remaps the legacy PICs away from the exception vectors and masks every line.
pub fn disable_legacy_pic() {
    let commands = [(0x20u16, 0x11u8), (0xA0, 0x11)];
    let data = [
        (0x21u16, LEGACY_PIC_BASE, 4u8),
        (0xA1, LEGACY_PIC_BASE + 8, 2),
    ];
    // SAFETY: the 8259 initialisation sequence (ICW1..ICW4) on its standard ports, then a full
    // mask; it touches no memory.
    unsafe {
        for (port, command) in commands {
            Port::<u8>::new(port).write(command);
        }
        for (port, base, cascade) in data {
            Port::<u8>::new(port).write(base);
            Port::<u8>::new(port).write(cascade);
            Port::<u8>::new(port).write(0x01);
            Port::<u8>::new(port).write(0xFF);
        }
    }
}

fn read_register(offset: u64) -> u32 {
    let base = *APIC_BASE.get().expect("APIC initialised");
    // SAFETY: as in `write_register`; reading the timer registers has no side effect.
    unsafe { ((base + offset) as *const u32).read_volatile() }
}

/// Enables the local APIC with its timer stopped, counting at a sixteenth of the APIC clock.
pub fn init(physical_memory_offset: u64) {
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU with an APIC; reading it has no effect.
    let base_msr = unsafe { Msr::new(IA32_APIC_BASE).read() };
    APIC_BASE.call_once(|| physical_memory_offset + (base_msr & 0x000F_FFFF_FFFF_F000));
    write_register(
        REGISTER_SPURIOUS,
        APIC_SOFTWARE_ENABLE | u32::from(SPURIOUS_VECTOR),
    );
    write_register(REGISTER_TIMER_DIVIDE, DIVIDE_BY_16);
    write_register(REGISTER_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
}

/// Starts the timer counting down from `ticks` with its interrupt masked, for calibration.
pub fn start_silent_countdown(ticks: u32) {
    write_register(REGISTER_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    write_register(REGISTER_TIMER_INITIAL, ticks);
}

/// The timer's current count.
pub fn remaining_ticks() -> u32 {
    read_register(REGISTER_TIMER_CURRENT)
}

/// Raises one timer interrupt after `ticks` timer ticks (one-shot mode); replaces any earlier
/// arming.
pub fn arm_one_shot(ticks: u32) {
    write_register(REGISTER_LVT_TIMER, u32::from(TIMER_VECTOR));
    write_register(REGISTER_TIMER_INITIAL, ticks.max(1));
}

/// Stops the timer: no interrupt comes from it until it is armed again.
pub fn stop_timer() {
    write_register(REGISTER_TIMER_INITIAL, 0);
}

/// Whether the timer's interrupt is masked (as the calibration's countdown leaves it).
pub fn is_timer_masked() -> bool {
    read_register(REGISTER_LVT_TIMER) & LVT_MASKED != 0
}

/// Whether a timer interrupt has been raised and waits to be taken (interrupts are off).
pub fn is_timer_interrupt_pending() -> bool {
    let vector = u64::from(TIMER_VECTOR);
    read_register(REGISTER_IRR + 0x10 * (vector / 32)) & (1 << (vector % 32)) != 0
}

/// This CPU's local APIC ID, where a message-signalled interrupt is sent.
pub fn local_id() -> u8 {
    (read_register(REGISTER_ID) >> 24) as u8
}

/// Signals the end of the current APIC interrupt.
pub fn end_of_interrupt() {
    write_register(REGISTER_EOI, 0);
}

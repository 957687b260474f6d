//! The interrupt descriptor table: every one of the 256 vectors enters through its stub in
//! `trap.rs`. Gates are interrupt gates (interrupts stay off in the kernel); only `int3` may be
//! raised from ring 3, so that any other `int n` from user code is a general protection fault.

use crate::arch::gdt::{DOUBLE_FAULT_IST, NMI_IST};
use crate::arch::trap::stub_address;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::structures::gdt::SegmentSelector;

/// Vector of the breakpoint exception (`int3`).
pub const BREAKPOINT_VECTOR: u8 = 3;
const DOUBLE_FAULT_VECTOR: u8 = 8;
const NMI_VECTOR: u8 = 2;

/// One 16-byte gate descriptor (Intel SDM vol. 3A, 6.14.1).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}

const PRESENT: u8 = 0x80;
const INTERRUPT_GATE: u8 = 0x0E;

impl Gate {
    fn new(
        handler: u64,
        selector: SegmentSelector,
        ist_index: Option<u16>,
        user_allowed: bool,
    ) -> Gate {
        let privilege = if user_allowed { 3 << 5 } else { 0 };
        Gate {
            offset_low: handler as u16,
            selector: selector.0,
            ist: ist_index.map_or(0, |index| index as u8 + 1),
            type_attributes: PRESENT | INTERRUPT_GATE | privilege,
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

static IDT: spin::Once<[Gate; 256]> = spin::Once::new();

/// Builds and loads the IDT.
pub fn init(kernel_code: SegmentSelector) {
    let idt = IDT.call_once(|| {
        let mut gates = [Gate::default(); 256];
        for (vector, gate) in gates.iter_mut().enumerate() {
            let vector = vector as u8;
            let ist = match vector {
                DOUBLE_FAULT_VECTOR => Some(DOUBLE_FAULT_IST),
                NMI_VECTOR => Some(NMI_IST),
                _ => None,
            };
            *gate = Gate::new(
                stub_address(vector),
                kernel_code,
                ist,
                vector == BREAKPOINT_VECTOR,
            );
        }
        gates
    });
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of_val(idt) - 1) as u16,
        base: VirtAddr::from_ptr(idt.as_ptr()),
    };
    // SAFETY: the table lives in a static for the rest of the kernel's life and every gate
    // points at a stub of `trap.rs` in the kernel code segment.
    unsafe { lidt(&pointer) };
}

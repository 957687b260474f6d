//! The global descriptor table, the task-state segment and the kernel's own stacks.
//!
//! The segment order is fixed by `syscall`/`sysret` (Intel SDM vol. 2B, SYSRET): kernel code,
//! kernel data, user data, user code, so that STAR can name both pairs.

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// Index of the IST stack used for double faults.
pub const DOUBLE_FAULT_IST: u16 = 0;
/// Index of the IST stack used for non-maskable interrupts.
pub const NMI_IST: u16 = 1;

/// Selector of the user data segment (index 3, RPL 3), fixed by the order sysret expects.
pub const USER_DATA_SELECTOR: u64 = 0x1b;
/// Selector of the user code segment (index 4, RPL 3).
pub const USER_CODE_SELECTOR: u64 = 0x23;

const TRAP_STACK_BYTES: usize = 64 * 1024;
const IST_STACK_BYTES: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack<const N: usize>([u8; N]);

static mut TRAP_STACK: Stack<TRAP_STACK_BYTES> = Stack([0; TRAP_STACK_BYTES]);
static mut DOUBLE_FAULT_STACK: Stack<IST_STACK_BYTES> = Stack([0; IST_STACK_BYTES]);
static mut NMI_STACK: Stack<IST_STACK_BYTES> = Stack([0; IST_STACK_BYTES]);

/// The selectors in the GDT.
#[derive(Clone, Copy, Debug)]
pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    pub user_data: SegmentSelector,
    pub user_code: SegmentSelector,
}

static TSS: spin::Once<TaskStateSegment> = spin::Once::new();
static GDT: spin::Once<(GlobalDescriptorTable, Selectors)> = spin::Once::new();

/// Top of the stack every trap from user mode starts on (TSS.RSP0 and the `syscall` entry).
pub fn trap_stack_top() -> u64 {
    (&raw mut TRAP_STACK) as u64 + TRAP_STACK_BYTES as u64
}

fn stack_top<const N: usize>(stack: *mut Stack<N>) -> VirtAddr {
    VirtAddr::new(stack as u64 + N as u64)
}

/// Loads the GDT and TSS and reloads every segment register. Returns the selectors.
pub fn init() -> Selectors {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        tss.privilege_stack_table[0] = VirtAddr::new(trap_stack_top());
        tss.interrupt_stack_table[DOUBLE_FAULT_IST as usize] =
            stack_top(&raw mut DOUBLE_FAULT_STACK);
        tss.interrupt_stack_table[NMI_IST as usize] = stack_top(&raw mut NMI_STACK);
        tss
    });
    let (gdt, selectors) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        let tss_selector = gdt.append(Descriptor::tss_segment(tss));
        let selectors = Selectors {
            kernel_code,
            kernel_data,
            user_data,
            user_code,
        };
        assert_eq!(tss_selector.index(), 5, "TSS follows the four segments");
        assert_eq!(u64::from(user_data.0), USER_DATA_SELECTOR);
        assert_eq!(u64::from(user_code.0), USER_CODE_SELECTOR);
        (gdt, selectors)
    });
    gdt.load();
    // SAFETY: the selectors name descriptors of the GDT just loaded, which lives in a static;
    // the TSS descriptor at index 5 describes the static TSS.
    unsafe {
        CS::set_reg(selectors.kernel_code);
        SS::set_reg(selectors.kernel_data);
        DS::set_reg(selectors.kernel_data);
        ES::set_reg(selectors.kernel_data);
        load_tss(SegmentSelector::new(5, x86_64::PrivilegeLevel::Ring0));
    }
    clear_local_descriptor_table();
    *selectors
}

/// Loads the null selector into LDTR, whatever the firmware or the loader left there, so that a
/// user selector with the table-indicator bit names no descriptor and loading it faults, instead
/// of making the CPU read a descriptor from wherever the old LDT base points (user memory,
/// perhaps). Intel SDM vol. 3A, 3.5.1: a null LDTR makes every LDT reference raise #GP.
fn clear_local_descriptor_table() {
    // SAFETY: `lldt` with a null selector only marks the LDT invalid; the kernel uses no LDT
    // descriptor, so nothing that runs later depends on the old one.
    unsafe { core::arch::asm!("lldt {0:x}", in(reg) 0u16, options(nostack, preserves_flags)) };
}

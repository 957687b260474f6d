//! The hardware layer: every register, descriptor table, trap entry and port access of the
//! kernel lives below this module, so that the rest of the kernel is policy on safe types.

pub mod apic;
pub mod clock;
pub mod cpu;
pub mod device_wait;
pub mod dma;
pub mod gdt;
pub mod idt;
pub mod mmio;
pub mod msix;
pub mod paging;
pub mod pci;
pub mod rtc;
pub mod serial;
pub mod syscall_entry;
pub mod trap;
pub mod virtio_blk;
pub mod virtio_net;
pub mod virtio_pci;

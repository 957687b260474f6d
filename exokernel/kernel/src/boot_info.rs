//! The one module that knows the bootloader: its configuration, the entry point, and the
//! conversion of its boot information into the kernel's own types.

use alloc::vec::Vec;
use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::info::MemoryRegionKind;
use bootloader_api::{BootInfo, entry_point};
use exo_core::PAGE_SIZE;
use exo_core::frame_table::FrameRange;

/// Where the kernel image is loaded (fixed, so that debuggers find its symbols).
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;

/// Everything the bootloader maps is kept in the kernel half, leaving the user half empty.
const KERNEL_HALF_START: u64 = 0xffff_8000_0000_0000;

static BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.mappings.kernel_base = Mapping::FixedAddress(KERNEL_BASE);
    config.mappings.dynamic_range_start = Some(KERNEL_HALF_START);
    config.kernel_stack_size = 128 * 1024;
    config
};

entry_point!(boot_entry, config = &BOOTLOADER_CONFIG);

/// What the kernel needs from the boot information.
pub struct BootFacts {
    /// Usable RAM, as frame ranges.
    pub usable_memory: Vec<FrameRange>,
    /// Virtual address where all physical memory is mapped.
    pub physical_memory_offset: u64,
    /// The ramdisk the boot tool packed (apps and `boot.cfg`).
    pub ramdisk: Option<&'static [u8]>,
    /// The framebuffer the firmware set up, if any.
    pub framebuffer: Option<FramebufferFacts>,
}

/// The shape of the framebuffer.
#[derive(Clone, Copy, Debug)]
pub struct FramebufferFacts {
    pub width: usize,
    pub height: usize,
    pub bytes_per_pixel: usize,
}

fn boot_entry(boot_info: &'static mut BootInfo) -> ! {
    crate::heap::init();
    crate::arch::serial::init();
    crate::logger::init();
    let usable_memory = boot_info
        .memory_regions
        .iter()
        .filter(|region| region.kind == MemoryRegionKind::Usable)
        .map(|region| FrameRange {
            start: region.start.div_ceil(PAGE_SIZE),
            end: region.end / PAGE_SIZE,
        })
        .collect();
    let physical_memory_offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("the bootloader maps physical memory as configured");
    let ramdisk = boot_info.ramdisk_addr.into_option().map(|address| {
        // SAFETY: the bootloader mapped the ramdisk at this address for the kernel's lifetime,
        // read-only to everyone else, and marked its frames as not usable, so the frame table
        // never hands them out.
        unsafe { core::slice::from_raw_parts(address as *const u8, boot_info.ramdisk_len as usize) }
    });
    let framebuffer = boot_info.framebuffer.as_ref().map(|framebuffer| {
        let info = framebuffer.info();
        FramebufferFacts {
            width: info.width,
            height: info.height,
            bytes_per_pixel: info.bytes_per_pixel,
        }
    });
    crate::kernel_main(BootFacts {
        usable_memory,
        physical_memory_offset,
        ramdisk,
        framebuffer,
    })
}

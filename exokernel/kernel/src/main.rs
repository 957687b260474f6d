//! The exokernel: it tracks who owns each physical resource, checks every use, and leaves the
//! management of resources to the library OSes linked into each application.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod boot_info;
mod console;
mod disk;
mod heap;
mod kernel;
mod logger;
mod memory;
mod net;
mod pc;
mod selftest;
mod syscalls;
mod traps;

use boot_info::BootFacts;
use exo_abi::kernel_memory::PER_ENVIRONMENT_MAX;
use exo_core::boot_config::{self, BootConfig, SelfTest};
use exo_core::frame_table::FrameTable;
use exo_core::guest_status::{BAD_BOOT, KERNEL_FAULT};
use exo_core::kernel_memory::KernelMemory;
use exo_core::ramdisk::Ramdisk;

/// Brings the machine up, then runs the init environment; never returns.
fn kernel_main(boot: BootFacts) -> ! {
    let selectors = arch::gdt::init();
    arch::idt::init(selectors.kernel_code);
    if let Err(missing) = arch::cpu::enable_protections() {
        panic!("the CPU lacks {missing:?}; run QEMU with -cpu max");
    }
    arch::syscall_entry::init(&selectors);
    memory::init(boot.physical_memory_offset);
    arch::paging::init();
    arch::apic::disable_legacy_pic();
    arch::apic::init(boot.physical_memory_offset);
    let ramdisk = boot.ramdisk.unwrap_or_else(|| bad_boot("no ramdisk"));
    let ramdisk =
        Ramdisk::parse(ramdisk).unwrap_or_else(|error| bad_boot_with("bad ramdisk", error));
    let config_text = ramdisk.find(boot_config::FILE_NAME).map_or("", |file| {
        core::str::from_utf8(file.data).unwrap_or_else(|_| bad_boot("boot.cfg is not UTF-8"))
    });
    let config =
        BootConfig::parse(config_text).unwrap_or_else(|error| bad_boot_with("bad boot.cfg", error));
    logger::set_level(config.log_level);
    // After the log level is known: these lines are at levels info and debug.
    arch::clock::calibrate();
    arch::rtc::read_at_boot();
    if let Some(framebuffer) = boot.framebuffer {
        log::debug!(
            "framebuffer {}x{}, {} bytes per pixel (unused: the console is serial)",
            framebuffer.width,
            framebuffer.height,
            framebuffer.bytes_per_pixel
        );
    }

    let frames = FrameTable::new(boot.usable_memory);
    kernel::install(frames, ramdisk);
    kernel::with(|kernel| {
        disk::init(&mut kernel.frames);
        net::init(&mut kernel.frames);
        kernel.blocks = exo_system::blocks::mount(&mut kernel.frames);
        kernel.kernel_memory = KernelMemory::new(
            PER_ENVIRONMENT_MAX,
            heap::charge_limit(kernel.frames.free_count()),
        );
    });
    kprintln!(
        "exokernel: kernel heap: {} bytes in use, {} for environments' charges",
        heap::in_use(),
        kernel::with(|kernel| kernel.kernel_memory.global_limit())
    );
    let init = kernel::with(|kernel| kernel.spawn(config.init, config.args.as_bytes(), None));
    let init = init.unwrap_or_else(|error| bad_boot_with(config.init, error.describe()));
    kprintln!(
        "exokernel: ready, {} free frames",
        kernel::with(|kernel| kernel.frames.free_count())
    );
    if config.self_test == Some(SelfTest::Smap) {
        selftest::smap(init);
    }
    if config.self_test == Some(SelfTest::Disk) {
        selftest::disk();
    }
    if config.self_test == Some(SelfTest::Net) {
        selftest::net();
    }
    kernel::run()
}

fn bad_boot(reason: &str) -> ! {
    kprintln!("exokernel: cannot start: {reason}");
    arch::cpu::exit_qemu(BAD_BOOT)
}

fn bad_boot_with(reason: &str, detail: impl core::fmt::Debug) -> ! {
    kprintln!("exokernel: cannot start: {reason}: {detail:?}");
    arch::cpu::exit_qemu(BAD_BOOT)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    console::break_lock();
    kprintln!("KERNEL PANIC: {info}");
    arch::cpu::exit_qemu(KERNEL_FAULT)
}

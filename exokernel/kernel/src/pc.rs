//! The PC under the kernel: `exo_system`'s `Platform` carried out by this crate's hardware
//! code (page tables, the physical map, SMAP, the APIC timer, the serial port, the virtio disk
//! and network device, QEMU's exit port).

use crate::arch::cpu::{exit_qemu, faulting_address, wait_for_interrupt, with_user_access};
use crate::arch::{clock, gdt, paging, serial};
use crate::disk::{self, DiskError};
use crate::{console, heap, net};
use core::fmt;
use exo_abi::{Error, ExceptionFrame};
use exo_core::PAGE_SIZE;
use exo_core::frame_table::{FrameNumber, FrameOwner, FrameTable};
use exo_system::counters;
use exo_system::platform::{DiskDirection, DiskFailure, FrameCopy, Platform};

/// This machine.
pub struct Pc;

impl Platform for Pc {
    type AddressSpace = paging::AddressSpace;

    const USER_CODE_SELECTOR: u64 = gdt::USER_CODE_SELECTOR;
    const USER_DATA_SELECTOR: u64 = gdt::USER_DATA_SELECTOR;

    fn activate_kernel_root() {
        paging::activate_kernel_root();
    }

    fn with_frame_page<T>(frame: FrameNumber, access: impl FnOnce(&mut [u8; 4096]) -> T) -> T {
        paging::with_frame_page(frame, access)
    }

    fn allocate_zeroed(frames: &mut FrameTable, owner: FrameOwner) -> Result<FrameNumber, Error> {
        paging::allocate_zeroed(frames, owner)
    }

    fn read_frame(frame: FrameNumber, offset: usize, bytes: &mut [u8]) {
        paging::read_from_frame(frame, offset, bytes);
    }

    fn write_frame(frame: FrameNumber, offset: usize, bytes: &[u8]) {
        paging::write_to_frame(frame, offset, bytes);
    }

    fn read_user(address: u64, buffer: &mut [u8]) {
        with_user_access(|| {
            // SAFETY: the caller checked every page of the range mapped present and
            // user-readable in the active address space (nothing can change that: one CPU,
            // interrupts off), and `buffer` is a kernel buffer of the range's length.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    address as *const u8,
                    buffer.as_mut_ptr(),
                    buffer.len(),
                )
            }
        });
    }

    fn write_user(address: u64, bytes: &[u8]) {
        with_user_access(|| {
            // SAFETY: the caller checked every page of the range mapped present,
            // user-accessible and writable in the active address space (nothing can change that:
            // one CPU, interrupts off), and the kernel holds no reference into user memory.
            unsafe {
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len())
            }
        });
    }

    fn write_user_frame(address: u64, frame: &ExceptionFrame) {
        with_user_access(|| {
            // SAFETY: as for `write_user`, over the frame's bytes: the caller checked every page
            // of them mapped present, user-accessible and writable in the active address space.
            unsafe { core::ptr::write_unaligned(address as *mut ExceptionFrame, *frame) }
        });
    }

    fn copy_user_and_frame(
        address: u64,
        frame: FrameNumber,
        offset: usize,
        length: usize,
        direction: FrameCopy,
    ) {
        assert!(offset + length <= PAGE_SIZE as usize);
        let frame_bytes = paging::frame_byte_address(frame, offset);
        let user_bytes = address as *mut u8;
        let (source, destination) = match direction {
            FrameCopy::UserToFrame => (user_bytes.cast_const(), frame_bytes),
            FrameCopy::FrameToUser => (frame_bytes.cast_const(), user_bytes),
        };
        with_user_access(|| {
            // SAFETY: the caller checked every page of the user range mapped present and
            // user-accessible in the active address space, readable or writable as the copy
            // needs (nothing can change that: one CPU, interrupts off); the frame range is
            // inside the frame (asserted), which the physical map covers. Only raw pointers
            // are used and `copy` allows overlap: when both name the same memory (a shared
            // page) the bytes are meaningless, nothing else.
            unsafe { core::ptr::copy(source, destination, length) }
        });
    }

    fn now_microseconds() -> u64 {
        clock::now_microseconds()
    }

    fn clock_info() -> exo_abi::ClockInfo {
        clock::info()
    }

    fn interrupt_after(microseconds: u64) {
        clock::interrupt_after(microseconds);
    }

    fn wait_for_interrupt() {
        counters::note_halted(wait_for_interrupt());
    }

    fn faulting_address() -> u64 {
        faulting_address()
    }

    fn write_console(bytes: &[u8]) {
        console::write_bytes(bytes);
    }

    fn print(arguments: fmt::Arguments) {
        console::print(arguments);
    }

    fn console_byte() -> Option<u8> {
        serial::read_byte()
    }

    fn disk_blocks() -> Option<u64> {
        disk::with(|disk| disk.capacity_blocks())
    }

    fn disk_transfer(
        direction: DiskDirection,
        transfers: &[(u64, FrameNumber)],
    ) -> Option<Result<(), DiskFailure>> {
        let moved = disk::with(|disk| match direction {
            DiskDirection::Read => disk.read_blocks(transfers),
            DiskDirection::Write => disk.write_blocks(transfers),
        })?;
        Some(moved.map_err(disk_failure))
    }

    fn disk_flush() -> Option<Result<(), DiskFailure>> {
        Some(disk::with(|disk| disk.flush())?.map_err(disk_failure))
    }

    fn net_is_present() -> bool {
        net::is_present()
    }

    fn net_send(frame: &[u8]) -> Option<bool> {
        let sent = net::with(|net| net.send(frame))?;
        if let Err(error) = sent {
            log::warn!("net: send failed: {error:?}");
        }
        Some(sent.is_ok())
    }

    fn net_receive(deliver: &mut dyn FnMut(&[u8])) -> bool {
        net::with(|net| net.receive(deliver)).unwrap_or(true)
    }

    fn heap_in_use() -> usize {
        heap::in_use()
    }

    fn power_off(status: u8) -> ! {
        // The last replies an environment sent are still the device's to take.
        net::finish_sending();
        exit_qemu(status)
    }
}

fn disk_failure(error: DiskError) -> DiskFailure {
    match error {
        DiskError::OutOfRange(_) => DiskFailure::OutOfRange,
        DiskError::ReadOnly | DiskError::Request { .. } | DiskError::Device(_) => {
            DiskFailure::Failed
        }
    }
}

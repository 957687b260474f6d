//! Kernel self-tests chosen in `boot.cfg`; each ends the machine with its verdict.

use crate::arch::cpu::exit_qemu;
use crate::arch::paging::{read_from_frame, write_to_frame, zero_frame};
use crate::disk::{self, BlockNumber, Disk, DiskError};
use crate::kernel;
use crate::kprintln;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use exo_core::PAGE_SIZE;
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner};
use exo_core::guest_status::SELF_TEST_FAILED;

/// Blocks the disk self-test moves in one vectored request each way.
const DISK_BATCH_BLOCKS: u64 = 4;

/// Reads a mapped user page of environment `victim` from the kernel without lifting SMAP. The
/// read must fault (and the fault handler ends the machine with the kernel-fault status); if it
/// succeeds, SMAP is not protecting the kernel and the test fails.
pub fn smap(victim: EnvId) -> ! {
    let address = kernel::with(|kernel| {
        kernel.current = Some(victim);
        let address_space = kernel.current_address_space();
        address_space.activate();
        let entry = kernel.environments.machine(victim).map(|m| m.registers.rip);
        entry.expect("the victim environment is alive")
    });
    kprintln!("smap selftest: touching user memory at {address:#x} without the user-copy path");
    // SAFETY: deliberately unsound if SMAP were off: it reads a user page the kernel may not
    // touch here. With SMAP on, the CPU raises a page fault before any byte is read.
    let byte = unsafe { (address as *const u8).read_volatile() };
    kprintln!("smap selftest: FAILED: the kernel read user byte {byte:#x} at {address:#x}");
    exit_qemu(SELF_TEST_FAILED)
}

/// Checks the disk end to end from kernel frames, then powers off (after the kernel's table
/// check) with status 0 when every block read back as written, or [`SELF_TEST_FAILED`] with the
/// first difference.
///
/// First it reads the last block and says whether it already holds the pattern, which an
/// earlier boot with the same disk left there (so a test can check that data survives a
/// reboot). Then it writes the pattern to the last block from one frame, flushes, reads it back
/// into another frame and compares; then the same for the [`DISK_BATCH_BLOCKS`] blocks before
/// it, written in one vectored request and read back, in reverse order, in another. It also
/// checks that a block past the end is refused.
pub fn disk() -> ! {
    let status = match check_disk() {
        Ok(summary) => {
            kprintln!("exokernel: self-test disk: passed ({summary})");
            0
        }
        Err(reason) => {
            kprintln!("exokernel: self-test disk: failed: {reason}");
            SELF_TEST_FAILED
        }
    };
    kernel::with(|kernel| kernel.power_off(status))
}

/// The pattern byte at `offset` of block `block`; `tests/tests/disk_selftest.rs` computes the
/// same on the host to check the disk image.
fn pattern_byte(block: BlockNumber, offset: usize) -> u8 {
    let value = (offset as u64 * 7)
        .wrapping_add(block.wrapping_mul(13))
        .wrapping_add(1);
    (value % 251) as u8
}

fn check_disk() -> Result<String, String> {
    let capacity = disk::with(|disk| disk.capacity_blocks()).ok_or("no disk")?;
    if capacity <= DISK_BATCH_BLOCKS {
        return Err(format!("the disk has only {capacity} blocks"));
    }
    let mut frames = Vec::new();
    for _ in 0..2 * (1 + DISK_BATCH_BLOCKS) {
        let frame = kernel::with(|kernel| kernel.frames.allocate(FrameOwner::Kernel));
        match frame {
            Ok(Some(frame)) => frames.push(frame),
            _ => break,
        }
    }
    let result = if frames.len() as u64 == 2 * (1 + DISK_BATCH_BLOCKS) {
        exercise_disk(capacity, &frames)
    } else {
        Err(String::from("no free frames"))
    };
    kernel::with(|kernel| {
        for &frame in &frames {
            let _ = kernel.frames.free(frame, FrameOwner::Kernel);
        }
    });
    result
}

/// The self-test proper, on `frames` (kernel frames, two per block it moves).
fn exercise_disk(capacity: u64, frames: &[FrameNumber]) -> Result<String, String> {
    let last = capacity - 1;
    let (source, target) = (frames[0], frames[1]);
    use_disk(|disk| disk.read_block(last, target))?;
    let state = match frame_holds_pattern(target, last) {
        Ok(()) => "already holds",
        Err(_) => "does not hold",
    };
    kprintln!("exokernel: self-test disk: the last block ({last}) {state} the test pattern");
    fill_with_pattern(source, last);
    zero_frame(target);
    use_disk(|disk| disk.write_block(last, source))?;
    use_disk(Disk::flush)?;
    use_disk(|disk| disk.read_block(last, target))?;
    frame_holds_pattern(target, last)?;

    let batch = DISK_BATCH_BLOCKS as usize;
    let blocks: Vec<BlockNumber> = (last - DISK_BATCH_BLOCKS..last).collect();
    let (sources, targets) = frames[2..].split_at(batch);
    let writes: Vec<(BlockNumber, FrameNumber)> = blocks
        .iter()
        .copied()
        .zip(sources.iter().copied())
        .collect();
    let reads: Vec<(BlockNumber, FrameNumber)> = blocks
        .iter()
        .rev()
        .copied()
        .zip(targets.iter().copied())
        .collect();
    for &(block, frame) in &writes {
        fill_with_pattern(frame, block);
    }
    for &frame in targets {
        zero_frame(frame);
    }
    use_disk(|disk| disk.write_blocks(&writes))?;
    use_disk(Disk::flush)?;
    use_disk(|disk| disk.read_blocks(&reads))?;
    for &(block, frame) in &reads {
        frame_holds_pattern(frame, block)?;
    }

    match disk::with(|disk| disk.read_block(capacity, target)) {
        Some(Err(DiskError::OutOfRange(block))) if block == capacity => {}
        other => {
            return Err(format!(
                "reading block {capacity}, past the end, gave {other:?}"
            ));
        }
    }
    Ok(format!(
        "{} blocks written and read back, {batch} of them in one vectored request each way",
        1 + batch
    ))
}

/// Runs `request` on the disk, turning a missing disk or a failure into a message.
fn use_disk(request: impl FnOnce(&mut Disk) -> Result<(), DiskError>) -> Result<(), String> {
    match disk::with(request) {
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => Err(format!("disk request failed: {error:?}")),
        None => Err(String::from("no disk")),
    }
}

fn fill_with_pattern(frame: FrameNumber, block: BlockNumber) {
    let mut bytes = [0u8; PAGE_SIZE as usize];
    for (offset, byte) in bytes.iter_mut().enumerate() {
        *byte = pattern_byte(block, offset);
    }
    write_to_frame(frame, 0, &bytes);
}

/// Compares `frame` with block `block`'s pattern; describes the first difference.
fn frame_holds_pattern(frame: FrameNumber, block: BlockNumber) -> Result<(), String> {
    let mut bytes = [0u8; PAGE_SIZE as usize];
    read_from_frame(frame, 0, &mut bytes);
    match bytes
        .iter()
        .enumerate()
        .find(|&(offset, &byte)| byte != pattern_byte(block, offset))
    {
        None => Ok(()),
        Some((offset, &found)) => Err(format!(
            "block {block} read back {found:#04x} at byte {offset}, expected {:#04x}",
            pattern_byte(block, offset)
        )),
    }
}

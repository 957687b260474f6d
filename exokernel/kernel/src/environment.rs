//! Building an environment's machine state from a program file: its address space, holding the
//! program's segments, a stack and the argument string, and its first registers.

use crate::arch::gdt::{USER_CODE_SELECTOR, USER_DATA_SELECTOR};
use crate::arch::paging::{AddressSpace, Rights, allocate_zeroed, write_to_frame};
use crate::arch::trap::TrapFrame;
use crate::kernel::Machine;
use exo_abi::Error;
use exo_core::PAGE_SIZE;
use exo_core::elf_plan::{self, LoadPlan, Segment};
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameOwner, FrameTable};
use exo_core::user_layout::{STACK_BYTES, STACK_TOP};

/// RFLAGS of a new environment: interrupts on (bit 9) and the always-one bit 1.
const INITIAL_RFLAGS: u64 = 0x202;

/// Loads `program` for environment `id`. On failure every frame charged to `id` is freed again.
pub fn load(
    id: EnvId,
    program: &[u8],
    args: &[u8],
    frames: &mut FrameTable,
) -> Result<Machine, Error> {
    if args.len() as u64 > exo_abi::ARGUMENTS_MAX_BYTES {
        return Err(Error::TooLong);
    }
    let plan = elf_plan::plan(program).map_err(|error| {
        log::warn!("env {}: not a loadable program: {error:?}", id.0);
        Error::BadExecutable
    })?;
    let machine = build(id, &plan, program, args, frames);
    if machine.is_err() {
        frames.release_environment(id);
    }
    machine
}

fn build(
    id: EnvId,
    plan: &LoadPlan,
    program: &[u8],
    args: &[u8],
    frames: &mut FrameTable,
) -> Result<Machine, Error> {
    let mut address_space = AddressSpace::new(id, frames)?;
    for segment in &plan.segments {
        load_segment(id, segment, program, &mut address_space, frames)?;
    }
    let stack_rights = Rights {
        is_writable: true,
        is_executable: false,
    };
    let mut top_frame = None;
    for page in (STACK_TOP - STACK_BYTES..STACK_TOP).step_by(PAGE_SIZE as usize) {
        let frame = allocate_zeroed(frames, FrameOwner::Environment(id))?;
        address_space.map(page, frame, stack_rights, frames)?;
        top_frame = Some(frame);
    }
    let args_address = STACK_TOP - args.len() as u64;
    let top_frame = top_frame.expect("the stack has pages");
    write_to_frame(top_frame, (args_address % PAGE_SIZE) as usize, args);
    let registers = TrapFrame {
        rip: plan.entry,
        cs: USER_CODE_SELECTOR,
        rflags: INITIAL_RFLAGS,
        rsp: args_address & !0xF,
        ss: USER_DATA_SELECTOR,
        rdi: args_address,
        rsi: args.len() as u64,
        ..TrapFrame::default()
    };
    Ok(Machine {
        address_space,
        registers,
        exception_handler: None,
    })
}

fn load_segment(
    id: EnvId,
    segment: &Segment,
    program: &[u8],
    address_space: &mut AddressSpace,
    frames: &mut FrameTable,
) -> Result<(), Error> {
    let rights = Rights {
        is_writable: segment.is_writable,
        is_executable: segment.is_executable,
    };
    let file_end = segment.virtual_address + segment.file_len;
    for page in (segment.first_page()..segment.end_page()).step_by(PAGE_SIZE as usize) {
        let frame = allocate_zeroed(frames, FrameOwner::Environment(id))?;
        let copy_start = page.max(segment.virtual_address);
        let copy_end = (page + PAGE_SIZE).min(file_end);
        if copy_start < copy_end {
            let file_offset =
                (segment.file_offset + (copy_start - segment.virtual_address)) as usize;
            let bytes = &program[file_offset..file_offset + (copy_end - copy_start) as usize];
            write_to_frame(frame, (copy_start - page) as usize, bytes);
        }
        address_space.map(page, frame, rights, frames)?;
    }
    Ok(())
}

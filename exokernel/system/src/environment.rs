//! Building an environment's machine state: from a program file (its address space, holding the
//! program's segments, a stack and the argument string, and its first registers), or empty, for
//! a parent to fill and start. Every page is bound through the mapping database like any later
//! binding.

use crate::kernel::Machine;
use crate::platform::{AddressSpace, Platform};
use crate::trap_frame::TrapFrame;
use alloc::collections::BTreeMap;
use core::marker::PhantomData;
use exo_abi::kernel_memory::BINDING_BYTES;
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, PageRights};
use exo_core::PAGE_SIZE;
use exo_core::capabilities::CapabilityTable;
use exo_core::elf_plan::{self, LoadPlan, Segment};
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner, FrameTable};
use exo_core::kernel_memory::{BindingCounts, KernelMemory};
use exo_core::mappings::{MappingDatabase, MappingError, Place};
use exo_core::user_layout::{STACK_BYTES, STACK_TOP};

/// RFLAGS of user code entered afresh (a new environment, an exception handler): interrupts on
/// (bit 9) and the always-one bit 1; the direction flag is clear, as the calling convention
/// requires at every function entry.
pub const ENTRY_RFLAGS: u64 = 0x202;

/// The registers an environment starts with: `rip`, `rsp`, `rdi` and `rsi` as given, every
/// other register zero, user segments and interrupts on.
pub fn first_registers<P: Platform>(rip: u64, rsp: u64, rdi: u64, rsi: u64) -> TrapFrame {
    TrapFrame {
        rip,
        cs: P::USER_CODE_SELECTOR,
        rflags: ENTRY_RFLAGS,
        rsp,
        ss: P::USER_DATA_SELECTOR,
        rdi,
        rsi,
        ..TrapFrame::default()
    }
}

/// The machine state of environment `id` built by hand: an empty user half and no registers
/// yet (it does not run until started). Fails with `NoMemory` when no frame is free for its
/// page table.
pub fn empty<P: Platform>(id: EnvId, frames: &mut FrameTable) -> Result<Machine<P>, Error> {
    Ok(machine_with(
        P::AddressSpace::new(id, frames)?,
        TrapFrame::default(),
    ))
}

fn machine_with<P: Platform>(address_space: P::AddressSpace, registers: TrapFrame) -> Machine<P> {
    Machine {
        address_space,
        registers,
        exception_handler: None,
        upcalls_enabled: Upcalls::empty(),
        pending_upcalls: BTreeMap::new(),
        repossession_frame: None,
        frames_at_start: 0,
        capabilities: CapabilityTable::default(),
        receive_window: 0,
        lent: None,
        wakes_on_child_end: false,
        child_ended: false,
        has_frame_since_sleep: false,
        grant: None,
    }
}

/// Loads `program` for environment `id`, its bindings charged to it under `kernel_memory`'s
/// limits. On failure every frame charged to `id` is freed again and every binding recorded for
/// it is dropped.
pub fn load<P: Platform>(
    id: EnvId,
    program: &[u8],
    args: &[u8],
    frames: &mut FrameTable,
    mappings: &mut MappingDatabase,
    kernel_memory: &KernelMemory,
) -> Result<Machine<P>, Error> {
    if args.len() as u64 > exo_abi::ARGUMENTS_MAX_BYTES {
        return Err(Error::TooLong);
    }
    let plan = elf_plan::plan(program).map_err(|error| {
        log::warn!("env {}: not a loadable program: {error:?}", id.0);
        Error::BadExecutable
    })?;
    let machine = Loader::<P> {
        id,
        frames,
        mappings,
        kernel_memory,
        platform: PhantomData,
    }
    .build(&plan, program, args);
    if machine.is_err() {
        mappings.remove_environment(id);
        frames.release_environment(id);
    }
    machine
}

struct Loader<'a, P: Platform> {
    id: EnvId,
    frames: &'a mut FrameTable,
    mappings: &'a mut MappingDatabase,
    kernel_memory: &'a KernelMemory,
    platform: PhantomData<P>,
}

impl<P: Platform> Loader<'_, P> {
    fn build(&mut self, plan: &LoadPlan, program: &[u8], args: &[u8]) -> Result<Machine<P>, Error> {
        let mut address_space = P::AddressSpace::new(self.id, self.frames)?;
        for segment in &plan.segments {
            self.load_segment(&mut address_space, segment, program)?;
        }
        let stack_rights = PageRights::WRITABLE;
        let mut top_frame = None;
        for page in (STACK_TOP - STACK_BYTES..STACK_TOP).step_by(PAGE_SIZE as usize) {
            top_frame = Some(self.bind_new_page(&mut address_space, page, stack_rights)?);
        }
        let args_address = STACK_TOP - args.len() as u64;
        let top_frame = top_frame.expect("the stack has pages");
        P::write_frame(top_frame, (args_address % PAGE_SIZE) as usize, args);
        let registers = first_registers::<P>(
            plan.entry,
            args_address & !0xF,
            args_address,
            args.len() as u64,
        );
        Ok(machine_with(address_space, registers))
    }

    fn load_segment(
        &mut self,
        address_space: &mut P::AddressSpace,
        segment: &Segment,
        program: &[u8],
    ) -> Result<(), Error> {
        let mut rights = PageRights::empty();
        rights.set(PageRights::WRITABLE, segment.is_writable);
        rights.set(PageRights::EXECUTABLE, segment.is_executable);
        let file_end = segment.virtual_address + segment.file_len;
        for page in (segment.first_page()..segment.end_page()).step_by(PAGE_SIZE as usize) {
            let frame = self.bind_new_page(address_space, page, rights)?;
            let copy_start = page.max(segment.virtual_address);
            let copy_end = (page + PAGE_SIZE).min(file_end);
            if copy_start < copy_end {
                let file_offset =
                    (segment.file_offset + (copy_start - segment.virtual_address)) as usize;
                let bytes = &program[file_offset..file_offset + (copy_end - copy_start) as usize];
                P::write_frame(frame, (copy_start - page) as usize, bytes);
            }
        }
        Ok(())
    }

    /// Allocates a zeroed frame to the environment and binds it at `page` with `rights`.
    fn bind_new_page(
        &mut self,
        address_space: &mut P::AddressSpace,
        page: u64,
        rights: PageRights,
    ) -> Result<FrameNumber, Error> {
        let counts = BindingCounts {
            environment: self.mappings.count_in(self.id),
            total: self.mappings.len(),
        };
        self.kernel_memory.check(self.id, BINDING_BYTES, counts)?;
        let frame = P::allocate_zeroed(self.frames, FrameOwner::Environment(self.id))?;
        let place = Place::new(self.id, page / PAGE_SIZE);
        self.mappings
            .map_root(place, frame, rights)
            .map_err(|error| match error {
                MappingError::NoMemory => Error::NoMemory,
                _ => Error::Occupied,
            })?;
        address_space.map(page, frame, rights, self.frames)?;
        Ok(frame)
    }
}

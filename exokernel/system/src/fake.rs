//! A fake machine for host tests: page tables kept as maps, physical memory as a map of
//! frames, a console that collects its bytes, a clock that moves only when told or when the
//! kernel idles, and a record of every page-table change. It is per test thread, so tests run
//! in parallel without seeing each other's machine.

use crate::kernel::Kernel;
use crate::platform::{
    Access, AddressSpace, DiskDirection, DiskFailure, FrameCopy, Platform, UserEntry,
};
use crate::syscalls;
use crate::trap_frame::TrapFrame;
use exo_abi::{Error, PageRights, PageUse, decode_result};
use exo_core::PAGE_SIZE;
use exo_core::elf_builder::{RW, RX, TestSegment, static_executable};
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner, FrameRange, FrameTable};
use exo_core::kernel_memory::KernelMemory;
use exo_core::ramdisk::{self, Ramdisk};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Frames of the fake machine's RAM (16 MiB).
pub const FAKE_FRAMES: u64 = 4096;
/// Most frames one call of the fake network device's receive takes.
pub const FAKE_RECEIVE_BATCH: usize = 4;
/// The entry point of the programs in the fake ramdisk.
pub const PROGRAM_ENTRY: u64 = 0x40_0000;

/// What the fake machine's clock reports: a 1 GHz counter and a boot on 2026-12-07 at
/// 09:30:15 UTC.
pub const FAKE_CLOCK: exo_abi::ClockInfo = exo_abi::ClockInfo {
    tsc_ticks_per_second: 1_000_000_000,
    boot_tsc: 123_456,
    boot_time: exo_abi::CivilTime {
        year: 2026,
        month: 12,
        day: 7,
        hour: 9,
        minute: 30,
        second: 15,
    },
};

/// A page-table change, as the fake machine saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Mapped {
        space: u32,
        page: u64,
        frame: FrameNumber,
        rights: PageRights,
    },
    Unmapped {
        space: u32,
        page: u64,
    },
    RightsSet {
        space: u32,
        page: u64,
        rights: PageRights,
    },
}

#[derive(Default)]
struct Machine {
    memory: HashMap<FrameNumber, Box<[u8; 4096]>>,
    /// Each address space's leaves by page address, by space id.
    spaces: HashMap<u32, BTreeMap<u64, (FrameNumber, PageRights)>>,
    active: Option<u32>,
    next_space: u32,
    events: Vec<Event>,
    console: Vec<u8>,
    console_input: Vec<u8>,
    now_microseconds: u64,
    timer_at: Option<u64>,
    /// The next [`AddressSpace::map`] fails as when no frame is left for a page-table page.
    refuses_next_map: bool,
    /// Each space by its root frame, which stands for all of its tables.
    space_of_root: HashMap<FrameNumber, u32>,
    /// Borrowed regions by space and region address: the owner's space, its root (the table),
    /// and whether writes go through.
    borrowed: BTreeMap<(u32, u64), (u32, FrameNumber, bool)>,
    /// The `exo_abi::PageUse` bits of each space's leaves, as the MMU would set them (see
    /// [`use_page`]).
    usage: HashMap<(u32, u64), PageUse>,
    /// Whether the machine has a network device: once a frame has arrived ([`arrive`]).
    has_net: bool,
    /// Frames the network device has received and the kernel has not taken yet.
    arrived: VecDeque<Vec<u8>>,
    /// Calls of [`wait_for_interrupt`](Platform::wait_for_interrupt) so far.
    halts: u64,
    /// The halts made before the kernel took the last arrived frame.
    halts_before_drained: Option<u64>,
}

/// Sets `bits` on the page at `page_address` of the address space
/// numbered `space`, as the MMU does when a program uses the page; nothing when it is unbound.
pub fn use_page(space: u32, page_address: u64, bits: PageUse) {
    with_machine(|machine| {
        if machine
            .spaces
            .get(&space)
            .is_some_and(|leaves| leaves.contains_key(&page_address))
        {
            *machine
                .usage
                .entry((space, page_address))
                .or_insert(PageUse::empty()) |= bits;
        }
    });
}

fn region_of(address: u64) -> u64 {
    address & !(exo_abi::region::BYTES - 1)
}

thread_local! {
    static MACHINE: RefCell<Machine> = RefCell::new(Machine::default());
}

fn with_machine<T>(action: impl FnOnce(&mut Machine) -> T) -> T {
    MACHINE.with(|machine| action(&mut machine.borrow_mut()))
}

/// The fake platform.
pub struct Fake;

/// An address space of the fake machine: its root table frame (charged to its owner like a
/// real one) and its leaves, kept by the machine.
#[derive(Debug)]
pub struct FakeAddressSpace {
    id: u32,
    root: FrameNumber,
}

impl FakeAddressSpace {
    /// The number the fake machine knows this address space by (in [`Event`]s).
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl AddressSpace for FakeAddressSpace {
    fn new(owner: EnvId, frames: &mut FrameTable) -> Result<Self, Error> {
        let root = Fake::allocate_zeroed(frames, FrameOwner::PageTableOf(owner))?;
        let id = with_machine(|machine| {
            machine.next_space += 1;
            machine.spaces.insert(machine.next_space, BTreeMap::new());
            machine.space_of_root.insert(root, machine.next_space);
            machine.next_space
        });
        Ok(FakeAddressSpace { id, root })
    }

    fn map(
        &mut self,
        page_address: u64,
        frame: FrameNumber,
        rights: PageRights,
        _frames: &mut FrameTable,
    ) -> Result<(), Error> {
        with_machine(|machine| {
            if core::mem::take(&mut machine.refuses_next_map) {
                return Err(Error::NoMemory);
            }
            if machine
                .borrowed
                .contains_key(&(self.id, region_of(page_address)))
            {
                return Err(Error::Occupied);
            }
            machine
                .spaces
                .get_mut(&self.id)
                .expect("space")
                .insert(page_address, (frame, rights));
            machine.usage.remove(&(self.id, page_address));
            machine.events.push(Event::Mapped {
                space: self.id,
                page: page_address,
                frame,
                rights,
            });
            Ok(())
        })
    }

    fn unmap(&mut self, page_address: u64) {
        with_machine(|machine| {
            if machine
                .spaces
                .get_mut(&self.id)
                .expect("space")
                .remove(&page_address)
                .is_some()
            {
                machine.usage.remove(&(self.id, page_address));
                machine.events.push(Event::Unmapped {
                    space: self.id,
                    page: page_address,
                });
            }
        });
    }

    fn set_rights(&mut self, page_address: u64, rights: PageRights) {
        with_machine(|machine| {
            if let Some(leaf) = machine
                .spaces
                .get_mut(&self.id)
                .expect("space")
                .get_mut(&page_address)
            {
                leaf.1 = rights;
                machine.events.push(Event::RightsSet {
                    space: self.id,
                    page: page_address,
                    rights,
                });
            }
        });
    }

    fn take_usage(&mut self, page_address: u64, clear: PageUse) -> PageUse {
        with_machine(|machine| {
            let Some(bits) = machine.usage.get_mut(&(self.id, page_address)) else {
                return PageUse::empty();
            };
            let usage = *bits;
            bits.remove(clear);
            usage
        })
    }

    fn translate_user(&self, address: u64, access: Access) -> Option<FrameNumber> {
        let page = address & !(PAGE_SIZE - 1);
        with_machine(|machine| {
            let (space, is_writable) = match machine.borrowed.get(&(self.id, region_of(page))) {
                Some(&(owner, _, is_writable)) => (owner, is_writable),
                None => (self.id, true),
            };
            let &(frame, rights) = machine.spaces.get(&space)?.get(&page)?;
            (access == Access::Read || (rights.contains(PageRights::WRITABLE) && is_writable))
                .then_some(frame)
        })
    }

    fn walk_user_half(&self, visit: &mut dyn FnMut(UserEntry)) {
        visit(UserEntry::Table(self.root));
        let (leaves, borrowed) = with_machine(|machine| {
            let borrowed: Vec<(u64, FrameNumber, bool)> = machine
                .borrowed
                .range((self.id, 0)..=(self.id, u64::MAX))
                .map(|(&(_, region), &(_, table, is_writable))| (region, table, is_writable))
                .collect();
            (machine.spaces[&self.id].clone(), borrowed)
        });
        for (page_address, (frame, rights)) in leaves {
            visit(UserEntry::Leaf {
                page_address,
                frame,
                rights,
            });
        }
        for (region_address, table, is_writable) in borrowed {
            visit(UserEntry::Borrowed {
                region_address,
                table,
                is_writable,
            });
        }
    }

    fn region_table(&self, region_address: u64) -> Option<FrameNumber> {
        with_machine(|machine| {
            if let Some(&(_, table, _)) = machine.borrowed.get(&(self.id, region_address)) {
                return Some(table);
            }
            let end = region_address + exo_abi::region::BYTES;
            let has_bound = machine.spaces[&self.id]
                .range(region_address..end)
                .next()
                .is_some();
            has_bound.then_some(self.root)
        })
    }

    fn borrow_region(
        &mut self,
        region_address: u64,
        table: FrameNumber,
        is_writable: bool,
        _frames: &mut FrameTable,
    ) -> Result<(), Error> {
        if self.region_table(region_address).is_some() {
            return Err(Error::Occupied);
        }
        with_machine(|machine| {
            let owner = machine.space_of_root[&table];
            machine
                .borrowed
                .insert((self.id, region_address), (owner, table, is_writable));
        });
        Ok(())
    }

    fn return_region(&mut self, region_address: u64) {
        with_machine(|machine| machine.borrowed.remove(&(self.id, region_address)));
    }

    fn activate(&self) {
        with_machine(|machine| machine.active = Some(self.id));
    }
}

impl Platform for Fake {
    type AddressSpace = FakeAddressSpace;

    const USER_CODE_SELECTOR: u64 = 0x23;
    const USER_DATA_SELECTOR: u64 = 0x1b;

    fn activate_kernel_root() {
        with_machine(|machine| machine.active = None);
    }

    fn with_frame_page<T>(frame: FrameNumber, access: impl FnOnce(&mut [u8; 4096]) -> T) -> T {
        let mut page = with_machine(|machine| {
            machine
                .memory
                .remove(&frame)
                .unwrap_or_else(|| Box::new([0; 4096]))
        });
        let result = access(&mut page);
        with_machine(|machine| machine.memory.insert(frame, page));
        result
    }

    fn read_user(address: u64, buffer: &mut [u8]) {
        for (index, byte) in buffer.iter_mut().enumerate() {
            let (frame, offset) = user_byte(address + index as u64);
            *byte = Fake::with_frame_page(frame, |page| page[offset]);
        }
    }

    fn write_user(address: u64, bytes: &[u8]) {
        for (index, &byte) in bytes.iter().enumerate() {
            let (frame, offset) = user_byte(address + index as u64);
            Fake::with_frame_page(frame, |page| page[offset] = byte);
        }
    }

    fn copy_user_and_frame(
        address: u64,
        frame: FrameNumber,
        offset: usize,
        length: usize,
        direction: FrameCopy,
    ) {
        for index in 0..length {
            let (user_frame, user_offset) = user_byte(address + index as u64);
            let (from, to) = match direction {
                FrameCopy::UserToFrame => ((user_frame, user_offset), (frame, offset + index)),
                FrameCopy::FrameToUser => ((frame, offset + index), (user_frame, user_offset)),
            };
            let byte = Fake::with_frame_page(from.0, |page| page[from.1]);
            Fake::with_frame_page(to.0, |page| page[to.1] = byte);
        }
    }

    fn now_microseconds() -> u64 {
        with_machine(|machine| machine.now_microseconds)
    }

    fn clock_info() -> exo_abi::ClockInfo {
        FAKE_CLOCK
    }

    fn interrupt_after(microseconds: u64) {
        with_machine(|machine| machine.timer_at = Some(machine.now_microseconds + microseconds));
    }

    fn wait_for_interrupt() {
        with_machine(|machine| {
            machine.halts += 1;
            let wake = machine
                .timer_at
                .take()
                .unwrap_or(machine.now_microseconds + 1);
            machine.now_microseconds = machine.now_microseconds.max(wake);
        });
    }

    fn faulting_address() -> u64 {
        0
    }

    fn write_console(bytes: &[u8]) {
        with_machine(|machine| machine.console.extend_from_slice(bytes));
    }

    fn console_byte() -> Option<u8> {
        with_machine(|machine| {
            (!machine.console_input.is_empty()).then(|| machine.console_input.remove(0))
        })
    }

    fn disk_blocks() -> Option<u64> {
        None
    }

    fn disk_transfer(
        _direction: DiskDirection,
        _transfers: &[(u64, FrameNumber)],
    ) -> Option<Result<(), DiskFailure>> {
        None
    }

    fn disk_flush() -> Option<Result<(), DiskFailure>> {
        None
    }

    fn net_is_present() -> bool {
        with_machine(|machine| machine.has_net)
    }

    fn net_send(_frame: &[u8]) -> Option<bool> {
        None
    }

    fn net_receive(deliver: &mut dyn FnMut(&[u8])) -> bool {
        for _ in 0..FAKE_RECEIVE_BATCH {
            // Taken out first: `deliver` may use the machine.
            let Some(frame) = with_machine(|machine| machine.arrived.pop_front()) else {
                break;
            };
            deliver(&frame);
        }
        with_machine(|machine| {
            let is_drained = machine.arrived.is_empty();
            if is_drained && machine.halts_before_drained.is_none() {
                machine.halts_before_drained = Some(machine.halts);
            }
            is_drained
        })
    }

    fn heap_in_use() -> usize {
        0
    }

    fn power_off(status: u8) -> ! {
        panic!("power off with status {status}")
    }
}

/// The frame and offset behind a user byte of the active address space, which the kernel
/// checked mapped.
fn user_byte(address: u64) -> (FrameNumber, usize) {
    with_machine(|machine| {
        let space = machine.active.expect("an address space is active");
        let (frame, _) = machine.spaces[&space][&(address & !(PAGE_SIZE - 1))];
        (frame, (address % PAGE_SIZE) as usize)
    })
}

/// Every page-table change since the last call.
/// Makes the next page-table write fail for want of a page-table page.
pub fn refuse_next_map() {
    with_machine(|machine| machine.refuses_next_map = true);
}

pub fn take_events() -> Vec<Event> {
    with_machine(|machine| std::mem::take(&mut machine.events))
}

/// Frames arrive at the network device (which the machine has from now on).
pub fn arrive(frames: impl IntoIterator<Item = Vec<u8>>) {
    with_machine(|machine| {
        machine.has_net = true;
        machine.arrived.extend(frames);
        machine.halts_before_drained = None;
    });
}

/// Frames arrived at the network device and not taken by the kernel yet.
pub fn frames_not_taken() -> usize {
    with_machine(|machine| machine.arrived.len())
}

/// How many times the kernel had halted when it took the last frame that had arrived; `None`
/// while frames are left.
pub fn halts_before_drained() -> Option<u64> {
    with_machine(|machine| machine.halts_before_drained)
}

/// How many times the kernel has halted the CPU.
pub fn halts() -> u64 {
    with_machine(|machine| machine.halts)
}

/// When the one-shot timer was last armed to fire, if it was.
pub fn timer_deadline() -> Option<u64> {
    with_machine(|machine| machine.timer_at)
}

/// What the kernel printed since the last call.
pub fn take_console() -> String {
    with_machine(|machine| String::from_utf8_lossy(&std::mem::take(&mut machine.console)).into())
}

/// The leaves of the address space of `environment`.
pub fn leaves_of(
    kernel: &Kernel<Fake>,
    environment: EnvId,
) -> BTreeMap<u64, (FrameNumber, PageRights)> {
    let id = kernel
        .environments
        .machine(environment)
        .expect("living")
        .address_space
        .id;
    with_machine(|machine| machine.spaces[&id].clone())
}

/// A program for the fake ramdisk: one page of code and one of data.
fn program() -> Vec<u8> {
    let code = TestSegment {
        vaddr: PROGRAM_ENTRY,
        memsz: 0x40,
        offset: 0,
        filesz: 0x40,
        flags: RX,
    };
    let data = TestSegment {
        vaddr: PROGRAM_ENTRY + 0x1000,
        memsz: 0x1000,
        offset: 0x40,
        filesz: 0x10,
        flags: RW,
    };
    static_executable(PROGRAM_ENTRY, &[code, data])
}

/// A kernel booted on a fresh fake machine, running its first environment, `init`; `frame`
/// holds init's registers, as after a trap. The ramdisk holds `init` and `child`.
pub struct Booted {
    pub kernel: Kernel<Fake>,
    pub frame: TrapFrame,
    pub init: EnvId,
}

/// The `log` back end of the fake machine: records at `info` and above go to its console, as
/// on the real machine at the default level, so tests read them with [`take_console`].
struct ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!("[{}] {}\n", record.level(), record.args());
            with_machine(|machine| machine.console.extend_from_slice(line.as_bytes()));
        }
    }

    fn flush(&self) {}
}

static LOGGER: ConsoleLogger = ConsoleLogger;

impl Booted {
    pub fn new() -> Booted {
        MACHINE.with(|machine| *machine.borrow_mut() = Machine::default());
        // Only the first call in the process installs it; the others find it there.
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
        let frames = FrameTable::new([FrameRange {
            start: 0,
            end: FAKE_FRAMES,
        }]);
        let image = program();
        let bytes = ramdisk::build(&[("init", &image), ("child", &image)]).expect("ramdisk");
        let ramdisk = Ramdisk::parse(Vec::leak(bytes)).expect("ramdisk parses");
        let mut kernel = Kernel::new(frames, ramdisk);
        kernel.kernel_memory = KernelMemory::new(
            exo_abi::kernel_memory::PER_ENVIRONMENT_MAX,
            64 * 1024 * 1024,
        );
        let init = kernel.spawn("init", b"", None).expect("init spawns");
        let mut frame = TrapFrame::default();
        kernel.start_scheduling(&mut frame);
        assert_eq!(kernel.current, Some(init));
        take_events();
        Booted {
            kernel,
            frame,
            init,
        }
    }

    /// Makes system call `number` with `arguments` from the running environment, as the
    /// `syscall` entry would; returns its result.
    pub fn call(&mut self, number: exo_abi::Syscall, arguments: &[u64]) -> Result<u64, Error> {
        let registers = exo_abi::syscall::registers(arguments);
        let frame = &mut self.frame;
        frame.rax = number.number();
        [
            frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
        ] = registers;
        frame.rip = PROGRAM_ENTRY;
        // As the entry does; what the fast path switches to runs from its saved registers.
        match syscalls::decode(frame) {
            None => {}
            Some(syscalls::Pending::Transfer) => {
                // The entry saves a transfer's registers in place.
                self.kernel.current_machine().registers = *frame;
                let switched = if number == exo_abi::Syscall::EndpointCall {
                    syscalls::fast_transfer::<true, Fake>(&mut self.kernel)
                } else {
                    syscalls::fast_transfer::<false, Fake>(&mut self.kernel)
                };
                match switched {
                    Some((next, _)) => {
                        *frame = self
                            .kernel
                            .environments
                            .machine(next)
                            .expect("it runs")
                            .registers;
                    }
                    None => {
                        syscalls::general_transfer(&mut self.kernel, frame);
                    }
                }
            }
            Some(pending) => {
                syscalls::handle(&mut self.kernel, pending, frame);
            }
        }
        decode_result(frame.rax)
    }
}

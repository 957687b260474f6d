//! Seeded system-call fuzzer: `fuzz-syscalls SEED CALLS` makes CALLS system calls chosen at
//! random among all of them, with arguments drawn from what it holds (frames, pages, children,
//! capability copies, filters, blocks), boundary values and random words, and checks that every
//! answer is one the call table declares (`exo_abi::Syscall::spec`). Then it releases
//! everything and checks that it owns exactly the frames and bindings it started with, that its
//! capability table and the disk are back, and that the free frame count is back. Exits 0 when
//! every check passed.
//!
//! It must stay alive for the calls to keep coming, so some calls are left out or constrained
//! (the kernel must cope with them anyway; other tests check those paths):
//!
//! - `Exit` is never made, and `EnvironmentKill` never names the fuzzer itself (a handle that
//!   names it, with `a1` 0 or its own id): both end the run.
//! - Frames and capabilities are never given to the fuzzer's parent (init): they would stay
//!   there after the fuzzer ends, and fill init's capability table over a long run.
//! - `PowerOff` is made with any status: the fuzzer is not init, so it must always be refused.
//! - Every address a call binds, unbinds, protects or writes through (pages, lists of pages,
//!   repossession vector, output buffers, receive rings) is moved out of the fuzzer's image,
//!   stack and heap into its scratch region, and frames it frees, grants or binds are never
//!   those of its image, stack or heap; pages it shares are scratch pages; a list of pages is
//!   one the fuzzer wrote or one at an address the kernel cannot read. So the fuzzer's own
//!   memory is never unbound, aliased writable, handed out or overwritten.
//! - `SetExceptionHandler` only removes the handler or gets a kernel-half entry: a handler at a
//!   random user address would receive the next upcall and end the run. (Without a handler,
//!   `SetUpcalls` with any bits is safe: it must refuse a non-empty set.)
//! - `Revoke` never asks the fuzzer itself for frames (it asks for blocks instead): the abort
//!   protocol may take any frame above the guaranteed minimum, its heap's included.
//! - Calls that block until something happens are bounded: `Sleep` for at most 5 ms;
//!   `ConsoleRead` always non-blocking (nobody types); `SleepUntil` only ever has filters that
//!   match everything; a blocking `Wait` only names children that end by themselves (`true`)
//!   or have ended, other waits get `WaitFlags::NO_HANG`; `EndpointReplyAndWait` always replies to
//!   or defers a call, and the fuzzer serves none, so it is refused instead of waiting.
//! - `DebugWrite` never writes bytes (zero length, over-long, or unreadable ranges), so that
//!   the console stays readable; `Spawn` only ever starts `true`, and children are at most
//!   [`CHILDREN_MAX`] at a time (the oldest is killed and reaped to make room).
#![no_std]
#![no_main]

extern crate alloc;

mod pool;
mod random;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use exo_abi::capability::{CAPABILITIES_MAX, PARENT, SELF};
use exo_abi::ipc::ReplyAndWaitFlags;
use exo_abi::repossession::ResourceKind;
use exo_abi::{
    BLOCK_ANY, BlockTransfer, ConsoleReadFlags, Error, FRAME_ANY, PAGE_BATCH_MAX, PageBinding,
    Syscall, USER_END, WaitFlags, decode_result,
};
use libos_custom::filter::Predicate;
use libos_posix::layout::STACK_TOP;
use libos_posix::{println, syscall};
use pool::Pool;
use random::Random;

libos_posix::main!(main);

const NAME: &str = "fuzz-syscalls";
const PAGE: u64 = 4096;
/// The region whose pages the fuzzer binds, unbinds and lends out; nothing else lives there.
const SCRATCH_BASE: u64 = 0x3000_0000_0000;
const SCRATCH_PAGES: u64 = 64;
/// Where the kernel puts the image of a program it loads (`APP_RUSTFLAGS` of the boot tool).
const IMAGE_BASE: u64 = 0x40_0000;
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;
const KERNEL_IMAGE: u64 = 0xffff_ffff_8000_0000;
/// Frames of physical memory (512 MiB): frame numbers below it may be real.
const RAM_FRAMES: u64 = 512 * 1024 * 1024 / PAGE;
/// Blocks on the system tests' data disk.
const DISK_BLOCKS: u64 = 32 * 1024;
const CHILDREN_MAX: usize = 6;
const FRAMES_MAX: usize = 48;
const VITAL_FRAMES_MAX: usize = 512;
/// The owner of the fuzzer's disk blocks.
const CREDENTIAL: [u8; 16] = *b"fuzz-syscalls-ow";
/// Rows of the summary: one per call, then one for unknown call numbers.
const ROWS: usize = Syscall::ALL.len() + 1;
/// Columns of the summary: success, each error code, an unrecognized code.
const COLUMNS: usize = 14;

const BOUNDARY_WORDS: [u64; 24] = [
    0,
    1,
    2,
    3,
    7,
    8,
    63,
    64,
    65,
    4095,
    4096,
    4097,
    0x7fff_ffff,
    u32::MAX as u64,
    1 << 32,
    i64::MAX as u64,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
    USER_END - 1,
    USER_END,
    KERNEL_HALF,
    KERNEL_IMAGE,
    0x0001_0000_0000_0000,
];

/// Addresses where no list can be read: nothing is bound at the first two, and the rest are
/// at or past the end of the user half (a list starting there runs past it).
const UNREADABLE_LISTS: [u64; 7] = [
    0,
    PAGE,
    USER_END - 8,
    USER_END,
    KERNEL_HALF,
    KERNEL_IMAGE,
    u64::MAX - 7,
];
const BOUNDARY_ADDRESSES: [u64; 14] = [
    0,
    PAGE,
    IMAGE_BASE - PAGE,
    IMAGE_BASE,
    STACK_TOP - PAGE,
    STACK_TOP,
    USER_END - PAGE,
    USER_END,
    USER_END + PAGE,
    KERNEL_HALF,
    KERNEL_IMAGE,
    !(PAGE - 1),
    0x0001_0000_0000_0000,
    0x1234_5678_9abc_d000,
];

/// Bytes of the stack the kernel gives a program it loads.
const STACK_BYTES: u64 = 16 * PAGE;

/// A child environment the fuzzer made.
#[derive(Clone, Copy, Default, PartialEq)]
struct Child {
    /// Its handle with every right, until dropped or reaped.
    handle: Option<u64>,
    id: u64,
    /// Sure to end by itself or ended: a blocking wait for it returns.
    ends: bool,
}

/// Answers per call and result, for the summary.
struct Tally {
    counts: Vec<[u32; COLUMNS]>,
}

impl Tally {
    fn count(&mut self, row: usize, result: Result<u64, Error>) {
        let column = match result {
            Ok(_) => 0,
            Err(Error::Unrecognized) => COLUMNS - 1,
            Err(error) => error as usize,
        };
        self.counts[row][column] += 1;
    }

    fn print(&self) {
        for (row, counts) in self.counts.iter().enumerate() {
            let total: u32 = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let name: &dyn core::fmt::Debug = match Syscall::ALL.get(row) {
                Some(call) => call,
                None => &UNKNOWN,
            };
            let mut line = LineText::new();
            line.push_fmt(format_args!(
                "{NAME}: {name:?}: {total} calls, {} ok",
                counts[0]
            ));
            for (column, &count) in counts.iter().enumerate().skip(1) {
                if count > 0 {
                    let error = Error::from_code(column as u64);
                    line.push_fmt(format_args!(", {count} {error:?}"));
                }
            }
            println!("{}", line.as_str());
        }
    }
}

/// The name of the summary's row for unknown call numbers.
struct UnknownCall;
const UNKNOWN: UnknownCall = UnknownCall;
impl core::fmt::Debug for UnknownCall {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str("unknown call numbers")
    }
}

/// A line assembled without the heap.
struct LineText {
    bytes: [u8; 256],
    len: usize,
}

impl LineText {
    fn new() -> LineText {
        LineText {
            bytes: [0; 256],
            len: 0,
        }
    }

    fn push_fmt(&mut self, arguments: core::fmt::Arguments) {
        let _ = core::fmt::write(self, arguments);
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl core::fmt::Write for LineText {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let room = self.bytes.len() - self.len;
        let taken = text.len().min(room);
        self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
        self.len += taken;
        Ok(())
    }
}

/// The fuzzer's state: what it holds, what it must never touch, and its buffers.
struct Fuzzer {
    random: Random,
    own_id: u64,
    parent_id: u64,
    /// The frames of its image, stack and heap, sorted.
    vital_frames: Box<Pool<u64, VITAL_FRAMES_MAX>>,
    /// The first address above its image (code, data, bss).
    image_end: u64,
    /// Frames it allocated and still owns, as far as it knows.
    frames: Pool<u64, FRAMES_MAX>,
    /// Frames it granted to a child.
    granted: Pool<u64, 32>,
    /// Scratch pages it bound.
    pages: Pool<u64, 64>,
    children: Pool<Child, CHILDREN_MAX>,
    /// Handles in its own table from `CapabilityCopy`.
    copies: Pool<u64, 32>,
    filters: Pool<u64, 8>,
    blocks: Pool<u64, 16>,
    /// The 2 MiB regions where it bound pages: each may have cost up to three page-table
    /// frames, which the kernel keeps until the environment ends.
    bound_regions: Pool<u64, 1024>,
    /// A region was bound that `bound_regions` had no room for.
    regions_overflowed: bool,
    /// A module that matches every input.
    module: [u8; 128],
    module_len: usize,
    /// Where calls that write into the caller's memory write (when not into scratch pages).
    output: Vec<u8>,
    transfers: Vec<BlockTransfer>,
    bindings: Vec<PageBinding>,
    addresses: Vec<u64>,
    tally: Tally,
    violations: u32,
}

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    let (Some(seed), Some(calls), None) = (words.next(), words.next(), words.next()) else {
        println!("{NAME}: usage: {NAME} SEED CALLS");
        return 2;
    };
    let (Ok(seed), Ok(calls)) = (seed.parse::<u64>(), calls.parse::<u64>()) else {
        println!("{NAME}: SEED and CALLS are numbers");
        return 2;
    };
    match run(seed, calls) {
        Ok(()) => {
            println!("{NAME}: seed {seed}: all checks passed ({calls} calls)");
            0
        }
        Err(failure) => {
            println!("{NAME}: seed {seed}: FAILED: {failure}");
            1
        }
    }
}

/// What the fuzzer holds when it starts fuzzing, to compare with when it ends.
struct Baseline {
    free_frames: u64,
    bindings: usize,
    /// The page addresses of those bindings, to name the ones that changed.
    binding_addresses: Vec<u64>,
    capabilities: usize,
    lowest_free_block: u64,
}

fn run(seed: u64, calls: u64) -> Result<(), &'static str> {
    // The module is built before the baseline, so that the heap frames it needs count as the
    // fuzzer's own from the start.
    let module = Predicate::new().to_wasm();
    // On the heap: the stack of a program the kernel loads is 64 KiB and does not grow.
    let mut fuzzer = Box::new(Fuzzer::new(seed, &module)?);
    drop(module);
    syscall::block_credential(&CREDENTIAL).map_err(|_| "binding the block credential")?;
    fuzzer.note_vital_frames()?;
    let baseline = Baseline {
        free_frames: syscall::free_frames(),
        bindings: fuzzer.count_bindings(),
        binding_addresses: fuzzer.binding_addresses(),
        capabilities: capability_room()?,
        lowest_free_block: lowest_free_block()?,
    };
    println!(
        "{NAME}: seed {seed}: {calls} calls, {} free frames, {} frames of its own",
        baseline.free_frames,
        fuzzer.vital_frames.len()
    );
    let step = (calls / 10).max(1);
    for done in 1..=calls {
        fuzzer.one_call();
        if done % step == 0 {
            println!(
                "{NAME}: seed {seed}: {}% ({done} calls)",
                done * 100 / calls
            );
        }
    }
    fuzzer.release_everything();
    fuzzer.tally.print();
    fuzzer.check_released(&baseline)?;
    if fuzzer.violations > 0 {
        println!("{NAME}: {} answers broke their contract", fuzzer.violations);
        return Err("answers outside the documented contract");
    }
    Ok(())
}

/// How many more capabilities the fuzzer can hold: fills its table with copies of SELF, then
/// drops them.
fn capability_room() -> Result<usize, &'static str> {
    let mut held: Pool<u64, CAPABILITIES_MAX> = Pool::new();
    loop {
        match syscall::capability_copy(
            syscall::Capability::SELF,
            exo_abi::capability::Rights::GRANT,
            syscall::Capability::SELF,
        ) {
            Ok(copy) => {
                if !held.push(copy.0) {
                    return Err("more capabilities than CAPABILITIES_MAX");
                }
            }
            Err(Error::NoMemory) => break,
            Err(_) => return Err("copying SELF into its own table"),
        }
    }
    for &handle in held.as_slice() {
        syscall::capability_drop(syscall::Capability(handle))
            .map_err(|_| "dropping a copy of SELF")?;
    }
    Ok(held.len())
}

/// The block the disk would give next (allocated and freed again).
fn lowest_free_block() -> Result<u64, &'static str> {
    let block = syscall::block_allocate(None).map_err(|_| "allocating a block")?;
    syscall::block_free(block).map_err(|_| "freeing a block")?;
    Ok(block)
}

impl Fuzzer {
    fn new(seed: u64, module: &[u8]) -> Result<Fuzzer, &'static str> {
        // SAFETY: the linker defines `_end` for every program; only its address is taken.
        unsafe extern "C" {
            static _end: u8;
        }
        let image_end = ((&raw const _end) as u64).next_multiple_of(PAGE);
        let mut fuzzer = Fuzzer {
            random: Random::new(seed),
            own_id: u64::from(syscall::environment_id()),
            parent_id: syscall::capability_inspect(syscall::Capability::PARENT)
                .map_or(0, |(id, _)| u64::from(id)),
            vital_frames: Box::new(Pool::new()),
            image_end,
            frames: Pool::new(),
            granted: Pool::new(),
            pages: Pool::new(),
            children: Pool::new(),
            copies: Pool::new(),
            filters: Pool::new(),
            blocks: Pool::new(),
            bound_regions: Pool::new(),
            regions_overflowed: false,
            module: [0; 128],
            module_len: module.len(),
            output: vec![0; 4096],
            transfers: vec![BlockTransfer::default(); PAGE_BATCH_MAX as usize + 1],
            bindings: vec![PageBinding::default(); PAGE_BATCH_MAX as usize + 1],
            addresses: vec![0; PAGE_BATCH_MAX as usize + 1],
            tally: Tally {
                counts: vec![[0; COLUMNS]; ROWS],
            },
            violations: 0,
        };
        fuzzer
            .module
            .get_mut(..module.len())
            .ok_or("the filter module is too large")?
            .copy_from_slice(module);
        Ok(fuzzer)
    }

    /// Records every frame the fuzzer owns now: those it must never free, grant or bind.
    fn note_vital_frames(&mut self) -> Result<(), &'static str> {
        self.vital_frames.clear();
        let mut buffer = [0u64; PAGE_BATCH_MAX as usize];
        let mut first = 0;
        loop {
            let count = syscall::frame_list(&mut buffer, first).map_err(|_| "listing frames")?;
            for &frame in &buffer[..count] {
                if !self.vital_frames.push(frame) {
                    return Err("more frames of its own than VITAL_FRAMES_MAX");
                }
            }
            if count < buffer.len() {
                break;
            }
            first += count as u64;
        }
        self.vital_frames.as_mut_slice().sort_unstable();
        Ok(())
    }

    /// The frames the fuzzer owns beyond its vital ones, as the kernel says.
    fn resync_frames(&mut self) {
        self.frames.clear();
        let mut buffer = [0u64; PAGE_BATCH_MAX as usize];
        let mut first = 0;
        while let Ok(count) = syscall::frame_list(&mut buffer, first) {
            for &frame in &buffer[..count] {
                if !self.is_vital_frame(frame) && !self.frames.push(frame) {
                    let _ = syscall::frame_free(frame);
                }
            }
            if count < buffer.len() {
                break;
            }
            first += count as u64;
        }
    }

    /// The page address of each of its bindings, in order.
    fn binding_addresses(&self) -> Vec<u64> {
        let mut buffer = [PageBinding::default(); PAGE_BATCH_MAX as usize];
        let mut from = 0;
        let mut addresses = Vec::new();
        while let Ok(count) = syscall::page_list(&mut buffer, from..u64::MAX) {
            addresses.extend(buffer[..count].iter().map(|binding| binding.page_address));
            if count < buffer.len() {
                break;
            }
            from = buffer[count - 1].page_address + PAGE;
        }
        addresses
    }

    fn count_bindings(&self) -> usize {
        let mut buffer = [PageBinding::default(); PAGE_BATCH_MAX as usize];
        let mut from = 0;
        let mut total = 0;
        while let Ok(count) = syscall::page_list(&mut buffer, from..u64::MAX) {
            total += count;
            if count < buffer.len() {
                break;
            }
            from = buffer[count - 1].page_address + PAGE;
        }
        total
    }

    fn is_vital_frame(&self, frame: u64) -> bool {
        self.vital_frames.as_slice().binary_search(&frame).is_ok()
    }

    /// Whether the page of `address` is, or borders, the fuzzer's image, stack or heap.
    fn is_vital_address(&self, address: u64) -> bool {
        let page = address & !(PAGE - 1);
        let stack_top = STACK_TOP;
        let heap = libos_posix::layout::HEAP_BASE;
        (IMAGE_BASE - PAGE..self.image_end + PAGE).contains(&page)
            || (stack_top - STACK_BYTES - PAGE..stack_top + PAGE).contains(&page)
            || (heap - PAGE..heap + libos_posix::layout::HEAP_MAX_BYTES).contains(&page)
    }

    fn scratch_page(&mut self) -> u64 {
        SCRATCH_BASE + self.random.below(SCRATCH_PAGES) * PAGE
    }

    /// `address`, moved into the scratch region (same offset in the page) if it is vital.
    fn harmless_address(&mut self, address: u64) -> u64 {
        if self.is_vital_address(address) {
            self.scratch_page() + (address & (PAGE - 1))
        } else {
            address
        }
    }

    /// `frame`, or one the fuzzer allocated (or a number no RAM has) if it is vital.
    fn harmless_frame(&mut self, frame: u64) -> u64 {
        if !self.is_vital_frame(frame) {
            return frame;
        }
        if self.frames.is_empty() {
            RAM_FRAMES + self.random.below(1024)
        } else {
            self.random.pick(self.frames.as_slice())
        }
    }

    fn word(&mut self) -> u64 {
        match self.random.below(8) {
            0 | 1 => self.random.pick(&BOUNDARY_WORDS),
            2 => self.random.next(),
            3 => self.random.below(64),
            4 => self.random.next() & u64::from(u32::MAX),
            5 => self.address(),
            6 => self.random.below(4096),
            _ => self.random.next() >> self.random.below(64),
        }
    }

    fn address(&mut self) -> u64 {
        match self.random.below(10) {
            0..=2 => self.scratch_page(),
            3 | 4 if !self.pages.is_empty() => self.random.pick(self.pages.as_slice()),
            5 => self.scratch_page() + 1 + self.random.below(PAGE - 1),
            6 => self.random.pick(&BOUNDARY_ADDRESSES),
            7 => self.random.next() & (USER_END - 1) & !(PAGE - 1),
            8 => self.output.as_ptr() as u64 + self.random.below(64),
            _ => self.random.next(),
        }
    }

    /// An address the call may bind, unbind or write through.
    fn target_address(&mut self) -> u64 {
        let address = self.address();
        self.harmless_address(address)
    }

    fn frame(&mut self) -> u64 {
        match self.random.below(7) {
            0..=2 if !self.frames.is_empty() => self.random.pick(self.frames.as_slice()),
            3 if !self.granted.is_empty() => self.random.pick(self.granted.as_slice()),
            4 => self
                .random
                .pick(&[0, 1, 0x9f, 0x100, RAM_FRAMES - 1, RAM_FRAMES, FRAME_ANY]),
            5 => self.word(),
            _ => self.random.below(RAM_FRAMES),
        }
    }

    /// A frame the call may free, grant or bind.
    fn target_frame(&mut self) -> u64 {
        let frame = self.frame();
        self.harmless_frame(frame)
    }

    fn handle(&mut self) -> u64 {
        match self.random.below(9) {
            0..=3 => match self.random_child() {
                Some(Child {
                    handle: Some(handle),
                    ..
                }) => handle,
                _ => SELF,
            },
            4 if !self.copies.is_empty() => self.random.pick(self.copies.as_slice()),
            5 => SELF,
            6 => PARENT,
            7 => (self.random.below(4) << 32) | self.random.below(300),
            _ => self.word(),
        }
    }

    /// A handle to give frames or capabilities to: never one naming the fuzzer's parent (init),
    /// which would keep them after the fuzzer ends.
    fn receiver(&mut self) -> u64 {
        let handle = self.handle();
        match self.target_of(handle) {
            Some(id) if id == self.parent_id => SELF,
            _ => handle,
        }
    }

    fn random_child(&mut self) -> Option<Child> {
        if self.children.is_empty() {
            None
        } else {
            Some(self.random.pick(self.children.as_slice()))
        }
    }

    /// An environment id: the fuzzer's, a child's, init's, or a word.
    fn environment_id(&mut self) -> u64 {
        match self.random.below(5) {
            0 => self.own_id,
            1 | 2 => self.random_child().map_or(0, |child| child.id),
            3 => 1,
            _ => self.word(),
        }
    }

    fn rights(&mut self) -> u64 {
        match self.random.below(8) {
            0 => self.word(),
            1 => self.random.below(1 << 6),
            _ => self.random.below(4),
        }
    }

    fn length(&mut self) -> u64 {
        match self.random.below(4) {
            0 => self.random.below(16),
            1 => self.random.below(5000),
            2 => self.random.pick(&BOUNDARY_WORDS),
            _ => self.random.below(100),
        }
    }

    /// The id of the environment `handle` names, if the fuzzer holds it.
    fn target_of(&self, handle: u64) -> Option<u64> {
        if handle == SELF {
            return Some(self.own_id);
        }
        let word = syscall::raw(Syscall::CapabilityInspect.number(), [handle, 0, 0, 0, 0, 0]);
        decode_result(word)
            .ok()
            .map(|word| word & u64::from(u32::MAX))
    }

    fn names_itself(&self, handle: u64) -> bool {
        self.target_of(handle) == Some(self.own_id)
    }

    /// Makes one system call, chosen at random, and checks and counts its answer.
    fn one_call(&mut self) {
        let index = self.random.below(Syscall::ALL.len() as u64 + 1) as usize;
        let Some(&call) = Syscall::ALL.get(index) else {
            let above_every_call = 1000 + self.random.below(1000);
            // A kernel that truncated the number to 32 bits would make a known call of these.
            let truncated = (1 << 32) | self.random.below(Syscall::ALL.len() as u64);
            let number = self.random.pick(&[
                above_every_call,
                exo_abi::BENCH_FLOOR + 1,
                u64::MAX,
                1 << 63,
                truncated,
            ]);
            let arguments = self.random_arguments();
            let result = decode_result(syscall::raw(number, arguments));
            self.check(index, None, &[Error::NoSuchCall], number, arguments, result);
            return;
        };
        if call == Syscall::Exit {
            return self.one_call();
        }
        let (arguments, result) = self.make(call);
        self.check(
            index,
            Some(call),
            call.spec().errors,
            call.number(),
            arguments,
            result,
        );
    }

    fn random_arguments(&mut self) -> [u64; 6] {
        [
            self.word(),
            self.word(),
            self.word(),
            self.word(),
            self.word(),
            self.word(),
        ]
    }

    fn check(
        &mut self,
        row: usize,
        call: Option<Syscall>,
        errors: &[Error],
        number: u64,
        arguments: [u64; 6],
        result: Result<u64, Error>,
    ) {
        self.tally.count(row, result);
        let broken = match (call, result) {
            (Some(Syscall::PowerOff), Ok(_)) => true,
            (None, Ok(_)) => true,
            (Some(Syscall::EnvironmentId), Ok(id)) => id != self.own_id,
            (Some(Syscall::Null), Ok(value)) => value != 0,
            (_, Ok(_)) => false,
            (_, Err(error)) => !errors.contains(&error),
        };
        if broken {
            self.violations += 1;
            println!(
                "{NAME}: CONTRACT BROKEN: call {number} ({call:?}) with {arguments:x?} answered {result:?}"
            );
        }
    }

    /// Chooses the arguments of `call`, makes it, and learns from the answer what it holds.
    fn make(&mut self, call: Syscall) -> ([u64; 6], Result<u64, Error>) {
        let mut a = self.random_arguments();
        match call {
            Syscall::DebugWrite => {
                let unreadable = self.random.pick(&[0, PAGE, USER_END - 4, u64::MAX - 2]);
                a[..2].copy_from_slice(&match self.random.below(4) {
                    0 => [self.address(), 0],
                    1 => [self.address(), 4097 + self.random.below(1 << 20)],
                    2 => [self.address(), u64::MAX],
                    _ => [unreadable, 1 + self.random.below(64)],
                });
            }
            Syscall::Spawn => return self.spawn(a),
            Syscall::Wait => return self.wait(a),
            Syscall::SetExceptionHandler => {
                a[0] = self
                    .random
                    .pick(&[0, KERNEL_HALF, KERNEL_IMAGE, USER_END, u64::MAX]);
                a[1] = self.address();
                a[2] = self.length();
            }
            Syscall::FrameAllocate => {
                a[0] = if self.frames.is_full() {
                    self.random.pick(self.vital_frames.as_slice())
                } else if self.random.one_in(2) {
                    FRAME_ANY
                } else {
                    self.frame()
                };
            }
            Syscall::FrameFree | Syscall::FrameGrant => {
                a[0] = self.target_frame();
                a[1] = self.receiver();
            }
            Syscall::PageMap => {
                a[0] = self.target_address();
                a[1] = self.target_frame();
                a[2] = self.rights();
            }
            Syscall::PageUnmap
            | Syscall::PageProtect
            | Syscall::PageQuery
            | Syscall::PageFlush
            | Syscall::SetRepossessionVector => {
                a[0] = self.target_address();
                a[1] = self.rights();
            }
            Syscall::PageShare => {
                a[0] = self.target_address();
                a[1] = self.handle();
                a[2] = self.address();
                if self.names_itself(a[1]) {
                    a[2] = self.harmless_address(a[2]);
                }
                a[3] = self.rights();
            }
            Syscall::PageCopyInto => {
                a[0] = self.address();
                a[1] = self.handle();
                a[2] = self.address();
                if self.names_itself(a[1]) {
                    a[2] = self.harmless_address(a[2]);
                }
                a[3] = self.rights();
            }
            Syscall::PageMapInto => {
                a[0] = self.handle();
                a[1] = self.address();
                a[2] = self.frame();
                if self.names_itself(a[0]) {
                    a[1] = self.harmless_address(a[1]);
                    a[2] = self.harmless_frame(a[2]);
                }
                a[3] = self.rights();
            }
            Syscall::SliceAllocate | Syscall::SliceFree => {
                a[0] = match self.random.below(3) {
                    0 => self.word(),
                    _ => self.random.below(18),
                };
            }
            Syscall::YieldTo => a[0] = self.environment_id(),
            Syscall::Sleep => a[0] = self.random.below(5_000),
            Syscall::Revoke | Syscall::RevocationQuery => {
                a[0] = self.handle();
                a[1] = self.random.below(5);
                a[2] = self.length();
                a[3] = self.random.pick(&[0, 1, 1000, u64::MAX]);
                if call == Syscall::Revoke
                    && a[1] == ResourceKind::Frame.code()
                    && self.names_itself(a[0])
                {
                    a[1] = ResourceKind::Block.code();
                }
            }
            Syscall::BlockCredential => {
                a[0] = match self.random.below(3) {
                    0 => CREDENTIAL.as_ptr() as u64,
                    1 => self.output.as_ptr() as u64,
                    _ => self.address(),
                };
            }
            Syscall::BlockAllocate => {
                a[0] = if self.blocks.is_full() {
                    self.random.pick(self.blocks.as_slice())
                } else {
                    self.block()
                };
            }
            Syscall::BlockFree => a[0] = self.block(),
            Syscall::BlockRead | Syscall::BlockWrite => {
                let count = self.batch_length();
                let coherent = self.random.one_in(2);
                for index in 0..self.transfers.len() {
                    self.transfers[index] = match (coherent, self.blocks.is_empty()) {
                        (true, false) if !self.pages.is_empty() => BlockTransfer {
                            block: self.random.pick(self.blocks.as_slice()),
                            page_address: self.random.pick(self.pages.as_slice()),
                        },
                        _ => BlockTransfer {
                            block: self.block(),
                            page_address: self.target_address(),
                        },
                    };
                }
                a[0] = self.list_address(self.transfers.as_ptr() as u64);
                a[1] = count;
            }
            Syscall::PageMapBatch => {
                let count = self.batch_length();
                for index in 0..self.bindings.len() {
                    self.bindings[index] = PageBinding {
                        page_address: self.target_address(),
                        frame: self.target_frame(),
                        rights: self.rights(),
                    };
                }
                a[0] = self.list_address(self.bindings.as_ptr() as u64);
                a[1] = count;
            }
            Syscall::PageUnmapBatch => {
                let count = self.batch_length();
                for index in 0..self.addresses.len() {
                    self.addresses[index] = self.target_address();
                }
                a[0] = self.list_address(self.addresses.as_ptr() as u64);
                a[1] = count;
            }
            Syscall::PageCopyBatch => {
                // Into itself every entry is refused (each source page is bound where its
                // copy would go), so nothing the fuzzer keeps can be overwritten.
                let count = self.batch_length();
                for index in 0..self.addresses.len() {
                    self.addresses[index] = self.address();
                }
                a[0] = self.handle();
                a[1] = self.list_address(self.addresses.as_ptr() as u64);
                a[2] = count;
                a[3] = self.rights();
            }
            Syscall::KernelCounters | Syscall::ClockInfo => {
                a[0] = if self.random.one_in(2) {
                    self.output.as_mut_ptr() as u64
                } else {
                    self.target_address()
                };
            }
            Syscall::FrameList | Syscall::PageList | Syscall::PageUsage | Syscall::ConsoleRead => {
                a[0] = if self.random.one_in(2) {
                    self.output.as_mut_ptr() as u64
                } else {
                    self.target_address()
                };
                a[1] = self.length();
                a[2] = self.word();
                if call == Syscall::PageUsage {
                    a[3] = self.word();
                    a[4] = if self.random.one_in(4) {
                        self.word()
                    } else {
                        exo_abi::PageUse::all().bits()
                    };
                }
                if call == Syscall::ConsoleRead {
                    a[1] = a[1].min(self.output.len() as u64 + 1);
                    a[2] = ConsoleReadFlags::NONBLOCKING.bits()
                        | if self.random.one_in(8) {
                            self.word()
                        } else {
                            0
                        };
                }
            }
            Syscall::CapabilityCopy => {
                a[0] = self.handle();
                a[1] = self.rights();
                a[2] = self.receiver();
            }
            Syscall::CapabilityDrop | Syscall::CapabilityInspect | Syscall::KernelMemory => {
                a[0] = self.handle()
            }
            Syscall::FilterLoad => {
                let module = self.module.as_ptr() as u64;
                a[..2].copy_from_slice(&match self.random.below(8) {
                    0..=3 => [module, self.module_len as u64],
                    4 => [self.address(), self.length()],
                    5 => [module, 16 * 1024 + 1 + self.random.below(1 << 20)],
                    6 => [module, self.random.below(self.module_len as u64)],
                    _ => [self.random.pick(&[0, KERNEL_HALF, USER_END - 4]), 8],
                });
            }
            Syscall::FilterUnload | Syscall::PacketBind | Syscall::SleepUntil => {
                a[0] = self.filter();
                a[1] = self.target_address();
                a[2] = match self.random.below(3) {
                    0 => self.word(),
                    _ => self.random.below(70),
                };
            }
            Syscall::PacketSend | Syscall::PacketInject => {
                let source = self.random.pick(&[
                    self.module.as_ptr() as u64,
                    self.output.as_ptr() as u64,
                    main as *const () as u64,
                ]);
                a[0] = if self.random.one_in(4) {
                    self.address()
                } else {
                    source
                };
                let length = self.length();
                a[1] = self.random.pick(&[0, 13, 14, 60, 1514, 1515, length]);
            }
            Syscall::EnvironmentCreate => return self.create(a),
            Syscall::EnvironmentStart => {
                a[0] = self.handle();
                for argument in &mut a[1..5] {
                    *argument = self.word();
                }
            }
            Syscall::EnvironmentKill => {
                a[0] = self.handle();
                a[1] = self.environment_id();
                if self.names_itself(a[0]) && (a[1] == 0 || a[1] == self.own_id) {
                    a[1] = self
                        .random_child()
                        .map_or(u64::from(u32::MAX), |child| child.id);
                }
            }
            Syscall::EndpointCall => {
                // The fuzzer serves every endpoint it can name, so its calls never block.
                a[0] = self.handle();
                a[5] = match self.random.below(4) {
                    0 => 0,
                    1 => self.target_address() | self.random.below(4),
                    _ => self.word(),
                };
            }
            Syscall::EndpointReplyAndWait => {
                // Always replying to (or deferring) no call: a bare wait would block it for good.
                a[0] = self.handle();
                let answer = self
                    .random
                    .pick(&[ReplyAndWaitFlags::REPLY, ReplyAndWaitFlags::DEFER])
                    .bits();
                a[5] = match self.random.below(3) {
                    0 => answer,
                    1 => self.target_address() & !(PAGE - 1) | answer,
                    _ => self.word() | answer,
                };
            }
            Syscall::EndpointReply => {
                a[0] = self.handle();
                a[1] = self.environment_id();
            }
            Syscall::RegionShare => {
                // Mostly region addresses; a share into itself or a child is harmless (a child
                // sees the fuzzer's pages, and cannot change them).
                let address = self.address();
                a[0] = if self.random.one_in(4) {
                    address
                } else {
                    address & !(exo_abi::region::BYTES - 1)
                };
                a[1] = self.handle();
                a[2] = if self.random.one_in(2) {
                    a[0]
                } else {
                    self.address() & !(exo_abi::region::BYTES - 1)
                };
                if self.names_itself(a[1]) {
                    a[2] = self.harmless_address(a[2]) & !(exo_abi::region::BYTES - 1);
                }
                a[3] = self.random.below(4);
            }
            Syscall::EndpointGrant => {
                a[0] = self.address();
                a[1] = self.length();
                a[2] = self.random.below(4);
            }
            Syscall::EndpointCopy => {
                // It holds nobody's call (it calls only itself, which is refused), so no copy
                // touches its memory.
                a[0] = self.handle();
                a[1] = self.environment_id();
                a[2] = self.length();
                a[3] = self.address();
                a[4] = self.length();
                a[5] = self.random.below(4);
            }
            Syscall::Null
            | Syscall::Exit
            | Syscall::Yield
            | Syscall::EndpointCreate
            | Syscall::EnvironmentId
            | Syscall::PowerOff
            | Syscall::FreeFrames
            | Syscall::SetUpcalls
            | Syscall::BlockFlush => {}
        }
        let result = self.raw(call, a);
        self.learn(call, a, result);
        (a, result)
    }

    fn raw(&self, call: Syscall, arguments: [u64; 6]) -> Result<u64, Error> {
        decode_result(syscall::raw(call.number(), arguments))
    }

    /// Updates what the fuzzer holds after `call` with `a` answered `result`.
    fn learn(&mut self, call: Syscall, a: [u64; 6], result: Result<u64, Error>) {
        let Ok(value) = result else {
            return;
        };
        match call {
            Syscall::FrameAllocate => {
                if !self.frames.push(value) {
                    let _ = syscall::frame_free(value);
                }
            }
            Syscall::FrameFree => {
                self.frames.remove(a[0]);
                self.granted.remove(a[0]);
            }
            Syscall::FrameGrant if !self.names_itself(a[1]) => {
                self.frames.remove(a[0]);
                self.granted.remove(a[0]);
                let _ = self.granted.push(a[0]);
            }
            Syscall::PageMap => {
                self.note_bound(a[0]);
                let is_scratch =
                    (SCRATCH_BASE..SCRATCH_BASE + SCRATCH_PAGES * PAGE).contains(&a[0]);
                if is_scratch && !self.pages.contains(a[0]) {
                    let _ = self.pages.push(a[0]);
                }
            }
            Syscall::PageUnmap => self.pages.remove(a[0]),
            Syscall::PageShare if self.names_itself(a[1]) => self.note_bound(a[2]),
            Syscall::PageMapInto if self.names_itself(a[0]) => self.note_bound(a[1]),
            Syscall::PageCopyInto if self.names_itself(a[1]) => self.note_bound(a[2]),
            Syscall::PageMapBatch => {
                for index in 0..(value as usize).min(self.bindings.len()) {
                    self.note_bound(self.bindings[index].page_address);
                }
            }
            Syscall::BlockAllocate => {
                let _ = self.blocks.push(value);
            }
            Syscall::BlockFree => self.blocks.remove(a[0]),
            Syscall::EndpointCreate => {
                if !self.copies.push(value) {
                    let _ = syscall::capability_drop(syscall::Capability(value));
                }
            }
            Syscall::CapabilityCopy if self.names_itself(a[2]) => {
                if !self.copies.push(value) {
                    let _ = syscall::capability_drop(syscall::Capability(value));
                }
            }
            Syscall::CapabilityDrop => self.forget_handle(a[0]),
            Syscall::FilterLoad => {
                if !self.filters.push(value) {
                    let _ = syscall::filter_unload(value);
                }
            }
            Syscall::FilterUnload => self.filters.remove(a[0]),
            Syscall::EnvironmentKill => self.note_ended(a[0], a[1]),
            _ => {}
        }
    }

    fn note_bound(&mut self, address: u64) {
        let region = address >> 21;
        if !self.bound_regions.contains(region) && !self.bound_regions.push(region) {
            self.regions_overflowed = true;
        }
    }

    /// A child named by `handle` (and `id`, 0 for the handle's own environment) was killed.
    fn note_ended(&mut self, handle: u64, id: u64) {
        let id = if id == 0 {
            self.target_of(handle).unwrap_or(0)
        } else {
            id
        };
        for child in self.children.as_mut_slice() {
            if child.id == id {
                child.ends = true;
            }
        }
    }

    fn forget_handle(&mut self, handle: u64) {
        self.copies.remove(handle);
        for child in self.children.as_mut_slice() {
            if child.handle == Some(handle) {
                child.handle = None;
            }
        }
    }

    fn block(&mut self) -> u64 {
        match self.random.below(6) {
            0 | 1 if !self.blocks.is_empty() => self.random.pick(self.blocks.as_slice()),
            2 => self
                .random
                .pick(&[0, 1, DISK_BLOCKS - 1, DISK_BLOCKS, BLOCK_ANY]),
            3 => self.word(),
            _ => self.random.below(DISK_BLOCKS + 16),
        }
    }

    fn filter(&mut self) -> u64 {
        if !self.filters.is_empty() && self.random.below(3) > 0 {
            self.random.pick(self.filters.as_slice())
        } else {
            self.word()
        }
    }

    fn batch_length(&mut self) -> u64 {
        match self.random.below(4) {
            0 => self.word(),
            1 => PAGE_BATCH_MAX + self.random.below(2),
            _ => self.random.below(8),
        }
    }

    /// The address of one of the fuzzer's lists, or (sometimes) one the kernel cannot read the
    /// list at. Never another readable address: the words there are the list, and the fuzzer's
    /// memory holds lists of its own bindings (`PageList` writes them), whose pages a batch call
    /// would then unbind, map over or overwrite.
    fn list_address(&mut self, list: u64) -> u64 {
        if self.random.one_in(5) {
            self.random.pick(&UNREADABLE_LISTS)
        } else {
            list
        }
    }

    fn spawn(&mut self, mut a: [u64; 6]) -> ([u64; 6], Result<u64, Error>) {
        const TRUE: &str = "true";
        const NAMES: [&[u8]; 3] = [b"no-such-program", b"boot.cfg", &[0xff, 0xfe]];
        let named_true = self.random.one_in(2);
        if named_true {
            a[0] = TRUE.as_ptr() as u64;
            a[1] = TRUE.len() as u64;
        } else {
            let name = self.random.pick(&NAMES);
            a[..2].copy_from_slice(&match self.random.below(4) {
                0 => [name.as_ptr() as u64, name.len() as u64],
                1 => [name.as_ptr() as u64, 65 + self.random.below(1 << 20)],
                2 => [self.random.pick(&[0, KERNEL_HALF, USER_END - 2]), 4],
                _ => [name.as_ptr() as u64, u64::MAX],
            });
        }
        let arguments = "seed 1";
        a[2..4].copy_from_slice(&match self.random.below(4) {
            0 => [arguments.as_ptr() as u64, arguments.len() as u64],
            1 => [self.address(), self.length()],
            2 => [arguments.as_ptr() as u64, 1025],
            _ => [0, 0],
        });
        self.make_room_for_a_child();
        let result = self.raw(Syscall::Spawn, a);
        if let Ok(handle) = result {
            self.note_child(handle, named_true);
        }
        (a, result)
    }

    fn create(&mut self, mut a: [u64; 6]) -> ([u64; 6], Result<u64, Error>) {
        let name = "fuzzed";
        a[..2].copy_from_slice(&match self.random.below(4) {
            0 | 1 => [name.as_ptr() as u64, name.len() as u64],
            2 => [self.address(), self.length()],
            _ => [name.as_ptr() as u64, 65 + self.random.below(100)],
        });
        self.make_room_for_a_child();
        let result = self.raw(Syscall::EnvironmentCreate, a);
        if let Ok(handle) = result {
            self.note_child(handle, false);
        }
        (a, result)
    }

    fn note_child(&mut self, handle: u64, ends: bool) {
        // Id 0 would name the fuzzer itself in a kill through SELF.
        let Some(id) = self.target_of(handle).filter(|&id| id != 0) else {
            self.violations += 1;
            println!("{NAME}: CONTRACT BROKEN: a new child's handle {handle:#x} names no child");
            return;
        };
        let child = Child {
            handle: Some(handle),
            id,
            ends,
        };
        if !self.children.push(child) {
            self.retire(child);
        }
    }

    fn make_room_for_a_child(&mut self) {
        if self.children.is_full() {
            let oldest = self.children.take(0);
            self.retire(oldest);
        }
    }

    /// Kills `child` (through SELF, which controls every descendant) and reaps it.
    fn retire(&mut self, child: Child) {
        if child.id != 0 && child.id != self.own_id {
            let _ = syscall::kill_environment(syscall::Capability::SELF, child.id as u32);
        }
        if let Some(handle) = child.handle {
            let _ = syscall::wait(syscall::Capability(handle));
        }
    }

    fn wait(&mut self, mut a: [u64; 6]) -> ([u64; 6], Result<u64, Error>) {
        a[0] = self.handle();
        a[1] = match self.random.below(4) {
            0 => self.word(),
            1 => 0,
            _ => WaitFlags::NO_HANG.bits(),
        };
        let may_block = self
            .children
            .as_slice()
            .iter()
            .any(|child| child.handle == Some(a[0]) && !child.ends);
        if may_block {
            a[1] |= WaitFlags::NO_HANG.bits();
        }
        let result = self.raw(Syscall::Wait, a);
        if result.is_ok() {
            while let Some(index) = self
                .children
                .as_slice()
                .iter()
                .position(|child| child.handle == Some(a[0]))
            {
                self.children.take(index);
            }
        }
        (a, result)
    }

    /// Ends every child, unloads every filter, frees every frame, block and slot the fuzzer
    /// acquired, and drops every capability it was given.
    fn release_everything(&mut self) {
        while !self.children.is_empty() {
            let child = self.children.take(0);
            self.retire(child);
        }
        for &filter in self.filters.as_slice() {
            let _ = syscall::filter_unload(filter);
        }
        for &copy in self.copies.as_slice() {
            let _ = syscall::capability_drop(syscall::Capability(copy));
        }
        let _ = syscall::set_repossession_vector(0);
        self.resync_frames();
        for &frame in self.frames.as_slice() {
            let _ = syscall::frame_free(frame);
        }
        self.frames.clear();
        for &block in self.blocks.as_slice() {
            let _ = syscall::block_free(block);
        }
        for position in 0..exo_abi::slice::SLOTS_PER_ROUND {
            let _ = syscall::slice_free(position);
        }
    }

    fn check_released(&mut self, baseline: &Baseline) -> Result<(), &'static str> {
        // Resyncing counts the frames it owns beyond its own; its own must all be there.
        self.resync_frames();
        if !self.frames.is_empty() {
            println!("{NAME}: still owns {} frames", self.frames.len());
            return Err("frames left after the release");
        }
        let mut buffer = [0u64; PAGE_BATCH_MAX as usize];
        let mut owned = 0;
        while let Ok(count) = syscall::frame_list(&mut buffer, owned as u64) {
            owned += count;
            if count < buffer.len() {
                break;
            }
        }
        if owned != self.vital_frames.len() {
            println!(
                "{NAME}: owns {owned} frames, {} at the start",
                self.vital_frames.len()
            );
            return Err("its own frames changed");
        }
        let bindings = self.count_bindings();
        if bindings != baseline.bindings {
            println!(
                "{NAME}: {bindings} bindings, {} at the start",
                baseline.bindings
            );
            let now = self.binding_addresses();
            for address in &baseline.binding_addresses {
                if !now.contains(address) {
                    println!("{NAME}: the binding at {address:#x} is gone");
                }
            }
            for address in &now {
                if !baseline.binding_addresses.contains(address) {
                    println!("{NAME}: a binding at {address:#x} is left");
                }
            }
            return Err("bindings left after the release");
        }
        let has_parent = syscall::capability_inspect(syscall::Capability::PARENT).is_ok();
        let room = capability_room()?;
        let expected_room = baseline.capabilities + usize::from(!has_parent);
        if room != expected_room {
            println!("{NAME}: room for {room} capabilities, {expected_room} expected");
            return Err("capabilities left after the release");
        }
        let block = lowest_free_block()?;
        if block != baseline.lowest_free_block {
            println!(
                "{NAME}: lowest free block {block}, {} at the start",
                baseline.lowest_free_block
            );
            return Err("disk blocks left after the release");
        }
        let free = syscall::free_frames();
        println!(
            "{NAME}: released: {free} free frames, {} at the start, {} regions bound",
            baseline.free_frames,
            self.bound_regions.len()
        );
        // Page-table frames stay with the address space until it ends (init checks that every
        // frame comes back then); everything else must be free again now.
        let page_tables = 3 * self.bound_regions.len() as u64;
        if free > baseline.free_frames
            || (baseline.free_frames - free > page_tables && !self.regions_overflowed)
        {
            return Err("the free frame count is not back");
        }
        Ok(())
    }
}

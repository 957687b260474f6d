//! Fork, built in the library from page sharing, page copies and the fault upcall: a process's
//! private writable pages are copied for the child when they are few (at most
//! [`COPY_WHOLE_MOST_PAGES`]), shared copy-on-write when they are more.
//!
//! Why both: a page shared copy-on-write costs a shadow, a derived binding and a protection
//! at the fork and their undoing when the child ends, some 7,700 instructions, and a fault and
//! a copy on each side that writes it; a copy costs some 3,000 and a frame. Below the
//! threshold the copy is cheaper in instructions and costs little memory; above it,
//! copy-on-write bounds the memory a fork takes.
//!
//! The parent creates an empty environment, shares it the world's regions whole, as spawn
//! does (`world::share_into`), and the regions of its code and read-only data whole,
//! read-only (unless the library's record says the program may have made a page there writable,
//! and the kernel finds one: `runtime::image::code_may_be_writable`), and walks its own other
//! bindings (`PageList`):
//! - code and read-only data outside those regions are shared as they are bound;
//! - each private writable page is copied for the child (in batches, `PageCopyBatch`, after
//!   the walk, since below the threshold nothing is made read-only and no fault changes a page
//!   meanwhile), or, above the threshold, gets a shadow (its frame bound read-only a second
//!   time at `layout::shadow_of`), becomes read-only itself, and the child binds the shadow
//!   read-only (a binding derived from the shadow, so the parent can later rebind the page
//!   without taking the child's view away); the first write on either side copies (see
//!   `faults`);
//! - pages the parent itself still shares with its own parent are copied for the child at
//!   once, since the parent's binding of them goes away when it writes to them, and so are
//!   read-only pages whose frame no shadow holds;
//! - everything else (the startup block) is shared as it is bound, except the stack's pages
//!   below the stack pointer, which hold nothing live: the child's stack grows again there;
//! - the exception stack and the small stack the child starts on are copied at once: the child
//!   must be able to take a fault before it can handle one; so is the rest of the program's
//!   static data (`.data`, `.bss`): a few pages, which both sides write at once (the library's
//!   own state is there), so that sharing them would cost each side a fault and a copy.
//!
//! The child starts on its start stack, registers the exception handler it inherited (writing
//! nothing before that), then switches to the parent's stack as it was inside `fork` and
//! returns 0 from it.

use crate::descriptors;
use crate::error::{Errno, Result};
use crate::layout::{
    PAGE_BYTES, STACK_LIMIT, STACK_TOP, WORLD_BASE, is_copy_on_write_region, is_shadow,
    private_ranges, shadow_of,
};
use crate::process::{self, Child};
use crate::runtime::{fork_entry, image};
use crate::syscall::{self, Capability};
use crate::{exceptions, world};
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::ops::Range;
use exo_abi::PageBinding;
use exo_abi::PageRights;
use exo_abi::region::{self, ShareFlags};
use spin::Mutex;

/// Which side of a fork returned.
#[derive(Debug)]
pub enum Fork {
    /// The parent, with its new child.
    Parent(Child),
    /// The child.
    Child,
}

/// Makes a copy-on-write copy of this process. Returns the child in the parent and
/// [`Fork::Child`] in the child. Needs the world (the child is listed in its process table).
pub fn fork() -> Result<Fork> {
    world::require()?;
    let pid = fork_entry::save_and_fork();
    match pid {
        0 => Ok(Fork::Child),
        NO_SUCH_PROCESS => Err(Errno::NoSuchProcess),
        pid if pid < 0 => Err(Errno::NoMemory),
        pid => Ok(Fork::Parent(process::adopt_forked(pid as u32)?)),
    }
}

/// What `fork_parent` returns when the child's environment went away while it was built; any
/// other failure is -1 (out of memory or frames).
const NO_SUCH_PROCESS: i64 = -2;

/// The child's first Rust code, called on its start stack by `fork_entry`: registers the
/// inherited exception handler first, touching nothing but the start stack (until then any
/// write to a page shared copy-on-write would end the child), then records the child's own
/// session handle.
pub(crate) extern "C" fn child_setup(session: u64) {
    if exceptions::register_inherited_handler().is_err() {
        syscall::exit(exceptions::DECLINED_STATUS_BASE);
    }
    // Now that a copy-on-write fault can be handled: the pid in memory is the parent's.
    process::learn_pid();
    process::became_forked_child(session);
    crate::file_client::forget_connection();
    crate::images::forget_inherited();
}

/// The parent's half, called by `fork_entry::save_and_fork` with its stack pointer: builds and
/// starts the child; returns its pid, or a negative code.
pub(crate) extern "C" fn fork_parent(stack_pointer: u64) -> i64 {
    match build_and_start(stack_pointer) {
        Ok(pid) => i64::from(pid),
        Err(Errno::NoSuchProcess) => NO_SUCH_PROCESS,
        Err(_) => -1,
    }
}

fn build_and_start(stack_pointer: u64) -> Result<u32> {
    let name = process::program_name();
    let child = process::create_child(&name)?;
    let (capability, pid) = (child.capability(), child.pid());
    match populate(capability, pid, stack_pointer) {
        Ok(session) => {
            process::record_forked(child, &name);
            syscall::start_environment(
                capability,
                fork_entry::child_entry_address(),
                fork_entry::start_stack_range().end,
                stack_pointer,
                session,
            )?;
            Ok(pid)
        }
        Err(error) => {
            process::discard(child);
            Err(error)
        }
    }
}

/// Gives the child its address space, its pipe ends and a session handle, which it returns.
/// `stack_pointer` is where the child resumes.
fn populate(child: Capability, pid: u32, stack_pointer: u64) -> Result<u64> {
    // The code goes whole unless a page of it is writable (a program that patches its code):
    // then page by page like the rest, so that the child keeps the code as it is now. The
    // kernel is asked only when the library's own record says the code may be writable.
    let code = image::code_regions();
    let is_code_whole = !image::code_may_be_writable() || {
        let mut writable = [PageBinding::default(); 1];
        syscall::page_list_with_rights(&mut writable, code.clone(), PageRights::WRITABLE)? == 0
    };
    let mut unlisted = alloc::vec![dead_stack(stack_pointer)];
    if is_code_whole {
        unlisted.push(code);
    }
    // The static data is copied whole, so it need not be listed either.
    let static_pages = image::static_data_pages().unwrap_or(0..0);
    unlisted.push(static_pages.clone());
    let static_count = ((static_pages.end - static_pages.start) / PAGE_BYTES) as usize;
    let (all, mut shadowed) = bindings_with_room(&unlisted, static_count)?;
    let shared = share_address_space(child, &all, static_pages, &mut shadowed, is_code_whole);
    // Even after a failure: the shadows made so far are collected like any others.
    SHADOWED.lock().extend(shadowed);
    shared?;
    process::hold_inherited(&descriptors::open_ones(), pid)?;
    process::pass_file_server(child)?;
    process::session_for(child)
}

/// The pages of the stack wholly below `stack_pointer`: nothing there is live when the child
/// resumes at `stack_pointer`, so the child does not get them (its fault handler binds fresh
/// ones as its stack grows again). Empty when `stack_pointer` is not on the stack.
fn dead_stack(stack_pointer: u64) -> Range<u64> {
    if (STACK_LIMIT..STACK_TOP).contains(&stack_pointer) {
        STACK_LIMIT..stack_pointer & !(PAGE_BYTES - 1)
    } else {
        0..0
    }
}

/// Gives the child each of `bindings` (this process's), a copy of each page of `static_pages`
/// (the static data, not among them), and the code regions whole when `is_code_whole`, the
/// way the module's header says; pushes onto `shadowed` every page it made a shadow for.
/// `shadowed` has room for an entry per page given, allocated before the walk (see
/// [`bindings_with_room`]); when the walk copies every private page, it lists the pages to copy
/// instead, and is left empty.
fn share_address_space(
    child: Capability,
    bindings: &[PageBinding],
    static_pages: Range<u64>,
    shadowed: &mut Vec<u64>,
    is_code_whole: bool,
) -> Result<()> {
    let start_stack = fork_entry::start_stack_range();
    let exception_stack = exceptions::stack_range();
    let static_data = image::code_end().next_multiple_of(PAGE_BYTES)..image::image_end();
    let private_writable = bindings
        .iter()
        .filter(|binding| is_copy_on_write_region(binding.page_address))
        .count();
    let copies_whole = private_writable <= COPY_WHOLE_MOST_PAGES;
    let must_copy = |address: u64| {
        start_stack.contains(&address)
            || exception_stack.contains(&address)
            || static_data.contains(&address)
            || (copies_whole && is_copy_on_write_region(address))
    };
    // The world goes whole, shared as it is in every process of it.
    let in_world = crate::world::get().is_some();
    if in_world {
        crate::world::share_into(child)?;
    }
    if is_code_whole {
        for region in image::code_regions().step_by(region::BYTES as usize) {
            match syscall::region_share(region, child, ShareFlags::empty()) {
                Ok(()) | Err(exo_abi::Error::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    for address in static_pages.step_by(PAGE_BYTES as usize) {
        if copies_whole {
            shadowed.push(address);
        } else {
            copy_for(child, address)?;
        }
    }
    for binding in bindings {
        let address = binding.page_address;
        if is_shadow(address) {
            continue;
        }
        let mut info = syscall::PageInfo::from_binding(binding);
        if !info.rights.contains(PageRights::WRITABLE) && is_copy_on_write_region(address) {
            // A write since the listing (the listing's own growth, the room for `shadowed`)
            // may have copied this page, shared with an earlier child, into a new frame: the
            // child must get the page as it is now, or its heap would mix two moments.
            info = syscall::page_query(address)?;
        }
        if must_copy(address) || (!info.is_owned && is_copy_on_write_region(address)) {
            if copies_whole {
                // Nothing is made read-only meanwhile, so no fault changes a page before its
                // copy: the copies go in batches at the end.
                shadowed.push(address);
            } else {
                copy_for(child, address)?;
            }
        } else if info.rights.contains(PageRights::EXECUTABLE) || !is_copy_on_write_region(address)
        {
            syscall::page_share(address, child, address, info.rights)?;
        } else if !info.rights.contains(PageRights::WRITABLE) {
            match syscall::page_query(shadow_of(address)) {
                Ok(shadow) if shadow.frame == info.frame => {
                    syscall::page_share(shadow_of(address), child, address, PageRights::empty())?;
                }
                // No shadow holds its frame: a binding derived from the page itself would go
                // when the fault handler rebinds the page writable (it looks only at the
                // shadow), so the child gets a copy.
                _ => copy_for(child, address)?,
            }
        } else if share_copy_on_write(child, address, info.frame)? {
            shadowed.push(address);
        }
    }
    if copies_whole {
        let mut copies = core::mem::take(shadowed);
        // In address order for the kernel: the static data went first.
        copies.sort_unstable();
        for batch in copies.chunks(exo_abi::PAGE_BATCH_MAX as usize) {
            syscall::page_copy_batch(child, batch, PageRights::WRITABLE)?;
        }
    }
    Ok(())
}

/// The most private writable pages (image data, heap, stack) a process may have for a fork to
/// copy them all for the child rather than share them copy-on-write (see the module's
/// header): 1 MiB.
pub const COPY_WHOLE_MOST_PAGES: usize = 256;

/// The pages this process has made shadows of: listing them here spares a walk of every
/// binding after each child ends. An entry may outlive its shadow (the fault handler drops a
/// shadow no child binds, and a forked child inherits the parent's list); such entries go at
/// the next collection.
static SHADOWED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

/// Drops the shadows no child binds any more, after a child has ended: a page whose frame is
/// still its shadow's becomes writable again, and a frame only the shadow held is freed.
pub fn collect_shadows() {
    SHADOWED.lock().retain(|&home| {
        let Ok(shadow) = syscall::page_query(shadow_of(home)) else {
            return false;
        };
        if shadow.has_derived {
            return true;
        }
        if syscall::page_unmap(shadow_of(home)).is_err() {
            return true;
        }
        match syscall::page_query(home) {
            Ok(page) if page.frame == shadow.frame => {
                let _ = crate::faults::widen_to_writable(home);
            }
            _ => {
                let _ = syscall::frame_free(shadow.frame);
            }
        }
        false
    });
}

/// Every binding of this process, and room to record a page for each and for `more` pages
/// besides (a shadow, or a page to copy), allocated before the walk since the heap must not
/// change while its pages are being shared. Listed again if the heap grew meanwhile: a heap
/// page bound after the listing would be missing from the child, whose copy of the allocator
/// counts it as there.
fn bindings_with_room(
    unlisted: &[Range<u64>],
    more: usize,
) -> Result<(Vec<PageBinding>, Vec<u64>)> {
    loop {
        let bound = crate::runtime::heap::bound_bytes();
        let all = bindings(unlisted)?;
        let room = Vec::with_capacity(all.len() + more);
        if crate::runtime::heap::bound_bytes() == bound {
            return Ok((all, room));
        }
    }
}

/// Every binding of this process a child may get page by page, in address order: the world
/// (which goes whole), the private pages (`layout::private_ranges`) and the `unlisted` ranges
/// are not even listed, since each binding listed costs the kernel and this walk some 400
/// instructions.
fn bindings(unlisted: &[Range<u64>]) -> Result<Vec<PageBinding>> {
    let mut skipped = Vec::from(private_ranges());
    skipped.push(WORLD_BASE..world::regions_end());
    skipped.extend(unlisted.iter().cloned());
    skipped.sort_unstable_by_key(|range| range.start);
    let mut all = Vec::with_capacity(exo_abi::PAGE_BATCH_MAX as usize);
    // One buffer for every call: zeroing it is some 200 instructions.
    let mut chunk = [PageBinding::default(); exo_abi::PAGE_BATCH_MAX as usize];
    let mut from = 0;
    for skip in skipped.iter().chain([&(u64::MAX..u64::MAX)]) {
        if from < skip.start {
            list_into(from..skip.start, &mut chunk, &mut all)?;
        }
        from = from.max(skip.end);
    }
    Ok(all)
}

/// Appends this process's bindings in `range` to `all`, in address order, through `chunk`.
fn list_into(
    range: Range<u64>,
    chunk: &mut [PageBinding],
    all: &mut Vec<PageBinding>,
) -> Result<()> {
    let mut from = range.start;
    loop {
        let count = syscall::page_list(chunk, from..range.end)?;
        all.extend_from_slice(&chunk[..count]);
        if count < chunk.len() {
            return Ok(());
        }
        from = chunk[count - 1].page_address + PAGE_BYTES;
    }
}

/// Gives the child a private, writable copy of the page at `address`, which is writable by
/// nature (even when this process's binding of it is still read-only, shared copy-on-write).
fn copy_for(child: Capability, address: u64) -> Result<()> {
    syscall::page_copy_into(address, child, address, PageRights::WRITABLE)?;
    Ok(())
}

/// Shares this process's private writable page at `address` (frame `frame`) copy-on-write;
/// true when it made a shadow for it, false when it gave the child a copy instead.
fn share_copy_on_write(child: Capability, address: u64, frame: u64) -> Result<bool> {
    let shadow = shadow_of(address);
    if let Ok(old) = syscall::page_query(shadow) {
        if old.has_derived {
            // An earlier child still reads the shadow's frame: this one gets a copy.
            copy_for(child, address)?;
            return Ok(false);
        }
        syscall::page_unmap(shadow)?;
        if old.is_owned && old.frame != frame {
            syscall::frame_free(old.frame)?;
        }
    }
    syscall::page_map(shadow, frame, PageRights::empty())?;
    // The child's binding goes first: once the page is read-only, this very code's next write
    // to it (its stack, say) faults, and with no child on the shadow the fault handler would
    // drop the shadow and make the page writable again.
    syscall::page_share(shadow, child, address, PageRights::empty())?;
    syscall::page_protect(address, PageRights::empty())?;
    Ok(true)
}

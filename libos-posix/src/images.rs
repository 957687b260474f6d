//! Program images, read once and kept from one spawn to the next.
//!
//! Spawning reads a program file straight into frames, one for each page of its segments that
//! holds bytes of the file (the rest of a segment is zeros, made fresh for each child). A kept
//! image binds those frames read-only in a window of this process (`layout::IMAGE_WINDOWS_BASE`),
//! at the same offsets as in the program; a child then borrows each region of code and
//! read-only data whole (`RegionShare` at the program's address: one call for up to 2 MiB,
//! nothing copied; the linker gives each segment regions of its own), or, where a region
//! cannot go whole, gets each such page as a binding derived from the window's (`PageShare`),
//! and a copy of each writable page (`PageCopyInto`; see `loader`).
//!
//! An image stays valid while the world's file system counts no change since it was read
//! (`files::change_count`): the next spawn of the same path reads nothing. Its children see
//! their code through its bindings, so an image is dropped only when no child binds any of its
//! pages or borrows any of its regions (the kernel reports either as
//! `PageFlags::HAS_DERIVED`): when it is stale, or to make room for another. On the
//! microkernel path (no change count), or when every window is in use, the image is read for
//! one spawn and its frames go to the child.
//!
//! The program headers must lie in the file's first page, where linkers put them.

use crate::error::{Errno, Result};
use crate::files::{self, File};
use crate::layout::{IMAGE_WINDOW_BYTES, IMAGE_WINDOWS, IMAGE_WINDOWS_BASE, PAGE_BYTES};
use crate::runtime::scratch;
use crate::syscall;
use alloc::string::String;
use alloc::vec::Vec;
use exo_abi::PageBinding;
use exo_abi::PageRights;
use exo_core::elf_plan::{self, LoadPlan, Segment};
use spin::Mutex;

/// A program's load plan and the frames of its pages that hold file bytes.
#[derive(Debug)]
pub(crate) struct Image {
    plan: LoadPlan,
    /// Each page that holds file bytes, by address in the program, with its frame; in address
    /// order.
    pages: Vec<(u64, u64)>,
    /// Where the pages are bound in this process, for a kept image: the window's first address
    /// stands for the program's first page.
    window: Option<u64>,
}

impl Image {
    /// Its load plan.
    pub(crate) fn plan(&self) -> &LoadPlan {
        &self.plan
    }

    /// The frame that holds the page at `page` (an address in the program), if the page holds
    /// file bytes.
    pub(crate) fn frame_of(&self, page: u64) -> Option<u64> {
        let index = self.pages.binary_search_by_key(&page, |&(at, _)| at).ok()?;
        Some(self.pages[index].1)
    }

    /// Where this process binds the page at `page` (an address in the program), for a kept
    /// image.
    pub(crate) fn kept_at(&self, page: u64) -> Option<u64> {
        let window = self.window?;
        self.frame_of(page)?;
        Some(window + (page - self.first_page()))
    }

    /// Takes the frame of the page at `page` out of a one-off image (it goes to a child); a
    /// kept image keeps its frames.
    pub(crate) fn take_frame(&mut self, page: u64) -> Option<u64> {
        if self.window.is_some() {
            return None;
        }
        let index = self.pages.binary_search_by_key(&page, |&(at, _)| at).ok()?;
        Some(self.pages.remove(index).1)
    }

    /// Where a kept image binds the region at `region` (an address in the program) of a
    /// read-only segment whose pages all hold file bytes and whose regions hold no other
    /// segment: a child may borrow that region of the window whole. `None` otherwise.
    pub(crate) fn kept_region(&self, segment: &Segment, region: u64) -> Option<u64> {
        let window = self.window?;
        let first = self.first_page();
        let regions = segment_regions(segment);
        let is_whole = !segment.is_writable
            && first.is_multiple_of(exo_abi::region::BYTES)
            && regions.contains(&region)
            && file_pages(segment).count() as u64
                == (segment.end_page() - segment.first_page()) / PAGE_BYTES
            && self.plan.segments.iter().all(|other| {
                other == segment
                    || other.end_page() <= regions.start
                    || other.first_page() >= regions.end
            });
        is_whole.then(|| window + (region - first))
    }

    fn first_page(&self) -> u64 {
        self.plan.segments[0].first_page()
    }

    /// Whether a child still binds one of its pages.
    fn is_in_use(&self) -> bool {
        let Some(window) = self.window else {
            return false;
        };
        let mut listed = [PageBinding::default(); exo_abi::PAGE_BATCH_MAX as usize];
        let mut from = window;
        loop {
            let Ok(count) = syscall::page_list(&mut listed, from..window + IMAGE_WINDOW_BYTES)
            else {
                // Unknown: keep it.
                return true;
            };
            let mut last = None;
            for binding in &listed[..count] {
                if syscall::PageInfo::from_binding(binding).has_derived {
                    return true;
                }
                last = Some(binding.page_address);
            }
            match last {
                Some(address) if count == listed.len() => from = address + PAGE_BYTES,
                _ => return false,
            }
        }
    }
}

impl Drop for Image {
    /// Unbinds and frees the frames the image still holds.
    fn drop(&mut self) {
        let window = self.window;
        let first = self.first_page();
        for &(page, frame) in &self.pages {
            if let Some(window) = window {
                let _ = syscall::page_unmap(window + (page - first));
            }
            let _ = syscall::frame_free(frame);
        }
    }
}

/// A kept image and what it was read as.
#[derive(Debug)]
struct Kept {
    path: String,
    /// `files::change_count` before it was read.
    changes: u64,
    image: Image,
    /// When it was last used, in spawns.
    used: u64,
}

/// The kept images, by window.
struct Cache {
    windows: [Option<Kept>; IMAGE_WINDOWS as usize],
    spawns: u64,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    windows: [const { None }; IMAGE_WINDOWS as usize],
    spawns: 0,
});

/// Whether this process is inside the cache's lock (then an exception handler must not exit).
pub(crate) fn is_busy() -> bool {
    CACHE.is_locked()
}

/// The program at `path` (absolute), for one spawn: a kept image (by its window) or one read
/// for this spawn alone.
#[derive(Debug)]
pub(crate) enum Prepared {
    Kept(usize),
    OneOff(Image),
}

/// Finds the image of `path` (absolute) or reads it.
pub(crate) fn prepare(path: &str) -> Result<Prepared> {
    let Some(changes) = files::change_count() else {
        return Ok(Prepared::OneOff(read(path, None)?));
    };
    let mut cache = CACHE.lock();
    cache.spawns += 1;
    let now = cache.spawns;
    let hit = cache
        .windows
        .iter_mut()
        .enumerate()
        .find_map(|(index, slot)| {
            let kept = slot.as_mut()?;
            (kept.changes == changes && kept.path == path).then_some((index, kept))
        });
    if let Some((index, kept)) = hit {
        kept.used = now;
        return Ok(Prepared::Kept(index));
    }
    // Stale images nobody binds go now; then the least recently used of the rest, if
    // every window is taken.
    for slot in &mut cache.windows {
        if slot
            .as_ref()
            .is_some_and(|kept| kept.changes != changes && !kept.image.is_in_use())
        {
            *slot = None;
        }
    }
    let free = match cache.windows.iter().position(Option::is_none) {
        Some(index) => Some(index),
        None => least_recently_used_free_to_drop(&cache.windows),
    };
    let Some(index) = free else {
        drop(cache);
        return Ok(Prepared::OneOff(read(path, None)?));
    };
    cache.windows[index] = None;
    let window = IMAGE_WINDOWS_BASE + index as u64 * IMAGE_WINDOW_BYTES;
    let image = read(path, Some(window))?;
    if files::change_count() == Some(changes) {
        cache.windows[index] = Some(Kept {
            path: String::from(path),
            changes,
            image,
            used: now,
        });
        Ok(Prepared::Kept(index))
    } else {
        // Something changed while it was read: not to keep; read again, for this spawn only.
        drop(cache);
        drop(image);
        Ok(Prepared::OneOff(read(path, None)?))
    }
}

/// The window of the least recently used kept image that no child binds.
fn least_recently_used_free_to_drop(windows: &[Option<Kept>]) -> Option<usize> {
    let mut by_age: Vec<(u64, usize)> = windows
        .iter()
        .enumerate()
        .filter_map(|(index, slot)| Some((slot.as_ref()?.used, index)))
        .collect();
    by_age.sort_unstable();
    by_age.into_iter().map(|(_, index)| index).find(|&index| {
        windows[index]
            .as_ref()
            .is_some_and(|kept| !kept.image.is_in_use())
    })
}

/// Runs `action` on the image `prepared` names.
pub(crate) fn with<T>(prepared: &mut Prepared, action: impl FnOnce(&mut Image) -> T) -> Result<T> {
    match prepared {
        Prepared::OneOff(image) => Ok(action(image)),
        Prepared::Kept(index) => {
            let mut cache = CACHE.lock();
            let kept = cache.windows[*index].as_mut().ok_or(Errno::Io)?;
            Ok(action(&mut kept.image))
        }
    }
}

/// In a forked child: forgets the images its parent kept (their windows are the parent's
/// alone, see `layout::is_private`).
pub(crate) fn forget_inherited() {
    let mut cache = CACHE.lock();
    for slot in &mut cache.windows {
        if let Some(mut kept) = slot.take() {
            // Nothing of it is bound or owned here: nothing to unbind or free.
            kept.image.pages.clear();
        }
    }
}

/// Reads the program at `path` into fresh frames, bound read-only from `window` on when the
/// image is to be kept.
fn read(path: &str, window: Option<u64>) -> Result<Image> {
    let file = File::open(path)?;
    let size = file.metadata()?.size;
    let mut start = [0u8; PAGE_BYTES as usize];
    let start_len = size.min(PAGE_BYTES) as usize;
    read_exactly_at(&file, 0, &mut start[..start_len])?;
    let plan =
        elf_plan::plan_from_start(&start[..start_len], size).map_err(|_| Errno::NotExecutable)?;
    let first = plan.segments[0].first_page();
    let span = plan.segments[plan.segments.len() - 1].end_page() - first;
    if span > IMAGE_WINDOW_BYTES {
        return Err(Errno::FileTooLarge);
    }
    let mut image = Image {
        plan,
        pages: Vec::new(),
        window,
    };
    let segments = image.plan.segments.clone();
    for segment in &segments {
        for page in file_pages(segment) {
            let frame = scratch::try_filled_frame(0, |bytes| {
                let start = page.max(segment.virtual_address);
                let end = (page + PAGE_BYTES).min(segment.virtual_address + segment.file_len);
                let offset = segment.file_offset + (start - segment.virtual_address);
                let at = (start - page) as usize;
                read_exactly_at(&file, offset, &mut bytes[at..at + (end - start) as usize])
            })?;
            if let Some(window) = window {
                let rights = if segment.is_writable {
                    PageRights::empty()
                } else {
                    segment_rights(segment)
                };
                if let Err(error) = syscall::page_map(window + (page - first), frame, rights) {
                    let _ = syscall::frame_free(frame);
                    return Err(error.into());
                }
            }
            image.pages.push((page, frame));
        }
    }
    Ok(image)
}

/// The regions `segment` touches.
pub(crate) fn segment_regions(segment: &Segment) -> core::ops::Range<u64> {
    let bytes = exo_abi::region::BYTES;
    segment.first_page() & !(bytes - 1)..segment.end_page().next_multiple_of(bytes)
}

/// The pages of `segment` that hold bytes of the file.
pub(crate) fn file_pages(segment: &Segment) -> impl Iterator<Item = u64> {
    let file_end = (segment.virtual_address + segment.file_len).div_ceil(PAGE_BYTES) * PAGE_BYTES;
    let end = if segment.file_len == 0 {
        segment.first_page()
    } else {
        file_end
    };
    (segment.first_page()..end).step_by(PAGE_BYTES as usize)
}

/// The rights of `segment`'s pages in the program.
pub(crate) fn segment_rights(segment: &Segment) -> PageRights {
    let mut rights = PageRights::empty();
    rights.set(PageRights::WRITABLE, segment.is_writable);
    rights.set(PageRights::EXECUTABLE, segment.is_executable);
    rights
}

/// Fills `buffer` from `file` at `offset`; a file that ends first is `Io` (it changed since
/// its size was read).
fn read_exactly_at(file: &File, offset: u64, buffer: &mut [u8]) -> Result<()> {
    file.seek(offset)?;
    let mut done = 0;
    while done < buffer.len() {
        match file.read(&mut buffer[done..])? {
            0 => return Err(Errno::Io),
            count => done += count,
        }
    }
    Ok(())
}

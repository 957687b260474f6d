//! The POSIX path's store: the tree's pages in an ordinary file, read and written a page at a
//! time through the library OS's file calls (its buffer cache decides what stays in memory).

use libos_custom::block_device::{BLOCK_SIZE, Block};
use libos_custom::btree::PageStore;
use libos_posix::files::{self, File, OpenOptions};
use libos_posix::{Errno, world};

const PATH: &str = "/pooldb.db";

/// Pages `0..page_count` of a file.
pub struct FilePages {
    file: File,
    page_count: u64,
    /// The page being read or written, in this program's memory.
    buffer: alloc::boxed::Box<Block>,
}

impl FilePages {
    fn seek_to(&self, page: u64) -> Result<(), Errno> {
        if page >= self.page_count {
            return Err(Errno::InvalidArgument);
        }
        self.file.seek(page * BLOCK_SIZE as u64).map(|_| ())
    }
}

impl PageStore for FilePages {
    type Error = Errno;

    fn page_count(&self) -> u64 {
        self.page_count
    }

    fn read_page<R>(&mut self, page: u64, read: impl FnOnce(&Block) -> R) -> Result<R, Errno> {
        self.seek_to(page)?;
        let count = self.file.read(&mut self.buffer.0)?;
        // A page past the end of the file reads as zeros, as a fresh disk block does.
        self.buffer.0[count..].fill(0);
        Ok(read(&self.buffer))
    }

    fn write_page<R>(
        &mut self,
        page: u64,
        write: impl FnOnce(&mut Block) -> R,
    ) -> Result<R, Errno> {
        self.read_page(page, |_| ())?;
        let outcome = write(&mut self.buffer);
        self.seek_to(page)?;
        self.file.write(&self.buffer.0)?;
        Ok(outcome)
    }
}

/// Runs `action` on the pages of a fresh `/pooldb.db` of `page_count` pages, in this
/// program's world (one of its own when it has none), then removes the file.
pub fn with_file<T>(
    page_count: u64,
    action: impl FnOnce(&mut FilePages) -> Result<T, &'static str>,
) -> Result<T, &'static str> {
    if world::get().is_none() {
        world::start_as_root(crate::NAME).map_err(|(what, _)| what)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(PATH)
        .map_err(|_| "cannot create /pooldb.db")?;
    let mut store = FilePages {
        file,
        page_count,
        buffer: alloc::boxed::Box::new(Block::zeroed()),
    };
    let outcome = action(&mut store);
    files::remove_file(PATH).map_err(|_| "cannot remove /pooldb.db")?;
    outcome
}

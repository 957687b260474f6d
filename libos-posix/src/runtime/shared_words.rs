//! The 512 words of a page that several environments bind (for example one shared with
//! `syscall::page_share`), read and written with volatile accesses so that each sees the
//! others' stores. The page is the caller's to bind, so making one is `unsafe`.

/// Words in a page.
pub const WORDS_PER_PAGE: u64 = 512;

/// A page of words at a fixed user address.
#[derive(Clone, Copy, Debug)]
pub struct SharedWords {
    address: u64,
}

impl SharedWords {
    /// The page at `address`.
    ///
    /// # Safety
    /// For as long as the value is used, `address` must be page-aligned and bound in this
    /// environment: readable for [`read`](SharedWords::read), writable for
    /// [`write`](SharedWords::write) and [`increment`](SharedWords::increment).
    pub const unsafe fn new(address: u64) -> SharedWords {
        SharedWords { address }
    }

    fn word(&self, index: u64) -> *mut u64 {
        assert!(index < WORDS_PER_PAGE, "word {index} is outside the page");
        (self.address + index * 8) as *mut u64
    }

    /// Word `index` (below [`WORDS_PER_PAGE`]).
    pub fn read(&self, index: u64) -> u64 {
        // SAFETY: the page is bound, so readable (the contract of `new`), and `word` keeps the
        // access inside it, aligned.
        unsafe { self.word(index).read_volatile() }
    }

    /// Sets word `index` (below [`WORDS_PER_PAGE`]) to `value`.
    pub fn write(&self, index: u64, value: u64) {
        // SAFETY: the page is bound writable for writes (the contract of `new`), and `word`
        // keeps the access inside it, aligned.
        unsafe { self.word(index).write_volatile(value) }
    }

    /// Adds one to word `index`.
    pub fn increment(&self, index: u64) {
        self.write(index, self.read(index) + 1);
    }
}

//! Where the program's image begins and ends, as the linker says.

// SAFETY: the linker defines these symbols for every program; only their addresses are taken,
// never their contents read.
unsafe extern "C" {
    /// The program's ELF header, its first byte in memory (defined by the linker).
    static __ehdr_start: u8;
    /// The end of the code (defined by the linker).
    static _etext: u8;
    /// The end of the image, `.bss` included (defined by the linker).
    static _end: u8;
}

/// The program's first address (its ELF header's, which the first segment holds).
pub(crate) fn image_start() -> u64 {
    (&raw const __ehdr_start) as u64
}

/// The first address after the program's code.
pub(crate) fn code_end() -> u64 {
    (&raw const _etext) as u64
}

/// The first address after the program's image, `.bss` included.
pub(crate) fn image_end() -> u64 {
    (&raw const _end) as u64
}

//! What the test programs under `tests/programs/` share: reporting their checks (`checks`), waiting for
//! another environment (`waiting`), and the program of a child built by hand
//! (`hand_built_child`). A library, linked into the programs that use it; the boot tool installs
//! only programs.
#![no_std]

pub mod checks;
pub mod hand_built_child;
pub mod waiting;

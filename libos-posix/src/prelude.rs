//! What most apps use, in one import (`use libos_posix::prelude::*;`): the names std's prelude
//! gives a program that `no_std` takes away (`String`, `Vec`, `Box`, `ToString`, `format!`,
//! `vec!`), the hash map and set, the clocks, and the library's printing macros.

pub use crate::collections::{HashMap, HashSet};
pub use crate::time::{Duration, Instant, SystemTime};
pub use crate::{Args, eprint, eprintln, print, println};
pub use alloc::borrow::ToOwned;
pub use alloc::boxed::Box;
pub use alloc::string::{String, ToString};
pub use alloc::vec::Vec;
pub use alloc::{format, vec};

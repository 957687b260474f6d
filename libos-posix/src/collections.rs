//! Collections, as `std::collections` has them: the hash map and set (`hashbrown`'s, which
//! std's are built on) beside `alloc`'s ordered maps, sets, lists and queues, so that an app
//! needs no other crate.

pub use alloc::collections::{BTreeMap, BTreeSet, BinaryHeap, LinkedList, VecDeque};
pub use alloc::collections::{btree_map, btree_set};
pub use hashbrown::{HashMap, HashSet, hash_map, hash_set};

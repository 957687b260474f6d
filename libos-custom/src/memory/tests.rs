//! Host tests of the memory manager: each policy against a model, the pool against a model,
//! and the measured comparison of the policies on a tree.

mod measure;
mod policies;
mod pool;

//! Host tests of the memory manager: each policy against a model, the pool against a model,
//! the measured comparison of the policies on a tree, the bound Belady's MIN puts on any
//! policy over `pooldb`'s workload, and what a revocation costs a 2Q pool.

mod measure;
mod optimal;
mod policies;
mod pool;
mod revocation;

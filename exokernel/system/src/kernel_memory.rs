//! The kernel-memory quota in the kernel: each charge checked against `exo_core::kernel_memory`
//! with the binding counts of the mapping database, and [`exo_abi::Syscall::KernelMemory`].

use crate::capabilities::environment_named;
use crate::kernel::Kernel;
use crate::platform::Platform;
use exo_abi::Error;
use exo_abi::capability::Rights;
use exo_abi::kernel_memory::BINDING_BYTES;
use exo_core::environments::EnvId;
use exo_core::kernel_memory::BindingCounts;

impl<P: Platform> Kernel<P> {
    fn binding_counts(&self, env: EnvId) -> BindingCounts {
        BindingCounts {
            environment: self.bindings_of(env),
            total: self.mappings.len() + self.regions.len(),
        }
    }

    /// The bindings charged to `env`: its pages, and each region it borrows as one.
    fn bindings_of(&self, env: EnvId) -> usize {
        self.mappings.count_in(env) + self.regions.count_borrowed_by(env)
    }

    /// The bytes of kernel heap charged to `env`.
    pub fn charged_to(&self, env: EnvId) -> usize {
        self.kernel_memory.charged_to(env, self.bindings_of(env))
    }

    /// The bytes of kernel heap charged to every environment together.
    pub fn charged_in_total(&self) -> usize {
        self.kernel_memory
            .total(self.mappings.len() + self.regions.len())
    }

    /// Whether one more binding fits in `env`'s quota and the global one.
    /// Errors: [`Error::NoMemory`] when it does not.
    pub fn check_binding_room(&self, env: EnvId) -> Result<(), Error> {
        self.check_charge(env, BINDING_BYTES)
    }

    /// Whether `bytes` more fit in `env`'s quota and the global one.
    /// Errors: [`Error::NoMemory`] when they do not.
    pub fn check_charge(&self, env: EnvId, bytes: usize) -> Result<(), Error> {
        self.kernel_memory
            .check(env, bytes, self.binding_counts(env))
    }

    /// Charges `bytes` to `env`.
    /// Errors: [`Error::NoMemory`] when they do not fit; then nothing is charged.
    pub fn charge(&mut self, env: EnvId, bytes: usize) -> Result<(), Error> {
        let counts = self.binding_counts(env);
        self.kernel_memory.charge(env, bytes, counts)
    }
}

/// [`exo_abi::Syscall::KernelMemory`].
pub fn kernel_memory<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    handle: u64,
) -> Result<u64, Error> {
    let env = environment_named(kernel, caller, handle, Rights::empty())?;
    Ok(kernel.charged_to(env) as u64)
}

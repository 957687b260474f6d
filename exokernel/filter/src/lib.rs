//! The sandbox that runs downloaded WebAssembly filters (the contract is [`exo_abi::filter`]).
//!
//! The kernel loads a module once with [`Sandbox::load`], which checks everything the contract
//! can check before any code runs, and then calls [`Filter::run`] for every packet or wake-up
//! check. A run never panics and never runs longer than its fuel, whatever the module does: a
//! misbehaving filter only collects strikes until [`Filter::is_exhausted`] tells the kernel to
//! unload it. The same code runs on the host, where the tests drive it with hostile and
//! generated modules.
//!
//! The interpreter is `wasmi`, with fuel metering and bounded call and value stacks. Modules
//! are translated eagerly at load: translated lazily, the first run of each function would pay
//! for its translation in fuel, and a filter could run out on a first run that later ones
//! survive.
//!
//! Most filters are conjunctions of masked field tests, in the form `libos_custom::filter`
//! emits. [`Sandbox::load`] recognises that form (see [`recognition`]) and keeps the tests as a
//! [`TestList`] beside the instance: a recognised filter's runs evaluate the list natively,
//! with the verdict the interpreter would give, and [`table::FilterTable`] merges the lists of
//! all bound filters into one decision per frame. Any other module runs in the interpreter.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod host;
mod merged;
pub mod recognition;
pub mod table;
mod test_list;
mod word_tests;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use exo_abi::filter::{
    EXPORT_INPUT_MEMORY, EXPORT_RUN, FUEL_PER_RUN, IMPORT_MODULE, INPUT_BYTES_MAX,
    INPUT_MEMORY_OFFSET, MODULE_BYTES_MAX, STRIKES_MAX, VERDICT_MATCH, VERDICT_NO_MATCH, imports,
};
use wasmi::errors::{ErrorKind, InstantiationError};
use wasmi::{
    CompilationMode, Config, Engine, Extern, ExternType, Func, Instance, Memory, Module, Store,
    TrapCode, TypedFunc, ValType,
};

use crate::host::{Host, PastInputEnd};
pub use crate::test_list::{Comparison, FieldTest, TestList, Width};

/// Most nested calls a run may make; one more traps. The contract bounds a run by fuel alone,
/// but fuel does not bound the kernel memory a deep recursion uses, so this limit does.
pub const CALL_DEPTH_MAX: usize = 256;

/// Most bytes of wasmi's value stack (locals and temporaries of all active calls); a call
/// that needs more traps. Like [`CALL_DEPTH_MAX`], it keeps a run's kernel memory bounded.
pub const VALUE_STACK_BYTES_MAX: usize = 64 * 1024;

/// Most tables a module may define. The contract leaves tables unbounded apart from growth;
/// this and [`TABLE_ELEMENTS_MAX`] keep what a 16 KiB module can make the kernel allocate small.
pub const TABLES_MAX: usize = 4;

/// Most elements of all a module's tables together, as declared (tables cannot grow).
pub const TABLE_ELEMENTS_MAX: usize = 1024;

/// Why [`Sandbox::load`] refused a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The module is longer than [`MODULE_BYTES_MAX`].
    TooLarge,
    /// The bytes are not a valid WebAssembly module, or use a feature wasmi does not enable.
    Invalid,
    /// An import is a memory, table, global or tag: the filter must not share any state.
    ImportNotFunction,
    /// A function import is not one of the contract's accessors.
    ImportNotAllowed,
    /// An accessor is imported with a type other than the contract's.
    ImportWrongType,
    /// No function is exported under [`EXPORT_RUN`].
    RunMissing,
    /// The function exported under [`EXPORT_RUN`] is not of type `[] -> [i32]`.
    RunWrongType,
    /// A linear memory's minimum or maximum is above [`exo_abi::filter::MEMORY_PAGES_MAX`].
    MemoryTooLarge,
    /// The module defines more than one linear memory.
    TooManyMemories,
    /// The module exports something under [`exo_abi::filter::EXPORT_INPUT_MEMORY`] that is not
    /// a linear memory big enough for the input and its length.
    InputMemoryUnfit,
    /// The tables are more than [`TABLES_MAX`] or hold more than [`TABLE_ELEMENTS_MAX`]
    /// elements.
    TablesTooLarge,
    /// The start function ran out of fuel.
    StartOutOfFuel,
    /// Instantiation trapped: the start function trapped or read input (there is none at
    /// load), or a data or element segment does not fit.
    InstantiationTrapped,
}

impl LoadError {
    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            LoadError::TooLarge => "module too large",
            LoadError::Invalid => "not a valid WebAssembly module",
            LoadError::ImportNotFunction => "imports a memory, table, global or tag",
            LoadError::ImportNotAllowed => "imports a function the contract does not offer",
            LoadError::ImportWrongType => "imports an accessor with the wrong type",
            LoadError::RunMissing => "exports no `run` function",
            LoadError::RunWrongType => "`run` is not of type [] -> [i32]",
            LoadError::MemoryTooLarge => "linear memory declared too large",
            LoadError::TooManyMemories => "more than one linear memory",
            LoadError::InputMemoryUnfit => "its `input` export is no memory that holds the input",
            LoadError::TablesTooLarge => "tables too many or too large",
            LoadError::StartOutOfFuel => "start function ran out of fuel",
            LoadError::InstantiationTrapped => "instantiation trapped",
        }
    }

    /// The system-call error the kernel returns for this refusal: only an oversized module is
    /// a length problem, every other refusal is a malformed argument.
    pub fn to_abi(self) -> exo_abi::Error {
        match self {
            LoadError::TooLarge => exo_abi::Error::TooLong,
            _ => exo_abi::Error::InvalidArgument,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl core::error::Error for LoadError {}

/// A run's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The packet is claimed, the predicate is true.
    Match,
    /// The packet is not claimed, the predicate is false; also the answer of every failed run.
    NoMatch,
}

/// Why a run counted a strike against its filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strike {
    /// The run needed more than [`FUEL_PER_RUN`].
    OutOfFuel,
    /// The run trapped (including a call or value stack overflow).
    Trap,
    /// `run` returned something other than [`VERDICT_MATCH`] or [`VERDICT_NO_MATCH`].
    BadResult,
}

/// What one [`Filter::run`] gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// The verdict the kernel acts on.
    pub verdict: Verdict,
    /// The strike this run counted, if the filter misbehaved.
    pub strike: Option<Strike>,
    /// Fuel the run consumed, at most [`FUEL_PER_RUN`]: what benchmarks compare filters by.
    /// 0 for a recognised filter's run, which the interpreter does not run.
    pub fuel_used: u64,
}

/// The interpreter's configuration, the one thing all filters share.
///
/// Each filter gets an engine of its own: a wasmi engine keeps the compiled code of every module
/// it ever loaded until it is dropped, so a shared one would grow with every load and unload an
/// environment makes. With its own engine, unloading a filter frees all of it.
pub struct Sandbox {
    config: Config,
}

impl Sandbox {
    /// A sandbox whose engines meter fuel, bound their stacks and translate eagerly.
    pub fn new() -> Sandbox {
        let mut config = Config::default();
        config
            .consume_fuel(true)
            .compilation_mode(CompilationMode::Eager)
            .ignore_custom_sections(true)
            .set_max_recursion_depth(CALL_DEPTH_MAX)
            .set_max_stack_height(VALUE_STACK_BYTES_MAX)
            // Runs of one filter never overlap: one cached stack spares every run an
            // allocation, and a filter keeps no more than its deepest run needed.
            .set_max_cached_stacks(1);
        Sandbox { config }
    }

    /// Checks `bytes` against the contract and instantiates the module, running its start
    /// function (if any) with [`FUEL_PER_RUN`] fuel. Everything that can be refused is refused
    /// here, so that a loaded filter can only fail at run time by its own behaviour. A module
    /// in the recognised form (see [`recognition`]) is loaded in the same way, and its tests
    /// kept as well.
    pub fn load(&self, bytes: &[u8]) -> Result<Filter, LoadError> {
        if bytes.len() > MODULE_BYTES_MAX {
            return Err(LoadError::TooLarge);
        }
        let engine = Engine::new(&self.config);
        let module = Module::new(&engine, bytes).map_err(|_| LoadError::Invalid)?;
        match module.get_export(EXPORT_RUN) {
            Some(ExternType::Func(ty))
                if ty.params().is_empty() && ty.results() == [ValType::I32] => {}
            Some(ExternType::Func(_)) => return Err(LoadError::RunWrongType),
            _ => return Err(LoadError::RunMissing),
        }

        let mut store = Store::new(&engine, Host::new());
        store.limiter(|host| &mut host.limits);
        store.call_hook(host::note_call);
        let imports = resolve_imports(&module, &mut store)?;
        store
            .set_fuel(FUEL_PER_RUN)
            .expect("the sandbox's engines meter fuel");
        let instance = match Instance::new(&mut store, &module, &imports) {
            Ok(instance) => instance,
            Err(error) => return Err(instantiation_refusal(&error, store.data())),
        };
        let run = instance
            .get_typed_func::<(), i32>(&store, EXPORT_RUN)
            .map_err(|_| LoadError::RunWrongType)?;
        let input_memory = match instance.get_export(&store, EXPORT_INPUT_MEMORY) {
            None => None,
            Some(Extern::Memory(memory))
                if memory.data_size(&store) >= INPUT_MEMORY_OFFSET + INPUT_BYTES_MAX =>
            {
                Some(memory)
            }
            Some(_) => return Err(LoadError::InputMemoryUnfit),
        };
        Ok(Filter {
            store,
            run,
            input_memory,
            reads_accessors: !imports.is_empty(),
            test_list: recognition::recognise(bytes).map(Arc::new),
            strikes: 0,
        })
    }
}

impl Default for Sandbox {
    fn default() -> Sandbox {
        Sandbox::new()
    }
}

/// The accessor functions for the module's imports, in their order, or why an import breaks
/// the contract. The accessors' types come from their Rust signatures, so comparing them with
/// the imports' types checks the contract's types.
fn resolve_imports(module: &Module, store: &mut Store<Host>) -> Result<Vec<Extern>, LoadError> {
    let mut resolved = Vec::new();
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            return Err(LoadError::ImportNotFunction);
        };
        if import.module() != IMPORT_MODULE {
            return Err(LoadError::ImportNotAllowed);
        }
        let accessor = match import.name() {
            imports::INPUT_LENGTH => Func::wrap(&mut *store, host::input_length),
            imports::INPUT_U8 => Func::wrap(&mut *store, host::input_u8),
            imports::INPUT_U16 => Func::wrap(&mut *store, host::input_u16),
            imports::INPUT_U32 => Func::wrap(&mut *store, host::input_u32),
            _ => return Err(LoadError::ImportNotAllowed),
        };
        if accessor.ty(&*store) != *ty {
            return Err(LoadError::ImportWrongType);
        }
        resolved.push(Extern::Func(accessor));
    }
    Ok(resolved)
}

/// Why instantiation failed: the limiter knows about declarations beyond the bounds, the error
/// tells the rest.
fn instantiation_refusal(error: &wasmi::Error, host: &Host) -> LoadError {
    if let Some(refusal) = host.limits.refusal {
        return refusal;
    }
    match error.kind() {
        ErrorKind::Instantiation(InstantiationError::TooManyMemories) => LoadError::TooManyMemories,
        ErrorKind::Instantiation(InstantiationError::TooManyTables) => LoadError::TablesTooLarge,
        _ if error.as_trap_code() == Some(TrapCode::OutOfFuel) => LoadError::StartOutOfFuel,
        _ => LoadError::InstantiationTrapped,
    }
}

/// A loaded filter: its own store and instance, its tests if it was recognised, and the
/// strikes it has collected.
pub struct Filter {
    store: Store<Host>,
    run: TypedFunc<(), i32>,
    /// The memory the module takes its input in, when it exports one under
    /// [`EXPORT_INPUT_MEMORY`].
    input_memory: Option<Memory>,
    /// Whether the module imports an accessor, which reads the input kept in the store.
    reads_accessors: bool,
    /// Shared with the packet table's merged decision, which then holds no copy the load's
    /// charge does not cover.
    test_list: Option<Arc<TestList>>,
    strikes: u32,
}

impl Filter {
    /// Runs the filter on `input` (cut to [`exo_abi::filter::INPUT_BYTES_MAX`] bytes) with
    /// [`FUEL_PER_RUN`] fuel. An exhausted filter is not run at all and claims nothing: the
    /// kernel may still hold it between the last strike and the unload. A recognised filter
    /// evaluates its [`TestList`] instead, with the interpreter's verdict and no strike.
    pub fn run(&mut self, input: &[u8]) -> RunOutcome {
        match &self.test_list {
            Some(tests) => {
                let verdict = if tests.holds(input) {
                    Verdict::Match
                } else {
                    Verdict::NoMatch
                };
                RunOutcome {
                    verdict,
                    strike: None,
                    fuel_used: 0,
                }
            }
            None => self.run_interpreted(input),
        }
    }

    /// Runs the module in the interpreter, even when it was recognised: the behaviour that
    /// [`Filter::run`]'s native evaluation must reproduce, and what the tests compare it with.
    pub fn run_interpreted(&mut self, input: &[u8]) -> RunOutcome {
        if self.is_exhausted() {
            return RunOutcome {
                verdict: Verdict::NoMatch,
                strike: None,
                fuel_used: 0,
            };
        }
        let input = &input[..input.len().min(INPUT_BYTES_MAX)];
        if let Some(memory) = self.input_memory {
            write_input_into(memory.data_mut(&mut self.store), input);
        }
        if self.reads_accessors {
            self.store.data_mut().set_input(input);
        }
        self.store
            .set_fuel(FUEL_PER_RUN)
            .expect("the sandbox's engines meter fuel");
        let result = self.run.call(&mut self.store, ());
        let fuel_left = self
            .store
            .get_fuel()
            .expect("the sandbox's engines meter fuel");
        let (verdict, strike) = match result {
            Ok(VERDICT_MATCH) => (Verdict::Match, None),
            Ok(VERDICT_NO_MATCH) => (Verdict::NoMatch, None),
            Ok(_) => (Verdict::NoMatch, Some(Strike::BadResult)),
            Err(error) if error.downcast_ref::<PastInputEnd>().is_some() => {
                (Verdict::NoMatch, None)
            }
            Err(error) if error.as_trap_code() == Some(TrapCode::OutOfFuel) => {
                (Verdict::NoMatch, Some(Strike::OutOfFuel))
            }
            Err(_) => (Verdict::NoMatch, Some(Strike::Trap)),
        };
        if strike.is_some() {
            self.strikes = self.strikes.saturating_add(1);
        }
        RunOutcome {
            verdict,
            strike,
            fuel_used: FUEL_PER_RUN.saturating_sub(fuel_left),
        }
    }

    /// The tests of a filter [`Sandbox::load`] recognised as a conjunction of masked field
    /// tests; `None` for one the interpreter runs.
    pub fn test_list(&self) -> Option<&TestList> {
        self.test_list.as_deref()
    }

    /// [`Filter::test_list`], to share.
    pub(crate) fn shared_test_list(&self) -> Option<&Arc<TestList>> {
        self.test_list.as_ref()
    }

    /// Strikes counted so far.
    pub fn strikes(&self) -> u32 {
        self.strikes
    }

    /// Whether the filter has [`STRIKES_MAX`] strikes and must be unloaded.
    pub fn is_exhausted(&self) -> bool {
        self.strikes >= STRIKES_MAX
    }
}

/// Writes `input` (at most [`INPUT_BYTES_MAX`] bytes) and its length into `memory` as the
/// contract lays them out; the load checked that `memory` holds them, and memories never
/// shrink.
fn write_input_into(memory: &mut [u8], input: &[u8]) {
    let length = (input.len() as u32).to_le_bytes();
    let end = INPUT_MEMORY_OFFSET + input.len();
    if let Some(bytes) = memory.get_mut(..end) {
        bytes[..length.len()].copy_from_slice(&length);
        bytes[INPUT_MEMORY_OFFSET..].copy_from_slice(input);
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("strikes", &self.strikes)
            .field("recognised", &self.test_list.is_some())
            .finish_non_exhaustive()
    }
}

//! Thousands of modules from `wasm-smith`, shaped like filters (the contract's imports offered,
//! a `run` export required) so that most of them load: whatever they do, loading and running
//! them must not panic, must not overflow a kernel-sized stack, and must stay within the fuel.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread;

use arbitrary::Unstructured;
use exo_abi::filter::{FUEL_PER_RUN, INPUT_BYTES_MAX, STRIKES_MAX};
use exo_filter::{RunOutcome, Sandbox, Strike, Verdict};
use wasm_smith::{Config, Module};

/// Modules generated.
const MODULES: usize = 10_000;

/// Seed of the byte source: fixed, so that a failure reproduces.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The kernel's stack: loads and runs happen on a thread this small.
const KERNEL_STACK_BYTES: usize = 128 * 1024;

/// The imports wasm-smith may draw from: exactly the contract's accessors.
const IMPORTS: &str = r#"(module
    (import "exo" "input_length" (func (result i32)))
    (import "exo" "input_u8" (func (param i32) (result i32)))
    (import "exo" "input_u16" (func (param i32) (result i32)))
    (import "exo" "input_u32" (func (param i32) (result i32))))"#;

/// The export every generated module has, with a body of wasm-smith's choosing.
const EXPORTS: &str = r#"(module (func (export "run") (result i32) unreachable))"#;

/// xorshift64*: a small deterministic source of bytes for `Unstructured`.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// A wasm-smith configuration for one module.
fn config(rng: &mut XorShift, imports: &[u8], exports: &[u8]) -> Config {
    let mut config = Config {
        available_imports: Some(imports.to_vec()),
        exports: Some(exports.to_vec()),
        // Proposals the sandbox's wasmi does not enable: a module using one is refused as
        // invalid and tests nothing else.
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        max_funcs: 20,
        ..Config::default()
    };
    // Mostly within the sandbox's bounds, so that most modules load; one in eight may declare
    // beyond them, to exercise the refusals.
    let beyond = rng.below(8) == 0;
    config.max_memory32_bytes = if beyond { 4 * 65536 } else { 65536 };
    config.max_memories = if beyond { 2 } else { 1 };
    config.max_tables = if beyond { 6 } else { 2 };
    config.max_table_elements = if beyond { 2048 } else { 256 };
    // Half the modules avoid traps, so that more of their runs reach a result.
    config.disallow_traps = rng.below(2) == 0;
    config
}

/// Inputs every loaded module runs on: empty, too short for most reads, a frame-sized one and
/// one longer than the contract's cut.
fn inputs(rng: &mut XorShift) -> Vec<Vec<u8>> {
    let mut frame = vec![0; 64];
    rng.fill(&mut frame);
    let mut long = vec![0; INPUT_BYTES_MAX + 100];
    rng.fill(&mut long);
    vec![Vec::new(), vec![0x08], frame, long]
}

#[derive(Default)]
struct Tally {
    loaded: usize,
    refused: BTreeMap<&'static str, usize>,
    runs: usize,
    matches: usize,
    no_matches: usize,
    strikes: BTreeMap<String, usize>,
    exhausted: usize,
}

impl Tally {
    fn count_run(&mut self, outcome: &RunOutcome) {
        self.runs += 1;
        match outcome.strike {
            Some(strike) => *self.strikes.entry(format!("{strike:?}")).or_default() += 1,
            None if outcome.verdict == Verdict::Match => self.matches += 1,
            None => self.no_matches += 1,
        }
    }
}

/// Loads `bytes` and runs it on `inputs`, checking what every run must satisfy.
fn exercise(sandbox: &Sandbox, bytes: &[u8], inputs: &[Vec<u8>], tally: &mut Tally) {
    let mut filter = match sandbox.load(bytes) {
        Ok(filter) => filter,
        Err(refusal) => {
            *tally.refused.entry(refusal.describe()).or_default() += 1;
            return;
        }
    };
    tally.loaded += 1;
    let mut strikes = 0;
    // Every input twice: the second run sees whatever state the first one left.
    for input in inputs.iter().chain(inputs) {
        let exhausted_before = filter.is_exhausted();
        let outcome = filter.run(input);
        assert!(outcome.fuel_used <= FUEL_PER_RUN, "{outcome:?}");
        if outcome.strike.is_some() {
            assert_eq!(outcome.verdict, Verdict::NoMatch, "{outcome:?}");
            strikes += 1;
        }
        if exhausted_before {
            assert_eq!(outcome.fuel_used, 0, "an exhausted filter ran: {outcome:?}");
            assert_eq!(outcome.strike, None);
        } else {
            tally.count_run(&outcome);
        }
        assert_eq!(filter.strikes(), strikes);
        assert_eq!(filter.is_exhausted(), strikes >= STRIKES_MAX);
    }
    if filter.is_exhausted() {
        tally.exhausted += 1;
    }
}

#[test]
fn generated_modules_load_and_run_safely() {
    let imports = wat::parse_str(IMPORTS).expect("imports module");
    let exports = wat::parse_str(EXPORTS).expect("exports module");
    // One thread generates (wasm-smith is not part of the kernel, so it gets a normal stack),
    // the other loads and runs on a kernel-sized stack.
    let (sender, receiver) = mpsc::sync_channel::<(Vec<u8>, Vec<Vec<u8>>)>(64);
    let generator = thread::spawn(move || {
        let mut rng = XorShift(SEED);
        let mut generated = 0;
        let mut tries = 0;
        while generated < MODULES {
            tries += 1;
            assert!(tries < 2 * MODULES, "wasm-smith gives up too often");
            let config = config(&mut rng, &imports, &exports);
            let mut bytes = vec![0; 256 + rng.below(8 * 1024) as usize];
            rng.fill(&mut bytes);
            let Ok(module) = Module::new(config, &mut Unstructured::new(&bytes)) else {
                continue;
            };
            generated += 1;
            if sender.send((module.to_bytes(), inputs(&mut rng))).is_err() {
                return;
            }
        }
    });
    let runner = thread::Builder::new()
        .stack_size(KERNEL_STACK_BYTES)
        .spawn(move || {
            let sandbox = Sandbox::new();
            let mut tally = Tally::default();
            for (bytes, inputs) in receiver {
                exercise(&sandbox, &bytes, &inputs, &mut tally);
            }
            tally
        })
        .expect("runner starts");
    generator.join().expect("generator finished");
    let tally = runner.join().expect("no load or run panicked");

    println!(
        "{MODULES} modules: {} loaded ({} exhausted), {} runs: {} match, {} no match, strikes {:?}",
        tally.loaded, tally.exhausted, tally.runs, tally.matches, tally.no_matches, tally.strikes
    );
    println!("refused: {:?}", tally.refused);
    // The test means something only if many modules got past loading and their runs ended in
    // every way a run can end.
    assert!(
        tally.loaded >= MODULES / 2,
        "only {} modules loaded",
        tally.loaded
    );
    assert!(tally.matches >= 100 && tally.no_matches >= 1000);
    for strike in [Strike::OutOfFuel, Strike::Trap, Strike::BadResult] {
        let count = tally
            .strikes
            .get(&format!("{strike:?}"))
            .copied()
            .unwrap_or(0);
        assert!(count >= 10, "only {count} strikes for {strike:?}");
    }
    assert!(tally.refused.values().sum::<usize>() >= 100);
}

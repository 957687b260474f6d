//! The contract of `exo_abi::filter`, case by case: filters it accepts and how they run, and
//! each hostile module it must refuse at load or punish at run time.

use exo_abi::filter::{FUEL_PER_RUN, INPUT_BYTES_MAX, MODULE_BYTES_MAX, STRIKES_MAX};
use exo_filter::{CALL_DEPTH_MAX, Filter, LoadError, RunOutcome, Sandbox, Strike, Verdict};

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("test module is valid text")
}

fn load(text: &str) -> Result<Filter, LoadError> {
    Sandbox::new().load(&wasm(text))
}

fn loaded(text: &str) -> Filter {
    load(text).expect("module loads")
}

fn refusal(text: &str) -> LoadError {
    load(text).expect_err("module is refused")
}

/// A filter whose `run` is `body` (which leaves one i32), importing every accessor.
fn filter_with_run(body: &str) -> Filter {
    loaded(&format!(
        r#"(module
            (import "exo" "input_length" (func $len (result i32)))
            (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
            (import "exo" "input_u16" (func $u16 (param i32) (result i32)))
            (import "exo" "input_u32" (func $u32 (param i32) (result i32)))
            (func (export "run") (result i32) {body}))"#
    ))
}

fn clean(verdict: Verdict) -> impl Fn(&RunOutcome) -> bool {
    move |outcome| outcome.verdict == verdict && outcome.strike.is_none()
}

fn struck(strike: Strike) -> impl Fn(&RunOutcome) -> bool {
    move |outcome| outcome.verdict == Verdict::NoMatch && outcome.strike == Some(strike)
}

/// Claims IPv4 UDP datagrams to port 53 in an Ethernet frame, reading the IP header length.
const DNS_FILTER: &str = r#"(module
    (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
    (import "exo" "input_u16" (func $u16 (param i32) (result i32)))
    (func (export "run") (result i32)
        (local $udp i32)
        (if (i32.ne (call $u16 (i32.const 12)) (i32.const 0x0800)) (then (return (i32.const 0))))
        (if (i32.ne (call $u8 (i32.const 23)) (i32.const 17)) (then (return (i32.const 0))))
        (local.set $udp (i32.add (i32.const 14)
            (i32.shl (i32.and (call $u8 (i32.const 14)) (i32.const 0x0f)) (i32.const 2))))
        (i32.eq (call $u16 (i32.add (local.get $udp) (i32.const 2))) (i32.const 53))))"#;

/// An Ethernet frame carrying IPv4 (header of `ihl` words) and UDP to `port`.
fn udp_frame(ihl: u8, protocol: u8, port: u16) -> Vec<u8> {
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0u8; usize::from(ihl) * 4];
    ip[0] = 0x40 | ihl;
    ip[9] = protocol;
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&4000u16.to_be_bytes());
    frame.extend_from_slice(&port.to_be_bytes());
    frame.extend_from_slice(&[0, 8, 0, 0]);
    frame
}

#[test]
fn udp_port_filter_claims_only_its_port() {
    let mut filter = loaded(DNS_FILTER);
    let outcome = filter.run(&udp_frame(5, 17, 53));
    assert!(clean(Verdict::Match)(&outcome), "{outcome:?}");
    assert!(outcome.fuel_used > 0 && outcome.fuel_used < FUEL_PER_RUN / 10);
    assert!(clean(Verdict::Match)(&filter.run(&udp_frame(6, 17, 53))));
    assert!(clean(Verdict::NoMatch)(&filter.run(&udp_frame(5, 17, 54))));
    assert!(clean(Verdict::NoMatch)(&filter.run(&udp_frame(5, 6, 53))));
    let mut arp = udp_frame(5, 17, 53);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert!(clean(Verdict::NoMatch)(&filter.run(&arp)));
    assert_eq!(filter.strikes(), 0);
}

#[test]
fn accessors_read_big_endian_words_of_the_input() {
    let input = [0x12, 0x34, 0x56, 0x78, 0x9a];
    let mut filter = filter_with_run(
        "(i32.and
            (i32.and (i32.eq (call $len) (i32.const 5))
                     (i32.eq (call $u8 (i32.const 4)) (i32.const 0x9a)))
            (i32.and (i32.eq (call $u16 (i32.const 1)) (i32.const 0x3456))
                     (i32.eq (call $u32 (i32.const 1)) (i32.const 0x3456789a))))",
    );
    assert!(clean(Verdict::Match)(&filter.run(&input)));
    assert!(clean(Verdict::NoMatch)(
        &filter.run(&[0x12, 0x34, 0x56, 0x78, 0x9b])
    ));
}

#[test]
fn input_is_cut_to_the_contract_length() {
    let mut filter = filter_with_run(&format!(
        "(i32.eq (call $len) (i32.const {INPUT_BYTES_MAX}))"
    ));
    assert!(clean(Verdict::Match)(&filter.run(&vec![
        1;
        INPUT_BYTES_MAX
            + 500
    ])));
    assert!(clean(Verdict::Match)(
        &filter.run(&vec![1; INPUT_BYTES_MAX])
    ));
    assert!(clean(Verdict::NoMatch)(&filter.run(&vec![
        1;
        INPUT_BYTES_MAX
            - 1
    ])));
    // The byte just past the cut is not readable.
    let mut reader = filter_with_run(&format!(
        "(drop (call $u8 (i32.const {INPUT_BYTES_MAX}))) (i32.const 1)"
    ));
    assert!(clean(Verdict::NoMatch)(&reader.run(&vec![
        1;
        INPUT_BYTES_MAX
            + 500
    ])));
}

#[test]
fn short_input_is_no_match_without_a_strike() {
    let mut filter = loaded(DNS_FILTER);
    let frame = udp_frame(5, 17, 53);
    // The filter reads up to the end of the UDP destination port.
    let needed = 14 + 20 + 4;
    assert!(clean(Verdict::Match)(&filter.run(&frame[..needed])));
    for len in 0..needed {
        let outcome = filter.run(&frame[..len]);
        assert!(
            clean(Verdict::NoMatch)(&outcome),
            "length {len}: {outcome:?}"
        );
    }
    assert_eq!(filter.strikes(), 0);
    assert!(!filter.is_exhausted());
    // Negative offsets are large unsigned ones: past the end too, not before the start.
    let mut negative = filter_with_run("(drop (call $u32 (i32.const -2))) (i32.const 1)");
    assert!(clean(Verdict::NoMatch)(&negative.run(&[0; 64])));
    assert_eq!(negative.strikes(), 0);
}

#[test]
fn infinite_loop_runs_out_of_fuel_and_is_struck() {
    let mut filter = filter_with_run("(loop $forever (br $forever)) (i32.const 1)");
    let outcome = filter.run(&[]);
    assert!(struck(Strike::OutOfFuel)(&outcome), "{outcome:?}");
    assert!(outcome.fuel_used <= FUEL_PER_RUN);
    assert!(outcome.fuel_used > FUEL_PER_RUN * 9 / 10, "{outcome:?}");
    assert_eq!(filter.strikes(), 1);
}

#[test]
fn fuel_is_reset_for_every_run() {
    // About 7,000 fuel: two runs would not fit in one run's fuel.
    let mut filter = filter_with_run(
        "(local $i i32)
         (local.set $i (i32.const 1000))
         (loop $again
            (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (br_if $again (local.get $i)))
         (i32.const 1)",
    );
    let first = filter.run(&[]);
    assert!(clean(Verdict::Match)(&first), "{first:?}");
    assert!(first.fuel_used > FUEL_PER_RUN / 2, "{first:?}");
    for _ in 0..5 {
        assert_eq!(filter.run(&[]), first);
    }
}

#[test]
fn unbounded_recursion_traps_and_is_struck() {
    let mut filter = loaded(
        r#"(module
            (func $down (param i32) (result i32)
                (call $down (i32.add (local.get 0) (i32.const 1))))
            (func (export "run") (result i32) (call $down (i32.const 0))))"#,
    );
    let outcome = filter.run(&[]);
    assert!(struck(Strike::Trap)(&outcome), "{outcome:?}");
    // The call-depth limit, not the fuel, ended it.
    assert!(outcome.fuel_used < FUEL_PER_RUN, "{outcome:?}");
}

#[test]
fn huge_frames_overflow_the_value_stack_and_are_struck() {
    // Each frame has 4,000 i64 locals (32 KB): a few nested calls exceed the value stack.
    let locals = "(local i64 i64 i64 i64 i64 i64 i64 i64)".repeat(500);
    let mut filter = loaded(&format!(
        r#"(module
            (func (export "run") (result i32) (call $big (i32.const 8)))
            (func $big (param i32) (result i32) {locals}
                (if (result i32) (local.get 0)
                    (then (call $big (i32.sub (local.get 0) (i32.const 1))))
                    (else (i32.const 1)))))"#
    ));
    let outcome = filter.run(&[]);
    assert!(struck(Strike::Trap)(&outcome), "{outcome:?}");
    assert!(outcome.fuel_used < FUEL_PER_RUN, "{outcome:?}");
}

#[test]
fn out_of_bounds_access_in_its_own_memory_traps_and_is_struck() {
    let mut filter = loaded(
        r#"(module
            (memory 1 1)
            (func (export "run") (result i32)
                (i32.store (i32.const 100) (i32.const 1))
                (drop (i32.load (i32.const 65533)))
                (i32.const 1)))"#,
    );
    assert!(struck(Strike::Trap)(&filter.run(&[])));
    let mut memoryless = filter_with_run("(unreachable)");
    assert!(struck(Strike::Trap)(&memoryless.run(&[])));
}

#[test]
fn garbage_result_is_struck() {
    for garbage in [2, -1, 7, i32::MIN] {
        let mut filter = filter_with_run(&format!("(i32.const {garbage})"));
        assert!(struck(Strike::BadResult)(&filter.run(&[])), "{garbage}");
        assert_eq!(filter.strikes(), 1);
    }
}

#[test]
fn three_strikes_exhaust_a_filter() {
    // Misbehaves on empty input only, so strikes and clean runs can be interleaved.
    let mut filter =
        filter_with_run("(if (i32.eqz (call $len)) (then (unreachable))) (i32.const 1)");
    for strike in 1..STRIKES_MAX {
        assert!(struck(Strike::Trap)(&filter.run(&[])));
        assert!(clean(Verdict::Match)(&filter.run(&[0])));
        assert_eq!(filter.strikes(), strike);
        assert!(!filter.is_exhausted());
    }
    assert!(struck(Strike::Trap)(&filter.run(&[])));
    assert_eq!(filter.strikes(), STRIKES_MAX);
    assert!(filter.is_exhausted());
    // An exhausted filter no longer runs: it claims nothing and uses no fuel.
    let outcome = filter.run(&[0]);
    assert_eq!(
        outcome,
        RunOutcome {
            verdict: Verdict::NoMatch,
            strike: None,
            fuel_used: 0
        }
    );
    assert_eq!(filter.strikes(), STRIKES_MAX);
}

#[test]
fn module_over_the_size_limit_is_refused_before_parsing() {
    let sandbox = Sandbox::new();
    assert_eq!(
        sandbox.load(&vec![0xff; MODULE_BYTES_MAX + 1]).unwrap_err(),
        LoadError::TooLarge
    );
    assert_eq!(
        sandbox.load(&vec![0xff; MODULE_BYTES_MAX]).unwrap_err(),
        LoadError::Invalid
    );
    // A valid module padded with a custom section to exactly the limit loads; a byte more not.
    let small = wasm(r#"(module (func (export "run") (result i32) (i32.const 1)))"#);
    let at_limit = pad_with_custom_section(&small, MODULE_BYTES_MAX);
    assert_eq!(at_limit.len(), MODULE_BYTES_MAX);
    let mut filter = sandbox
        .load(&at_limit)
        .expect("a module at the limit loads");
    assert!(clean(Verdict::Match)(&filter.run(&[])));
    let over = pad_with_custom_section(&small, MODULE_BYTES_MAX + 1);
    assert_eq!(sandbox.load(&over).unwrap_err(), LoadError::TooLarge);
}

/// `module` followed by a custom section that makes it exactly `total` bytes long.
fn pad_with_custom_section(module: &[u8], total: usize) -> Vec<u8> {
    let name = b"pad";
    // The section id, its size as a two-byte LEB128 (enough below 16 KiB), the name's length
    // byte and the name.
    let overhead = 1 + 2 + 1 + name.len();
    let payload = total - module.len() - overhead;
    let size = 1 + name.len() + payload;
    assert!(size < 1 << 14, "the size fits two LEB128 bytes");
    let mut bytes = module.to_vec();
    bytes.extend_from_slice(&[0, (size & 0x7f) as u8 | 0x80, (size >> 7) as u8]);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.resize(bytes.len() + payload, 0);
    bytes
}

#[test]
fn invalid_modules_are_refused() {
    let sandbox = Sandbox::new();
    assert_eq!(sandbox.load(&[]).unwrap_err(), LoadError::Invalid);
    assert_eq!(
        sandbox.load(b"\0asm\x01\0\0\0\x99").unwrap_err(),
        LoadError::Invalid
    );
    // Well-formed but ill-typed: `run` returns nothing from an i32 function.
    let mut bytes = wasm(r#"(module (func (export "run") (result i32) (i32.const 1)))"#);
    let at = bytes
        .windows(2)
        .position(|w| w == [0x41, 0x01])
        .expect("i32.const 1");
    bytes[at] = 0x01; // nop
    assert_eq!(sandbox.load(&bytes).unwrap_err(), LoadError::Invalid);
}

#[test]
fn imports_outside_the_whitelist_are_refused() {
    let run = r#"(func (export "run") (result i32) (i32.const 1))"#;
    for import in [
        r#"(import "exo" "input_u64" (func (param i32) (result i32)))"#,
        r#"(import "env" "input_u8" (func (param i32) (result i32)))"#,
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
    ] {
        assert_eq!(
            refusal(&format!("(module {import} {run})")),
            LoadError::ImportNotAllowed,
            "{import}"
        );
    }
}

#[test]
fn accessors_of_the_wrong_type_are_refused() {
    let run = r#"(func (export "run") (result i32) (i32.const 1))"#;
    for import in [
        r#"(import "exo" "input_u8" (func (param i64) (result i32)))"#,
        r#"(import "exo" "input_u16" (func (param i32) (result i64)))"#,
        r#"(import "exo" "input_u32" (func (param i32)))"#,
        r#"(import "exo" "input_length" (func (param i32) (result i32)))"#,
        r#"(import "exo" "input_length" (func (result i32 i32)))"#,
    ] {
        assert_eq!(
            refusal(&format!("(module {import} {run})")),
            LoadError::ImportWrongType,
            "{import}"
        );
    }
}

#[test]
fn imported_memories_tables_and_globals_are_refused() {
    let run = r#"(func (export "run") (result i32) (i32.const 1))"#;
    for import in [
        r#"(import "exo" "memory" (memory 1))"#,
        r#"(import "exo" "table" (table 1 funcref))"#,
        r#"(import "exo" "global" (global i32))"#,
        r#"(import "exo" "input_length" (global i32))"#,
    ] {
        assert_eq!(
            refusal(&format!("(module {import} {run})")),
            LoadError::ImportNotFunction,
            "{import}"
        );
    }
}

#[test]
fn run_must_be_an_exported_function_of_the_contract_type() {
    assert_eq!(refusal("(module)"), LoadError::RunMissing);
    assert_eq!(
        refusal(r#"(module (func (export "Run") (result i32) (i32.const 1)))"#),
        LoadError::RunMissing
    );
    assert_eq!(
        refusal(r#"(module (global (export "run") i32 (i32.const 1)))"#),
        LoadError::RunMissing
    );
    assert_eq!(
        refusal(r#"(module (memory (export "run") 1))"#),
        LoadError::RunMissing
    );
    for ty in [
        "(result i64)",
        "(param i32) (result i32)",
        "",
        "(result i32 i32)",
    ] {
        let module = format!(r#"(module (func (export "run") {ty} unreachable))"#);
        assert_eq!(refusal(&module), LoadError::RunWrongType, "{ty}");
    }
}

#[test]
fn memory_grows_up_to_the_cap_and_no_further() {
    let grow = |memory: &str| {
        loaded(&format!(
            r#"(module (memory {memory})
                (func (export "run") (result i32) (i32.eq (memory.grow (i32.const 1)) (i32.const -1))))"#
        ))
    };
    // A full memory cannot grow, even without a declared maximum.
    for memory in ["1", "1 1"] {
        let mut filter = grow(memory);
        assert!(clean(Verdict::Match)(&filter.run(&[])), "{memory}");
    }
    // An empty one grows once to the cap, then fails.
    let mut filter = grow("0");
    assert!(clean(Verdict::NoMatch)(&filter.run(&[])));
    assert!(clean(Verdict::Match)(&filter.run(&[])));
    assert!(clean(Verdict::Match)(&filter.run(&[])));
    assert_eq!(filter.strikes(), 0);
    // A large delta fails too, instead of wrapping.
    let mut filter = loaded(
        r#"(module (memory 0)
            (func (export "run") (result i32) (i32.eq (memory.grow (i32.const -1)) (i32.const -1))))"#,
    );
    assert!(clean(Verdict::Match)(&filter.run(&[])));
}

#[test]
fn memories_declared_above_the_cap_are_refused() {
    let run = r#"(func (export "run") (result i32) (i32.const 1))"#;
    for memory in ["2", "0 2", "1 2", "1 65536", "2 3"] {
        let module = format!("(module (memory {memory}) {run})");
        assert_eq!(refusal(&module), LoadError::MemoryTooLarge, "{memory}");
    }
    for memory in ["0", "1", "0 1", "1 1"] {
        loaded(&format!("(module (memory {memory}) {run})"));
    }
    let two = format!("(module (memory 1) (memory 1) {run})");
    assert_eq!(refusal(&two), LoadError::TooManyMemories);
}

#[test]
fn tables_cannot_grow_and_are_bounded() {
    let mut filter = loaded(
        r#"(module (table $t 1 funcref)
            (func (export "run") (result i32)
                (i32.eq (table.grow $t (ref.null func) (i32.const 1)) (i32.const -1))))"#,
    );
    assert!(clean(Verdict::Match)(&filter.run(&[])));
    let mut empty = loaded(
        r#"(module (table $t 0 funcref)
            (func (export "run") (result i32)
                (i32.eq (table.grow $t (ref.null func) (i32.const 1)) (i32.const -1))))"#,
    );
    assert!(clean(Verdict::Match)(&empty.run(&[])));

    let run = r#"(func (export "run") (result i32) (i32.const 1))"#;
    loaded(&format!("(module (table 1024 funcref) {run})"));
    loaded(&format!(
        "(module (table 512 funcref) (table 512 externref) {run})"
    ));
    assert_eq!(
        refusal(&format!("(module (table 1025 funcref) {run})")),
        LoadError::TablesTooLarge
    );
    assert_eq!(
        refusal(&format!(
            "(module (table 600 funcref) (table 600 funcref) {run})"
        )),
        LoadError::TablesTooLarge
    );
    let five = "(table 1 funcref)".repeat(5);
    assert_eq!(
        refusal(&format!("(module {five} {run})")),
        LoadError::TablesTooLarge
    );
}

#[test]
fn indirect_calls_through_a_table_work() {
    let mut filter = loaded(
        r#"(module
            (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
            (type $pick (func (result i32)))
            (table 2 funcref)
            (elem (i32.const 0) $no $yes)
            (func $no (result i32) (i32.const 0))
            (func $yes (result i32) (i32.const 1))
            (func (export "run") (result i32)
                (call_indirect (type $pick) (call $u8 (i32.const 0)))))"#,
    );
    assert!(clean(Verdict::Match)(&filter.run(&[1])));
    assert!(clean(Verdict::NoMatch)(&filter.run(&[0])));
    // An index past the table traps.
    assert!(struck(Strike::Trap)(&filter.run(&[2])));
}

#[test]
fn start_function_runs_once_with_fuel() {
    // The start function sets what `run` answers: its effect must survive into every run.
    let mut filter = loaded(
        r#"(module (global $answer (mut i32) (i32.const 0))
            (func $init (global.set $answer (i32.const 1)))
            (start $init)
            (func (export "run") (result i32) (global.get $answer)))"#,
    );
    assert!(clean(Verdict::Match)(&filter.run(&[])));

    let looping = r#"(module (func $init (loop $l (br $l))) (start $init)
        (func (export "run") (result i32) (i32.const 1)))"#;
    assert_eq!(refusal(looping), LoadError::StartOutOfFuel);

    let trapping = r#"(module (func $init unreachable) (start $init)
        (func (export "run") (result i32) (i32.const 1)))"#;
    assert_eq!(refusal(trapping), LoadError::InstantiationTrapped);

    // There is no input at load time.
    let reading = r#"(module (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
        (func $init (drop (call $u8 (i32.const 0)))) (start $init)
        (func (export "run") (result i32) (i32.const 1)))"#;
    assert_eq!(refusal(reading), LoadError::InstantiationTrapped);

    // Growing memory in the start function is a growth: it fails, it does not refuse.
    let mut growing = loaded(
        r#"(module (memory 1) (global $grown (mut i32) (i32.const 0))
            (func $init (global.set $grown (memory.grow (i32.const 1)))) (start $init)
            (func (export "run") (result i32) (i32.eq (global.get $grown) (i32.const -1))))"#,
    );
    assert!(clean(Verdict::Match)(&growing.run(&[])));
}

#[test]
fn segments_that_do_not_fit_are_refused() {
    let run = r#"(func (export "run") (result i32) (i32.const 1))"#;
    let data = format!(r#"(module (memory 1) (data (i32.const 65535) "ab") {run})"#);
    assert_eq!(refusal(&data), LoadError::InstantiationTrapped);
    let elem = format!("(module (table 1 funcref) (elem (i32.const 1) $f) (func $f) {run})");
    assert_eq!(refusal(&elem), LoadError::InstantiationTrapped);
}

#[test]
fn refusals_map_to_abi_errors_and_describe_themselves() {
    let all = [
        LoadError::TooLarge,
        LoadError::Invalid,
        LoadError::ImportNotFunction,
        LoadError::ImportNotAllowed,
        LoadError::ImportWrongType,
        LoadError::RunMissing,
        LoadError::RunWrongType,
        LoadError::MemoryTooLarge,
        LoadError::TooManyMemories,
        LoadError::TablesTooLarge,
        LoadError::StartOutOfFuel,
        LoadError::InstantiationTrapped,
    ];
    for (i, error) in all.iter().enumerate() {
        assert!(!error.describe().is_empty());
        assert_eq!(error.to_string(), error.describe());
        for other in &all[i + 1..] {
            assert_ne!(error.describe(), other.describe());
        }
        let expected = if *error == LoadError::TooLarge {
            exo_abi::Error::TooLong
        } else {
            exo_abi::Error::InvalidArgument
        };
        assert_eq!(error.to_abi(), expected);
    }
}

#[test]
fn filters_are_isolated_from_each_other() {
    // Two instances of one module keep their own memory and strikes.
    let text = r#"(module (memory 1)
        (func (export "run") (result i32)
            (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
            (i32.eq (i32.load (i32.const 0)) (i32.const 2))))"#;
    let sandbox = Sandbox::new();
    let mut first = sandbox.load(&wasm(text)).unwrap();
    let mut second = sandbox.load(&wasm(text)).unwrap();
    assert!(clean(Verdict::NoMatch)(&first.run(&[])));
    assert!(clean(Verdict::NoMatch)(&second.run(&[])));
    assert!(clean(Verdict::Match)(&first.run(&[])));
    assert!(clean(Verdict::Match)(&second.run(&[])));
}

/// Stack of the thread below: the kernel's trap stack, on which it loads and runs filters.
const KERNEL_STACK_BYTES: usize = 64 * 1024;

#[test]
fn loads_and_runs_fit_a_kernel_stack() {
    // wasmi's native stack use must not depend on what the module does: a whole run's worth
    // of instructions, deep wasm recursion and many host calls all fit in a kernel stack. An
    // overflow aborts the test process, which fails the test. (The text is parsed outside: the
    // `wat` parser is not part of the kernel.)
    let imports = r#"(import "exo" "input_u8" (func $u8 (param i32) (result i32)))"#;
    let looping = wasm(&format!(
        r#"(module {imports}
            (func (export "run") (result i32) (loop $forever (br $forever)) (i32.const 1)))"#
    ));
    let calling = wasm(&format!(
        r#"(module {imports}
            (func (export "run") (result i32)
                (loop $forever (drop (call $u8 (i32.const 0))) (br $forever)) (i32.const 1)))"#
    ));
    let recursing = wasm(
        r#"(module
            (func $down (result i32) (call $down))
            (func (export "run") (result i32) (call $down)))"#,
    );
    let dns = wasm(DNS_FILTER);
    std::thread::Builder::new()
        .stack_size(KERNEL_STACK_BYTES)
        .spawn(move || {
            let sandbox = Sandbox::new();
            let run = |bytes: &[u8], input: &[u8]| sandbox.load(bytes).unwrap().run(input);
            assert!(struck(Strike::OutOfFuel)(&run(&looping, &[])));
            assert!(struck(Strike::OutOfFuel)(&run(&calling, &[1])));
            assert!(struck(Strike::Trap)(&run(&recursing, &[])));
            assert!(clean(Verdict::Match)(&run(&dns, &udp_frame(5, 17, 53))));
        })
        .expect("thread starts")
        .join()
        .expect("filters ran");
}

#[test]
fn a_function_with_the_most_locals_wasmi_allows_traps_when_called() {
    // 30,000 locals (wasmi's limit) need 240 KB of value stack: the call traps.
    let mut filter = loaded(
        r#"(module
            (func $wide (result i32) (local i64) (local.set 0 (i64.const 1)) (i32.const 1))
            (func (export "run") (result i32) (call $wide)))"#
            .replace("(local i64)", &"(local i64)".repeat(30_000))
            .as_str(),
    );
    let outcome = filter.run(&[]);
    assert!(struck(Strike::Trap)(&outcome), "{outcome:?}");
}

#[test]
fn sandboxes_and_filters_can_move_between_kernel_contexts() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Sandbox>();
    send_and_sync::<Filter>();
}

#[test]
fn recursion_is_allowed_up_to_the_call_depth_limit() {
    let mut filter = loaded(
        r#"(module
            (import "exo" "input_u16" (func $u16 (param i32) (result i32)))
            (func $down (param i32) (result i32)
                (if (result i32) (local.get 0)
                    (then (call $down (i32.sub (local.get 0) (i32.const 1))))
                    (else (i32.const 1))))
            (func (export "run") (result i32) (call $down (call $u16 (i32.const 0)))))"#,
    );
    let depth = |calls: usize| (calls as u16).to_be_bytes();
    assert!(clean(Verdict::Match)(
        &filter.run(&depth(CALL_DEPTH_MAX - 10))
    ));
    assert!(struck(Strike::Trap)(
        &filter.run(&depth(CALL_DEPTH_MAX + 10))
    ));
}

/// A filter in the memory form: its memory exported as `input`, `run` being `body`.
fn memory_filter_with_run(body: &str) -> Filter {
    loaded(&format!(
        r#"(module (memory (export "input") 1 1) (func (export "run") (result i32) {body}))"#
    ))
}

#[test]
fn the_memory_form_sees_the_length_then_the_input_in_its_memory() {
    // Matches when the length is 6 and the bytes at 4 and 9 (the input's first and last).
    let mut filter = memory_filter_with_run(
        "i32.const 0 i32.load i32.const 6 i32.eq
         i32.const 4 i32.load8_u i32.const 0xaa i32.eq i32.and
         i32.const 9 i32.load8_u i32.const 0xbb i32.eq i32.and",
    );
    assert!(clean(Verdict::Match)(
        &filter.run(&[0xaa, 1, 2, 3, 4, 0xbb])
    ));
    assert!(clean(Verdict::NoMatch)(&filter.run(&[0xaa, 1, 2, 3, 0xbb])));
    // The length counts only what the contract lets through.
    let mut length = memory_filter_with_run("i32.const 0 i32.load i32.const 2048 i32.eq");
    assert!(clean(Verdict::Match)(&length.run(&vec![
        7;
        INPUT_BYTES_MAX
            + 100
    ])));
}

#[test]
fn each_run_writes_its_input_over_what_the_filter_wrote() {
    // Writes 0xff over the first byte and the length, then tells whether the first byte was 1.
    let mut filter = memory_filter_with_run(
        "i32.const 4 i32.load8_u i32.const 1 i32.eq
         i32.const 0 i32.const -1 i32.store
         i32.const 4 i32.const 0xff i32.store8",
    );
    assert!(clean(Verdict::Match)(&filter.run(&[1])));
    assert!(clean(Verdict::Match)(&filter.run(&[1])));
    assert!(clean(Verdict::NoMatch)(&filter.run(&[2])));
}

#[test]
fn a_memory_form_read_past_its_memory_is_struck() {
    let mut filter = memory_filter_with_run("i32.const 65535 i32.load");
    assert!(struck(Strike::Trap)(&filter.run(&[0; 64])));
}

#[test]
fn an_input_export_that_cannot_hold_the_input_is_refused() {
    for module in [
        r#"(module (func (export "input")) (func (export "run") (result i32) i32.const 1))"#,
        r#"(module (memory (export "input") 0 1) (func (export "run") (result i32) i32.const 1))"#,
        r#"(module (global (export "input") i32 (i32.const 0))
                   (func (export "run") (result i32) i32.const 1))"#,
        r#"(module (table (export "input") 1 funcref)
                   (func (export "run") (result i32) i32.const 1))"#,
    ] {
        assert_eq!(refusal(module), LoadError::InputMemoryUnfit, "{module}");
    }
    // A memory under another name is the filter's own business.
    let mut own = loaded(
        r#"(module (memory (export "scratch") 1 1) (func (export "run") (result i32) i32.const 1))"#,
    );
    assert!(clean(Verdict::Match)(&own.run(&[])));
}

#[test]
fn the_memory_form_may_read_with_the_accessors_too() {
    let mut filter = loaded(
        r#"(module
            (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
            (memory (export "input") 1 1)
            (func (export "run") (result i32)
                i32.const 4 i32.load8_u  i32.const 0 call $u8  i32.eq))"#,
    );
    assert!(clean(Verdict::Match)(&filter.run(&[42, 1])));
}

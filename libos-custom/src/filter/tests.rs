//! Every module is checked against the contract with `wasmparser` and run with `wasmi` over
//! accessors that trap past the end of the input, as the kernel's do.

use super::{ByteOrder, Comparison, FieldTest, Predicate, Width};
use exo_abi::filter::{
    EXPORT_RUN, FUEL_PER_RUN, IMPORT_MODULE, INPUT_BYTES_MAX, MODULE_BYTES_MAX, VERDICT_MATCH,
    VERDICT_NO_MATCH, imports,
};
use proptest::prelude::*;
use std::fmt;
use wasmi::{Caller, CompilationMode, Config, Engine, Linker, Module, Store};
use wasmparser::types::{CoreTypeId, EntityType};
use wasmparser::{ValType, Validator, WasmFeatures};

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Match,
    NoMatch,
    /// An accessor read past the end of the input: no match, and no strike.
    Short,
}

/// The accessors' trap for a read past the end of the input.
#[derive(Debug)]
struct ShortInput;

impl fmt::Display for ShortInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("read past the end of the input")
    }
}

impl wasmi::errors::HostError for ShortInput {}

/// The big-endian field of `bytes` bytes at `offset`, zero-extended, as the contract's
/// accessors read it.
fn accessor(input: &[u8], offset: i32, bytes: usize) -> Result<i32, wasmi::Error> {
    // Offsets are unsigned 32-bit numbers.
    let start = usize::try_from(offset.cast_unsigned()).expect("usize holds a u32");
    let field = start
        .checked_add(bytes)
        .and_then(|end| input.get(start..end))
        .ok_or_else(|| wasmi::Error::host(ShortInput))?;
    let value = field
        .iter()
        .fold(0u32, |value, &byte| value << 8 | u32::from(byte));
    Ok(value.cast_signed())
}

/// Checks `module` against the contract, runs it on `input` with the kernel's fuel, and returns
/// how the run ended and the fuel it used.
fn run(module: &[u8], input: &[u8]) -> (Outcome, u64) {
    check_contract(module);
    let mut config = Config::default();
    // As the kernel's sandbox: eager translation, so fuel pays for the run's instructions only.
    config
        .consume_fuel(true)
        .compilation_mode(CompilationMode::Eager);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, module).expect("wasmi loads the module");
    let mut store = Store::new(&engine, input.to_vec());
    store.set_fuel(FUEL_PER_RUN).expect("fuel is enabled");

    let mut linker = Linker::<Vec<u8>>::new(&engine);
    linker
        .func_wrap(
            IMPORT_MODULE,
            imports::INPUT_LENGTH,
            |caller: Caller<'_, Vec<u8>>| -> i32 {
                i32::try_from(caller.data().len()).expect("input is short")
            },
        )
        .unwrap()
        .func_wrap(
            IMPORT_MODULE,
            imports::INPUT_U8,
            |caller: Caller<'_, Vec<u8>>, offset: i32| accessor(caller.data(), offset, 1),
        )
        .unwrap()
        .func_wrap(
            IMPORT_MODULE,
            imports::INPUT_U16,
            |caller: Caller<'_, Vec<u8>>, offset: i32| accessor(caller.data(), offset, 2),
        )
        .unwrap()
        .func_wrap(
            IMPORT_MODULE,
            imports::INPUT_U32,
            |caller: Caller<'_, Vec<u8>>, offset: i32| accessor(caller.data(), offset, 4),
        )
        .unwrap();
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .expect("the module links against the exo accessors");
    let run = instance
        .get_typed_func::<(), i32>(&store, EXPORT_RUN)
        .expect("run: [] -> [i32]");

    let outcome = match run.call(&mut store, ()) {
        Ok(VERDICT_MATCH) => Outcome::Match,
        Ok(VERDICT_NO_MATCH) => Outcome::NoMatch,
        Ok(other) => panic!("run returned {other}, not a verdict"),
        Err(error) if error.downcast_ref::<ShortInput>().is_some() => Outcome::Short,
        Err(error) => panic!("run failed: {error}"),
    };
    let fuel = FUEL_PER_RUN - store.get_fuel().expect("fuel is enabled");
    (outcome, fuel)
}

/// How `predicate`'s module ends on `input`, checking that [`Predicate::matches`] agrees.
fn outcome(predicate: &Predicate, input: &[u8]) -> Outcome {
    let (outcome, _) = run(&predicate.to_wasm(), input);
    assert_eq!(
        predicate.matches(input),
        outcome == Outcome::Match,
        "native verdict differs from the module's"
    );
    outcome
}

/// What the contract asks of a module, and more that the emitter promises: WebAssembly 1.0
/// only, no memory, table or global, exactly the accessors its tests read with.
fn check_contract(module: &[u8]) {
    assert!(module.len() <= MODULE_BYTES_MAX, "{} bytes", module.len());
    wasmparser::validate(module).expect("valid with wasmparser's default features");
    let types = Validator::new_with_features(WasmFeatures::WASM1)
        .validate_all(module)
        .expect("valid WebAssembly 1.0");
    let types = types.as_ref();
    assert_eq!(types.memory_count(), 0);
    assert_eq!(types.table_count(), 0);
    assert_eq!(types.global_count(), 0);

    let func_type = |id: CoreTypeId| types[id].unwrap_func().clone();
    let mut names = Vec::new();
    for (module, name, ty) in types.core_imports().expect("a module") {
        assert_eq!(module, IMPORT_MODULE);
        assert!(
            [imports::INPUT_U8, imports::INPUT_U16, imports::INPUT_U32].contains(&name),
            "unexpected import {name}"
        );
        let EntityType::Func(id) = ty else {
            panic!("import {name} is not a function")
        };
        let ty = func_type(id);
        assert_eq!(
            (ty.params(), ty.results()),
            (&[ValType::I32][..], &[ValType::I32][..])
        );
        names.push(name);
    }
    let unique = names.len();
    names.dedup();
    assert_eq!(names.len(), unique, "an accessor imported twice");

    let exports: Vec<_> = types.core_exports().expect("a module").collect();
    let [(EXPORT_RUN, EntityType::Func(id))] = exports[..] else {
        panic!("exports {exports:?}, not just run")
    };
    let ty = func_type(id);
    assert_eq!((ty.params(), ty.results()), (&[][..], &[ValType::I32][..]));
}

/// The names of the accessors `predicate`'s module imports, in order.
fn imported(predicate: &Predicate) -> Vec<String> {
    let module = predicate.to_wasm();
    let types = wasmparser::validate(&module).expect("valid");
    types
        .as_ref()
        .core_imports()
        .expect("a module")
        .map(|(_, name, _)| name.to_owned())
        .collect()
}

// Frames.

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const PROTOCOL_TCP: u8 = 6;
const PROTOCOL_UDP: u8 = 17;
/// Flags and fragment offset of an unfragmented packet: don't fragment.
const DONT_FRAGMENT: u16 = 0x4000;

fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    frame.extend(ethertype.to_be_bytes());
    frame.extend(payload);
    frame
}

fn ipv4(protocol: u8, options: &[u8], flags_fragment: u16, payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let header_words = 5 + options.len() / 4;
    let total = u16::try_from(4 * header_words + payload.len()).unwrap();
    let mut packet = vec![0x40 | u8::try_from(header_words).unwrap(), 0];
    packet.extend(total.to_be_bytes());
    packet.extend([0x12, 0x34]);
    packet.extend(flags_fragment.to_be_bytes());
    packet.extend([64, protocol, 0, 0]);
    packet.extend([10, 0, 0, 2, 10, 0, 0, 1]);
    packet.extend(options);
    packet.extend(payload);
    packet
}

fn udp(source: u16, destination: u16, payload: &[u8]) -> Vec<u8> {
    let mut datagram = Vec::new();
    datagram.extend(source.to_be_bytes());
    datagram.extend(destination.to_be_bytes());
    datagram.extend(u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    datagram.extend([0, 0]);
    datagram.extend(payload);
    datagram
}

/// A SYN segment: its ports sit where a UDP datagram's do.
fn tcp(source: u16, destination: u16) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend(source.to_be_bytes());
    segment.extend(destination.to_be_bytes());
    segment.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    segment
}

fn udp_frame(destination: u16) -> Vec<u8> {
    ethernet(
        ETHERTYPE_IPV4,
        &ipv4(
            PROTOCOL_UDP,
            &[],
            DONT_FRAGMENT,
            &udp(40000, destination, b"query"),
        ),
    )
}

fn arp_frame() -> Vec<u8> {
    let mut arp = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
    // Sender: byte 23 of the frame is 17 and bytes 36..38 read as port 53, as if UDP to 53.
    arp.extend([0x02, 0, 0, 0, 0, 17, 10, 0, 0, 2]);
    arp.extend([0, 0, 0, 0, 0, 0, 0, 53, 0, 1]);
    ethernet(ETHERTYPE_ARP, &arp)
}

#[test]
fn udp_destination_port_matches_its_port_only() {
    let dns = Predicate::udp_destination_port(53);
    assert_eq!(outcome(&dns, &udp_frame(53)), Outcome::Match);
    assert_eq!(outcome(&dns, &udp_frame(54)), Outcome::NoMatch);
    assert_eq!(outcome(&dns, &udp_frame(53 << 8)), Outcome::NoMatch);
    assert_eq!(
        outcome(&Predicate::udp_destination_port(0xffff), &udp_frame(0xffff)),
        Outcome::Match
    );
}

#[test]
fn udp_destination_port_rejects_other_protocols() {
    let dns = Predicate::udp_destination_port(53);
    let tcp_frame = ethernet(
        ETHERTYPE_IPV4,
        &ipv4(PROTOCOL_TCP, &[], DONT_FRAGMENT, &tcp(40000, 53)),
    );
    assert_eq!(outcome(&dns, &tcp_frame), Outcome::NoMatch);
    assert_eq!(outcome(&dns, &arp_frame()), Outcome::NoMatch);

    // The same IPv4 packet behind an 802.1Q tag.
    let mut tagged = ethernet(ETHERTYPE_VLAN, &[0, 5]);
    tagged.extend(&udp_frame(53)[12..]);
    assert_eq!(outcome(&dns, &tagged), Outcome::NoMatch);
}

#[test]
fn udp_destination_port_requires_a_header_without_options() {
    // With one word of options the port is at offset 40; offset 36 holds the source port 53.
    let options = ethernet(
        ETHERTYPE_IPV4,
        &ipv4(
            PROTOCOL_UDP,
            &[1, 1, 1, 0],
            DONT_FRAGMENT,
            &udp(53, 53, b""),
        ),
    );
    assert_eq!(
        outcome(&Predicate::udp_destination_port(53), &options),
        Outcome::NoMatch
    );
    assert_eq!(outcome(&Predicate::udp(), &options), Outcome::Match);
}

#[test]
fn udp_destination_port_takes_first_fragments_only() {
    let dns = Predicate::udp_destination_port(53);
    let datagram = udp(40000, 53, b"a long answer");
    // More fragments follow, offset 0: the UDP header is here.
    let first = ethernet(ETHERTYPE_IPV4, &ipv4(PROTOCOL_UDP, &[], 0x2000, &datagram));
    assert_eq!(outcome(&dns, &first), Outcome::Match);
    // Offset 1 (8 bytes in): payload that happens to read as port 53 at offset 36.
    let later = ethernet(ETHERTYPE_IPV4, &ipv4(PROTOCOL_UDP, &[], 0x0001, &datagram));
    assert_eq!(outcome(&dns, &later), Outcome::NoMatch);
    assert_eq!(outcome(&Predicate::udp(), &later), Outcome::Match);
}

#[test]
fn short_frames_never_match() {
    let dns = Predicate::udp_destination_port(53);
    let frame = udp_frame(53);
    for len in 0..38 {
        let result = outcome(&dns, &frame[..len]);
        assert_ne!(result, Outcome::Match, "{len} bytes");
        // Every prefix is IPv4 UDP to 53 as far as it goes, so each run reads past the end.
        assert_eq!(result, Outcome::Short, "{len} bytes");
    }
    assert_eq!(outcome(&dns, &frame[..38]), Outcome::Match);
}

#[test]
fn ethernet_helpers() {
    let udp_53 = udp_frame(53);
    let tcp_frame = ethernet(
        ETHERTYPE_IPV4,
        &ipv4(PROTOCOL_TCP, &[], DONT_FRAGMENT, &tcp(1, 2)),
    );
    let arp = arp_frame();
    let cases = [
        (
            Predicate::ipv4(),
            [Outcome::Match, Outcome::Match, Outcome::NoMatch],
        ),
        (
            Predicate::udp(),
            [Outcome::Match, Outcome::NoMatch, Outcome::NoMatch],
        ),
    ];
    for (predicate, expected) in cases {
        let got = [&udp_53, &tcp_frame, &arp].map(|frame| outcome(&predicate, frame));
        assert_eq!(got, expected, "{predicate:?}");
    }
}

#[test]
fn modules_import_only_the_accessors_they_use() {
    assert!(imported(&Predicate::new()).is_empty());
    assert_eq!(imported(&Predicate::ipv4()), [imports::INPUT_U16]);
    assert_eq!(
        imported(&Predicate::udp_destination_port(53)),
        [imports::INPUT_U8, imports::INPUT_U16]
    );
    assert_eq!(
        imported(&Predicate::new().word(0, Comparison::NotEqual, 0)),
        [imports::INPUT_U32]
    );
    let all = Predicate::new()
        .field(0, Width::U32, 1, 1)
        .field(0, Width::U8, 1, 1)
        .field(0, Width::U32, 1, 1);
    assert_eq!(imported(&all), [imports::INPUT_U8, imports::INPUT_U32]);
}

#[test]
fn the_empty_predicate_matches_everything() {
    let everything = Predicate::new();
    assert_eq!(outcome(&everything, &[]), Outcome::Match);
    assert_eq!(outcome(&everything, &arp_frame()), Outcome::Match);
}

#[test]
fn evaluation_stops_at_the_first_failing_test() {
    let in_bounds_false = FieldTest {
        offset: 0,
        width: Width::U8,
        order: ByteOrder::Big,
        mask: 0xff,
        comparison: Comparison::Equal,
        value: 1,
    };
    let out_of_bounds = FieldTest {
        offset: 4,
        ..in_bounds_false
    };
    let input = [0; 4];
    let first_fails = Predicate::new().test(in_bounds_false).test(out_of_bounds);
    assert_eq!(outcome(&first_fails, &input), Outcome::NoMatch);
    let first_reads_past = Predicate::new().test(out_of_bounds).test(in_bounds_false);
    assert_eq!(outcome(&first_reads_past, &input), Outcome::Short);
}

#[test]
fn offsets_are_unsigned_and_do_not_wrap() {
    let input = [0xff; 8];
    for width in [Width::U8, Width::U16, Width::U32] {
        for offset in [u32::MAX, u32::MAX - 1, 0x8000_0000] {
            let far = Predicate::new().test(FieldTest {
                offset,
                width,
                order: ByteOrder::Big,
                mask: 0,
                comparison: Comparison::Equal,
                value: 0,
            });
            assert_eq!(outcome(&far, &input), Outcome::Short, "{offset:#x}");
        }
    }
}

#[test]
fn wake_up_words_are_read_in_native_order() {
    // Two words a producer wrote: a counter at 0 and a flag at 4.
    let mut words = Vec::new();
    words.extend(0x0102_0304u32.to_ne_bytes());
    words.extend(7u32.to_ne_bytes());

    let reached = |value| Predicate::new().word(0, Comparison::GreaterOrEqual, value);
    assert_eq!(outcome(&reached(0x0102_0304), &words), Outcome::Match);
    assert_eq!(outcome(&reached(0x0102_0305), &words), Outcome::NoMatch);
    // Byte-swapped, 0x0403_0201 would pass this test.
    assert_eq!(outcome(&reached(0x0200_0000), &words), Outcome::NoMatch);

    let changed = |seen| Predicate::new().word(4, Comparison::NotEqual, seen);
    assert_eq!(outcome(&changed(7), &words), Outcome::NoMatch);
    assert_eq!(outcome(&changed(6), &words), Outcome::Match);
    assert_eq!(
        outcome(
            &Predicate::new()
                .word(4, Comparison::Equal, 7)
                .word(0, Comparison::NotEqual, 0),
            &words
        ),
        Outcome::Match
    );
    // Only 8 bytes are watched.
    assert_eq!(
        outcome(&changed(6).word(5, Comparison::Equal, 0), &words),
        Outcome::Short
    );
}

#[test]
fn little_endian_sixteen_bit_fields() {
    let input = [0x34, 0x12, 0xff];
    let at_least = |offset, value| {
        Predicate::new().test(FieldTest {
            offset,
            width: Width::U16,
            order: ByteOrder::Little,
            mask: u32::MAX,
            comparison: Comparison::GreaterOrEqual,
            value,
        })
    };
    assert_eq!(outcome(&at_least(0, 0x1234), &input), Outcome::Match);
    assert_eq!(outcome(&at_least(0, 0x1235), &input), Outcome::NoMatch);
    assert_eq!(outcome(&at_least(1, 0xff12), &input), Outcome::Match);
    assert_eq!(outcome(&at_least(1, 0xff13), &input), Outcome::NoMatch);
}

/// The test that costs the most bytes: every constant takes five.
fn largest_test() -> FieldTest {
    FieldTest {
        offset: 0x8000_0000,
        width: Width::U32,
        order: ByteOrder::Little,
        mask: 0x4000_0000,
        comparison: Comparison::GreaterOrEqual,
        value: 0x4000_0000,
    }
}

#[test]
fn predicates_of_tests_max_fit_the_module_limit() {
    let largest = largest_test();
    let tests = [largest; Predicate::TESTS_MAX];
    let predicate = tests.into_iter().fold(Predicate::new(), Predicate::test);
    let module = predicate.to_wasm();
    assert!(module.len() <= MODULE_BYTES_MAX, "{} bytes", module.len());
    check_contract(&module);
}

#[test]
fn predicates_of_tests_max_run_within_the_fuel() {
    // The test that runs the most instructions, and holds, so that every test runs.
    let longest = FieldTest {
        offset: u32::try_from(INPUT_BYTES_MAX - 4).unwrap(),
        value: 0,
        ..largest_test()
    };
    let tests = [longest; Predicate::TESTS_MAX];
    let predicate = tests.into_iter().fold(Predicate::new(), Predicate::test);
    let input = [0xa5; INPUT_BYTES_MAX];
    let (result, fuel) = run(&predicate.to_wasm(), &input);
    assert_eq!(result, Outcome::Match);
    assert!(fuel <= FUEL_PER_RUN / 2, "{fuel} fuel");
}

// The emitter against an independent native evaluation.

/// A test's masked field, read byte by byte; `None` past the end of the input.
fn reference_field(test: &FieldTest, input: &[u8]) -> Option<u32> {
    let size = match test.width {
        Width::U8 => 1,
        Width::U16 => 2,
        Width::U32 => 4,
    };
    let start = test.offset as usize;
    if start + size > input.len() {
        return None;
    }
    let mut field = 0u32;
    for i in 0..size {
        let byte = u32::from(input[start + i]);
        field |= match test.order {
            ByteOrder::Big => byte << (8 * (size - 1 - i)),
            ByteOrder::Little => byte << (8 * i),
        };
    }
    Some(field & test.mask)
}

/// The outcome of a conjunction: what the module must do.
fn reference(tests: &[FieldTest], input: &[u8]) -> Outcome {
    for test in tests {
        let Some(masked) = reference_field(test, input) else {
            return Outcome::Short;
        };
        let holds = match test.comparison {
            Comparison::Equal => masked == test.value,
            Comparison::NotEqual => masked != test.value,
            Comparison::GreaterOrEqual => masked >= test.value,
        };
        if !holds {
            return Outcome::NoMatch;
        }
    }
    Outcome::Match
}

/// A test still to be placed on an input: random offsets and values would seldom give a field
/// inside the input or a test that holds.
#[derive(Clone, Copy, Debug)]
struct Shape {
    offset: Offset,
    width: Width,
    order: ByteOrder,
    mask: u32,
    comparison: Comparison,
    value: Value,
}

#[derive(Clone, Copy, Debug)]
enum Offset {
    /// Any offset the field fits at (this one modulo their number), if any.
    Inside(u16),
    /// Anywhere in the 32-bit space: almost always past the end.
    Any(u32),
}

#[derive(Clone, Copy, Debug)]
enum Value {
    Any(u32),
    /// The input's masked field, plus a small difference: at the edge of each comparison.
    Near(i8),
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::U8), Just(Width::U16), Just(Width::U32)]
}

fn order() -> impl Strategy<Value = ByteOrder> {
    prop_oneof![Just(ByteOrder::Big), Just(ByteOrder::Little)]
}

fn comparison() -> impl Strategy<Value = Comparison> {
    prop_oneof![
        Just(Comparison::Equal),
        Just(Comparison::NotEqual),
        Just(Comparison::GreaterOrEqual),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let offset = prop_oneof![
        12 => any::<u16>().prop_map(Offset::Inside),
        1 => any::<u32>().prop_map(Offset::Any),
    ];
    let mask = prop_oneof![
        Just(u32::MAX),
        Just(0xff),
        Just(0xffff),
        Just(0),
        any::<u32>()
    ];
    let value = prop_oneof![
        2 => Just(Value::Near(0)),
        1 => (-2i8..=2).prop_map(Value::Near),
        1 => any::<u32>().prop_map(Value::Any),
    ];
    (offset, width(), order(), mask, comparison(), value).prop_map(
        |(offset, width, order, mask, comparison, value)| Shape {
            offset,
            width,
            order,
            mask,
            comparison,
            value,
        },
    )
}

/// The tests `shapes` give on `input`.
fn resolve(shapes: &[Shape], input: &[u8]) -> Vec<FieldTest> {
    shapes
        .iter()
        .map(|shape| {
            let offset = match shape.offset {
                Offset::Inside(seed) => {
                    let places = (input.len() + 1).saturating_sub(shape.width.bytes()).max(1);
                    u32::try_from(usize::from(seed) % places).unwrap()
                }
                Offset::Any(offset) => offset,
            };
            let test = FieldTest {
                offset,
                width: shape.width,
                order: shape.order,
                mask: shape.mask,
                comparison: shape.comparison,
                value: 0,
            };
            let value = match shape.value {
                Value::Any(value) => value,
                Value::Near(delta) => reference_field(&test, input)
                    .unwrap_or(0)
                    .wrapping_add_signed(i32::from(delta)),
            };
            FieldTest { value, ..test }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn modules_agree_with_the_reference(
        input in prop_oneof![
            1 => proptest::collection::vec(any::<u8>(), 0..8),
            4 => proptest::collection::vec(any::<u8>(), 8..64),
        ],
        shapes in proptest::collection::vec(shape(), 0..8),
    ) {
        let tests = resolve(&shapes, &input);
        let predicate = tests.iter().copied().fold(Predicate::new(), Predicate::test);
        let expected = reference(&tests, &input);
        let (got, _) = run(&predicate.to_wasm(), &input);
        prop_assert_eq!(got, expected);
        prop_assert_eq!(predicate.matches(&input), expected == Outcome::Match);
        for test in &tests {
            let holds = reference_field(test, &input).map(|_| reference(&[*test], &input) == Outcome::Match);
            prop_assert_eq!(test.holds(&input), holds);
        }
    }
}

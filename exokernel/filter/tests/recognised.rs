//! Recognised filters: which modules the sandbox runs natively, that their verdicts are the
//! interpreter's on random predicates and packets, and that the merged demultiplexer picks the
//! claimer that running every filter in bind order would.

use exo_abi::filter::{FUEL_PER_RUN, INPUT_BYTES_MAX, STRIKES_MAX};
use exo_filter::recognition::RECOGNISED_TESTS_MAX;
use exo_filter::table::FilterTable;
use exo_filter::{Comparison, Filter, Sandbox, Strike, Verdict};
use libos_custom::filter::{ByteOrder, Comparison as Compare, FieldTest, Predicate, Width};
use proptest::prelude::*;

fn load(module: &[u8]) -> Filter {
    Sandbox::new().load(module).expect("module loads")
}

fn load_text(text: &str) -> Filter {
    load(&wat::parse_str(text).expect("test module is valid text"))
}

/// A module importing every accessor whose `run` is `body`, written as plain instructions.
fn module_with_run(body: &str) -> Filter {
    load_text(&format!(
        r#"(module
            (import "exo" "input_length" (func $len (result i32)))
            (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
            (import "exo" "input_u16" (func $u16 (param i32) (result i32)))
            (import "exo" "input_u32" (func $u32 (param i32) (result i32)))
            (func $helper (param i32) (result i32) local.get 0)
            (func (export "run") (result i32) {body}))"#
    ))
}

/// The body of one recognised test: `(u16 at 36) & 0xffff == 7000`.
const PORT_TEST: &str = "i32.const 36 call $u16 i32.const 0xffff i32.and i32.const 7000 \
                         i32.ne if i32.const 0 return end";

fn udp_frame(port: u16) -> Vec<u8> {
    let mut frame = vec![0u8; 60];
    frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    frame[14] = 0x45;
    frame[23] = 17;
    frame[36..38].copy_from_slice(&port.to_be_bytes());
    frame
}

#[test]
fn the_builders_big_endian_predicates_are_recognised() {
    let filter = load(&Predicate::udp_destination_port(7000).to_wasm());
    let tests = filter.test_list().expect("recognised").tests();
    assert_eq!(tests.len(), 5);
    let port = tests[4];
    assert_eq!(
        (port.offset, port.width, port.mask, port.value),
        (36, exo_filter::Width::U16, u32::MAX, 7000)
    );
    assert_eq!(port.comparison, Comparison::Equal);
    assert_eq!(
        tests[3].mask, 0x1fff,
        "the fragment offset test keeps its mask"
    );
    let empty = load(&Predicate::new().to_wasm());
    assert_eq!(empty.test_list().map(|tests| tests.tests().len()), Some(0));
    let mut hand_written = module_with_run(&format!("{PORT_TEST} i32.const 1"));
    assert!(hand_written.test_list().is_some());
    assert_eq!(hand_written.run(&udp_frame(7000)).verdict, Verdict::Match);
    assert_eq!(hand_written.run(&udp_frame(7001)).verdict, Verdict::NoMatch);
}

#[test]
fn little_endian_predicates_run_in_the_interpreter() {
    let word = Predicate::new().word(0, Compare::GreaterOrEqual, 5);
    let mut filter = load(&word.to_wasm());
    assert!(filter.test_list().is_none());
    assert_eq!(filter.run(&6u32.to_le_bytes()).verdict, Verdict::Match);
    assert!(filter.run(&6u32.to_le_bytes()).fuel_used > 0);
}

/// Modules one step away from the recognised form, each with the interpreter's verdict or
/// strike.
#[test]
fn near_misses_are_not_recognised_and_keep_the_interpreters_behaviour() {
    let frame = udp_frame(7000);
    let cases: [(&str, &str, Option<Strike>); 9] = [
        (
            "a division",
            "i32.const 36 call $u16 i32.const 0 i32.div_u i32.const 7000 i32.ne \
             if i32.const 0 return end i32.const 1",
            Some(Strike::Trap),
        ),
        (
            "a loop",
            "i32.const 36 call $u16 i32.const 7000 i32.eq if loop br 0 end end i32.const 1",
            Some(Strike::OutOfFuel),
        ),
        (
            "a failure that returns 2",
            "i32.const 36 call $u16 i32.const 7001 i32.ne if i32.const 2 return end \
             i32.const 1",
            Some(Strike::BadResult),
        ),
        (
            "a final verdict of 2",
            &format!("{PORT_TEST} i32.const 2"),
            Some(Strike::BadResult),
        ),
        (
            "a final verdict of 0",
            &format!("{PORT_TEST} i32.const 0"),
            None,
        ),
        (
            "the length accessor",
            "call $len i32.const 60 i32.ne if i32.const 0 return end i32.const 1",
            None,
        ),
        (
            "a call of a defined function",
            "i32.const 36 call $helper i32.const 36 i32.ne if i32.const 0 return end \
             i32.const 1",
            None,
        ),
        (
            "one more instruction",
            &format!("nop {PORT_TEST} i32.const 1"),
            None,
        ),
        (
            "a branch instead of the return",
            "block i32.const 36 call $u16 i32.const 7000 i32.ne br_if 0 i32.const 1 return \
             end i32.const 0",
            None,
        ),
    ];
    for (name, body, strike) in cases {
        let mut filter = module_with_run(body);
        assert!(filter.test_list().is_none(), "{name}: recognised");
        let outcome = filter.run(&frame);
        assert_eq!(outcome.strike, strike, "{name}: {outcome:?}");
        assert!(outcome.fuel_used > 0, "{name}: not interpreted");
    }
}

#[test]
fn run_must_be_the_recognised_function() {
    // The recognised body is there, but `run` is the other function, which spins.
    let mut filter = load_text(&format!(
        r#"(module
            (import "exo" "input_u16" (func $u16 (param i32) (result i32)))
            (func (result i32) {PORT_TEST} i32.const 1)
            (func (export "run") (result i32) loop br 0 end i32.const 1))"#
    ));
    assert!(filter.test_list().is_none());
    assert_eq!(filter.run(&udp_frame(7000)).strike, Some(Strike::OutOfFuel));
    // An accessor exported as `run` is refused at load, recognised or not.
    let accessor_as_run = wat::parse_str(
        r#"(module (import "exo" "input_length" (func $len (result i32)))
            (export "run" (func $len)))"#,
    )
    .unwrap();
    let mut filter = load(&accessor_as_run);
    assert!(filter.test_list().is_none());
    assert_eq!(filter.run(&[0]).verdict, Verdict::Match);
}

#[test]
fn fields_past_the_input_fail_natively_as_in_the_interpreter() {
    for offset in [
        56u32,
        59,
        60,
        2046,
        2047,
        0x7fff_ffff,
        0xffff_fffe,
        u32::MAX,
    ] {
        let predicate = Predicate::new().field(offset, Width::U32, 0, 0);
        let mut filter = load(&predicate.to_wasm());
        assert!(filter.test_list().is_some());
        for input in [udp_frame(1), vec![0; INPUT_BYTES_MAX + 8]] {
            let native = filter.run(&input);
            let interpreted = filter.run_interpreted(&input);
            assert_eq!(native.verdict, interpreted.verdict, "offset {offset}");
            assert_eq!((native.strike, interpreted.strike), (None, None));
        }
    }
}

#[test]
fn the_longest_recognised_filter_stays_well_within_the_fuel() {
    let costly = FieldTest {
        offset: 0,
        width: Width::U32,
        order: ByteOrder::Big,
        mask: 0x1234_5678,
        comparison: Compare::Equal,
        value: 0x1234_5678,
    };
    let longest = (0..RECOGNISED_TESTS_MAX).fold(Predicate::new(), |p, _| p.test(costly));
    let input = [0x1f, 0x3f, 0x5f, 0x7f];
    let mut filter = load(&longest.to_wasm());
    assert!(filter.test_list().is_some());
    let interpreted = filter.run_interpreted(&input);
    assert_eq!(
        (interpreted.verdict, interpreted.strike),
        (Verdict::Match, None)
    );
    assert!(interpreted.fuel_used < FUEL_PER_RUN / 2, "{interpreted:?}");
    assert_eq!(filter.run(&input).verdict, Verdict::Match);

    let too_long = longest.test(costly);
    assert!(load(&too_long.to_wasm()).test_list().is_none());
}

// Random predicates over random packets.

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::U8), Just(Width::U16), Just(Width::U32)]
}

fn comparison() -> impl Strategy<Value = Compare> {
    prop_oneof![
        4 => Just(Compare::Equal),
        1 => Just(Compare::NotEqual),
        1 => Just(Compare::GreaterOrEqual),
    ]
}

/// Offsets mostly inside a short packet, often the same few so that filters share fields,
/// some past its end or near the cut and the top.
fn offset() -> impl Strategy<Value = u32> {
    prop_oneof![
        6 => prop::sample::select(vec![12u32, 14, 23, 36]),
        4 => 0u32..72,
        1 => (INPUT_BYTES_MAX as u32 - 6)..(INPUT_BYTES_MAX as u32 + 2),
        1 => (u32::MAX - 4)..=u32::MAX,
    ]
}

/// A test whose value is often the one `template` holds, so that whole predicates match and
/// comparisons meet their edge.
fn field_test(template: Vec<u8>) -> impl Strategy<Value = FieldTest> {
    let order = prop_oneof![9 => Just(ByteOrder::Big), 1 => Just(ByteOrder::Little)];
    let mask = prop_oneof![
        4 => Just(u32::MAX),
        1 => Just(0xff),
        1 => Just(0x1fff),
        1 => any::<u32>(),
    ];
    (
        offset(),
        width(),
        order,
        mask,
        comparison(),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(
            move |(offset, width, order, mask, comparison, value, from_template)| {
                let mut test = FieldTest {
                    offset,
                    width,
                    order,
                    mask,
                    comparison,
                    value,
                };
                if from_template {
                    test.value = test.masked_field(&template).unwrap_or(value);
                }
                test
            },
        )
}

/// A template packet, predicates drawn from it (with some tests in common) and packets that
/// are the template changed a little (a byte or two, or its length), so that predicates match some and miss others.
fn case() -> impl Strategy<Value = (Vec<Predicate>, Vec<Vec<u8>>)> {
    let template = prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..80),
        1 => prop::collection::vec(any::<u8>(), INPUT_BYTES_MAX - 4..INPUT_BYTES_MAX + 8),
    ];
    template.prop_flat_map(|template| {
        // Tests all the case's predicates share, as filters of one protocol do, then their own.
        let shared = prop::collection::vec(field_test(template.clone()), 0..4);
        let own = prop::collection::vec(
            prop::collection::vec(field_test(template.clone()), 0..4),
            1..8,
        );
        let predicates = (shared, own).prop_map(|(shared, own)| {
            own.into_iter()
                .map(|own| {
                    shared
                        .iter()
                        .chain(&own)
                        .copied()
                        .fold(Predicate::new(), Predicate::test)
                })
                .collect::<Vec<_>>()
        });
        let length = template.len();
        let change = (any::<prop::sample::Index>(), any::<u8>());
        let packet = (
            prop::collection::vec(change, 0..3),
            prop::option::weighted(0.2, 0..=length),
        )
            .prop_map({
                let template = template.clone();
                move |(changes, cut)| {
                    let mut packet = template.clone();
                    for (index, byte) in changes {
                        if !packet.is_empty() {
                            let at = index.index(packet.len());
                            packet[at] = byte;
                        }
                    }
                    packet.truncate(cut.unwrap_or(length));
                    packet
                }
            });
        (predicates, prop::collection::vec(packet, 1..12))
    })
}

fn reference_claimer(
    bound: &[(u64, u32, Predicate)],
    frame: &[u8],
    only: Option<u32>,
) -> Option<u64> {
    let visible = &frame[..frame.len().min(INPUT_BYTES_MAX)];
    bound
        .iter()
        .filter(|(_, owner, _)| only.is_none_or(|only| only == *owner))
        .find(|(_, _, predicate)| predicate.matches(visible))
        .map(|(id, _, _)| *id)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn native_verdicts_are_the_interpreters((predicates, packets) in case()) {
        for predicate in &predicates {
            let mut filter = load(&predicate.to_wasm());
            // A little-endian byte is a big-endian one: only wider little-endian fields need
            // the byte swap the recognised form lacks.
            let big_endian = predicate
                .tests()
                .iter()
                .all(|test| test.order == ByteOrder::Big || test.width == Width::U8);
            prop_assert_eq!(filter.test_list().is_some(), big_endian);
            for packet in &packets {
                let native = filter.run(packet);
                let interpreted = filter.run_interpreted(packet);
                prop_assert_eq!(native.verdict, interpreted.verdict);
                prop_assert_eq!((native.strike, interpreted.strike), (None, None));
            }
        }
    }

    #[test]
    fn the_memory_forms_verdicts_are_the_predicates((predicates, packets) in case()) {
        for predicate in &predicates {
            let mut filter = load(&predicate.to_wasm_in_memory());
            // One filter for all the packets: each run sees its own input, whatever the
            // longer ones before it left in the memory.
            for packet in &packets {
                let visible = &packet[..packet.len().min(INPUT_BYTES_MAX)];
                let outcome = filter.run(packet);
                prop_assert_eq!(outcome.verdict == Verdict::Match, predicate.matches(visible));
                prop_assert_eq!(outcome.strike, None);
            }
        }
    }

    #[test]
    fn the_merged_demultiplexer_claims_as_running_every_filter_in_order(
        (predicates, packets) in case(),
        owners in prop::collection::vec(1u32..4, 8),
        unbound in any::<prop::sample::Index>(),
    ) {
        let mut table = FilterTable::<u32, usize>::default();
        let mut bound = Vec::new();
        // The same predicates twice, so that earlier filters shadow later ones.
        for (index, predicate) in predicates.iter().chain(&predicates).enumerate() {
            let owner = owners[index % owners.len()];
            let id = table.load(owner, load(&predicate.to_wasm()), 0).unwrap();
            table.bind(owner, id, index).unwrap();
            bound.push((id, owner, predicate.clone()));
        }
        let gone = unbound.index(bound.len());
        let (gone_id, gone_owner, _) = bound.remove(gone);
        table.unload(gone_owner, gone_id).unwrap();
        for packet in &packets {
            for only in [None, Some(1), Some(2)] {
                let expected = reference_claimer(&bound, packet, only);
                let claim = table.demultiplex(packet, only);
                prop_assert!(claim.unloaded.is_empty());
                prop_assert_eq!(claim.claimed_by.map(|(id, _, _)| id), expected);
            }
        }
    }
}

#[test]
fn sixty_four_port_filters_are_decided_without_the_interpreter() {
    let mut table = FilterTable::<u32, u16>::default();
    for port in 7000..7064 {
        let id = table
            .load(1, load(&Predicate::udp_destination_port(port).to_wasm()), 0)
            .unwrap();
        table.bind(1, id, port).unwrap();
    }
    for port in [7000, 7031, 7063] {
        let claim = table.demultiplex(&udp_frame(port), None);
        assert_eq!(claim.claimed_by.map(|(_, _, ring)| *ring), Some(port));
        assert_eq!(claim.runs, 0);
    }
    assert!(
        table
            .demultiplex(&udp_frame(7064), None)
            .claimed_by
            .is_none()
    );
}

#[test]
fn interpreted_filters_bound_before_the_recognised_claimer_run_and_strike() {
    let mut table = FilterTable::<u32, &str>::default();
    let spinner =
        load_text(r#"(module (func (export "run") (result i32) loop br 0 end i32.const 0))"#);
    let early_spinner = table.load(1, spinner, 0).unwrap();
    table.bind(1, early_spinner, "spinner").unwrap();
    let port = table
        .load(2, load(&Predicate::udp_destination_port(7000).to_wasm()), 0)
        .unwrap();
    table.bind(2, port, "port").unwrap();
    let late =
        load_text(r#"(module (func (export "run") (result i32) loop br 0 end i32.const 0))"#);
    let late_spinner = table.load(3, late, 0).unwrap();
    table.bind(3, late_spinner, "late").unwrap();
    for strike in 1..=STRIKES_MAX {
        let claim = table.demultiplex(&udp_frame(7000), None);
        assert_eq!(claim.claimed_by.map(|(_, _, ring)| *ring), Some("port"));
        assert_eq!(
            claim.runs, 1,
            "the spinner bound after the claimer does not run"
        );
        assert_eq!(claim.unloaded.len(), usize::from(strike == STRIKES_MAX));
    }
    assert!(!table.is_loaded(early_spinner));
    assert!(table.is_loaded(late_spinner));
    // An unclaimed frame runs every interpreted filter left.
    let claim = table.demultiplex(&udp_frame(7001), None);
    assert_eq!((claim.runs, claim.claimed_by.is_none()), (1, true));
}

#[test]
fn the_memory_form_fails_a_field_cut_off_even_with_the_last_frame_still_in_its_memory() {
    let mut filter = load(&Predicate::udp_destination_port(7000).to_wasm_in_memory());
    assert!(filter.test_list().is_none());
    let frame = udp_frame(7000);
    assert_eq!(filter.run(&frame).verdict, Verdict::Match);
    // The port's last byte (offset 37) is cut off; the memory still holds it from the run
    // before.
    assert_eq!(filter.run(&frame[..37]).verdict, Verdict::NoMatch);
    assert_eq!(filter.run(&frame[..38]).verdict, Verdict::Match);
}

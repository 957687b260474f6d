//! B8: per-packet demultiplexing through N = 1, 16 and 64 downloaded filters, against the same
//! predicates compiled natively, and the cost of loading a filter.
//!
//! The filters claim UDP to ports 7000, 7001, ... (`libos_custom::filter`), bound in that
//! order, each with a one-slot ring. The timed frame goes to the port of the last one bound,
//! so all N run (the worst case of first-match demultiplexing). The kernel path is
//! `PacketInject` (the receive path without the device); its cost with no filter bound is
//! subtracted, so `demux_wasm_N` is the filters' share. The native figure runs the same tests,
//! written as Rust, over the same frame, N predicates in a row, in this program.

use crate::{profile, stopwatch, ticks_per, ticks_per_iteration};
use alloc::format;
use core::hint::black_box;
use exo_abi::Error;
use libos_custom::filter::{Comparison, Predicate};
use libos_posix::net::ReceiveRing;
use libos_posix::{println, syscall};

const FIRST_PORT: u16 = 7000;
/// Frames timed per wasm figure: 64 interpreted filters per frame take long under emulation.
const DEMUX_ITERATIONS: u64 = 2_000;
const FILTERS: [usize; 3] = [1, 16, 64];
/// Where the rings are bound, two pages each.
const RINGS: u64 = 0x5400_0000_0000;

/// A minimal Ethernet II, IPv4 (no options), UDP frame to `port`.
fn udp_frame(port: u16) -> [u8; 60] {
    let mut frame = [0u8; 60];
    frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    frame[14] = 0x45;
    frame[23] = 17;
    frame[36..38].copy_from_slice(&port.to_be_bytes());
    frame
}

/// The native form of `Predicate::udp_destination_port(port)`.
fn is_udp_to(frame: &[u8], port: u16) -> bool {
    frame.len() >= 38
        && frame[12..14] == [0x08, 0x00]
        && frame[23] == 17
        && frame[14] == 0x45
        && u16::from_be_bytes([frame[20], frame[21]]) & 0x1FFF == 0
        && u16::from_be_bytes([frame[36], frame[37]]) == port
}

/// How an interpreted filter reads its input.
#[derive(Clone, Copy)]
enum Form {
    /// A call of the kernel's accessor per field (`Predicate::to_wasm`).
    Accessors,
    /// Loads from its own memory, where the kernel wrote the input (`to_wasm_in_memory`).
    Memory,
}

/// For `demux_interpreted_1` and `demux_interpreted_memory_1`: the ticks of one frame through
/// `PacketInject` with one filter in `form` bound that the kernel does not recognise, so that
/// the interpreter runs it: the UDP port predicate and a little-endian word test that holds
/// on every frame (the recognised form has no byte swap). The window of profile row
/// `B8.interpreted` or `B8.memory`. The filter is unloaded after, so that the other rows do
/// not run it.
fn interpreted(form: Form, requested: Option<&str>) -> Result<u64, Error> {
    let port = FIRST_PORT - 1;
    let predicate = Predicate::udp_destination_port(port).word(0, Comparison::GreaterOrEqual, 0);
    // Each form's ring after the 64 filters' rings.
    let (module, row, ring) = match form {
        Form::Accessors => (predicate.to_wasm(), "B8.interpreted", FILTERS[2]),
        Form::Memory => (predicate.to_wasm_in_memory(), "B8.memory", FILTERS[2] + 1),
    };
    let filter = syscall::filter_load(&module)?;
    ReceiveRing::bind(filter, RINGS + ring as u64 * 2 * 4096, 1)?;
    let frame = udp_frame(port);
    if syscall::packet_inject(&frame) != Ok(true) {
        println!("bench: B8: the frame to port {port} was not claimed");
        return Err(Error::NotFound);
    }
    let operations = DEMUX_ITERATIONS + DEMUX_ITERATIONS / 100;
    let ticks = profile::window(row, requested, operations, || {
        ticks_per(DEMUX_ITERATIONS, || {
            let _ = syscall::packet_inject(black_box(&frame));
        })
    });
    syscall::filter_unload(filter)?;
    Ok(ticks)
}

/// Runs B8 and prints its rows; the frames through N filters are the window of profile row
/// `B8.N` when that row is `requested`.
pub fn b8(unit: &str, requested: Option<&str>) -> Result<(), Error> {
    let empty_loop = ticks_per_iteration(|| black_box(()));
    // Before the 64 loads, which are as many as an environment may hold.
    let interpreted_memory = interpreted(Form::Memory, requested)?;
    let interpreted = interpreted(Form::Accessors, requested)?;
    let mut filters = [0u64; 64];
    let stopwatch = stopwatch();
    for (index, filter) in filters.iter_mut().enumerate() {
        let module = Predicate::udp_destination_port(FIRST_PORT + index as u16).to_wasm();
        *filter = syscall::filter_load(&module)?;
    }
    let load = stopwatch.ticks() / filters.len() as u64;
    println!("B8 filter_load {load} {unit}");

    let unclaimed = udp_frame(1);
    let baseline = ticks_per_iteration(|| {
        let _ = syscall::packet_inject(black_box(&unclaimed));
    });
    println!(
        "B8 demux_inject_no_filter {} {unit}",
        baseline.saturating_sub(empty_loop)
    );
    println!(
        "B8 demux_interpreted_1 {} {unit}",
        interpreted.saturating_sub(baseline)
    );
    println!(
        "B8 demux_interpreted_memory_1 {} {unit}",
        interpreted_memory.saturating_sub(baseline)
    );
    let mut bound = 0;
    for count in FILTERS {
        while bound < count {
            let ring = RINGS + bound as u64 * 2 * 4096;
            ReceiveRing::bind(filters[bound], ring, 1)?;
            bound += 1;
        }
        let port = FIRST_PORT + count as u16 - 1;
        let frame = udp_frame(port);
        if syscall::packet_inject(&frame) != Ok(true) {
            println!("bench: B8: the frame to port {port} was not claimed");
            return Err(Error::NotFound);
        }
        let row = format!("B8.{count}");
        let operations = DEMUX_ITERATIONS + DEMUX_ITERATIONS / 100;
        let wasm = profile::window(&row, requested, operations, || {
            ticks_per(DEMUX_ITERATIONS, || {
                let _ = syscall::packet_inject(black_box(&frame));
            })
        });
        println!(
            "B8 demux_wasm_{count} {} {unit}",
            wasm.saturating_sub(baseline)
        );
        let native = ticks_per_iteration(|| {
            let frame = black_box(&frame);
            black_box((0..count).position(|index| is_udp_to(frame, FIRST_PORT + index as u16)));
        });
        println!(
            "B8 demux_native_{count} {} {unit}",
            native.saturating_sub(empty_loop)
        );
    }
    // The rows after these run in the same machine, beside this process: its 64 filters, the
    // kernel heap their modules hold and their bound rings would stay until it ends.
    for filter in filters {
        syscall::filter_unload(filter)?;
    }
    Ok(())
}

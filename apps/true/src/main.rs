//! `true`: does nothing, successfully. The trivial program that spawn benchmarks (B6) start.
#![no_std]
#![no_main]

libos_posix::main!(main);

fn main(_args: libos_posix::Args) -> i32 {
    0
}

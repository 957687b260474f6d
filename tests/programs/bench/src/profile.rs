//! The window `boot profile ROW` counts instructions in: with the argument `profile=ROW`, the
//! bench runs that row's measured loop between calls of [`bench_profile_window_opens`] and
//! [`bench_profile_window_closes`], whose addresses the profiler's QEMU plugin watches, and
//! says how many operations the window holds.

use libos_posix::println;

/// Opens the window (the plugin starts counting when this function's code runs).
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn bench_profile_window_opens() {
    core::hint::black_box(1u8);
}

/// Closes the window.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn bench_profile_window_closes() {
    core::hint::black_box(2u8);
}

/// The row named by a `profile=ROW` argument in `args`, if any.
pub fn requested_row(args: &libos_posix::Args) -> Option<&str> {
    args.iter().find_map(|arg| arg.strip_prefix("profile="))
}

/// Runs `measure`, which performs `operations` operations of row `row`, inside the window when
/// `row` is the `requested` one.
pub fn window<T>(
    row: &str,
    requested: Option<&str>,
    operations: u64,
    measure: impl FnOnce() -> T,
) -> T {
    if requested != Some(row) {
        return measure();
    }
    println!("# profile: {row} window of {operations} operations");
    bench_profile_window_opens();
    let result = measure();
    bench_profile_window_closes();
    result
}

//! The clocks of `libos_posix::time`: an `Instant` measures a kernel `Sleep` of known length,
//! the time of day moves with it, and their arithmetic keeps std's contract.

use crate::Outcome;
use crate::cases::check;
use alloc::format;
use alloc::string::String;
use libos_posix::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use libos_posix::{println, syscall};

/// How long the case sleeps.
const SLEEP: Duration = Duration::from_millis(200);
/// The kernel wakes a sleeper at the first slot boundary after the time asked, and the
/// counter's rate is measured over 10 ms at boot: the measurement may read a little short of
/// the sleep, and long when the host is busy.
const SHORTEST: Duration = Duration::from_millis(180);
const LONGEST: Duration = Duration::from_secs(5);
/// How far the two clocks may disagree over the sleep: their readings are taken one after the
/// other, and the timer may hand the CPU to another environment between the two.
const AGREEMENT: Duration = Duration::from_millis(20);
/// 2020-01-01 00:00:00 UTC: the time of day is from the real-time clock, not from zero.
const YEAR_2020_SECONDS: u64 = 1_577_836_800;

/// An `Instant` and the time of day around a `Sleep`.
pub fn clocks() -> Outcome {
    // The first reading asks the kernel for its clock facts (and takes copy-on-write faults in
    // this forked process): keep that out of the pair of readings.
    let _ = SystemTime::now();
    let (start, wall_start) = (Instant::now(), SystemTime::now());
    syscall::sleep(SLEEP.as_micros() as u64);
    let (slept, wall_slept) = (start.elapsed(), wall_start.elapsed());
    println!(
        "usertests:   slept {} ms: Instant measured {} us, SystemTime {} us",
        SLEEP.as_millis(),
        slept.as_micros(),
        wall_slept.map_or(0, |wall| wall.as_micros())
    );
    check((SHORTEST..LONGEST).contains(&slept), || {
        format!("a {SLEEP:?} sleep measured {slept:?}")
    })?;
    let wall_slept = wall_slept.map_err(|error| format!("the time of day went back: {error}"))?;
    check(wall_slept.abs_diff(slept) < AGREEMENT, || {
        format!("the time of day moved {wall_slept:?}, the monotonic clock {slept:?}")
    })?;
    let since_epoch = wall_start
        .duration_since(UNIX_EPOCH)
        .map_err(|error| format!("now is before the epoch: {error}"))?;
    check(since_epoch.as_secs() > YEAR_2020_SECONDS, || {
        format!("the time of day is {since_epoch:?} after the epoch")
    })?;
    let backwards = UNIX_EPOCH.duration_since(wall_start);
    check(
        backwards.map_err(|error| error.duration()) == Err(since_epoch),
        || format!("the epoch minus now gave {backwards:?}"),
    )
}

/// `Instant` arithmetic with `Duration`, as std's.
pub fn instant_arithmetic() -> Outcome {
    let now = Instant::now();
    let later = now + Duration::from_millis(5);
    let measured = later - now;
    check(
        Duration::from_millis(5) - measured < Duration::from_micros(1),
        || format!("now + 5 ms - now = {measured:?}"),
    )?;
    check(later.duration_since(now) == measured, || {
        String::from("duration_since")
    })?;
    check(now.duration_since(later) == Duration::ZERO, || {
        String::from("an earlier instant minus a later one is not zero")
    })?;
    check(now.checked_duration_since(later).is_none(), || {
        String::from("checked_duration_since of a later instant")
    })?;
    check(later - Duration::from_millis(5) <= now, || {
        String::from("later - 5 ms is after now")
    })?;
    check(now.checked_add(Duration::MAX).is_none(), || {
        String::from("now + Duration::MAX fits")
    })?;
    check(
        now.checked_sub(Duration::from_secs(u64::MAX / 2)).is_none(),
        || String::from("an instant before the counter started"),
    )
}

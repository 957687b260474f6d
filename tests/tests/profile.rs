//! `boot profile`: the QEMU plugin counts every instruction of a row's measured loop, and each
//! block is named by the function and the program it belongs to.
#![forbid(unsafe_code)]

use boot::instruction_profile::profile_row;
use boot::{Profile, Workspace, build_guest};
use std::time::Duration;

/// The figure the bench printed for `name` in `serial`.
fn figure(serial: &str, name: &str) -> f64 {
    serial
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix(name)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no figure {name} in:\n{serial}"))
}

#[test]
fn a_cached_read_is_counted_and_named_by_function() {
    let workspace = Workspace::locate().unwrap();
    let guest = build_guest(&workspace, Profile::Release).unwrap();
    let profiled = profile_row(&workspace, &guest, "B4", Duration::from_secs(600))
        .unwrap()
        .unwrap_or_else(|outcome| panic!("no window opened:\n{}", outcome.serial));
    let profile = &profiled.profile;
    // The window holds the figure's loop, plus the loop's own counting and the two readings
    // of the kernel's counters, which the figure subtracts or leaves out.
    let read = figure(&profiled.serial, "B4 cached_read_4k ");
    assert!(
        (read..read * 1.1).contains(&profile.per_operation),
        "profiled {} per read, the figure is {read}",
        profile.per_operation
    );
    // A cached read enters the kernel only for those two readings, over 10,100 reads.
    assert!(profile.kernel_per_operation < 5.0, "{profile:?}");
    // Its largest part is the copy of the 4 KiB, in the bench's own code.
    let largest = &profile.functions[0];
    assert_eq!(
        (largest.program.as_str(), largest.function.as_str()),
        ("bench", "memcpy"),
        "{profile:?}"
    );
    let copy = figure(&profiled.serial, "B4.floor memory_copy_4k ");
    assert!(
        (copy * 0.9..copy * 1.1).contains(&largest.per_operation),
        "{largest:?}, the copy alone is {copy}"
    );
}

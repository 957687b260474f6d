//! The library OS built with the release profile: `usertests` in the shell passes every case,
//! as it does in debug (see `shell.rs`). Optimisation moves the library's statics around, so a
//! forked child that touched copy-on-write memory before registering its fault handler can pass
//! in one profile and die in the other. The harness builds debug guests only; this file drives
//! the boot tool's library with the release build itself.

use boot::{
    BootOptions, DEFAULT_DISK_BLOCKS, DiskOptions, Firmware, NoLine, Profile, QemuOptions,
    Workspace,
};
use std::fs;
use std::time::{Duration, Instant};
use system_tests::{OutcomeAssertions, scratch_disk};

/// Generous: the release build of the guest may have to be made first, and the boot, the
/// shell and every case run under TCG.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);

#[test]
fn usertests_pass_in_a_release_build() {
    let workspace = Workspace::locate().expect("locating the workspace");
    let guest = boot::build_guest(&workspace, Profile::Release).expect("building the guest");
    let image = boot::create_image(&workspace, &guest, &BootOptions::default(), Firmware::Bios)
        .expect("writing the image");
    let disk = DiskOptions {
        path: scratch_disk("release-usertests"),
        blocks: DEFAULT_DISK_BLOCKS,
        is_fresh: true,
    };
    boot::prepare_disk(&disk)
        .and_then(|_| boot::install_programs(&disk.path, &guest.apps))
        .expect("preparing the disk");
    let qemu = QemuOptions {
        disk: Some(disk.path.clone()),
        ..QemuOptions::new(Firmware::Bios, image)
    };
    let mut run = boot::start_captured(&qemu, RUN_TIMEOUT).expect("starting QEMU");
    run.send(b"usertests\n").expect("typing usertests");
    let deadline = Instant::now() + RUN_TIMEOUT;
    let summary = loop {
        match run.next_line(deadline) {
            Ok(line) if line.contains("usertests: ") && line.contains(" passed, ") => {
                break Some(line);
            }
            Ok(_) => {}
            Err(NoLine::TimedOut | NoLine::Ended) => break None,
        }
    };
    if summary.is_some() {
        run.send(b"poweroff\n").expect("typing poweroff");
    }
    let outcome = if summary.is_some() {
        run.finish()
    } else {
        run.stop()
    }
    .expect("running QEMU");
    let _ = fs::remove_file(&disk.path);
    match summary {
        Some(line) if line.contains(" passed, 0 failed") => outcome.assert_status(0),
        Some(line) => outcome.fail(&format!("usertests: {line}")),
        None => outcome.fail("usertests printed no summary"),
    }
}

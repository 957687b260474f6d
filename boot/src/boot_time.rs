//! The boot-time row of `boot bench`: wall-clock time from QEMU's start to the shell's prompt,
//! on the configuration `make run` boots (init without arguments, which mounts the file system
//! and runs the shell).
//!
//! The prompt (`$ `) ends no line, so the serial lines cannot show when it appears. The run
//! types `poweroff` and a line break at once instead: the boot tool holds the bytes until the
//! kernel's ready line ([`crate::qemu_run::KERNEL_READY_TEXT`]), then they wait in the guest's
//! UART until the shell, having printed its prompt, reads and echoes them. So the line
//! `$ poweroff` arrives once the prompt is out and the shell has taken one short line (the time
//! to echo nine characters). Then the guest powers off (status 0), which ends the run.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::boot_options::BootOptions;
use crate::disk_files::{PROGRAMS_DIRECTORY, install_programs};
use crate::disk_image::{DiskOptions, prepare_disk};
use crate::firmware::Firmware;
use crate::guest_build::{Profile, build_guest};
use crate::image::create_image;
use crate::outcome::{Ending, Outcome};
use crate::qemu_args::{NetOptions, QemuOptions};
use crate::qemu_run::{NoLine, start_captured};
use crate::workspace::Workspace;

/// The row's ID.
pub const BOOT_TIME_ID: &str = "B11";
/// The shell's prompt (`apps/sh`).
pub const PROMPT: &str = "$ ";
/// The command typed at the first prompt; it also ends the run.
const TYPED_COMMAND: &str = "poweroff";

/// A boot timed to the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootTime {
    /// From QEMU's start to the shell's echo of the command typed at its prompt.
    pub to_prompt: Duration,
    /// The build that was booted.
    pub profile: Profile,
    pub firmware: Firmware,
}

impl BootTime {
    /// The figure line, `B11 boot_to_prompt_<profile>_<firmware> <milliseconds> ms`.
    pub fn figure_line(&self) -> String {
        format!(
            "{BOOT_TIME_ID} boot_to_prompt_{}_{} {} ms",
            self.profile,
            self.firmware,
            self.to_prompt.as_millis()
        )
    }
}

/// Whether `line` is the shell's echo of the command typed at its prompt.
fn is_typed_command_echo(line: &str) -> bool {
    line.trim_end()
        .ends_with(&format!("{PROMPT}{TYPED_COMMAND}"))
}

/// Builds the guest with `profile`, writes its image for `firmware` with `make run`'s
/// configuration, prepares `disk` (the apps in its `/bin`) and times a boot of it to the prompt,
/// with the network device attached as `make run` does (see [`time_boot_to_prompt`]).
pub fn measure_boot_to_prompt(
    workspace: &Workspace,
    profile: Profile,
    firmware: Firmware,
    disk: &DiskOptions,
    timeout: Duration,
) -> Result<Result<BootTime, Outcome>> {
    let guest = build_guest(workspace, profile)?;
    let image = create_image(workspace, &guest, &BootOptions::default(), firmware)?;
    prepare_disk(disk)?;
    install_programs(&disk.path, PROGRAMS_DIRECTORY, &guest.apps)?;
    let qemu = QemuOptions {
        disk: Some(disk.path.clone()),
        net: Some(NetOptions::default()),
        ..QemuOptions::new(firmware, image)
    };
    time_boot_to_prompt(&qemu, profile, timeout)
}

/// Boots `qemu` (an image whose init runs the shell, built with `profile`), types `poweroff`,
/// and returns the time from QEMU's start to the shell's echo of it; or, when the echo does not
/// come within `timeout` or the guest does not then power off with status 0, the run's outcome
/// (QEMU killed).
pub fn time_boot_to_prompt(
    qemu: &QemuOptions,
    profile: Profile,
    timeout: Duration,
) -> Result<Result<BootTime, Outcome>> {
    let started = Instant::now();
    let mut run = start_captured(qemu, timeout)?;
    if run.send(format!("{TYPED_COMMAND}\n").as_bytes()).is_err() {
        return Ok(Err(run.stop()?));
    }
    let to_prompt = loop {
        match run.next_line(started + timeout) {
            Ok(line) if is_typed_command_echo(&line) => break started.elapsed(),
            Ok(_) => {}
            Err(NoLine::TimedOut | NoLine::Ended) => return Ok(Err(run.stop()?)),
        }
    };
    let outcome = run.finish()?;
    if outcome.ending() != Ending::GuestStatus(0) {
        return Ok(Err(outcome));
    }
    Ok(Ok(BootTime {
        to_prompt,
        profile,
        firmware: qemu.firmware,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::is_figure_line;

    #[test]
    fn the_row_is_a_figure_line_in_milliseconds() {
        let time = BootTime {
            to_prompt: Duration::from_millis(9_437),
            profile: Profile::Debug,
            firmware: Firmware::Uefi,
        };
        assert_eq!(time.figure_line(), "B11 boot_to_prompt_debug_uefi 9437 ms");
        assert!(is_figure_line(&time.figure_line()));
    }

    #[test]
    fn only_the_echo_after_the_prompt_counts() {
        assert!(is_typed_command_echo("$ poweroff"));
        assert!(is_typed_command_echo(
            "init: file system mounted$ poweroff "
        ));
        assert!(!is_typed_command_echo("poweroff"));
        assert!(!is_typed_command_echo("$ "));
        assert!(!is_typed_command_echo("sh: poweroff: failed"));
    }
}

//! Building the kernel and the apps for the guest target by running `cargo build`.

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace::Workspace;

/// The target every guest binary is built for.
pub const GUEST_TARGET: &str = "x86_64-unknown-none";
/// The kernel's package (and binary) name.
pub const KERNEL_PACKAGE: &str = "exokernel";
/// Compiler flags for every app: apps are static executables linked at 0x40_0000, each
/// segment in 2 MiB regions of its own (so that a fork shares the code as whole regions, see
/// libos-posix's `fork`; the file does not grow, only the addresses spread), with no RELRO
/// segment (nothing makes it read-only after the start in a static executable with no
/// dynamic relocations, and as a segment of its own it cost every spawn and fork a page table
/// and a page copy), without debug
/// info (the ramdisk is read through the BIOS at boot, so every megabyte costs boot time;
/// symbols stay for backtraces and gdb).
pub const APP_RUSTFLAGS: &[&str] = &[
    "-C",
    "relocation-model=static",
    "-C",
    "link-arg=--image-base=0x400000",
    "-C",
    "link-arg=-zmax-page-size=0x200000",
    "-C",
    "link-arg=-znorelro",
    "-C",
    "strip=debuginfo",
];

/// Cargo's build profile for the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    #[default]
    Debug,
    Release,
}

impl Profile {
    /// The profile's output folder under `<target-dir>/<target>/`, also its display name.
    pub fn dir_name(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }

    /// `Release` when `is_release`.
    pub fn from_release_flag(is_release: bool) -> Profile {
        if is_release {
            Profile::Release
        } else {
            Profile::Debug
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.dir_name())
    }
}

/// One app's ELF file, named by its binary (= package) name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestApp {
    pub name: String,
    pub elf: PathBuf,
}

/// The result of a guest build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestBinaries {
    pub profile: Profile,
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The user's programs (`apps/`), sorted by name.
    pub apps: Vec<GuestApp>,
    /// The test and benchmark programs (`tests/programs/`), sorted by name.
    pub test_programs: Vec<GuestApp>,
}

impl GuestBinaries {
    /// Every program, the user's and the tests'.
    pub fn programs(&self) -> impl Iterator<Item = &GuestApp> {
        self.apps.iter().chain(&self.test_programs)
    }
}

/// Builds the kernel and every program (`apps/` and `tests/programs/`) for the guest.
pub fn build_guest(workspace: &Workspace, profile: Profile) -> Result<GuestBinaries> {
    let cargo = cargo_program();
    eprintln!("boot: building kernel ({profile})...");
    run_cargo(kernel_build_command(&cargo, workspace, profile))?;
    let kernel = output_path(
        workspace.guest_target_dir("kernel"),
        profile,
        KERNEL_PACKAGE,
    );

    let app_names = workspace.app_packages()?;
    let test_names = workspace.test_program_packages()?;
    let all_names: Vec<String> = app_names.iter().chain(&test_names).cloned().collect();
    if all_names.is_empty() {
        eprintln!("boot: warning: no programs found; the ramdisk holds only boot.cfg");
    } else {
        eprintln!(
            "boot: building {} programs ({profile}) and {} test programs...",
            app_names.len(),
            test_names.len()
        );
        run_cargo(apps_build_command(&cargo, workspace, &all_names, profile))?;
    }
    let built = |names: Vec<String>| -> Vec<GuestApp> {
        names
            .into_iter()
            .map(|name| {
                let elf = output_path(workspace.guest_target_dir("apps"), profile, &name);
                GuestApp { name, elf }
            })
            .collect()
    };
    Ok(GuestBinaries {
        profile,
        kernel,
        apps: built(app_names),
        test_programs: built(test_names),
    })
}

/// The cargo to run: the one that started us (`CARGO`), or `cargo` on the `PATH`.
pub fn cargo_program() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// `cargo build` of the kernel.
pub fn kernel_build_command(cargo: &OsString, workspace: &Workspace, profile: Profile) -> Command {
    let mut command = Command::new(cargo);
    command.current_dir(workspace.root());
    command.args(["build", "-p", KERNEL_PACKAGE, "--target", GUEST_TARGET]);
    add_profile_and_target_dir(&mut command, profile, workspace.guest_target_dir("kernel"));
    if profile == Profile::Release {
        // Optimized across its crates, in one unit: the BIOS loader copies the kernel into
        // memory a byte at a time, about a microsecond a byte, so its size is boot time (see
        // BENCHMARKS.md). Only the kernel: the apps and host tools keep the faster builds.
        command.env("CARGO_PROFILE_RELEASE_LTO", "fat");
        command.env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1");
    }
    command
}

/// `cargo build` of the apps `app_names`, with [`APP_RUSTFLAGS`].
pub fn apps_build_command(
    cargo: &OsString,
    workspace: &Workspace,
    app_names: &[String],
    profile: Profile,
) -> Command {
    let mut command = Command::new(cargo);
    command.current_dir(workspace.root());
    command.arg("build");
    for name in app_names {
        command.args(["-p", name]);
    }
    command.args(["--target", GUEST_TARGET]);
    add_profile_and_target_dir(&mut command, profile, workspace.guest_target_dir("apps"));
    // Cargo reads CARGO_ENCODED_RUSTFLAGS before RUSTFLAGS; drop the latter so a host setting
    // cannot leak into the guest.
    command.env("CARGO_ENCODED_RUSTFLAGS", APP_RUSTFLAGS.join("\x1f"));
    command.env_remove("RUSTFLAGS");
    command
}

fn add_profile_and_target_dir(command: &mut Command, profile: Profile, target_dir: PathBuf) {
    if profile == Profile::Release {
        command.arg("--release");
    }
    command.arg("--target-dir").arg(target_dir);
}

fn output_path(target_dir: PathBuf, profile: Profile, binary: &str) -> PathBuf {
    target_dir
        .join(GUEST_TARGET)
        .join(profile.dir_name())
        .join(binary)
}

/// Runs a `cargo build` command; fails unless it succeeds.
pub fn run_cargo(mut command: Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("build failed ({status}): {command:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn args_of(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    fn env_of<'a>(command: &'a Command, key: &str) -> Option<Option<&'a OsStr>> {
        command
            .get_envs()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value)
    }

    #[test]
    fn the_kernel_builds_in_its_own_target_dir() {
        let workspace = Workspace::locate().unwrap();
        let command = kernel_build_command(&"cargo".into(), &workspace, Profile::Release);
        let target_dir = workspace.guest_target_dir("kernel").display().to_string();
        assert_eq!(
            args_of(&command),
            [
                "build",
                "-p",
                "exokernel",
                "--target",
                GUEST_TARGET,
                "--release",
                "--target-dir",
                &target_dir
            ]
        );
        assert_eq!(command.get_current_dir(), Some(workspace.root()));
        let lto = env_of(&command, "CARGO_PROFILE_RELEASE_LTO");
        assert_eq!(lto, Some(Some(OsStr::new("fat"))));
        let units = env_of(&command, "CARGO_PROFILE_RELEASE_CODEGEN_UNITS");
        assert_eq!(units, Some(Some(OsStr::new("1"))));
        let debug = kernel_build_command(&"cargo".into(), &workspace, Profile::Debug);
        assert_eq!(env_of(&debug, "CARGO_PROFILE_RELEASE_LTO"), None);
    }

    #[test]
    fn apps_build_together_with_the_app_flags() {
        let workspace = Workspace::locate().unwrap();
        let names = ["hello".to_owned(), "init".to_owned()];
        let command = apps_build_command(&"cargo".into(), &workspace, &names, Profile::Debug);
        let target_dir = workspace.guest_target_dir("apps").display().to_string();
        assert_eq!(
            args_of(&command),
            [
                "build",
                "-p",
                "hello",
                "-p",
                "init",
                "--target",
                GUEST_TARGET,
                "--target-dir",
                &target_dir
            ]
        );
        let flags = env_of(&command, "CARGO_ENCODED_RUSTFLAGS")
            .unwrap()
            .unwrap();
        assert_eq!(
            flags.to_str().unwrap().split('\x1f').collect::<Vec<_>>(),
            APP_RUSTFLAGS
        );
        assert_eq!(env_of(&command, "RUSTFLAGS"), Some(None));
    }

    #[test]
    fn outputs_live_under_target_and_profile() {
        let path = output_path(PathBuf::from("/t"), Profile::Debug, "hello");
        assert_eq!(path, PathBuf::from("/t/x86_64-unknown-none/debug/hello"));
    }
}

//! `boot`: the command-line front end of the boot library (`cargo run -p boot -- <command>`).
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use boot::bench_report::{Figure, parse_figures};
use boot::boot_time::measure_boot_to_prompt;
use boot::disk_commands::DiskCommandArgs;
use boot::disk_image::describe;
use boot::exit_codes::{HOST_ERROR, QEMU_UNAVAILABLE};
use boot::figures::figure_lines;
use boot::qemu_args::gdb_command;
use boot::qemu_run::{ConsoleInput, check_installed};
use boot::{
    BootOptions, DEFAULT_DISK_BLOCKS, DiskOptions, Ending, Firmware, LogLevel, NetOptions, Profile,
    QemuError, QemuOptions, SelfTest, UdpForward, Workspace, build_guest, create_image,
    prepare_disk, run_interactive, start_captured,
};
use boot::{
    GuestBinaries, PROGRAMS_DIRECTORY, TEST_PROGRAMS_DIRECTORY, boots_to_the_shell,
    install_programs,
};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

/// Builds the exokernel, its apps and disk images, and boots them in QEMU.
#[derive(Debug, Parser)]
#[command(name = "boot", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the kernel, the apps and both disk images (BIOS and UEFI) with the default config.
    Build {
        /// Build the guest with the release profile.
        #[arg(long)]
        release: bool,
    },
    /// Build what is needed and boot it with the serial console on this terminal.
    ///
    /// On a terminal every key goes to the guest as typed, Ctrl-C included; Ctrl-A X quits QEMU,
    /// Ctrl-A H lists the other Ctrl-A keys (Ctrl-A A types a Ctrl-A). When standard input is not
    /// a terminal (`printf 'ls\npoweroff\n' | boot run`), or with --input, the guest reads those
    /// bytes instead, from the moment the kernel is ready; the end of the input does not end the
    /// run.
    ///
    /// Exits with the guest's status, or 124 (timed out), 125 (QEMU ended without a guest
    /// status), 126 (QEMU or OVMF missing, or QEMU failed to start), 123 (build or other host
    /// error).
    Run(RunArgs),
    /// Boot the `bench` app (release build) and print the benchmark figures to stdout.
    Bench(BenchArgs),
    /// Time a boot of `make run`'s configuration from QEMU's start to the shell's prompt (the
    /// bench's B11 row), and print it as a figure line.
    BootTime(BootTimeArgs),
    /// Run the benchmarks on both paths (exokernel and microkernel) and, beside them, the same
    /// operations on Debian's Linux kernel booted in the same QEMU machine under the same
    /// instruction counter; print one table with the ratios and write an SVG bar chart of it.
    Compare(CompareArgs),
    /// Where one benchmark row's instructions go: boot the bench under `-icount shift=0` with
    /// QEMU's profile plugin counting every instruction of the row's measured loop, and print
    /// the instructions per operation of each function, kernel and user, most first.
    Profile(ProfileArgs),
    /// Format the data disk, or read and write the files of the library OS's file system on it.
    Disk(DiskCommandArgs),
}

#[derive(Debug, Args)]
struct ProfileArgs {
    /// The row: B3, B8.1, B8.64, B8.interpreted or B8.memory (a frame through 1 or 64 filters
    /// the kernel recognises, or one it interprets, reading its input through the accessors or
    /// from its own memory), a library OS row (B4, B5, B6, B7), or one on the
    /// microkernel path (B4.micro ... B7.micro).
    #[arg(value_parser = PossibleValuesParser::new(PROFILED_ROWS))]
    row: String,
    /// How many functions to list.
    #[arg(long, value_name = "N", default_value_t = 40)]
    top: usize,
    /// Kill QEMU after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    timeout: u64,
}

/// The rows `boot profile` can profile.
const PROFILED_ROWS: [&str; 13] = [
    "B3",
    "B8.1",
    "B8.64",
    "B8.interpreted",
    "B8.memory",
    "B4",
    "B5",
    "B6",
    "B7",
    "B4.micro",
    "B5.micro",
    "B6.micro",
    "B7.micro",
];

#[derive(Debug, Args)]
struct RunArgs {
    /// The firmware that starts the image.
    #[arg(long, value_enum, default_value_t = Firmware::Bios)]
    firmware: Firmware,
    /// Build the guest with the release profile.
    #[arg(long)]
    release: bool,
    /// The ramdisk program to start as init.
    #[arg(long, default_value = "init", value_name = "NAME")]
    init: String,
    /// Init's argument string [default: empty; init then runs the shell].
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    args: Option<String>,
    /// Kernel log level (warn: the shell's screen shows no kernel record of programs ending).
    #[arg(long, default_value = "warn", value_name = "LEVEL", value_parser = log_level_parser())]
    log: LogLevel,
    /// Run a kernel self-test instead of init.
    #[arg(long, value_name = "TEST", value_parser = self_test_parser())]
    selftest: Option<SelfTest>,
    /// Kill QEMU after this many seconds (exit code 124).
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Start QEMU halted with its gdb stub on port 1234, and print how to attach.
    #[arg(long)]
    gdb: bool,
    /// Add `-icount shift=0` (the TSC counts guest instructions).
    #[arg(long)]
    icount: bool,
    /// An extra argument passed to QEMU as is (repeat for several).
    #[arg(long = "qemu-arg", value_name = "ARG", allow_hyphen_values = true)]
    qemu_args: Vec<String>,
    /// Type FILE's bytes on the serial console once the kernel is ready, in place of this
    /// terminal's keys (Ctrl-C then ends the run); the run goes on after the last byte.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    #[command(flatten)]
    disk: DiskArgs,
    #[command(flatten)]
    net: NetArgs,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Measure wall-clock time (no `-icount`): noisy, compare only ratios within one run.
    #[arg(long)]
    wall_clock: bool,
    /// The firmware that starts the image.
    #[arg(long, value_enum, default_value_t = Firmware::Bios)]
    firmware: Firmware,
    /// Kill QEMU after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    timeout: u64,
    /// Leave out the boot-time row (B11), which boots the release build once more.
    #[arg(long)]
    no_boot_time: bool,
    #[command(flatten)]
    disk: DiskArgs,
    #[command(flatten)]
    net: NetArgs,
}

#[derive(Debug, Args)]
struct BootTimeArgs {
    /// The firmware that starts the image.
    #[arg(long, value_enum, default_value_t = Firmware::Bios)]
    firmware: Firmware,
    /// Build the guest with the debug profile [default: release, as `make run`].
    #[arg(long)]
    debug: bool,
    /// Give up (exit 123) if the prompt has not come after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = BOOT_TIME_TIMEOUT_SECS)]
    timeout: u64,
}

/// How long the boot-time row waits for the prompt by default.
const BOOT_TIME_TIMEOUT_SECS: u64 = 300;
/// The data disk of the boot-time row, in the images folder: its own, so that the bench's disk
/// keeps only what the bench puts there.
const BOOT_TIME_DISK_FILE_NAME: &str = "boot-time.img";

#[derive(Debug, Args)]
struct CompareArgs {
    /// Kill each QEMU run after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1200)]
    timeout: u64,
    #[command(flatten)]
    disk: DiskArgs,
    #[command(flatten)]
    net: NetArgs,
}

/// The data disk, a raw file the kernel drives as a virtio-blk device.
#[derive(Clone, Debug, Args)]
struct DiskArgs {
    /// The data disk's file [default: target/images/blocks.img].
    #[arg(long, value_name = "PATH")]
    disk: Option<PathBuf>,
    /// The data disk's size in 4096-byte blocks when it is created (the default is 256 MiB).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_DISK_BLOCKS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    disk_blocks: u64,
    /// Recreate the data disk (erasing it) even if it exists.
    #[arg(long)]
    fresh_disk: bool,
    /// Attach no data disk (the kernel then reports `disk: none`).
    #[arg(long, conflicts_with_all = ["disk", "disk_blocks", "fresh_disk"])]
    no_disk: bool,
}

impl DiskArgs {
    /// The disk these options choose, or `None` for `--no-disk`.
    fn disk_options(&self, workspace: &Workspace) -> Option<DiskOptions> {
        if self.no_disk {
            return None;
        }
        Some(DiskOptions {
            path: self
                .disk
                .clone()
                .unwrap_or_else(|| DiskOptions::default_for(workspace).path),
            blocks: self.disk_blocks,
            is_fresh: self.fresh_disk,
        })
    }

    /// Creates the chosen disk when needed, says which one the run uses, installs the user's
    /// programs in its `/bin` and, when `with_test_programs`, the test programs in `/tests`,
    /// and returns its path.
    fn prepare(
        &self,
        workspace: &Workspace,
        guest: &GuestBinaries,
        with_test_programs: bool,
    ) -> Result<Option<PathBuf>> {
        let Some(options) = self.disk_options(workspace) else {
            return Ok(None);
        };
        let state = prepare_disk(&options)?;
        eprintln!("{}", describe(&options.path, state));
        install_programs(&options.path, PROGRAMS_DIRECTORY, &guest.apps)?;
        if with_test_programs {
            install_programs(&options.path, TEST_PROGRAMS_DIRECTORY, &guest.test_programs)?;
        }
        Ok(Some(options.path))
    }
}

/// The network device, a virtio-net device on QEMU's user-mode network (the guest is 10.0.2.15,
/// the host 10.0.2.2).
#[derive(Clone, Debug, Args)]
struct NetArgs {
    /// Forward UDP datagrams sent to 127.0.0.1:HOST_PORT on the host to the guest's GUEST_PORT
    /// (the guest is 10.0.2.15 on QEMU's user-mode network; its replies go back to the sender).
    /// Repeat for several.
    #[arg(long = "forward-udp", value_name = "HOST_PORT:GUEST_PORT")]
    forward_udp: Vec<UdpForward>,
    /// Attach no network device (by default a virtio-net device on QEMU's user-mode network;
    /// without it the kernel reports `net: none`).
    #[arg(long, conflicts_with = "forward_udp")]
    no_net: bool,
}

impl NetArgs {
    /// The network these options choose, or `None` for `--no-net`.
    fn net_options(&self) -> Option<NetOptions> {
        (!self.no_net).then(|| NetOptions {
            udp_forwards: self.forward_udp.clone(),
        })
    }
}

fn log_level_parser() -> impl TypedValueParser<Value = LogLevel> {
    PossibleValuesParser::new(LogLevel::ALL.map(LogLevel::name))
        .map(|name| LogLevel::from_name(&name).expect("clap checked the name"))
}

fn self_test_parser() -> impl TypedValueParser<Value = SelfTest> {
    PossibleValuesParser::new(SelfTest::ALL.map(SelfTest::name))
        .map(|name| SelfTest::from_name(&name).expect("clap checked the name"))
}

impl RunArgs {
    /// Where the serial input comes from: the `--input` file (opened now, so that a bad path
    /// fails before the build), else standard input, used directly when it is a terminal.
    fn console_input(&self) -> Result<ConsoleInput> {
        Ok(match &self.input {
            Some(path) => ConsoleInput::File {
                file: File::open(path)
                    .with_context(|| format!("opening the input file {}", path.display()))?,
                path: path.clone(),
            },
            None if io::stdin().is_terminal() => ConsoleInput::Terminal,
            None => ConsoleInput::Stdin,
        })
    }

    fn boot_options(&self) -> BootOptions {
        BootOptions {
            init: self.init.clone(),
            args: self.args.clone().unwrap_or_default(),
            log_level: self.log,
            self_test: self.selftest,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // Keep host-side failures out of the guest-status range (clap would exit with 2).
            return ExitCode::from(if error.use_stderr() { HOST_ERROR } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Build { release } => build(Profile::from_release_flag(release)),
        Command::Run(args) => run(&args),
        Command::Bench(args) => bench(&args),
        Command::BootTime(args) => boot_time(&args),
        Command::Compare(args) => compare(&args),
        Command::Profile(args) => profile(&args),
        Command::Disk(args) => boot::disk_commands::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("boot: error: {error:#}");
            let is_qemu_error = error.downcast_ref::<QemuError>().is_some();
            ExitCode::from(if is_qemu_error {
                QEMU_UNAVAILABLE
            } else {
                HOST_ERROR
            })
        }
    }
}

fn build(profile: Profile) -> Result<u8> {
    let workspace = Workspace::locate()?;
    let guest = build_guest(&workspace, profile)?;
    println!("{}", guest.kernel.display());
    for firmware in [Firmware::Bios, Firmware::Uefi] {
        let image = create_image(&workspace, &guest, &BootOptions::default(), firmware)?;
        println!("{}", image.display());
    }
    Ok(0)
}

fn run(args: &RunArgs) -> Result<u8> {
    check_installed(args.firmware)?;
    let input = args.console_input()?;
    let workspace = Workspace::locate()?;
    let guest = build_guest(&workspace, Profile::from_release_flag(args.release))?;
    let boot_options = args.boot_options();
    let image = create_image(&workspace, &guest, &boot_options, args.firmware)?;
    let qemu = QemuOptions {
        firmware: args.firmware,
        image,
        disk: args
            .disk
            .prepare(&workspace, &guest, !boots_to_the_shell(&boot_options))?,
        net: args.net.net_options(),
        icount: args.icount,
        gdb: args.gdb,
        extra_args: args.qemu_args.clone(),
    };
    if args.gdb {
        eprintln!("boot: QEMU waits for gdb on port 1234; attach from another terminal with");
        eprintln!("    {}", gdb_command(&guest.kernel));
    }
    eprintln!("boot: {input}");
    eprintln!(
        "boot: starting QEMU; the {} firmware loads the image, then the kernel logs its first \
         line",
        args.firmware
    );
    let ending = run_interactive(&qemu, input, args.timeout.map(Duration::from_secs))?;
    eprintln!("boot: {ending}");
    Ok(ending.exit_code())
}

fn bench(args: &BenchArgs) -> Result<u8> {
    let mut figures = match bench_figures(args)? {
        Ok(figures) => figures,
        Err(code) => return Ok(code),
    };
    println!("{}", bench_header(args.wall_clock));
    for figure in &figures {
        println!("{figure}");
    }
    // The bench's figures are out before the boot-time boot, which may fail on its own.
    let mut code = 0;
    if !args.no_boot_time {
        let timeout = Duration::from_secs(BOOT_TIME_TIMEOUT_SECS);
        match boot_time_figure(args.firmware, Profile::Release, timeout) {
            Ok(figure) => {
                println!("{figure}");
                figures.push(figure);
            }
            Err(error) => {
                eprintln!("boot: error: the boot-time row: {error:#}");
                code = HOST_ERROR;
            }
        }
    }
    let figures = parse_figures(figures.iter().map(String::as_str));
    eprint!("\n{}", boot::bench_report::table(&figures));
    let chart = Workspace::locate()?
        .target_dir()
        .join("bench")
        .join("bench.svg");
    std::fs::create_dir_all(chart.parent().expect("the chart is in a folder"))?;
    std::fs::write(
        &chart,
        boot::bench_report::svg(&figures, bench_header(args.wall_clock)),
    )?;
    eprintln!("boot: chart: {}", chart.display());
    Ok(code)
}

fn boot_time(args: &BootTimeArgs) -> Result<u8> {
    check_installed(args.firmware)?;
    let profile = Profile::from_release_flag(!args.debug);
    let figure = boot_time_figure(args.firmware, profile, Duration::from_secs(args.timeout))?;
    println!("{figure}");
    Ok(0)
}

fn compare(args: &CompareArgs) -> Result<u8> {
    let bench_args = BenchArgs {
        wall_clock: false,
        firmware: Firmware::Bios,
        timeout: args.timeout,
        no_boot_time: true,
        disk: args.disk.clone(),
        net: args.net.clone(),
    };
    let mut figures = match bench_figures(&bench_args)? {
        Ok(figures) => figures,
        Err(code) => return Ok(code),
    };
    let workspace = Workspace::locate()?;
    match boot::linux::installed_kernel() {
        None => eprintln!(
            "boot: no Linux kernel in /boot (Debian's package linux-image-amd64, which \
             `make compare` installs): the Linux column is left out"
        ),
        Some(kernel) => {
            let run = boot::linux::build_bench_program(&workspace).and_then(|program| {
                boot::linux::run_bench(
                    &workspace,
                    &kernel,
                    &program,
                    Duration::from_secs(args.timeout),
                )
            });
            match run {
                Ok(linux) => figures.extend(linux),
                Err(error) => {
                    eprintln!("boot: the Linux run failed, its column is left out: {error:#}")
                }
            }
        }
    }
    let figures = boot::compare::Figures::read(figures.iter().map(String::as_str));
    println!("{}", bench_header(false));
    print!("{}", boot::compare::table(&figures));
    println!("# what the kernel counted per operation (Linux's own counts are not taken)");
    print!("{}", boot::compare::counts_table(&figures));
    let chart = workspace.target_dir().join("compare.svg");
    std::fs::write(&chart, boot::compare::svg(&figures))?;
    println!("# chart: {}", chart.display());
    Ok(0)
}

fn profile(args: &ProfileArgs) -> Result<u8> {
    check_installed(Firmware::Bios)?;
    let workspace = Workspace::locate()?;
    let guest = build_guest(&workspace, Profile::Release)?;
    let timeout = Duration::from_secs(args.timeout);
    match boot::instruction_profile::profile_row(&workspace, &guest, &args.row, timeout)? {
        Ok(profiled) => {
            print!(
                "{}",
                boot::instruction_profile::report(&args.row, &profiled.profile, args.top)
            );
            Ok(0)
        }
        Err(outcome) => {
            eprintln!(
                "--- serial transcript ---\n{}--- end of transcript ---",
                outcome.serial
            );
            eprintln!(
                "boot: profile failed: {}; the bench opened no window",
                outcome.ending()
            );
            Ok(HOST_ERROR)
        }
    }
}

/// Boots the bench and returns its figure lines, or the exit code when it failed (after
/// printing the transcript). Says on standard error what it does, and each row as its first
/// figure arrives.
fn bench_figures(args: &BenchArgs) -> Result<Result<Vec<String>, u8>> {
    check_installed(args.firmware)?;
    let workspace = Workspace::locate()?;
    let guest = build_guest(&workspace, Profile::Release)?;
    // The bench app names its unit from this: instructions under icount, cycles otherwise.
    let mode = if args.wall_clock {
        "wall-clock"
    } else {
        "icount"
    };
    let options = BootOptions {
        init: "bench".to_owned(),
        args: mode.to_owned(),
        log_level: LogLevel::Warn,
        self_test: None,
    };
    let image = create_image(&workspace, &guest, &options, args.firmware)?;
    let qemu = QemuOptions {
        icount: !args.wall_clock,
        // The bench starts its programs from the ramdisk and `/bin/true` from the disk, whose
        // root directory B5 scans: no `/tests` there.
        disk: args.disk.prepare(&workspace, &guest, false)?,
        net: args.net.net_options(),
        ..QemuOptions::new(args.firmware, image)
    };
    eprintln!("boot: booting the bench (several minutes under emulation; each row as it starts)");
    let started = Instant::now();
    let mut run = start_captured(&qemu, Duration::from_secs(args.timeout))?;
    let mut rows_seen: Vec<String> = Vec::new();
    let deadline = started + Duration::from_secs(args.timeout);
    while let Ok(line) = run.next_line(deadline) {
        let Some(figure) = Figure::parse(&line) else {
            continue;
        };
        if !rows_seen.iter().any(|row| row == figure.row()) {
            rows_seen.push(figure.row().to_owned());
            eprintln!(
                "boot: bench: {} ({} s)",
                figure.row(),
                started.elapsed().as_secs()
            );
        }
    }
    let outcome = run.finish()?;
    let figures: Vec<&str> = figure_lines(&outcome.serial).collect();
    let ending = outcome.ending();
    if ending != Ending::GuestStatus(0) || figures.is_empty() {
        eprintln!(
            "--- serial transcript ---\n{}--- end of transcript ---",
            outcome.serial
        );
        eprintln!(
            "boot: bench failed: {ending}; {} figure lines",
            figures.len()
        );
        return Ok(Err(if ending == Ending::GuestStatus(0) {
            HOST_ERROR
        } else {
            ending.exit_code()
        }));
    }
    Ok(Ok(figures.into_iter().map(str::to_owned).collect()))
}

/// The boot-time row: `make run`'s configuration on the build `profile` under `firmware`, booted
/// from its own data disk (`target/images/boot-time.img`) to the shell's prompt; the transcript
/// and an error when it does not get there within `timeout`.
fn boot_time_figure(firmware: Firmware, profile: Profile, timeout: Duration) -> Result<String> {
    let workspace = Workspace::locate()?;
    let disk = DiskOptions {
        path: workspace.images_dir().join(BOOT_TIME_DISK_FILE_NAME),
        blocks: DEFAULT_DISK_BLOCKS,
        is_fresh: false,
    };
    eprintln!("boot: timing a boot to the shell's prompt ({profile}, {firmware})");
    match measure_boot_to_prompt(&workspace, profile, firmware, &disk, timeout)? {
        Ok(time) => Ok(time.figure_line()),
        Err(outcome) => {
            eprintln!(
                "--- serial transcript ---\n{}--- end of transcript ---",
                outcome.serial
            );
            anyhow::bail!(
                "the boot did not reach the prompt and power off: {}",
                outcome.ending()
            )
        }
    }
}

/// The comment line `boot bench` prints before the figures.
fn bench_header(is_wall_clock: bool) -> &'static str {
    if is_wall_clock {
        "# wall clock (QEMU without -icount): TSC ticks, noisy; compare only ratios within one run"
    } else {
        "# deterministic (QEMU -icount shift=0): one TSC tick per guest instruction retired"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse_run(words: &[&str]) -> RunArgs {
        let words = ["boot", "run"].iter().chain(words);
        match Cli::try_parse_from(words).unwrap().command {
            Command::Run(args) => args,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults_to_init_running_hello_under_bios() {
        let args = parse_run(&[]);
        assert_eq!(args.firmware, Firmware::Bios);
        assert_eq!(args.boot_options(), BootOptions::default());
        assert_eq!(args.timeout, None);
    }

    #[test]
    fn run_reads_every_option() {
        let args = parse_run(&[
            "--firmware",
            "uefi",
            "--release",
            "--init",
            "hostile-spin",
            "--log",
            "trace",
            "--selftest",
            "smap",
            "--timeout",
            "20",
            "--gdb",
            "--icount",
            "--qemu-arg",
            "-d",
            "--qemu-arg",
            "int",
            "--input",
            "script.txt",
        ]);
        assert_eq!(args.firmware, Firmware::Uefi);
        assert!(args.release && args.gdb && args.icount);
        assert_eq!(args.timeout, Some(20));
        assert_eq!(args.qemu_args, ["-d", "int"]);
        assert_eq!(args.input, Some(PathBuf::from("script.txt")));
        let options = args.boot_options();
        assert_eq!(options.init, "hostile-spin");
        assert_eq!(options.args, "", "another init gets no default arguments");
        assert_eq!(options.log_level, LogLevel::Trace);
        assert_eq!(options.self_test, Some(SelfTest::Smap));
    }

    #[test]
    fn run_types_the_input_file_and_fails_early_without_it() {
        let input = parse_run(&["--input", "/dev/null"])
            .console_input()
            .unwrap();
        assert!(matches!(input, ConsoleInput::File { .. }));
        let missing = parse_run(&["--input", "/nonexistent/script.txt"]).console_input();
        let message = format!("{:#}", missing.unwrap_err());
        assert!(message.contains("/nonexistent/script.txt"), "{message}");
    }

    #[test]
    fn run_attaches_the_default_disk_unless_told_otherwise() {
        let workspace = Workspace::locate().unwrap();
        let default = parse_run(&[]).disk.disk_options(&workspace).unwrap();
        assert_eq!(default, DiskOptions::default_for(&workspace));
        let chosen = parse_run(&["--disk", "/tmp/d.img", "--disk-blocks", "8", "--fresh-disk"])
            .disk
            .disk_options(&workspace)
            .unwrap();
        assert_eq!(
            chosen,
            DiskOptions {
                path: PathBuf::from("/tmp/d.img"),
                blocks: 8,
                is_fresh: true,
            }
        );
        assert_eq!(
            parse_run(&["--no-disk"]).disk.disk_options(&workspace),
            None
        );
    }

    #[test]
    fn run_rejects_impossible_disk_options() {
        for words in [
            &["--disk-blocks", "0"][..],
            &["--disk-blocks", "many"],
            &["--no-disk", "--disk", "d.img"],
            &["--no-disk", "--fresh-disk"],
        ] {
            let words = ["boot", "run"].iter().chain(words);
            assert!(Cli::try_parse_from(words).is_err());
        }
    }

    #[test]
    fn bench_attaches_a_disk_too() {
        let Command::Bench(args) = Cli::try_parse_from(["boot", "bench", "--disk", "b.img"])
            .unwrap()
            .command
        else {
            panic!("not bench");
        };
        let workspace = Workspace::locate().unwrap();
        let options = args.disk.disk_options(&workspace).unwrap();
        assert_eq!(options.path, PathBuf::from("b.img"));
        assert_eq!(options.blocks, DEFAULT_DISK_BLOCKS);
    }

    #[test]
    fn run_attaches_the_network_unless_told_otherwise() {
        assert_eq!(
            parse_run(&[]).net.net_options(),
            Some(NetOptions::default())
        );
        let forwarded = parse_run(&["--forward-udp", "5555:7", "--forward-udp", "6000:6001"]);
        assert_eq!(
            forwarded.net.net_options(),
            Some(NetOptions {
                udp_forwards: vec![
                    UdpForward {
                        host_port: 5555,
                        guest_port: 7
                    },
                    UdpForward {
                        host_port: 6000,
                        guest_port: 6001
                    },
                ],
            })
        );
        assert_eq!(parse_run(&["--no-net"]).net.net_options(), None);
    }

    #[test]
    fn run_rejects_impossible_network_options() {
        for words in [
            &["--forward-udp", "5555"][..],
            &["--forward-udp", "0:7"],
            &["--forward-udp", "5555:70000"],
            &["--no-net", "--forward-udp", "5555:7"],
        ] {
            let words = ["boot", "run"].iter().chain(words);
            assert!(Cli::try_parse_from(words).is_err());
        }
    }

    #[test]
    fn bench_attaches_the_network_too() {
        let bench =
            |words: &[&str]| match Cli::try_parse_from(["boot", "bench"].iter().chain(words))
                .unwrap()
                .command
            {
                Command::Bench(args) => args.net.net_options(),
                other => panic!("parsed {other:?}"),
            };
        assert_eq!(bench(&[]), Some(NetOptions::default()));
        assert_eq!(bench(&["--no-net"]), None);
    }

    #[test]
    fn run_passes_init_arguments_through() {
        let options = parse_run(&["--args", "hello hostile-null"]).boot_options();
        assert_eq!(options.args, "hello hostile-null");
    }

    #[test]
    fn run_rejects_unknown_levels_and_self_tests() {
        assert!(Cli::try_parse_from(["boot", "run", "--log", "loud"]).is_err());
        assert!(Cli::try_parse_from(["boot", "run", "--selftest", "nothing"]).is_err());
        assert!(Cli::try_parse_from(["boot", "run", "--firmware", "coreboot"]).is_err());
    }

    #[test]
    fn boot_time_defaults_to_make_runs_build_and_bench_measures_it_unless_told() {
        let parse =
            |words: &[&str]| match Cli::try_parse_from(["boot", "boot-time"].iter().chain(words))
                .unwrap()
                .command
            {
                Command::BootTime(args) => args,
                other => panic!("parsed {other:?}"),
            };
        let default = parse(&[]);
        assert_eq!(default.firmware, Firmware::Bios);
        assert!(!default.debug);
        assert_eq!(default.timeout, BOOT_TIME_TIMEOUT_SECS);
        let chosen = parse(&["--firmware", "uefi", "--debug", "--timeout", "60"]);
        assert_eq!(chosen.firmware, Firmware::Uefi);
        assert!(chosen.debug);
        assert_eq!(chosen.timeout, 60);
        let bench =
            |words: &[&str]| match Cli::try_parse_from(["boot", "bench"].iter().chain(words))
                .unwrap()
                .command
            {
                Command::Bench(args) => args.no_boot_time,
                other => panic!("parsed {other:?}"),
            };
        assert!(!bench(&[]));
        assert!(bench(&["--no-boot-time"]));
    }

    #[test]
    fn bench_defaults_to_deterministic_mode_with_a_long_timeout() {
        let Command::Bench(args) = Cli::try_parse_from(["boot", "bench"]).unwrap().command else {
            panic!("not bench");
        };
        assert!(!args.wall_clock);
        assert_eq!(args.timeout, 900);
        assert!(bench_header(false).starts_with('#') && bench_header(false).contains("-icount"));
        assert!(bench_header(true).starts_with('#') && bench_header(true).contains("wall clock"));
    }
}

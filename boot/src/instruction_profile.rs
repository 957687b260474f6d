//! `boot profile ROW`: where one benchmark row's instructions go, by function, kernel and user
//! alike. The bench runs the row's measured loop between two marker functions
//! (`tests/programs/bench/src/profile.rs`); QEMU, under `-icount shift=0`, loads the profile plugin
//! (`boot/profile-plugin`), which counts the instructions of every translation block executed
//! between the markers. This module reads the plugin's counts, names each block's function from
//! the kernel's and the apps' symbol tables, and divides by the window's operations.
//!
//! User addresses are the same in every program (all apps are linked at one base), so a block
//! is matched to the program whose code holds the block's first bytes at its address, the
//! bench itself tried first.

use crate::guest_build::{GuestBinaries, cargo_program, run_cargo};
use crate::qemu_args::KERNEL_LOAD_ADDRESS;
use crate::{
    BootOptions, DEFAULT_DISK_BLOCKS, DiskOptions, Firmware, LogLevel, Outcome, PROGRAMS_DIRECTORY,
    QemuOptions, Workspace, create_image, install_programs, prepare_disk, run_captured,
};
use anyhow::{Context, Result, bail};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SectionKind, SymbolKind};
use std::cmp::Reverse;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The first kernel-half address: blocks at or above it are the kernel's.
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// The plugin's package.
const PLUGIN_PACKAGE: &str = "profile-plugin";

/// Builds the plugin for the host (release) and returns the shared library's path.
pub fn build_plugin(workspace: &Workspace) -> Result<PathBuf> {
    eprintln!("boot: building the profile plugin...");
    let mut command = Command::new(cargo_program());
    command
        .current_dir(workspace.root())
        .args(["build", "--release", "-p", PLUGIN_PACKAGE]);
    run_cargo(command)?;
    Ok(workspace
        .target_dir()
        .join("release")
        .join(format!("lib{}.so", PLUGIN_PACKAGE.replace('-', "_"))))
}

/// A profiled row: what its instructions went to, and the run's serial output.
#[derive(Debug)]
pub struct ProfiledRow {
    pub profile: WindowProfile,
    pub serial: String,
}

/// Profiles benchmark `row` (`B3`, a `B8.` row, a library OS row, or one with `.micro`) of the
/// release build `guest`: boots the bench under `-icount shift=0` with the plugin, on a fresh data disk of its
/// own. Returns the run's outcome instead when the bench opened no window (an unknown row, a
/// failed run).
pub fn profile_row(
    workspace: &Workspace,
    guest: &GuestBinaries,
    row: &str,
    timeout: Duration,
) -> Result<Result<ProfiledRow, Outcome>> {
    let plugin = build_plugin(workspace)?;
    let bench = guest
        .test_programs
        .iter()
        .find(|app| app.name == "bench")
        .context("the bench app was not built")?;
    let bench_program = Program::read("bench", &bench.elf, 0)?;
    let marker = |name: &str| {
        bench_program
            .function_address(name)
            .with_context(|| format!("the bench has no function {name}"))
    };
    let (opens, closes) = (
        marker("bench_profile_window_opens")?,
        marker("bench_profile_window_closes")?,
    );
    let bench_args = match row {
        "B3" => format!("icount profile={row}"),
        row if row.starts_with("B8.") => format!("demultiplexing icount profile={row}"),
        row if row.ends_with(".micro") => format!("files micro icount profile={row}"),
        row => format!("files icount profile={row}"),
    };
    let options = BootOptions {
        init: "bench".to_owned(),
        args: bench_args,
        log_level: LogLevel::Warn,
        self_test: None,
    };
    let image = create_image(workspace, guest, &options, Firmware::Bios)?;
    let disk = DiskOptions {
        path: workspace.images_dir().join("profile-blocks.img"),
        blocks: DEFAULT_DISK_BLOCKS,
        is_fresh: true,
    };
    prepare_disk(&disk)?;
    install_programs(&disk.path, PROGRAMS_DIRECTORY, &guest.apps)?;
    let counts_path = workspace.target_dir().join("profile-counts.txt");
    let _ = std::fs::remove_file(&counts_path);
    let qemu = QemuOptions {
        icount: true,
        disk: Some(disk.path.clone()),
        extra_args: vec![
            "-plugin".to_owned(),
            format!(
                "{},start={opens:x},stop={closes:x},out={}",
                plugin.display(),
                counts_path.display()
            ),
        ],
        ..QemuOptions::new(Firmware::Bios, image)
    };
    eprintln!("boot: profiling {row} (the plugin slows the emulator down: a minute or two)...");
    let outcome = run_captured(&qemu, timeout)?;
    let Some(operations) = window_operations(&outcome.serial) else {
        return Ok(Err(outcome));
    };
    let counts = std::fs::read_to_string(&counts_path)
        .with_context(|| format!("reading the plugin's counts {}", counts_path.display()))?;
    let kernel = Program::read("kernel", &guest.kernel, KERNEL_LOAD_ADDRESS)?;
    let mut programs = vec![bench_program];
    for app in guest.programs().filter(|app| app.name != "bench") {
        programs.push(Program::read(&app.name, &app.elf, 0)?);
    }
    Ok(Ok(ProfiledRow {
        profile: attribute(&parse_counts(&counts)?, &kernel, &programs, operations),
        serial: outcome.serial,
    }))
}

/// One translation block as the plugin counted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCount {
    pub address: u64,
    pub instructions: u64,
    pub executions: u64,
    /// The block's first bytes of code (up to eight).
    pub first_bytes: Vec<u8>,
}

/// Reads the plugin's output: `ADDRESS INSTRUCTIONS EXECUTIONS BYTES` per line, the address
/// and the bytes in hex (none when QEMU gave none).
pub fn parse_counts(text: &str) -> Result<Vec<BlockCount>> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (address, instructions, executions, bytes) = match words[..] {
                [address, instructions, executions] => (address, instructions, executions, ""),
                [address, instructions, executions, bytes] => {
                    (address, instructions, executions, bytes)
                }
                _ => bail!("a profile line has {} words: {line}", words.len()),
            };
            let first_bytes = (0..bytes.len() / 2)
                .map(|index| u8::from_str_radix(&bytes[2 * index..2 * index + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .with_context(|| format!("bad bytes in the profile line {line}"))?;
            Ok(BlockCount {
                address: u64::from_str_radix(address, 16)
                    .with_context(|| format!("bad address in the profile line {line}"))?,
                instructions: instructions.parse()?,
                executions: executions.parse()?,
                first_bytes,
            })
        })
        .collect()
}

/// A program's functions and loaded bytes, at the addresses it runs at.
#[derive(Debug, Default)]
pub struct Program {
    pub name: String,
    /// (start, name), sorted by start.
    functions: Vec<(u64, String)>,
    /// (address, bytes) of each loaded segment.
    segments: Vec<(u64, Vec<u8>)>,
}

impl Program {
    /// Reads the ELF at `path`, loaded `offset` bytes above its link addresses.
    pub fn read(name: &str, path: &Path, offset: u64) -> Result<Program> {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let file = object::File::parse(&*data)
            .with_context(|| format!("parsing {} as ELF", path.display()))?;
        let is_code = |symbol: &object::Symbol| {
            symbol.section_index().is_some_and(|index| {
                file.section_by_index(index)
                    .is_ok_and(|section| section.kind() == SectionKind::Text)
            })
        };
        // Functions, and the labels of assembly code (the kernel's entry points), which have
        // no type.
        let mut symbols: Vec<(u64, Reverse<u64>, &str)> = file
            .symbols()
            .filter(|symbol| {
                matches!(
                    symbol.kind(),
                    SymbolKind::Text | SymbolKind::Unknown | SymbolKind::Label
                ) && symbol.address() != 0
                    && is_code(symbol)
            })
            .filter_map(|symbol| {
                Some((
                    symbol.address(),
                    Reverse(symbol.size()),
                    symbol.name().ok()?,
                ))
            })
            .collect();
        // Of several names at one address (an assembly label beside a function, functions the
        // linker folded into one), the one with the largest size.
        symbols.sort();
        symbols.dedup_by_key(|&mut (address, _, _)| address);
        let functions = symbols
            .into_iter()
            .map(|(address, _, name)| {
                (
                    address + offset,
                    format!("{:#}", rustc_demangle::demangle(name)),
                )
            })
            .collect();
        let segments = file
            .segments()
            .filter_map(|segment| {
                let bytes = segment.data().ok()?;
                Some((segment.address() + offset, bytes.to_vec()))
            })
            .collect();
        Ok(Program {
            name: name.to_owned(),
            functions,
            segments,
        })
    }

    /// A program made of `functions` and `segments`.
    #[cfg(test)]
    fn from_parts(
        name: &str,
        mut functions: Vec<(u64, String)>,
        segments: Vec<(u64, Vec<u8>)>,
    ) -> Program {
        functions.sort();
        Program {
            name: name.to_owned(),
            functions,
            segments,
        }
    }

    /// Whether this program's code at `address` starts with `bytes`.
    fn holds(&self, address: u64, bytes: &[u8]) -> bool {
        self.segments.iter().any(|(start, data)| {
            address
                .checked_sub(*start)
                .and_then(|offset| data.get(offset as usize..offset as usize + bytes.len()))
                == Some(bytes)
        })
    }

    /// The address of the function named `name` (demangled, without its hash).
    pub fn function_address(&self, name: &str) -> Option<u64> {
        self.functions
            .iter()
            .find(|(_, function)| function == name)
            .map(|&(address, _)| address)
    }

    /// The function `address` is in: the last one starting at or below it.
    fn function_at(&self, address: u64) -> Option<&str> {
        let index = self
            .functions
            .partition_point(|(start, _)| *start <= address)
            .checked_sub(1)?;
        Some(&self.functions[index].1)
    }
}

/// Instructions per operation of one function.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionCost {
    /// `kernel` or the program's name.
    pub program: String,
    pub function: String,
    pub per_operation: f64,
}

/// What a window's instructions went to.
#[derive(Debug, PartialEq)]
pub struct WindowProfile {
    pub per_operation: f64,
    pub kernel_per_operation: f64,
    /// Most expensive first.
    pub functions: Vec<FunctionCost>,
}

/// Attributes `blocks` to the functions of `kernel` (kernel-half addresses) and of `programs`
/// (user addresses, the first program whose code matches tried first), over `operations`.
pub fn attribute(
    blocks: &[BlockCount],
    kernel: &Program,
    programs: &[Program],
    operations: u64,
) -> WindowProfile {
    let mut by_function: HashMap<(String, String), u64> = HashMap::new();
    let (mut total, mut in_kernel) = (0u64, 0u64);
    for block in blocks {
        let instructions = block.instructions * block.executions;
        total += instructions;
        let (program, function) = if block.address >= KERNEL_HALF {
            in_kernel += instructions;
            ("kernel", kernel.function_at(block.address))
        } else {
            match programs
                .iter()
                .find(|program| program.holds(block.address, &block.first_bytes))
            {
                Some(program) => (program.name.as_str(), program.function_at(block.address)),
                None => ("user", None),
            }
        };
        let function = function.map_or_else(
            || format!("{:#x} (no symbol)", block.address),
            str::to_owned,
        );
        *by_function
            .entry((program.to_owned(), function))
            .or_default() += instructions;
    }
    let operations = operations.max(1) as f64;
    let mut functions: Vec<FunctionCost> = by_function
        .into_iter()
        .map(|((program, function), instructions)| FunctionCost {
            program,
            function,
            per_operation: instructions as f64 / operations,
        })
        .collect();
    functions.sort_by(|a, b| {
        b.per_operation
            .total_cmp(&a.per_operation)
            .then_with(|| a.function.cmp(&b.function))
    });
    WindowProfile {
        per_operation: total as f64 / operations,
        kernel_per_operation: in_kernel as f64 / operations,
        functions,
    }
}

/// The report: totals, then the `top` most expensive functions.
pub fn report(row: &str, profile: &WindowProfile, top: usize) -> String {
    let mut text = format!(
        "# profile of {row}: {:.0} instructions per operation, {:.0} in the kernel, {:.0} at user level\n",
        profile.per_operation,
        profile.kernel_per_operation,
        profile.per_operation - profile.kernel_per_operation
    );
    text.push_str("# instructions per operation, where (kernel or program), function\n");
    for cost in profile.functions.iter().take(top) {
        text.push_str(&format!(
            "{:>9.0} {:<8} {}\n",
            cost.per_operation, cost.program, cost.function
        ));
    }
    let rest: f64 = profile
        .functions
        .iter()
        .skip(top)
        .map(|cost| cost.per_operation)
        .sum();
    if rest > 0.0 {
        text.push_str(&format!(
            "{rest:>9.0} {:<8} the other {} functions\n",
            "",
            profile.functions.len().saturating_sub(top)
        ));
    }
    text
}

/// The operations the bench said the window holds (`# profile: ROW window of N operations`).
pub fn window_operations(serial: &str) -> Option<u64> {
    serial.lines().find_map(|line| {
        line.trim()
            .strip_prefix("# profile: ")?
            .split_once(" window of ")?
            .1
            .strip_suffix(" operations")?
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(address: u64, instructions: u64, executions: u64, bytes: &[u8]) -> BlockCount {
        BlockCount {
            address,
            instructions,
            executions,
            first_bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn parses_the_plugin_lines() {
        let counts = parse_counts("ffffffff80001000 5 10 90c3\n600000 2 1 \n").unwrap();
        assert_eq!(
            counts,
            [
                block(0xffff_ffff_8000_1000, 5, 10, &[0x90, 0xc3]),
                block(0x60_0000, 2, 1, &[]),
            ]
        );
        assert!(parse_counts("600000 2\n").is_err());
        assert!(parse_counts("60z000 2 1 90\n").is_err());
    }

    #[test]
    fn blocks_go_to_the_program_whose_code_they_are() {
        let kernel = Program::from_parts(
            "kernel",
            vec![(0xffff_ffff_8000_0000, "entry".into())],
            vec![],
        );
        let code = |byte: u8| vec![(0x40_0000, vec![byte; 0x100])];
        let bench = Program::from_parts(
            "bench",
            vec![(0x40_0000, "bench_main".into()), (0x40_0080, "fork".into())],
            code(0xaa),
        );
        let child = Program::from_parts("true", vec![(0x40_0000, "true_main".into())], code(0xbb));
        let blocks = [
            block(0xffff_ffff_8000_0010, 10, 3, &[1]),
            block(0x40_0090, 4, 5, &[0xaa, 0xaa]),
            block(0x40_0010, 6, 1, &[0xbb]),
            block(0x40_0010, 7, 1, &[0xcc]),
        ];
        let profile = attribute(&blocks, &kernel, &[bench, child], 2);
        assert_eq!(profile.per_operation, 31.5);
        assert_eq!(profile.kernel_per_operation, 15.0);
        let named: Vec<(&str, &str, f64)> = profile
            .functions
            .iter()
            .map(|cost| {
                (
                    cost.program.as_str(),
                    cost.function.as_str(),
                    cost.per_operation,
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                ("kernel", "entry", 15.0),
                ("bench", "fork", 10.0),
                ("user", "0x400010 (no symbol)", 3.5),
                ("true", "true_main", 3.0),
            ]
        );
        let text = report("B7", &attribute(&blocks, &kernel, &[], 1), 1);
        assert_eq!(
            text,
            "# profile of B7: 63 instructions per operation, 30 in the kernel, 33 at user level\n\
             # instructions per operation, where (kernel or program), function\n\
             \x20      30 kernel   entry\n\
             \x20      33          the other 2 functions\n"
        );
    }

    #[test]
    fn finds_the_window_size_in_the_transcript() {
        assert_eq!(
            window_operations("x\n# profile: B7 window of 202 operations\r\ny\n"),
            Some(202)
        );
        assert_eq!(window_operations("B7 fork_wait 1 instructions\n"), None);
    }
}

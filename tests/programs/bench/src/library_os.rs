//! The library-OS rows (B4, B5, B6, B7, B9), run in a child the bench starts with the argument
//! `files`: it makes its own world and mounts the file system like init, so that nothing else
//! runs in it while it measures. With `files micro` the child runs them on the microkernel
//! path instead, its files and processes served by the file and process servers it starts,
//! and names them `B4.micro` and so on.
//! - B4: `read` of 4 KiB at offset 0 of a cached file, and its floor, a 4 KiB memory copy;
//! - B5: create a file, write 1 KiB, close, unlink;
//! - B6: spawn `/bin/true` from the file system and wait for it;
//! - B7: copy-on-write fork of this process, the child exits at once, wait for it;
//! - B9: 16 MiB written sequentially in 64 KiB writes then fsync'd, and read back, as cost per
//!   4 KiB block and as MiB/s of the guest clock (see the raw rows, B9.floor).

use crate::{Counted, counted_ticks_per, print_counted, profile, stopwatch, ticks_per};
use alloc::vec;
use libos_posix::files::{self, File};
use libos_posix::fork::{Fork, fork};
use libos_posix::process::{self, Stdio};
use libos_posix::{Errno, println, servers, world};

const DIRECTORY: &str = "/bench";
const BIG_FILE_BYTES: usize = 16 * 1024 * 1024;
const BIG_CHUNK_BYTES: usize = 64 * 1024;

fn ensure_directory() -> Result<(), Errno> {
    match files::create_dir(DIRECTORY) {
        Ok(()) | Err(Errno::Exists) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Which path the rows measure.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Path {
    LibraryOs,
    Microkernel,
}

/// Runs the rows of `path`; `unit` names what the counter counts; `profiled` is the row to
/// run inside the profile window, if any.
pub fn run(unit: &str, path: Path, profiled: Option<&str>) -> Result<(), Errno> {
    let rows = Rows {
        unit,
        path,
        profiled,
    };
    match path {
        Path::LibraryOs => world::start_as_root("bench").map_err(|(_, error)| error)?,
        Path::Microkernel => {
            let servers = servers::start()?;
            world::start_as_root_served("bench", &servers).map_err(|(_, error)| error)?
        }
    };
    ensure_directory()?;
    rows.b4()?;
    rows.b5()?;
    rows.b6()?;
    rows.b7()?;
    rows.b9()?;
    files::sync()
}

/// Prints the rows of one path.
struct Rows<'a> {
    unit: &'a str,
    path: Path,
    profiled: Option<&'a str>,
}

impl Rows<'_> {
    /// Row `id` marked with the path.
    fn id(&self, id: &'static str) -> &'static str {
        match (self.path, id) {
            (Path::LibraryOs, _) => id,
            (Path::Microkernel, "B4") => "B4.micro",
            (Path::Microkernel, "B5") => "B5.micro",
            (Path::Microkernel, "B6") => "B6.micro",
            (Path::Microkernel, "B7") => "B7.micro",
            (Path::Microkernel, _) => "B9.micro",
        }
    }

    /// [`counted_ticks_per`] for row `id`, inside the profile window when it is the row
    /// profiled, right after a commit. The file system commits in the background once its
    /// last commit is 4 s old by the clock, which under `-icount` also runs while the CPU
    /// halts for the disk, at the host's pace: without the commit first, whether one falls
    /// among a row's few thousand operations would differ from run to run, and one commit
    /// spread over them weighs hundreds of instructions on each.
    fn measure(
        &self,
        id: &'static str,
        iterations: u64,
        operation: impl FnMut(),
    ) -> (u64, Counted) {
        if let Err(error) = files::sync() {
            println!("bench: the commit before {} failed: {error:?}", self.id(id));
        }
        profile::window(
            self.id(id),
            self.profiled,
            iterations + iterations / 100,
            || counted_ticks_per(iterations, operation),
        )
    }

    /// Prints `ID name value unit`, the ID marked with the path.
    fn print(&self, id: &'static str, name: &str, value: u64, unit: &str) {
        println!("{} {name} {value} {unit}", self.id(id));
    }

    fn b4(&self) -> Result<(), Errno> {
        let unit = self.unit;
        let path = "/bench/cached";
        File::create(path)?.write(&[0x5a; 4096])?;
        let file = File::open(path)?;
        let mut buffer = vec![0u8; 4096];
        let mut failure = None;
        let (read, counted) = self.measure("B4", 10_000, || {
            let outcome = file.read_at(0, &mut buffer);
            if outcome != Ok(4096) {
                failure = Some(outcome);
            }
        });
        if let Some(outcome) = failure {
            println!("bench: B4 read gave {outcome:?}");
            return Err(Errno::Io);
        }
        let source = vec![0x77u8; 4096];
        let mut target = vec![0u8; 4096];
        let copy = ticks_per(10_000, || {
            target.copy_from_slice(core::hint::black_box(&source));
            core::hint::black_box(&mut target);
        });
        self.print("B4", "cached_read_4k", read, unit);
        print_counted(self.id("B4"), "cached_read_4k", &counted);
        if self.path == Path::LibraryOs {
            println!("B4.floor memory_copy_4k {copy} {unit}");
        }
        files::remove_file(path)
    }

    fn b5(&self) -> Result<(), Errno> {
        let unit = self.unit;
        let data = [0x33u8; 1024];
        let mut failure = None;
        let (ticks, counted) = self.measure("B5", 2_000, || {
            let outcome = File::create("/bench/small")
                .and_then(|file| file.write(&data))
                .and_then(|_| files::remove_file("/bench/small"));
            if let Err(error) = outcome {
                failure = Some(error);
            }
        });
        if let Some(error) = failure {
            return Err(error);
        }
        self.print("B5", "create_write_1k_close_unlink", ticks, unit);
        print_counted(self.id("B5"), "create_write_1k_close_unlink", &counted);
        Ok(())
    }

    fn b6(&self) -> Result<(), Errno> {
        let unit = self.unit;
        let mut failure = None;
        let (ticks, counted) = self.measure("B6", 200, || {
            let outcome =
                process::spawn("/bin/true", &["true"], Stdio::INHERIT).and_then(process::wait);
            if let Err(error) = outcome {
                failure = Some(error);
            }
        });
        if let Some(error) = failure {
            return Err(error);
        }
        self.print("B6", "spawn_wait_true", ticks, unit);
        print_counted(self.id("B6"), "spawn_wait_true", &counted);
        Ok(())
    }

    fn b7(&self) -> Result<(), Errno> {
        let unit = self.unit;
        let mut failure = None;
        let (ticks, counted) = self.measure("B7", 200, || match fork() {
            Ok(Fork::Child) => process::exit(0),
            Ok(Fork::Parent(child)) => {
                if let Err(error) = process::wait(child) {
                    failure = Some(error);
                }
            }
            Err(error) => failure = Some(error),
        });
        if let Some(error) = failure {
            return Err(error);
        }
        self.print("B7", "fork_wait", ticks, unit);
        print_counted(self.id("B7"), "fork_wait", &counted);
        Ok(())
    }

    fn b9(&self) -> Result<(), Errno> {
        let unit = self.unit;
        let path = "/bench/big";
        let chunk = vec![0xa5u8; BIG_CHUNK_BYTES];
        let blocks = (BIG_FILE_BYTES / 4096) as u64;
        let file = File::create(path)?;
        let writing = stopwatch();
        for _ in 0..BIG_FILE_BYTES / BIG_CHUNK_BYTES {
            file.write(&chunk)?;
        }
        file.sync_all()?;
        let write = writing.stop();
        drop(file);
        let file = File::open(path)?;
        let mut buffer = vec![0u8; BIG_CHUNK_BYTES];
        let reading = stopwatch();
        let mut total = 0;
        loop {
            let count = file.read(&mut buffer)?;
            if count == 0 {
                break;
            }
            total += count;
        }
        let read = reading.stop();
        if total != BIG_FILE_BYTES {
            println!("bench: B9 read back {total} bytes");
            return Err(Errno::Io);
        }
        for (name, elapsed) in [("write_fsync", write), ("read", read)] {
            let per_block = alloc::format!("{unit}_per_block");
            self.print(
                "B9",
                &alloc::format!("file_sequential_{name}"),
                elapsed.ticks / blocks,
                &per_block,
            );
            let name = alloc::format!("file_sequential_{name}_rate");
            let rate = crate::mib_per_second(elapsed.clock_ticks / blocks);
            self.print("B9", &name, rate, "MiB/s");
        }
        files::remove_file(path)
    }
}

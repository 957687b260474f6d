//! The cases: files, directories, errors, fork, pipes, spawn, sharing between processes,
//! stack growth, killing.

use crate::Outcome;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use libos_posix::descriptors;
use libos_posix::files::{self, File, OpenOptions};
use libos_posix::fork::{Fork, fork};
use libos_posix::process::{self, Stdio};
use libos_posix::{Errno, ExitReason, bare, syscall};

/// A case and its name.
type Case = (&'static str, fn() -> Outcome);

/// Every case, by name.
pub const ALL: &[Case] = &[
    ("write_read", write_read),
    ("read_at_keeps_the_offset", read_at_keeps_the_offset),
    ("big_file", big_file),
    ("directories", directories),
    ("errors", errors),
    ("append_truncate", append_truncate),
    ("fork_copy_on_write", fork_copy_on_write),
    ("fork_a_large_heap", fork_a_large_heap),
    ("fork_many", fork_many),
    ("fork_while_children_share", fork_while_children_share),
    ("read_only_data_after_fork", read_only_data_after_fork),
    ("pipe_across_fork", pipe_across_fork),
    ("many_descriptors", many_descriptors),
    ("many_pipes", many_pipes),
    ("worker_result_over_pipe", worker_result_over_pipe),
    ("pipe_end_of_file_on_kill", pipe_end_of_file_on_kill),
    ("pipe_end_of_file_on_fault", pipe_end_of_file_on_fault),
    ("spawn_with_redirection", spawn_with_redirection),
    ("bare_environments", bare_environments),
    (
        "spawn_after_the_program_changes",
        spawn_after_the_program_changes,
    ),
    (
        "spawn_more_programs_than_are_kept",
        spawn_more_programs_than_are_kept,
    ),
    ("shared_cache", shared_cache),
    ("kill_mid_write", kill_mid_write),
    ("kill_a_process_tree", kill_a_process_tree),
    ("stack_growth", stack_growth),
    ("heap_growth", heap_growth),
    ("heap_frees_quickly", heap_frees_quickly),
    ("udp_socket", crate::udp_cases::udp_socket),
    ("arp_answering", crate::udp_cases::arp_answering),
    ("clocks", crate::clock_cases::clocks),
    ("instant_arithmetic", crate::clock_cases::instant_arithmetic),
];

pub(crate) fn check(condition: bool, what: impl FnOnce() -> String) -> Outcome {
    if condition { Ok(()) } else { Err(what()) }
}

fn context<T>(what: &str, result: Result<T, Errno>) -> Result<T, String> {
    result.map_err(|error| format!("{what}: {error}"))
}

fn pattern(length: usize, seed: u8) -> Vec<u8> {
    (0..length)
        .map(|index| (index as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Reads descriptor `fd` to end-of-file, `chunk_bytes` at a time, then closes it.
fn read_to_end_and_close(fd: usize, chunk_bytes: usize) -> Result<Vec<u8>, String> {
    let mut received = Vec::new();
    let mut buffer = vec![0u8; chunk_bytes];
    loop {
        let count = context("read", descriptors::read(fd, &mut buffer))?;
        if count == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..count]);
    }
    context("close", descriptors::close(fd))?;
    Ok(received)
}

fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let file = context("open", File::open(path))?;
    let mut all = Vec::new();
    let mut buffer = vec![0u8; 4096];
    loop {
        let count = context("read", file.read(&mut buffer))?;
        if count == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buffer[..count]);
    }
}

fn write_read() -> Outcome {
    let data = pattern(10_000, 7);
    context("create", File::create("/tmp/ut-a"))
        .and_then(|file| context("write", file.write(&data)))?;
    let back = read_file("/tmp/ut-a")?;
    check(back == data, || {
        format!("read back {} bytes, differing", back.len())
    })?;
    context("remove", files::remove_file("/tmp/ut-a"))
}

/// `read_at` (`pread`) reads where it is told and leaves the descriptor's offset alone; it is
/// refused on a pipe and on a file opened only for writing.
fn read_at_keeps_the_offset() -> Outcome {
    let data = pattern(10_000, 5);
    context("create", File::create("/tmp/ut-at"))
        .and_then(|file| context("write", file.write(&data)))?;
    let file = context("open", File::open("/tmp/ut-at"))?;
    let mut head = [0u8; 100];
    context("read", file.read(&mut head))?;
    let mut middle = [0u8; 200];
    let count = context("read_at", file.read_at(5_000, &mut middle))?;
    check(count == 200 && middle[..] == data[5_000..5_200], || {
        format!("read_at gave {count} bytes")
    })?;
    let past_end = context("read_at past the end", file.read_at(20_000, &mut middle))?;
    check(past_end == 0, || format!("{past_end} bytes past the end"))?;
    let mut next = [0u8; 100];
    context("read", file.read(&mut next))?;
    check(
        head[..] == data[..100] && next[..] == data[100..200],
        || String::from("read_at moved the offset"),
    )?;
    let (read_end, write_end) = context("pipe", descriptors::pipe())?;
    let on_pipe = descriptors::read_at(read_end, 0, &mut next);
    let _ = descriptors::close(read_end);
    let _ = descriptors::close(write_end);
    check(on_pipe == Err(Errno::InvalidArgument), || {
        format!("read_at on a pipe gave {on_pipe:?}")
    })?;
    let write_only = context(
        "open for writing",
        OpenOptions::new().write(true).open("/tmp/ut-at"),
    )?;
    let refused = write_only.read_at(0, &mut next);
    check(refused == Err(Errno::BadDescriptor), || {
        format!("read_at on a write-only file gave {refused:?}")
    })?;
    context("remove", files::remove_file("/tmp/ut-at"))
}

fn big_file() -> Outcome {
    let chunk = pattern(64 * 1024, 3);
    let file = context("create", File::create("/tmp/ut-big"))?;
    for _ in 0..32 {
        context("write", file.write(&chunk))?;
    }
    context("fsync", file.sync_all())?;
    let size = context("metadata", file.metadata())?.size;
    check(size == 2 * 1024 * 1024, || format!("size {size}"))?;
    let back = read_file("/tmp/ut-big")?;
    check(
        back.chunks(chunk.len())
            .all(|piece| piece == chunk.as_slice()),
        || String::from("content differs"),
    )?;
    context("remove", files::remove_file("/tmp/ut-big"))
}

fn directories() -> Outcome {
    context("mkdir", files::create_dir("/tmp/ut-d"))?;
    context("mkdir nested", files::create_dir("/tmp/ut-d/inner"))?;
    for index in 0..40 {
        context("create", File::create(&format!("/tmp/ut-d/file-{index}")))?;
    }
    let entries = context("read_dir", files::read_dir("/tmp/ut-d"))?;
    check(entries.len() == 41, || format!("{} entries", entries.len()))?;
    check(
        files::remove_dir("/tmp/ut-d") == Err(Errno::NotEmpty),
        || String::from("rmdir of a full directory"),
    )?;
    context(
        "rename",
        files::rename("/tmp/ut-d/file-0", "/tmp/ut-d/inner/moved"),
    )?;
    context("metadata", files::metadata("/tmp/ut-d/inner/moved"))?;
    for index in 1..40 {
        context(
            "unlink",
            files::remove_file(&format!("/tmp/ut-d/file-{index}")),
        )?;
    }
    context("unlink", files::remove_file("/tmp/ut-d/inner/moved"))?;
    context("rmdir", files::remove_dir("/tmp/ut-d/inner"))?;
    context("rmdir", files::remove_dir("/tmp/ut-d"))
}

fn errors() -> Outcome {
    let long_name = format!("/tmp/{}", "n".repeat(256));
    let cases: [(&str, Result<(), Errno>, Errno); 6] = [
        (
            "open missing",
            File::open("/tmp/none").map(drop),
            Errno::NotFound,
        ),
        ("mkdir existing", files::create_dir("/tmp"), Errno::Exists),
        (
            "long name",
            File::create(&long_name).map(drop),
            Errno::NameTooLong,
        ),
        (
            "path through a file",
            File::open("/bin/sh/x").map(drop),
            Errno::NotADirectory,
        ),
        (
            "unlink a directory",
            files::remove_file("/tmp"),
            Errno::IsADirectory,
        ),
        (
            "read a closed descriptor",
            descriptors::read(15, &mut [0; 4]).map(drop),
            Errno::BadDescriptor,
        ),
    ];
    for (what, outcome, expected) in cases {
        check(outcome == Err(expected), || {
            format!("{what}: expected {expected:?}, got {outcome:?}")
        })?;
    }
    let name_255 = format!("/tmp/{}", "m".repeat(255));
    context("255-byte name", File::create(&name_255))?;
    context("remove", files::remove_file(&name_255))
}

fn append_truncate() -> Outcome {
    context("create", File::create("/tmp/ut-t"))
        .and_then(|file| context("write", file.write(b"hello")))?;
    let file = context(
        "open append",
        OpenOptions::new().append(true).open("/tmp/ut-t"),
    )?;
    context("append", file.write(b" world"))?;
    check(read_file("/tmp/ut-t")? == b"hello world", || {
        String::from("append")
    })?;
    context("truncate", file.set_len(5))?;
    check(read_file("/tmp/ut-t")? == b"hello", || {
        String::from("truncate down")
    })?;
    context("extend", file.set_len(9000))?;
    let back = read_file("/tmp/ut-t")?;
    check(
        back.len() == 9000 && back[5..].iter().all(|&byte| byte == 0),
        || String::from("a grown file reads zeros"),
    )?;
    drop(file);
    context("remove", files::remove_file("/tmp/ut-t"))
}

static mut SHARED_COUNTER: u64 = 41;

fn fork_copy_on_write() -> Outcome {
    let heap_value = vec![1u64; 2048];
    // SAFETY: this process runs one thread; the static is only touched here.
    unsafe { SHARED_COUNTER = 42 };
    let child = match context("fork", fork())? {
        Fork::Child => {
            // SAFETY: as above, in the child's copy.
            let seen = unsafe { SHARED_COUNTER };
            let mut mine = heap_value.clone();
            mine[100] = 7;
            // SAFETY: as above.
            unsafe { SHARED_COUNTER = 1000 };
            process::exit(if seen == 42 && mine[100] == 7 { 0 } else { 3 });
        }
        Fork::Parent(child) => child,
    };
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(0), || {
        format!("child {reason}")
    })?;
    // SAFETY: as above.
    let counter = unsafe { SHARED_COUNTER };
    check(counter == 42 && heap_value[100] == 1, || {
        format!("the parent sees the child's writes: counter {counter}")
    })
}

/// A process with more private pages than a fork copies whole: its pages are shared
/// copy-on-write, each side's writes stay its own whichever runs first, and a second fork
/// after the first child ended shares the pages again.
fn fork_a_large_heap() -> Outcome {
    const BYTES: usize = 2 * 1024 * 1024;
    let pages = BYTES / 4096;
    check(pages > libos_posix::fork::COPY_WHOLE_MOST_PAGES, || {
        String::from("the heap is not larger than a fork copies whole")
    })?;
    let mut heap = pattern(BYTES, 11);
    let original = heap.clone();
    for round in 0..2u8 {
        let child = match context("fork", fork())? {
            Fork::Child => {
                let same = heap == original;
                for page in (0..BYTES).step_by(4096 * 3) {
                    heap[page] = 0xc0;
                }
                let kept = (0..BYTES).step_by(4096 * 3).all(|page| heap[page] == 0xc0);
                process::exit(if same && kept { 0 } else { 3 });
            }
            Fork::Parent(child) => child,
        };
        // Written while the child may still read: its copy must not see this.
        for page in (0..BYTES).step_by(4096 * 2) {
            heap[page + 1] = round.wrapping_add(0x5a);
        }
        let reason = context("wait", process::wait(child))?;
        check(reason == ExitReason::Exited(0), || {
            format!("round {round}: child {reason}")
        })?;
        let untouched = (0..BYTES)
            .step_by(4096 * 3)
            .all(|page| heap[page] == original[page]);
        check(untouched, || {
            format!("round {round}: the parent sees the child's writes")
        })?;
        for page in (0..BYTES).step_by(4096 * 2) {
            heap[page + 1] = original[page + 1];
        }
        check(heap == original, || {
            format!("round {round}: the parent's pages changed")
        })?;
    }
    Ok(())
}

fn fork_many() -> Outcome {
    let mut children = Vec::new();
    for index in 0..8u32 {
        match context("fork", fork())? {
            Fork::Child => process::exit(index + 10),
            Fork::Parent(child) => children.push((index, child)),
        }
    }
    reap_numbered(children)
}

/// Waits for each child, which must have exited with its number plus 10.
fn reap_numbered(children: Vec<(u32, process::Child)>) -> Outcome {
    for (index, child) in children {
        let reason = context("wait", process::wait(child))?;
        check(reason == ExitReason::Exited(index + 10), || {
            format!("child {index} {reason}")
        })?;
    }
    Ok(())
}

/// Forks while earlier children still share the parent's pages, with the parent's heap
/// changing between forks: each child must find its heap whole (a map built before the fork
/// reads back, and allocating and freeing works), not pages from two moments.
fn fork_while_children_share() -> Outcome {
    const CHILDREN: u32 = 12;
    let (read_end, write_end) = context("pipe", descriptors::pipe())?;
    let mut map: BTreeMap<u32, String> = BTreeMap::new();
    let mut children = Vec::new();
    for index in 0..CHILDREN {
        for key in 0..50 {
            map.insert(index * 100 + key, format!("entry {index} {key}"));
        }
        match context("fork", fork())? {
            Fork::Child => {
                let _ = descriptors::close(write_end);
                // Stays until every fork is done, so each later fork shares with it.
                let _ = descriptors::read(read_end, &mut [0u8; 1]);
                let is_whole = (0..=index).all(|earlier| {
                    (0..50).all(|key| {
                        map.get(&(earlier * 100 + key)) == Some(&format!("entry {earlier} {key}"))
                    })
                });
                let churn: BTreeMap<u32, Vec<u8>> =
                    (0..300).map(|key| (key, vec![key as u8; 40])).collect();
                drop(churn);
                process::exit(if is_whole { index + 10 } else { 1 });
            }
            Fork::Parent(child) => children.push((index, child)),
        }
    }
    context("close", descriptors::close(write_end))?;
    context("close", descriptors::close(read_end))?;
    reap_numbered(children)
}

fn pipe_across_fork() -> Outcome {
    let (read_end, write_end) = context("pipe", descriptors::pipe())?;
    let total = 100_000;
    let child = match context("fork", fork())? {
        Fork::Child => {
            let _ = descriptors::close(read_end);
            let data = pattern(total, 1);
            let status = match descriptors::write(write_end, &data) {
                Ok(_) => 0,
                Err(_) => 4,
            };
            process::exit(status);
        }
        Fork::Parent(child) => child,
    };
    context("close", descriptors::close(write_end))?;
    let received = read_to_end_and_close(read_end, 1500)?;
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(0), || {
        format!("writer {reason}")
    })?;
    check(received == pattern(total, 1), || {
        format!("received {} bytes, differing", received.len())
    })
}

/// A process may hold 256 descriptors at once (here the terminal, duplicated); one more is
/// refused, and closing one makes room again.
fn many_descriptors() -> Outcome {
    const LIMIT: usize = 256;
    let mut opened = Vec::new();
    loop {
        match descriptors::duplicate(descriptors::STDOUT) {
            Ok(fd) => opened.push(fd),
            Err(Errno::TooManyOpenFiles) => break,
            Err(error) => return Err(format!("dup after {} descriptors: {error}", opened.len())),
        }
    }
    let open = opened.len() + 3;
    check(open >= LIMIT, || {
        format!("only {open} descriptors open at once")
    })?;
    let last = opened
        .pop()
        .ok_or_else(|| String::from("no descriptor opened"))?;
    context("close", descriptors::close(last))?;
    let again = context(
        "dup after a close",
        descriptors::duplicate(descriptors::STDOUT),
    )?;
    check(again == last, || {
        format!("got {again}, not the freed {last}")
    })?;
    context("write", descriptors::write(again, b""))?;
    opened.push(again);
    for fd in opened {
        context("close", descriptors::close(fd))?;
    }
    Ok(())
}

/// 100 pipes alive at once, each carrying its own bytes.
fn many_pipes() -> Outcome {
    const PIPES: usize = 100;
    let mut pipes = Vec::new();
    for index in 0..PIPES {
        let (read_end, write_end) = context(&format!("pipe {index}"), descriptors::pipe())?;
        context("write", descriptors::write(write_end, &[index as u8; 3]))?;
        pipes.push((read_end, write_end));
    }
    for (index, &(read_end, write_end)) in pipes.iter().enumerate() {
        context("close", descriptors::close(write_end))?;
        let mut buffer = [0u8; 8];
        let count = context("read", descriptors::read(read_end, &mut buffer))?;
        check(count == 3 && buffer[..3] == [index as u8; 3], || {
            format!("pipe {index} gave {:?}", &buffer[..count])
        })?;
        context("close", descriptors::close(read_end))?;
    }
    Ok(())
}

/// A forked worker computes a result and hands it back over a pipe; the parent reads it, then
/// reaps the worker.
fn worker_result_over_pipe() -> Outcome {
    let (read_end, write_end) = context("pipe", descriptors::pipe())?;
    let child = match context("fork", fork())? {
        Fork::Child => {
            let _ = descriptors::close(read_end);
            let sum: u64 = (1..=1000u64).sum();
            let written = descriptors::write(write_end, &sum.to_le_bytes());
            process::exit(if written.is_ok() { 0 } else { 4 });
        }
        Fork::Parent(child) => child,
    };
    context("close", descriptors::close(write_end))?;
    let mut result = [0u8; 8];
    let count = context("read", descriptors::read(read_end, &mut result))?;
    context("close", descriptors::close(read_end))?;
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(0), || {
        format!("worker {reason}")
    })?;
    check(count == 8 && u64::from_le_bytes(result) == 500_500, || {
        format!("read {count} bytes: {result:?}")
    })
}

/// Read-only data stays read-only in a forked child (only writable memory is shared
/// copy-on-write): a write there ends the child as a page fault (128 + 14).
fn read_only_data_after_fork() -> Outcome {
    static CONSTANT: [u8; 16] = *b"read-only data..";
    let child = match context("fork", fork())? {
        Fork::Child => {
            let address = core::hint::black_box(CONSTANT.as_ptr() as usize);
            // SAFETY: the page is bound read-only, so the store faults and the process ends
            // before any byte changes: nothing ever observes the static written.
            unsafe { (address as *mut u8).write_volatile(0) };
            process::exit(0);
        }
        Fork::Parent(child) => child,
    };
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(128 + 14), || {
        format!("child {reason}")
    })?;
    check(CONSTANT[0] == b'r', || String::from("the constant changed"))
}

fn pipe_end_of_file_on_kill() -> Outcome {
    let (read_end, write_end) = context("pipe", descriptors::pipe())?;
    let child = match context("fork", fork())? {
        Fork::Child => loop {
            syscall::sleep(1_000_000);
        },
        Fork::Parent(child) => child,
    };
    context("close", descriptors::close(write_end))?;
    context("kill", process::kill(child.pid()))?;
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Killed, || format!("child {reason}"))?;
    let count = context("read", descriptors::read(read_end, &mut [0u8; 16]))?;
    check(count == 0, || {
        format!("read {count} bytes after the writer died")
    })?;
    context("close", descriptors::close(read_end))
}

/// A child that dies of a fault while it holds a pipe's write end: the parent reads to end of
/// file before it reaps the child (the usual order), so the end must close as the child dies.
/// Both ways a fault ends a process: on its own stack (a null write), and with no stack left
/// to end on (runaway recursion past the stack's limit).
fn pipe_end_of_file_on_fault() -> Outcome {
    fault_holding_a_write_end("null write", write_to_null)?;
    fault_holding_a_write_end("stack overflow", overflow_the_stack)
}

fn write_to_null() {
    let null = core::hint::black_box(0usize);
    // SAFETY: nothing is bound at address 0, so the store faults and the process ends before
    // any byte is written.
    unsafe { (null as *mut u8).write_volatile(1) };
}

fn overflow_the_stack() {
    core::hint::black_box(recurse(u32::MAX));
}

fn fault_holding_a_write_end(what: &str, fault: fn()) -> Outcome {
    let (read_end, write_end) = context("pipe", descriptors::pipe())?;
    let child = match context("fork", fork())? {
        Fork::Child => {
            let _ = descriptors::close(read_end);
            let _ = descriptors::write(write_end, b"before");
            fault();
            process::exit(0);
        }
        Fork::Parent(child) => child,
    };
    context("close", descriptors::close(write_end))?;
    let received = read_to_end_and_close(read_end, 64)?;
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(128 + 14), || {
        format!("{what}: child {reason}")
    })?;
    check(received == b"before", || {
        format!("{what}: received {received:?}")
    })
}

/// Killing a process kills its child and grandchild too: none of the three is listed in the
/// process table afterwards, even before the parent reaps (and the leak check around every
/// case sees their frames come back).
fn kill_a_process_tree() -> Outcome {
    let world = context("world", libos_posix::world::require())?;
    let child = match context("fork", fork())? {
        Fork::Child => {
            let Ok(Fork::Parent(_grandchild)) = fork() else {
                loop {
                    syscall::sleep(1_000_000);
                }
            };
            loop {
                syscall::sleep(1_000_000);
            }
        }
        Fork::Parent(child) => child,
    };
    let child_pid = child.pid();
    let grandchild_pid = loop {
        let listed = world.processes.snapshot();
        if let Some(entry) = listed.iter().find(|entry| entry.parent == child_pid) {
            break entry.pid;
        }
        syscall::sleep(1_000);
    };
    context("kill", process::kill(child_pid))?;
    let is_listed = |pid: u32| {
        world
            .processes
            .snapshot()
            .iter()
            .any(|entry| entry.pid == pid)
    };
    check(!is_listed(child_pid) && !is_listed(grandchild_pid), || {
        String::from("a killed process is still listed before its parent reaps it")
    })?;
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Killed, || format!("child {reason}"))?;
    check(!is_listed(grandchild_pid), || {
        format!("the grandchild {grandchild_pid} is still listed")
    })?;
    check(
        process::kill(grandchild_pid) == Err(Errno::NoSuchProcess),
        || String::from("the grandchild can still be killed"),
    )
}

fn spawn_with_redirection() -> Outcome {
    let output = context("create", File::create("/tmp/ut-echo"))?;
    let stdio = Stdio {
        stdout: output.descriptor(),
        ..Stdio::INHERIT
    };
    let child = context(
        "spawn",
        process::spawn("/bin/echo", &["echo", "spawned", "with args"], stdio),
    )?;
    drop(output);
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(0), || format!("echo {reason}"))?;
    let text = read_file("/tmp/ut-echo")?;
    check(text == b"spawned with args\n", || {
        format!("echo wrote {:?}", String::from_utf8_lossy(&text))
    })?;
    check(
        process::spawn("/bin/none", &["none"], Stdio::INHERIT).map(drop) == Err(Errno::NotFound),
        || String::from("spawning a missing program"),
    )?;
    context("remove", files::remove_file("/tmp/ut-echo"))
}

/// `bare::spawn` starts a program from `/bin` outside the world, as an environment its
/// starter waits for with the kernel's `Wait`; a missing program, a file that is not one and an
/// argument string longer than the kernel takes are refused, and nothing is left behind.
fn bare_environments() -> Outcome {
    let child = context("bare spawn", bare::spawn("true", "an argument"))?;
    let reason = context("wait", syscall::wait(child).map_err(Errno::from))?;
    check(reason == ExitReason::Exited(0), || format!("true {reason}"))?;
    let missing = bare::spawn("none", "").map(drop);
    check(missing == Err(Errno::NotFound), || {
        format!("a missing program gave {missing:?}")
    })?;
    write_file("/tmp/ut-not-a-program", &pattern(5_000, 3))?;
    let garbage = bare::spawn("/tmp/ut-not-a-program", "").map(drop);
    check(garbage.is_err(), || {
        String::from("a file that is no program started")
    })?;
    let too_long = "x".repeat(exo_abi::ARGUMENTS_MAX_BYTES as usize + 1);
    let refused = bare::spawn("true", &too_long).map(drop);
    check(refused == Err(Errno::InvalidArgument), || {
        format!("arguments over the limit gave {refused:?}")
    })?;
    context("remove", files::remove_file("/tmp/ut-not-a-program"))
}

/// Writes `bytes` to a new file at `path`.
fn write_file(path: &str, bytes: &[u8]) -> Outcome {
    let file = context("create", File::create(path))?;
    context("write", file.write(bytes)).map(drop)
}

/// Runs the program at `path` with `arguments`, its output into a file; returns that output.
fn output_of(path: &str, arguments: &[&str]) -> Result<Vec<u8>, String> {
    let output = context("create", File::create("/tmp/ut-output"))?;
    let stdio = Stdio {
        stdout: output.descriptor(),
        ..Stdio::INHERIT
    };
    let child = context("spawn", process::spawn(path, arguments, stdio))?;
    drop(output);
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(0), || {
        format!("{path} {reason}")
    })?;
    read_file("/tmp/ut-output")
}

/// A program image kept from one spawn is not used once the file changed: rewritten in
/// place, or replaced by a rename.
fn spawn_after_the_program_changes() -> Outcome {
    let (echo, truth) = (read_file("/bin/echo")?, read_file("/bin/true")?);
    write_file("/tmp/ut-program", &echo)?;
    let said = output_of("/tmp/ut-program", &["p", "first"])?;
    check(said == b"first\n", || format!("echo said {said:?}"))?;
    write_file("/tmp/ut-program", &truth)?;
    let said = output_of("/tmp/ut-program", &["p", "second"])?;
    check(said.is_empty(), || {
        format!("true, rewritten over echo, said {said:?}")
    })?;
    write_file("/tmp/ut-program-next", &echo)?;
    context(
        "rename",
        files::rename("/tmp/ut-program-next", "/tmp/ut-program"),
    )?;
    let said = output_of("/tmp/ut-program", &["p", "third"])?;
    check(said == b"third\n", || {
        format!("echo, renamed over true, said {said:?}")
    })?;
    context("remove", files::remove_file("/tmp/ut-program"))?;
    context("remove", files::remove_file("/tmp/ut-output"))
}

/// More programs running at once than this process keeps images of: those kept stay while
/// their children run (the children see their code through them), the rest are loaded for
/// one spawn; later spawns reuse the windows.
fn spawn_more_programs_than_are_kept() -> Outcome {
    const PROGRAMS: usize = 11;
    let cat = read_file("/bin/cat")?;
    let path = |index: usize| format!("/tmp/ut-cat{index}");
    let output = |index: usize| format!("/tmp/ut-cat{index}.out");
    for index in 0..PROGRAMS {
        write_file(&path(index), &cat)?;
    }
    let mut running = Vec::new();
    for index in 0..PROGRAMS {
        let (read_end, write_end) = context("pipe", descriptors::pipe())?;
        let file = context("create", File::create(&output(index)))?;
        let stdio = Stdio {
            stdin: read_end,
            stdout: file.descriptor(),
            ..Stdio::INHERIT
        };
        let child = context("spawn", process::spawn(&path(index), &["cat"], stdio))?;
        context("close", descriptors::close(read_end))?;
        running.push((index, child, write_end));
    }
    // Every child is waiting for its input now; each gets its line and its end of file.
    for (index, child, write_end) in running {
        let line = format!("line {index}\n");
        context("write", descriptors::write(write_end, line.as_bytes()))?;
        context("close", descriptors::close(write_end))?;
        let reason = context("wait", process::wait(child))?;
        check(reason == ExitReason::Exited(0), || {
            format!("cat {index} {reason}")
        })?;
        let copied = read_file(&output(index))?;
        check(copied == line.as_bytes(), || {
            format!("cat {index} wrote {copied:?}")
        })?;
    }
    // Again, one at a time: the windows are reused.
    for index in (0..PROGRAMS).rev() {
        let said = output_of(&path(index), &["cat", "/tmp/ut-cat0.out"])?;
        check(said == b"line 0\n", || format!("cat {index} said {said:?}"))?;
    }
    for index in 0..PROGRAMS {
        context("remove", files::remove_file(&path(index)))?;
        context("remove", files::remove_file(&output(index)))?;
    }
    context("remove", files::remove_file("/tmp/ut-output"))
}

fn shared_cache() -> Outcome {
    context("create", File::create("/tmp/ut-shared"))
        .and_then(|file| context("write", file.write(&[b'.'; 8192])))?;
    let child = match context("fork", fork())? {
        Fork::Child => {
            let written = OpenOptions::new()
                .write(true)
                .open("/tmp/ut-shared")
                .and_then(|file| file.seek(4096).and_then(|_| file.write(b"child")));
            process::exit(if written.is_ok() { 0 } else { 5 });
        }
        Fork::Parent(child) => child,
    };
    let file = context(
        "open",
        OpenOptions::new().write(true).open("/tmp/ut-shared"),
    )?;
    context("write", file.write(b"parent"))?;
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Exited(0), || {
        format!("child {reason}")
    })?;
    let text = read_file("/tmp/ut-shared")?;
    check(
        text.starts_with(b"parent") && &text[4096..4101] == b"child",
        || String::from("a write of one process is not seen by the other"),
    )?;
    drop(file);
    context("remove", files::remove_file("/tmp/ut-shared"))
}

/// A process killed while it writes a file leaves the file whole up to some write: the file
/// system is never caught halfway (the killer holds the file-system lock while it kills).
fn kill_mid_write() -> Outcome {
    /// The writer stops there and waits to be killed: a parent kept from the file system while
    /// the writer retakes its lock at every slot boundary would otherwise find a file too large
    /// for its heap (seen under load: 16 MiB written before the parent looked).
    const WRITES_MAX: usize = 2_000;
    let chunk = [b'k'; 1000];
    let child = match context("fork", fork())? {
        Fork::Child => {
            let Ok(file) = File::create("/tmp/ut-killed") else {
                process::exit(6);
            };
            for _ in 0..WRITES_MAX {
                if file.write(&chunk).is_err() {
                    process::exit(7);
                }
            }
            loop {
                syscall::sleep(1_000_000);
            }
        }
        Fork::Parent(child) => child,
    };
    while files::metadata("/tmp/ut-killed").map_or(0, |metadata| metadata.size) < 200_000 {
        syscall::yield_now();
    }
    context("kill", process::kill(child.pid()))?;
    let reason = context("wait", process::wait(child))?;
    check(reason == ExitReason::Killed, || format!("writer {reason}"))?;
    let text = read_file("/tmp/ut-killed")?;
    check(
        text.len() % chunk.len() == 0 && text.iter().all(|&byte| byte == b'k'),
        || format!("{} bytes after the kill, not whole writes", text.len()),
    )?;
    context("sync", files::sync())?;
    context("remove", files::remove_file("/tmp/ut-killed"))
}

#[inline(never)]
fn recurse(depth: u32) -> u64 {
    let mut frame = [depth as u64; 512];
    core::hint::black_box(&mut frame);
    if depth == 0 {
        frame[0]
    } else {
        recurse(depth - 1) + frame[511]
    }
}

fn stack_growth() -> Outcome {
    // 4 KiB of locals per level: 1 MiB of stack, far past the 64 KiB a program starts with.
    let sum = recurse(256);
    check(sum == (1..=256).sum::<u64>(), || format!("sum {sum}"))
}

fn heap_growth() -> Outcome {
    let mut big = vec![0u8; 8 * 1024 * 1024];
    big[8 * 1024 * 1024 - 1] = 9;
    check(
        core::hint::black_box(&big)[8 * 1024 * 1024 - 1] == 9,
        || String::from("8 MiB vector"),
    )
}

/// Dropping a map of many small allocations takes time in proportion to their number, not to
/// its square: the heap does not walk a list of every free block on each free. Other blocks,
/// allocated between the map's and kept, leave each freed block a hole of its own.
fn heap_frees_quickly() -> Outcome {
    const ENTRIES: u64 = 11_000;
    /// Far above what it takes (tens of milliseconds), far below a free list walked per free.
    const DROP_LIMIT_MILLISECONDS: u64 = 1_000;
    let now = libos_posix::clock::milliseconds;
    let start = now();
    let mut map = BTreeMap::new();
    let mut kept = Vec::with_capacity(ENTRIES as usize);
    for key in 0..ENTRIES {
        map.insert(key, format!("value {key}"));
        kept.push(alloc::boxed::Box::new(key));
    }
    let built = now();
    drop(core::hint::black_box(map));
    let dropped = now();
    drop(kept);
    libos_posix::println!(
        "usertests:   {ENTRIES}-entry map: built in {} ms, dropped in {} ms",
        built - start,
        dropped - built
    );
    check(dropped - built < DROP_LIMIT_MILLISECONDS, || {
        format!("dropping took {} ms", dropped - built)
    })
}

//! The operations of the benchmark rows, on Linux: `boot compare` builds this program statically,
//! boots Debian's Linux kernel in the same emulated machine as the exokernel with this program
//! as init (PID 1) in an initramfs, and reads its figure lines from the serial console. Each
//! figure is the time-stamp-counter cost per operation of a loop, minus the cost per iteration
//! of the same loop left empty, as `tests/programs/bench` does; under `-icount shift=0` that counts guest
//! instructions. Rows (names as the exokernel's):
//! - B1 `getppid`;
//! - B2 a one-byte pipe round trip with a child process (Linux's IPC of the same shape);
//! - B3 a store to a page made read-only, a SIGSEGV handler that makes it writable, resume;
//! - B4 `pread` of 4 KiB of a cached file;
//! - B5 create, write 1 KiB, close, unlink (the initramfs's in-memory file system);
//! - B6 `posix_spawn` (vfork and exec) of `/true`, a one-page static program that exits, and
//!   wait;
//! - B7 fork, the child exits at once, wait.
//!
//! Then it powers the machine off.

use std::arch::x86_64::{__rdtscp, _mm_lfence};
use std::ffi::CString;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

const ITERATIONS: u64 = 100_000;

fn timestamp() -> u64 {
    let mut processor = 0;
    // SAFETY: rdtscp and lfence only read the counter and order instructions.
    unsafe {
        let time = __rdtscp(&mut processor);
        _mm_lfence();
        time
    }
}

/// Average counter ticks per call of `operation` over `iterations` calls, after a warm-up of a
/// hundredth as many.
fn ticks_per(iterations: u64, mut operation: impl FnMut()) -> u64 {
    for _ in 0..iterations / 100 {
        operation();
    }
    let start = timestamp();
    for _ in 0..iterations {
        operation();
    }
    (timestamp() - start) / iterations
}

fn check(what: &str, result: libc::c_long) {
    if result < 0 {
        println!(
            "linux-bench: {what} failed: {}",
            std::io::Error::last_os_error()
        );
        power_off();
    }
}

fn b1() -> u64 {
    // SAFETY: getppid has no preconditions.
    ticks_per(ITERATIONS, || unsafe {
        libc::getppid();
    })
}

fn b2() -> u64 {
    let mut there = [0; 2];
    let mut back = [0; 2];
    // SAFETY: each array has room for the two descriptors pipe writes.
    unsafe {
        check("pipe", libc::pipe(there.as_mut_ptr()).into());
        check("pipe", libc::pipe(back.as_mut_ptr()).into());
    }
    // SAFETY: the child only reads and writes its pipes and exits with _exit.
    let child = unsafe { libc::fork() };
    check("fork", child.into());
    let mut byte = [0u8; 1];
    if child == 0 {
        // SAFETY: closing the ends this side does not use, so that the parent's close ends
        // the loop below.
        unsafe {
            libc::close(there[1]);
            libc::close(back[0]);
        }
        loop {
            // SAFETY: `byte` is one writable byte; the descriptors are the pipes made above.
            unsafe {
                if libc::read(there[0], byte.as_mut_ptr().cast(), 1) != 1 {
                    libc::_exit(0);
                }
                libc::write(back[1], byte.as_ptr().cast(), 1);
            }
        }
    }
    // SAFETY: the child's ends, which this side does not use.
    unsafe {
        libc::close(there[0]);
        libc::close(back[1]);
    }
    let ticks = ticks_per(ITERATIONS, || {
        // SAFETY: as in the child.
        unsafe {
            libc::write(there[1], byte.as_ptr().cast(), 1);
            libc::read(back[0], byte.as_mut_ptr().cast(), 1);
        }
    });
    // SAFETY: closing the pipe ends the child's loop; then it is reaped.
    unsafe {
        libc::close(there[1]);
        libc::waitpid(child, ptr::null_mut(), 0);
        libc::close(back[0]);
    }
    ticks
}

/// The page B3 protects and touches.
static FAULT_PAGE: AtomicUsize = AtomicUsize::new(0);

extern "C" fn unprotect(_signal: libc::c_int) {
    let page = FAULT_PAGE.load(Ordering::Relaxed);
    // SAFETY: the page was mapped by b3 and stays mapped; mprotect is async-signal-safe.
    unsafe {
        libc::mprotect(
            page as *mut libc::c_void,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
        );
    }
}

fn b3() -> u64 {
    // SAFETY: an anonymous private mapping of one page; the handler is a plain function.
    let page = unsafe {
        let page = libc::mmap(
            ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        check("mmap", if page == libc::MAP_FAILED { -1 } else { 0 });
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = unprotect as *const () as usize;
        action.sa_flags = libc::SA_NODEFER;
        check(
            "sigaction",
            libc::sigaction(libc::SIGSEGV, &action, ptr::null_mut()).into(),
        );
        page
    };
    FAULT_PAGE.store(page as usize, Ordering::Relaxed);
    ticks_per(ITERATIONS, || {
        // SAFETY: the page is mapped; the store faults, the handler makes it writable and the
        // store is made again.
        unsafe {
            libc::mprotect(page, 4096, libc::PROT_READ);
            ptr::write_volatile(page.cast::<u64>(), 1);
        }
    })
}

fn path(text: &str) -> CString {
    CString::new(text).expect("no NUL in a path")
}

fn b4() -> u64 {
    let file = path("/cached");
    let data = [0x5au8; 4096];
    let mut buffer = [0u8; 4096];
    // SAFETY: the path is a C string; the buffers have the lengths passed.
    unsafe {
        let fd = libc::open(file.as_ptr(), libc::O_CREAT | libc::O_RDWR, 0o644);
        check("open", fd.into());
        check(
            "write",
            libc::write(fd, data.as_ptr().cast(), 4096) as libc::c_long,
        );
        let ticks = ticks_per(ITERATIONS / 10, || {
            libc::pread(fd, buffer.as_mut_ptr().cast(), 4096, 0);
        });
        libc::close(fd);
        libc::unlink(file.as_ptr());
        ticks
    }
}

fn b5() -> u64 {
    let file = path("/small");
    let data = [0x33u8; 1024];
    ticks_per(2_000, || {
        // SAFETY: as in b4.
        unsafe {
            let fd = libc::creat(file.as_ptr(), 0o644);
            libc::write(fd, data.as_ptr().cast(), 1024);
            libc::close(fd);
            libc::unlink(file.as_ptr());
        }
    })
}

fn b6() -> u64 {
    let program = path("/true");
    let argv = [program.as_ptr(), ptr::null()];
    let envp: [*const libc::c_char; 1] = [ptr::null()];
    ticks_per(200, || {
        let mut child = 0;
        // SAFETY: argv and envp are NULL-terminated arrays of C strings that outlive the call.
        unsafe {
            let error = libc::posix_spawn(
                &mut child,
                program.as_ptr(),
                ptr::null(),
                ptr::null(),
                argv.as_ptr().cast(),
                envp.as_ptr().cast(),
            );
            if error == 0 {
                libc::waitpid(child, ptr::null_mut(), 0);
            }
        }
    })
}

fn b7() -> u64 {
    ticks_per(200, || {
        // SAFETY: the child exits at once with _exit; the parent reaps it.
        unsafe {
            let child = libc::fork();
            if child == 0 {
                libc::_exit(0);
            }
            libc::waitpid(child, ptr::null_mut(), 0);
        }
    })
}

/// A row: its ID, its name, and the function that measures it.
type Row = (&'static str, &'static str, fn() -> u64);

/// Powers the machine off when this program is init; otherwise (run by hand) just exits.
fn power_off() -> ! {
    // SAFETY: getpid has no preconditions; as PID 1 it syncs and powers the machine it owns
    // off, and nothing runs after it.
    unsafe {
        if libc::getpid() == 1 {
            libc::sync();
            libc::reboot(libc::RB_POWER_OFF);
        }
    }
    std::process::exit(0)
}

fn main() {
    println!("linux-bench: measuring");
    let empty_loop = ticks_per(ITERATIONS, || std::hint::black_box(()));
    let rows: [Row; 7] = [
        ("B1", "null_syscall", b1),
        ("B2", "ipc_round_trip", b2),
        ("B3", "user_fault_round_trip", b3),
        ("B4", "cached_read_4k", b4),
        ("B5", "create_write_1k_close_unlink", b5),
        ("B6", "spawn_wait_true", b6),
        ("B7", "fork_wait", b7),
    ];
    for (id, name, row) in rows {
        let ticks = row().saturating_sub(empty_loop);
        println!("{id}.linux {name} {ticks} instructions");
    }
    println!("linux-bench: done");
    power_off();
}

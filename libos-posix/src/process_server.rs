//! The process server of the microkernel path: an environment that creates every process of
//! the world (so it is the kernel's parent of each, and alone waits for them), and waits for
//! and kills them on its clients' behalf (`process_client` is the other side and states the
//! messages).
//!
//! A wait for a process still running is deferred (`exo_abi::ipc::ReplyAndWaitFlags::DEFER`):
//! the caller stays blocked in its call while the server serves everyone else, and is answered
//! when the kernel tells the server that a child ended
//! (`exo_abi::ipc::ReplyAndWaitFlags::CHILD_ENDS`). The server reaps a process as soon as it
//! ends, keeps its exit reason until its parent waits, and kills the processes of a parent that
//! ended (the kernel does the same for the environments a parent created itself, on the library
//! OS path).
//!
//! A client can make the server do nothing it could not do with its own environments: it
//! waits only for its own children, kills only processes of this server (never itself, the
//! servers or init), and has at most [`CHILDREN_MAX`] living children.

use crate::error::{Errno, Result};
use crate::process_client::{BUILDER_RIGHTS, CREATE, KILL, WAIT, WAIT_NO_HANG, name_of};
use crate::syscall::{self, Answer, Capability, Received, Served};
use crate::{println, servers};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use exo_abi::ExitReason;
use exo_abi::capability::Rights;
use exo_abi::ipc::Message;

/// The ramdisk program that runs [`run`].
pub const PROGRAM: &str = "process-server";

/// Most processes listed at once (each holds a slot of the server's capability table while it
/// lives).
pub const PROCESSES_MAX: usize = 192;
/// Most living children one process has at once.
pub const CHILDREN_MAX: usize = 64;
/// The name of a process created with an empty one.
const UNNAMED: &str = "process";

/// A process this server created.
struct Process {
    /// The environment that asked for it.
    parent: u32,
    /// The server's handle over it, with every right.
    control: Capability,
    /// How it ended, once it has (it is reaped then), until its parent waits.
    ended: Option<ExitReason>,
}

struct ProcessServer {
    endpoint: Capability,
    /// The environment that started the server, and the server's handle to give it handles.
    starter: (u32, Capability),
    processes: BTreeMap<u32, Process>,
    /// Callers whose wait the server deferred, with the pid each waits for.
    waiters: Vec<(u32, u32)>,
}

/// Runs the process server: creates the endpoint, gives the environment that started it
/// (`servers::start`, which lent it [`Rights::GRANT`] over itself) a handle to call it, and serves
/// for ever. Returns only when it cannot start.
pub fn run() -> Result<()> {
    let grant = servers::await_capability(|_, held| held == Rights::GRANT)
        .ok_or(Errno::PermissionDenied)?;
    let (starter, _) = syscall::capability_inspect(grant)?;
    let endpoint = syscall::endpoint_create()?;
    syscall::capability_copy(endpoint, Rights::CALL, grant)?;
    let mut server = ProcessServer {
        endpoint,
        starter: (starter, grant),
        processes: BTreeMap::new(),
        waiters: Vec::new(),
    };
    let mut answer = Answer::Nothing;
    loop {
        answer = match syscall::endpoint_serve(endpoint, answer, 0, true) {
            Ok(Served::Call(call)) => server.answer(call),
            Ok(Served::ChildEnded) => {
                server.collect();
                Answer::Nothing
            }
            Err(error) => {
                println!("process-server: {}", error.describe());
                Answer::Nothing
            }
        };
    }
}

/// The reply that says `error`.
fn failure(error: Errno) -> Answer {
    Answer::Reply([error.code(), 0, 0, 0])
}

impl ProcessServer {
    fn answer(&mut self, call: Received) -> Answer {
        let [operation, first, second, third] = call.message;
        let outcome = match operation {
            CREATE => self.create(call.caller, name_of([first, second, third])),
            WAIT => return self.wait(call.caller, first, second),
            KILL => self.kill(call.caller, first),
            _ => Err(Errno::InvalidArgument),
        };
        match outcome {
            Ok(reply) => Answer::Reply(reply),
            Err(error) => failure(error),
        }
    }

    /// The server's handle to give `caller` capabilities: its own over a living process, or the
    /// one its starter lent it.
    fn grant_over(&self, caller: u32) -> Option<Capability> {
        if caller == self.starter.0 {
            return Some(self.starter.1);
        }
        self.living(caller).map(|process| process.control)
    }

    fn living(&self, pid: u32) -> Option<&Process> {
        self.processes
            .get(&pid)
            .filter(|process| process.ended.is_none())
    }

    /// [`CREATE`]: a new environment, and the caller's handle to build it with.
    fn create(&mut self, caller: u32, name: alloc::string::String) -> Result<Message> {
        let grant = self.grant_over(caller).ok_or(Errno::PermissionDenied)?;
        let children = self
            .processes
            .values()
            .filter(|process| process.parent == caller && process.ended.is_none())
            .count();
        if self.processes.len() >= PROCESSES_MAX || children >= CHILDREN_MAX {
            return Err(Errno::NoMemory);
        }
        let name = if name.is_empty() { UNNAMED } else { &name };
        let control = syscall::create_environment(name)?;
        let given = syscall::capability_inspect(control).and_then(|(pid, _)| {
            syscall::capability_copy(self.endpoint, Rights::CALL, control)?;
            let handle = syscall::capability_copy(control, BUILDER_RIGHTS, grant)?;
            Ok((pid, handle))
        });
        let (pid, handle) = match given {
            Ok(given) => given,
            Err(error) => {
                let _ = syscall::kill_environment(control, 0);
                let _ = syscall::wait(control);
                return Err(error.into());
            }
        };
        self.processes.insert(
            pid,
            Process {
                parent: caller,
                control,
                ended: None,
            },
        );
        Ok([0, u64::from(pid), handle.0, 0])
    }

    /// [`WAIT`]: the answer now when the process has ended (or with [`WAIT_NO_HANG`]), else
    /// the caller's call is deferred.
    fn wait(&mut self, caller: u32, pid: u64, flags: u64) -> Answer {
        if flags & !WAIT_NO_HANG != 0 {
            return failure(Errno::InvalidArgument);
        }
        let Some(pid) = u32::try_from(pid).ok().filter(|pid| {
            self.processes
                .get(pid)
                .is_some_and(|process| process.parent == caller)
        }) else {
            return failure(Errno::NoSuchProcess);
        };
        // Not yet told of its end, perhaps: calls come before the kernel's notice.
        self.collect();
        if let Some(reason) = self.reap(pid) {
            return Answer::Reply(ended(reason));
        }
        if flags & WAIT_NO_HANG != 0 {
            return Answer::Reply([0; 4]);
        }
        self.waiters.push((caller, pid));
        Answer::Defer
    }

    /// [`KILL`]: any living process of this server's but the caller.
    fn kill(&mut self, caller: u32, pid: u64) -> Result<Message> {
        self.grant_over(caller).ok_or(Errno::PermissionDenied)?;
        let pid = u32::try_from(pid).map_err(|_| Errno::NoSuchProcess)?;
        if pid == caller {
            return Err(Errno::InvalidArgument);
        }
        let process = self.living(pid).ok_or(Errno::NoSuchProcess)?;
        syscall::kill_environment(process.control, 0)?;
        Ok([0; 4])
    }

    /// Forgets process `pid` and returns how it ended, if it has.
    fn reap(&mut self, pid: u32) -> Option<ExitReason> {
        let reason = self.processes.get(&pid)?.ended?;
        self.processes.remove(&pid);
        Some(reason)
    }

    /// Reaps every process that has ended, kills the living children of each, answers the
    /// waits for them, and forgets those nobody can wait for any more.
    fn collect(&mut self) {
        let mut ended_now = Vec::new();
        for (&pid, process) in self
            .processes
            .iter_mut()
            .filter(|(_, process)| process.ended.is_none())
        {
            if let Ok(Some(reason)) = syscall::try_wait(process.control) {
                process.ended = Some(reason);
                ended_now.push(pid);
            }
        }
        if ended_now.is_empty() {
            return;
        }
        for process in self.processes.values() {
            if process.ended.is_none() && ended_now.contains(&process.parent) {
                let _ = syscall::kill_environment(process.control, 0);
            }
        }
        let waiters = core::mem::take(&mut self.waiters);
        for (caller, pid) in waiters {
            match self.reap(pid) {
                // A caller that ended meanwhile is owed nothing: the reply goes nowhere.
                Some(reason) => {
                    let _ = syscall::endpoint_reply(self.endpoint, caller, ended(reason));
                }
                None => self.waiters.push((caller, pid)),
            }
        }
        let orphans: Vec<u32> = self
            .processes
            .iter()
            .filter(|(_, process)| {
                process.ended.is_some()
                    && process.parent != self.starter.0
                    && self.living(process.parent).is_none()
            })
            .map(|(&pid, _)| pid)
            .collect();
        for pid in orphans {
            self.processes.remove(&pid);
        }
    }
}

/// The reply to a wait for a process that ended with `reason`.
fn ended(reason: ExitReason) -> Message {
    [0, 1, reason.encode(), 0]
}

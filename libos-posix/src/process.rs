//! Processes: spawning a program from the file system, waiting for it, killing it, exiting.
//! A process is an environment this library started and lists in the world's process table;
//! its pid is its environment id.
//!
//! Spawning builds the child entirely here (see `images` and `loader`): its program's pages
//! (shared from an image kept from an earlier spawn where they are read-only), a stack, the
//! world shared in, a startup block with its arguments, descriptors and working directory, and
//! a capability to kill with; then the kernel is asked only to start it.
//!
//! Killing takes the world's locks first, so that the victim is never stopped halfway through
//! a change to shared state; it kills the process's listed descendants with it, closes their
//! pipe ends and unlists them. A process that exits kills its remaining children, because they
//! see the world through its bindings; reaping a process clears its whole listed subtree.

use crate::descriptors::{self, Descriptor, STDERR, STDIN, STDOUT};
use crate::error::{Errno, Result};
use crate::layout::{self, STACK_TOP, STARTUP_ADDRESS};
use crate::startup::{STARTUP_TAG, StartupBlock};
use crate::syscall::{self, Capability};
use crate::{files, images, loader, process_client, world};
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use exo_abi::capability::Rights;
use exo_abi::{ExitReason, PageRights};
use spin::Mutex;

/// A child this process started and has not waited for yet.
#[derive(Debug)]
pub struct Child {
    capability: Capability,
    pid: u32,
}

impl Child {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// This process's handle over it, to build and start it with.
    pub(crate) fn capability(&self) -> Capability {
        self.capability
    }
}

/// This process's handle of the capability it kills with (Rights::CONTROL over the world's root), or
/// `SELF` in the root itself.
static SESSION: Mutex<Capability> = Mutex::new(Capability::SELF);

/// The working directory.
static DIRECTORY: Mutex<String> = Mutex::new(String::new());

/// The program's name, for the process table.
static PROGRAM_NAME: Mutex<String> = Mutex::new(String::new());

/// The child the last fork made, between building it and returning it.
static FORKED: Mutex<Option<Child>> = Mutex::new(None);

/// Whether this process has created a child (spawned or forked), so that its exit looks for
/// children to kill only then (a scan of the whole process table under the world's lock).
static HAS_CREATED_CHILDREN: AtomicBool = AtomicBool::new(false);

/// Whether this process is inside one of the library's locks at this instant (its heap, its
/// descriptors, its own state or the world's): then an exception handler must not end it
/// through [`exit`], which takes them.
pub fn is_inside_a_lock() -> bool {
    crate::runtime::heap::is_busy()
        || crate::descriptors::is_busy()
        || SESSION.is_locked()
        || DIRECTORY.is_locked()
        || PROGRAM_NAME.is_locked()
        || FORKED.is_locked()
        || crate::images::is_busy()
        || world::get().is_some_and(world::World::is_locked_by_me)
}

/// Records what the startup block says about this process.
pub fn install(session: u64, directory: &str, program_name: &str) {
    if session != 0 {
        *SESSION.lock() = Capability(session);
    }
    *DIRECTORY.lock() = String::from(directory);
    *PROGRAM_NAME.lock() = String::from(program_name);
}

/// This process's handle of its session capability.
pub fn session() -> Capability {
    *SESSION.lock()
}

/// The program's name.
pub fn program_name() -> String {
    PROGRAM_NAME.lock().clone()
}

/// In a child just forked: its own handle of the session capability.
pub fn became_forked_child(session: u64) {
    // No session handle on the microkernel path: the process server kills.
    *SESSION.lock() = if session == 0 {
        Capability::SELF
    } else {
        Capability(session)
    };
    *FORKED.lock() = None;
    HAS_CREATED_CHILDREN.store(false, Ordering::Relaxed);
}

/// In the parent of a fork: lists the new child before it starts.
pub fn record_forked(child: Child, name: &str) {
    if let Some(world) = world::get() {
        world.processes.add(child.pid, self::pid(), name);
    }
    *FORKED.lock() = Some(child);
}

/// In the parent of a fork: the child just started, `pid`.
pub fn adopt_forked(pid: u32) -> Result<Child> {
    FORKED
        .lock()
        .take()
        .filter(|child| child.pid == pid)
        .ok_or(Errno::NoSuchProcess)
}

/// This process's pid, learnt from the kernel once ([`learn_pid`]) rather than asked for by
/// every lock and file operation; 0 until then.
static PID: AtomicU32 = AtomicU32::new(0);

/// This process's pid.
pub fn pid() -> u32 {
    match PID.load(Ordering::Relaxed) {
        0 => syscall::environment_id(),
        pid => pid,
    }
}

/// Learns this process's pid: at start, and in a forked child (whose memory came with its
/// parent's) as soon as it can write its own pages, before any lock or file operation.
pub(crate) fn learn_pid() {
    PID.store(syscall::environment_id(), Ordering::Relaxed);
}

/// The working directory.
pub fn current_directory() -> String {
    let directory = DIRECTORY.lock();
    if directory.is_empty() {
        String::from("/")
    } else {
        directory.clone()
    }
}

/// Changes the working directory to `path`, which must name a directory whose absolute path
/// (with `.` and `..` resolved) fits the
/// [`DIRECTORY_BYTES_MAX`](crate::startup::DIRECTORY_BYTES_MAX) bytes a child is given: a longer
/// one fails with `NameTooLong`, and the directory stays (every spawn would fail).
pub fn change_directory(path: &str) -> Result<()> {
    let absolute = files::normalized(&files::absolute(path));
    if absolute.len() > crate::startup::DIRECTORY_BYTES_MAX {
        return Err(Errno::NameTooLong);
    }
    if !files::metadata(&absolute)?.is_directory() {
        return Err(Errno::NotADirectory);
    }
    *DIRECTORY.lock() = absolute;
    Ok(())
}

/// Where a child's standard input, output and error come from: descriptors of this process.
#[derive(Clone, Copy, Debug)]
pub struct Stdio {
    pub stdin: usize,
    pub stdout: usize,
    pub stderr: usize,
}

impl Stdio {
    /// The same three descriptors this process has.
    pub const INHERIT: Stdio = Stdio {
        stdin: STDIN,
        stdout: STDOUT,
        stderr: STDERR,
    };
}

/// Where the program named `name` is, as the shell finds it: `name` itself (made absolute)
/// when it has a slash, else in `/bin`.
pub fn program_path(name: &str) -> String {
    if name.contains('/') {
        files::absolute(name).into_owned()
    } else {
        alloc::format!("/bin/{name}")
    }
}

/// Starts the program at `path` with `arguments` (the first is conventionally its name).
pub fn spawn(path: &str, arguments: &[&str], stdio: Stdio) -> Result<Child> {
    let world = world::require()?;
    let absolute = files::absolute(path);
    let mut image = images::prepare(&absolute)?;
    let name = absolute.rsplit('/').next().unwrap_or(&absolute);
    let mut block = StartupBlock::empty();
    block.parent = pid();
    for argument in arguments {
        if !block.push_argument(argument) {
            return Err(Errno::InvalidArgument);
        }
    }
    if !block.set_directory(&current_directory()) {
        return Err(Errno::NameTooLong);
    }
    for (slot, fd) in [stdio.stdin, stdio.stdout, stdio.stderr]
        .into_iter()
        .enumerate()
    {
        block.descriptors[slot] = descriptors::get(fd)?;
    }
    let child = create_child(name)?;
    match build(&child, &mut image, &mut block) {
        Ok(entry) => {
            world.processes.add(child.pid, pid(), name);
            let capability = child.capability;
            syscall::start_environment(capability, entry, STACK_TOP, STARTUP_ADDRESS, STARTUP_TAG)?;
            Ok(child)
        }
        Err(error) => {
            discard(child);
            Err(error)
        }
    }
}

/// An empty environment for a new process named `name`, with a handle to build and start it:
/// on the microkernel path the process server makes it (and alone can wait for it).
pub(crate) fn create_child(name: &str) -> Result<Child> {
    HAS_CREATED_CHILDREN.store(true, Ordering::Relaxed);
    if let Some(server) = process_client::server() {
        let (capability, pid) = process_client::create(server, name)?;
        return Ok(Child { capability, pid });
    }
    let capability = syscall::create_environment(name)?;
    let pid = syscall::capability_inspect(capability).map_or(0, |(id, _)| id);
    Ok(Child { capability, pid })
}

/// Ends `child`, which was never started or is half built, and reaps it.
pub(crate) fn discard(child: Child) {
    let _ = syscall::kill_environment(child.capability, 0);
    let _ = reap(&child, false);
    crate::pipes::forget_environment(child.pid);
}

/// Waits for `child` to end (or, with `no_hang`, looks whether it has) and reaps it: through
/// the process server on the microkernel path, which then leaves the handle to build with,
/// to drop.
fn reap(child: &Child, no_hang: bool) -> Result<Option<ExitReason>> {
    let Some(server) = process_client::server() else {
        return if no_hang {
            Ok(syscall::try_wait(child.capability)?)
        } else {
            Ok(Some(syscall::wait(child.capability)?))
        };
    };
    let reason = process_client::wait(server, child.pid, no_hang)?;
    if reason.is_some() {
        let _ = syscall::capability_drop(child.capability);
    }
    Ok(reason)
}

/// The handle `child` gets of this process's session capability (to kill with): none on the
/// microkernel path, where the process server kills.
pub(crate) fn session_for(child: Capability) -> Result<u64> {
    if process_client::server().is_some() {
        return Ok(0);
    }
    Ok(syscall::capability_copy(*SESSION.lock(), Rights::CONTROL, child)?.0)
}

/// Fills the unstarted `child`: program, stack, world, descriptors, session, startup block.
fn build(child: &Child, image: &mut images::Prepared, block: &mut StartupBlock) -> Result<u64> {
    let entry = images::with(image, |image| {
        loader::load(child.capability, image, layout::STACK_BYTES)
    })??;
    world::share_into(child.capability)?;
    hold_inherited(&block.descriptors, child.pid)?;
    block.session = session_for(child.capability)?;
    pass_file_server(child.capability)?;
    loader::give_holding(
        child.capability,
        STARTUP_ADDRESS,
        block,
        PageRights::empty(),
    )?;
    Ok(entry)
}

/// Gives `child` a handle to call the file server, on the microkernel path.
pub(crate) fn pass_file_server(child: Capability) -> Result<()> {
    if let Some(handle) = crate::file_client::handle_to_pass() {
        syscall::capability_copy(handle, exo_abi::capability::Rights::CALL, child)?;
    }
    Ok(())
}

/// Counts the pipe ends in `descriptors` as held by `pid` too.
pub fn hold_inherited(descriptors: &[Descriptor], pid: u32) -> Result<()> {
    for (id, end) in descriptors
        .iter()
        .filter_map(|descriptor| descriptor.pipe_end())
    {
        crate::pipes::hold(id, end, pid)?;
    }
    Ok(())
}

/// Waits for `child` to end and reaps it.
pub fn wait(child: Child) -> Result<ExitReason> {
    let pid = child.pid;
    let reason = reap(&child, false)?.ok_or(Errno::Io)?;
    forget(pid);
    Ok(reason)
}

/// How `child` ended, reaping it, or `None` while it runs.
pub fn try_wait(child: &Child) -> Result<Option<ExitReason>> {
    let reason = reap(child, true)?;
    if reason.is_some() {
        forget(child.pid);
    }
    Ok(reason)
}

/// Clears what an ended process and its listed descendants left in the world, and the shadows
/// it no longer needs. Its descendants have ended too (it killed them as it exited, or the
/// kernel ended them with it) and nobody else will reap them.
fn forget(pid: u32) {
    if let Some(world) = world::get() {
        forget_ended(world, &world.processes.subtree(pid));
    }
    crate::fork::collect_shadows();
}

/// Closes the pipe ends of each of `ended` (processes that have ended) and unlists them, so
/// that readers see end of file and `ps` lists only living processes.
fn forget_ended(world: &world::World, ended: &[u32]) {
    for &pid in ended {
        crate::pipes::forget_environment(pid);
        world.processes.remove(pid);
    }
}

/// Kills process `pid` and its listed descendants (descendants first, while each is still
/// inside the session's subtree). The world's locks are held meanwhile, so none of them is
/// inside a change to shared state. Their pipe ends close and they leave the process table at
/// once: the parent that reaps `pid` later finds nothing left to clear.
pub fn kill(target: u32) -> Result<()> {
    let world = world::require()?;
    if target == world.root {
        return Err(Errno::PermissionDenied);
    }
    let me = pid();
    let victims = world.processes.subtree(target);
    let session = *SESSION.lock();
    let mut killed_any = false;
    {
        let _files = world.files.lock().lock();
        let _pipes = world.pipes.lock().lock();
        let _terminal = world.terminal.lock().lock();
        let server = process_client::server();
        for &victim in victims.iter().filter(|&&victim| victim != me) {
            killed_any |= match server {
                Some(server) => process_client::kill(server, victim).is_ok(),
                None => syscall::kill_environment(session, victim).is_ok(),
            };
        }
    }
    let others: alloc::vec::Vec<u32> = victims
        .iter()
        .copied()
        .filter(|&victim| victim != me)
        .collect();
    forget_ended(world, &others);
    if victims.contains(&me) {
        exit(crate::exceptions::DECLINED_STATUS_BASE + 9);
    }
    if killed_any {
        Ok(())
    } else {
        Err(Errno::NoSuchProcess)
    }
}

/// Ends this process with `status`: closes its descriptors, kills its remaining children and
/// leaves the process table to the parent that reaps it.
pub fn exit(status: u32) -> ! {
    descriptors::close_all();
    if let Some(world) = world::get()
        && HAS_CREATED_CHILDREN.load(Ordering::Relaxed)
    {
        for child in world.processes.children_of(pid()) {
            let _ = kill(child);
        }
    }
    syscall::exit(status)
}

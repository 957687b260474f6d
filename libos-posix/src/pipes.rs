//! Pipes: byte rings in the world (memory every process of the library OS shares), with
//! blocking reads and writes and end-of-file once no process holds the write end. On the
//! microkernel path the file server keeps the same rings and each operation is a call to it
//! (`pipe_service`); the functions of this module take the path the world is on.
//!
//! Each pipe counts its ends per environment, so that a process that ends without closing
//! them still lets readers see end-of-file: its killer closes them on its behalf as it kills
//! it, a process a fault ends closes them from its exception handler, and the parent that
//! reaps a process closes whatever is left ([`PipeTable::forget_environment`]). A blocked reader or
//! writer gives the CPU away and looks again; it sleeps a tick after many empty looks.

use crate::error::{Errno, Result};
use crate::lock::SharedLock;
use crate::runtime::shared_cell::Locked;
use crate::{pipe_service, syscall, world};

/// How many pipes the world holds: a fixed table, since every process binds the whole world
/// (see the README); 128 rings of [`PIPE_BYTES`] are some 540 KiB, bound once and shared.
pub const PIPES_MAX: usize = 128;
/// Bytes a pipe buffers.
pub const PIPE_BYTES: usize = 4000;
/// How many processes may hold ends of one pipe at once.
const HOLDERS_MAX: usize = 16;
/// Empty looks before a blocked end sleeps instead of yielding.
const SPINS_BEFORE_SLEEP: u32 = 64;

/// The ends one environment holds of a pipe.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct Holder {
    environment: u32,
    read_ends: u16,
    write_ends: u16,
}

/// One pipe.
#[repr(C)]
#[derive(Clone, Debug)]
pub struct Pipe {
    in_use: bool,
    holders: [Holder; HOLDERS_MAX],
    /// Bytes ever written and read; their difference is what the ring holds.
    written: u64,
    read: u64,
    ring: [u8; PIPE_BYTES],
}

impl Pipe {
    /// A pipe nobody uses.
    pub const UNUSED: Pipe = Pipe {
        in_use: false,
        holders: [Holder {
            environment: 0,
            read_ends: 0,
            write_ends: 0,
        }; HOLDERS_MAX],
        written: 0,
        read: 0,
        ring: [0; PIPE_BYTES],
    };

    fn ends(&self) -> (u32, u32) {
        self.holders.iter().fold((0, 0), |(reads, writes), holder| {
            (
                reads + u32::from(holder.read_ends),
                writes + u32::from(holder.write_ends),
            )
        })
    }

    fn holder_mut(&mut self, environment: u32) -> Option<&mut Holder> {
        let index = self
            .holders
            .iter()
            .position(|holder| holder.environment == environment)
            .or_else(|| {
                self.holders
                    .iter()
                    .position(|holder| holder.environment == 0)
            })?;
        let holder = &mut self.holders[index];
        holder.environment = environment;
        Some(holder)
    }

    fn release_if_unused(&mut self) {
        for holder in &mut self.holders {
            if holder.read_ends == 0 && holder.write_ends == 0 {
                *holder = Holder::default();
            }
        }
        if self.ends() == (0, 0) {
            self.in_use = false;
        }
    }
}

/// Which end of a pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Read,
    Write,
}

/// Every pipe, behind one lock. All zeros is a table of unused pipes.
#[repr(C)]
#[derive(Debug)]
pub struct PipeTable {
    pipes: Locked<PipeSlots>,
}

/// The pipes of the table, and how far into it any pipe has been used.
#[repr(C)]
#[derive(Debug)]
struct PipeSlots {
    /// No pipe at this index or above has been in use (it never decreases): a walk of every
    /// pipe, at each process's end, stops here.
    used_below: u32,
    pipes: [Pipe; PIPES_MAX],
}

impl PipeTable {
    /// The lock a killer takes so that its victim is not inside a pipe operation.
    pub fn lock(&self) -> &SharedLock {
        self.pipes.lock()
    }

    /// Runs `action` on the pipes under the table's lock.
    fn with<T>(&self, action: impl FnOnce(&mut Rings<'_>) -> T) -> T {
        self.pipes
            .with(|slots| action(&mut Rings::new(&mut slots.pipes, &mut slots.used_below)))
    }

    /// Makes a pipe whose two ends `environment` holds; returns its id.
    pub fn create(&self, environment: u32) -> Result<u32> {
        self.with(|rings| rings.create(environment))
    }

    /// Records that `environment` holds one more `end` of pipe `id` (inherited or duplicated).
    pub fn hold(&self, id: u32, end: End, environment: u32) -> Result<()> {
        self.with(|rings| rings.hold(id, end, environment))
    }

    /// Closes one `end` of pipe `id` held by `environment`.
    pub fn close(&self, id: u32, end: End, environment: u32) -> Result<()> {
        self.with(|rings| rings.close(id, end, environment))
    }

    /// Closes every end `environment` holds, of every pipe (it has ended).
    pub fn forget_environment(&self, environment: u32) {
        self.with(|rings| rings.forget_environment(environment));
    }

    /// Reads what pipe `id` holds into `buffer`, waiting while it is empty and a write end is
    /// open; 0 means end of file.
    pub fn read(&self, id: u32, buffer: &mut [u8]) -> Result<usize> {
        if buffer.is_empty() {
            return Ok(0);
        }
        wait_until(|| self.with(|rings| rings.try_read(id, buffer)))
    }

    /// Writes all of `bytes` into pipe `id`, waiting while it is full;
    /// [`Errno::BrokenPipe`] once no read end is open.
    pub fn write(&self, id: u32, bytes: &[u8]) -> Result<usize> {
        let mut done = 0;
        while done < bytes.len() {
            done += wait_until(|| self.with(|rings| rings.try_write(id, &bytes[done..])))?;
        }
        Ok(done)
    }
}

/// The pipe operations, on a table of pipes wherever it lives: the world's, under its lock, or
/// the file server's own on the microkernel path (`pipe_service`). None of them waits.
pub struct Rings<'a> {
    pipes: &'a mut [Pipe],
    /// The table's mark: no pipe at this index or above has been in use.
    used_below: &'a mut u32,
}

impl<'a> Rings<'a> {
    /// The operations on `pipes`, none of which at `used_below` or above has been in use.
    pub fn new(pipes: &'a mut [Pipe], used_below: &'a mut u32) -> Rings<'a> {
        Rings { pipes, used_below }
    }

    /// The pipes that may be in use.
    fn used(&mut self) -> &mut [Pipe] {
        let end = (*self.used_below as usize).min(self.pipes.len());
        &mut self.pipes[..end]
    }

    fn pipe(&mut self, id: u32) -> Result<&mut Pipe> {
        self.pipes
            .get_mut(id as usize)
            .filter(|pipe| pipe.in_use)
            .ok_or(Errno::BadDescriptor)
    }

    /// Makes a pipe whose two ends `environment` holds; returns its id.
    pub fn create(&mut self, environment: u32) -> Result<u32> {
        let (id, pipe) = self
            .pipes
            .iter_mut()
            .enumerate()
            .find(|(_, pipe)| !pipe.in_use)
            .ok_or(Errno::NoMemory)?;
        let below = id as u32 + 1;
        *self.used_below = (*self.used_below).max(below);
        *pipe = Pipe::UNUSED;
        pipe.in_use = true;
        pipe.holders[0] = Holder {
            environment,
            read_ends: 1,
            write_ends: 1,
        };
        Ok(id as u32)
    }

    /// Records that `environment` holds one more `end` of pipe `id`.
    pub fn hold(&mut self, id: u32, end: End, environment: u32) -> Result<()> {
        let holder = self
            .pipe(id)?
            .holder_mut(environment)
            .ok_or(Errno::NoMemory)?;
        match end {
            End::Read => holder.read_ends = holder.read_ends.saturating_add(1),
            End::Write => holder.write_ends = holder.write_ends.saturating_add(1),
        }
        Ok(())
    }

    /// Closes one `end` of pipe `id` held by `environment`.
    pub fn close(&mut self, id: u32, end: End, environment: u32) -> Result<()> {
        let pipe = self.pipe(id)?;
        if let Some(holder) = pipe
            .holders
            .iter_mut()
            .find(|holder| holder.environment == environment)
        {
            match end {
                End::Read => holder.read_ends = holder.read_ends.saturating_sub(1),
                End::Write => holder.write_ends = holder.write_ends.saturating_sub(1),
            }
        }
        pipe.release_if_unused();
        Ok(())
    }

    /// Closes every end `environment` holds, of every pipe.
    pub fn forget_environment(&mut self, environment: u32) {
        for pipe in self.used().iter_mut().filter(|pipe| pipe.in_use) {
            for holder in &mut pipe.holders {
                if holder.environment == environment {
                    *holder = Holder::default();
                }
            }
            pipe.release_if_unused();
        }
    }

    /// Reads what pipe `id` holds into `buffer` (not empty): the count, 0 at end of file, or
    /// `None` while it is empty and a write end is open.
    pub fn try_read(&mut self, id: u32, buffer: &mut [u8]) -> Result<Option<usize>> {
        let pipe = self.pipe(id)?;
        let held = (pipe.written - pipe.read) as usize;
        if held == 0 {
            return Ok((pipe.ends().1 == 0).then_some(0));
        }
        let count = held.min(buffer.len());
        for byte in buffer.iter_mut().take(count) {
            *byte = pipe.ring[(pipe.read % PIPE_BYTES as u64) as usize];
            pipe.read += 1;
        }
        Ok(Some(count))
    }

    /// Writes what fits of `bytes` (not empty) into pipe `id`: the count, or `None` while it is
    /// full; [`Errno::BrokenPipe`] once no read end is open.
    pub fn try_write(&mut self, id: u32, bytes: &[u8]) -> Result<Option<usize>> {
        let pipe = self.pipe(id)?;
        if pipe.ends().0 == 0 {
            return Err(Errno::BrokenPipe);
        }
        let room = PIPE_BYTES - (pipe.written - pipe.read) as usize;
        if room == 0 {
            return Ok(None);
        }
        let count = room.min(bytes.len());
        for &byte in &bytes[..count] {
            pipe.ring[(pipe.written % PIPE_BYTES as u64) as usize] = byte;
            pipe.written += 1;
        }
        Ok(Some(count))
    }
}

/// The file server's endpoint when it keeps the world's pipes (the microkernel path).
fn server() -> Option<u64> {
    world::get()?.file_server()
}

/// Makes a pipe whose two ends `environment` holds; returns its id.
pub fn create(environment: u32) -> Result<u32> {
    match server() {
        Some(endpoint) => pipe_service::create(endpoint),
        None => world::require()?.pipes.create(environment),
    }
}

/// Records that `environment` holds one more `end` of pipe `id` (inherited or duplicated).
pub fn hold(id: u32, end: End, environment: u32) -> Result<()> {
    match server() {
        Some(endpoint) => pipe_service::hold(endpoint, id, end, environment),
        None => world::require()?.pipes.hold(id, end, environment),
    }
}

/// Closes one `end` of pipe `id` held by this process.
pub fn close(id: u32, end: End) -> Result<()> {
    match server() {
        Some(endpoint) => pipe_service::close(endpoint, id, end),
        None => world::require()?
            .pipes
            .close(id, end, crate::process::pid()),
    }
}

/// Closes every end `environment` holds, of every pipe (it has ended, or is being killed).
pub fn forget_environment(environment: u32) {
    match server() {
        Some(endpoint) => pipe_service::forget(endpoint, environment),
        None => {
            if let Some(world) = world::get() {
                world.pipes.forget_environment(environment);
            }
        }
    }
}

/// Reads what pipe `id` holds into `buffer`, waiting while it is empty and a write end is
/// open; 0 means end of file.
pub fn read(id: u32, buffer: &mut [u8]) -> Result<usize> {
    if buffer.is_empty() {
        return Ok(0);
    }
    match server() {
        Some(endpoint) => pipe_service::read(endpoint, id, buffer),
        None => world::require()?.pipes.read(id, buffer),
    }
}

/// Writes all of `bytes` into pipe `id`, waiting while it is full;
/// [`Errno::BrokenPipe`] once no read end is open.
pub fn write(id: u32, bytes: &[u8]) -> Result<usize> {
    match server() {
        Some(endpoint) => pipe_service::write(endpoint, id, bytes),
        None => world::require()?.pipes.write(id, bytes),
    }
}

/// Calls `attempt` until it gives an answer, giving the CPU away in between.
fn wait_until<T>(mut attempt: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let mut spins = 0;
    loop {
        if let Some(answer) = attempt()? {
            return Ok(answer);
        }
        spins += 1;
        if spins < SPINS_BEFORE_SLEEP {
            syscall::yield_now();
        } else {
            syscall::sleep(1);
        }
    }
}

//! The rule every call follows: all its checks come before its first effect, so a call that is
//! refused has changed nothing — no table, no charge, no page table. Checked here for every call
//! that keeps the caller running, with arguments drawn at random from valid and hostile values.

use super::{DATA_PAGE, FREE_PAGE};
use crate::fake::{Booted, Fake, leaves_of, take_events};
use crate::kernel::Kernel;
use exo_abi::Syscall;
use exo_abi::capability::{PARENT, SELF};
use exo_abi::{FRAME_ANY, PageRights, USER_END};
use exo_core::environments::EnvId;

/// The rights argument of a writable binding.
const WRITABLE: u64 = PageRights::WRITABLE.bits();

/// Calls that end, block or power off the caller, which this test cannot follow.
const LEFT_OUT: [Syscall; 10] = [
    Syscall::Exit,
    Syscall::PowerOff,
    Syscall::Sleep,
    Syscall::SleepUntil,
    Syscall::Yield,
    Syscall::YieldTo,
    Syscall::Wait,
    Syscall::ConsoleRead,
    Syscall::EnvironmentKill,
    Syscall::EndpointReplyAndWait,
];

/// What the kernel holds, as far as a call could change it.
fn fingerprint(kernel: &Kernel<Fake>) -> String {
    let mut text = format!(
        "free {} bindings {} environments {}/{} charged {} requests {}",
        kernel.frames.free_count(),
        kernel.mappings.len(),
        kernel.environments.len(),
        kernel.environments.living_count(),
        kernel.charged_in_total(),
        kernel.revocations.len(),
    );
    let ids: Vec<EnvId> = kernel.environments.ids().collect();
    for id in ids {
        if let Some(machine) = kernel.environments.machine(id) {
            text += &format!(
                "; env {}: frames {} capabilities {} handler {:?} upcalls {:?} vector {:?} filters {}",
                id.0,
                kernel.frames.count_owned_by(id),
                machine.capabilities.len(),
                machine.exception_handler.map(|handler| handler.entry()),
                machine.upcalls_enabled,
                machine.repossession_frame,
                kernel.filters.count_owned_by(id),
            );
        }
    }
    text
}

/// xorshift64: a fixed sequence, so that a failure repeats.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick(&mut self, values: &[u64]) -> u64 {
        values[(self.next() % values.len() as u64) as usize]
    }
}

/// Binds a fresh frame at each of the first pages from [`FREE_PAGE`] that lost its binding,
/// so that the calls keep finding bound pages and owned frames however many they unbind.
fn replenish(booted: &mut Booted) {
    for page in (0..4).map(|index| FREE_PAGE + index * 4096) {
        if booted.call(Syscall::PageQuery, &[page]).is_err()
            && let Ok(frame) = booted.call(Syscall::FrameAllocate, &[FRAME_ANY])
        {
            let _ = booted.call(Syscall::PageMap, &[page, frame, WRITABLE]);
        }
    }
}

/// One of `values` chosen by `word`, or 0 when there are none.
fn one_of(values: &[u64], word: u64) -> u64 {
    values
        .get((word % values.len().max(1) as u64) as usize)
        .copied()
        .unwrap_or(0)
}

#[test]
fn a_refused_call_changes_nothing() {
    const CALLS: usize = 50_000;
    let mut booted = Booted::new();
    let name = booted.put(0, b"child");
    let child = booted
        .call(Syscall::Spawn, &[name, 5, 0, 0])
        .expect("spawned");
    let frame = booted
        .call(Syscall::FrameAllocate, &[FRAME_ANY])
        .expect("frame");
    booted
        .call(Syscall::PageMap, &[FREE_PAGE, frame, WRITABLE])
        .expect("bound");
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let (mut refused, mut broken) = (0, Vec::new());
    for _ in 0..CALLS {
        let call = loop {
            let call = Syscall::ALL[(random.next() % Syscall::ALL.len() as u64) as usize];
            if !LEFT_OUT.contains(&call) {
                break call;
            }
        };
        replenish(&mut booted);
        let word = random.next();
        // What init holds now: calls free, unbind and grant as they go.
        let owned: Vec<u64> = booted
            .kernel
            .frames
            .frames_by_acquisition(booted.init)
            .collect();
        let bound: Vec<u64> = leaves_of(&booted.kernel, booted.init).into_keys().collect();
        // Few values, so that each call meets its own valid ones (an owned frame, a bound
        // page, a handle) often enough to get past its first checks.
        let values = [
            0,
            WRITABLE,
            word,
            u64::MAX,
            USER_END - 4096,
            FREE_PAGE,
            DATA_PAGE,
            one_of(&owned, word),
            one_of(&bound, word),
            child,
            SELF,
            PARENT,
        ];
        let arguments: Vec<u64> = (0..6).map(|_| random.pick(&values)).collect();
        let before = fingerprint(&booted.kernel);
        take_events();
        let result = booted.call(call, &arguments);
        if result.is_err() {
            refused += 1;
            let events = take_events();
            let after = fingerprint(&booted.kernel);
            if !events.is_empty() || after != before {
                let tables = if after == before {
                    "unchanged"
                } else {
                    "changed"
                };
                broken.push(format!(
                    "{call:?} {arguments:x?} -> {result:?}: page tables {events:?}, kernel tables {tables}"
                ));
            }
        }
        assert_eq!(
            booted.kernel.current,
            Some(booted.init),
            "{call:?} {arguments:x?}"
        );
    }
    assert!(
        refused > CALLS / 4,
        "only {refused} refusals: the arguments are too tame"
    );
    assert!(
        broken.is_empty(),
        "{} refused calls changed something:\n{}",
        broken.len(),
        broken[..broken.len().min(5)].join("\n")
    );
    assert!(crate::consistency::check(&booted.kernel).is_ok());
}

use super::*;
use crate::memory::workload::Random;
use alloc::vec::Vec;

fn ready(thread: ThreadId, arrival: u64, expected: u64, ran: u64, readiness: Readiness) -> Ready {
    Ready {
        thread,
        arrival,
        expected,
        ran,
        readiness,
    }
}

fn drain(policy: &mut dyn SchedulingPolicy) -> Vec<ThreadId> {
    core::iter::from_fn(|| policy.next().map(|ready| ready.thread)).collect()
}

#[test]
fn fcfs_runs_in_arrival_order_and_resumes_the_thread_it_interrupted_first() {
    let mut policy = Fcfs::with_capacity(4);
    policy.enter(ready(1, 10, 5, 0, Readiness::New));
    policy.enter(ready(2, 11, 1, 0, Readiness::New));
    policy.enter(ready(0, 5, 1_000, 300, Readiness::Preempted));
    assert_eq!(policy.len(), 3);
    assert_eq!(drain(&mut policy), [0, 1, 2]);
    assert!(policy.is_empty());
}

#[test]
fn shortest_first_puts_a_preempted_long_thread_behind_short_new_ones() {
    let mut policy = ShortestFirst::with_capacity(4);
    policy.enter(ready(0, 5, 1_000, 300, Readiness::Preempted));
    policy.enter(ready(2, 11, 10, 0, Readiness::New));
    policy.enter(ready(1, 10, 10, 0, Readiness::New));
    policy.enter(ready(3, 12, 800, 0, Readiness::New));
    // Past its estimate, a thread still ranks by it.
    policy.enter(ready(4, 13, 20, 900, Readiness::Yielded));
    assert_eq!(drain(&mut policy), [1, 2, 4, 3, 0]);
}

/// Every record entered comes out exactly once, in each policy, whatever the order and kind
/// of entries, and never more are held than entered.
#[test]
fn both_policies_give_back_every_record_once() {
    let mut random = Random::new(42);
    let policies: [&mut dyn SchedulingPolicy; 2] = [
        &mut Fcfs::with_capacity(64),
        &mut ShortestFirst::with_capacity(64),
    ];
    for policy in policies {
        let mut held = Vec::new();
        let mut out = Vec::new();
        for thread in 0..2_000 {
            if held.len() < 64 && random.below(3) != 0 {
                let readiness = [Readiness::New, Readiness::Yielded, Readiness::Preempted]
                    [random.below(3) as usize];
                policy.enter(ready(
                    thread,
                    random.below(1_000),
                    random.below(1_000),
                    random.below(1_000),
                    readiness,
                ));
                held.push(thread);
            } else if let Some(next) = policy.next() {
                out.push(next.thread);
                held.retain(|&thread| thread != next.thread);
            }
            assert_eq!(policy.len(), held.len(), "{}", policy.name());
        }
        out.extend(drain(policy));
        let mut sorted = out.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            out.len(),
            "{} gave a record twice",
            policy.name()
        );
    }
}

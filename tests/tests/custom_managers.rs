//! The custom managers' demos as a person runs them from the shell, on the release build: the
//! database with its own buffer pool under each policy and the same tree in a file (every
//! point read must find its key's value), the log-structured store and its two POSIX
//! baselines, the store's recovery after a reopening (every key must come back), and the
//! server on user-level threads with its baselines, and (in a boot of its own, on the
//! instruction clock) its fairness run. Each demo
//! frees the disk blocks it allocated to its own owner: a second boot on the same disk finds
//! as many free blocks as the first. A bad argument gets its message and status 1.
#![forbid(unsafe_code)]

use std::time::Duration;
use system_tests::{OutcomeAssertions, Scenario, scratch_disk};

fn free_blocks_line(running: &mut system_tests::Running) -> String {
    running.expect_line("exokernel: blocks: ", Duration::from_secs(120))
}

#[test]
fn the_demos_run_from_the_shell_and_give_their_blocks_back() {
    let disk = scratch_disk("custom-managers");
    let mut shell = Scenario::new().release().disk(&disk).start();
    let free_before = free_blocks_line(&mut shell);
    shell.expect_line("init: file system mounted", Duration::from_secs(120));
    for policy in ["2q", "clock", "lru"] {
        shell.command(
            &format!("pooldb custom {policy} 2"),
            "10000 point reads (10000 found)",
        );
    }
    shell.command("pooldb posix 2", "10000 point reads (10000 found)");
    // The victim is a copy of pooldb that `bare::spawn` starts from `/bin`.
    // Both runs end with a quarter of the 256 frames gone: given back, or never bound.
    shell.command(
        "pooldb revoke cooperative",
        "revocation_cooperative_frames_left 192 frames",
    );
    shell.command(
        "pooldb revoke smaller",
        "revocation_smaller_frames_left 192 frames",
    );
    shell.command(
        "logkv custom 1024 8",
        "puts of 1024-byte values, durable every 8",
    );
    shell.command(
        "logkv files 100 8",
        "puts of 100-byte values, durable every 8",
    );
    shell.command(
        "logkv append 4096 1",
        "puts of 4096-byte values, durable every 1",
    );
    shell.command("logkv recover 3000", "logkv: recovered 3000 keys");
    // Every request is served (the program fails otherwise), on threads and run to completion
    // (`split` starts its two servers from `/bin`).
    for path in ["threads", "threads fcfs", "rtc", "split"] {
        shell.command(&format!("schedsrv {path}"), "short requests: median");
    }
    shell.command("schedsrv threads lifo", "the policies are sjf and fcfs");
    shell.command(
        "pooldb custom lru 64",
        "pooldb: the ratio is a whole number from 1 to 32",
    );
    shell.command(
        "pooldb revoke some",
        "usage: pooldb revoke [unrevoked|smaller|cooperative|abort]",
    );
    shell.command("logkv custom 99999999", "logkv: a number is out of range");
    shell.command("poweroff", "init: file system synced");
    let outcome = shell.finish();
    outcome.assert_status(0);
    outcome.assert_contains("exokernel: tables consistent");

    let mut again = Scenario::new().release().disk(&disk).start();
    let free_after = free_blocks_line(&mut again);
    again.expect_line("init: file system mounted", Duration::from_secs(120));
    again.command("poweroff", "init: file system synced");
    again.finish().assert_status(0);
    assert_eq!(free_after, free_before, "the demos left blocks allocated");
    let _ = std::fs::remove_file(&disk);
}

/// Two threaded servers with 3 and 1 slots serve requests in that ratio (within 10%; the
/// program fails otherwise). Guest time follows guest instructions here, so the slots do not
/// depend on how busy the host is: on the host's clock, a host loaded by another process once
/// gave the 3-slot server 1.13 times its share.
#[test]
fn two_servers_share_the_cpu_as_their_slots_say() {
    let outcome = Scenario::programs(&["schedsrv:fair"])
        .release()
        .instruction_clocked()
        .run();
    outcome.assert_status(0);
    outcome.assert_contains("of the slot ratio");
}

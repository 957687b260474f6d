//! Protected control transfer on the fake machine: the fast path switches without the
//! scheduler, the slow path keeps arrival order, every failure rule holds, and lent pages are
//! bound for the call and no longer.

use super::{DATA_PAGE, FREE_PAGE};
use crate::fake::{Booted, Fake, PROGRAM_ENTRY, leaves_of, timer_deadline};
use crate::ipc_fast_path::try_transfer;
use crate::platform::Platform;
use crate::trap_frame::TrapFrame;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use exo_abi::Syscall::{
    CapabilityCopy, EndpointCall, EndpointCopy, EndpointCreate, EndpointGrant, EndpointReply,
    EndpointReplyAndWait, EnvironmentKill, Exit, PageUnmap, Spawn, Yield,
};
use exo_abi::USER_END;
use exo_abi::capability::{Rights, SELF};
use exo_abi::ipc::{
    CHILD_ENDED, COPY_BYTES_MAX, CopyFlags, GrantFlags, LENT, LendFlags, Message, ReplyAndWaitFlags,
};
use exo_abi::{Error, PageRights, encode_result};
use exo_core::capabilities::resolve_endpoint;
use exo_core::environments::{EnvId, EnvState};

/// The flag words as the calls carry them.
const REPLY: u64 = ReplyAndWaitFlags::REPLY.bits();
const DEFER: u64 = ReplyAndWaitFlags::DEFER.bits();
const CHILD_ENDS: u64 = ReplyAndWaitFlags::CHILD_ENDS.bits();
const LEND_WRITABLE: u64 = LendFlags::WRITABLE.bits();
const LEND_KEEP: u64 = LendFlags::KEEP.bits();
const GRANT_WRITABLE: u64 = GrantFlags::WRITABLE.bits();
const COPY_TO_GRANT: u64 = CopyFlags::TO_GRANT.bits();

/// A server and two clients, children of init, and the handles that join them.
struct World {
    booted: Booted,
    server: EnvId,
    clients: [EnvId; 2],
    /// The server's handle (CALL and RECEIVE).
    endpoint: u64,
    /// Each client's handle (CALL), in its own table.
    client_handles: [u64; 2],
    /// Init's handles over the clients (every right).
    client_controls: [u64; 2],
}

impl World {
    /// Init spawns the three; the server creates an endpoint and gives each client a handle
    /// (init lends it the right to grant to them). The server runs on return.
    fn new() -> World {
        let mut booted = Booted::new();
        let name = booted.put(0, b"child");
        let server_control = booted.call(Spawn, &[name, 5, 0, 0]).expect("server");
        let client_controls = [0, 1].map(|_| booted.call(Spawn, &[name, 5, 0, 0]).expect("client"));
        let grants = client_controls.map(|control| {
            booted
                .call(
                    CapabilityCopy,
                    &[control, Rights::GRANT.bits(), server_control],
                )
                .expect("the server may grant to the client")
        });
        let ids: Vec<EnvId> = booted.kernel.environments.ids().collect();
        let (server, clients) = (ids[1], [ids[2], ids[3]]);
        run(&mut booted, server);
        let endpoint = booted.call(EndpointCreate, &[]).expect("endpoint");
        let client_handles = grants.map(|grant| {
            booted
                .call(CapabilityCopy, &[endpoint, Rights::CALL.bits(), grant])
                .expect("a client's handle")
        });
        World {
            booted,
            server,
            clients,
            endpoint,
            client_handles,
            client_controls,
        }
    }

    fn call(&mut self, client: usize, message: Message, lend: u64) -> Result<u64, Error> {
        run(&mut self.booted, self.clients[client]);
        let [w0, w1, w2, w3] = message;
        let handle = self.client_handles[client];
        self.booted
            .call(EndpointCall, &[handle, w0, w1, w2, w3, lend])
    }

    fn reply_and_wait(&mut self, reply: Message, flags: u64) -> Result<u64, Error> {
        assert_eq!(self.booted.kernel.current, Some(self.server));
        let [w0, w1, w2, w3] = reply;
        let endpoint = self.endpoint;
        self.booted
            .call(EndpointReplyAndWait, &[endpoint, w0, w1, w2, w3, flags])
    }

    fn state(&self, env: EnvId) -> EnvState {
        self.booted
            .kernel
            .environments
            .get(env)
            .expect("in the table")
            .state
    }

    /// How many callers wait in the endpoint's queue.
    fn queued(&self) -> usize {
        let machine = self
            .booted
            .kernel
            .environments
            .machine(self.server)
            .expect("alive");
        let id = resolve_endpoint(&machine.capabilities, self.endpoint, Rights::empty())
            .expect("endpoint");
        self.booted.kernel.endpoints.queued(id)
    }

    /// The message words in the running environment's registers.
    fn words(&self) -> Message {
        let frame = &self.booted.frame;
        [frame.rsi, frame.rdx, frame.r10, frame.r8]
    }

    /// The result and message words `env`, not running, will see when it resumes.
    fn saved(&self, env: EnvId) -> (u64, Message) {
        let registers = &self
            .booted
            .kernel
            .environments
            .machine(env)
            .expect("alive")
            .registers;
        (
            registers.rax,
            [registers.rsi, registers.rdx, registers.r10, registers.r8],
        )
    }
}

/// The running environment spawns ramdisk program `name` (an address of its own); returns the
/// child's id.
fn spawn_child(booted: &mut Booted, name: u64) -> EnvId {
    booted.call(Spawn, &[name, 5, 0, 0]).expect("child");
    booted.kernel.environments.ids().last().expect("the child")
}

/// Yields until `env` runs.
fn run(booted: &mut Booted, env: EnvId) {
    for _ in 0..64 {
        if booted.kernel.current == Some(env) {
            return;
        }
        booted.call(Yield, &[]).expect("yielded");
    }
    panic!("env {} never ran", env.0);
}

#[test]
fn a_call_to_a_waiting_server_switches_to_it_and_the_reply_switches_back_without_the_scheduler() {
    let mut world = World::new();
    world.reply_and_wait([0; 4], 0).expect("waits");
    assert_eq!(world.state(world.server), EnvState::Receiving);
    assert_ne!(world.booted.kernel.current, Some(world.server));
    run(&mut world.booted, world.clients[0]);
    let deadline = timer_deadline();
    let received = world.call(0, [1, 2, 3, 4], 0);
    assert_eq!(world.booted.kernel.current, Some(world.server));
    assert_eq!(received, Ok(u64::from(world.clients[0].0)));
    assert_eq!(world.words(), [1, 2, 3, 4]);
    let replied = world.reply_and_wait([5, 6, 7, 8], REPLY);
    assert_eq!(world.booted.kernel.current, Some(world.clients[0]));
    assert_eq!(replied, Ok(0));
    assert_eq!(world.words(), [5, 6, 7, 8]);
    assert_eq!(
        timer_deadline(),
        deadline,
        "the slot's timer was not touched"
    );
    // The server waits again: the next call goes straight to it too.
    assert_eq!(
        world
            .booted
            .call(EndpointCall, &[world.client_handles[0], 9, 0, 0, 0, 0]),
        Ok(u64::from(world.clients[0].0))
    );
    assert_eq!(world.booted.kernel.current, Some(world.server));
}

#[test]
fn callers_of_a_busy_server_wait_and_are_served_in_arrival_order() {
    let mut world = World::new();
    // The server has not waited yet: both calls queue.
    world.call(0, [10, 0, 0, 0], 0).expect("blocked");
    assert_ne!(world.booted.kernel.current, Some(world.clients[0]));
    world.call(1, [20, 0, 0, 0], 0).expect("blocked");
    run(&mut world.booted, world.server);
    assert_eq!(
        world.reply_and_wait([0; 4], 0),
        Ok(u64::from(world.clients[0].0))
    );
    assert_eq!(world.words(), [10, 0, 0, 0]);
    assert_eq!(
        world.reply_and_wait([11, 0, 0, 0], REPLY),
        Ok(u64::from(world.clients[1].0)),
        "the server goes on with the next caller at once"
    );
    assert_eq!(world.words(), [20, 0, 0, 0]);
    assert_eq!(world.saved(world.clients[0]), (0, [11, 0, 0, 0]));
    world.reply_and_wait([21, 0, 0, 0], REPLY).expect("replied");
    assert_eq!(world.booted.kernel.current, Some(world.clients[1]));
    assert_eq!(world.words(), [21, 0, 0, 0]);
}

#[test]
fn a_server_that_ends_wakes_every_caller_with_an_error_and_its_endpoint_is_dead() {
    let mut world = World::new();
    world.reply_and_wait([0; 4], 0).expect("waits");
    world.call(0, [1, 0, 0, 0], 0).expect("delivered");
    assert_eq!(world.booted.kernel.current, Some(world.server));
    run_other_client_into_queue(&mut world);
    run(&mut world.booted, world.server);
    // What the call returns is the result of whoever runs next.
    let _ = world.booted.call(Exit, &[0]);
    let error = encode_result(Err(Error::NoSuchEnvironment));
    for client in world.clients {
        assert_eq!(world.saved(client).0, error, "env {}", client.0);
    }
    assert_eq!(
        world.call(0, [0; 4], 0),
        Err(Error::NoSuchEnvironment),
        "a dead endpoint answers at once"
    );
    assert!(crate::consistency::check(&world.booted.kernel).is_ok());
}

/// Client 1 calls the server, which is serving client 0: it queues.
fn run_other_client_into_queue(world: &mut World) {
    // The server is serving; it yields so that client 1 runs and queues.
    world.booted.call(Yield, &[]).expect("yielded");
    world.call(1, [2, 0, 0, 0], 0).expect("queued");
    assert_eq!(world.queued(), 1);
}

#[test]
fn a_caller_killed_while_served_or_queued_leaves_a_void_reply_right() {
    let mut world = World::new();
    world.reply_and_wait([0; 4], 0).expect("waits");
    run(&mut world.booted, world.clients[0]);
    let granted = world.booted.put(0, b"gone with its owner");
    world
        .booted
        .call(EndpointGrant, &[granted, 19, GRANT_WRITABLE])
        .expect("granted");
    world.call(0, [1, 0, 0, 0], 0).expect("delivered");
    run_other_client_into_queue(&mut world);
    // A server that never replies cannot hold its callers: init kills both.
    let init = world.booted.init;
    run(&mut world.booted, init);
    for control in world.client_controls {
        world
            .booted
            .call(EnvironmentKill, &[control, 0])
            .expect("killed");
    }
    assert_eq!(world.queued(), 0);
    run(&mut world.booted, world.server);
    let (endpoint, client) = (world.endpoint, u64::from(world.clients[0].0));
    let copied = world
        .booted
        .call(EndpointCopy, &[endpoint, client, 0, DATA_PAGE, 19, 0]);
    assert_eq!(
        copied,
        Err(Error::NotFound),
        "the killed caller's grant went with it"
    );
    world
        .reply_and_wait([0; 4], REPLY)
        .expect("the reply goes nowhere, harmlessly");
    assert_eq!(world.state(world.server), EnvState::Receiving);
    assert!(crate::consistency::check(&world.booted.kernel).is_ok());
}

#[test]
fn forged_narrowed_and_misused_handles_are_refused() {
    let mut world = World::new();
    let endpoint = world.endpoint;
    let call =
        |world: &mut World, handle: u64| world.booted.call(EndpointCall, &[handle, 0, 0, 0, 0, 0]);
    assert_eq!(
        call(&mut world, endpoint ^ (1 << 32)),
        Err(Error::BadCapability)
    );
    assert_eq!(
        call(&mut world, SELF),
        Err(Error::BadCapability),
        "an environment"
    );
    assert_eq!(
        call(&mut world, endpoint),
        Err(Error::InvalidArgument),
        "its own"
    );
    assert_eq!(
        world
            .booted
            .call(CapabilityCopy, &[endpoint, Rights::RECEIVE.bits(), SELF]),
        Err(Error::InvalidArgument),
        "RECEIVE never moves"
    );
    assert_eq!(
        world.reply_and_wait([0; 4], REPLY),
        Err(Error::InvalidArgument)
    );
    assert_eq!(
        world.reply_and_wait([0; 4], 1 << 5),
        Err(Error::InvalidArgument)
    );
    assert_eq!(
        world.reply_and_wait([0; 4], exo_abi::USER_END),
        Err(Error::BadAddress)
    );
    // A client's handle calls and does not receive.
    run(&mut world.booted, world.clients[0]);
    let handle = world.client_handles[0];
    assert_eq!(
        world
            .booted
            .call(EndpointReplyAndWait, &[handle, 0, 0, 0, 0, 0]),
        Err(Error::PermissionDenied)
    );
    assert_eq!(world.call(0, [0; 4], FREE_PAGE), Err(Error::NotFound));
    assert_eq!(
        world.call(0, [0; 4], DATA_PAGE | 1 << 7),
        Err(Error::InvalidArgument)
    );
    assert_eq!(
        world.call(0, [0; 4], crate::fake::PROGRAM_ENTRY | LEND_WRITABLE),
        Err(Error::PermissionDenied),
        "its code is not writable"
    );
    // The server waits while it serves a call: refused, the call still served.
    run(&mut world.booted, world.server);
    world.reply_and_wait([0; 4], 0).expect("waits");
    world.call(0, [0; 4], 0).expect("delivered");
    assert_eq!(world.reply_and_wait([0; 4], 0), Err(Error::Occupied));
    world.reply_and_wait([0; 4], REPLY).expect("replied");
    assert_eq!(world.booted.kernel.current, Some(world.clients[0]));
}

#[test]
fn a_lent_page_is_bound_at_the_window_for_the_call_or_kept_when_asked() {
    let mut world = World::new();
    let window = FREE_PAGE;
    world.reply_and_wait([0; 4], window).expect("waits");
    let client = world.clients[0];
    let lent_frame = leaves_of(&world.booted.kernel, client)[&DATA_PAGE].0;
    let received = world.call(0, [0; 4], DATA_PAGE | LEND_WRITABLE);
    assert_eq!(received, Ok(u64::from(client.0) | LENT));
    let server_leaves = leaves_of(&world.booted.kernel, world.server);
    assert_eq!(server_leaves[&window].0, lent_frame);
    assert!(server_leaves[&window].1.contains(PageRights::WRITABLE));
    world
        .reply_and_wait([0; 4], REPLY | window)
        .expect("replied");
    assert!(
        !leaves_of(&world.booted.kernel, world.server).contains_key(&window),
        "unbound at the reply"
    );
    // Lent for good: it stays after the reply, read-only, until the client unmaps its page.
    world
        .call(0, [0; 4], DATA_PAGE | LEND_KEEP)
        .expect("delivered");
    world.reply_and_wait([0; 4], REPLY).expect("replied");
    let kept = leaves_of(&world.booted.kernel, world.server)[&window];
    assert_eq!(kept.0, lent_frame);
    assert!(!kept.1.contains(PageRights::WRITABLE));
    world
        .booted
        .call(PageUnmap, &[DATA_PAGE])
        .expect("unmapped");
    assert!(!leaves_of(&world.booted.kernel, world.server).contains_key(&window));
    // Without a window, or with something bound at it, the call arrives without the page.
    let plain = Ok(u64::from(world.clients[1].0));
    assert_eq!(world.call(1, [0; 4], DATA_PAGE), plain, "no window");
    world
        .reply_and_wait([0; 4], REPLY | DATA_PAGE)
        .expect("replied, naming its own bound data page as the window");
    assert_eq!(
        world.call(1, [0; 4], DATA_PAGE),
        plain,
        "the window is taken"
    );
    world.reply_and_wait([0; 4], REPLY).expect("replied");
    assert!(crate::consistency::check(&world.booted.kernel).is_ok());
}

#[test]
fn a_deferred_call_is_answered_later_and_a_child_end_wakes_its_server() {
    let mut world = World::new();
    let (first, second) = (world.clients[0], world.clients[1]);
    world.reply_and_wait([0; 4], 0).expect("waits");
    world.call(0, [1, 0, 0, 0], 0).expect("delivered");
    assert_eq!(
        world.reply_and_wait([0; 4], REPLY | DEFER),
        Err(Error::InvalidArgument)
    );
    // Deferred: the first client stays blocked while the server serves the second.
    let _ = world.reply_and_wait([0; 4], DEFER);
    assert_eq!(world.state(first), EnvState::Calling);
    assert_eq!(world.call(1, [2, 0, 0, 0], 0), Ok(u64::from(second.0)));
    let endpoint = world.endpoint;
    let reply = |world: &mut World, caller: EnvId| {
        world
            .booted
            .call(EndpointReply, &[endpoint, u64::from(caller.0), 7, 8, 9, 10])
    };
    assert_eq!(
        reply(&mut world, second),
        Err(Error::NotFound),
        "served, not deferred"
    );
    assert_eq!(reply(&mut world, first), Ok(0));
    assert_eq!(world.booted.kernel.current, Some(world.server));
    assert_eq!(world.state(first), EnvState::Runnable);
    assert_eq!(world.saved(first), (0, [7, 8, 9, 10]));
    assert_eq!(reply(&mut world, first), Err(Error::NotFound), "once");
    assert_eq!(
        world
            .booted
            .call(EndpointReply, &[endpoint, u64::MAX, 0, 0, 0, 0]),
        Err(Error::NotFound)
    );
    world.reply_and_wait([3, 0, 0, 0], REPLY).expect("replied");
    assert_eq!(world.booted.kernel.current, Some(second));
    assert_eq!(world.words(), [3, 0, 0, 0]);
    // A child of the server ends while the server waits with CHILD_ENDS: it wakes, and calls
    // queue meanwhile.
    world.call(1, [5, 0, 0, 0], 0).expect("delivered");
    let name = world.booted.put(0, b"child");
    let child = spawn_child(&mut world.booted, name);
    let _ = world.reply_and_wait([0; 4], REPLY | CHILD_ENDS);
    assert_eq!(world.state(world.server), EnvState::Receiving);
    run(&mut world.booted, child);
    let _ = world.booted.call(Exit, &[0]);
    assert_eq!(world.state(world.server), EnvState::Runnable);
    assert_eq!(world.saved(world.server).0, encode_result(Ok(CHILD_ENDED)));
    world.call(0, [4, 0, 0, 0], 0).expect("queued");
    assert_eq!(world.queued(), 1);
    // A child that ended while the server was busy is told at its next wait with no call
    // queued.
    run(&mut world.booted, world.server);
    let child = spawn_child(&mut world.booted, name);
    run(&mut world.booted, child);
    let _ = world.booted.call(Exit, &[0]);
    run(&mut world.booted, world.server);
    assert_eq!(
        world.reply_and_wait([0; 4], CHILD_ENDS),
        Ok(u64::from(first.0)),
        "the queued call first"
    );
    assert_eq!(
        world.reply_and_wait([0; 4], REPLY | CHILD_ENDS),
        Ok(CHILD_ENDED)
    );
    let _ = world.call(0, [7, 0, 0, 0], 0);
    run(&mut world.booted, world.server);
    assert_eq!(world.reply_and_wait([0; 4], 0), Ok(u64::from(first.0)));
    // A deferred caller wakes with an error when its server ends.
    let _ = world.reply_and_wait([0; 4], DEFER);
    world.call(1, [6, 0, 0, 0], 0).expect("delivered");
    let _ = world.booted.call(Exit, &[0]);
    assert_eq!(
        world.saved(first).0,
        encode_result(Err(Error::NoSuchEnvironment))
    );
    assert!(crate::consistency::check(&world.booted.kernel).is_ok());
}

/// What a transfer may change: who runs, every environment (states and saved registers), the
/// endpoints and the slot's owner.
fn snapshot(world: &World) -> String {
    let kernel = &world.booted.kernel;
    let environments: Vec<String> = kernel
        .environments
        .ids()
        .filter_map(|id| kernel.environments.get(id))
        .map(|environment| {
            let machine = environment.machine.as_ref().map(|machine| {
                (
                    machine.registers,
                    machine.receive_window,
                    machine.wakes_on_child_end,
                    machine.lent.is_some(),
                )
            });
            format!("{:?} {:?} {machine:?}", environment.id, environment.state)
        })
        .collect();
    format!(
        "{:?} {environments:?} {:?} {:?}",
        kernel.current, kernel.endpoints, kernel.slices
    )
}

/// Saves `frame` as the running environment's registers, where the entry saves a transfer's.
fn save_in_place(world: &mut World, frame: TrapFrame) {
    world.booted.kernel.current_machine().registers = frame;
}

/// The frame of `call` with `arguments` made by the running environment.
fn frame_of(world: &World, call: exo_abi::Syscall, arguments: [u64; 6]) -> TrapFrame {
    let mut frame = world.booted.frame;
    frame.rax = call.number();
    [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ] = arguments;
    frame
}

#[test]
fn the_fast_path_takes_plain_transfers_to_a_blocked_partner_and_leaves_all_else_untouched() {
    let mut world = World::new();
    let (server, client) = (world.server, world.clients[0]);
    let handle = world.client_handles[0];
    world.reply_and_wait([0; 4], 0).expect("waits");
    run(&mut world.booted, client);
    let refused = |world: &mut World, frame: TrapFrame, why: &str| {
        save_in_place(world, frame);
        let before = snapshot(world);
        let switched = if frame.rax == EndpointCall.number() {
            try_transfer::<true, Fake>(&mut world.booted.kernel)
        } else {
            try_transfer::<false, Fake>(&mut world.booted.kernel)
        };
        assert_eq!(switched, None, "{why}");
        assert_eq!(snapshot(world), before, "{why}: nothing changed");
    };
    let call =
        |world: &World, handle, lend| frame_of(world, EndpointCall, [handle, 1, 2, 3, 4, lend]);
    let frame = call(&world, handle, DATA_PAGE);
    refused(&mut world, frame, "a lent page");
    let frame = call(&world, handle ^ 1 << 32, 0);
    refused(&mut world, frame, "a forged handle");
    let frame = call(&world, SELF, 0);
    refused(&mut world, frame, "not an endpoint");
    let mut frame = call(&world, handle, 0);
    frame.rip = exo_abi::USER_END;
    refused(&mut world, frame, "a return past the user half");
    let frame = frame_of(&world, EndpointReplyAndWait, [handle, 0, 0, 0, 0, REPLY]);
    refused(&mut world, frame, "a client's handle does not receive");
    // The fast call: the server runs from its saved registers, which hold the message.
    let frame = call(&world, handle, 0);
    save_in_place(&mut world, frame);
    assert_eq!(
        try_transfer::<true, Fake>(&mut world.booted.kernel).map(|(next, _)| next),
        Some(server)
    );
    assert_eq!(world.booted.kernel.current, Some(server));
    assert_eq!(world.state(client), EnvState::Calling);
    assert_eq!(
        world.saved(client).0,
        frame.rax,
        "the caller's registers are saved"
    );
    assert_eq!(
        world.saved(server),
        (encode_result(Ok(u64::from(client.0))), [1, 2, 3, 4])
    );
    world.booted.frame = world
        .booted
        .kernel
        .environments
        .machine(server)
        .expect("alive")
        .registers;
    // The other client's call queues (general path); a reply with a caller queued, or with a
    // window or flags, is not the fast path's either.
    run_other_client_into_queue(&mut world);
    run(&mut world.booted, server);
    let endpoint = world.endpoint;
    let frame = frame_of(&world, EndpointReplyAndWait, [endpoint, 0, 0, 0, 0, REPLY]);
    refused(&mut world, frame, "a caller queued");
    world
        .reply_and_wait([7; 4], REPLY)
        .expect("replied, next served");
    let reply =
        |world: &World, flags| frame_of(world, EndpointReplyAndWait, [endpoint, 5, 6, 7, 8, flags]);
    let frame = reply(&world, REPLY | FREE_PAGE);
    refused(&mut world, frame, "a window");
    let frame = reply(&world, REPLY | CHILD_ENDS);
    refused(&mut world, frame, "child ends");
    let frame = reply(&world, DEFER);
    refused(&mut world, frame, "a deferral");
    let other = world.clients[1];
    let frame = reply(&world, REPLY);
    save_in_place(&mut world, frame);
    assert_eq!(
        try_transfer::<false, Fake>(&mut world.booted.kernel).map(|(next, _)| next),
        Some(other)
    );
    assert_eq!(world.state(server), EnvState::Receiving);
    assert_eq!(world.saved(other), (encode_result(Ok(0)), [5, 6, 7, 8]));
}

#[test]
fn a_server_copies_between_its_memory_and_what_its_caller_granted_only_while_it_holds_the_call() {
    let mut world = World::new();
    let (client, other) = (world.clients[0], world.clients[1]);
    let endpoint = world.endpoint;
    world.reply_and_wait([0; 4], 0).expect("waits");
    run(&mut world.booted, client);
    let grant = |world: &mut World, address: u64, length: u64, flags: u64| {
        world.booted.call(EndpointGrant, &[address, length, flags])
    };
    assert_eq!(
        grant(&mut world, USER_END - 4, 8, 0),
        Err(Error::BadAddress)
    );
    assert_eq!(
        grant(&mut world, DATA_PAGE, 16, 1 << 3),
        Err(Error::InvalidArgument)
    );
    let granted = world.booted.put(0x100, b"from the client!");
    grant(&mut world, granted, 32, GRANT_WRITABLE).expect("granted");
    world.call(0, [1, 0, 0, 0], 0).expect("delivered");
    let copy = |world: &mut World, caller: u64, offset: u64, address: u64, length: u64, flags| {
        world.booted.call(
            EndpointCopy,
            &[endpoint, caller, offset, address, length, flags],
        )
    };
    let client_id = u64::from(client.0);
    // Out of the grant into the server's memory, then from it into the grant.
    assert_eq!(
        copy(&mut world, client_id, 0, DATA_PAGE + 0x200, 16, 0),
        Ok(0)
    );
    let mut bytes = [0; 16];
    Fake::read_user(DATA_PAGE + 0x200, &mut bytes);
    assert_eq!(&bytes, b"from the client!");
    let source = world.booted.put(0x300, b"from the server.");
    assert_eq!(
        copy(&mut world, client_id, 16, source, 16, COPY_TO_GRANT),
        Ok(0)
    );
    // Every refusal, each before a byte moves.
    let refusals = [
        (
            (client_id, 17, source, 16, COPY_TO_GRANT),
            Error::InvalidArgument,
            "past the grant",
        ),
        (
            (client_id, u64::MAX, source, 2, 0),
            Error::InvalidArgument,
            "an offset that wraps",
        ),
        (
            (client_id, 0, source, 16, 1 << 4),
            Error::InvalidArgument,
            "unknown flags",
        ),
        (
            (client_id, 0, USER_END - 4, 16, 0),
            Error::BadAddress,
            "the kernel half",
        ),
        (
            (client_id, 0, FREE_PAGE, 16, COPY_TO_GRANT),
            Error::BadAddress,
            "nothing mapped",
        ),
        (
            (client_id, 0, PROGRAM_ENTRY, 16, 0),
            Error::BadAddress,
            "into its own code",
        ),
        (
            (u64::from(other.0), 0, source, 16, 0),
            Error::NotFound,
            "a call it does not hold",
        ),
        (
            (u64::MAX, 0, source, 16, 0),
            Error::NotFound,
            "no such caller",
        ),
        (
            (client_id, 0, source, COPY_BYTES_MAX + 1, 0),
            Error::TooLong,
            "too long",
        ),
    ];
    for ((caller, offset, address, length, flags), error, why) in refusals {
        assert_eq!(
            copy(&mut world, caller, offset, address, length, flags),
            Err(error),
            "{why}"
        );
    }
    let forged = world.booted.call(
        EndpointCopy,
        &[endpoint ^ 1 << 32, client_id, 0, source, 1, 0],
    );
    assert_eq!(forged, Err(Error::BadCapability));
    world.reply_and_wait([0; 4], REPLY).expect("replied");
    let client_frame = leaves_of(&world.booted.kernel, client)[&DATA_PAGE].0;
    let mut granted_bytes = [0; 32];
    Fake::read_frame(client_frame, 0x100, &mut granted_bytes);
    assert_eq!(&granted_bytes, b"from the client!from the server.");
    // Answered, the call is out of the server's reach (it now serves the other client); a
    // read-only grant takes no copy in, one over nothing mapped none at all, and a withdrawn
    // one is no grant.
    world.call(1, [1, 0, 0, 0], 0).expect("delivered");
    assert_eq!(
        copy(&mut world, client_id, 0, source, 16, 0),
        Err(Error::NotFound)
    );
    world.reply_and_wait([0; 4], REPLY).expect("replied");
    run(&mut world.booted, client);
    grant(&mut world, granted, 32, 0).expect("granted read-only");
    world.call(0, [1, 0, 0, 0], 0).expect("delivered");
    assert_eq!(
        copy(&mut world, client_id, 0, source, 16, COPY_TO_GRANT),
        Err(Error::PermissionDenied)
    );
    assert_eq!(copy(&mut world, client_id, 0, source, 16, 0), Ok(0));
    world.reply_and_wait([0; 4], REPLY).expect("replied");
    grant(&mut world, FREE_PAGE, 16, GRANT_WRITABLE).expect("granted, unmapped");
    world.call(0, [1, 0, 0, 0], 0).expect("delivered");
    assert_eq!(
        copy(&mut world, client_id, 0, source, 16, COPY_TO_GRANT),
        Err(Error::BadAddress)
    );
    world.reply_and_wait([0; 4], REPLY).expect("replied");
    // The grant served that call only; a failed call uses one up too, and a length of 0
    // withdraws one.
    let finds_no_grant = |world: &mut World, why: &str| {
        world.call(0, [1, 0, 0, 0], 0).expect("delivered");
        let copied = copy(world, client_id, 0, source, 1, 0);
        assert_eq!(copied, Err(Error::NotFound), "{why}");
        world.reply_and_wait([0; 4], REPLY).expect("replied");
    };
    finds_no_grant(&mut world, "the grant went with its call");
    grant(&mut world, granted, 32, 0).expect("granted");
    let forged_call = world.booted.call(EndpointCall, &[1 << 40, 0, 0, 0, 0, 0]);
    assert_eq!(forged_call, Err(Error::BadCapability));
    finds_no_grant(&mut world, "a failed call used it up");
    grant(&mut world, granted, 32, 0).expect("granted");
    grant(&mut world, 0, 0, 0).expect("withdrawn");
    finds_no_grant(&mut world, "withdrawn");
}

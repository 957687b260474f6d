//! Endpoints for protected control transfer: who serves each endpoint, who is waiting to call
//! it, and who holds the one-shot right to reply. This is bookkeeping only; the kernel moves
//! the registers and switches address spaces as the returned [`Step`]s say.
//!
//! The protocol, for one endpoint and its server:
//!
//! 1. The server waits ([`Endpoints::wait`]).
//! 2. A client calls ([`Endpoints::call`]). If the server is waiting, the call goes to it at
//!    once (the fast path: the kernel switches straight to the server on the caller's time);
//!    otherwise the caller joins the endpoint's queue, in arrival order.
//! 3. The server, now serving that caller, holds the reply right. [`Endpoints::reply_and_wait`]
//!    uses it once: the caller gets the reply, and the server takes the next queued call or
//!    waits again.
//!
//! A server may also defer the call it serves ([`Endpoints::defer_and_wait`]): the caller
//! stays blocked and the server answers it later ([`Endpoints::reply_to`]), once.
//!
//! Failures: a call to an endpoint that does not exist (its server has ended) fails at once; when a server ends, every caller queued on its endpoints and the one it serves wake
//! with an error; when a caller ends, it leaves the queue, or the server's reply right becomes
//! void (the reply then goes nowhere). Nothing here panics on any sequence of calls.

use crate::environments::EnvId;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use exo_abi::Error;

pub use exo_abi::ipc::{MESSAGE_WORDS, Message};

/// An endpoint's number: its slot in the table and the slot's generation, so that the number
/// of an endpoint that has gone names nothing, even once its slot is reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

impl EndpointId {
    fn new(slot: usize, generation: u32) -> EndpointId {
        EndpointId(u64::from(generation) << 32 | slot as u64)
    }

    fn slot(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// What the kernel must do after a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run `server` now, handing it `message` from `caller` with the page it lends (`lend`, as
    /// the caller passed it; 0 for none). On the fast path (no queue, no scheduler) the kernel
    /// switches to `server`; `caller` waits for the reply.
    Deliver {
        server: EnvId,
        caller: EnvId,
        message: Message,
        lend: u64,
    },
    /// `caller` waits in the endpoint's queue; the caller is blocked.
    Queued,
    /// Wake `caller`, blocked in a call, with `reply` (or the error).
    Reply {
        caller: EnvId,
        reply: Result<Message, Error>,
    },
    /// `server` waits for a call; it is blocked.
    ServerWaits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerState {
    /// Not waiting and serving nobody (just created, or between a reply and its next wait).
    Busy,
    /// Blocked in `wait` or `reply_and_wait`.
    Waiting,
    /// Handling a call from `caller`, which waits for the reply; `None` once that caller ended
    /// (the reply right is void).
    Serving(Option<EnvId>),
}

#[derive(Clone, Debug)]
struct Endpoint {
    server: EnvId,
    state: ServerState,
    /// Callers waiting for the server, oldest first, with their message and lent page.
    queue: VecDeque<(EnvId, Message, u64)>,
    /// Callers whose calls the server deferred, still owed a reply.
    deferred: Vec<EnvId>,
}

#[derive(Clone, Debug, Default)]
struct Slot {
    generation: u32,
    endpoint: Option<Endpoint>,
}

/// Every endpoint, in slots found by index (the fast path of a call looks one up).
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    slots: Vec<Slot>,
}

/// A transfer [`Endpoints::fast_call`] or [`Endpoints::fast_reply`] found, not carried out:
/// [`FastTransfer::complete`] changes the endpoint as the general call or reply would, and
/// dropping it changes nothing.
#[derive(Debug)]
pub struct FastTransfer<'a> {
    /// The environment the transfer switches to: the server, or the caller replied to.
    pub receiver: EnvId,
    after: ServerState,
    endpoint: &'a mut Endpoint,
}

impl FastTransfer<'_> {
    /// Carries the transfer out on the endpoint.
    #[inline]
    pub fn complete(self) {
        self.endpoint.state = self.after;
    }
}

impl Endpoints {
    /// A new endpoint served by `server`.
    pub fn create(&mut self, server: EnvId) -> EndpointId {
        let endpoint = Endpoint {
            server,
            state: ServerState::Busy,
            queue: VecDeque::new(),
            deferred: Vec::new(),
        };
        let index = match self.slots.iter().position(|slot| slot.endpoint.is_none()) {
            Some(index) => index,
            None => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.generation = slot.generation.wrapping_add(1);
        slot.endpoint = Some(endpoint);
        EndpointId::new(index, slot.generation)
    }

    #[inline]
    fn get(&self, id: EndpointId) -> Option<&Endpoint> {
        let slot = self.slots.get(id.slot())?;
        if slot.generation != id.generation() {
            return None;
        }
        slot.endpoint.as_ref()
    }

    #[inline]
    fn get_mut(&mut self, id: EndpointId) -> Option<&mut Endpoint> {
        let slot = self.slots.get_mut(id.slot())?;
        if slot.generation != id.generation() {
            return None;
        }
        slot.endpoint.as_mut()
    }

    #[cfg(test)]
    fn all(&self) -> impl Iterator<Item = &Endpoint> {
        self.slots.iter().filter_map(|slot| slot.endpoint.as_ref())
    }

    /// The server of `id`, if the endpoint exists.
    #[cfg(test)]
    pub fn server_of(&self, id: EndpointId) -> Option<EnvId> {
        self.get(id).map(|endpoint| endpoint.server)
    }

    /// How many callers wait in `id`'s queue.
    pub fn queued(&self, id: EndpointId) -> usize {
        self.get(id).map_or(0, |endpoint| endpoint.queue.len())
    }

    /// `caller` calls `id` with `message`, lending page `lend` (0 for none): [`Step::Deliver`]
    /// when the server waits, [`Step::Queued`] otherwise. Errors:
    /// [`Error::NoSuchEnvironment`] for an endpoint that does not exist (its server has
    /// ended); [`Error::InvalidArgument`] when the caller is the endpoint's own server (it
    /// would wait for itself).
    #[inline]
    pub fn call(
        &mut self,
        id: EndpointId,
        caller: EnvId,
        message: Message,
        lend: u64,
    ) -> Result<Step, Error> {
        let endpoint = self.get_mut(id).ok_or(Error::NoSuchEnvironment)?;
        if endpoint.server == caller {
            return Err(Error::InvalidArgument);
        }
        if endpoint.state == ServerState::Waiting && endpoint.queue.is_empty() {
            endpoint.state = ServerState::Serving(Some(caller));
            return Ok(Step::Deliver {
                server: endpoint.server,
                caller,
                message,
                lend,
            });
        }
        endpoint.queue.push_back((caller, message, lend));
        Ok(Step::Queued)
    }

    /// The fast case of a call (see `exo_system::ipc_fast_path`): the server of `id` waits
    /// with nobody queued and is not `caller`, so that [`Endpoints::call`] would deliver at
    /// once. Completing the transfer leaves the server serving `caller`.
    #[inline(always)]
    pub fn fast_call(&mut self, id: EndpointId, caller: EnvId) -> Option<FastTransfer<'_>> {
        let endpoint = self.get_mut(id)?;
        let is_fast = endpoint.state == ServerState::Waiting
            && endpoint.queue.is_empty()
            && endpoint.server != caller;
        is_fast.then_some(FastTransfer {
            receiver: endpoint.server,
            after: ServerState::Serving(Some(caller)),
            endpoint,
        })
    }

    /// The fast case of a reply: `server` serves `id` to a living caller with nobody queued,
    /// so that [`Endpoints::reply_and_wait`] would wake that caller and leave the server
    /// waiting. Completing the transfer leaves the server waiting.
    #[inline(always)]
    pub fn fast_reply(&mut self, id: EndpointId, server: EnvId) -> Option<FastTransfer<'_>> {
        let endpoint = self.get_mut(id)?;
        match endpoint.state {
            ServerState::Serving(Some(caller))
                if endpoint.server == server && endpoint.queue.is_empty() =>
            {
                Some(FastTransfer {
                    receiver: caller,
                    after: ServerState::Waiting,
                    endpoint,
                })
            }
            _ => None,
        }
    }

    /// Whether `server` serves `id` and holds `caller`'s call on it: serving it, or deferred.
    pub fn holds_call(&self, id: EndpointId, server: EnvId, caller: EnvId) -> bool {
        self.get(id).is_some_and(|endpoint| {
            endpoint.server == server
                && (endpoint.state == ServerState::Serving(Some(caller))
                    || endpoint.deferred.contains(&caller))
        })
    }

    /// The server of `id` waits for its first call, or takes the oldest queued one.
    /// Errors: as [`Endpoints::reply_and_wait`].
    pub fn wait(&mut self, id: EndpointId, server: EnvId) -> Result<Step, Error> {
        let endpoint = self.served_by(id, server)?;
        if let ServerState::Serving(Some(_)) = endpoint.state {
            return Err(Error::Occupied);
        }
        Ok(Self::next_call(endpoint))
    }

    /// The server of `id` replies `reply` to the caller it serves (nothing happens to a caller
    /// that has ended), then takes the next call. Returns the reply's step, if there is a
    /// caller to wake, and the server's.
    /// Errors: [`Error::NotFound`] for an endpoint that does not exist;
    /// [`Error::PermissionDenied`] when `server` does not serve it; [`Error::InvalidArgument`]
    /// when it serves no call (the reply right is used once).
    #[inline]
    pub fn reply_and_wait(
        &mut self,
        id: EndpointId,
        server: EnvId,
        reply: Message,
    ) -> Result<(Option<Step>, Step), Error> {
        let endpoint = self.served_by(id, server)?;
        let ServerState::Serving(caller) = endpoint.state else {
            return Err(Error::InvalidArgument);
        };
        let woken = caller.map(|caller| Step::Reply {
            caller,
            reply: Ok(reply),
        });
        endpoint.state = ServerState::Busy;
        Ok((woken, Self::next_call(endpoint)))
    }

    /// The server of `id` keeps the caller it serves blocked, owing it a reply
    /// ([`Endpoints::reply_to`]), then takes the next call. A caller that has ended is owed
    /// nothing. Errors: as [`Endpoints::reply_and_wait`].
    pub fn defer_and_wait(&mut self, id: EndpointId, server: EnvId) -> Result<Step, Error> {
        let endpoint = self.served_by(id, server)?;
        let ServerState::Serving(caller) = endpoint.state else {
            return Err(Error::InvalidArgument);
        };
        endpoint.deferred.extend(caller);
        endpoint.state = ServerState::Busy;
        Ok(Self::next_call(endpoint))
    }

    /// The server of `id` replies `reply` to `caller`, whose call it deferred.
    /// Errors: [`Error::NotFound`] for an endpoint that does not exist, or a caller with no
    /// deferred call on it; [`Error::PermissionDenied`] when `server` does not serve it.
    pub fn reply_to(
        &mut self,
        id: EndpointId,
        server: EnvId,
        caller: EnvId,
        reply: Message,
    ) -> Result<Step, Error> {
        let endpoint = self.served_by(id, server)?;
        let index = endpoint
            .deferred
            .iter()
            .position(|&deferred| deferred == caller)
            .ok_or(Error::NotFound)?;
        endpoint.deferred.swap_remove(index);
        Ok(Step::Reply {
            caller,
            reply: Ok(reply),
        })
    }

    /// `server`, waiting on one of its endpoints, stops waiting there (it was woken for
    /// another reason): calls queue until it waits again.
    pub fn stop_waiting(&mut self, server: EnvId) {
        for endpoint in self
            .slots
            .iter_mut()
            .filter_map(|slot| slot.endpoint.as_mut())
            .filter(|endpoint| endpoint.server == server && endpoint.state == ServerState::Waiting)
        {
            endpoint.state = ServerState::Busy;
        }
    }

    #[inline]
    fn served_by(&mut self, id: EndpointId, server: EnvId) -> Result<&mut Endpoint, Error> {
        let endpoint = self.get_mut(id).ok_or(Error::NotFound)?;
        if endpoint.server == server {
            Ok(endpoint)
        } else {
            Err(Error::PermissionDenied)
        }
    }

    #[inline]
    fn next_call(endpoint: &mut Endpoint) -> Step {
        match endpoint.queue.pop_front() {
            Some((caller, message, lend)) => {
                endpoint.state = ServerState::Serving(Some(caller));
                Step::Deliver {
                    server: endpoint.server,
                    caller,
                    message,
                    lend,
                }
            }
            None => {
                endpoint.state = ServerState::Waiting;
                Step::ServerWaits
            }
        }
    }

    /// `env` has ended: its endpoints go, and every caller queued on them or served by it
    /// wakes with [`Error::NoSuchEnvironment`]; as a caller, it leaves every queue and any
    /// reply right for it becomes void. Returns the callers to wake.
    pub fn environment_ended(&mut self, env: EnvId) -> Vec<Step> {
        let mut woken = Vec::new();
        for slot in &mut self.slots {
            let is_owned = slot
                .endpoint
                .as_ref()
                .is_some_and(|endpoint| endpoint.server == env);
            let Some(endpoint) = slot.endpoint.take_if(|_| is_owned) else {
                continue;
            };
            let served = match endpoint.state {
                ServerState::Serving(Some(caller)) => Some(caller),
                _ => None,
            };
            let queued = endpoint.queue.into_iter().map(|(caller, ..)| caller);
            for caller in served.into_iter().chain(queued).chain(endpoint.deferred) {
                woken.push(Step::Reply {
                    caller,
                    reply: Err(Error::NoSuchEnvironment),
                });
            }
        }
        for endpoint in self
            .slots
            .iter_mut()
            .filter_map(|slot| slot.endpoint.as_mut())
        {
            endpoint.queue.retain(|&(caller, ..)| caller != env);
            endpoint.deferred.retain(|&caller| caller != env);
            if endpoint.state == ServerState::Serving(Some(env)) {
                endpoint.state = ServerState::Serving(None);
            }
        }
        woken
    }

    /// Whether `env` waits in a queue or for a reply (it is blocked in a call).
    #[cfg(test)]
    pub fn is_calling(&self, env: EnvId) -> bool {
        self.all().any(|endpoint| {
            endpoint.state == ServerState::Serving(Some(env))
                || endpoint.queue.iter().any(|&(caller, ..)| caller == env)
                || endpoint.deferred.contains(&env)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: EnvId = EnvId(1);
    const A: EnvId = EnvId(2);
    const B: EnvId = EnvId(3);

    fn message(word: u64) -> Message {
        [word, word + 1, word + 2, word + 3]
    }

    fn waiting_endpoint() -> (Endpoints, EndpointId) {
        let mut endpoints = Endpoints::default();
        let id = endpoints.create(SERVER);
        assert_eq!(endpoints.wait(id, SERVER), Ok(Step::ServerWaits));
        (endpoints, id)
    }

    #[test]
    fn a_call_to_a_waiting_server_goes_straight_to_it_and_the_reply_straight_back() {
        let (mut endpoints, id) = waiting_endpoint();
        assert_eq!(
            endpoints.call(id, A, message(10), 0),
            Ok(Step::Deliver {
                server: SERVER,
                caller: A,
                message: message(10),
                lend: 0
            })
        );
        assert!(endpoints.is_calling(A));
        assert_eq!(
            endpoints.reply_and_wait(id, SERVER, message(20)),
            Ok((
                Some(Step::Reply {
                    caller: A,
                    reply: Ok(message(20))
                }),
                Step::ServerWaits
            ))
        );
        assert!(!endpoints.is_calling(A));
    }

    #[test]
    fn callers_of_a_busy_server_are_served_in_arrival_order() {
        let (mut endpoints, id) = waiting_endpoint();
        endpoints.call(id, A, message(1), 0).expect("delivered");
        assert_eq!(endpoints.call(id, B, message(2), 0), Ok(Step::Queued));
        assert_eq!(
            endpoints.call(id, EnvId(4), message(3), 0),
            Ok(Step::Queued)
        );
        let (_, next) = endpoints
            .reply_and_wait(id, SERVER, message(0))
            .expect("replied");
        assert_eq!(
            next,
            Step::Deliver {
                server: SERVER,
                caller: B,
                message: message(2),
                lend: 0
            }
        );
        let (_, next) = endpoints
            .reply_and_wait(id, SERVER, message(0))
            .expect("replied");
        assert!(matches!(
            next,
            Step::Deliver {
                caller: EnvId(4),
                ..
            }
        ));
        let (_, next) = endpoints
            .reply_and_wait(id, SERVER, message(0))
            .expect("replied");
        assert_eq!(next, Step::ServerWaits);
    }

    #[test]
    fn a_call_before_the_server_waits_is_queued_and_taken_by_its_wait() {
        let mut endpoints = Endpoints::default();
        let id = endpoints.create(SERVER);
        assert_eq!(endpoints.call(id, A, message(5), 0), Ok(Step::Queued));
        assert!(matches!(
            endpoints.wait(id, SERVER),
            Ok(Step::Deliver { caller: A, .. })
        ));
    }

    #[test]
    fn the_reply_right_is_the_servers_and_is_used_once() {
        let (mut endpoints, id) = waiting_endpoint();
        endpoints.call(id, A, message(1), 0).expect("delivered");
        assert_eq!(
            endpoints.reply_and_wait(id, B, message(0)),
            Err(Error::PermissionDenied)
        );
        assert_eq!(endpoints.wait(id, SERVER), Err(Error::Occupied));
        endpoints
            .reply_and_wait(id, SERVER, message(0))
            .expect("replied");
        assert_eq!(
            endpoints.reply_and_wait(id, SERVER, message(0)),
            Err(Error::InvalidArgument)
        );
    }

    #[test]
    fn calls_to_missing_endpoints_and_to_oneself_fail_at_once() {
        let (mut endpoints, id) = waiting_endpoint();
        assert_eq!(
            endpoints.call(EndpointId(99), A, message(0), 0),
            Err(Error::NoSuchEnvironment)
        );
        assert_eq!(
            endpoints.call(id, SERVER, message(0), 0),
            Err(Error::InvalidArgument)
        );
        assert_eq!(endpoints.wait(EndpointId(99), SERVER), Err(Error::NotFound));
    }

    #[test]
    fn a_server_that_ends_wakes_every_caller_with_an_error() {
        let (mut endpoints, id) = waiting_endpoint();
        endpoints.call(id, A, message(1), 0).expect("delivered");
        endpoints.call(id, B, message(2), 0).expect("queued");
        let woken = endpoints.environment_ended(SERVER);
        assert_eq!(
            woken,
            [A, B].map(|caller| Step::Reply {
                caller,
                reply: Err(Error::NoSuchEnvironment)
            })
        );
        assert_eq!(endpoints.server_of(id), None);
        assert_eq!(
            endpoints.call(id, A, message(0), 0),
            Err(Error::NoSuchEnvironment)
        );
        assert!(!endpoints.is_calling(A) && !endpoints.is_calling(B));
    }

    #[test]
    fn the_number_of_an_ended_endpoint_names_nothing_once_its_slot_is_reused() {
        let (mut endpoints, old) = waiting_endpoint();
        endpoints.environment_ended(SERVER);
        let new = endpoints.create(B);
        assert_ne!(old, new);
        assert_eq!(
            endpoints.call(old, A, message(0), 0),
            Err(Error::NoSuchEnvironment)
        );
        assert_eq!(endpoints.server_of(new), Some(B));
    }

    #[test]
    fn a_caller_that_ends_leaves_the_queue_and_voids_the_reply() {
        let (mut endpoints, id) = waiting_endpoint();
        endpoints.call(id, A, message(1), 0).expect("delivered");
        endpoints.call(id, B, message(2), 0).expect("queued");
        assert!(endpoints.environment_ended(B).is_empty());
        assert_eq!(endpoints.queued(id), 0);
        assert!(endpoints.environment_ended(A).is_empty());
        assert_eq!(
            endpoints.reply_and_wait(id, SERVER, message(0)),
            Ok((None, Step::ServerWaits)),
            "the reply goes nowhere, harmlessly"
        );
    }

    #[test]
    fn a_deferred_call_is_answered_once_later_while_others_are_served() {
        let (mut endpoints, id) = waiting_endpoint();
        endpoints.call(id, A, message(1), 0).expect("delivered");
        assert_eq!(endpoints.call(id, B, message(2), 0), Ok(Step::Queued));
        assert!(matches!(
            endpoints.defer_and_wait(id, SERVER),
            Ok(Step::Deliver { caller: B, .. })
        ));
        assert!(endpoints.is_calling(A), "still blocked, owed a reply");
        assert!(endpoints.holds_call(id, SERVER, A) && endpoints.holds_call(id, SERVER, B));
        assert!(
            !endpoints.holds_call(id, B, A),
            "only the server holds calls"
        );
        assert_eq!(
            endpoints.reply_to(id, B, A, message(7)),
            Err(Error::PermissionDenied)
        );
        assert_eq!(
            endpoints.reply_to(id, SERVER, B, message(7)),
            Err(Error::NotFound),
            "B is being served, not deferred"
        );
        assert_eq!(
            endpoints.reply_to(id, SERVER, A, message(7)),
            Ok(Step::Reply {
                caller: A,
                reply: Ok(message(7))
            })
        );
        assert!(!endpoints.is_calling(A));
        assert!(
            !endpoints.holds_call(id, SERVER, A),
            "answered: out of reach"
        );
        assert_eq!(
            endpoints.reply_to(id, SERVER, A, message(7)),
            Err(Error::NotFound),
            "the right is used once"
        );
        assert_eq!(
            endpoints.defer_and_wait(EndpointId(99), SERVER),
            Err(Error::NotFound)
        );
        endpoints
            .reply_and_wait(id, SERVER, message(0))
            .expect("B answered");
        assert_eq!(
            endpoints.defer_and_wait(id, SERVER),
            Err(Error::InvalidArgument),
            "nothing to defer while waiting"
        );
    }

    #[test]
    fn deferred_callers_wake_when_their_server_ends_and_are_forgotten_when_they_end() {
        let (mut endpoints, id) = waiting_endpoint();
        endpoints.call(id, A, message(1), 0).expect("delivered");
        endpoints.defer_and_wait(id, SERVER).expect("deferred");
        endpoints.call(id, B, message(2), 0).expect("delivered");
        endpoints.defer_and_wait(id, SERVER).expect("deferred");
        endpoints.environment_ended(B);
        assert_eq!(
            endpoints.reply_to(id, SERVER, B, message(0)),
            Err(Error::NotFound),
            "an ended caller is owed nothing"
        );
        assert_eq!(
            endpoints.environment_ended(SERVER),
            vec![Step::Reply {
                caller: A,
                reply: Err(Error::NoSuchEnvironment)
            }]
        );
    }

    #[test]
    fn a_server_that_stops_waiting_gets_its_calls_queued() {
        let (mut endpoints, id) = waiting_endpoint();
        endpoints.stop_waiting(SERVER);
        assert_eq!(endpoints.call(id, A, message(1), 0), Ok(Step::Queued));
        assert!(matches!(
            endpoints.wait(id, SERVER),
            Ok(Step::Deliver { caller: A, .. })
        ));
    }

    /// Completes a fast transfer and names its receiver.
    fn complete(transfer: FastTransfer<'_>) -> EnvId {
        let receiver = transfer.receiver;
        transfer.complete();
        receiver
    }

    #[test]
    fn no_sequence_of_calls_breaks_the_table() {
        // A fixed pseudo-random walk over every operation and party.
        let mut endpoints = Endpoints::default();
        let mut ids: Vec<EndpointId> = (1..=3)
            .map(|server| endpoints.create(EnvId(server)))
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let (mut fast_calls, mut fast_replies) = (0, 0);
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let id = ids[(state % 4) as usize % ids.len()];
            let env = EnvId((state >> 8) as u32 % 6 + 1);
            let operation = (state >> 16) % 12;
            // An environment blocked in a call runs nothing until it is answered or ends.
            if endpoints.is_calling(env) && operation != 6 {
                continue;
            }
            let _ = match operation {
                0 | 10 => {
                    let mut fast_path = endpoints.clone();
                    let fast = fast_path.fast_call(id, env).map(complete);
                    if fast.is_none() {
                        assert_eq!(format!("{fast_path:?}"), format!("{endpoints:?}"));
                    }
                    let step = endpoints.call(id, env, message(state), 0);
                    if fast.is_some() {
                        assert_eq!(format!("{fast_path:?}"), format!("{endpoints:?}"));
                    }
                    assert_eq!(
                        fast.is_some(),
                        matches!(step, Ok(Step::Deliver { server, .. }) if Some(server) == fast),
                        "the fast case of a call is exactly a delivery"
                    );
                    fast_calls += usize::from(fast.is_some());
                    step.map(|_| ())
                }
                2 | 9 | 11 => {
                    // Half the replies come from the endpoint's server, half from anyone.
                    let replier = match endpoints.get(id) {
                        Some(endpoint) if state & 1 << 40 != 0 => endpoint.server,
                        _ => env,
                    };
                    let mut fast_path = endpoints.clone();
                    let fast = fast_path.fast_reply(id, replier).map(complete);
                    if fast.is_none() {
                        assert_eq!(format!("{fast_path:?}"), format!("{endpoints:?}"));
                    }
                    let steps = endpoints.reply_and_wait(id, replier, message(state));
                    if fast.is_some() {
                        assert_eq!(format!("{fast_path:?}"), format!("{endpoints:?}"));
                    }
                    let is_lone_reply = matches!(
                        steps,
                        Ok((Some(Step::Reply { caller, .. }), Step::ServerWaits))
                            if Some(caller) == fast
                    );
                    assert_eq!(fast.is_some(), is_lone_reply, "the fast case of a reply");
                    fast_replies += usize::from(is_lone_reply);
                    steps.map(|_| ())
                }
                3 => endpoints.defer_and_wait(id, env).map(|_| ()),
                4 => endpoints
                    .reply_to(id, env, EnvId((state >> 24) as u32 % 6 + 1), message(0))
                    .map(|_| ()),
                5 => {
                    endpoints.stop_waiting(env);
                    Ok(())
                }
                6 => {
                    endpoints.environment_ended(env);
                    // A server that ended serves again through a new endpoint, so that the
                    // walk keeps reaching live endpoints.
                    for id in &mut ids {
                        if endpoints.get(*id).is_none() {
                            *id = endpoints.create(env);
                        }
                    }
                    Ok(())
                }
                // Servers wait, reply and are called most often, as in a running system.
                _ => endpoints.wait(id, env).map(|_| ()),
            };
            for endpoint in endpoints.all() {
                assert!(
                    endpoint
                        .queue
                        .iter()
                        .all(|&(caller, ..)| caller != endpoint.server)
                );
                assert!(!endpoint.deferred.contains(&endpoint.server));
                let mut deferred = endpoint.deferred.clone();
                deferred.sort_unstable();
                deferred.dedup();
                assert_eq!(deferred.len(), endpoint.deferred.len(), "owed once");
            }
        }
        assert!(
            fast_calls > 100 && fast_replies > 100,
            "the walk takes both fast cases: {fast_calls}, {fast_replies}"
        );
    }
}

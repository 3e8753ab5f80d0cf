//! The stack over smoltcp's loopback device: clients and the server share one interface.

use super::*;
use smoltcp::phy::{Loopback, Medium};

const HOME: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);

/// The loopback device never runs out of room.
impl TransmitRoom for Loopback {
    fn has_room(&mut self) -> bool {
        true
    }
}

fn stack() -> Stack<Loopback> {
    Stack::new(
        Loopback::new(Medium::Ethernet),
        [0x02, 0, 0, 0, 0, 1],
        AddressConfig::Static {
            address: Ipv4Cidr::new(HOME, 8),
            gateway: None,
        },
        0,
        7,
        SOCKETS,
    )
}

/// The socket budget of the test stack.
const SOCKETS: usize = 64;

/// Frames a poll takes, as the network thread's budget (src/net/poll_loop.rs).
const BUDGET: usize = 16;

/// Polls until `done` holds, advancing a virtual clock 10 ms a round; panics after 200 rounds.
fn poll_until(
    stack: &mut Stack<Loopback>,
    now: &mut u64,
    mut done: impl FnMut(&mut Stack<Loopback>) -> bool,
) {
    for _ in 0..200 {
        stack.poll(*now, BUDGET);
        if done(stack) {
            return;
        }
        *now += 10;
    }
    panic!("condition not reached");
}

#[test]
fn static_address_is_applied() {
    assert_eq!(stack().ipv4_cidr(), Some(Ipv4Cidr::new(HOME, 8)));
}

#[test]
fn listen_rules() {
    let mut stack = stack();
    assert_eq!(stack.listen(0, 4), Err(NetError::InvalidPort));
    stack.listen(80, 4).unwrap();
    assert_eq!(stack.tcp_sockets_in_use(), 4);
    assert_eq!(stack.listen(80, 4), Err(NetError::PortInUse));
}

#[test]
fn backlog_accepts_concurrent_connections_and_refills() {
    let mut stack = stack();
    let mut now = 0;
    let listener = stack.listen(80, 4).unwrap();
    let clients: Vec<_> = (0..3)
        .map(|i| stack.connect((HOME, 80), 40000 + i))
        .collect();
    let mut accepted = Vec::new();
    poll_until(&mut stack, &mut now, |stack| {
        while let Some(handle) = stack.accept(listener) {
            accepted.push(handle);
        }
        accepted.len() == 3
    });
    // 3 clients + 3 accepted + 4 listening (the backlog was topped up).
    assert_eq!(stack.tcp_sockets_in_use(), 10);
    assert_eq!(
        stack.listeners[listener.0].as_ref().unwrap().pending.len(),
        4
    );

    // Data both ways on the first connection.
    let client = clients[0];
    // Accepted order need not match connection order: find the server side of `client`.
    let server = accepted
        .iter()
        .copied()
        .find(|&s| {
            stack.sockets.get::<tcp::Socket>(s).remote_endpoint()
                == stack.sockets.get::<tcp::Socket>(client).local_endpoint()
        })
        .expect("one accepted socket is connected to the client");
    assert_eq!(stack.send(client, b"ping"), Ok(4));
    let mut buf = [0u8; 16];
    poll_until(&mut stack, &mut now, |stack| {
        stack.recv(server, &mut buf) == Ok(4)
    });
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(stack.recv(server, &mut buf), Err(NetError::WouldBlock));

    // The server closes: the client reads end-of-stream, and the socket is reaped.
    stack.send(server, b"pong").unwrap();
    stack.release(server, now);
    let mut got = Vec::new();
    poll_until(&mut stack, &mut now, |stack| {
        match stack.recv(client, &mut buf) {
            Ok(0) => return true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        false
    });
    assert_eq!(got, b"pong");
    stack.shutdown(client);
    poll_until(&mut stack, &mut now, |stack| stack.closing.is_empty());
    assert_eq!(stack.tcp_sockets_in_use(), 9);
}

/// Eight SYNs wait in the device; a poll with a budget of 3 takes 3 and says more are left,
/// and the connections still all complete, a few frames per poll.
#[test]
fn a_poll_takes_at_most_its_budget_of_frames() {
    let mut stack = stack();
    let mut now = 0;
    let listener = stack.listen(80, 9).unwrap();
    // A first connection, so that the neighbour cache knows the address (no ARP below).
    stack.connect((HOME, 80), 40999);
    poll_until(&mut stack, &mut now, |stack| {
        stack.accept(listener).is_some()
    });
    for i in 0..8 {
        stack.connect((HOME, 80), 41000 + i);
    }
    stack.transmit(now);
    let first = stack.poll(now, 3);
    assert!(first.frames_left, "8 frames waited, 3 were taken");
    let mut accepted = 0;
    let mut polls = 1;
    loop {
        let outcome = stack.poll(now, 3);
        polls += 1;
        while stack.accept(listener).is_some() {
            accepted += 1;
        }
        if accepted == 8 && !outcome.frames_left {
            break;
        }
        assert!(polls < 200, "{accepted} accepted after {polls} polls");
        now += 10;
    }
    assert!(
        polls > 4,
        "a budget of 3 cannot take some 24 frames in fewer polls"
    );
}

#[test]
fn unlisten_frees_the_port_and_the_sockets() {
    let mut stack = stack();
    let listener = stack.listen(80, 4).unwrap();
    stack.unlisten(listener, 0);
    assert!(stack.accept(listener).is_none());
    assert_eq!(stack.tcp_sockets_in_use(), 0);
    stack.listen(80, 2).unwrap();
    assert_eq!(stack.tcp_sockets_in_use(), 2);
}

#[test]
fn socket_budget_is_enforced() {
    let mut stack = stack();
    let listener = stack.listen(80, SOCKETS + 10).unwrap();
    assert_eq!(stack.tcp_sockets_in_use(), SOCKETS);
    assert_eq!(stack.tcp_socket_budget(), SOCKETS);
    assert_eq!(stack.listen(81, 1), Err(NetError::NoSocketsLeft));
    assert!(stack.accept(listener).is_none());
}

/// A connected pair on the loopback stack: (client, server).
fn connected(stack: &mut Stack<Loopback>, now: &mut u64) -> (SocketHandle, SocketHandle) {
    let listener = stack.listen(80, 1).unwrap();
    let client = stack.connect((HOME, 80), 40000);
    let mut server = None;
    poll_until(stack, now, |stack| {
        server = stack.accept(listener);
        server.is_some()
    });
    (client, server.unwrap())
}

fn state(stack: &Stack<Loopback>, handle: SocketHandle) -> tcp::State {
    stack.sockets.get::<tcp::Socket>(handle).state()
}

#[test]
fn a_close_both_sides_finish_frees_the_socket_at_once() {
    let mut stack = stack();
    let mut now = 0;
    let (client, server) = connected(&mut stack, &mut now);
    stack.release(server, now);
    poll_until(&mut stack, &mut now, |stack| {
        state(stack, client) == tcp::State::CloseWait
    });
    stack.shutdown(client);
    poll_until(&mut stack, &mut now, |stack| stack.closing.is_empty());
    assert!(now < CLOSE_LINGER_MS);
}

#[test]
fn a_peer_that_never_closes_gets_the_reset_it_was_promised() {
    let mut stack = stack();
    let mut now = 0;
    let (client, server) = connected(&mut stack, &mut now);
    // The client acknowledges our FIN (FIN-WAIT-2) but never closes its side.
    stack.release(server, now);
    poll_until(&mut stack, &mut now, |stack| {
        state(stack, server) == tcp::State::FinWait2
    });
    let released_at = now;
    // Progress (the FIN acknowledged) moved the deadline: it counts from there.
    assert!(stack.closing[0].deadline_ms > released_at);
    poll_until(&mut stack, &mut now, |stack| {
        stack.poll(now_plus(stack, CLOSE_LINGER_MS), BUDGET);
        stack.closing.is_empty()
    });
    // The RST went out before the socket was freed: the client gets it at its next poll.
    stack.poll(now, BUDGET);
    assert_eq!(state(&stack, client), tcp::State::Closed);
}

/// The clock the test stack's closing list runs on, pushed `ms` past its earliest deadline.
fn now_plus(stack: &Stack<Loopback>, ms: u64) -> u64 {
    stack
        .closing
        .iter()
        .map(|c| c.deadline_ms)
        .min()
        .unwrap_or(0)
        + ms
}

#[test]
fn the_close_deadline_counts_from_the_last_progress() {
    let mut stack = stack();
    let mut now = 0;
    let (_client, server) = connected(&mut stack, &mut now);
    stack.send(server, &[7; 3000]).unwrap();
    stack.release(server, now);
    let first_deadline = stack.closing[0].deadline_ms;
    // Nothing moves: no progress, the deadline stands.
    assert!(!stack.reap_closed(now));
    assert_eq!(stack.closing[0].deadline_ms, first_deadline);
    // The peer acknowledges some bytes later on: the deadline moves with it.
    let later = now + CLOSE_LINGER_MS - 10;
    stack.closing[0].send_queue += 1; // as if the queue had been longer when last looked at
    stack.reap_closed(later);
    assert_eq!(stack.closing[0].deadline_ms, later + CLOSE_LINGER_MS);
}

#[test]
fn a_silent_peer_is_cut_off_and_reset() {
    let mut stack = stack();
    let mut now = 0;
    let (client, server) = connected(&mut stack, &mut now);
    // Released, and no packet moves any more (a peer that vanished): the socket stays in
    // FIN-WAIT-1 with its FIN unacknowledged...
    stack.release(server, now);
    assert!(!stack.reap_closed(now + 100));
    assert_eq!(stack.closing.len(), 1);
    assert!(stack.poll_delay_ms(now + 100).unwrap() <= CLOSE_LINGER_MS);
    // ...until the linger time ends: then it is aborted, and freed once its RST went out
    // (here at once: the loopback device always has room).
    assert!(stack.reap_closed(now + CLOSE_LINGER_MS + 1));
    assert!(stack.closing.is_empty());
    stack.poll(now + CLOSE_LINGER_MS + 2, BUDGET);
    assert_eq!(state(&stack, client), tcp::State::Closed);
}

#[test]
fn abort_sends_a_reset_before_freeing() {
    let mut stack = stack();
    let mut now = 0;
    let (client, server) = connected(&mut stack, &mut now);
    let in_use = stack.tcp_sockets_in_use();
    stack.abort(server, now);
    stack.transmit(now);
    stack.poll(now, BUDGET);
    assert_eq!(stack.tcp_sockets_in_use(), in_use - 1);
    assert_eq!(state(&stack, client), tcp::State::Closed);
}

#[test]
fn discard_and_generated_sends_move_no_copies() {
    let mut stack = stack();
    let mut now = 0;
    let (client, server) = connected(&mut stack, &mut now);
    let sent = stack
        .send_with(client, |room| {
            room[..5].copy_from_slice(b"hello");
            5
        })
        .unwrap();
    assert_eq!(sent, 5);
    assert_eq!(stack.send_queue(client), 5);
    poll_until(&mut stack, &mut now, |stack| stack.send_queue(client) == 0);
    assert_eq!(stack.discard(server, 2), Ok(2));
    let mut buf = [0; 8];
    assert_eq!(stack.recv(server, &mut buf), Ok(3));
    assert_eq!(&buf[..3], b"llo");
    assert_eq!(
        stack.peer(server).map(|(address, _)| address),
        Some([127, 0, 0, 1])
    );
}

/// A waker that counts its wakes, for the readiness tests.
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn armed_wakers_fire_once_on_data_and_on_acknowledgements() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;
    let mut stack = stack();
    let mut now = 0;
    let (client, server) = connected(&mut stack, &mut now);
    let readable = Arc::new(CountingWaker(Default::default()));
    let writable = Arc::new(CountingWaker(Default::default()));
    let read_waker = std::task::Waker::from(readable.clone());
    let write_waker = std::task::Waker::from(writable.clone());
    stack.arm(server, Some(&read_waker), None);
    stack.send(client, b"GET / HTTP/1.1\r\n\r\n").unwrap();
    poll_until(&mut stack, &mut now, |_| readable.0.load(SeqCst) > 0);
    stack.send(client, b"more").unwrap();
    for _ in 0..5 {
        stack.poll(now, BUDGET);
        now += 10;
    }
    assert_eq!(
        readable.0.load(SeqCst),
        1,
        "one-shot: fired once until armed again"
    );

    stack.send(server, &[1; 100]).unwrap();
    stack.arm(server, None, Some(&write_waker));
    poll_until(&mut stack, &mut now, |_| writable.0.load(SeqCst) > 0);
    assert_eq!(
        stack.send_queue(server),
        0,
        "woken when the peer acknowledged"
    );
}

#[test]
fn half_open_clock_expires_after_the_timeout() {
    let mut clock = HalfOpenClock::default();
    assert!(!clock.expired(false, 0));
    assert_eq!(clock.deadline_ms(), None);
    assert!(!clock.expired(true, 100));
    assert_eq!(clock.deadline_ms(), Some(100 + SYN_RECEIVED_TIMEOUT_MS));
    assert!(!clock.expired(true, 100 + SYN_RECEIVED_TIMEOUT_MS - 1));
    assert!(clock.expired(true, 100 + SYN_RECEIVED_TIMEOUT_MS));
    // Taken back: a new half-open connection starts a new clock.
    assert_eq!(clock.deadline_ms(), None);
    assert!(!clock.expired(true, 10_000));
    // A connection that completes its handshake stops the clock.
    assert!(!clock.expired(false, 10_001));
    assert!(!clock.expired(true, 10_000 + SYN_RECEIVED_TIMEOUT_MS));
}

#[test]
fn completed_handshakes_are_never_expired() {
    let mut stack = stack();
    let mut now = 0;
    let listener = stack.listen(80, 2).unwrap();
    let _client = stack.connect((HOME, 80), 40000);
    poll_until(&mut stack, &mut now, |stack| {
        stack.listeners[listener.0]
            .as_ref()
            .unwrap()
            .pending
            .iter()
            .any(|p| stack.sockets.get::<tcp::Socket>(p.handle).state() == tcp::State::Established)
    });
    stack.poll(now + 2 * SYN_RECEIVED_TIMEOUT_MS, BUDGET);
    assert_eq!(stack.half_open_expired(), 0);
    assert!(stack.accept(listener).is_some());
}

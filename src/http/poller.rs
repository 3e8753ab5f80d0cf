//! The poller: one thread that watches every parked connection, the way an event loop does,
//! and the table they are parked in.
//!
//! ```text
//!   poller thread: loop {
//!       sleep until a token is ready (src/net/readiness.rs), a connection is adopted,
//!           or the next deadline
//!       adopt new connections: 503 if their address holds too many, or if the server has
//!           none to spare; otherwise serve them
//!       take each ready token's and each expired deadline's connection out of the table
//!           and serve it
//!   }
//!   serve (the poller, or a worker after answering):
//!       arm the wakers, then look: Connection::poll does what it can and says
//!       Park (back into the table) | Dispatch (to a worker) | Release | Abort
//! ```
//!
//! Arming before looking is what makes the wakers reliable: whatever happens after the arm
//! wakes the connection again, so nothing is missed between its last look and its parking.
//! A worker that has answered serves the connection itself, and the poller never hears of
//! it unless it must wait: one thread switch less per request.

use super::clients::Clients;
use super::connection::{Connection, Next};
use super::limits::{MAX_CONNECTIONS_PER_CLIENT, PRESSURE_FREE_SHARE};
use super::parked::Parked;
use super::server::{self, COUNTERS, KernelConnection};
use super::status::Status;
use crate::net::{TcpStream, readiness};
use crate::sync::Mutex;
use crate::time;
use crate::trace::{self, Step};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

/// The longest the poller sleeps with nothing due (it has no other reason to wake).
const MAX_SLEEP_MS: u64 = 1_000;

/// A connection as the server keeps it: boxed, so that the table, the work queue and the
/// hand-overs move a pointer, and their reserved room costs a pointer per socket.
pub(super) type Entry = Box<Tracked>;

pub(super) struct Tracked {
    pub connection: KernelConnection,
    /// Counted in the per-client table (connections refused with 503 are not).
    counted: bool,
}

/// Where every open connection has its slot, and how many each client address holds.
struct Table {
    parked: Parked<Entry>,
    clients: Clients,
    /// Connections served; past this many (the rest of the slots), new ones get 503.
    serving: usize,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

/// New connections from the acceptor.
static ADOPTED: Mutex<VecDeque<TcpStream>> = Mutex::new(VecDeque::new());

/// Sizes the table for `slots` connections, of which `serving` are served.
pub(super) fn init(slots: usize, serving: usize) {
    *TABLE.lock() = Some(Table {
        parked: Parked::with_capacity(slots),
        clients: Clients::new(MAX_CONNECTIONS_PER_CLIENT),
        serving,
    });
    // Reserved now for every connection there can be: never grown.
    ADOPTED.lock().reserve_exact(slots);
}

/// Hands a freshly accepted connection to the poller (the acceptor's side).
pub(super) fn adopt(stream: TcpStream) {
    ADOPTED.lock().push_back(stream);
    readiness::wake_poller();
}

fn with_table<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    f(TABLE.lock().as_mut().expect("http::start sized the table"))
}

/// The poller thread.
pub(super) fn run() {
    let capacity = with_table(|table| table.parked.capacity());
    // Reserved for every connection there can be: the loop never allocates.
    let mut tokens = Vec::with_capacity(capacity);
    let mut due = Vec::with_capacity(capacity);
    loop {
        loop {
            let adopted = ADOPTED.lock().pop_front();
            let Some(stream) = adopted else { break };
            take_in(stream);
        }
        readiness::take_ready(&mut tokens);
        let now = time::uptime_ms();
        let next_sweep = with_table(|table| {
            table.parked.sweep(now, &mut tokens);
            // Take them all out now, in one go: each is then served without the lock.
            due.extend(
                tokens
                    .drain(..)
                    .filter_map(|token| table.parked.take(token).map(|entry| (token, entry))),
            );
            COUNTERS
                .connections_parked
                .store(table.parked.parked() as u64, Relaxed);
            table.parked.next_sweep_ms()
        });
        for (token, entry) in due.drain(..) {
            serve(token, entry);
        }
        let sleep = next_sweep
            .saturating_sub(time::uptime_ms())
            .min(MAX_SLEEP_MS);
        if sleep > 0 && ADOPTED.lock().is_empty() {
            readiness::wait(sleep);
        }
    }
}

/// A new connection: served, to wait for its first request, or refused with 503 when its
/// address already holds its share or the server has no connection to spare.
fn take_in(stream: TcpStream) {
    let now = time::uptime_ms();
    let client = stream.peer().map_or([0; 4], |(address, _)| address);
    let admitted = with_table(|table| {
        let token = table.parked.insert()?;
        let in_use = table.parked.in_use();
        COUNTERS.connections_active.store(in_use as u64, Relaxed);
        Some((
            token,
            in_use <= table.serving && table.clients.try_add(client),
        ))
    });
    // No slot: cannot happen, the table has one for every socket there can be.
    let Some((token, admitted)) = admitted else {
        return;
    };
    if trace::expects(Step::Socket) && is_traced(&stream) {
        trace::step(
            Step::Socket,
            "src/http/poller.rs take_in",
            format_args!(
                "the request came with the handshake's end: the acceptor handed the new \
                 connection (token {token}) to the poller, its socket already holding the bytes"
            ),
        );
    }
    let connection = if admitted {
        Connection::new(stream, client, now)
    } else {
        COUNTERS.connections_rejected.fetch_add(1, Relaxed);
        Connection::refused(stream, client, Status::ServiceUnavailable, now, &COUNTERS)
    };
    serve(
        token,
        Box::new(Tracked {
            connection,
            counted: admitted,
        }),
    );
}

/// Arms the connection's wakers, lets it do what it can, and follows its answer. Called by
/// the poller, and by a worker for the connection it has just answered. Both wakers are
/// armed each time: each fires only on its own events (data or a FIN; an acknowledgement),
/// and one not needed costs nothing until then.
pub(super) fn serve(token: readiness::Token, mut entry: Entry) {
    loop {
        entry.connection.stream.arm(token, true, true);
        let pressure = with_table(|table| {
            let free = table.serving.saturating_sub(table.parked.in_use());
            free < table.serving / PRESSURE_FREE_SHARE
        });
        let now = time::uptime_ms();
        match entry.connection.poll(now, pressure, &COUNTERS) {
            Next::Park { deadline_ms, .. } => {
                let (sooner, handed_back) = with_table(|table| {
                    let sooner = deadline_ms < table.parked.next_sweep_ms();
                    (sooner, table.parked.park(token, entry, deadline_ms))
                });
                if let Some(again) = handed_back {
                    // Woken while it was being looked at: look again.
                    entry = again;
                    continue;
                }
                if sooner {
                    // The poller sleeps until its next sweep: this deadline comes first.
                    readiness::wake_poller();
                }
            }
            Next::Dispatch => {
                if trace::expects(Step::Poller) && is_traced(&entry.connection.stream) {
                    trace::set_mark(token);
                    trace::step(
                        Step::Poller,
                        "src/http/poller.rs serve",
                        format_args!(
                            "Connection::poll read a complete request head from token \
                             {token}: Next::Dispatch, onto the work queue"
                        ),
                    );
                }
                server::dispatch(token, entry)
            }
            Next::Release => end(token, entry, false),
            Next::Abort => end(token, entry, true),
        }
        return;
    }
}

/// Whether `stream` is the connection the request trace follows (src/trace.rs).
fn is_traced(stream: &TcpStream) -> bool {
    stream.peer().map(|(_, port)| port) == Some(trace::client_port())
}

fn end(token: readiness::Token, entry: Entry, abort: bool) {
    let client = entry.connection.client;
    let in_use = with_table(|table| {
        if entry.counted {
            table.clients.remove(client);
        }
        table.parked.remove(token);
        table.parked.in_use()
    });
    COUNTERS.connections_active.store(in_use as u64, Relaxed);
    if abort {
        COUNTERS.connections_aborted.fetch_add(1, Relaxed);
        let Tracked { connection, .. } = *entry;
        connection.stream.abort();
    }
    // Otherwise dropping the stream releases it: a graceful close (src/net/socket.rs).
}

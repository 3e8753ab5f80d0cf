//! The server's threads: one acceptor, one poller, a pool of workers.
//!
//! ```text
//!   TcpListener :80 ──accept──> acceptor ──> poller (src/http/poller.rs): every open
//!                                               connection parked in one table, woken
//!                                               by the network (src/net/readiness.rs)
//!                                                  │ a complete request head
//!                                                  v
//!                               workers 1..8 <── WorkQueue
//!                                  │ answer: route, build, queue what fits
//!                                  └──> back to the poller (it sends the rest, waits for the
//!                                       next head, closes)
//! ```
//!
//! A connection costs a thread only while a worker builds its answer: a client that sends
//! its head one byte a second, or reads its download slowly, or keeps an idle connection
//! open, costs a slot in the poller's table and its socket, nothing more.

use super::connection::Connection;
use super::limits::{REFUSAL_RESERVE, WORKERS};
use super::poller::{self, Entry};
use super::router::Router;
use super::stats::{HttpCounters, KernelProbe};
use super::stream::{Received, Reset, Stream};
use crate::net::{self, DEFAULT_BACKLOG, NetError, TcpListener, TcpStream, readiness};
use crate::sched;
use crate::sync::{Mutex, WaitQueue};
use crate::time;
use crate::trace::{self, Step};
use alloc::collections::VecDeque;
use alloc::format;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The port the server listens on (QEMU forwards a host port to it: see `make run`).
pub const HTTP_PORT: u16 = 80;

/// The server's counters, read by `/api/stats`.
pub static COUNTERS: HttpCounters = HttpCounters::new();

/// Connections with a complete request head, waiting for a worker. `len` mirrors the
/// deque's length so that the workers' wait condition reads no lock (WaitQueue's rule).
struct WorkQueue {
    entries: Mutex<VecDeque<(readiness::Token, Entry)>>,
    len: AtomicUsize,
    not_empty: WaitQueue,
}

static WORK: WorkQueue = WorkQueue {
    entries: Mutex::new(VecDeque::new()),
    len: AtomicUsize::new(0),
    not_empty: WaitQueue::new(),
};

impl WorkQueue {
    /// Hands a connection to the workers. Never full: it is reserved for every connection.
    pub(super) fn push(&self, token: readiness::Token, entry: Entry) {
        let mut entries = self.entries.lock();
        entries.push_back((token, entry));
        self.len.store(entries.len(), Ordering::Release);
        COUNTERS
            .requests_waiting
            .store(entries.len() as u64, Ordering::Relaxed);
        drop(entries);
        self.not_empty.wake_one();
    }

    fn pop(&self) -> (readiness::Token, Entry) {
        loop {
            self.not_empty
                .wait_until(|| self.len.load(Ordering::Acquire) > 0);
            let mut entries = self.entries.lock();
            if let Some(item) = entries.pop_front() {
                self.len.store(entries.len(), Ordering::Release);
                COUNTERS
                    .requests_waiting
                    .store(entries.len() as u64, Ordering::Relaxed);
                return item;
            }
        }
    }
}

/// Gives a connection with a complete head to the workers.
pub(super) fn dispatch(token: readiness::Token, entry: Entry) {
    WORK.push(token, entry);
}

/// Listens on [`HTTP_PORT`] and starts the acceptor, the poller and the workers. `probe`
/// supplies the figures of the JSON API.
pub fn start(probe: &'static dyn KernelProbe) -> Result<(), NetError> {
    let listener = TcpListener::bind(HTTP_PORT)?;
    // Every socket of the budget may be a connection; the listener's backlog and a reserve
    // for 503 answers are kept out of what the server serves.
    let sockets = net::stats().tcp_sockets_max;
    let serving = sockets
        .saturating_sub(DEFAULT_BACKLOG + REFUSAL_RESERVE)
        .max(1);
    readiness::init(sockets);
    poller::init(sockets, serving);
    // Reserved now for every connection: grown under load, it would stay grown.
    WORK.entries.lock().reserve_exact(sockets);
    for worker in 0..WORKERS {
        // The handles are dropped: the threads serve for the life of the kernel.
        let _ = sched::spawn(&format!("http-worker-{worker}"), move || work(probe));
    }
    let _ = sched::spawn("http-poll", poller::run);
    let _ = sched::spawn("http-accept", move || accept_loop(listener));
    log::info!(
        "http: listening on port {HTTP_PORT}: {serving} connections ({} per client address), {WORKERS} workers",
        super::limits::MAX_CONNECTIONS_PER_CLIENT
    );
    Ok(())
}

fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept() {
            Ok(stream) => {
                COUNTERS
                    .connections_accepted
                    .fetch_add(1, Ordering::Relaxed);
                poller::adopt(stream);
            }
            Err(error) => log::warn!("http: accept failed: {error:?}"),
        }
    }
}

fn work(probe: &'static dyn KernelProbe) {
    let router = Router {
        probe,
        counters: &COUNTERS,
        workers: WORKERS as u64,
    };
    loop {
        let (token, mut entry) = WORK.pop();
        if trace::expects(Step::Worker) && trace::mark() == token {
            trace::step(
                Step::Worker,
                "src/http/server.rs work",
                format_args!(
                    "a worker took token {token} from the work queue, calls Connection::answer"
                ),
            );
        }
        COUNTERS.workers_busy.fetch_add(1, Ordering::Relaxed);
        entry.connection.answer(&router, time::uptime_ms());
        COUNTERS.workers_busy.fetch_sub(1, Ordering::Relaxed);
        poller::serve(token, entry);
    }
}

/// A parked connection of the kernel: a TCP stream.
pub(super) type KernelConnection = Connection<TcpStream>;

/// The kernel's TCP connections are the connection logic's streams.
impl Stream for TcpStream {
    fn receive(&mut self, buf: &mut [u8]) -> Result<Received, Reset> {
        received(self.try_read(buf))
    }

    fn at_end(&self) -> bool {
        self.peer_closed()
    }

    fn discard(&mut self, max: usize) -> Result<Received, Reset> {
        received(self.try_discard(max))
    }

    fn send(&mut self, data: &[u8]) -> Result<usize, Reset> {
        sent(self.try_write(data))
    }

    fn send_with(&mut self, fill: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, Reset> {
        sent(self.try_write_with(fill))
    }

    fn send_queue(&self) -> usize {
        TcpStream::send_queue(self)
    }

    fn shutdown(&mut self) {
        TcpStream::shutdown(self);
    }
}

fn received(result: Result<usize, NetError>) -> Result<Received, Reset> {
    match result {
        Ok(0) => Ok(Received::End),
        Ok(n) => Ok(Received::Bytes(n)),
        Err(NetError::WouldBlock) => Ok(Received::Nothing),
        Err(_) => Err(Reset),
    }
}

fn sent(result: Result<usize, NetError>) -> Result<usize, Reset> {
    match result {
        Ok(n) => Ok(n),
        Err(NetError::WouldBlock) => Ok(0),
        Err(_) => Err(Reset),
    }
}

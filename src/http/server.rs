//! The server: one acceptor thread and a fixed pool of worker threads.
//!
//! ```text
//!   TcpListener :80 ──accept──> acceptor ──push──> ConnectionQueue (16) ──pop──> worker 1..8
//!                                  │ queue still full after BUSY_GRACE_MS          │
//!                                  └──> 503 Service Unavailable, close             └─ connection::serve
//! ```
//!
//! A worker serves one connection at a time, start to end, so a slow client holds only its
//! own worker: the other workers go on serving. When connections wait in the queue, idle
//! kept-alive connections hand their workers over quickly (see `connection::serve`).

use super::connection;
use super::limits::{QUEUED_CONNECTIONS, WORKERS};
use super::response::{Body, Response};
use super::router::Router;
use super::stats::{HttpCounters, KernelProbe};
use super::status::Status;
use super::stream::{Stream, StreamError};
use crate::net::{NetError, TcpListener, TcpStream};
use crate::sched;
use crate::sync::{Mutex, WaitQueue};
use crate::time;
use alloc::collections::VecDeque;
use alloc::format;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The port the server listens on (QEMU forwards a host port to it: see `make run`).
pub const HTTP_PORT: u16 = 80;

/// How long the acceptor waits for room in a full queue before answering 503.
const BUSY_GRACE_MS: u64 = 200;

/// How long a 503 answer may take to send: the acceptor does not wait on a slow client longer.
const REJECT_WRITE_TIMEOUT_MS: u64 = 500;

/// The server's counters, read by `/api/stats`.
pub static COUNTERS: HttpCounters = HttpCounters::new();

/// Accepted connections waiting for a worker. `len` mirrors the deque's length so that the
/// wait conditions read an atomic instead of taking the lock (WaitQueue's rule).
struct ConnectionQueue {
    streams: Mutex<VecDeque<TcpStream>>,
    len: AtomicUsize,
    /// Workers wait here for a connection.
    not_empty: WaitQueue,
    /// The acceptor waits here for room.
    not_full: WaitQueue,
}

static QUEUE: ConnectionQueue = ConnectionQueue {
    streams: Mutex::new(VecDeque::new()),
    len: AtomicUsize::new(0),
    not_empty: WaitQueue::new(),
    not_full: WaitQueue::new(),
};

impl ConnectionQueue {
    /// Queues `stream` unless the queue is full; gives it back if it is.
    fn try_push(&self, stream: TcpStream) -> Result<(), TcpStream> {
        let mut streams = self.streams.lock();
        if streams.len() >= QUEUED_CONNECTIONS {
            return Err(stream);
        }
        streams.push_back(stream);
        self.len.store(streams.len(), Ordering::Release);
        drop(streams);
        self.not_empty.wake_one();
        Ok(())
    }

    /// Waits for a connection and takes it.
    fn pop(&self) -> TcpStream {
        loop {
            self.not_empty
                .wait_until(|| self.len.load(Ordering::Acquire) > 0);
            let mut streams = self.streams.lock();
            if let Some(stream) = streams.pop_front() {
                self.len.store(streams.len(), Ordering::Release);
                drop(streams);
                self.not_full.wake_one();
                return stream;
            }
        }
    }

    fn has_waiting(&self) -> bool {
        self.len.load(Ordering::Acquire) > 0
    }
}

/// Listens on [`HTTP_PORT`] and starts the acceptor and the workers. `probe` supplies the
/// figures of the JSON API.
pub fn start(probe: &'static dyn KernelProbe) -> Result<(), NetError> {
    let listener = TcpListener::bind(HTTP_PORT)?;
    // The queue's whole capacity now: grown under load, it would stay grown.
    QUEUE.streams.lock().reserve_exact(QUEUED_CONNECTIONS);
    for worker in 0..WORKERS {
        // The handles are dropped: the threads serve for the life of the kernel.
        let _ = sched::spawn(&format!("http-worker-{worker}"), move || work(probe));
    }
    let _ = sched::spawn("http-accept", move || accept_loop(listener));
    log::info!(
        "http: listening on port {HTTP_PORT}: {WORKERS} workers, {QUEUED_CONNECTIONS} queued connections, then 503"
    );
    Ok(())
}

fn accept_loop(listener: TcpListener) {
    // When the last connection had to be refused, the queue has been full for a while: the
    // next one is refused at once instead of waiting another grace period, so a storm of
    // connections is answered at the speed it arrives, not one per BUSY_GRACE_MS.
    let mut last_rejection_ms: Option<u64> = None;
    loop {
        let stream = match listener.accept() {
            Ok(stream) => stream,
            Err(error) => {
                log::warn!("http: accept failed: {error:?}");
                continue;
            }
        };
        COUNTERS
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        let Err(stream) = QUEUE.try_push(stream) else {
            last_rejection_ms = None;
            continue;
        };
        let recently_refused =
            last_rejection_ms.is_some_and(|at| time::uptime_ms() < at + BUSY_GRACE_MS);
        if !recently_refused {
            QUEUE.not_full.wait_until_timeout(
                || QUEUE.len.load(Ordering::Acquire) < QUEUED_CONNECTIONS,
                BUSY_GRACE_MS,
            );
        }
        match QUEUE.try_push(stream) {
            Ok(()) => last_rejection_ms = None,
            Err(stream) => {
                reject_busy(stream);
                last_rejection_ms = Some(time::uptime_ms());
            }
        }
    }
}

/// Answers 503 and closes: every worker is busy and the queue is full.
fn reject_busy(mut stream: TcpStream) {
    COUNTERS
        .connections_rejected
        .fetch_add(1, Ordering::Relaxed);
    COUNTERS.count_response(Status::ServiceUnavailable.code());
    let response = Response::error(Status::ServiceUnavailable);
    stream.set_write_timeout(Some(REJECT_WRITE_TIMEOUT_MS));
    let mut bytes = response.head(false).into_bytes();
    if let Body::Owned(body) = &response.body {
        bytes.extend_from_slice(body);
    }
    // A client too slow to take 100 bytes gets nothing: the close follows either way.
    let _ = stream.write_all(&bytes);
}

fn work(probe: &'static dyn KernelProbe) {
    let router = Router {
        probe,
        counters: &COUNTERS,
        workers: WORKERS as u64,
    };
    loop {
        let mut stream = QUEUE.pop();
        COUNTERS.workers_busy.fetch_add(1, Ordering::Relaxed);
        COUNTERS.connections_active.fetch_add(1, Ordering::Relaxed);
        connection::serve(&mut stream, &router, &|| QUEUE.has_waiting());
        drop(stream);
        COUNTERS.connections_active.fetch_sub(1, Ordering::Relaxed);
        COUNTERS.workers_busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The kernel's TCP connections are the connection logic's streams.
impl Stream for TcpStream {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u64) -> Result<usize, StreamError> {
        self.set_read_timeout(Some(timeout_ms));
        TcpStream::read(self, buf).map_err(stream_error)
    }

    fn write_all(&mut self, data: &[u8], timeout_ms: u64) -> Result<(), StreamError> {
        self.set_write_timeout(Some(timeout_ms));
        TcpStream::write_all(self, data).map_err(stream_error)
    }

    fn now_ms(&self) -> u64 {
        time::uptime_ms()
    }
}

fn stream_error(error: NetError) -> StreamError {
    match error {
        NetError::TimedOut => StreamError::TimedOut,
        _ => StreamError::Closed,
    }
}

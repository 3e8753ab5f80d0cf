//! One connection, as a state machine that never waits: the poller (src/http/poller.rs)
//! calls [`Connection::poll`] whenever the network says something changed or a deadline
//! passed, and a worker calls [`Connection::answer`] once a request head is complete. Each
//! call does what can be done at once and says what it needs next ([`Next`]).
//!
//! ```text
//!                 bytes              complete head                 response queued
//!   accept ──> waiting for a head ──────────────> worker: answer ──────────────────┐
//!      ^         │  │ idle / head deadline           │ (pipelined heads: answered  │
//!      │         │  └──> 408, or close               │  in order, same visit)      │
//!      │         │ refused (400, 413, 501...)        v                             │
//!      │         └─────────────────────────────> sending (the poller queues the    │
//!      │                                          rest as ACKs make room) <────────┘
//!      │   keep-alive: idle clock starts               │ Connection: close, error,
//!      └────────── once everything is acknowledged ────┘ or client done
//!                                                       v
//!                                 lingering close: our side shut, the client's bytes read
//!                                 and dropped until it closes ──> release (or reset)
//! ```
//!
//! Everything a connection owns is bounded: the input buffer ([`Input`], at most
//! `MAX_HEAD_BYTES`, none while idle), one response at a time ([`Output`]), and the clocks
//! ([`super::deadlines`]) that decide when the server stops waiting for the client.

use super::deadlines::{self, SendClock};
use super::input::Input;
use super::limits::{LINGER_DISCARD_BYTES, RETRY_AFTER_S};
use super::output::Output;
use super::request::{self, Method, Parsed};
use super::response::Response;
use super::router::Router;
use super::stats::HttpCounters;
use super::status::Status;
use super::stream::{Received, Reset, Stream};
use core::sync::atomic::Ordering::Relaxed;

/// What a connection needs after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing to do now: look again when the network says something changed (data, an
    /// acknowledgement, a FIN), or at `deadline_ms` at the latest.
    Park { deadline_ms: u64 },
    /// A request head is complete: a worker should answer it.
    Dispatch,
    /// Finished: give the socket back (the close was graceful, or the connection is gone).
    Release,
    /// The client stopped reading: give up with a reset.
    Abort,
}

/// A lingering close: our side is shut, the client's bytes are read and dropped.
#[derive(Debug, Clone, Copy)]
struct Linger {
    /// The last sign of life: a byte dropped or acknowledged.
    progress_ms: u64,
    discarded: usize,
    send_queue: usize,
}

pub struct Connection<S: Stream> {
    pub stream: S,
    /// The client's IPv4 address (src/http/clients.rs counts connections per address).
    pub client: [u8; 4],
    input: Input,
    /// The response being queued, if any.
    output: Option<Output>,
    /// Shut our side once `output` is queued.
    close_after_output: bool,
    linger: Option<Linger>,
    /// The client has closed its side (FIN): no request will follow those in `input`.
    client_done: bool,
    /// The connection is gone (a reset seen while answering).
    reset: bool,
    /// When the connection became idle: nothing in flight, no byte of a next head.
    idle_since: Option<u64>,
    /// When the first byte of the head being read arrived.
    head_started: Option<u64>,
    /// Watches acknowledgements while bytes are in flight.
    send_clock: Option<SendClock>,
    /// Bytes queued since the connection began: minus the send queue, the bytes acknowledged.
    queued_total: u64,
}

impl<S: Stream> Connection<S> {
    /// A connection accepted at `now_ms`: idle until its first request arrives.
    pub fn new(stream: S, client: [u8; 4], now_ms: u64) -> Connection<S> {
        Connection {
            stream,
            client,
            input: Input::default(),
            output: None,
            close_after_output: false,
            linger: None,
            client_done: false,
            reset: false,
            idle_since: Some(now_ms),
            head_started: None,
            send_clock: None,
            queued_total: 0,
        }
    }

    /// A connection refused at accept (too many connections): it is answered `status`
    /// (with Retry-After for a 503) and closed, lingering.
    pub fn refused(
        stream: S,
        client: [u8; 4],
        status: Status,
        now_ms: u64,
        counters: &HttpCounters,
    ) -> Connection<S> {
        let mut connection = Connection::new(stream, client, now_ms);
        connection.refuse(status, false, now_ms, counters);
        connection
    }

    /// Bytes of heap this connection holds besides its socket (its input buffer).
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.input.allocated()
    }

    /// Answers the requests whose heads are complete in the input, in order, as long as each
    /// answer can be queued whole at once (pipelining). The worker's part.
    pub fn answer(&mut self, router: &Router<'_>, now_ms: u64) {
        while self.output.is_none() && self.linger.is_none() && !self.reset {
            let (response, keep_alive, head_request, used, body_len) =
                match request::parse(self.input.bytes()) {
                    Parsed::Complete { request, head_len } => {
                        router.counters.requests.fetch_add(1, Relaxed);
                        let response = router.respond(&request);
                        // A client that waits for "100 Continue" before sending its body may
                        // never send it: this connection cannot be trusted to frame a next request.
                        let held_back_body = request.expects_continue && request.body_len > 0;
                        let keep_alive = request.keep_alive && !self.client_done && !held_back_body;
                        (
                            response,
                            keep_alive,
                            request.method == Method::Head,
                            head_len,
                            request.body_len,
                        )
                    }
                    Parsed::Rejected { status, head } => {
                        self.refuse(status, head, now_ms, router.counters);
                        return;
                    }
                    Parsed::Incomplete => return,
                };
            self.input.consume(used, body_len);
            self.start(response, keep_alive, !head_request, now_ms, router.counters);
        }
    }

    /// Does everything that can be done now (queue response bytes, read, drop a body,
    /// check the clocks) and says what the connection needs next. The poller's part.
    pub fn poll(&mut self, now_ms: u64, pressure: bool, counters: &HttpCounters) -> Next {
        loop {
            if self.reset || self.push(now_ms, counters).is_err() {
                return Next::Release;
            }
            let send_queue = self.stream.send_queue();
            let unqueued = self.output.as_ref().map_or(0, Output::remaining);
            let waiting = (send_queue + unqueued) as u64;
            let acked = self.queued_total - send_queue as u64;
            if waiting == 0 {
                self.send_clock = None;
            } else if let Some(clock) = &mut self.send_clock
                && clock.check(now_ms, acked, waiting).is_err()
            {
                return Next::Abort;
            }
            if self.linger.is_some() {
                return self.linger(now_ms);
            }
            if !self.client_done && !self.input.is_full() {
                match self.input.fill(&mut self.stream) {
                    Ok(Received::End) => self.client_done = true,
                    Ok(_) => {}
                    Err(Reset) => return Next::Release,
                }
            }
            if self.input.is_empty() {
                if self.output.is_none() && waiting == 0 && self.idle_since.is_none() {
                    // The idle clock starts now that the last answer was acknowledged.
                    self.idle_since = Some(now_ms);
                }
            } else {
                self.idle_since = None;
                self.head_started.get_or_insert(now_ms);
            }
            if self.output.is_none() {
                match request::parse(self.input.bytes()) {
                    Parsed::Complete { .. } => return Next::Dispatch,
                    Parsed::Rejected { status, head } => {
                        self.refuse(status, head, now_ms, counters);
                        continue;
                    }
                    Parsed::Incomplete => {}
                }
                if self.client_done && waiting == 0 {
                    // The client is gone and half a head (or nothing) is left: no answer.
                    return Next::Release;
                }
            }
            if let Some(started) = self.head_started
                && self.output.is_none()
                && now_ms >= deadlines::head_deadline(started, pressure)
            {
                self.refuse(Status::RequestTimeout, false, now_ms, counters);
                continue;
            }
            if let Some(since) = self.idle_since
                && now_ms >= deadlines::idle_deadline(since, pressure)
            {
                self.close(now_ms);
                continue;
            }
            let deadline_ms = [
                self.head_started
                    .map(|t| deadlines::head_deadline(t, pressure)),
                self.idle_since
                    .map(|t| deadlines::idle_deadline(t, pressure)),
                self.send_clock.map(|clock| clock.next_check_ms()),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now_ms);
            return Next::Park { deadline_ms };
        }
    }

    /// The lingering close: drop what the client sends until the answer is acknowledged and
    /// the client has closed, or `LINGER_MS` pass without progress, or `LINGER_DISCARD_BYTES`
    /// were dropped. While the answer is still in flight, the send clock (checked in `poll`)
    /// decides how long to wait, not the linger: a client behind a lossy link may take seconds
    /// of retransmissions to get it, and releasing then would hand the socket to the stack's
    /// shorter close deadline, and the client a reset in the middle of its answer.
    fn linger(&mut self, now_ms: u64) -> Next {
        let send_queue = self.stream.send_queue();
        let Some(linger) = &mut self.linger else {
            return Next::Release;
        };
        if send_queue < linger.send_queue {
            linger.progress_ms = now_ms;
        }
        linger.send_queue = send_queue;
        while !self.client_done {
            match self.stream.discard(LINGER_DISCARD_BYTES - linger.discarded) {
                Ok(Received::Bytes(n)) => {
                    linger.discarded += n;
                    linger.progress_ms = now_ms;
                    if linger.discarded >= LINGER_DISCARD_BYTES {
                        return Next::Release;
                    }
                }
                Ok(Received::Nothing) => break,
                Ok(Received::End) => self.client_done = true,
                Err(Reset) => return Next::Release,
            }
        }
        // After its FIN the client sends nothing more, but its TCP still resets the connection
        // when our answer reaches a socket its program has closed (RFC 9293, 3.10.7.4). smoltcp
        // leaves a reset socket's send buffer as it was, so the queue below would never drain.
        if self.client_done && self.stream.discard(0) == Err(Reset) {
            return Next::Release;
        }
        if send_queue > 0 {
            let deadline_ms = self
                .send_clock
                .map_or(now_ms, |clock| clock.next_check_ms());
            return Next::Park { deadline_ms };
        }
        let deadline_ms = deadlines::linger_deadline(linger.progress_ms);
        if self.client_done || now_ms >= deadline_ms {
            return Next::Release;
        }
        Next::Park { deadline_ms }
    }

    /// Starts sending `response`: the head, and the body if `send_body`.
    fn start(
        &mut self,
        response: Response,
        keep_alive: bool,
        send_body: bool,
        now_ms: u64,
        counters: &HttpCounters,
    ) {
        counters.count_response(response.status.code());
        let output = Output::new(response, keep_alive, send_body);
        let bytes = output.remaining() as u64;
        match &mut self.send_clock {
            Some(clock) => clock.add_response(bytes),
            None => {
                let waiting = self.stream.send_queue() as u64 + bytes;
                self.send_clock = Some(SendClock::start(now_ms, self.acked(), waiting, bytes));
            }
        }
        self.output = Some(output);
        self.close_after_output = !keep_alive;
        self.idle_since = None;
        self.head_started = None;
        if self.push(now_ms, counters).is_err() {
            self.reset = true;
        }
    }

    /// Answers `status` (an error: no body for a HEAD request) and closes after it. What
    /// is left in the input cannot be framed any more: it is dropped.
    fn refuse(&mut self, status: Status, head: bool, now_ms: u64, counters: &HttpCounters) {
        let mut response = Response::error(status);
        if status == Status::ServiceUnavailable {
            response.retry_after = Some(RETRY_AFTER_S);
        }
        let everything = self.input.bytes().len();
        self.input.consume(everything, 0);
        self.start(response, false, !head, now_ms, counters);
    }

    /// Closes without an answer (an idle keep-alive connection): shut our side, linger.
    fn close(&mut self, now_ms: u64) {
        self.idle_since = None;
        self.close_after_output = true;
        self.begin_linger(now_ms);
    }

    fn begin_linger(&mut self, now_ms: u64) {
        self.stream.shutdown();
        self.linger = Some(Linger {
            progress_ms: now_ms,
            discarded: 0,
            send_queue: self.stream.send_queue(),
        });
    }

    /// Queues what the stream takes of the current response; once all of it is queued,
    /// shuts our side if the connection is to close.
    fn push(&mut self, now_ms: u64, counters: &HttpCounters) -> Result<(), Reset> {
        let Some(output) = &mut self.output else {
            return Ok(());
        };
        let queued = output.push(&mut self.stream)?;
        self.queued_total += queued as u64;
        counters.bytes_sent.fetch_add(queued as u64, Relaxed);
        if output.is_done() {
            self.output = None;
            if self.close_after_output && self.linger.is_none() {
                self.begin_linger(now_ms);
            }
        }
        Ok(())
    }

    fn acked(&self) -> u64 {
        self.queued_total - self.stream.send_queue() as u64
    }
}

#[cfg(test)]
mod tests;

//! One connection, from its first byte to its close: read request heads into a buffer,
//! answer each in order, keep the connection open while the client wants it and behaves.
//!
//! ```text
//!            +-----------+ complete head  +---------+  keep-alive   +-----------+
//!   bytes -->| buffer    |--------------->| respond |-------------->| next head |--+
//!            | (8 KiB)   |                +---------+               | (pipeline)|  |
//!            +-----------+                     | close / error      +-----------+  |
//!              ^  | incomplete: read more      v                                   |
//!              +--+  (idle 5 s / head 10 s)   done    <----------------------------+
//! ```
//!
//! Several requests may arrive in one read (pipelining): after each response, the bytes
//! after its head stay in the buffer and are parsed next, so answers go out in order.

use super::limits::{
    FIRST_REQUEST_TIMEOUT_UNDER_PRESSURE_MS, HEAD_TIMEOUT_MS, IDLE_TIMEOUT_MS,
    IDLE_TIMEOUT_UNDER_PRESSURE_MS, MAX_HEAD_BYTES, WRITE_CHUNK_BYTES, WRITE_TIMEOUT_MS,
};
use super::request::{self, Method, Parsed};
use super::response::{Body, Response};
use super::router::Router;
use super::status::Status;
use super::stream::{Stream, StreamError};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

/// How often an idle connection checks whether other connections wait for its worker.
const PRESSURE_CHECK_MS: u64 = 50;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed its side (or reset the connection).
    ClientClosed,
    /// No new request within the idle timeout.
    Idle,
    /// The last request asked for the connection to be closed (or had a body we do not read).
    Done,
    /// The request was refused with this status; the connection is closed after it.
    Refused(Status),
    /// A write did not complete: the client stopped reading or went away.
    WriteFailed,
}

/// Serves requests on `stream` until one side ends the connection. `others_waiting` says
/// whether other connections are queued for a worker: if so, the response in progress is
/// the connection's last (`Connection: close`), and an idle connection gives its worker up
/// after [`IDLE_TIMEOUT_UNDER_PRESSURE_MS`] instead of [`IDLE_TIMEOUT_MS`].
pub fn serve<S: Stream>(
    stream: &mut S,
    router: &Router<'_>,
    others_waiting: &dyn Fn() -> bool,
) -> Ending {
    let mut buffer = vec![0u8; MAX_HEAD_BYTES];
    let mut chunk = Vec::new();
    let mut filled = 0;
    let mut served = false;
    // When the buffer became empty (idle clock) or got its first byte (head clock).
    let mut since = stream.now_ms();
    loop {
        if filled > 0 {
            match request::parse(&buffer[..filled]) {
                Parsed::Complete { request, head_len } => {
                    router.counters.requests.fetch_add(1, Relaxed);
                    let response = router.respond(&request);
                    // When others wait for a worker, this connection's turn ends with this
                    // response: busy keep-alive clients cannot starve the queue.
                    let keep_alive = request.keep_alive && !request.has_body && !others_waiting();
                    let send_body = request.method != Method::Head;
                    if send(stream, router, &response, keep_alive, send_body, &mut chunk).is_err() {
                        return Ending::WriteFailed;
                    }
                    if !keep_alive {
                        return Ending::Done;
                    }
                    served = true;
                    buffer.copy_within(head_len..filled, 0);
                    filled -= head_len;
                    since = stream.now_ms();
                    continue;
                }
                Parsed::Rejected(status) => return refuse(stream, router, status),
                Parsed::Incomplete => {}
            }
        }
        let elapsed = stream.now_ms().saturating_sub(since);
        let timeout = if filled == 0 {
            let limit = match (others_waiting(), served) {
                (false, _) => IDLE_TIMEOUT_MS,
                (true, true) => IDLE_TIMEOUT_UNDER_PRESSURE_MS,
                (true, false) => FIRST_REQUEST_TIMEOUT_UNDER_PRESSURE_MS,
            };
            if elapsed >= limit {
                return Ending::Idle;
            }
            (limit - elapsed).min(PRESSURE_CHECK_MS)
        } else {
            if elapsed >= HEAD_TIMEOUT_MS {
                return refuse(stream, router, Status::RequestTimeout);
            }
            HEAD_TIMEOUT_MS - elapsed
        };
        match stream.read(&mut buffer[filled..], timeout) {
            Ok(0) | Err(StreamError::Closed) => return Ending::ClientClosed,
            Ok(received) => {
                if filled == 0 {
                    since = stream.now_ms();
                }
                filled += received;
            }
            Err(StreamError::TimedOut) => {}
        }
    }
}

/// Answers `status` and ends the connection.
fn refuse<S: Stream>(stream: &mut S, router: &Router<'_>, status: Status) -> Ending {
    let response = Response::error(status);
    match send(stream, router, &response, false, true, &mut Vec::new()) {
        Ok(()) => Ending::Refused(status),
        Err(_) => Ending::WriteFailed,
    }
}

/// Writes `response`: the head, then (unless HEAD) the body, generated bodies one chunk at
/// a time into `chunk`.
fn send<S: Stream>(
    stream: &mut S,
    router: &Router<'_>,
    response: &Response,
    keep_alive: bool,
    send_body: bool,
    chunk: &mut Vec<u8>,
) -> Result<(), StreamError> {
    router.counters.count_response(response.status.code());
    let mut write = |bytes: &[u8]| {
        stream.write_all(bytes, WRITE_TIMEOUT_MS)?;
        router
            .counters
            .bytes_sent
            .fetch_add(bytes.len() as u64, Relaxed);
        Ok(())
    };
    write(response.head(keep_alive).as_bytes())?;
    if !send_body {
        return Ok(());
    }
    match &response.body {
        Body::Static(bytes) => write(bytes),
        Body::Owned(bytes) => write(bytes),
        Body::Generated { len, fill } => {
            chunk.resize(WRITE_CHUNK_BYTES, 0);
            let mut offset = 0;
            while offset < *len {
                let part = &mut chunk[..WRITE_CHUNK_BYTES.min(len - offset)];
                fill(offset, part);
                write(part)?;
                offset += part.len();
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;

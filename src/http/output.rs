//! A response on its way out: the head, then the body, queued into the socket's send buffer
//! as room appears. A worker starts it and queues what fits at once; when the client reads
//! slowly, the poller queues the rest as acknowledgements make room, and no thread waits.
//!
//! A generated body (`/big.bin`) is made straight into the send buffer (`Stream::send_with`):
//! no chunk buffer per connection, and no copy.

use super::response::{Body, Response};
use super::stream::{Reset, Stream};
use alloc::vec::Vec;

pub struct Output {
    head: Vec<u8>,
    body: Body,
    /// Bytes of the head, then of the body, already queued.
    head_sent: usize,
    body_sent: usize,
    /// False for HEAD requests and 304s: the head alone.
    send_body: bool,
}

impl Output {
    /// `response` with its head written for `keep_alive`; its body only if `send_body`.
    pub fn new(response: Response, keep_alive: bool, send_body: bool) -> Output {
        let send_body = send_body && response.sends_body(false);
        Output {
            head: response.head(keep_alive).into_bytes(),
            body: response.body,
            head_sent: 0,
            body_sent: 0,
            send_body,
        }
    }

    /// Bytes not queued yet.
    pub fn remaining(&self) -> usize {
        let body = if self.send_body { self.body.len() } else { 0 };
        self.head.len() - self.head_sent + body - self.body_sent
    }

    pub fn is_done(&self) -> bool {
        self.remaining() == 0
    }

    /// Queues as much as the stream takes now. Returns the bytes queued by this call.
    pub fn push<S: Stream>(&mut self, stream: &mut S) -> Result<usize, Reset> {
        let mut queued = 0;
        while self.head_sent < self.head.len() {
            let n = stream.send(&self.head[self.head_sent..])?;
            if n == 0 {
                return Ok(queued);
            }
            self.head_sent += n;
            queued += n;
        }
        while !self.is_done() {
            let offset = self.body_sent;
            let n = match &self.body {
                Body::Static(bytes) => stream.send(&bytes[offset..])?,
                Body::Owned(bytes) => stream.send(&bytes[offset..])?,
                Body::Generated { start, len, fill } => {
                    let left = len - offset;
                    stream.send_with(&mut |room: &mut [u8]| {
                        let n = room.len().min(left);
                        fill(start + offset, &mut room[..n]);
                        n
                    })?
                }
            };
            if n == 0 {
                break;
            }
            self.body_sent += n;
            queued += n;
        }
        Ok(queued)
    }
}

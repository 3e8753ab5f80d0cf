//! The bytes a connection has received and not used yet: the request head being read, and
//! maybe pipelined requests after it. And the body of the last request, which is dropped.
//!
//! The buffer is allocated when the first byte of a head arrives and freed when it is empty
//! again, so an idle kept-alive connection holds no buffer at all. It starts small
//! ([`FIRST_ALLOCATION`]: most request heads fit) and doubles up to [`MAX_HEAD_BYTES`].

use super::limits::MAX_HEAD_BYTES;
use super::stream::{Received, Reset, Stream};
use alloc::vec::Vec;

/// The buffer's first size: a browser's request head is about 500 bytes, curl's 80.
pub const FIRST_ALLOCATION: usize = 1024;

#[derive(Debug, Default)]
pub struct Input {
    /// Received bytes, oldest first; never longer than [`MAX_HEAD_BYTES`].
    buffer: Vec<u8>,
    /// Body bytes of the last request still to be dropped as they arrive.
    discard: u64,
}

impl Input {
    /// The bytes waiting to be parsed.
    pub fn bytes(&self) -> &[u8] {
        &self.buffer
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// Whether the buffer holds [`MAX_HEAD_BYTES`]: a head that is still incomplete is too long.
    pub fn is_full(&self) -> bool {
        self.buffer.len() >= MAX_HEAD_BYTES
    }

    /// Bytes of heap the buffer holds now (the tests check that an idle connection holds none).
    #[cfg(test)]
    pub fn allocated(&self) -> usize {
        self.buffer.capacity()
    }

    /// Reads what has arrived: first drops what is left of the last request's body, then
    /// appends to the buffer until it is full or nothing more is there. Says what the last
    /// read found: `End` if the peer has closed, `Nothing` if it may send more.
    pub fn fill<S: Stream>(&mut self, stream: &mut S) -> Result<Received, Reset> {
        while self.discard > 0 {
            let max = usize::try_from(self.discard).unwrap_or(usize::MAX);
            match stream.discard(max)? {
                Received::Bytes(n) => self.discard -= n as u64,
                other => return Ok(other),
            }
        }
        let mut last = Received::Nothing;
        while !self.is_full() {
            let filled = self.buffer.len();
            if filled == self.buffer.capacity() {
                let target = (filled * 2).clamp(FIRST_ALLOCATION, MAX_HEAD_BYTES);
                self.buffer.reserve_exact(target - filled);
            }
            let room = self.buffer.capacity().min(MAX_HEAD_BYTES);
            self.buffer.resize(room, 0);
            let result = stream.receive(&mut self.buffer[filled..]);
            let received = match result {
                Ok(Received::Bytes(n)) => n,
                _ => 0,
            };
            self.buffer.truncate(filled + received);
            last = result?;
            if filled + received < room {
                // The stream had no more: no need to ask again, only whether it ended.
                if received > 0 && stream.at_end() {
                    last = Received::End;
                }
                break;
            }
        }
        if self.buffer.is_empty() {
            self.buffer = Vec::new(); // nothing arrived: give the allocation back
        }
        Ok(last)
    }

    /// Drops a request that was answered: its head (`head_len` bytes) and its body
    /// (`body_len` bytes, some maybe still to arrive). What follows is the next request.
    pub fn consume(&mut self, head_len: usize, body_len: u64) {
        let head_len = head_len.min(self.buffer.len());
        let in_buffer =
            (self.buffer.len() - head_len).min(usize::try_from(body_len).unwrap_or(usize::MAX));
        self.buffer.drain(..head_len + in_buffer);
        self.discard += body_len - in_buffer as u64;
        if self.buffer.is_empty() {
            self.buffer = Vec::new();
        }
    }
}

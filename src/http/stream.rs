//! What a connection needs from a byte stream: read and write with timeouts, and the clock
//! the timeouts run on. The kernel's TCP sockets implement it (src/net/tcp.rs); the tests
//! implement it with a scripted in-memory stream and a virtual clock.

/// Why a read or write did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// Nothing arrived (read) or no room appeared (write) before the timeout.
    TimedOut,
    /// The connection is gone: reset by the peer, or closed under us.
    Closed,
}

/// A bidirectional byte stream with timeouts.
pub trait Stream {
    /// Reads at least one byte into `buf`, waiting at most `timeout_ms`. `Ok(0)` means the
    /// peer closed its side: no more bytes will come.
    fn read(&mut self, buf: &mut [u8], timeout_ms: u64) -> Result<usize, StreamError>;

    /// Writes all of `data`, waiting at most `timeout_ms` each time the send buffer is full.
    fn write_all(&mut self, data: &[u8], timeout_ms: u64) -> Result<(), StreamError>;

    /// Milliseconds on the clock the timeouts are measured with.
    fn now_ms(&self) -> u64;
}

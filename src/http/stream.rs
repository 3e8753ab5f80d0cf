//! What a connection needs from a byte stream: reads and writes that never wait. The kernel's
//! TCP sockets implement it (src/http/server.rs, over src/net/socket.rs); the tests implement
//! it with a scripted in-memory stream whose send buffer fills up like a socket's.
//!
//! Nothing here blocks: a connection does what it can now, and the poller (src/http/poller.rs)
//! comes back when the network says something changed (src/net/readiness.rs) or a deadline
//! passes. That is what lets one thread watch hundreds of connections.

/// What a read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// This many bytes (at least one).
    Bytes(usize),
    /// Nothing yet: the peer is still connected and may send more.
    Nothing,
    /// The peer closed its sending side (FIN): nothing more will come.
    End,
}

/// The connection is gone: reset by the peer, or aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reset;

/// A bidirectional byte stream whose calls never wait.
pub trait Stream {
    /// Reads what has arrived into `buf` (which is not empty). Fewer bytes than `buf` holds
    /// means that nothing more has arrived yet.
    fn receive(&mut self, buf: &mut [u8]) -> Result<Received, Reset>;

    /// Whether the peer has closed its side and every byte it sent has been read: after a
    /// read that found fewer bytes than it had room for, this tells "nothing more yet" from
    /// "nothing more ever" without another read.
    fn at_end(&self) -> bool;

    /// Drops up to `max` received bytes without copying them anywhere.
    fn discard(&mut self, max: usize) -> Result<Received, Reset>;

    /// Queues what fits of `data` for sending; `Ok(0)` when the send buffer is full.
    fn send(&mut self, data: &[u8]) -> Result<usize, Reset>;

    /// Lets `fill` write into the free part of the send buffer and queues what it wrote (it
    /// returns how many bytes); `Ok(0)` when the buffer is full.
    fn send_with(&mut self, fill: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, Reset>;

    /// Bytes queued and not yet acknowledged by the peer.
    fn send_queue(&self) -> usize;

    /// Sends FIN after what is queued: this side will send nothing more. Reads go on.
    fn shutdown(&mut self);
}

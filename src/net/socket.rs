//! TCP sockets shaped like `std::net`: [`TcpListener::bind`], [`TcpListener::accept`], and
//! [`TcpStream`] with `read`, `write_all`, `shutdown` and timeouts. A blocking call that cannot
//! complete yet sleeps (src/net/poll_loop.rs: `block_on`) until the network thread reports
//! activity, then tries again.
//!
//! The `try_` calls never block: they do what can be done now and answer
//! [`NetError::WouldBlock`] otherwise. With [`TcpStream::arm`] (src/net/readiness.rs) they let
//! one thread watch many connections, as the HTTP poller does.

use super::poll_loop::{block_on, with_stack, with_stack_quiet};
use super::stack::{ListenerId, NetError, Stack};
use crate::drivers::nic::NicDevice;
use crate::trace::{self, Step};
use smoltcp::iface::SocketHandle;

/// Connections a listener accepts ahead of `accept`: concurrent clients beyond this many
/// (plus those already accepted) are refused by TCP.
pub const DEFAULT_BACKLOG: usize = 32;

/// A TCP port accepting connections.
#[derive(Debug)]
pub struct TcpListener {
    id: ListenerId,
}

impl TcpListener {
    /// Listens on `port` with [`DEFAULT_BACKLOG`].
    pub fn bind(port: u16) -> Result<TcpListener, NetError> {
        TcpListener::bind_with_backlog(port, DEFAULT_BACKLOG)
    }

    pub fn bind_with_backlog(port: u16, backlog: usize) -> Result<TcpListener, NetError> {
        let id = with_stack(|stack, _| stack.listen(port, backlog))?;
        Ok(TcpListener { id })
    }

    /// Waits for the next connection.
    pub fn accept(&self) -> Result<TcpStream, NetError> {
        let handle = block_on(None, |stack, _| {
            stack.accept(self.id).ok_or(NetError::WouldBlock)
        })?;
        Ok(TcpStream::new(handle))
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let id = self.id;
        with_stack(|stack, now| stack.unlisten(id, now));
    }
}

/// One TCP connection. Dropping it closes the connection gracefully (what was written still
/// goes out) and gives the socket back to the stack.
#[derive(Debug)]
pub struct TcpStream {
    handle: SocketHandle,
    read_timeout_ms: Option<u64>,
    write_timeout_ms: Option<u64>,
}

impl TcpStream {
    fn new(handle: SocketHandle) -> TcpStream {
        TcpStream {
            handle,
            read_timeout_ms: None,
            write_timeout_ms: None,
        }
    }

    /// How long `read` waits for data; `None` waits for ever.
    pub fn set_read_timeout(&mut self, timeout_ms: Option<u64>) {
        self.read_timeout_ms = timeout_ms;
    }

    /// How long `write` waits for room in the send buffer; `None` waits for ever.
    pub fn set_write_timeout(&mut self, timeout_ms: Option<u64>) {
        self.write_timeout_ms = timeout_ms;
    }

    /// Reads what has arrived, waiting for at least one byte. `Ok(0)`: the peer closed.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        let handle = self.handle;
        block_on(self.read_timeout_ms, |stack, _| stack.recv(handle, buf))
    }

    /// Queues some of `data` for sending, waiting for room for at least one byte.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, NetError> {
        let handle = self.handle;
        block_on(self.write_timeout_ms, |stack, _| stack.send(handle, data))
    }

    /// Queues all of `data`; the write timeout applies to each wait for room.
    pub fn write_all(&mut self, mut data: &[u8]) -> Result<(), NetError> {
        while !data.is_empty() {
            let sent = self.write(data)?;
            data = &data[sent..];
        }
        Ok(())
    }

    /// Sends FIN after the queued data: no more writes. Reads still work.
    pub fn shutdown(&mut self) {
        let handle = self.handle;
        with_stack(|stack, _| stack.shutdown(handle));
    }

    /// Reads what has arrived without waiting: `Ok(0)` the peer closed its side,
    /// `WouldBlock` nothing yet. Fewer bytes than `buf` holds: nothing more is there now.
    pub fn try_read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        let handle = self.handle;
        with_stack(|stack, _| stack.recv(handle, buf))
    }

    /// Drops up to `max` received bytes without reading them; like [`try_read`](Self::try_read).
    pub fn try_discard(&mut self, max: usize) -> Result<usize, NetError> {
        let handle = self.handle;
        with_stack(|stack, _| stack.discard(handle, max))
    }

    /// Queues what fits of `data` without waiting; `WouldBlock` when the send buffer is full.
    pub fn try_write(&mut self, data: &[u8]) -> Result<usize, NetError> {
        let handle = self.handle;
        with_stack(|stack, _| {
            let sent = stack.send(handle, data);
            trace_write(
                stack,
                handle,
                &sent,
                "src/net/socket.rs TcpStream::try_write",
            );
            sent
        })
    }

    /// Lets `fill` write into the free part of the send buffer, without waiting; it returns
    /// how many bytes it wrote. `WouldBlock` when the buffer is full.
    pub fn try_write_with(
        &mut self,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, NetError> {
        let handle = self.handle;
        with_stack(|stack, _| {
            let sent = stack.send_with(handle, fill);
            trace_write(
                stack,
                handle,
                &sent,
                "src/net/socket.rs TcpStream::try_write_with",
            );
            sent
        })
    }

    /// Whether the peer has closed its side and everything it sent has been read.
    pub fn peer_closed(&self) -> bool {
        let handle = self.handle;
        with_stack_quiet(|stack| stack.peer_closed(handle))
    }

    /// Bytes written but not yet acknowledged by the peer.
    pub fn send_queue(&self) -> usize {
        let handle = self.handle;
        with_stack_quiet(|stack| stack.send_queue(handle))
    }

    /// The peer's IPv4 address and port (`None` once the connection is gone).
    pub fn peer(&self) -> Option<([u8; 4], u16)> {
        let handle = self.handle;
        with_stack_quiet(|stack| stack.peer(handle))
    }

    /// Asks the stack to put `token` on the ready list (src/net/readiness.rs) when the
    /// connection becomes readable (data, FIN, reset) and/or writable (the peer acknowledged
    /// bytes). One-shot: arm again after each wake, and look at the socket after arming.
    pub fn arm(&mut self, token: super::readiness::Token, readable: bool, writable: bool) {
        let handle = self.handle;
        let waker = super::readiness::waker(token);
        with_stack_quiet(|stack| {
            stack.arm(
                handle,
                readable.then_some(&waker),
                writable.then_some(&waker),
            )
        });
    }

    /// Closes at once with a reset (RST): queued data is dropped. For a peer that stopped
    /// reading, or one that would not close.
    pub fn abort(self) {
        let handle = self.handle;
        core::mem::forget(self);
        with_stack(|stack, now| stack.abort(handle, now));
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let handle = self.handle;
        with_stack(|stack, now| stack.release(handle, now));
    }
}

/// The request trace (src/trace.rs): the answer's bytes went into the traced connection's
/// socket. The client's port tells which connection that is.
fn trace_write(
    stack: &Stack<NicDevice>,
    handle: SocketHandle,
    sent: &Result<usize, NetError>,
    at: &str,
) {
    if let Ok(bytes @ 1..) = sent
        && trace::expects(Step::Write)
        && stack.peer(handle).map(|(_, port)| port) == Some(trace::client_port())
    {
        trace::step(
            Step::Write,
            at,
            format_args!(
                "{bytes} bytes into the socket's send buffer; with_stack then \
                 transmits what smoltcp makes of them"
            ),
        );
    }
}

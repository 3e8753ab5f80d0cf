//! The TCP/IP stack proper: smoltcp's [`Interface`] and [`SocketSet`] over a network device,
//! plus the bookkeeping smoltcp leaves to us: a budget of TCP sockets (sized by
//! src/net/budget.rs), listeners with a backlog, sockets that are closing, and the address
//! (DHCP or static).
//!
//! Nothing here blocks or knows about threads: every method does what it can now and
//! returns. That keeps it generic over the device (`D: Device`), so the host tests run it over
//! smoltcp's loopback device. The kernel wraps one `Stack<NicDevice>` in a mutex (src/net/poll_loop.rs)
//! and the blocking sockets (src/net/socket.rs) sleep between calls.
//!
//! Why a backlog needs several sockets: a smoltcp TCP socket in the listen state takes the
//! first SYN for its port and becomes that connection. A second client arriving before the
//! program re-listens would find no listener and be reset. So a listener keeps `backlog`
//! sockets listening on its port; accepting one hands it over and puts a fresh one in its place.

use alloc::vec;
use alloc::vec::Vec;
use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::phy::Device;
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// Receive buffer per TCP socket: the largest window we advertise. Requests are small.
pub const TCP_RX_BUFFER_BYTES: usize = 4 * 1024;

/// Send buffer per TCP socket: how much a writer may queue ahead of the peer's ACKs, and so
/// the most one connection has in flight. For a bulk download it must cover the
/// bandwidth-delay product: 32 KiB at the tap's round trip of about 0.8 ms caps a connection
/// near 40 MB/s, and a capture of /big.bin showed exactly that, 32 KiB out and the sender
/// waiting for ACKs (issue 15; the figures are in docs/09-network.md).
pub const TCP_TX_BUFFER_BYTES: usize = 64 * 1024;

/// A connection without any ACK from the peer for this long is aborted.
const TCP_TIMEOUT_MS: u64 = 30_000;

/// How long a connection may stay half-open (SYN received, our SYN-ACK sent, no ACK back)
/// before its listening socket is taken back. smoltcp alone would wait [`TCP_TIMEOUT_MS`], so a
/// storm of SYNs from peers that never answer (a SYN flood) would hold the whole backlog for
/// 30 s and every real client would be refused meanwhile. A real client answers a SYN-ACK
/// within one round trip; 3 s covers one lost SYN-ACK and its retransmission.
pub const SYN_RECEIVED_TIMEOUT_MS: u64 = 3_000;

/// How long a socket we closed may go without progress (the peer acknowledging our bytes,
/// or the closing handshake moving on) before it is aborted and its memory reused. Counted
/// from the last progress, not from the close: a slow reader still taking a large response is
/// not cut off, a peer that went silent is (it would hold the socket for ever).
pub const CLOSE_LINGER_MS: u64 = 5_000;

/// How long an aborted socket is kept for its RST to go out (the device may have had no room
/// for it at once). The RST is what tells the peer that nobody will read what it sends.
const RESET_SEND_MS: u64 = 1_000;

/// One entry of smoltcp's socket table (its size is part of what a socket costs:
/// src/net/budget.rs).
pub type TcpSocketStorage = smoltcp::iface::SocketStorage<'static>;

/// How the interface gets its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressConfig {
    /// Ask a DHCP server (RFC 2131); QEMU's user network has one.
    Dhcp,
    /// A fixed address and optional default gateway, from the kernel command line.
    Static {
        address: Ipv4Cidr,
        gateway: Option<Ipv4Address>,
    },
}

/// Why a socket operation could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// Every socket of the budget is in use.
    NoSocketsLeft,
    /// Another listener has this port.
    PortInUse,
    /// Port 0 cannot be listened on.
    InvalidPort,
    /// Nothing to do yet: try again after the stack has made progress.
    WouldBlock,
    /// A blocking call waited as long as it was allowed to.
    TimedOut,
    /// The connection is closed or was reset.
    Closed,
}

/// A change of address the caller may want to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressEvent {
    Configured {
        address: Ipv4Cidr,
        gateway: Option<Ipv4Address>,
    },
    Lost,
}

/// What a call to [`Stack::poll`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollOutcome {
    /// Some socket may have changed state: threads waiting on sockets should look again.
    pub sockets_changed: bool,
    pub address_event: Option<AddressEvent>,
    /// The poll took its whole budget of frames: more may be waiting, poll again soon.
    pub frames_left: bool,
}

/// A listening port, by index into the stack's listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerId(usize);

struct Listener {
    port: u16,
    backlog: usize,
    /// Sockets listening on `port`, or connected and waiting for `accept`.
    pending: Vec<Pending>,
}

/// One socket of a listener's backlog, and since when it has been half-open.
struct Pending {
    handle: SocketHandle,
    half_open: HalfOpenClock,
}

/// Times how long a listening socket has been in SYN-RECEIVED. Pure bookkeeping, so the rule
/// is host-tested without having to forge a peer that never ACKs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct HalfOpenClock {
    since_ms: Option<u64>,
}

impl HalfOpenClock {
    /// Notes the socket's state at `now_ms`; true when it has been half-open for
    /// [`SYN_RECEIVED_TIMEOUT_MS`] and must be taken back.
    fn expired(&mut self, half_open: bool, now_ms: u64) -> bool {
        if !half_open {
            self.since_ms = None;
            return false;
        }
        let since = *self.since_ms.get_or_insert(now_ms);
        if now_ms.saturating_sub(since) >= SYN_RECEIVED_TIMEOUT_MS {
            self.since_ms = None;
            return true;
        }
        false
    }

    /// When the socket expires, if it is half-open.
    fn deadline_ms(&self) -> Option<u64> {
        self.since_ms.map(|since| since + SYN_RECEIVED_TIMEOUT_MS)
    }
}

/// A socket the program gave back, removed once its close handshake ends, or aborted when it
/// makes no progress for [`CLOSE_LINGER_MS`].
struct Closing {
    handle: SocketHandle,
    /// When the socket is aborted unless it makes progress first.
    deadline_ms: u64,
    /// The send queue and state when last looked at: a shorter queue (the peer acknowledged
    /// bytes) or a new state is progress, and moves the deadline.
    send_queue: usize,
    state: tcp::State,
    /// Aborted: its RST is on the way, and the socket is removed once it has gone out.
    reset: bool,
}

impl Closing {
    fn new(handle: SocketHandle, socket: &tcp::Socket<'_>, now_ms: u64) -> Closing {
        Closing {
            handle,
            deadline_ms: now_ms + CLOSE_LINGER_MS,
            send_queue: socket.send_queue(),
            state: socket.state(),
            reset: false,
        }
    }

    fn reset(handle: SocketHandle, now_ms: u64) -> Closing {
        Closing {
            handle,
            deadline_ms: now_ms + RESET_SEND_MS,
            send_queue: 0,
            state: tcp::State::Closed,
            reset: true,
        }
    }
}

/// What the stack asks of its device besides smoltcp's `Device`: whether a frame sent now
/// would go straight out. The device hands out a transmit token whenever smoltcp asks (a
/// socket that finds none in the middle of its work can lose its retransmission: see
/// `NicDevice::transmit`); the stack asks this before each round of smoltcp's egress instead,
/// and stops when the device is full. One round sends at most one segment per socket, so
/// what goes past the card's room is bounded by the number of sockets sending at once; the
/// transmit backlog takes it, or it is dropped and counted, a loss TCP repairs.
pub trait TransmitRoom {
    fn has_room(&mut self) -> bool;
}

pub struct Stack<D: Device + TransmitRoom> {
    device: D,
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: Option<SocketHandle>,
    /// Indexed by [`ListenerId`]; `None` once closed.
    listeners: Vec<Option<Listener>>,
    closing: Vec<Closing>,
    tcp_sockets: usize,
    /// The most TCP sockets at once: listening, connected and closing together
    /// (src/net/budget.rs sizes it from the RAM).
    socket_budget: usize,
    /// Half-open connections given up after [`SYN_RECEIVED_TIMEOUT_MS`], since boot.
    half_open_expired: u64,
}

fn instant(ms: u64) -> Instant {
    Instant::from_millis(ms as i64)
}

impl<D: Device + TransmitRoom> Stack<D> {
    /// An interface with MAC address `mac` over `device`, allowing `socket_budget` TCP sockets.
    /// `random_seed` seeds TCP's initial sequence numbers and DHCP's transaction ids: it should
    /// differ from boot to boot.
    pub fn new(
        mut device: D,
        mac: [u8; 6],
        address: AddressConfig,
        now_ms: u64,
        random_seed: u64,
        socket_budget: usize,
    ) -> Self {
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        config.random_seed = random_seed;
        let mut iface = Interface::new(config, &mut device, instant(now_ms));
        // Room for every socket there can be (the TCP budget and DHCP's), reserved now: a
        // table that grew under load would stay grown, and its high-water mark would look
        // like a leak after the first busy minute.
        let mut sockets = SocketSet::new(Vec::with_capacity(socket_budget + 1));
        let dhcp = match address {
            AddressConfig::Dhcp => Some(sockets.add(dhcpv4::Socket::new())),
            AddressConfig::Static { address, gateway } => {
                set_address(&mut iface, Some(address), gateway);
                None
            }
        };
        Stack {
            device,
            iface,
            sockets,
            dhcp,
            listeners: Vec::new(),
            // Every socket could be closing at once: reserved now, like the socket table.
            closing: Vec::with_capacity(socket_budget),
            tcp_sockets: 0,
            socket_budget,
            half_open_expired: 0,
        }
    }

    /// The interface's IPv4 address, once it has one.
    pub fn ipv4_cidr(&self) -> Option<Ipv4Cidr> {
        // With only IPv4 compiled in, every address is an IPv4 one.
        self.iface
            .ip_addrs()
            .iter()
            .map(|IpCidr::Ipv4(cidr)| *cidr)
            .next()
    }

    /// TCP sockets in use (listening, connected or closing).
    pub fn tcp_sockets_in_use(&self) -> usize {
        self.tcp_sockets
    }

    /// The most TCP sockets there can be at once.
    pub fn tcp_socket_budget(&self) -> usize {
        self.socket_budget
    }

    /// Sockets given back by their owners and not yet freed (closing handshakes in progress).
    pub fn tcp_sockets_closing(&self) -> usize {
        self.closing.len()
    }

    /// Half-open connections given up so far (see [`SYN_RECEIVED_TIMEOUT_MS`]).
    pub fn half_open_expired(&self) -> u64 {
        self.half_open_expired
    }

    /// Moves packets: receives at most `budget` frames, runs TCP's timers, transmits what
    /// the sockets have queued; then applies DHCP's answer, reaps closed sockets and tops up
    /// the listeners' backlogs.
    ///
    /// Why a budget: smoltcp's own `Interface::poll` takes frames for as long as the device
    /// has any. Under a flood that is for ever, and the caller holds the stack's lock all the
    /// while: no socket call gets in, replies to the frames taken wait behind the frames still
    /// coming, and the server starves. With a budget, each pass takes a bounded share, sends
    /// what it produced, and returns; [`PollOutcome::frames_left`] tells the caller to come
    /// back after letting others have the lock. (Linux's NAPI gives each device a budget per
    /// poll for the same reason.)
    pub fn poll(&mut self, now_ms: u64, budget: usize) -> PollOutcome {
        let now = instant(now_ms);
        self.iface.poll_maintenance(now);
        let mut sockets_changed = false;
        let mut taken = 0;
        while taken < budget {
            match self
                .iface
                .poll_ingress_single(now, &mut self.device, &mut self.sockets)
            {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => sockets_changed = true,
            }
            taken += 1;
        }
        if self.egress(now, usize::MAX) {
            sockets_changed = true;
        }
        let mut outcome = PollOutcome {
            sockets_changed,
            address_event: self.apply_dhcp(),
            frames_left: taken == budget,
        };
        if self.reap_closed(now_ms) {
            outcome.sockets_changed = true;
        }
        self.expire_half_open(now_ms);
        self.refill_listeners();
        outcome
    }

    /// Transmits what the sockets have queued, without receiving: called right after a
    /// socket operation so its data leaves now, not at the next interrupt. Receiving stays
    /// the network thread's job, so that it alone decides whom to wake.
    pub fn transmit(&mut self, now_ms: u64) {
        self.egress(instant(now_ms), 1);
    }

    /// Up to `rounds` rounds of smoltcp's egress (each sends at most one segment per socket),
    /// while the device has room and some socket sent something. Bounded either way: the
    /// sockets run out of data or the card of buffers. Returns whether a socket sent.
    fn egress(&mut self, now: Instant, rounds: usize) -> bool {
        let mut sent = false;
        for _ in 0..rounds {
            if !self.device.has_room()
                || self
                    .iface
                    .poll_egress(now, &mut self.device, &mut self.sockets)
                    != PollResult::SocketStateChanged
            {
                break;
            }
            sent = true;
        }
        sent
    }

    /// Milliseconds until the stack next needs [`poll`](Self::poll) even if no packet
    /// arrives (a retransmission, a delayed ACK, a DHCP renewal); `None` if only a packet
    /// can give it work.
    pub fn poll_delay_ms(&mut self, now_ms: u64) -> Option<u64> {
        let delay = self.iface.poll_delay(instant(now_ms), &self.sockets);
        let half_open = self
            .listeners
            .iter()
            .flatten()
            .flat_map(|l| &l.pending)
            .filter_map(|p| p.half_open.deadline_ms());
        // Our own timers: lingering closes and half-open connections.
        let own = self
            .closing
            .iter()
            .map(|c| c.deadline_ms)
            .chain(half_open)
            .map(|deadline| deadline.saturating_sub(now_ms))
            .min();
        match (delay.map(|d| d.total_millis()), own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn apply_dhcp(&mut self) -> Option<AddressEvent> {
        let handle = self.dhcp?;
        match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll()? {
            dhcpv4::Event::Configured(config) => {
                set_address(&mut self.iface, Some(config.address), config.router);
                Some(AddressEvent::Configured {
                    address: config.address,
                    gateway: config.router,
                })
            }
            dhcpv4::Event::Deconfigured => {
                // smoltcp also reports this when it starts asking: only a lease we had is news.
                let had_address = self.ipv4_cidr().is_some();
                set_address(&mut self.iface, None, None);
                had_address.then_some(AddressEvent::Lost)
            }
        }
    }

    /// Starts listening on `port` with `backlog` connections accepted ahead of `accept`.
    pub fn listen(&mut self, port: u16, backlog: usize) -> Result<ListenerId, NetError> {
        if port == 0 {
            return Err(NetError::InvalidPort);
        }
        if self.listeners.iter().flatten().any(|l| l.port == port) {
            return Err(NetError::PortInUse);
        }
        if self.tcp_sockets >= self.socket_budget {
            return Err(NetError::NoSocketsLeft);
        }
        self.listeners.push(Some(Listener {
            port,
            backlog: backlog.max(1),
            pending: Vec::with_capacity(backlog.clamp(1, self.socket_budget)),
        }));
        self.refill_listeners();
        Ok(ListenerId(self.listeners.len() - 1))
    }

    /// Stops listening: connections not yet accepted are reset, the port is free again.
    pub fn unlisten(&mut self, listener: ListenerId, now_ms: u64) {
        let Some(listener) = self.listeners[listener.0].take() else {
            return;
        };
        for Pending { handle, .. } in listener.pending {
            let socket = self.sockets.get_mut::<tcp::Socket>(handle);
            if socket.is_listening() {
                // No peer: nothing to tell anyone, the socket goes at once.
                self.sockets.remove(handle);
                self.tcp_sockets -= 1;
            } else {
                // A connection nobody accepted: the reset goes out at the next poll, and
                // the socket is freed with the closing ones.
                socket.abort();
                self.closing.push(Closing::reset(handle, now_ms));
            }
        }
    }

    /// A connection that completed its handshake on `listener`, if any. The caller owns the
    /// returned socket until it calls [`release`](Self::release).
    pub fn accept(&mut self, listener: ListenerId) -> Option<SocketHandle> {
        let pending = &mut self.listeners[listener.0].as_mut()?.pending;
        let sockets = &self.sockets;
        let index = pending.iter().position(|pending| {
            let socket = sockets.get::<tcp::Socket>(pending.handle);
            // Established, or already half-closed by a client that sent its request and FIN.
            socket.is_active() && socket.state() != tcp::State::SynReceived
        })?;
        let handle = pending.swap_remove(index).handle;
        self.refill_listeners();
        Some(handle)
    }

    /// Reads what has arrived on a connection. `Ok(0)`: the peer closed its side. Fewer
    /// bytes than `buf` holds means nothing more has arrived (the copy goes round the end of
    /// the receive ring).
    pub fn recv(&mut self, handle: SocketHandle, buf: &mut [u8]) -> Result<usize, NetError> {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if socket.can_recv() {
            return socket.recv_slice(buf).map_err(|_| NetError::Closed);
        }
        Self::nothing_to_recv(socket)
    }

    /// Drops up to `max` received bytes unread (a request body nobody needs): smoltcp's
    /// buffer is emptied in place, nothing is copied. `Ok(0)`: the peer closed its side.
    pub fn discard(&mut self, handle: SocketHandle, max: usize) -> Result<usize, NetError> {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if !socket.can_recv() {
            return Self::nothing_to_recv(socket);
        }
        let mut dropped = 0;
        // Twice: the received bytes may go round the end of the ring.
        for _ in 0..2 {
            let left = max - dropped;
            dropped += socket
                .recv(|data| {
                    let n = data.len().min(left);
                    (n, n)
                })
                .map_err(|_| NetError::Closed)?;
        }
        Ok(dropped)
    }

    /// What `recv` answers when no byte is there: wait, the end of the stream, or gone.
    fn nothing_to_recv(socket: &tcp::Socket<'_>) -> Result<usize, NetError> {
        if socket.may_recv() {
            Err(NetError::WouldBlock)
        } else if socket.state() == tcp::State::Closed {
            Err(NetError::Closed)
        } else {
            Ok(0)
        }
    }

    /// Queues as much of `data` as the send buffer takes; at least one byte, or an error.
    pub fn send(&mut self, handle: SocketHandle, data: &[u8]) -> Result<usize, NetError> {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if !socket.may_send() {
            return Err(NetError::Closed);
        }
        match socket.send_slice(data) {
            Ok(0) if !data.is_empty() => Err(NetError::WouldBlock),
            Ok(sent) => Ok(sent),
            Err(_) => Err(NetError::Closed),
        }
    }

    /// Lets `fill` write straight into the free part of the send buffer (one contiguous
    /// piece) and queues the bytes it says it wrote: a generated body is made where it is
    /// sent from, with no copy in between. At least one byte, or an error.
    pub fn send_with(
        &mut self,
        handle: SocketHandle,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, NetError> {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if !socket.may_send() {
            return Err(NetError::Closed);
        }
        match socket.send(|room| {
            let n = if room.is_empty() { 0 } else { fill(room) };
            (n, n)
        }) {
            Ok(0) => Err(NetError::WouldBlock),
            Ok(sent) => Ok(sent),
            Err(_) => Err(NetError::Closed),
        }
    }

    /// Whether the peer has closed its side (or the connection is gone) and every byte it
    /// sent has been read.
    pub fn peer_closed(&self, handle: SocketHandle) -> bool {
        let socket = self.sockets.get::<tcp::Socket>(handle);
        !socket.can_recv() && !socket.may_recv()
    }

    /// Bytes queued on a connection that the peer has not acknowledged yet.
    pub fn send_queue(&self, handle: SocketHandle) -> usize {
        self.sockets.get::<tcp::Socket>(handle).send_queue()
    }

    /// The peer's IPv4 address and port, while connected.
    pub fn peer(&self, handle: SocketHandle) -> Option<([u8; 4], u16)> {
        let endpoint = self.sockets.get::<tcp::Socket>(handle).remote_endpoint()?;
        // With only IPv4 compiled in, every address is an IPv4 one.
        let smoltcp::wire::IpAddress::Ipv4(address) = endpoint.addr;
        Some((address.octets(), endpoint.port))
    }

    /// Registers wakers for a connection (src/net/readiness.rs): `readable` fires when data,
    /// a FIN or a reset arrives, `writable` when the peer acknowledges bytes (room to send) or
    /// the state changes. Each fires once, then must be registered again.
    pub fn arm(
        &mut self,
        handle: SocketHandle,
        readable: Option<&core::task::Waker>,
        writable: Option<&core::task::Waker>,
    ) {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if let Some(waker) = readable {
            socket.register_recv_waker(waker);
        }
        if let Some(waker) = writable {
            socket.register_send_waker(waker);
        }
    }

    /// Sends FIN: no more data from us. The peer may still send.
    pub fn shutdown(&mut self, handle: SocketHandle) {
        self.sockets.get_mut::<tcp::Socket>(handle).close();
    }

    /// Gives a connection back: it is closed gracefully (unsent data still goes out) and
    /// freed once the closing handshake ends, or aborted with a reset after
    /// [`CLOSE_LINGER_MS`] without progress.
    pub fn release(&mut self, handle: SocketHandle, now_ms: u64) {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.close();
        self.closing.push(Closing::new(handle, socket, now_ms));
    }

    /// Gives a connection back at once: queued data is dropped and the peer gets a reset
    /// (RST), which goes out before the socket is freed.
    pub fn abort(&mut self, handle: SocketHandle, now_ms: u64) {
        self.sockets.get_mut::<tcp::Socket>(handle).abort();
        self.closing.push(Closing::reset(handle, now_ms));
    }

    /// Frees the closing sockets whose handshake ended, and aborts those that made no
    /// progress for [`CLOSE_LINGER_MS`]. An abort promises the peer a reset, so an aborted
    /// socket stays until smoltcp has sent its RST (it forgets the peer then): removing it
    /// at once, as this once did, dropped the RST, and the peer, never told, kept the
    /// connection open on its side.
    ///
    /// TIME-WAIT is cut short: it guards against stray old segments, which a server on a
    /// virtual network can afford to risk, and it would hold the socket's buffers for seconds.
    fn reap_closed(&mut self, now_ms: u64) -> bool {
        let before = self.closing.len();
        if self.sweep_closing(now_ms) {
            // Send the resets now rather than at the next poll, and free what went out.
            self.transmit(now_ms);
            self.sweep_closing(now_ms);
        }
        self.closing.len() != before
    }

    /// One pass of [`reap_closed`](Self::reap_closed); true if it aborted a socket.
    fn sweep_closing(&mut self, now_ms: u64) -> bool {
        let mut aborted = false;
        let sockets = &mut self.sockets;
        let mut freed = 0;
        self.closing.retain_mut(|closing| {
            let socket = sockets.get_mut::<tcp::Socket>(closing.handle);
            let done = if closing.reset {
                // smoltcp clears the endpoints once the RST is sent.
                socket.local_endpoint().is_none() || now_ms >= closing.deadline_ms
            } else {
                match socket.state() {
                    tcp::State::TimeWait => true,
                    tcp::State::Closed => socket.local_endpoint().is_none(),
                    state => {
                        let queue = socket.send_queue();
                        if queue < closing.send_queue || state != closing.state {
                            closing.deadline_ms = now_ms + CLOSE_LINGER_MS;
                        }
                        closing.send_queue = queue;
                        closing.state = state;
                        if now_ms >= closing.deadline_ms {
                            socket.abort();
                            *closing = Closing::reset(closing.handle, now_ms);
                            aborted = true;
                        }
                        false
                    }
                }
            };
            if done {
                sockets.remove(closing.handle);
                freed += 1;
            }
            !done
        });
        self.tcp_sockets -= freed;
        aborted
    }

    /// Takes back the backlog sockets half-open for [`SYN_RECEIVED_TIMEOUT_MS`]: the peer's
    /// handshake is abandoned (no RST: a peer that never answered would not read it) and the
    /// socket listens again at once.
    fn expire_half_open(&mut self, now_ms: u64) {
        for listener in self.listeners.iter_mut().flatten() {
            for pending in &mut listener.pending {
                let socket = self.sockets.get_mut::<tcp::Socket>(pending.handle);
                let half_open = socket.state() == tcp::State::SynReceived;
                if pending.half_open.expired(half_open, now_ms) {
                    self.half_open_expired += 1;
                    // listen() resets the socket first; it fails only on port 0 or a socket
                    // still open, and this one is neither once reset.
                    socket.abort();
                    let _ = socket.listen(listener.port);
                }
            }
        }
    }

    /// Tops every listener up to its backlog of listening sockets, as far as the socket
    /// budget allows; re-arms sockets whose half-open connection was reset.
    fn refill_listeners(&mut self) {
        for listener in self.listeners.iter_mut().flatten() {
            for pending in &listener.pending {
                let socket = self.sockets.get_mut::<tcp::Socket>(pending.handle);
                if socket.state() == tcp::State::Closed {
                    // A closed socket can always listen again.
                    let _ = socket.listen(listener.port);
                }
            }
            while listener.pending.len() < listener.backlog && self.tcp_sockets < self.socket_budget
            {
                let mut socket = new_tcp_socket();
                if socket.listen(listener.port).is_err() {
                    break;
                }
                listener.pending.push(Pending {
                    handle: self.sockets.add(socket),
                    half_open: HalfOpenClock::default(),
                });
                self.tcp_sockets += 1;
            }
        }
    }

    /// Opens a connection from this stack (the host tests use it as the client side).
    #[cfg(test)]
    fn connect(&mut self, remote: (Ipv4Address, u16), local_port: u16) -> SocketHandle {
        let mut socket = new_tcp_socket();
        socket
            .connect(self.iface.context(), remote, local_port)
            .expect("valid endpoints");
        self.tcp_sockets += 1;
        self.sockets.add(socket)
    }
}

/// A TCP socket with its buffers, set up for a server: Nagle's algorithm off (a response's
/// last small segment goes out at once instead of waiting for an ACK), a timeout for dead peers.
fn new_tcp_socket() -> tcp::Socket<'static> {
    let rx = tcp::SocketBuffer::new(vec![0; TCP_RX_BUFFER_BYTES]);
    let tx = tcp::SocketBuffer::new(vec![0; TCP_TX_BUFFER_BYTES]);
    let mut socket = tcp::Socket::new(rx, tx);
    socket.set_nagle_enabled(false);
    socket.set_timeout(Some(Duration::from_millis(TCP_TIMEOUT_MS)));
    socket
}

/// Replaces the interface's address and default route.
fn set_address(iface: &mut Interface, address: Option<Ipv4Cidr>, gateway: Option<Ipv4Address>) {
    iface.update_ip_addrs(|addrs| {
        addrs.clear();
        if let Some(address) = address {
            // The list holds IFACE_MAX_ADDR_COUNT addresses and was just emptied.
            let _ = addrs.push(IpCidr::Ipv4(address));
        }
    });
    iface.routes_mut().remove_default_ipv4_route();
    if let Some(gateway) = gateway {
        // Fails only if the route table is full, and it was just emptied of its one route.
        let _ = iface.routes_mut().add_default_ipv4_route(gateway);
    }
}

#[cfg(test)]
mod tests;

//! The request trace: `trace=request` on the command line logs every step of one HTTP
//! request, from the frame the card wrote into RAM to the interrupt that says the answer's
//! first frame is on the wire, naming the file and function at each step. Chapter:
//! docs/13-life-of-a-request.md.
//!
//! Each layer logs its own steps, in its own code: the driver when it takes the request's
//! frame from its ring and when it hands the answer's frame to the chip, the network stack
//! when its thread wakes and polls, the HTTP server when its poller, worker and router see
//! the connection. What they share is only this module: the number of the step expected
//! next, and what identifies the request at the layers that cannot see it themselves (the
//! client's TCP port, the connection's token, the transmit slot). It sits beside the layers,
//! like `inline_name`: plain data any of them may use, which uses none of them.
//!
//! The request followed is the first TCP segment with data sent to the server's port; then
//! that connection's answer. The steps come in a fixed order, and each is logged once, by
//! whoever moves the trace from that step to the next ([`step`]). When the last step is
//! logged the trace switches itself off. Off, before or after, a hook costs one relaxed
//! atomic load ([`on`]): the hot paths stay as they are.
//!
//! Reading frames is the trace's own business, not the driver's: the driver hands it the
//! bytes and asks "is this the one?" ([`is_request_frame`], [`is_answer_frame`]), and the
//! parsing below (Ethernet, IPv4, TCP headers) is pure and host-tested.

use core::fmt;
use core::sync::atomic::{AtomicU8, AtomicU16, AtomicUsize, Ordering::Relaxed};

/// The steps of one request, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    /// The driver finds the request's frame in its receive ring.
    Dma = 1,
    /// The driver's interrupt handler copies it into the frame queue.
    Interrupt,
    /// The network stack's interrupt hook wakes the network thread.
    WakeNetwork,
    /// The network thread polls smoltcp.
    Poll,
    /// smoltcp takes the frame from the card.
    Smoltcp,
    /// The connection's socket has the bytes: its waker, or the accept, tells the poller.
    Socket,
    /// The poller finds a complete request head and hands the connection to a worker.
    Poller,
    /// A worker takes the connection.
    Worker,
    /// The router chooses the answer.
    Router,
    /// The answer goes into the socket's send buffer.
    Write,
    /// The driver hands the answer's first frame to the chip.
    Transmit,
    /// The chip reports that frame sent.
    TransmitDone,
}

/// The last step: logging it ends the trace.
const LAST: Step = Step::TransmitDone;
/// The step number when nothing is traced (not asked for, or done).
const OFF: u8 = 0;

/// The trace's state. The kernel has one, [`TRACE`]; the host tests make their own.
pub struct Trace {
    /// The step expected next, or [`OFF`].
    step: AtomicU8,
    /// The server's TCP port: the request is the first segment with data sent to it.
    server_port: AtomicU16,
    /// The client's TCP port, read from the request's frame (0 until then).
    client_port: AtomicU16,
    /// What a layer noted for a later step of its own: the connection's token, the slot.
    mark: AtomicUsize,
}

/// The kernel's trace, which the functions below use.
static TRACE: Trace = Trace::new();

impl Trace {
    pub const fn new() -> Trace {
        Trace {
            step: AtomicU8::new(OFF),
            server_port: AtomicU16::new(0),
            client_port: AtomicU16::new(0),
            mark: AtomicUsize::new(usize::MAX),
        }
    }

    fn arm(&self, server_port: u16) {
        self.server_port.store(server_port, Relaxed);
        self.client_port.store(0, Relaxed);
        self.step.store(Step::Dma as u8, Relaxed);
    }

    fn expects(&self, step: Step) -> bool {
        self.step.load(Relaxed) == step as u8
    }

    /// Moves the trace from `step` to the next; false if `step` is not the one expected.
    fn advance(&self, step: Step) -> bool {
        let next = if step == LAST { OFF } else { step as u8 + 1 };
        self.step
            .compare_exchange(step as u8, next, Relaxed, Relaxed)
            .is_ok()
    }

    fn is_request_frame(&self, frame: &[u8]) -> bool {
        let Some(segment) = TcpSegment::parse(frame) else {
            return false;
        };
        let client = self.client_port.load(Relaxed);
        let wanted = segment.destination_port == self.server_port.load(Relaxed)
            && segment.payload_len > 0
            && (client == 0 || client == segment.source_port);
        if wanted && client == 0 {
            self.client_port.store(segment.source_port, Relaxed);
        }
        wanted
    }

    fn is_answer_frame(&self, frame: &[u8]) -> bool {
        TcpSegment::parse(frame).is_some_and(|segment| {
            segment.source_port == self.server_port.load(Relaxed)
                && segment.destination_port == self.client_port.load(Relaxed)
                && segment.payload_len > 0
        })
    }
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts tracing the first request to `server_port` (`trace=request`).
pub fn arm(server_port: u16) {
    TRACE.arm(server_port);
    log::info!("trace: following the first request to port {server_port}");
}

/// Whether a request is being traced.
#[inline]
pub fn on() -> bool {
    TRACE.step.load(Relaxed) != OFF
}

/// Whether `step` is the one expected next: the one check every hook makes first, one
/// relaxed load.
#[inline]
pub fn expects(step: Step) -> bool {
    TRACE.expects(step)
}

/// Logs `step` if it is the one expected, and moves the trace on; `at` names the file and
/// function (`src/net/poll_loop.rs network_thread`). Returns whether it logged. A step out
/// of turn (already logged, or not reached yet) is ignored.
pub fn step(step: Step, at: &str, what: fmt::Arguments<'_>) -> bool {
    if !TRACE.advance(step) {
        return false;
    }
    log::info!("trace: {:>2} {at}: {what}", step as u8);
    if step == LAST {
        log::info!("trace: done");
    }
    true
}

/// Notes a value for a later step (the token, the slot); [`mark`] reads it back.
pub fn set_mark(value: usize) {
    TRACE.mark.store(value, Relaxed);
}

/// The value of the last [`set_mark`].
pub fn mark() -> usize {
    TRACE.mark.load(Relaxed)
}

/// The client's TCP port, once the request's frame was seen (0 before).
pub fn client_port() -> u16 {
    TRACE.client_port.load(Relaxed)
}

/// Whether `frame` carries the request: the first TCP segment with data to the server's
/// port. The first yes also records the client's port.
pub fn is_request_frame(frame: &[u8]) -> bool {
    TRACE.is_request_frame(frame)
}

/// Whether `frame` carries data of the answer: from the server's port to the client's.
pub fn is_answer_frame(frame: &[u8]) -> bool {
    TRACE.is_answer_frame(frame)
}

/// What the trace reads of a frame: a TCP segment in IPv4 in Ethernet II.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment {
    pub source_port: u16,
    pub destination_port: u16,
    /// Bytes of data after the TCP header.
    pub payload_len: usize,
}

/// EtherType of IPv4 (IEEE 802.3, the Ethernet II header's bytes 12-13).
const ETHERTYPE_IPV4: u16 = 0x0800;
/// IPv4's protocol number of TCP (RFC 791, "Protocol"; IANA).
const PROTOCOL_TCP: u8 = 6;
const ETHERNET_HEADER_LEN: usize = 14;

impl TcpSegment {
    /// Reads the headers (RFC 791 section 3.1, RFC 9293 section 3.1); `None` for anything
    /// else, or a frame too short for what its headers claim.
    pub fn parse(frame: &[u8]) -> Option<TcpSegment> {
        let be16 = |at: usize| Some(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]));
        if be16(12)? != ETHERTYPE_IPV4 {
            return None;
        }
        let ip = ETHERNET_HEADER_LEN;
        let version_ihl = *frame.get(ip)?;
        let ip_header_len = usize::from(version_ihl & 0x0f) * 4;
        if version_ihl >> 4 != 4 || ip_header_len < 20 || *frame.get(ip + 9)? != PROTOCOL_TCP {
            return None;
        }
        let total_len = usize::from(be16(ip + 2)?);
        let tcp = ip + ip_header_len;
        let tcp_header_len = usize::from(*frame.get(tcp + 12)? >> 4) * 4;
        if tcp_header_len < 20 || frame.len() < ip + total_len {
            return None;
        }
        Some(TcpSegment {
            source_port: be16(tcp)?,
            destination_port: be16(tcp + 2)?,
            payload_len: total_len.checked_sub(ip_header_len + tcp_header_len)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame with an IPv4 header and a TCP header (no options) and `payload`.
    fn tcp_frame(source_port: u16, destination_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0u8; 14 + 20 + 20];
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame[14] = 0x45;
        let total = (20 + 20 + payload.len()) as u16;
        frame[16..18].copy_from_slice(&total.to_be_bytes());
        frame[23] = PROTOCOL_TCP;
        frame[34..36].copy_from_slice(&source_port.to_be_bytes());
        frame[36..38].copy_from_slice(&destination_port.to_be_bytes());
        frame[46] = 5 << 4;
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn reads_ports_and_payload_length() {
        let frame = tcp_frame(45678, 80, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(
            TcpSegment::parse(&frame),
            Some(TcpSegment {
                source_port: 45678,
                destination_port: 80,
                payload_len: 18
            })
        );
        // Ethernet pads short frames to 60 bytes: the IP length, not the frame's, counts.
        let mut padded = tcp_frame(45678, 80, b"");
        padded.resize(60, 0);
        assert_eq!(TcpSegment::parse(&padded).map(|s| s.payload_len), Some(0));
    }

    #[test]
    fn other_frames_and_short_frames_are_not_segments() {
        let frame = tcp_frame(1, 80, b"x");
        let mut udp = frame.clone();
        udp[23] = 17;
        assert_eq!(TcpSegment::parse(&udp), None);
        let mut arp = frame.clone();
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(TcpSegment::parse(&arp), None);
        for len in 0..frame.len() {
            assert_eq!(TcpSegment::parse(&frame[..len]), None, "cut at {len}");
        }
        let mut lying = frame.clone();
        lying[16..18].copy_from_slice(&30u16.to_be_bytes());
        assert_eq!(
            TcpSegment::parse(&lying),
            None,
            "IP length shorter than its headers"
        );
    }

    #[test]
    fn follows_one_request_then_switches_off() {
        let trace = Trace::new();
        assert!(!trace.expects(Step::Dma));
        trace.arm(80);
        assert!(trace.expects(Step::Dma));
        assert!(
            !trace.is_request_frame(&tcp_frame(5000, 80, b"")),
            "a bare ACK"
        );
        assert!(
            !trace.is_request_frame(&tcp_frame(5000, 8080, b"GET")),
            "another port"
        );
        assert!(trace.is_request_frame(&tcp_frame(5000, 80, b"GET / HTTP/1.1")));
        assert_eq!(trace.client_port.load(Relaxed), 5000);
        assert!(
            !trace.is_request_frame(&tcp_frame(6000, 80, b"GET")),
            "another client"
        );
        assert!(!trace.advance(Step::Poll), "out of turn");
        assert!(trace.advance(Step::Dma));
        assert!(!trace.advance(Step::Dma), "twice");
        assert!(trace.is_answer_frame(&tcp_frame(80, 5000, b"HTTP/1.1 200 OK")));
        assert!(!trace.is_answer_frame(&tcp_frame(80, 6000, b"HTTP/1.1 200 OK")));
        assert!(!trace.is_answer_frame(&tcp_frame(80, 5000, b"")), "an ACK");
        for later in [
            Step::Interrupt,
            Step::WakeNetwork,
            Step::Poll,
            Step::Smoltcp,
            Step::Socket,
            Step::Poller,
            Step::Worker,
            Step::Router,
            Step::Write,
            Step::Transmit,
            Step::TransmitDone,
        ] {
            assert!(trace.expects(later));
            assert!(trace.advance(later));
        }
        assert_eq!(
            trace.step.load(Relaxed),
            OFF,
            "the last step switches it off"
        );
    }
}

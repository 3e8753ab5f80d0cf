//! The receive ring: where the RTL8139 writes what it receives, and how the driver reads it.
//!
//! The chip writes each packet at its write offset (CBR) as a 4-byte header followed by the
//! frame and its 4-byte CRC, then moves on to the next multiple of 4:
//!
//! ```text
//!  offset: read_offset                                          next packet (4-aligned)
//!          |                                                    |
//!          v                                                    v
//!          +--------+--------+---------------------------+-----+--+-----------
//!          | status | length | frame (length - 4 bytes)  | CRC |pad| header ...
//!          | 16 bit | 16 bit | destination MAC first     | 4 B |   |
//!          +--------+--------+---------------------------+-----+--+-----------
//!                     length counts the frame and the CRC, not the header
//! ```
//!
//! The ring is used without WRAP (RCR bit 7 clear): a packet that reaches the end of the
//! ring continues at offset 0, so a frame may come in two pieces, which [`RxPacket`] knows
//! and [`RxPacket::copy_to`] joins. The header itself never splits: it starts at a multiple
//! of 4 and the ring length is a multiple of 4.
//!
//! The driver tells the chip how far it has read through CAPR, which by a quirk of the
//! chip holds the read offset minus 16 ([`RxRing::capr`]). Nothing in the ring is trusted:
//! a header whose status or length is impossible means the driver and the chip disagree on
//! where packets start, and the only safe answer is to reset the receiver. Neither is a
//! header that never completes ([`StallClock`]).
//!
//! The chip writes the ring while the driver reads it, so the parser reads it through
//! [`RingMemory`] (src/drivers/rtl8139/ring_memory.rs): volatile loads of the bytes it needs
//! on the chip, a plain byte slice in the host tests, which feed it crafted rings.

pub use super::ring_memory::RingMemory;

/// Bytes of the per-packet header the chip writes before each frame.
pub const RX_HEADER_LEN: usize = 4;
/// The Ethernet frame check sequence the chip leaves at the end of each frame.
pub const CRC_LEN: usize = 4;
/// Destination MAC, source MAC, EtherType.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// The largest frame we accept without its CRC: 1514 bytes plus a 4-byte 802.1Q tag.
pub const MAX_FRAME_LEN: usize = 1518;
/// The length field's smallest sane value: an Ethernet header and the CRC.
pub const MIN_PACKET_LEN: usize = ETHERNET_HEADER_LEN + CRC_LEN;
/// The length field's largest sane value.
pub const MAX_PACKET_LEN: usize = MAX_FRAME_LEN + CRC_LEN;
/// What CAPR lags behind the real read offset (datasheet, CAPR; QEMU adds 16 back).
pub const CAPR_LAG: u16 = 16;
/// The length the chip shows while it is still copying a packet in (early receive).
pub const LENGTH_STILL_COPYING: u16 = 0xfff0;

/// Receive status bit 0, ROK: the packet is good.
pub const RX_STATUS_OK: u16 = 1 << 0;
/// Receive status bits 1-5: FAE (frame alignment error), CRC, LONG (> 4 KiB), RUNT
/// (< 64 bytes), ISE (invalid symbol). The chip only stores such packets when told to
/// accept errors, which we never do, so seeing one means the header is garbage.
pub const RX_STATUS_ERRORS: u16 = 0b11_1110;

/// Why no frame came out of the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxError {
    /// The read offset has caught up with the write offset.
    Empty,
    /// The header promises more bytes than the chip has written so far: try again after
    /// the next interrupt.
    Incomplete,
    /// The chip's write offset lies outside the ring.
    BadWriteOffset(usize),
    /// ROK clear, or an error bit set.
    BadStatus(u16),
    /// A length below [`MIN_PACKET_LEN`] or above [`MAX_PACKET_LEN`].
    BadLength(u16),
}

impl RxError {
    /// Whether the driver lost track of the packet boundaries and must reset the receiver.
    pub fn needs_receiver_reset(self) -> bool {
        !matches!(self, RxError::Empty | RxError::Incomplete)
    }
}

/// Where one received frame (without CRC) lies in the ring: `head_len` bytes from `start`,
/// then, if it crossed the end of the ring, the rest from offset 0. A description, not the
/// bytes: the chip keeps writing the ring, so the frame is copied out ([`copy_to`]) with
/// reads of exactly its own bytes, before CAPR tells the chip it may overwrite them.
///
/// [`copy_to`]: RxPacket::copy_to
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxPacket {
    start: usize,
    head_len: usize,
    len: usize,
}

impl RxPacket {
    /// The frame's length in bytes, without the CRC.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the frame crossed the end of the ring (and comes in two pieces).
    pub fn is_split(&self) -> bool {
        self.head_len < self.len
    }

    /// Copies the frame out of `memory` into `out` (at least [`len`](Self::len) bytes),
    /// joining the two pieces of a frame that crossed the end of the ring.
    pub fn copy_to<M: RingMemory + ?Sized>(&self, memory: &M, out: &mut [u8]) {
        let (head, tail) = out[..self.len].split_at_mut(self.head_len);
        memory.read(self.start, head);
        memory.read(0, tail);
    }
}

/// The driver's side of the ring: its length and where the next packet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxRing {
    len: usize,
    read_offset: usize,
}

impl RxRing {
    /// A ring of `len` bytes (a multiple of 4), read from offset 0 like a freshly reset chip.
    pub const fn new(len: usize) -> RxRing {
        assert!(len.is_multiple_of(4) && len >= RX_HEADER_LEN + MAX_PACKET_LEN);
        RxRing {
            len,
            read_offset: 0,
        }
    }

    /// The ring's length in bytes.
    pub fn size(&self) -> usize {
        self.len
    }

    /// Where the next packet's header starts; always a multiple of 4.
    pub fn read_offset(&self) -> usize {
        self.read_offset
    }

    /// The value for CAPR: the read offset minus 16, modulo 2^16.
    pub fn capr(&self) -> u16 {
        (self.read_offset as u16).wrapping_sub(CAPR_LAG)
    }

    /// Back to offset 0, as after a receiver reset.
    pub fn reset(&mut self) {
        self.read_offset = 0;
    }

    /// Finds the next packet in `memory` (the ring's bytes; extra bytes after the ring are
    /// ignored) given the chip's write offset, and moves past it. After an error the read
    /// offset is unchanged. Reads only the header, and only bytes the chip has finished
    /// (those before `write_offset`).
    pub fn next_packet<M: RingMemory + ?Sized>(
        &mut self,
        memory: &M,
        write_offset: usize,
    ) -> Result<RxPacket, RxError> {
        assert!(
            memory.len() >= self.len,
            "the memory is shorter than the ring"
        );
        if write_offset >= self.len {
            return Err(RxError::BadWriteOffset(write_offset));
        }
        let written = (write_offset + self.len - self.read_offset) % self.len;
        if written == 0 {
            return Err(RxError::Empty);
        }
        let at = self.read_offset;
        let mut header = [0u8; RX_HEADER_LEN];
        memory.read(at, &mut header);
        let status = u16::from_le_bytes([header[0], header[1]]);
        let length = u16::from_le_bytes([header[2], header[3]]);
        if length == LENGTH_STILL_COPYING {
            return Err(RxError::Incomplete);
        }
        if status & RX_STATUS_OK == 0 || status & RX_STATUS_ERRORS != 0 {
            return Err(RxError::BadStatus(status));
        }
        let packet_len = usize::from(length);
        if !(MIN_PACKET_LEN..=MAX_PACKET_LEN).contains(&packet_len) {
            return Err(RxError::BadLength(length));
        }
        if RX_HEADER_LEN + packet_len > written {
            return Err(RxError::Incomplete);
        }
        let frame_start = (at + RX_HEADER_LEN) % self.len;
        let frame_len = packet_len - CRC_LEN;
        let packet = RxPacket {
            start: frame_start,
            head_len: frame_len.min(self.len - frame_start),
            len: frame_len,
        };
        self.read_offset = align4(at + RX_HEADER_LEN + packet_len) % self.len;
        Ok(packet)
    }
}

/// Times a header that stays [`RxError::Incomplete`]. The chip normally finishes a packet in
/// microseconds; a header that still says "copying" (0xfff0), or promises more bytes than CBR
/// says were written, after [`RX_STALL_TIMEOUT_MS`] never will, and waiting on it would stop
/// reception for good: CAPR would never move again and the ring would stay full. Linux's
/// 8139too gives such a header two jiffies, then resets the receiver; so does the driver.
/// Pure bookkeeping, so the rule is host-tested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StallClock {
    since_ms: Option<u64>,
}

/// How long a header may stay incomplete before the receiver is reset.
pub const RX_STALL_TIMEOUT_MS: u64 = 100;

impl StallClock {
    /// Notes at `now_ms` that the packet at the read offset is still incomplete; true when it
    /// has been for [`RX_STALL_TIMEOUT_MS`] and the receiver must be reset (the clock then
    /// starts afresh).
    pub fn expired(&mut self, now_ms: u64) -> bool {
        let since = *self.since_ms.get_or_insert(now_ms);
        if now_ms.saturating_sub(since) >= RX_STALL_TIMEOUT_MS {
            self.since_ms = None;
            return true;
        }
        false
    }

    /// The packet at the read offset is complete (or the ring was reset): nothing waits.
    pub fn clear(&mut self) {
        self.since_ms = None;
    }

    /// When the waiting header runs out of time, if one is waiting.
    pub fn deadline_ms(&self) -> Option<u64> {
        self.since_ms.map(|since| since + RX_STALL_TIMEOUT_MS)
    }
}

/// Rounds up to a multiple of 4, where the chip starts each packet.
const fn align4(offset: usize) -> usize {
    (offset + 3) & !3
}

#[cfg(test)]
pub(crate) mod ring_model {
    //! What the chip does to the ring when it receives a frame (without WRAP), for tests.

    use super::*;

    /// Writes `frame` as the chip would at `offset` and returns the new write offset.
    pub fn receive(ring: &mut [u8], offset: usize, frame: &[u8]) -> usize {
        let length = (frame.len() + CRC_LEN) as u16;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&RX_STATUS_OK.to_le_bytes());
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.extend_from_slice(frame);
        bytes.extend_from_slice(&[0xc1, 0xc2, 0xc3, 0xc4]);
        for (i, byte) in bytes.iter().enumerate() {
            let len = ring.len();
            ring[(offset + i) % len] = *byte;
        }
        align4(offset + bytes.len()) % ring.len()
    }

    /// A recognisable frame: a broadcast header then a counting pattern seeded by `seed`.
    pub fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| {
                if i < 6 {
                    0xff
                } else {
                    seed.wrapping_add(i as u8)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::ring_memory::VolatileRing;
    use super::ring_model::{frame, receive};
    use super::*;
    use proptest::prelude::*;

    const RING: usize = 8192;

    fn joined(memory: &[u8], packet: &RxPacket) -> Vec<u8> {
        let mut out = vec![0; packet.len()];
        packet.copy_to(memory, &mut out);
        out
    }

    /// A ring whose read and write offsets both start at `start`.
    fn ring_at(start: usize) -> (Vec<u8>, RxRing) {
        let mut rx = RxRing::new(RING);
        rx.read_offset = start;
        (vec![0; RING + 16], rx)
    }

    #[test]
    fn an_empty_ring_yields_nothing() {
        let (memory, mut rx) = ring_at(0);
        assert_eq!(rx.next_packet(&memory[..], 0), Err(RxError::Empty));
        assert!(!RxError::Empty.needs_receiver_reset());
    }

    #[test]
    fn reads_one_frame_and_moves_to_the_next_aligned_offset() {
        let (mut memory, mut rx) = ring_at(0);
        let sent = frame(61, 7);
        let write = receive(&mut memory[..RING], 0, &sent);
        assert_eq!(write, 72, "4 header + 61 frame + 4 CRC = 69, aligned to 72");
        let got = rx.next_packet(&memory[..], write).unwrap();
        assert!(!got.is_split());
        assert_eq!(joined(&memory, &got), sent);
        assert_eq!(rx.read_offset(), 72);
        assert_eq!(rx.next_packet(&memory[..], write), Err(RxError::Empty));
    }

    #[test]
    fn capr_lags_sixteen_bytes_and_wraps() {
        let (_, mut rx) = ring_at(0);
        assert_eq!(rx.capr(), 0xfff0);
        rx.read_offset = 72;
        assert_eq!(rx.capr(), 56);
    }

    #[test]
    fn a_frame_split_at_every_alignment_is_joined() {
        // Start the packet at every 4-byte offset near the end of the ring, so that the end
        // falls inside the header's successor, the frame, and the CRC in turn.
        for back in (4..=1600).step_by(4) {
            let start = RING - back;
            let (mut memory, mut rx) = ring_at(start);
            let sent = frame(1000, back as u8);
            let write = receive(&mut memory[..RING], start, &sent);
            let got = rx.next_packet(&memory[..], write).unwrap();
            assert_eq!(joined(&memory, &got), sent, "packet at {start}");
            assert_eq!(rx.read_offset(), write, "packet at {start}");
            assert_eq!(rx.read_offset() % 4, 0);
        }
    }

    #[test]
    fn a_header_in_the_last_four_bytes_puts_the_whole_frame_at_the_start() {
        let (mut memory, mut rx) = ring_at(RING - 4);
        let sent = frame(60, 1);
        let write = receive(&mut memory[..RING], RING - 4, &sent);
        let got = rx.next_packet(&memory[..], write).unwrap();
        assert!(!got.is_split());
        assert_eq!(joined(&memory, &got), sent);
    }

    #[test]
    fn rejects_bad_status() {
        let (mut memory, mut rx) = ring_at(0);
        let write = receive(&mut memory[..RING], 0, &frame(60, 0));
        for status in [0u16, 0x0003, 0x0005, 0x0009, 0x0011, 0x0021] {
            memory[..2].copy_from_slice(&status.to_le_bytes());
            let error = rx.next_packet(&memory[..], write).unwrap_err();
            assert_eq!(error, RxError::BadStatus(status));
            assert!(error.needs_receiver_reset());
            assert_eq!(
                rx.read_offset(),
                0,
                "an error must not move the read offset"
            );
        }
    }

    #[test]
    fn rejects_zero_runt_and_huge_lengths() {
        let (mut memory, mut rx) = ring_at(0);
        let write = receive(&mut memory[..RING], 0, &frame(60, 0));
        for length in [0u16, 4, 17, 1523, 4096, 0xffff] {
            memory[2..4].copy_from_slice(&length.to_le_bytes());
            assert_eq!(
                rx.next_packet(&memory[..], write),
                Err(RxError::BadLength(length))
            );
        }
    }

    #[test]
    fn a_packet_longer_than_what_was_written_is_incomplete() {
        let (mut memory, mut rx) = ring_at(0);
        receive(&mut memory[..RING], 0, &frame(200, 0));
        assert_eq!(rx.next_packet(&memory[..], 100), Err(RxError::Incomplete));
        memory[2..4].copy_from_slice(&LENGTH_STILL_COPYING.to_le_bytes());
        assert_eq!(rx.next_packet(&memory[..], 208), Err(RxError::Incomplete));
        assert!(!RxError::Incomplete.needs_receiver_reset());
    }

    #[test]
    fn a_write_offset_outside_the_ring_is_an_error() {
        let (memory, mut rx) = ring_at(0);
        assert_eq!(
            rx.next_packet(&memory[..], RING),
            Err(RxError::BadWriteOffset(RING))
        );
    }

    #[test]
    fn smallest_and_largest_frames_pass() {
        let (mut memory, mut rx) = ring_at(0);
        let small = frame(ETHERNET_HEADER_LEN, 3);
        let large = frame(MAX_FRAME_LEN, 4);
        let mut write = receive(&mut memory[..RING], 0, &small);
        write = receive(&mut memory[..RING], write, &large);
        let got = rx.next_packet(&memory[..], write).unwrap();
        assert_eq!(joined(&memory, &got), small);
        let got = rx.next_packet(&memory[..], write).unwrap();
        assert_eq!(joined(&memory, &got), large);
        assert_eq!(rx.next_packet(&memory[..], write), Err(RxError::Empty));
    }

    #[test]
    fn the_parser_reads_the_chips_memory_through_volatile_loads_alike() {
        let (mut memory, mut rx) = ring_at(RING - 200);
        let sent = frame(700, 9);
        let write = receive(&mut memory[..RING], RING - 200, &sent);
        // SAFETY: `memory` outlives `chip` and is not written meanwhile.
        let chip = unsafe { VolatileRing::new(memory.as_ptr(), memory.len()) };
        let got = rx.next_packet(&chip, write).unwrap();
        assert!(got.is_split());
        let mut out = vec![0; got.len()];
        got.copy_to(&chip, &mut out);
        assert_eq!(out, sent);
    }

    /// A header still being copied (0xfff0), or one promising more than CBR says was
    /// written: the stall clock lets it wait RX_STALL_TIMEOUT_MS, then calls for a reset.
    #[test]
    fn a_stuck_header_expires_after_the_bound_and_a_finished_one_clears_the_clock() {
        let mut clock = StallClock::default();
        assert!(!clock.expired(1000));
        assert_eq!(clock.deadline_ms(), Some(1000 + RX_STALL_TIMEOUT_MS));
        assert!(!clock.expired(1000 + RX_STALL_TIMEOUT_MS - 1));
        assert!(clock.expired(1000 + RX_STALL_TIMEOUT_MS));
        assert_eq!(clock.deadline_ms(), None, "the reset starts a fresh wait");
        assert!(!clock.expired(5000));
        clock.clear(); // the chip finished the packet
        assert!(!clock.expired(5050));
        assert!(!clock.expired(5000 + RX_STALL_TIMEOUT_MS));
    }

    proptest! {
        #[test]
        fn arbitrary_ring_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), RING),
            start in 0..RING / 4,
            write in 0..RING + 64,
        ) {
            let mut rx = RxRing::new(RING);
            rx.read_offset = start * 4;
            for _ in 0..64 {
                match rx.next_packet(&bytes[..], write) {
                    Ok(packet) => {
                        prop_assert!(packet.len() >= ETHERNET_HEADER_LEN);
                        prop_assert!(packet.len() <= MAX_FRAME_LEN);
                        let mut out = vec![0; packet.len()];
                        packet.copy_to(&bytes[..], &mut out);
                    }
                    Err(_) => break,
                }
                prop_assert_eq!(rx.read_offset() % 4, 0);
                prop_assert!(rx.read_offset() < RING);
            }
        }

        #[test]
        fn valid_frames_round_trip(
            start in 0..RING / 4,
            lengths in proptest::collection::vec(ETHERNET_HEADER_LEN..=MAX_FRAME_LEN, 1..5),
        ) {
            let mut memory = vec![0x5a; RING];
            let mut rx = RxRing::new(RING);
            rx.read_offset = start * 4;
            let mut write = rx.read_offset;
            let frames: Vec<Vec<u8>> =
                lengths.iter().enumerate().map(|(i, &len)| frame(len, i as u8)).collect();
            for f in &frames {
                write = receive(&mut memory, write, f);
            }
            for f in &frames {
                let got = rx.next_packet(&memory[..], write).unwrap();
                prop_assert_eq!(&joined(&memory, &got), f);
            }
            prop_assert_eq!(rx.next_packet(&memory[..], write), Err(RxError::Empty));
        }

        /// Good packets followed by a garbage header: the good ones come out intact, then
        /// the parser stops with an error and does not move, whatever the garbage says.
        #[test]
        fn garbage_after_valid_frames_stops_the_parser(
            lengths in proptest::collection::vec(ETHERNET_HEADER_LEN..=MAX_FRAME_LEN, 0..4),
            status in any::<u16>(),
            length in any::<u16>(),
            extra in 0..1024usize,
        ) {
            let mut memory = vec![0u8; RING];
            let mut rx = RxRing::new(RING);
            let mut write = 0;
            let frames: Vec<Vec<u8>> =
                lengths.iter().enumerate().map(|(i, &len)| frame(len, i as u8)).collect();
            for f in &frames {
                write = receive(&mut memory, write, f);
            }
            let garbage_at = write;
            memory[garbage_at..garbage_at + 2].copy_from_slice(&status.to_le_bytes());
            memory[garbage_at + 2..garbage_at + 4].copy_from_slice(&length.to_le_bytes());
            let chip_at = (garbage_at + 4 + extra) & !3;
            for f in &frames {
                let got = rx.next_packet(&memory[..], chip_at).unwrap();
                prop_assert_eq!(&joined(&memory, &got), f);
            }
            match rx.next_packet(&memory[..], chip_at) {
                Ok(got) => {
                    // The garbage happened to be a well-formed header of a packet that fits.
                    prop_assert!(status & RX_STATUS_OK != 0 && status & RX_STATUS_ERRORS == 0);
                    prop_assert!(got.len() == usize::from(length) - CRC_LEN);
                }
                Err(_) => prop_assert_eq!(rx.read_offset(), garbage_at),
            }
        }
    }
}

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
//! ring continues at offset 0, so a frame may come in two pieces, which [`RxFrame`] keeps
//! as `head` and `tail`. The header itself never splits: it starts at a multiple of 4 and
//! the ring length is a multiple of 4.
//!
//! The driver tells the chip how far it has read through CAPR, which by a quirk of the
//! chip holds the read offset minus 16 ([`RxRing::capr`]). Nothing in the ring is trusted:
//! a header whose status or length is impossible means the driver and the chip disagree on
//! where packets start, and the only safe answer is to reset the receiver.
//!
//! This file is pure logic over a byte slice, so the host tests feed it crafted rings.

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

/// One received frame (without CRC), in one piece or, if it crossed the end of the ring,
/// two: `head` up to the end of the ring and `tail` from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxFrame<'m> {
    pub head: &'m [u8],
    pub tail: &'m [u8],
}

impl RxFrame<'_> {
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Joins the pieces into `out`, which must hold at least [`len`](Self::len) bytes.
    pub fn copy_to(&self, out: &mut [u8]) {
        let (first, second) = out[..self.len()].split_at_mut(self.head.len());
        first.copy_from_slice(self.head);
        second.copy_from_slice(self.tail);
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

    /// Takes the next packet out of `memory` (the ring's bytes; extra bytes after the ring
    /// are ignored) given the chip's write offset, and moves past it. After an error the
    /// read offset is unchanged.
    pub fn next_packet<'m>(
        &mut self,
        memory: &'m [u8],
        write_offset: usize,
    ) -> Result<RxFrame<'m>, RxError> {
        let ring = &memory[..self.len];
        if write_offset >= self.len {
            return Err(RxError::BadWriteOffset(write_offset));
        }
        let written = (write_offset + self.len - self.read_offset) % self.len;
        if written == 0 {
            return Err(RxError::Empty);
        }
        let at = self.read_offset;
        let status = u16::from_le_bytes([ring[at], ring[at + 1]]);
        let length = u16::from_le_bytes([ring[at + 2], ring[at + 3]]);
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
        let frame_start = at + RX_HEADER_LEN;
        let frame_len = packet_len - CRC_LEN;
        let head_end = (frame_start + frame_len).min(self.len);
        let frame = RxFrame {
            head: &ring[frame_start..head_end],
            tail: &ring[..frame_len - (head_end - frame_start)],
        };
        self.read_offset = align4(at + RX_HEADER_LEN + packet_len) % self.len;
        Ok(frame)
    }
}

/// Rounds up to a multiple of 4, where the chip starts each packet.
const fn align4(offset: usize) -> usize {
    (offset + 3) & !3
}

#[cfg(test)]
pub(crate) mod chip_model {
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
    use super::chip_model::{frame, receive};
    use super::*;
    use proptest::prelude::*;

    const RING: usize = 8192;

    fn joined(f: &RxFrame) -> Vec<u8> {
        let mut out = vec![0; f.len()];
        f.copy_to(&mut out);
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
        assert_eq!(rx.next_packet(&memory, 0), Err(RxError::Empty));
        assert!(!RxError::Empty.needs_receiver_reset());
    }

    #[test]
    fn reads_one_frame_and_moves_to_the_next_aligned_offset() {
        let (mut memory, mut rx) = ring_at(0);
        let sent = frame(61, 7);
        let write = receive(&mut memory[..RING], 0, &sent);
        assert_eq!(write, 72, "4 header + 61 frame + 4 CRC = 69, aligned to 72");
        let got = rx.next_packet(&memory, write).unwrap();
        assert_eq!(got.tail, &[] as &[u8]);
        assert_eq!(joined(&got), sent);
        assert_eq!(rx.read_offset(), 72);
        assert_eq!(rx.next_packet(&memory, write), Err(RxError::Empty));
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
            let got = rx.next_packet(&memory, write).unwrap();
            assert_eq!(joined(&got), sent, "packet at {start}");
            assert_eq!(rx.read_offset(), write, "packet at {start}");
            assert_eq!(rx.read_offset() % 4, 0);
        }
    }

    #[test]
    fn a_header_in_the_last_four_bytes_puts_the_whole_frame_at_the_start() {
        let (mut memory, mut rx) = ring_at(RING - 4);
        let sent = frame(60, 1);
        let write = receive(&mut memory[..RING], RING - 4, &sent);
        let got = rx.next_packet(&memory, write).unwrap();
        assert!(got.head.is_empty());
        assert_eq!(got.tail, &sent[..]);
    }

    #[test]
    fn rejects_bad_status() {
        let (mut memory, mut rx) = ring_at(0);
        let write = receive(&mut memory[..RING], 0, &frame(60, 0));
        for status in [0u16, 0x0003, 0x0005, 0x0009, 0x0011, 0x0021] {
            memory[..2].copy_from_slice(&status.to_le_bytes());
            let error = rx.next_packet(&memory, write).unwrap_err();
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
                rx.next_packet(&memory, write),
                Err(RxError::BadLength(length))
            );
        }
    }

    #[test]
    fn a_packet_longer_than_what_was_written_is_incomplete() {
        let (mut memory, mut rx) = ring_at(0);
        receive(&mut memory[..RING], 0, &frame(200, 0));
        assert_eq!(rx.next_packet(&memory, 100), Err(RxError::Incomplete));
        memory[2..4].copy_from_slice(&LENGTH_STILL_COPYING.to_le_bytes());
        assert_eq!(rx.next_packet(&memory, 208), Err(RxError::Incomplete));
        assert!(!RxError::Incomplete.needs_receiver_reset());
    }

    #[test]
    fn a_write_offset_outside_the_ring_is_an_error() {
        let (memory, mut rx) = ring_at(0);
        assert_eq!(
            rx.next_packet(&memory, RING),
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
        assert_eq!(joined(&rx.next_packet(&memory, write).unwrap()), small);
        assert_eq!(joined(&rx.next_packet(&memory, write).unwrap()), large);
        assert_eq!(rx.next_packet(&memory, write), Err(RxError::Empty));
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
                match rx.next_packet(&bytes, write) {
                    Ok(frame) => {
                        prop_assert!(frame.len() >= ETHERNET_HEADER_LEN);
                        prop_assert!(frame.len() <= MAX_FRAME_LEN);
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
                let got = rx.next_packet(&memory, write).unwrap();
                prop_assert_eq!(&joined(&got), f);
            }
            prop_assert_eq!(rx.next_packet(&memory, write), Err(RxError::Empty));
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
                let got = rx.next_packet(&memory, chip_at).unwrap();
                prop_assert_eq!(&joined(&got), f);
            }
            match rx.next_packet(&memory, chip_at) {
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

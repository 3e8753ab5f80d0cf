//! How the driver reads the receive ring: memory the chip writes while the CPU reads it.
//!
//! The chip keeps writing new packets into the ring (DMA) while the driver parses the older
//! ones. A Rust reference (`&[u8]`) to that memory would promise the compiler that nothing
//! changes it while the reference lives, and the chip breaks that promise: the compiler may
//! then read a byte twice and get two values, or cache it across the moment the chip wrote it.
//! So the driver never makes a slice that spans the ring. It reads the few bytes it needs,
//! when it needs them, through [`RingMemory`]:
//!
//! - [`VolatileRing`], the chip's ring: raw-pointer volatile reads, each one a real load at
//!   the moment it is written in the code (src/drivers/rtl8139/mod.rs states the whole rule);
//! - `[u8]`, a plain slice: the host tests' model of the ring, which nothing else writes.
//!
//! The parser (src/drivers/rtl8139/rx_ring.rs) is generic over the trait, so the logic the
//! host tests check is the logic that runs on the chip's memory.

/// Memory holding a receive ring, read a few bytes at a time.
pub trait RingMemory {
    /// How many bytes there are.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `out.len()` bytes starting at `offset` into `out`. Panics if they are not all
    /// inside the memory (the parser never asks for such bytes).
    fn read(&self, offset: usize, out: &mut [u8]);
}

/// The host tests' ring: a byte slice that only the test writes.
impl RingMemory for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read(&self, offset: usize, out: &mut [u8]) {
        out.copy_from_slice(&self[offset..offset + out.len()]);
    }
}

/// Memory a device writes by DMA, read with volatile loads through a raw pointer.
#[derive(Debug)]
pub struct VolatileRing {
    base: *const u8,
    len: usize,
}

impl VolatileRing {
    /// The `len` bytes at `base`.
    ///
    /// # Safety
    ///
    /// `base..base + len` must stay allocated and readable for as long as the value lives.
    /// Other agents (a device) may write it at any time: that is what this type is for.
    pub unsafe fn new(base: *const u8, len: usize) -> VolatileRing {
        VolatileRing { base, len }
    }
}

// SAFETY: the value is a pointer to memory that stays allocated (see `new`) and is only
// read, with volatile loads; moving it to another thread changes nothing.
unsafe impl Send for VolatileRing {}

impl RingMemory for VolatileRing {
    fn len(&self) -> usize {
        self.len
    }

    /// Reads in 32-bit words where the position allows (a frame starts 4-aligned, so almost
    /// every load is a word) and in bytes at the unaligned edges.
    fn read(&self, offset: usize, out: &mut [u8]) {
        assert!(
            offset <= self.len && out.len() <= self.len - offset,
            "read outside the ring"
        );
        let mut at = offset;
        let mut done = 0;
        while done < out.len() {
            let remaining = out.len() - done;
            // SAFETY: offset + out.len() <= len (asserted above), and `new`'s contract keeps
            // base..base + len readable; the address is 4-aligned for the word load.
            unsafe {
                if at.is_multiple_of(4) && remaining >= 4 && (self.base as usize).is_multiple_of(4)
                {
                    let word = core::ptr::read_volatile(self.base.add(at).cast::<u32>());
                    out[done..done + 4].copy_from_slice(&word.to_ne_bytes());
                    at += 4;
                    done += 4;
                } else {
                    out[done] = core::ptr::read_volatile(self.base.add(at));
                    at += 1;
                    done += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every offset and length inside a buffer reads the same bytes through both impls.
    #[test]
    fn volatile_reads_match_the_bytes_at_every_alignment() {
        let bytes: Vec<u8> = (0..64u32).map(|i| (i * 7 + 3) as u8).collect();
        // SAFETY: `bytes` outlives `ring` and nothing writes it meanwhile.
        let ring = unsafe { VolatileRing::new(bytes.as_ptr(), bytes.len()) };
        for offset in 0..bytes.len() {
            for len in 0..=bytes.len() - offset {
                let mut volatile = vec![0; len];
                let mut plain = vec![0; len];
                ring.read(offset, &mut volatile);
                bytes[..].read(offset, &mut plain);
                assert_eq!(volatile, plain, "offset {offset} len {len}");
                assert_eq!(plain, &bytes[offset..offset + len]);
            }
        }
    }

    #[test]
    #[should_panic(expected = "read outside the ring")]
    fn a_read_past_the_end_panics_instead_of_reading_beyond() {
        let bytes = [0u8; 8];
        // SAFETY: `bytes` outlives `ring`.
        let ring = unsafe { VolatileRing::new(bytes.as_ptr(), bytes.len()) };
        ring.read(6, &mut [0; 4]);
    }
}

//! Memory for devices that read and write RAM themselves (DMA): physically contiguous,
//! aligned, and below 4 GiB (the RTL8139 takes 32-bit physical addresses).
//!
//! A region is a run of whole frames from the frame allocator, taken below 4 GiB. RAM is
//! identity-mapped, so the CPU reaches the buffer at the address the device uses. On x86 DMA
//! is cache-coherent (the chipset snoops the caches), so the buffer is mapped cached like
//! any other RAM.

use super::frames::{self, FRAMES_BELOW_4GIB};
use super::regions::FRAME_SIZE;

/// A zeroed, physically contiguous buffer that a device may access; freed when dropped.
pub struct DmaRegion {
    address: u64,
    frames: u64,
    len: usize,
}

/// No contiguous memory below 4 GiB was left for the request (or `align` was not a power
/// of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaAllocError;

impl DmaRegion {
    /// `size` bytes aligned to `align` (a power of two), in whole frames below 4 GiB.
    pub fn allocate(size: usize, align: usize) -> Result<DmaRegion, DmaAllocError> {
        if !align.is_power_of_two() {
            return Err(DmaAllocError);
        }
        let frames = (size.max(1) as u64).div_ceil(FRAME_SIZE);
        let align_frames = (align as u64).div_ceil(FRAME_SIZE);
        let address =
            frames::allocate(frames, align_frames, FRAMES_BELOW_4GIB).ok_or(DmaAllocError)?;
        // SAFETY: the frames were free and are now ours; RAM is identity-mapped read-write.
        unsafe { core::ptr::write_bytes(address as *mut u8, 0, (frames * FRAME_SIZE) as usize) };
        Ok(DmaRegion {
            address,
            frames,
            len: size,
        })
    }

    /// The address the device uses (identity mapping: the same as the virtual address).
    pub fn physical_address(&self) -> u32 {
        self.address as u32
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CPU's view of the buffer. The device may write it at any time: read it with
    /// volatile accesses or after a fence that orders it behind the device's signal, and
    /// never through a reference spanning what the device writes (the RTL8139's rule:
    /// src/drivers/rtl8139/mod.rs).
    pub fn as_ptr(&self) -> *mut u8 {
        self.address as *mut u8
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        frames::free(self.address, self.frames);
    }
}

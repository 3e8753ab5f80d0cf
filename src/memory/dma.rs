//! Memory for devices that read and write RAM themselves (DMA): physically contiguous,
//! aligned, and below 4 GiB (the RTL8139 takes 32-bit physical addresses).
//!
//! Interface used by the drivers. This first version takes the memory from the heap, which
//! lies in the kernel image's .bss: identity-mapped, contiguous and below 4 GiB. The memory
//! manager replaces it with frames from the frame allocator.

use alloc::alloc::{Layout, alloc_zeroed, dealloc};

/// A zeroed, physically contiguous buffer that a device may access; freed when dropped.
pub struct DmaRegion {
    address: *mut u8,
    layout: Layout,
}

// SAFETY: the region is plain memory owned by this value; moving it between threads is fine.
unsafe impl Send for DmaRegion {}

/// No contiguous memory below 4 GiB was left for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaAllocError;

impl DmaRegion {
    /// `size` bytes aligned to `align` (a power of two).
    pub fn allocate(size: usize, align: usize) -> Result<DmaRegion, DmaAllocError> {
        let layout = Layout::from_size_align(size.max(1), align).map_err(|_| DmaAllocError)?;
        // SAFETY: the layout has a non-zero size.
        let address = unsafe { alloc_zeroed(layout) };
        if address.is_null() || (address as u64) + (size as u64) > 1 << 32 {
            return Err(DmaAllocError);
        }
        Ok(DmaRegion { address, layout })
    }

    /// The address the device uses (identity mapping: the same as the virtual address).
    pub fn physical_address(&self) -> u32 {
        self.address as u32
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.size() == 0
    }

    /// The CPU's view of the buffer. The device may write it at any time: read it with
    /// volatile accesses or after a fence that orders it behind the device's signal.
    pub fn as_ptr(&self) -> *mut u8 {
        self.address
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        // SAFETY: allocated in `allocate` with this layout, freed once.
        unsafe { dealloc(self.address, self.layout) };
    }
}

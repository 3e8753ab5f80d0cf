//! The kernel heap: `alloc`'s Box, Vec and String draw from here. A buddy allocator
//! (buddy_system_allocator) over a region of the kernel's .bss.

use buddy_system_allocator::LockedHeap;

/// Bytes of the initial heap, inside the kernel image's .bss.
const BOOT_HEAP_SIZE: usize = 4 * 1024 * 1024;

#[repr(C, align(4096))]
struct HeapArea([u8; BOOT_HEAP_SIZE]);

static mut BOOT_HEAP: HeapArea = HeapArea([0; BOOT_HEAP_SIZE]);

/// Order 32: blocks up to 2^31 bytes.
#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

/// Hands the boot heap area to the allocator.
pub fn init() {
    let start = (&raw mut BOOT_HEAP) as usize;
    // SAFETY: BOOT_HEAP is used for nothing else, and init runs once, before any allocation.
    unsafe { HEAP.lock().init(start, BOOT_HEAP_SIZE) };
    log::info!(
        "memory: heap of {} KiB at {start:#x}",
        BOOT_HEAP_SIZE / 1024
    );
}

/// Bytes of the heap handed out and not yet freed (what callers asked for, before rounding).
pub fn used_bytes() -> usize {
    HEAP.lock().stats_alloc_user()
}

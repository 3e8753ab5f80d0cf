//! The kernel heap: `alloc`'s Box, Vec and String draw from here.
//!
//! A buddy allocator (buddy_system_allocator's `Heap`) starts with a small area inside the
//! kernel's .bss, so that the heap works before the frame allocator exists. When a request
//! does not fit, [`grow`] takes a power-of-two block of contiguous frames from the frame
//! allocator (identity-mapped, so its physical address is its pointer) and adds it to the
//! heap. Memory given to the heap stays there: a buddy heap cannot hand blocks back.
//!
//! When even that fails, the allocator logs what was asked and what is left, and returns
//! null; `alloc` then calls `handle_alloc_error`, which panics with the request size.

use super::frames::{self, ANYWHERE};
use super::regions::FRAME_SIZE;
use buddy_system_allocator::Heap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

/// Bytes of the initial heap, inside the kernel image's .bss.
const BOOT_HEAP_SIZE: usize = 1024 * 1024;

/// The heap grows by at least this much at a time, so that small allocations do not ask the
/// frame allocator for a block each.
const MIN_GROWTH: usize = 1024 * 1024;

/// Order 32: blocks up to 2^31 bytes.
const ORDER: usize = 32;

#[repr(C, align(4096))]
struct HeapArea([u8; BOOT_HEAP_SIZE]);

static mut BOOT_HEAP: HeapArea = HeapArea([0; BOOT_HEAP_SIZE]);

/// The buddy heap behind a lock that is only taken with interrupts off: an interrupt
/// handler that allocates must not find its own CPU holding the lock.
struct KernelHeap(Mutex<Heap<ORDER>>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(Mutex::new(Heap::empty()));

/// Hands the boot heap area to the allocator. Runs first in memory::init, before anything
/// allocates.
pub fn init() {
    let start = (&raw mut BOOT_HEAP) as usize;
    // SAFETY: BOOT_HEAP is used for nothing else, and init runs once, before any allocation.
    without_interrupts(|| unsafe { HEAP.0.lock().init(start, BOOT_HEAP_SIZE) });
}

/// Bytes the heap holds (free or not) and bytes handed out (rounded to buddy blocks).
pub fn usage() -> (usize, usize) {
    without_interrupts(|| {
        let heap = HEAP.0.lock();
        (heap.stats_total_bytes(), heap.stats_alloc_actual())
    })
}

/// The largest block the buddy heap manages: order `ORDER - 1`.
const MAX_BLOCK: usize = 1 << (ORDER - 1);

/// The block the heap needs to grow by so that `layout` fits: a buddy heap serves a request
/// from one power-of-two block at least as large and as aligned as the request. `None` if
/// no block can be that large.
fn growth_for(layout: &Layout) -> Option<usize> {
    let bytes = layout
        .size()
        .checked_next_power_of_two()?
        .max(layout.align())
        .max(MIN_GROWTH);
    (bytes <= MAX_BLOCK).then_some(bytes)
}

/// Adds a block of frames big enough for `layout` to `heap`; false if none is left.
fn grow(heap: &mut Heap<ORDER>, layout: &Layout) -> bool {
    let Some(bytes) = growth_for(layout) else {
        return false;
    };
    let count = (bytes as u64) / FRAME_SIZE;
    // Aligned to its own size, the block enters the buddy heap as a single block.
    let Some(start) = frames::allocate(count, count, ANYWHERE) else {
        return false;
    };
    // SAFETY: the frames were free and are now owned by the heap for good; RAM is
    // identity-mapped read-write, so the physical range is also the virtual range.
    unsafe { heap.add_to_heap(start as usize, start as usize + bytes) };
    log::info!(
        "memory: heap grew by {} KiB to {} KiB",
        bytes / 1024,
        heap.stats_total_bytes() / 1024
    );
    true
}

// SAFETY: the buddy heap returns blocks that are disjoint, at least `layout.size()` long and
// aligned to `layout.align()`; the lock serialises every use of it.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        without_interrupts(|| {
            let mut heap = self.0.lock();
            if let Ok(block) = heap.alloc(layout) {
                return block.as_ptr();
            }
            if grow(&mut heap, &layout)
                && let Ok(block) = heap.alloc(layout)
            {
                return block.as_ptr();
            }
            log::error!(
                "out of memory: request of {} bytes (align {}) failed; heap {} KiB, {} KiB in use; {} frames free",
                layout.size(),
                layout.align(),
                heap.stats_total_bytes() / 1024,
                heap.stats_alloc_actual() / 1024,
                frames::free_frames()
            );
            null_mut()
        })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(block) = NonNull::new(ptr) else {
            return;
        };
        // SAFETY: `alloc` handed out this block with this layout (GlobalAlloc's contract).
        without_interrupts(|| unsafe { self.0.lock().dealloc(block, layout) });
    }
}

/// Bytes of the heap handed out and not yet freed (what callers asked for, before rounding).
pub fn used_bytes() -> usize {
    without_interrupts(|| HEAP.0.lock().stats_alloc_user())
}

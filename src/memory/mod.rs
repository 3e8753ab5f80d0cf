//! Memory management: physical frames, the page tables, the heap, DMA buffers and kernel
//! stacks. See docs/02-memory.md.
//!
//! | file | what |
//! |---|---|
//! | regions.rs | the boot memory map cleaned up into free RAM ranges (pure) |
//! | frame_bitmap.rs, frames.rs | the physical frame allocator |
//! | layout.rs, paging.rs | the plan of the identity map, and the page tables built from it |
//! | heap.rs | the kernel heap, grown from frames |
//! | dma.rs | contiguous buffers below 4 GiB for devices |
//! | stack_area.rs, stack.rs | kernel stacks with guard pages |

pub mod frame_bitmap;
pub mod layout;
pub mod regions;
pub mod stack_area;

#[cfg(target_os = "none")]
pub mod dma;
#[cfg(target_os = "none")]
pub mod frames;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod paging;
#[cfg(target_os = "none")]
pub mod stack;

pub use regions::FRAME_SIZE;

/// Memory figures for the logs and the status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryStats {
    /// Frames the frame allocator manages (free RAM at boot).
    pub total_frames: u64,
    pub free_frames: u64,
    /// Bytes the heap holds, free or in use; it grows from frames when needed.
    pub heap_bytes_total: usize,
    /// Bytes of the heap handed out, rounded up to the buddy allocator's block sizes.
    pub heap_bytes_used: usize,
    /// Kernel stacks alive (the boot stack not counted).
    pub kernel_stacks: usize,
}

impl MemoryStats {
    /// Frames handed out: page tables, heap blocks, stacks, DMA buffers.
    pub fn used_frames(&self) -> u64 {
        self.total_frames - self.free_frames
    }
}

#[cfg(target_os = "none")]
pub use kernel_side::{init, kernel_image, stats};

#[cfg(target_os = "none")]
mod kernel_side {
    use super::layout::{self, KernelImage};
    use super::{MemoryStats, frames, heap, paging, regions, stack};
    use crate::boot::BootInfo;

    unsafe extern "C" {
        // Linker symbols of arch/x86_64/linker.ld: only their addresses mean anything.
        static __kernel_start: u8;
        static __kernel_end: u8;
        static __text_start: u8;
        static __text_end: u8;
        static __rodata_start: u8;
        static __rodata_end: u8;
        static __data_start: u8;
        static __data_end: u8;
    }

    /// Where the linker put the kernel's sections.
    pub fn kernel_image() -> KernelImage {
        let address = |symbol: *const u8| symbol as u64;
        KernelImage {
            image: address(&raw const __kernel_start)..address(&raw const __kernel_end),
            text: address(&raw const __text_start)..address(&raw const __text_end),
            rodata: address(&raw const __rodata_start)..address(&raw const __rodata_end),
            data: address(&raw const __data_start)..address(&raw const __data_end),
            stack_guards: [
                stack::boot_stack_guard_range(),
                crate::cpu::gdt::double_fault_stack_guard(),
            ],
        }
    }

    /// Brings up memory management: the boot heap, the frame allocator, and the kernel's own
    /// page tables (identity map of all RAM and device memory, kernel sections by permission,
    /// the boot stack's guard page unmapped). Logs a summary.
    pub fn init(boot: &BootInfo) {
        heap::init();
        let image = kernel_image();
        frames::init(boot, image.image.clone());
        if boot.cmdline.crash_test == Some(CRASH_IN_MEMORY_SETUP) {
            fault_in_memory_setup();
        }
        let ram = regions::ram_ranges(boot.memory_map.regions());
        let screen = crate::console::screen_memory();
        let plan = layout::identity_map_plan(&ram, &image, screen.clone());
        let write_combining = crate::cpu::pat::init();
        let map = paging::init(&plan);
        crate::console::screen_mapped();
        stack::init();
        let ram_end = ram.last().map_or(0, |r| r.end);
        log::info!(
            "memory: identity map up to {ram_end:#x}: {} x 2 MiB + {} x 4 KiB pages in {} table frames; \
             kernel .text {:#x}..{:#x} read+execute, stack guards at {:#x} (boot) and {:#x} (double fault)",
            map.huge_pages,
            map.small_pages,
            map.table_frames,
            image.text.start,
            image.text.end,
            image.stack_guards[0].start,
            image.stack_guards[1].start,
        );
        if let Some(screen) = screen {
            let kind = if write_combining {
                "write-combining"
            } else {
                "uncached (no PAT)"
            };
            log::info!(
                "memory: screen {:#x}..{:#x} mapped {kind}",
                screen.start,
                screen.end
            );
        }
        let stats = stats();
        log::info!(
            "memory: {} frames ({} MiB) managed, {} free; heap {} KiB, {} KiB used",
            stats.total_frames,
            (stats.total_frames * super::FRAME_SIZE) >> 20,
            stats.free_frames,
            stats.heap_bytes_total / 1024,
            stats.heap_bytes_used / 1024,
        );
    }

    /// `crashtest=memory-setup` (src/ktest/crash.rs): a fault halfway through memory setup,
    /// with the boot page tables still in use, must be reported like any later one. (Before
    /// the IDT was loaded ahead of memory setup, such a fault reset the machine silently.)
    const CRASH_IN_MEMORY_SETUP: &str = "memory-setup";

    /// Writes to an address the boot page tables do not map (they cover the first 4 GiB).
    #[inline(never)]
    fn fault_in_memory_setup() {
        // SAFETY: not sound on purpose, for the crash test: the write must fault.
        unsafe { core::ptr::write_volatile(0x0000_7000_0000_0000 as *mut u64, 1) };
    }

    /// The figures right now.
    pub fn stats() -> MemoryStats {
        let (heap_bytes_total, heap_bytes_used) = heap::usage();
        MemoryStats {
            total_frames: frames::total_frames(),
            free_frames: frames::free_frames(),
            heap_bytes_total,
            heap_bytes_used,
            kernel_stacks: stack::live_stacks(),
        }
    }
}

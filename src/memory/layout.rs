//! The plan of the kernel's address space, before any page table is written: which physical
//! ranges are mapped (identity: virtual address = physical address), with which permissions,
//! and with which page size. Pure logic, unit-tested on the host; src/memory/paging.rs turns
//! the plan into page tables.
//!
//! The plan is painted in layers, each one overriding what lies below it:
//!
//! ```text
//!   1. device memory   4 KiB .. 4 GiB        read-write, no-execute, uncached
//!   2. RAM             every RAM range        read-write, no-execute
//!   3. kernel image    __kernel_start ..      read-only, no-execute
//!   4. its sections    .text / .rodata / .data+.bss: read+execute / read-only / read-write
//!   5. the screen      VGA text memory or the framebuffer: write-combining
//!   6. holes           page 0 (null pointers) and the guard pages below the boot stack
//!                      and the double-fault stack: unmapped
//! ```

use super::regions::{FRAME_SIZE, align_down, align_up};
use alloc::vec::Vec;
use core::ops::Range;

/// A 2 MiB page: one page-directory entry with the PS bit (SDM vol. 3A, 4.5, table 4-17).
pub const HUGE_PAGE_SIZE: u64 = 2 << 20;

/// Everything below 4 GiB that is not RAM is treated as device memory (PCI MMIO, the APICs,
/// the BIOS ROM): devices on a 32-bit bus can only be placed there.
pub const DEVICE_MEMORY_END: u64 = 1 << 32;

/// What the CPU may do with a mapped range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Kernel code: read and execute, never write.
    Code,
    /// Constants: read only, never execute.
    ReadOnly,
    /// Data, heap, free RAM: read and write, never execute.
    ReadWrite,
    /// Device registers: read and write, never execute, never cached (a register read must
    /// reach the device every time).
    Device,
    /// Screen memory: read and write, never execute, write-combining (src/cpu/pat.rs):
    /// stores go out in bursts, and nothing reads it back but the display.
    Screen,
}

/// A page-aligned range with one access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub range: Range<u64>,
    pub access: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    Small,
    Huge,
}

impl PageSize {
    pub fn bytes(self) -> u64 {
        match self {
            PageSize::Small => FRAME_SIZE,
            PageSize::Huge => HUGE_PAGE_SIZE,
        }
    }
}

/// One page table entry to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedPage {
    pub start: u64,
    pub size: PageSize,
    pub access: Access,
}

/// Sorted, disjoint spans; neighbours with the same access are joined.
#[derive(Debug, Clone, Default)]
pub struct AddressSpacePlan {
    spans: Vec<Span>,
}

impl AddressSpacePlan {
    /// Maps `range` (page-aligned) with `access`, or unmaps it with `None`, over whatever
    /// the plan said before.
    pub fn paint(&mut self, range: Range<u64>, access: Option<Access>) {
        assert!(range.start.is_multiple_of(FRAME_SIZE) && range.end.is_multiple_of(FRAME_SIZE));
        if range.start >= range.end {
            return;
        }
        let mut spans = Vec::with_capacity(self.spans.len() + 2);
        for span in self.spans.drain(..) {
            let r = &span.range;
            if r.end <= range.start || r.start >= range.end {
                spans.push(span);
                continue;
            }
            if r.start < range.start {
                spans.push(Span {
                    range: r.start..range.start,
                    access: span.access,
                });
            }
            if r.end > range.end {
                spans.push(Span {
                    range: range.end..r.end,
                    access: span.access,
                });
            }
        }
        if let Some(access) = access {
            spans.push(Span { range, access });
        }
        spans.sort_unstable_by_key(|s| s.range.start);
        for span in spans {
            match self.spans.last_mut() {
                Some(last) if last.range.end == span.range.start && last.access == span.access => {
                    last.range.end = span.range.end
                }
                _ => self.spans.push(span),
            }
        }
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The access at `address`, or `None` where nothing is mapped.
    pub fn access_at(&self, address: u64) -> Option<Access> {
        self.spans
            .iter()
            .find(|s| s.range.contains(&address))
            .map(|s| s.access)
    }

    /// Every page to map: 2 MiB pages wherever a whole aligned 2 MiB lies inside one span,
    /// 4 KiB pages at the ragged edges.
    pub fn pages(&self) -> impl Iterator<Item = PlannedPage> + '_ {
        self.spans.iter().flat_map(|span| {
            let mut next = span.range.start;
            core::iter::from_fn(move || {
                if next >= span.range.end {
                    return None;
                }
                let size = if next.is_multiple_of(HUGE_PAGE_SIZE)
                    && next + HUGE_PAGE_SIZE <= span.range.end
                {
                    PageSize::Huge
                } else {
                    PageSize::Small
                };
                let page = PlannedPage {
                    start: next,
                    size,
                    access: span.access,
                };
                next += size.bytes();
                Some(page)
            })
        })
    }
}

/// Where the linker put the kernel's parts (arch/x86_64/linker.ld), physical addresses.
#[derive(Debug, Clone)]
pub struct KernelImage {
    pub image: Range<u64>,
    pub text: Range<u64>,
    pub rodata: Range<u64>,
    pub data: Range<u64>,
    /// The pages below the boot stack and below the double-fault stack, both in .bss.
    pub stack_guards: [Range<u64>; 2],
}

fn pages_around(range: &Range<u64>) -> Range<u64> {
    align_down(range.start, FRAME_SIZE)..align_up(range.end, FRAME_SIZE)
}

/// The kernel's identity map: `ram` (page-aligned, from `regions::ram_ranges`), the kernel
/// image and the `screen`'s memory (wherever it lies, even above 4 GiB), layered as the
/// module documentation shows.
pub fn identity_map_plan(
    ram: &[Range<u64>],
    kernel: &KernelImage,
    screen: Option<Range<u64>>,
) -> AddressSpacePlan {
    let mut plan = AddressSpacePlan::default();
    plan.paint(0..DEVICE_MEMORY_END, Some(Access::Device));
    for range in ram {
        plan.paint(range.clone(), Some(Access::ReadWrite));
    }
    plan.paint(pages_around(&kernel.image), Some(Access::ReadOnly));
    plan.paint(pages_around(&kernel.text), Some(Access::Code));
    plan.paint(pages_around(&kernel.rodata), Some(Access::ReadOnly));
    plan.paint(pages_around(&kernel.data), Some(Access::ReadWrite));
    if let Some(screen) = screen {
        plan.paint(pages_around(&screen), Some(Access::Screen));
    }
    for guard in &kernel.stack_guards {
        plan.paint(pages_around(guard), None);
    }
    plan.paint(0..FRAME_SIZE, None);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn kernel() -> KernelImage {
        KernelImage {
            image: MIB..0x52_3000,
            text: 0x10_1000..0x18_0abc,
            rodata: 0x18_1000..0x1a_0010,
            data: 0x1a_1000..0x52_3000,
            stack_guards: [0x1b_0000..0x1b_1000, 0x1c_4000..0x1c_5000],
        }
    }

    fn plan_256m() -> AddressSpacePlan {
        identity_map_plan(&[0..0x9f000, MIB..0xffe_0000], &kernel(), None)
    }

    #[test]
    fn kernel_sections_get_their_permissions() {
        let plan = plan_256m();
        assert_eq!(plan.access_at(MIB), Some(Access::ReadOnly));
        assert_eq!(plan.access_at(0x10_1000), Some(Access::Code));
        assert_eq!(plan.access_at(0x18_0fff), Some(Access::Code));
        assert_eq!(plan.access_at(0x18_1000), Some(Access::ReadOnly));
        assert_eq!(plan.access_at(0x1a_1000), Some(Access::ReadWrite));
        assert_eq!(plan.access_at(0x52_3000), Some(Access::ReadWrite));
    }

    #[test]
    fn null_page_and_stack_guards_are_unmapped() {
        let plan = plan_256m();
        assert_eq!(plan.access_at(0), None);
        assert_eq!(plan.access_at(0xfff), None);
        assert_eq!(plan.access_at(0x1000), Some(Access::ReadWrite));
        assert_eq!(plan.access_at(0x1b_0000), None);
        assert_eq!(plan.access_at(0x1b_0fff), None);
        assert_eq!(plan.access_at(0x1b_1000), Some(Access::ReadWrite));
        assert_eq!(plan.access_at(0x1c_3fff), Some(Access::ReadWrite));
        assert_eq!(plan.access_at(0x1c_4000), None);
        assert_eq!(plan.access_at(0x1c_5000), Some(Access::ReadWrite));
    }

    #[test]
    fn everything_below_4_gib_that_is_not_ram_is_device_memory() {
        let plan = plan_256m();
        assert_eq!(plan.access_at(0xb8000), Some(Access::Device));
        assert_eq!(plan.access_at(0xffe_0000), Some(Access::Device));
        assert_eq!(plan.access_at(0xfebf_0000), Some(Access::Device));
        assert_eq!(plan.access_at(4 * GIB - 1), Some(Access::Device));
        assert_eq!(plan.access_at(4 * GIB), None);
    }

    #[test]
    fn ram_above_4_gib_is_mapped_with_huge_pages() {
        let plan = identity_map_plan(&[MIB..3 * GIB, 4 * GIB..6 * GIB], &kernel(), None);
        assert_eq!(plan.access_at(5 * GIB), Some(Access::ReadWrite));
        assert_eq!(plan.access_at(3 * GIB), Some(Access::Device));
        assert_eq!(plan.access_at(6 * GIB), None);
        let high: Vec<_> = plan.pages().filter(|p| p.start >= 4 * GIB).collect();
        assert_eq!(high.len(), 1024);
        assert!(high.iter().all(|p| p.size == PageSize::Huge));
    }

    #[test]
    fn huge_pages_only_where_a_whole_aligned_2_mib_shares_one_access() {
        let plan = plan_256m();
        let pages: Vec<_> = plan.pages().collect();
        for page in &pages {
            let end = page.start + page.size.bytes();
            assert!(page.start.is_multiple_of(page.size.bytes()));
            assert_eq!(plan.access_at(page.start), Some(page.access));
            assert_eq!(plan.access_at(end - 1), Some(page.access));
        }
        // The kernel's sections and the guard page need small pages below 2 MiB; the data
        // section runs on into RAM, so huge pages start at 2 MiB and stop at 0xfe0_0000.
        let small = pages.iter().filter(|p| p.size == PageSize::Small).count();
        let huge = pages.iter().filter(|p| p.size == PageSize::Huge).count();
        assert!(
            pages
                .iter()
                .any(|p| p.start == 2 * MIB && p.size == PageSize::Huge)
        );
        assert_eq!(
            pages.iter().find(|p| p.start == 0xfe0_0000).map(|p| p.size),
            Some(PageSize::Small)
        );
        assert!(small < 2 * 512, "{small} small pages");
        assert_eq!(
            pages.iter().map(|p| p.size.bytes()).sum::<u64>(),
            4 * GIB - 3 * 4096,
            "{huge} huge pages"
        );
    }

    #[test]
    fn the_screen_is_mapped_write_combining_wherever_it_is() {
        const RAM: [Range<u64>; 2] = [0..0x9f000, MIB..256 * MIB];
        let below = identity_map_plan(&RAM, &kernel(), Some(0x8000_0000..0x8030_0000));
        assert_eq!(below.access_at(0x8000_0000), Some(Access::Screen));
        assert_eq!(below.access_at(0x802f_ffff), Some(Access::Screen));
        assert_eq!(below.access_at(0x8030_0000), Some(Access::Device));
        let vga = identity_map_plan(&RAM, &kernel(), Some(0xb8000..0xb8fa0));
        assert_eq!(vga.access_at(0xb8fff), Some(Access::Screen));
        assert_eq!(vga.access_at(0xb9000), Some(Access::Device));
        let high = identity_map_plan(&RAM, &kernel(), Some(0x40_0000_0000..0x40_0030_0000));
        assert_eq!(high.access_at(0x40_0000_0000), Some(Access::Screen));
        assert!(
            high.pages()
                .any(|p| p.start == 0x40_0000_0000 && p.size == PageSize::Huge)
        );
    }

    #[test]
    fn painting_joins_and_splits_spans() {
        let mut plan = AddressSpacePlan::default();
        plan.paint(0..0x4000, Some(Access::ReadWrite));
        plan.paint(0x4000..0x8000, Some(Access::ReadWrite));
        assert_eq!(plan.spans().len(), 1);
        plan.paint(0x2000..0x3000, Some(Access::Code));
        assert_eq!(plan.spans().len(), 3);
        plan.paint(0x2000..0x3000, Some(Access::ReadWrite));
        assert_eq!(plan.spans().len(), 1);
        plan.paint(0..0x8000, None);
        assert!(plan.spans().is_empty());
    }
}

//! The kernel's page tables: built in Rust from an [`AddressSpacePlan`], replacing the boot
//! tables of arch/x86_64/boot32.S (which map the first 4 GiB, all read-write-execute).
//!
//! x86_64 4-level paging (SDM vol. 3A, 4.5) translates a virtual address in four steps:
//!
//! ```text
//!  virtual address  | 47..39 | 38..30 | 29..21 | 20..12 | 11..0  |
//!                      PML4     PDPT     PD       PT       offset
//!  CR3 -> PML4[i] -> PDPT[j] -> PD[k] -+-> PT[l] -> 4 KiB frame + offset
//!                                      +-> (PS bit set) 2 MiB frame + bits 20..0
//! ```
//!
//! The map is an identity map (virtual = physical), so a table's physical address is also a
//! pointer to it: the x86_64 crate's `OffsetPageTable` with offset 0 walks and edits the
//! tables for us. The kernel stacks (src/memory/stack.rs) live outside the identity map, in
//! their own area, mapped page by page with [`map_page`] and [`unmap_page`].

use super::frames::{self, ANYWHERE, FRAMES_BELOW_4GIB};
use super::layout::{Access, AddressSpacePlan, PageSize};
use spin::{Mutex, Once};
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{CleanUp, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, FrameDeallocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags,
    PhysFrame, Size2MiB, Size4KiB, Translate,
};
use x86_64::{PhysAddr, VirtAddr};

static PAGE_TABLES: Once<Mutex<OffsetPageTable<'static>>> = Once::new();

/// Hands page-table frames to the x86_64 crate's mapper, and takes them back.
struct TableFrames {
    below_frame: u64,
    allocated: u64,
}

// SAFETY: every frame returned is a free 4 KiB frame, now owned by the page tables only.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let address = frames::allocate(1, 1, self.below_frame)?;
        self.allocated += 1;
        Some(PhysFrame::containing_address(PhysAddr::new(address)))
    }
}

impl FrameDeallocator<Size4KiB> for TableFrames {
    unsafe fn deallocate_frame(&mut self, frame: PhysFrame<Size4KiB>) {
        frames::free(frame.start_address().as_u64(), 1);
    }
}

/// The page-table bits for each kind of access (SDM vol. 3A, 4.5, tables 4-15 to 4-20).
/// PCD+PWT select the uncacheable memory type with the default PAT (SDM vol. 3A, 11.12.3).
/// On a CPU without NX, bit 63 is reserved (a page fault if set), so it is left out: such a
/// CPU gets write protection but no execute protection (src/cpu/features.rs).
pub fn flags_for(access: Access) -> PageTableFlags {
    let flags = flags_with_nx(access);
    if crate::cpu::features::features().no_execute {
        flags
    } else {
        flags - PageTableFlags::NO_EXECUTE
    }
}

fn flags_with_nx(access: Access) -> PageTableFlags {
    use PageTableFlags as F;
    match access {
        Access::Code => F::PRESENT,
        Access::ReadOnly => F::PRESENT | F::NO_EXECUTE,
        Access::ReadWrite => F::PRESENT | F::WRITABLE | F::NO_EXECUTE,
        Access::Device => F::PRESENT | F::WRITABLE | F::NO_EXECUTE | F::NO_CACHE | F::WRITE_THROUGH,
        // PWT alone selects PAT entry 1, write-combining once src/cpu/pat.rs loaded the
        // kernel's table; on a CPU without a PAT the screen is mapped uncached like a device.
        Access::Screen if crate::cpu::pat::write_combining() => {
            F::PRESENT | F::WRITABLE | F::NO_EXECUTE | F::WRITE_THROUGH
        }
        Access::Screen => F::PRESENT | F::WRITABLE | F::NO_EXECUTE | F::NO_CACHE | F::WRITE_THROUGH,
    }
}

/// Flags of the upper-level entries. The CPU combines the permissions of every level (SDM
/// vol. 3A, 4.6), so the upper levels allow everything and the last level decides.
const TABLE_FLAGS: PageTableFlags = PageTableFlags::PRESENT.union(PageTableFlags::WRITABLE);

/// What [`init`] built.
#[derive(Debug, Clone, Copy)]
pub struct MapSummary {
    pub huge_pages: u64,
    pub small_pages: u64,
    pub table_frames: u64,
}

/// Writes page tables for `plan` and switches CR3 to them.
pub fn init(plan: &AddressSpacePlan) -> MapSummary {
    // While the boot tables are active only the first 4 GiB are mapped, so the new tables
    // must live there too: the mapper writes them through their (identity) addresses.
    let mut table_frames = TableFrames {
        below_frame: FRAMES_BELOW_4GIB,
        allocated: 0,
    };
    let root = table_frames
        .allocate_frame()
        .expect("no free frame for the page-table root");
    let root_address = root.start_address().as_u64();
    // SAFETY: a fresh frame, below 4 GiB so the boot tables map it, used for nothing else.
    let pml4: &'static mut PageTable = unsafe { &mut *(root_address as *mut PageTable) };
    pml4.zero();
    // SAFETY: physical memory appears at virtual offset 0 (identity map), both under the
    // boot tables (for the first 4 GiB, where every table frame comes from) and the new ones.
    let mut mapper = unsafe { OffsetPageTable::new(pml4, VirtAddr::new(0)) };
    let mut summary = MapSummary {
        huge_pages: 0,
        small_pages: 0,
        table_frames: 0,
    };
    for page in plan.pages() {
        let flags = flags_for(page.access);
        let address = page.start;
        let mapped = match page.size {
            PageSize::Huge => {
                summary.huge_pages += 1;
                identity_map::<Size2MiB>(&mut mapper, address, flags, &mut table_frames)
            }
            PageSize::Small => {
                summary.small_pages += 1;
                identity_map::<Size4KiB>(&mut mapper, address, flags, &mut table_frames)
            }
        };
        assert!(mapped, "could not map {address:#x} in the identity map");
    }
    summary.table_frames = table_frames.allocated;
    // SAFETY: the new tables map the running code (.text), the stack (.bss), the heap and
    // every other thing the kernel touches, exactly where the boot tables did.
    unsafe { Cr3::write(root, Cr3Flags::empty()) };
    PAGE_TABLES.call_once(|| Mutex::new(mapper));
    summary
}

/// Maps the page of size `S` at `address` to the same physical address; false if a mapping
/// was already there or no frame was left for a table.
fn identity_map<S: x86_64::structures::paging::PageSize>(
    mapper: &mut OffsetPageTable<'static>,
    address: u64,
    flags: PageTableFlags,
    table_frames: &mut TableFrames,
) -> bool
where
    OffsetPageTable<'static>: Mapper<S>,
{
    let page = Page::<S>::containing_address(VirtAddr::new(address));
    let frame = PhysFrame::<S>::containing_address(PhysAddr::new(address));
    // SAFETY: `init` maps only what the plan says is RAM, the kernel image or device memory,
    // each with the permissions the plan gives it; the tables are not active yet, so there is
    // no TLB entry to flush.
    unsafe { mapper.map_to_with_table_flags(page, frame, flags, TABLE_FLAGS, table_frames) }
        .map(|flush| flush.ignore())
        .is_ok()
}

fn with_tables<R>(body: impl FnOnce(&mut OffsetPageTable<'static>) -> R) -> R {
    let tables = PAGE_TABLES
        .get()
        .expect("paging::init runs in memory::init");
    without_interrupts(|| body(&mut tables.lock()))
}

/// No frame was left for a page table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapError;

/// Maps the 4 KiB page at `virtual_address` to the frame at `physical_address`, read-write
/// and no-execute. The page must be outside the identity map and not mapped yet.
pub fn map_page(virtual_address: u64, physical_address: u64) -> Result<(), MapError> {
    with_tables(|tables| {
        let mut table_frames = TableFrames {
            below_frame: ANYWHERE,
            allocated: 0,
        };
        // SAFETY: the page lies outside the identity map (the callers' own area), so no
        // other mapping of this virtual address exists, and the frame belongs to the caller.
        unsafe {
            tables.map_to_with_table_flags(
                Page::<Size4KiB>::containing_address(VirtAddr::new(virtual_address)),
                PhysFrame::containing_address(PhysAddr::new(physical_address)),
                flags_for(Access::ReadWrite),
                TABLE_FLAGS,
                &mut table_frames,
            )
        }
        .map(|flush| flush.flush())
        .map_err(|_| MapError)
    })
}

/// Unmaps the 4 KiB page at `virtual_address`; returns the physical address it mapped.
pub fn unmap_page(virtual_address: u64) -> Option<u64> {
    with_tables(|tables| {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virtual_address));
        let (frame, flush) = tables.unmap(page).ok()?;
        flush.flush();
        Some(frame.start_address().as_u64())
    })
}

/// Frees the page tables that mapped nothing but pages of `start..end` (now unmapped).
pub fn free_empty_tables(start: u64, end: u64) {
    with_tables(|tables| {
        let range = Page::range_inclusive(
            Page::<Size4KiB>::containing_address(VirtAddr::new(start)),
            Page::containing_address(VirtAddr::new(end - 1)),
        );
        let mut table_frames = TableFrames {
            below_frame: ANYWHERE,
            allocated: 0,
        };
        // SAFETY: each table is used once, in this one hierarchy (no sharing), so a table
        // left empty is referenced only by the entry that clean_up clears.
        unsafe { tables.clean_up_addr_range(range, &mut table_frames) };
        // Paging-structure caches may still hold the freed tables (SDM vol. 3A, 4.10.3):
        // reloading CR3 drops them before the frames are reused.
        x86_64::instructions::tlb::flush_all();
    });
}

/// How `address` is mapped right now: the physical address and the last-level flags.
pub fn translate(address: u64) -> Option<(u64, PageTableFlags)> {
    with_tables(|tables| match tables.translate(VirtAddr::new(address)) {
        TranslateResult::Mapped {
            frame,
            offset,
            flags,
        } => Some((frame.start_address().as_u64() + offset, flags)),
        _ => None,
    })
}

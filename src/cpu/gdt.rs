//! The kernel's Global Descriptor Table and Task State Segment.
//!
//! In 64-bit mode segmentation is mostly off, but the CPU still needs a code segment with
//! L=1 (SDM vol. 3A, 3.4.5) and a TSS: its Interrupt Stack Table (SDM vol. 3A, 6.14.5) lets
//! the double-fault handler run on a stack of its own. Without that, a kernel stack overflow
//! faults again while pushing the exception frame, and the CPU resets (a triple fault).

use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot (0-based, as the x86_64 crate counts) used by the double-fault handler.
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;

const DOUBLE_FAULT_STACK_SIZE: usize = 16 * 1024;
const PAGE_SIZE: usize = 4096;

/// The double-fault stack, with one page below it that the memory manager leaves unmapped
/// (src/memory/layout.rs): overflowing the stack faults there instead of silently overwriting
/// whatever the linker put below it in .bss (the TSS and GDT, say). Page-aligned, so the
/// guard is one whole page and the stack's top is 16-byte aligned as the ABI wants.
#[repr(C, align(4096))]
struct GuardedStack {
    guard: [u8; PAGE_SIZE],
    stack: [u8; DOUBLE_FAULT_STACK_SIZE],
}

static mut DOUBLE_FAULT_STACK: GuardedStack = GuardedStack {
    guard: [0; PAGE_SIZE],
    stack: [0; DOUBLE_FAULT_STACK_SIZE],
};

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(
    GlobalDescriptorTable,
    SegmentSelector,
    SegmentSelector,
    SegmentSelector,
)> = Once::new();

/// Loads the GDT, reloads CS and SS from it, and loads the TSS. Must run before the IDT is
/// filled: IDT entries copy the current CS.
pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST_INDEX)] =
            VirtAddr::new(double_fault_stack().end);
        tss
    });
    let (gdt, code, data, tss_selector) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let tss_selector = gdt.append(Descriptor::tss_segment(tss));
        (gdt, code, data, tss_selector)
    });
    gdt.load();
    // SAFETY: the selectors come from the GDT just loaded, which lives in a static for the
    // rest of the kernel's life; the code segment is a 64-bit ring-0 segment like the boot one.
    unsafe {
        CS::set_reg(*code);
        SS::set_reg(*data);
        load_tss(*tss_selector);
    }
    log::info!(
        "gdt: kernel code, data and TSS loaded; double faults use IST {DOUBLE_FAULT_IST_INDEX}"
    );
}

/// The range of the double-fault stack, so that exception reports can name it.
pub fn double_fault_stack() -> core::ops::Range<u64> {
    let start =
        (&raw const DOUBLE_FAULT_STACK) as u64 + core::mem::offset_of!(GuardedStack, stack) as u64;
    start..start + DOUBLE_FAULT_STACK_SIZE as u64
}

/// The page below the double-fault stack, to be left unmapped.
pub fn double_fault_stack_guard() -> core::ops::Range<u64> {
    let start =
        (&raw const DOUBLE_FAULT_STACK) as u64 + core::mem::offset_of!(GuardedStack, guard) as u64;
    start..start + PAGE_SIZE as u64
}

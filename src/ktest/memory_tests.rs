//! Self-tests of the memory manager: frame bookkeeping under stress, heap growth, DMA
//! buffers, the page-table permissions (W^X) and the guard pages below stacks.

use super::KernelTest;
use crate::boot::{self, RegionKind};
use crate::cpu::fault_probe::{CaughtFault, catch_fault};
use crate::ktest_assert;
use crate::memory::dma::DmaRegion;
use crate::memory::stack::{self, KernelStack};
use crate::memory::stack_area;
use crate::memory::{self, FRAME_SIZE, MemoryStats, layout, paging, regions};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use x86_64::structures::paging::PageTableFlags;

pub const TESTS: &[KernelTest] = &[
    KernelTest {
        name: "memory::frames_are_counted",
        run: frames_are_counted,
    },
    KernelTest {
        name: "memory::identity_map_covers_ram_and_devices",
        run: identity_map_covers_ram_and_devices,
    },
    KernelTest {
        name: "memory::mixed_stress_returns_every_frame",
        run: mixed_stress_returns_every_frame,
    },
    KernelTest {
        name: "memory::heap_grows_from_frames",
        run: heap_grows_from_frames,
    },
    KernelTest {
        name: "memory::oversized_request_fails_cleanly",
        run: oversized_request_fails_cleanly,
    },
    KernelTest {
        name: "memory::dma_is_below_4gib_aligned_and_zeroed",
        run: dma_is_below_4gib_aligned_and_zeroed,
    },
    KernelTest {
        name: "memory::only_text_is_executable_and_nothing_is_both",
        run: only_text_is_executable_and_nothing_is_both,
    },
    KernelTest {
        name: "memory::write_to_text_faults",
        run: write_to_text_faults,
    },
    KernelTest {
        name: "memory::write_to_rodata_faults",
        run: write_to_rodata_faults,
    },
    KernelTest {
        name: "memory::jump_into_heap_faults",
        run: jump_into_heap_faults,
    },
    KernelTest {
        name: "memory::stack_guard_page_faults_and_is_named",
        run: stack_guard_page_faults_and_is_named,
    },
    KernelTest {
        name: "memory::oversized_stack_is_refused",
        run: oversized_stack_is_refused,
    },
    KernelTest {
        name: "memory::boot_stack_guard_is_unmapped",
        run: boot_stack_guard_is_unmapped,
    },
    KernelTest {
        name: "memory::double_fault_stack_guard_is_unmapped",
        run: double_fault_stack_guard_is_unmapped,
    },
    KernelTest {
        name: "memory::a_thousand_stacks_return_their_frames",
        run: a_thousand_stacks_return_their_frames,
    },
];

const PAGE_FAULT: u64 = 14;
/// Page-fault error code bits (SDM vol. 3A, 4.7).
const PF_PRESENT: u64 = 1 << 0;
const PF_WRITE: u64 = 1 << 1;
const PF_INSTRUCTION_FETCH: u64 = 1 << 4;

/// Frames lost to the heap between two snapshots: the heap keeps what it grows by.
fn frames_given_to_heap(before: &MemoryStats, after: &MemoryStats) -> u64 {
    (after.heap_bytes_total - before.heap_bytes_total) as u64 / FRAME_SIZE
}

/// Every frame free in `before` is free in `after`, or now belongs to the heap (which keeps
/// what it grew by).
fn frames_all_returned(before: &MemoryStats, after: &MemoryStats) -> Result<(), String> {
    let heap = frames_given_to_heap(before, after);
    ktest_assert!(
        after.free_frames + heap == before.free_frames,
        "free frames {} -> {} (heap took {heap})",
        before.free_frames,
        after.free_frames
    );
    Ok(())
}

fn frames_are_counted() -> Result<(), String> {
    let stats = memory::stats();
    let usable = boot::info().memory_map.usable_bytes() / FRAME_SIZE;
    ktest_assert!(stats.total_frames > 0, "no frames managed");
    ktest_assert!(
        stats.total_frames < usable,
        "{} frames managed but only {usable} usable (the kernel and first MiB are excluded)",
        stats.total_frames
    );
    ktest_assert!(
        stats.free_frames <= stats.total_frames && stats.free_frames > stats.total_frames / 2,
        "{} of {} frames free",
        stats.free_frames,
        stats.total_frames
    );
    Ok(())
}

fn identity_map_covers_ram_and_devices() -> Result<(), String> {
    for region in boot::info().memory_map.regions() {
        if region.kind != RegionKind::Usable || region.end - region.start < 2 * FRAME_SIZE {
            continue;
        }
        let first = region.start.next_multiple_of(FRAME_SIZE).max(FRAME_SIZE);
        let last = (region.end - 8) & !7;
        for address in [first, last] {
            let (physical, flags) = paging::translate(address)
                .ok_or_else(|| alloc::format!("{address:#x} unmapped"))?;
            ktest_assert!(physical == address, "{address:#x} maps to {physical:#x}");
            ktest_assert!(
                flags.contains(PageTableFlags::NO_EXECUTE) || !cpu_has_nx(),
                "RAM at {address:#x} is executable ({flags:?})"
            );
        }
    }
    // The top of the PCI hole (the BIOS ROM copy at 4 GiB - 256 KiB on QEMU) is device memory.
    let (_, flags) = paging::translate(0xffff_f000).ok_or("0xfffff000 is unmapped")?;
    ktest_assert!(
        flags.contains(PageTableFlags::NO_CACHE | PageTableFlags::WRITE_THROUGH),
        "device memory is cached: {flags:?}"
    );
    ktest_assert!(paging::translate(0).is_none(), "page 0 is mapped");
    Ok(())
}

/// Stacks, DMA regions and heap blocks of mixed sizes, all alive together, then freed in a
/// different order than they were taken.
fn stress_round(round: usize) -> Result<(), String> {
    let mut stacks = Vec::new();
    let mut buffers = Vec::new();
    let mut boxes: Vec<Box<[u8]>> = Vec::new();
    let error = |what: &dyn core::fmt::Debug| alloc::format!("round {round}: {what:?}");
    let before = memory::stats();
    for i in 0..48usize {
        let size = [100, 4096, 5000, 16384, 65536, 3][i % 6] * (1 + round % 3);
        match i % 3 {
            0 => stacks.push(KernelStack::allocate("stress", size).map_err(|e| error(&e))?),
            1 => buffers.push(DmaRegion::allocate(size, 1 << (i % 14)).map_err(|e| error(&e))?),
            _ => boxes.push(alloc::vec![i as u8; size].into_boxed_slice()),
        }
    }
    ktest_assert!(
        memory::stats().free_frames < before.free_frames,
        "nothing was taken"
    );
    // Every other one first, then the rest from the end.
    let mut index = 0;
    stacks.retain(|_| {
        index += 1;
        index % 2 == 0
    });
    index = 0;
    buffers.retain(|_| {
        index += 1;
        index % 2 == 0
    });
    index = 0;
    boxes.retain(|_| {
        index += 1;
        index % 2 == 0
    });
    while stacks.pop().is_some() || buffers.pop().is_some() || boxes.pop().is_some() {}
    Ok(())
}

fn mixed_stress_returns_every_frame() -> Result<(), String> {
    // A first round lets the heap and the stack registry reach their working size.
    stress_round(0)?;
    let before = memory::stats();
    for round in 1..6 {
        stress_round(round)?;
    }
    let after = memory::stats();
    frames_all_returned(&before, &after)?;
    ktest_assert!(
        after.heap_bytes_used == before.heap_bytes_used,
        "heap use {} -> {} bytes",
        before.heap_bytes_used,
        after.heap_bytes_used
    );
    ktest_assert!(after.kernel_stacks == before.kernel_stacks, "stacks leaked");
    Ok(())
}

fn heap_grows_from_frames() -> Result<(), String> {
    let before = memory::stats();
    let size = before.heap_bytes_total + 1024 * 1024;
    let mut big: Vec<u64> = Vec::new();
    big.try_reserve_exact(size / 8)
        .map_err(|_| alloc::format!("could not allocate {size} bytes"))?;
    big.extend((0..size as u64 / 8).map(|i| i * 3));
    let grown = memory::stats();
    ktest_assert!(
        grown.heap_bytes_total >= before.heap_bytes_total + size,
        "heap {} -> {} bytes for a {size}-byte vector",
        before.heap_bytes_total,
        grown.heap_bytes_total
    );
    ktest_assert!(
        grown.free_frames + frames_given_to_heap(&before, &grown) == before.free_frames,
        "frame counts do not match the heap's growth"
    );
    ktest_assert!(
        big.iter().enumerate().all(|(i, &v)| v == i as u64 * 3),
        "contents changed"
    );
    drop(big);
    let small: Vec<Box<u64>> = (0..10_000).map(Box::new).collect();
    ktest_assert!(
        small.iter().enumerate().all(|(i, b)| **b == i as u64),
        "boxes"
    );
    Ok(())
}

/// More than all free RAM: the heap must refuse (logging "out of memory: ..."), not grow by
/// a useless amount or panic; `try_reserve` turns the refusal into an error we can check.
fn oversized_request_fails_cleanly() -> Result<(), String> {
    let before = memory::stats();
    let too_much = (before.free_frames * FRAME_SIZE) as usize + before.heap_bytes_total + (1 << 20);
    log::info!("memory: the next out-of-memory error is expected by a self-test");
    let mut vector: Vec<u8> = Vec::new();
    ktest_assert!(
        vector.try_reserve_exact(too_much).is_err(),
        "{too_much} bytes granted"
    );
    let after = memory::stats();
    ktest_assert!(after == before, "memory changed: {before:?} -> {after:?}");
    let small = alloc::vec![7u8; 4096];
    ktest_assert!(small.iter().all(|&b| b == 7), "the heap no longer works");
    Ok(())
}

fn dma_is_below_4gib_aligned_and_zeroed() -> Result<(), String> {
    let mut regions = Vec::new();
    for (size, align) in [
        (1, 1),
        (1536, 16),
        (8192 + 16, 4096),
        (65536 + 1536, 65536),
        (4096, 1 << 20),
    ] {
        let region = DmaRegion::allocate(size, align).map_err(|e| alloc::format!("{e:?}"))?;
        let start = u64::from(region.physical_address());
        ktest_assert!(
            start.is_multiple_of(align as u64),
            "{start:#x} not aligned to {align}"
        );
        ktest_assert!(
            start + size as u64 <= 1 << 32,
            "{start:#x} + {size} above 4 GiB"
        );
        ktest_assert!(region.len() == size, "len {} for {size}", region.len());
        // SAFETY: the region is `size` bytes of RAM owned by `region`.
        let bytes = unsafe { core::slice::from_raw_parts_mut(region.as_ptr(), size) };
        ktest_assert!(bytes.iter().all(|&b| b == 0), "not zeroed");
        bytes.fill(0xa5);
        for other in &regions {
            let other: &DmaRegion = other;
            let o = u64::from(other.physical_address());
            ktest_assert!(
                start + size as u64 <= o || o + other.len() as u64 <= start,
                "overlap"
            );
        }
        regions.push(region);
    }
    ktest_assert!(DmaRegion::allocate(16, 3).is_err(), "align 3 accepted");
    Ok(())
}

/// W^X over the real page tables, not the plan: every page of the kernel image (4 KiB steps)
/// and the whole identity map (one probe per 2 MiB, plus its last 4 KiB page) is either
/// writable or executable, never both, and only .text is executable.
fn only_text_is_executable_and_nothing_is_both() -> Result<(), String> {
    const STEP: u64 = 2 << 20;
    if !cpu_has_nx() {
        return Ok(()); // nothing can be made non-executable (the boot log warns)
    }
    let image = memory::kernel_image();
    let ram_end = regions::ram_ranges(boot::info().memory_map.regions())
        .last()
        .map_or(0, |r| r.end);
    let map_end = ram_end.max(layout::DEVICE_MEMORY_END);
    let image_pages = (image.image.start..image.image.end).step_by(FRAME_SIZE as usize);
    let map_probes = (0..map_end)
        .step_by(STEP as usize)
        .flat_map(|start| [start, start + STEP - FRAME_SIZE]);
    let mut executable_pages = 0u64;
    for address in image_pages.chain(map_probes) {
        let Some((_, flags)) = paging::translate(address) else {
            continue;
        };
        let executable = !flags.contains(PageTableFlags::NO_EXECUTE);
        ktest_assert!(
            !(executable && flags.contains(PageTableFlags::WRITABLE)),
            "{address:#x} is writable and executable ({flags:?})"
        );
        if executable {
            ktest_assert!(
                image.text.contains(&address),
                "{address:#x} is executable outside .text ({flags:?})"
            );
            executable_pages += 1;
        }
    }
    ktest_assert!(executable_pages > 0, "no page of .text is executable");
    Ok(())
}

/// The raw write that a self-test expects to fault.
extern "C" fn write_byte(address: usize) {
    // SAFETY: not sound on purpose: the write must fault, and catch_fault recovers.
    unsafe { core::ptr::write_volatile(address as *mut u8, 0xcc) };
}

extern "C" fn read_byte(address: usize) {
    // SAFETY: not sound on purpose: the read must fault, and catch_fault recovers.
    unsafe { core::ptr::read_volatile(address as *const u8) };
}

fn expect_page_fault(fault: Option<CaughtFault>, address: u64, bits: u64) -> Result<(), String> {
    let fault = fault.ok_or_else(|| alloc::format!("no fault at {address:#x}"))?;
    ktest_assert!(fault.vector == PAGE_FAULT, "vector {}", fault.vector);
    ktest_assert!(
        fault.cr2 == address,
        "CR2 {:#x} instead of {address:#x}",
        fault.cr2
    );
    ktest_assert!(
        fault.error_code & (PF_PRESENT | PF_WRITE | PF_INSTRUCTION_FETCH) == bits,
        "error code {:#x}, expected bits {bits:#x}",
        fault.error_code
    );
    Ok(())
}

fn write_to_text_faults() -> Result<(), String> {
    let address = write_byte as *const () as u64;
    let fault = catch_fault(write_byte, address as usize);
    expect_page_fault(fault, address, PF_PRESENT | PF_WRITE)
}

static READ_ONLY_WORD: u64 = 0x5a5a_5a5a;

fn write_to_rodata_faults() -> Result<(), String> {
    let address = (&raw const READ_ONLY_WORD) as u64;
    let image = memory::kernel_image();
    ktest_assert!(
        image.rodata.contains(&address),
        "{address:#x} is not in .rodata"
    );
    let fault = catch_fault(write_byte, address as usize);
    expect_page_fault(fault, address, PF_PRESENT | PF_WRITE)?;
    ktest_assert!(
        core::hint::black_box(READ_ONLY_WORD) == 0x5a5a_5a5a,
        "changed"
    );
    Ok(())
}

/// Whether the page tables can forbid execution at all (src/cpu/features.rs).
fn cpu_has_nx() -> bool {
    crate::cpu::features::features().no_execute
}

fn jump_into_heap_faults() -> Result<(), String> {
    if !cpu_has_nx() {
        return Ok(()); // the heap is executable on this CPU (the boot log warns)
    }
    /// `ret`: harmless if it ran, which it must not.
    const RET: u8 = 0xc3;
    let code = Box::new([RET; 16]);
    let address = code.as_ptr() as u64;
    // SAFETY: not sound on purpose: executing heap memory must fault (NX), and catch_fault
    // recovers; were it to run, `ret` returns to catch_fault as a normal call would.
    let function = unsafe { core::mem::transmute::<u64, extern "C" fn(usize)>(address) };
    let fault = catch_fault(function, 0);
    expect_page_fault(fault, address, PF_PRESENT | PF_INSTRUCTION_FETCH)
}

fn stack_guard_page_faults_and_is_named() -> Result<(), String> {
    let stack =
        KernelStack::allocate("guard-test", 16 * 1024).map_err(|e| alloc::format!("{e:?}"))?;
    ktest_assert!(stack.top() - stack.bottom() == 16 * 1024, "size");
    ktest_assert!(stack.top().is_multiple_of(16), "top not 16-byte aligned");
    // The whole stack is usable, zeroed memory.
    write_byte(stack.bottom() as usize);
    write_byte(stack.top() as usize - 1);
    let below = stack.bottom() - 8;
    expect_page_fault(catch_fault(write_byte, below as usize), below, PF_WRITE)?;
    let owner = stack::guard_owner(below).ok_or("guard not attributed to the stack")?;
    ktest_assert!(owner.as_str() == "guard-test", "owner {owner}");
    ktest_assert!(
        stack::guard_owner(stack.bottom()).is_none(),
        "the stack itself is a guard"
    );
    drop(stack);
    ktest_assert!(
        stack::guard_owner(below).is_none(),
        "freed stack still named"
    );
    Ok(())
}

/// A stack must leave its slot a guard page; sizes near `usize::MAX` must not wrap around to
/// a small stack when rounded up to whole pages.
fn oversized_stack_is_refused() -> Result<(), String> {
    let before = memory::stats();
    let largest = stack_area::MAX_STACK_SIZE as usize;
    for size in [largest + 1, usize::MAX - 100, usize::MAX] {
        ktest_assert!(
            KernelStack::allocate("too-big", size).is_err(),
            "a stack of {size} bytes was granted"
        );
    }
    let stack = KernelStack::allocate("largest", largest).map_err(|e| alloc::format!("{e:?}"))?;
    ktest_assert!(
        stack.top() - stack.bottom() == stack_area::MAX_STACK_SIZE,
        "largest stack is {} bytes",
        stack.top() - stack.bottom()
    );
    drop(stack);
    let after = memory::stats();
    ktest_assert!(
        after.kernel_stacks == before.kernel_stacks,
        "{} stacks before, {} after",
        before.kernel_stacks,
        after.kernel_stacks
    );
    Ok(())
}

fn boot_stack_guard_is_unmapped() -> Result<(), String> {
    let guard = stack::boot_stack_guard_range();
    let address = guard.start + 64;
    expect_page_fault(catch_fault(read_byte, address as usize), address, 0)?;
    let owner = stack::guard_owner(address).ok_or("boot guard not named")?;
    ktest_assert!(owner.as_str() == "boot", "owner {owner}");
    ktest_assert!(
        stack::guard_owner(guard.end).is_none(),
        "the boot stack is a guard"
    );
    Ok(())
}

/// The page below the double-fault stack (src/cpu/gdt.rs) faults and is named; the stack
/// itself, which the TSS points at, is mapped.
fn double_fault_stack_guard_is_unmapped() -> Result<(), String> {
    let guard = crate::cpu::gdt::double_fault_stack_guard();
    let stack = crate::cpu::gdt::double_fault_stack();
    ktest_assert!(
        guard.end == stack.start,
        "the guard is not right below the stack"
    );
    let address = guard.end - 8;
    expect_page_fault(catch_fault(read_byte, address as usize), address, 0)?;
    let owner = stack::guard_owner(address).ok_or("double-fault guard not named")?;
    ktest_assert!(owner.as_str() == "double-fault", "owner {owner}");
    ktest_assert!(
        paging::translate(stack.start).is_some(),
        "the stack is unmapped"
    );
    Ok(())
}

/// What the scheduler does when it spawns and joins many threads: 1000 stacks at once
/// (fewer if they would take more than half the free memory), then 1000 one at a time.
fn a_thousand_stacks_return_their_frames() -> Result<(), String> {
    const STACK_PAGES: u64 = 4;
    let before = memory::stats();
    let at_once = 1000.min(before.free_frames / 2 / (STACK_PAGES + 1)) as usize;
    let mut stacks = Vec::with_capacity(at_once);
    for i in 0..at_once {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        let stack = KernelStack::allocate(name, (STACK_PAGES * FRAME_SIZE) as usize)
            .map_err(|e| alloc::format!("stack {i} of {at_once}: {e:?}"))?;
        stacks.push(stack);
    }
    let during = memory::stats();
    ktest_assert!(
        during.kernel_stacks == before.kernel_stacks + at_once,
        "{} stacks",
        during.kernel_stacks
    );
    ktest_assert!(
        before.free_frames - during.free_frames >= at_once as u64 * STACK_PAGES,
        "{at_once} stacks of {STACK_PAGES} pages took only {} frames",
        before.free_frames - during.free_frames
    );
    drop(stacks);
    for _ in 0..1000 {
        drop(
            KernelStack::allocate("one-at-a-time", 8 * 1024)
                .map_err(|e| alloc::format!("{e:?}"))?,
        );
    }
    let after = memory::stats();
    frames_all_returned(&before, &after)?;
    log::info!("memory: {at_once} stacks at once and 1000 in turn returned every frame");
    Ok(())
}

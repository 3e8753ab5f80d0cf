//! Self-tests of the boot path: what GRUB told us, and the exception machinery.

use super::{KernelTest, registers};
use crate::boot::{self, RegionKind};
use crate::cpu::fault_probe::catch_fault;
use crate::ktest_assert;
use alloc::string::String;

pub const TESTS: &[KernelTest] = &[
    KernelTest {
        name: "boot::multiboot2_facts",
        run: multiboot2_facts,
    },
    KernelTest {
        name: "interrupts::breakpoint_returns",
        run: breakpoint_returns,
    },
    KernelTest {
        name: "interrupts::int3_preserves_registers",
        run: int3_preserves_registers,
    },
    KernelTest {
        name: "interrupts::page_fault_is_caught",
        run: page_fault_is_caught,
    },
    KernelTest {
        name: "interrupts::invalid_opcode_is_caught",
        run: invalid_opcode_is_caught,
    },
    KernelTest {
        name: "time::timer_ticks",
        run: timer_ticks,
    },
];

fn multiboot2_facts() -> Result<(), String> {
    let info = boot::info();
    ktest_assert!(
        info.loader_name.starts_with("GRUB"),
        "loader is {:?}",
        info.loader_name
    );
    ktest_assert!(
        info.cmdline.self_test,
        "command line {:?} lacks selftest",
        info.cmdline_text
    );
    let usable = info
        .memory_map
        .regions()
        .iter()
        .filter(|r| r.kind == RegionKind::Usable);
    ktest_assert!(usable.count() >= 2, "expected low and high usable RAM");
    ktest_assert!(
        info.memory_map.usable_bytes() >= 16 << 20,
        "only {} bytes usable",
        info.memory_map.usable_bytes()
    );
    ktest_assert!(
        info.info_range.start >= 0x1000,
        "boot info at {:#x}",
        info.info_range.start
    );
    Ok(())
}

fn breakpoint_returns() -> Result<(), String> {
    let before = core::hint::black_box(41);
    x86_64::instructions::interrupts::int3();
    ktest_assert!(
        core::hint::black_box(before) + 1 == 42,
        "state lost across int3"
    );
    Ok(())
}

/// The breakpoint handler runs through the same entry stub and trap_common as every vector:
/// whatever the interrupted code held in its registers must be there when it resumes.
fn int3_preserves_registers() -> Result<(), String> {
    registers::compare(&registers::around_int3(), &registers::PATTERN)
}

/// Reads from an address that no page table maps (the identity map ends with RAM).
extern "C" fn read_unmapped(address: usize) {
    // SAFETY: not sound on purpose: the read must fault, and catch_fault recovers.
    unsafe { core::ptr::read_volatile(address as *const u64) };
}

fn page_fault_is_caught() -> Result<(), String> {
    const UNMAPPED: usize = 0x0000_7000_0000_0000;
    let fault = catch_fault(read_unmapped, UNMAPPED).ok_or("the read did not fault")?;
    ktest_assert!(fault.vector == 14, "vector {} instead of 14", fault.vector);
    ktest_assert!(fault.cr2 == UNMAPPED as u64, "CR2 {:#x}", fault.cr2);
    ktest_assert!(
        fault.error_code & 1 == 0,
        "error code {:#x}: page present?",
        fault.error_code
    );
    Ok(())
}

extern "C" fn execute_ud2(_: usize) {
    // SAFETY: ud2 raises #UD by definition; catch_fault recovers.
    unsafe { core::arch::asm!("ud2") };
}

fn invalid_opcode_is_caught() -> Result<(), String> {
    let fault = catch_fault(execute_ud2, 0).ok_or("ud2 did not fault")?;
    ktest_assert!(fault.vector == 6, "vector {} instead of 6", fault.vector);
    Ok(())
}

fn timer_ticks() -> Result<(), String> {
    let start = crate::time::ticks();
    while crate::time::ticks() < start + 10 {
        crate::cpu::halt_until_interrupt();
    }
    Ok(())
}

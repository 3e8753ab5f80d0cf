//! The Interrupt Descriptor Table: for each of the 256 vectors, the address of its entry stub
//! in arch/x86_64/traps.S. All entries are interrupt gates (interrupts stay off in the
//! handler, SDM vol. 3A, 6.12.1.3), so a handler is never interrupted halfway through.

use super::gdt::DOUBLE_FAULT_IST_INDEX;
use super::trap::stub_address;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::structures::idt::InterruptDescriptorTable;

unsafe extern "C" {
    /// First entry stub (arch/x86_64/traps.S); the others follow every TRAP_STUB_SIZE bytes.
    static trap_stubs: u8;
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

/// Builds the IDT and loads it with `lidt`.
pub fn init() {
    let idt = IDT.call_once(|| {
        let base = (&raw const trap_stubs) as u64;
        let stub = |vector: u8| VirtAddr::new(stub_address(base, vector));
        let mut idt = InterruptDescriptorTable::new();
        // The x86_64 crate names the exception entries (each has its own handler type);
        // the `set_handler_addr` of every one points at the matching assembly stub.
        macro_rules! exception {
            ($($field:ident = $vector:expr),* $(,)?) => {
                $(
                    // SAFETY: the stub at this address is a valid entry point for this vector:
                    // it builds a TrapFrame and returns with iretq.
                    unsafe { idt.$field.set_handler_addr(stub($vector)); }
                )*
            };
        }
        exception!(
            divide_error = 0,
            debug = 1,
            non_maskable_interrupt = 2,
            breakpoint = 3,
            overflow = 4,
            bound_range_exceeded = 5,
            invalid_opcode = 6,
            device_not_available = 7,
            invalid_tss = 10,
            segment_not_present = 11,
            stack_segment_fault = 12,
            general_protection_fault = 13,
            page_fault = 14,
            x87_floating_point = 16,
            alignment_check = 17,
            machine_check = 18,
            simd_floating_point = 19,
            virtualization = 20,
            cp_protection_exception = 21,
            hv_injection_exception = 28,
            vmm_communication_exception = 29,
            security_exception = 30,
        );
        // SAFETY: as above; the double fault additionally switches to the IST stack that
        // gdt::init put in the TSS, so it can be reported even when the kernel stack is gone.
        unsafe {
            idt.double_fault
                .set_handler_addr(stub(8))
                .set_stack_index(DOUBLE_FAULT_IST_INDEX);
        }
        for vector in 32..=255u8 {
            // SAFETY: as above, for the interrupt vectors.
            unsafe {
                idt[vector].set_handler_addr(stub(vector));
            }
        }
        idt
    });
    idt.load();
}

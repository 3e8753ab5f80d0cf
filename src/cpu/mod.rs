//! CPU access: the lowest layer. Everything here talks to the processor or to chips on the
//! motherboard (the PICs) directly; the layers above call these functions instead.

#[cfg(target_os = "none")]
mod boot;
pub mod context;
pub mod elcr;
#[cfg(target_os = "none")]
pub mod fault_probe;
pub mod features;
#[cfg(target_os = "none")]
pub mod gdt;
#[cfg(target_os = "none")]
pub mod idt;
#[cfg(target_os = "none")]
pub mod legacy_pc;
pub mod pat;
#[cfg(target_os = "none")]
pub mod pic;
#[cfg(target_os = "none")]
pub mod qemu;
pub mod random;
pub mod trap;

/// Waits for the next interrupt with interrupts enabled (`sti; hlt` executes atomically:
/// SDM vol. 2B, STI — interrupts are recognised only after the next instruction).
#[cfg(target_os = "none")]
pub fn halt_until_interrupt() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

/// Stops the CPU for good: interrupts off, then `hlt` forever (an NMI could still wake it,
/// hence the loop).
#[cfg(target_os = "none")]
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

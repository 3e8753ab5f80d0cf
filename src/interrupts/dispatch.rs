//! The IRQ table and the one Rust entry point of every interrupt.
//!
//! Each line has a chain of handlers (src/interrupts/chain.rs): PCI devices may share a line,
//! and an interrupt on it calls every handler.
//!
//! Locking rule: handlers run with interrupts disabled (all IDT entries are interrupt gates),
//! so they must be short and must never block. They may wake threads.

use super::chain::{Dispatched, IrqChain, IrqHandler};
use crate::cpu::elcr::{self, Trigger};
use crate::cpu::pic::{self, IRQ_LINES};
use crate::cpu::trap::{FIRST_IRQ_VECTOR, TrapFrame};
use crate::cpu::{gdt, idt};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The handlers of every line. Lookup needs no lock (each chain is a table of atomics).
static IRQ_CHAINS: [IrqChain; IRQ_LINES as usize] = [const { IrqChain::new() }; IRQ_LINES as usize];

/// Called after every hardware interrupt's EOI (the scheduler preempts from here).
static IRQ_EXIT_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Loads the IDT and remaps the PICs. Interrupts stay disabled until the timer is set up.
pub fn init() {
    idt::init();
    pic::init();
    log::info!(
        "interrupts: IDT loaded (256 vectors), PICs remapped to vectors {}-{}",
        FIRST_IRQ_VECTOR,
        FIRST_IRQ_VECTOR + IRQ_LINES - 1
    );
    let df = gdt::double_fault_stack();
    log::info!(
        "interrupts: double-fault stack {:#x}..{:#x}",
        df.start,
        df.end
    );
}

/// Adds `handler` to IRQ `line`'s chain and unmasks the line: for the legacy ISA devices
/// (the timer), whose lines are edge-triggered. Panics if the line's chain is full, a bug of
/// the boot code that registers handlers.
pub fn register_irq(line: u8, handler: IrqHandler) {
    assert!(line < IRQ_LINES, "IRQ {line} does not exist");
    IRQ_CHAINS[usize::from(line)]
        .add(handler)
        .unwrap_or_else(|_| panic!("IRQ {line}: every handler slot is taken"));
    pic::unmask(line);
}

/// Like [`register_irq`], for a PCI device's line. PCI interrupts (INTx#) are
/// level-triggered and shareable (PCI Local Bus Specification 3.0, 2.2.6): the 8259 must
/// see the line as level-triggered, or a second device raising the line while the first
/// still holds it makes no new edge and is never heard. The PIC's Edge/Level Control
/// Register says which; firmware sets it for the lines it routed, but need not, so the
/// kernel sets it here and logs what it found.
pub fn register_pci_irq(line: u8, handler: IrqHandler) {
    assert!(line < IRQ_LINES, "IRQ {line} does not exist");
    match elcr::set_trigger(line, Trigger::Level) {
        Ok(Trigger::Level) => log::info!(
            "interrupts: IRQ {line} (PCI) is level-triggered in the ELCR, as firmware left it"
        ),
        Ok(Trigger::Edge) => log::info!(
            "interrupts: IRQ {line} (PCI) set level-triggered in the ELCR (firmware left it edge)"
        ),
        Err(_) => log::warn!(
            "interrupts: IRQ {line} cannot be level-triggered (an ISA-only line); left edge"
        ),
    }
    let sharing = IRQ_CHAINS[usize::from(line)].len();
    if sharing > 0 {
        log::info!("interrupts: IRQ {line} shared with {sharing} other handler(s)");
    }
    register_irq(line, handler);
}

/// Sets the function run at the end of every hardware interrupt, after the EOI.
pub fn set_irq_exit_hook(hook: fn()) {
    IRQ_EXIT_HOOK.store(hook as *const () as usize, Ordering::Release);
}

fn call_exit_hook() {
    let address = IRQ_EXIT_HOOK.load(Ordering::Acquire);
    if address != 0 {
        // SAFETY: only set_irq_exit_hook stores here, always a `fn()`.
        let hook: fn() = unsafe { core::mem::transmute::<usize, fn()>(address) };
        hook();
    }
}

/// The Rust side of every interrupt and exception (called from trap_common in traps.S).
#[unsafe(no_mangle)]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector;
    if vector < u64::from(FIRST_IRQ_VECTOR) {
        super::exceptions::handle(frame);
        return;
    }
    let irq = vector - u64::from(FIRST_IRQ_VECTOR);
    if irq >= u64::from(IRQ_LINES) {
        log::warn!("interrupts: unexpected vector {vector}");
        return;
    }
    let irq = irq as u8;
    if pic::is_spurious(irq) {
        if irq == 15 {
            pic::end_of_spurious_slave_interrupt();
        }
        return;
    }
    match IRQ_CHAINS[usize::from(irq)].dispatch() {
        Dispatched::Claimed | Dispatched::Unclaimed { first: false } => {}
        Dispatched::Unclaimed { first: true } => {
            log::warn!("interrupts: IRQ {irq} and no handler claimed it")
        }
        Dispatched::Silence => {
            log::error!(
                "interrupts: IRQ {irq} fired {UNCLAIMED_LIMIT} times in a row and no handler \
                 claimed it: masking the line",
                UNCLAIMED_LIMIT = super::chain::UNCLAIMED_LIMIT
            );
            pic::mask(irq);
        }
    }
    pic::end_of_interrupt(irq);
    call_exit_hook();
}

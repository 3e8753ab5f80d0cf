//! The IRQ table and the one Rust entry point of every interrupt.
//!
//! Locking rule: handlers run with interrupts disabled (all IDT entries are interrupt gates),
//! so they must be short and must never block. They may wake threads.

use crate::cpu::pic::{self, IRQ_LINES};
use crate::cpu::trap::{FIRST_IRQ_VECTOR, TrapFrame};
use crate::cpu::{gdt, idt};
use core::sync::atomic::{AtomicUsize, Ordering};

/// An IRQ handler: runs in interrupt context, before the end-of-interrupt is sent.
pub type IrqHandler = fn();

/// Registered handlers, stored as addresses (0 = none) so that lookup needs no lock.
static IRQ_HANDLERS: [AtomicUsize; IRQ_LINES as usize] =
    [const { AtomicUsize::new(0) }; IRQ_LINES as usize];

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

/// Installs `handler` for IRQ `line` and unmasks the line.
pub fn register_irq(line: u8, handler: IrqHandler) {
    assert!(line < IRQ_LINES, "IRQ {line} does not exist");
    IRQ_HANDLERS[usize::from(line)].store(handler as *const () as usize, Ordering::Release);
    pic::unmask(line);
}

/// Sets the function run at the end of every hardware interrupt, after the EOI.
pub fn set_irq_exit_hook(hook: fn()) {
    IRQ_EXIT_HOOK.store(hook as *const () as usize, Ordering::Release);
}

fn call_stored(slot: &AtomicUsize) -> bool {
    let address = slot.load(Ordering::Acquire);
    if address == 0 {
        return false;
    }
    // SAFETY: only register_irq and set_irq_exit_hook store here, always a `fn()`.
    let handler: fn() = unsafe { core::mem::transmute::<usize, fn()>(address) };
    handler();
    true
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
    if !call_stored(&IRQ_HANDLERS[usize::from(irq)]) {
        log::warn!("interrupts: IRQ {irq} with no handler");
    }
    pic::end_of_interrupt(irq);
    call_stored(&IRQ_EXIT_HOOK);
}

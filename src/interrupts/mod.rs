//! Interrupt dispatch: every vector enters through arch/x86_64/traps.S and lands in
//! [`trap_dispatch`], which sends exceptions (vectors 0-31) to [`exceptions`] and hardware
//! interrupts (32-47, from the PICs) to the handlers drivers registered for that IRQ line
//! ([`chain`]: a line may be shared).

pub mod chain;
pub mod exceptions;

#[cfg(target_os = "none")]
mod dispatch;
pub use chain::IrqHandler;
#[cfg(target_os = "none")]
pub use dispatch::{init, register_irq, register_pci_irq, set_irq_exit_hook};

//! Interrupt dispatch: every vector enters through arch/x86_64/traps.S and lands in
//! [`trap_dispatch`], which sends exceptions (vectors 0-31) to [`exceptions`] and hardware
//! interrupts (32-47, from the PICs) to the handler a driver registered for that IRQ line.

pub mod exceptions;

#[cfg(target_os = "none")]
mod dispatch;
#[cfg(target_os = "none")]
pub use dispatch::{init, register_irq, set_irq_exit_hook};
